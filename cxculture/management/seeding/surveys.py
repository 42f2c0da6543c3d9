"""Pulse surveys: a fortnightly program with closed runs of history and one run open now.

Both profiles have twenty-four closed runs (a year, so the culture dashboard's 12-month trend
is full); the latest closed run ended ten days before the seed date, so managers are prompted
to commit an action on it (CXC_ACTION_PROMPT_DAYS is 14).

Answers are drawn from each team's latent culture (`DemoOrg.team_health`, moving by
`team_trend` per month), so teams differ, some improve and some decline, and a person answers
consistently across questions. Rows are written in bulk (`bulk.Rows`: COPY on PostgreSQL) in
the same shape the services write: a closed run's responses have random ids, no date, random
order and teams and attributes coarsened as `survey_run_close` stores them
(`services.response_cells_for_storage`); the open run's answers wait sealed, as
`response_submit` leaves them.
"""

import datetime as dt
import random
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from cxculture.lib import sealing
from surveys import services
from surveys.models import (
    Answer,
    Driver,
    Invitation,
    Question,
    Response,
    RunQuestion,
    SealedResponse,
    SurveyProgram,
    SurveyRun,
    TenureBand,
)

from .bulk import Rows, analyze, indexes_after, random_uuid
from .people import DemoOrg

RUN_LENGTH_DAYS = 7
CADENCE_DAYS = 14

POSITIVE_COMMENTS = [
    "My manager backs me when I do the right thing for a customer.",
    "Being allowed to refund small amounts on the spot has made a real difference.",
    "The new knowledge base saves me a lot of time on calls.",
    "I like that we now see customer feedback every week.",
    "Team huddles are useful and short.",
    "Thanks for acting on the rota feedback from last time.",
]
NEGATIVE_COMMENTS = [
    "We are still measured on handle time more than on fixing the problem.",
    "Getting a replacement approved takes far too long.",
    "Systems go down at the busiest time of the day.",
    "I never hear back about the ideas we raise.",
    "Workload has been too high since the team got smaller.",
    "Back-office teams don't answer our escalations quickly enough.",
]
DRIVER_BIAS: dict[str, float] = {
    Driver.EMPOWERMENT: -0.05,
    Driver.ENABLEMENT: -0.08,
    Driver.RECOGNITION: 0.02,
    Driver.LEADERSHIP: -0.02,
    Driver.CUSTOMER_FOCUS: 0.08,
    Driver.GROWTH: -0.04,
    Driver.WELLBEING: -0.03,
    Driver.BELIEF_IN_ACTION: -0.10,
}


def _agreement(latent: float, rng: random.Random) -> int:
    # A culture of 0.3 gives about 30% favourable answers, 0.9 about 90%.
    score = 2.2 + latent * 2.6 + rng.gauss(0, 0.8)
    return max(1, min(5, round(score)))


def _scale(latent: float, rng: random.Random) -> int:
    return max(0, min(10, round(2 + latent * 8.5 + rng.gauss(0, 1.5))))


def _run_dates(today: dt.date, history_runs: int) -> list[tuple[dt.date, dt.date]]:
    """Fortnightly runs before the current one, which opened two days ago (so the last closed
    run ended ten days ago)."""
    current = today - dt.timedelta(days=2)
    dates = []
    for back in range(history_runs, -1, -1):
        opens_on = current - dt.timedelta(days=CADENCE_DAYS * back)
        dates.append((opens_on, opens_on + dt.timedelta(days=RUN_LENGTH_DAYS - 1)))
    return dates


@transaction.atomic
def seed_surveys(org: DemoOrg) -> None:
    """Create the demo program and its runs; do nothing if any survey run exists."""
    if SurveyRun.objects.exists():
        return
    rng = random.Random(f"surveys:{org.root.external_id}")
    today = org.today
    dates = _run_dates(today, org.profile.history_runs)
    library = list(Question.objects.filter(is_builtin=True, is_active=True))
    if not library:
        return  # the data migration did not run: nothing sensible to ask
    program = services.survey_program_create(
        name="Fortnightly pulse",
        description="Eight short questions every two weeks on what helps us serve customers.",
        starts_on=dates[0][0],
        cadence=SurveyProgram.Cadence.BIWEEKLY,
        run_length_days=RUN_LENGTH_DAYS,
        questions=library,
        is_organisation_wide=True,
        created_by=org.hr_admin.user,
    )
    people = [person for person in org.employees if person.is_active and person.team_id]
    mean_health = sum(org.team_health.values()) / max(1, len(org.team_health))
    person_effect = {person.pk: rng.gauss(0, 0.1) for person in people}
    team_bias = {
        (team_id, driver): rng.gauss(0, 0.06)
        for team_id in {person.team_id for person in people}
        for driver in Driver.values
    }
    now = timezone.now()
    rows = _SurveyRows()
    with indexes_after(Invitation, Response, Answer):
        for index, (opens_on, closes_on) in enumerate(dates):
            is_current = index == len(dates) - 1
            months_back = (dates[-1][0] - opens_on).days / 30.44
            run = SurveyRun.objects.create(
                program=program,
                sequence=index + 1,
                opens_on=opens_on,
                closes_on=closes_on,
                status=SurveyRun.Status.OPEN if is_current else SurveyRun.Status.CLOSED,
                anonymity_threshold=program.anonymity_threshold,
                comment_threshold=program.comment_threshold,
                opened_at=now,
                closed_at=None if is_current else now,
            )
            asked = services.questions_for_run(
                library, cadence=program.cadence, sequence=run.sequence
            )
            RunQuestion.objects.bulk_create(
                RunQuestion(run=run, question=question, position=position)
                for position, question in enumerate(asked, start=1)
            )
            _seed_run(
                run=run,
                asked=asked,
                people=people,
                org=org,
                rng=rng,
                months_back=months_back,
                last_day=min(closes_on, today),
                mean_health=mean_health,
                person_effect=person_effect,
                team_bias=team_bias,
                rows=rows,
            )
        rows.flush()
    analyze(Invitation, Response, Answer, SealedResponse)
    # The closed runs' published figures, as a close stores them.
    for run in SurveyRun.objects.filter(program=program, status=SurveyRun.Status.CLOSED):
        services.run_summary_rebuild(run=run)


class _SurveyRows:
    def __init__(self) -> None:
        self.invitations = Rows(
            Invitation,
            [
                "run_id",
                "employee_id",
                "team_path",
                "sent_on",
                "reminded_day3_on",
                "reminded_day5_on",
                "responded_on",
            ],
        )
        self.responses = Rows(
            Response,
            [
                "id",
                "run_id",
                "team_id",
                "team_path",
                "tenure_band",
                "location",
                "role_family",
                "comment",
            ],
        )
        self.answers = Rows(Answer, ["id", "response_id", "question_id", "value", "choice", "text"])
        self.sealed = Rows(SealedResponse, ["id", "run_id", "box"])

    def flush(self) -> None:
        for rows in (self.invitations, self.responses, self.answers, self.sealed):
            rows.flush()


def _seed_run(
    *,
    run: SurveyRun,
    asked: Sequence[Question],
    people: Sequence,
    org: DemoOrg,
    rng: random.Random,
    months_back: float,
    last_day: dt.date,
    mean_health: float,
    person_effect: dict[int, float],
    team_bias: dict[tuple[int | None, str], float],
    rows: _SurveyRows,
) -> None:
    invitations, responses, answers = [], [], []
    window = (last_day - run.opens_on).days
    opens_on = run.opens_on
    day3, day5 = opens_on + dt.timedelta(days=2), opens_on + dt.timedelta(days=4)
    drawn = [
        (
            question.pk,
            question.driver,
            DRIVER_BIAS.get(question.driver, 0.0),
            _scale if question.kind == Question.Kind.SCALE_0_10 else _agreement,
        )
        for question in asked
    ]
    for person in people:
        health = org.team_health.get(person.team_id, mean_health)
        trend = org.team_trend.get(person.team_id, 0.0)
        culture = min(0.97, max(0.05, health - trend * months_back))
        responds = rng.random() < (0.55 + 0.35 * culture) * (0.55 if window < 3 else 1)
        answered_on = opens_on + dt.timedelta(days=rng.randint(0, window)) if responds else None
        waited = (answered_on - opens_on).days if answered_on is not None else window + 1
        invitations.append(
            (
                run.pk,
                person.pk,
                person.team.path,
                opens_on,
                day3 if window >= 2 and waited > 2 else None,
                day5 if window >= 4 and waited > 4 else None,
                answered_on,
            )
        )
        if answered_on is None:
            continue
        latent = culture + person_effect[person.pk]
        comment = ""
        if rng.random() < 0.18:
            pool = POSITIVE_COMMENTS if latent + rng.gauss(0, 0.1) > 0.6 else NEGATIVE_COMMENTS
            comment = rng.choice(pool)
        response_id = random_uuid(rng)
        responses.append(
            (
                response_id,
                person.team.path,
                (
                    TenureBand.for_hire_date(person.hire_date, answered_on),
                    person.location,
                    person.role_family,
                ),
                comment,
            )
        )
        for question_id, driver, driver_bias, draw in drawn:
            if rng.random() < 0.04:
                continue  # skipped
            bias = driver_bias + team_bias.get((person.team_id, driver), 0.0)
            value = draw(latent + bias, rng)
            answers.append((random_uuid(rng), response_id, question_id, value, "", ""))
    rows.invitations.extend(invitations)
    if run.status == SurveyRun.Status.OPEN:
        answers_of: dict[object, list[tuple]] = {}
        for answer in answers:
            answers_of.setdefault(answer[1], []).append(answer)
        rows.sealed.extend(
            [
                (
                    random_uuid(rng),
                    run.pk,
                    sealing.seal(
                        {
                            "team_path": team_path,
                            "values": list(values),
                            "comment": comment,
                            "answers": [
                                [q, value, "", ""]
                                for _, _, q, value, _, _ in answers_of.get(response_id, [])
                            ],
                        }
                    ),
                )
                for response_id, team_path, values, comment in responses
            ]
        )
        return
    # Stored as a closed run stores them: in random order, teams and attributes coarsened.
    rng.shuffle(responses)
    placed = services.response_cells_for_storage(
        k=run.anonymity_threshold,
        cells=[(team_path, values) for _, team_path, values, _ in responses],
    )
    rows.responses.extend(
        [
            (response_id, run.pk, team_id, stored_path, *stored_values, comment)
            for (response_id, _, _, comment), (team_id, stored_path, stored_values) in zip(
                responses, placed, strict=True
            )
        ]
    )
    rows.answers.extend(answers)
