"""A realistic organisation for insight tests, loaded the way a customer loads theirs.

- The directory is an HR export with its own headers ("Worker ID", "Org Unit Code", "People
  Manager?" …), sent through `directory_sync_start` with a column mapping; the teams come from
  the people rows.
- Customer outcomes are a ticketing export ("Ticket Ref", "Closed (UTC)", "Desk", "CSAT 1-5"),
  sent through `outcome_import_create` with a mapping: CSAT every other day per desk from
  September 2025, six months before the first survey run, to April 2026.
- Surveys: the organisation-wide pulse, with an imported past run (September 2025, through
  `survey_run_import`) and a run answered in March 2026; and a small test programme asking
  three teams, closed after the pulse.
- Shapes that break naive insight: one big department (Customer Service, 52 people), tiny teams
  of 2, 3 and 4 people (under the anonymity threshold of 5), and a unanimous team (Chat:
  everyone answered, all favourable).

`build_realistic_org()` returns the people and runs; call it with the clock at `NOW`.
"""

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass
from decimal import Decimal

from cxculture.outcomes.ingest import jobs as outcome_jobs
from cxculture.outcomes.models import OutcomeImport
from cxculture.people import services as people_services
from cxculture.people.models import Employee, Role, Team
from cxculture.people.permissions import viewer_for
from recognition import services as recognition_services
from surveys import services as survey_services
from surveys.models import Invitation, Question, SurveyRun
from tests.factories.outcomes import builtin_metrics
from tests.factories.people import PolicyFactory
from tests.factories.surveys import ProgramFactory, answer, load_question_library, open_run
from tests.helpers import PASSWORD

NOW = dt.datetime(2026, 4, 20, 9, 0, tzinfo=dt.UTC)
PAST_OPENS, PAST_CLOSES = dt.date(2025, 9, 1), dt.date(2025, 9, 12)
RUN_OPENS, RUN_CLOSES = dt.date(2026, 3, 2), dt.date(2026, 3, 8)
TRIAL_OPENS, TRIAL_CLOSES = dt.date(2026, 3, 16), dt.date(2026, 3, 22)
HISTORY_FROM, HISTORY_TO = dt.date(2025, 9, 1), dt.date(2026, 4, 15)
# The linkage period a viewer chooses: before the first run, inside the imported history.
PERIOD = (dt.date(2025, 10, 1), dt.date(2026, 1, 31))
ENGAGEMENT = ("eng-proud", "eng-motivated", "eng-stay")


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    parent: str
    people: int  # everyone in the unit, its manager (the first) included
    agreeing: int  # respondents answering 4 ("agree"); the others answer 2
    silent: int = 1  # invited, never answers (0: everyone answered)


UNITS = (
    Unit("CS", "Customer Service", "", 3, 2, silent=0),
    Unit("CS-PN", "Phones North", "CS", 12, 9),
    Unit("CS-PS", "Phones South", "CS", 9, 3),
    Unit("CS-EM", "Email & Letters", "CS", 8, 6),
    Unit("CS-RT", "Retention", "CS", 7, 2),
    Unit("CS-CH", "Chat", "CS", 6, 6, silent=0),  # unanimous: all answered, all favourable
    Unit("CS-ES", "Escalations", "CS", 3, 2, silent=0),  # tiny
    Unit("CS-SO", "Social Media", "CS", 2, 1, silent=0),  # tiny
    Unit("BO", "Back Office", "", 4, 2, silent=0),
    Unit("BO-RE", "Returns", "BO", 7, 5),
    Unit("BO-BI", "Billing", "BO", 4, 3, silent=0),  # tiny
    Unit("PE", "People", "", 2, 1, silent=0),
)
BY_CODE = {unit.code: unit for unit in UNITS}
TINY = ("CS-ES", "CS-SO", "BO-BI")
SITES = ("Leeds", "Glasgow")

DIRECTORY_HEADER = (
    "Worker ID",
    "Work E-mail",
    "Given Name",
    "Surname",
    "Org Unit Code",
    "Org Unit",
    "Parent Org Unit Code",
    "Job Title",
    "Site",
    "Job Family",
    "Start Date",
    "People Manager?",
)
DIRECTORY_MAPPING = {
    "external_id": "Worker ID",
    "email": "Work E-mail",
    "first_name": "Given Name",
    "last_name": "Surname",
    "team_external_id": "Org Unit Code",
    "team_name": "Org Unit",
    "parent_team_external_id": "Parent Org Unit Code",
    "title": "Job Title",
    "location": "Site",
    "role_family": "Job Family",
    "hire_date": "Start Date",
    "is_manager": "People Manager?",
}
OUTCOME_HEADER = ("Ticket Ref", "Closed (UTC)", "Desk", "Customer No", "CSAT 1-5")
OUTCOME_MAPPING = {
    "external_id": "Ticket Ref",
    "occurred_at": "Closed (UTC)",
    "team_external_id": "Desk",
    "customer_ref": "Customer No",
    "value": "CSAT 1-5",
}


@dataclass
class RealisticOrg:
    teams: dict[str, Team]
    hr_admin: Employee
    tiny_manager: Employee  # leads Escalations (3 people)
    pulse_run: SurveyRun
    past_run: SurveyRun
    trial_run: SurveyRun
    outcome_rows: list[tuple[str, dt.datetime, float]]  # (desk code, closed at, CSAT)


def _worker(unit: Unit, index: int) -> dict[str, str]:
    number = f"{unit.code}-{index:02d}"
    return {
        "Worker ID": f"W{number}",
        "Work E-mail": f"w{number.lower()}@example.com",
        "Given Name": f"{unit.name.split()[0]}{index}",
        "Surname": "Tiny Lead" if (unit.code, index) == ("CS-ES", 0) else f"Person {number}",
        "Org Unit Code": unit.code,
        "Org Unit": unit.name,
        "Parent Org Unit Code": unit.parent,
        "Job Title": "Team lead" if index == 0 else "Adviser",
        "Site": SITES[index % 2],
        "Job Family": "Leadership" if index == 0 else "Service",
        "Start Date": str(dt.date(2019 + index % 6, 1 + index % 12, 1)),
        "People Manager?": "yes" if index == 0 else "no",
    }


def directory_csv() -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=DIRECTORY_HEADER)
    writer.writeheader()
    for unit in UNITS:
        for index in range(unit.people):
            writer.writerow(_worker(unit, index))
    return buffer.getvalue().encode()


def _load_directory(hr_user) -> dict[str, Team]:
    sync = people_services.directory_sync_start(
        kind="employees",
        content=directory_csv(),
        file_name="hr-export.csv",
        requested_by=hr_user,
        mapping=DIRECTORY_MAPPING,
    )
    sync.refresh_from_db()
    assert sync.status == "applied", (sync.status, sync.errors)
    return {team.external_id: team for team in Team.objects.all()}


def _answers(unit: Unit) -> list[int]:
    """One engagement value per respondent of the unit (4 for the first `agreeing`)."""
    respondents = unit.people - unit.silent
    return [4 if index < unit.agreeing else 2 for index in range(respondents)]


def _answer_run(run: SurveyRun, teams: dict[str, Team], units: tuple[Unit, ...]) -> None:
    for unit in units:
        values = _answers(unit)
        invitations = Invitation.objects.filter(run=run, team_path=teams[unit.code].path).order_by(
            "id"
        )
        for invitation, value in zip(invitations, values, strict=False):
            answer(invitation, run.opens_on, eng_proud=value, eng_motivated=value, eng_stay=value)


def past_results_csv() -> bytes:
    """September 2025's answers, as a customer keeps them: one anonymous row per respondent."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["team", "location", *ENGAGEMENT])
    for unit in UNITS:
        for index, value in enumerate(_answers(unit)):
            past = 2 if index == 0 and value == 4 else value  # a little lower then
            writer.writerow([unit.code, SITES[index % 2], past, past, past])
    return buffer.getvalue().encode()


def outcome_rows(seed: int = 15) -> list[tuple[str, dt.datetime, float]]:
    """CSAT every other day per desk, better where more people agreed, with noise."""
    rng = random.Random(seed)
    rows = []
    for unit in UNITS:
        if unit.code in ("CS", "BO", "PE"):
            continue
        share = unit.agreeing / max(1, unit.people - unit.silent)
        day = HISTORY_FROM
        while day <= HISTORY_TO:
            at = dt.datetime.combine(day, dt.time(rng.randint(8, 17), 30), tzinfo=dt.UTC)
            score = round(min(5.0, max(1.0, rng.gauss(2.5 + 2.0 * share, 0.9))))
            rows.append((unit.code, at, float(score)))
            day += dt.timedelta(days=2)
    return rows


def outcome_csv(rows: list[tuple[str, dt.datetime, float]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(OUTCOME_HEADER)
    for number, (desk, at, score) in enumerate(rows):
        writer.writerow(
            [f"T{number:06d}", at.strftime("%Y-%m-%d %H:%M:%S"), desk, f"C{number % 97}", score]
        )
    return buffer.getvalue().encode()


def _load_outcomes(hr_user, rows) -> None:
    content = outcome_csv(rows)
    job, _new = outcome_jobs.outcome_import_create(
        file=io.BytesIO(content),
        file_name="tickets-export.csv",
        size=len(content),
        requested_by=hr_user,
        mapping=OUTCOME_MAPPING,
        metric="csat",
    )
    job.refresh_from_db()
    if job.status != OutcomeImport.Status.DONE:  # outside a committing transaction
        outcome_jobs.outcome_import_run(import_id=job.pk)
        job.refresh_from_db()
    assert job.status == OutcomeImport.Status.DONE, (job.status, job.message)


def _sign_in_ready(employee: Employee) -> None:
    employee.user.set_password(PASSWORD)
    employee.user.save(update_fields=["password"])


def _exceptions(teams: dict[str, Team], hr_admin: Employee) -> None:
    """Three approved refunds in Phones North: far too few to say the yes-group did better."""
    policy = PolicyFactory(name="Refund window")
    adviser = Employee.objects.filter(team=teams["CS-PN"], managed_teams__isnull=True).first()
    assert adviser is not None
    for number in range(3):
        exception = recognition_services.exception_log(
            employee=adviser,
            policy=policy,
            what_was_done="Refunded outside the window.",
            why="The parcel was lost.",
            customer_ref=f"C{number}",
            cost=Decimal("12.50"),
            occurred_on=dt.date(2026, 3, 3 + number),
        )
        recognition_services.exception_review(
            exception=exception, viewer=viewer_for(hr_admin.user), decision="approved"
        )


def build_realistic_org() -> RealisticOrg:
    """Everything above, loaded through the real services. Call with the clock at `NOW`."""
    load_question_library()
    builtin_metrics()
    # The first file is sent before anyone is in the directory (as by `manage.py` at setup).
    teams = _load_directory(None)
    hr_admin = Employee.objects.get(external_id="WPE-00")
    people_services.employee_set_roles(employee=hr_admin, roles=[Role.HR_ADMIN])
    tiny_manager = Employee.objects.get(external_id="WCS-ES-00")
    for person in (hr_admin, tiny_manager):
        _sign_in_ready(person)

    questions = list(Question.objects.filter(code__in=ENGAGEMENT))
    pulse = ProgramFactory(name="Pulse", questions=questions, starts_on=RUN_OPENS)
    past_run = survey_services.survey_run_import(
        program=pulse,
        opens_on=PAST_OPENS,
        closes_on=PAST_CLOSES,
        content=past_results_csv(),
        today=RUN_OPENS,
    )
    pulse_run = open_run(pulse, RUN_OPENS)
    _answer_run(pulse_run, teams, UNITS)
    pulse_run = survey_services.survey_run_close(run=pulse_run, today=RUN_CLOSES)

    trial_units = (BY_CODE["CS-CH"], BY_CODE["CS-ES"], BY_CODE["CS-SO"])
    trial = ProgramFactory(
        name="Chat trial",
        questions=questions,
        starts_on=TRIAL_OPENS,
        audience="teams",
        teams=[teams[unit.code] for unit in trial_units],
        is_organisation_wide=False,
    )
    trial_run = open_run(trial, TRIAL_OPENS)
    _answer_run(trial_run, teams, trial_units)
    trial_run = survey_services.survey_run_close(run=trial_run, today=TRIAL_CLOSES)

    rows = outcome_rows()
    _load_outcomes(hr_admin.user, rows)
    _exceptions(teams, hr_admin)
    return RealisticOrg(
        teams=teams,
        hr_admin=hr_admin,
        tiny_manager=tiny_manager,
        pulse_run=pulse_run,
        past_run=past_run,
        trial_run=trial_run,
        outcome_rows=rows,
    )
