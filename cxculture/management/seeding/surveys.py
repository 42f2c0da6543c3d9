"""Demo pulse surveys: a monthly program with six closed runs of history and one run open now.

Answers are drawn from each team's latent culture (`DemoOrg.team_health`, moving by
`team_trend` per month), so teams differ, some improve and some decline, and a person answers
consistently across questions. Rows are written with `bulk_create` for speed, in the same shape
the services write: invitations and responses share nothing but the team snapshot.
"""

import datetime as dt
import random
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from surveys import services
from surveys.models import (
    Answer,
    Driver,
    Invitation,
    Question,
    Response,
    RunQuestion,
    SurveyProgram,
    SurveyRun,
    TenureBand,
)

from .people import DemoOrg

HISTORY_RUNS = 6
RUN_LENGTH_DAYS = 7

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


def _run_dates(today: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Six monthly runs before the current one, which opened two days ago."""
    current = today - dt.timedelta(days=2)
    dates = []
    for back in range(HISTORY_RUNS, -1, -1):
        opens_on = services.add_months(current, -back)
        dates.append((opens_on, opens_on + dt.timedelta(days=RUN_LENGTH_DAYS - 1)))
    return dates


@transaction.atomic
def seed_surveys(org: DemoOrg) -> None:
    """Create the demo program and its runs; do nothing if any survey run exists."""
    if SurveyRun.objects.exists():
        return
    rng = random.Random(f"surveys:{org.root.external_id}")
    today = org.today
    dates = _run_dates(today)
    library = list(Question.objects.filter(is_builtin=True, is_active=True))
    if not library:
        return  # the data migration did not run: nothing sensible to ask
    program = services.survey_program_create(
        name="Monthly pulse",
        description="Ten short questions a month on what helps us put customers first.",
        starts_on=dates[0][0],
        cadence=SurveyProgram.Cadence.MONTHLY,
        run_length_days=RUN_LENGTH_DAYS,
        questions=library,
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
    for index, (opens_on, closes_on) in enumerate(dates):
        is_current = index == len(dates) - 1
        months_back = len(dates) - 1 - index
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
        asked = services.questions_for_run(library, cadence=program.cadence, sequence=run.sequence)
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
        )


def _seed_run(
    *,
    run: SurveyRun,
    asked: Sequence[Question],
    people: Sequence,
    org: DemoOrg,
    rng: random.Random,
    months_back: int,
    last_day: dt.date,
    mean_health: float,
    person_effect: dict[int, float],
    team_bias: dict[tuple[int | None, str], float],
) -> None:
    invitations, responses, answers = [], [], []
    window = (last_day - run.opens_on).days
    for person in people:
        health = org.team_health.get(person.team_id, mean_health)
        trend = org.team_trend.get(person.team_id, 0.0)
        culture = min(0.97, max(0.05, health - trend * months_back))
        responds = rng.random() < (0.55 + 0.35 * culture) * (0.55 if window < 3 else 1)
        answered_on = run.opens_on + dt.timedelta(days=rng.randint(0, window)) if responds else None
        invitations.append(
            Invitation(
                run=run,
                employee=person,
                team_id=person.team_id,
                team_path=person.team.path,
                sent_on=run.opens_on,
                reminded_day3_on=(
                    run.opens_on + dt.timedelta(days=2)
                    if window >= 2
                    and (answered_on is None or (answered_on - run.opens_on).days > 2)
                    else None
                ),
                reminded_day5_on=(
                    run.opens_on + dt.timedelta(days=4)
                    if window >= 4
                    and (answered_on is None or (answered_on - run.opens_on).days > 4)
                    else None
                ),
                responded_on=answered_on,
            )
        )
        if answered_on is None:
            continue
        latent = culture + person_effect[person.pk]
        comment = ""
        if rng.random() < 0.18:
            pool = POSITIVE_COMMENTS if latent + rng.gauss(0, 0.1) > 0.6 else NEGATIVE_COMMENTS
            comment = rng.choice(pool)
        response = Response(
            run=run,
            submitted_on=answered_on,
            team_id=person.team_id,
            team_path=person.team.path,
            tenure_band=TenureBand.for_hire_date(person.hire_date, answered_on),
            location=person.location,
            role_family=person.role_family,
            comment=comment,
        )
        responses.append(response)
        for question in asked:
            if rng.random() < 0.04:
                continue  # skipped
            bias = DRIVER_BIAS.get(question.driver, 0.0) + team_bias.get(
                (person.team_id, question.driver), 0.0
            )
            value = (
                _scale(latent + bias, rng)
                if question.kind == Question.Kind.SCALE_0_10
                else _agreement(latent + bias, rng)
            )
            answers.append(Answer(response=response, question=question, value=value))
    # Responses are stored in random order, as independent submissions would be.
    rng.shuffle(responses)
    Invitation.objects.bulk_create(invitations, batch_size=1000)
    Response.objects.bulk_create(responses, batch_size=1000)
    Answer.objects.bulk_create(answers, batch_size=2000)
