"""Permission matrix rows for pulse surveys: every endpoint, role and method -> status.

For the central matrix (tests/test_permissions.py: `MATRIX = ... + SURVEY_MATRIX`); until it is
merged there, tests/surveys/test_survey_permissions.py runs these rows itself. Objects are made
on first use and cached on the `World`, so nothing needs adding to the central `World` class.

Who is who: `employee` and `teammate` are in Support A, `outsider` in Support B, `manager`
leads Support (A and B); `hr_admin` and `executive` sit in the root team.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from surveys import services
from surveys.models import Invitation
from tests.factories.people import EmployeeFactory
from tests.factories.surveys import ProgramFactory, question
from tests.matrix import HR_ONLY_200, HR_ONLY_201, READ, Case, World, once, pk_of, statuses


def _closed_run(world: World):
    """Everyone is invited; Support A (6 people) answered, so its results are reportable."""
    today = timezone.localdate()
    for _ in range(4):
        EmployeeFactory(team=world.org["support_a"])
    program = ProgramFactory(name="Closed pulse", starts_on=today)
    run = services.survey_run_start_now(program=program, today=today)
    for invitation in Invitation.objects.filter(run=run, team_path=world.org["support_a"].path):
        services.response_submit(
            invitation_id=invitation.pk,
            answers=[services.AnswerInput(question=question("enps").pk, value=9)],
            today=today,
        )
    return services.survey_run_close(run=run, today=today)


def _open_run(world: World):
    """Support A only: the employee and the teammate are invited."""
    program = ProgramFactory(
        name="Open pulse",
        audience="teams",
        teams=[world.org["support_a"]],
        starts_on=timezone.localdate(),
    )
    return services.survey_run_start_now(program=program)


def _scheduled_run(world: World):
    today = timezone.localdate()
    program = ProgramFactory(name="Planned pulse", starts_on=today + dt.timedelta(days=9))
    return services.survey_run_schedule(program=program, today=today)


closed_run = once("closed_run", _closed_run)
open_run = once("open_run", _open_run)
scheduled_run = once("scheduled_run", _scheduled_run)
spare_program = once(
    "spare_program", lambda w: ProgramFactory(name="Spare pulse", starts_on=timezone.localdate())
)
custom_question = once(
    "custom_question",
    lambda w: services.question_create(text="Do you have what you need?", driver="enablement"),
)


def _employee_token(world: World) -> str:
    invitation = Invitation.objects.get(run=open_run(world), employee=world.cast["employee"])
    return services.invitation_token(invitation.pk)


def _answers(world: World) -> list[dict[str, int]]:
    open_run(world)
    return [{"question": question("enps").pk, "value": 8}]


@dataclass(frozen=True)
class RunCase(Case):
    """A row about a run whose answer is not the run itself (results, participation)."""

    run: Callable[[World], Any] | None = None
    query: Callable[[World], str] | None = None

    def url(self, world: World) -> str:
        assert self.run is not None
        url = self.path.replace("{id}", str(self.run(world).pk))
        return url + ("?" + self.query(world) if self.query else "")


RESULTS = "/api/v1/survey-runs/{id}/results/"

SURVEY_MATRIX: list[Case] = [
    # --- Programs: HR admins manage them; everyone signed in reads the active ones -------------
    Case("GET", "/api/v1/surveys/", READ),
    Case(
        "POST",
        "/api/v1/surveys/",
        HR_ONLY_201,
        body=lambda w, me: {"name": "Weekly check-in", "starts_on": "2026-04-06"},
    ),
    Case("GET", "/api/v1/surveys/{id}/", READ, target=pk_of(spare_program)),
    Case(
        "PATCH",
        "/api/v1/surveys/{id}/",
        HR_ONLY_200,
        target=pk_of(spare_program),
        body=lambda w, me: {"anonymity_threshold": 6},
    ),
    Case(
        "PUT",
        "/api/v1/surveys/{id}/",
        HR_ONLY_200,
        target=pk_of(spare_program),
        body=lambda w, me: {"name": "Spare", "starts_on": "2026-05-01"},
    ),
    Case(
        "DELETE", "/api/v1/surveys/{id}/", statuses(403, hr_admin=204), target=pk_of(spare_program)
    ),
    # --- Questions -------------------------------------------------------------------------------
    Case("GET", "/api/v1/survey-questions/", READ),
    Case(
        "POST",
        "/api/v1/survey-questions/",
        HR_ONLY_201,
        body=lambda w, me: {"text": "I can take a break when I need one.", "driver": "wellbeing"},
    ),
    Case("GET", "/api/v1/survey-questions/{id}/", READ, target=pk_of(custom_question)),
    Case(
        "PATCH",
        "/api/v1/survey-questions/{id}/",
        HR_ONLY_200,
        target=pk_of(custom_question),
        body=lambda w, me: {"text": "Do you have what you need to help customers?"},
    ),
    Case(
        "PUT",
        "/api/v1/survey-questions/{id}/",
        HR_ONLY_200,
        target=pk_of(custom_question),
        body=lambda w, me: {"text": "Tools?", "driver": "enablement", "kind": "agreement"},
    ),
    # --- Runs: public metadata; HR schedules, opens and closes them ------------------------------
    Case("GET", "/api/v1/survey-runs/", READ),
    Case(
        "POST",
        "/api/v1/survey-runs/",
        HR_ONLY_201,
        body=lambda w, me: {"program": spare_program(w).pk},
    ),
    Case("GET", "/api/v1/survey-runs/{id}/", READ, target=pk_of(open_run)),
    Case("POST", "/api/v1/survey-runs/{id}/open/", HR_ONLY_200, target=pk_of(scheduled_run)),
    Case("POST", "/api/v1/survey-runs/{id}/close/", HR_ONLY_200, target=pk_of(open_run)),
    # Without a file: HR gets the 400 naming it, everyone else a 403 before any parsing.
    Case("POST", "/api/v1/survey-runs/import/", statuses(403, hr_admin=400)),
    RunCase("GET", "/api/v1/survey-runs/{id}/participation/", READ, run=open_run),
    # --- Results: HR and executives all, managers their subtree, employees their own team --------
    RunCase("GET", RESULTS, READ, run=closed_run, about="default group"),
    RunCase(
        "GET",
        RESULTS,
        statuses(403, hr_admin=200, executive=200),
        run=closed_run,
        query=lambda w: f"subtree={w.org['sales'].pk}",
        about="Sales",
    ),
    RunCase(
        "GET",
        RESULTS,
        statuses(403, outsider=200, manager=200, hr_admin=200, executive=200),
        run=closed_run,
        query=lambda w: f"subtree={w.org['support_b'].pk}",
        about="Support B",
    ),
    RunCase(
        "GET",
        RESULTS,
        statuses(403, employee=200, teammate=200, manager=200, hr_admin=200, executive=200),
        run=closed_run,
        query=lambda w: f"team={w.org['support_a'].pk}",
        about="Support A",
    ),
    RunCase(
        "GET",
        RESULTS,
        statuses(403, manager=200, hr_admin=200, executive=200),
        run=closed_run,
        query=lambda w: f"team={w.org['support_a'].pk}&location=Leeds",
        about="Support A in Leeds",
    ),
    RunCase("GET", RESULTS, statuses(409), run=open_run, about="an open run"),
    # --- Responses: submit only --------------------------------------------------------------
    Case(
        "POST",
        "/api/v1/responses/",
        statuses(201, anonymous=201),
        body=lambda w, me: {"token": _employee_token(w), "answers": _answers(w)},
        about="with the emailed token",
    ),
    Case(
        "POST",
        "/api/v1/responses/",
        statuses(403, employee=201, teammate=201),
        body=lambda w, me: {"run": open_run(w).pk, "answers": _answers(w)},
        about="signed in",
    ),
]
