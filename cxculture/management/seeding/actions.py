"""Demo actions: managers acted on the weakest drivers of some teams in the survey history,
with updates over time — some done, one overdue — and one organisation-wide action.

The latest closed run is left without actions, so managers see the "commit an action" prompt
once the beat task runs (and the demo manager can commit one from a weak driver).
"""

import datetime as dt
import random
from typing import Any

from django.db import transaction
from django.utils import timezone

from cxculture.actions import selectors, services
from cxculture.actions.models import Action, ActionUpdate
from cxculture.management.seeding.people import SIGN_INS, DemoOrg
from cxculture.people.models import Role
from cxculture.people.permissions import viewer_for
from surveys.models import Driver, SurveyRun

TEAMS_WITH_ACTIONS = 8

IDEAS: dict[str, str] = {
    Driver.RECOGNITION: "Shout-outs for customer wins in the weekly huddle",
    Driver.EMPOWERMENT: "Agree which policies agents may bend without asking",
    Driver.ENABLEMENT: "Fix the three slowest steps in the refund tool",
    Driver.LEADERSHIP: "Leaders sit in on customer calls once a month",
    Driver.CUSTOMER_FOCUS: "Share a customer's verbatim at every stand-up",
    Driver.GROWTH: "Fortnightly one-to-one coaching on real calls",
    Driver.WELLBEING: "Protect two hours a week without queue targets",
    Driver.BELIEF_IN_ACTION: "Post what we changed after each pulse",
    Driver.ENGAGEMENT: "Ask the team what would make them stay, and act on one idea",
}


def _at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0)))


def _create_made_on(made_on: dt.date, *, due_on: dt.date, **values: Any) -> Action:
    """Create through the service as if on `made_on`: the service takes due dates from today
    on, so the action is made due today (or later) and then dated back with its due date."""
    action = services.action_create(due_on=max(due_on, timezone.localdate()), **values)
    Action.objects.filter(pk=action.pk).update(created_at=_at(made_on), due_on=due_on)
    ActionUpdate.objects.filter(action=action).update(created_at=_at(made_on))
    action.due_on = due_on
    return action


def _progress(action: Action, *, by, on: dt.date, text: str, status: str) -> None:
    services.action_update_post(by=by, action=action, text=text, status=status)
    entry = ActionUpdate.objects.filter(action=action).order_by("-id").first()
    assert entry is not None  # noqa: S101 - just written
    ActionUpdate.objects.filter(pk=entry.pk).update(created_at=_at(on))
    if status == Action.Status.DONE:
        Action.objects.filter(pk=action.pk).update(completed_at=_at(on))


def _closed_about(runs: list[SurveyRun], today: dt.date, days: int) -> SurveyRun:
    return min(runs[:-1], key=lambda run: (abs((today - run.closes_on).days - days), run.pk))


@transaction.atomic
def seed_actions(org: DemoOrg) -> None:
    """Create the demo actions; do nothing if any action exists."""
    if Action.objects.exists():
        return
    runs = list(SurveyRun.objects.filter(status=SurveyRun.Status.CLOSED).order_by("closes_on"))
    if len(runs) < 3:
        return
    rng = random.Random(f"actions:{org.root.external_id}")
    today = org.today
    book = selectors.ScoreBook()
    demo_manager = SIGN_INS[Role.MANAGER][0]
    candidates = [
        team
        for team in org.teams
        if team.pk in org.managers and org.managers[team.pk].user.email != demo_manager
    ]
    rng.shuffle(candidates)
    # Runs about three and two months back, so some actions are done by now; never the latest
    # closed run: that one prompts.
    earlier, later = _closed_about(runs, today, 90), _closed_about(runs, today, 55)
    made = 0
    for team in candidates:
        if made >= TEAMS_WITH_ACTIONS:
            break
        run = earlier if made % 2 == 0 else later
        scores = {
            driver: score
            for driver, score in book.driver_scores(run, team.pk).items()
            if score is not None and driver in IDEAS
        }
        if not scores:
            continue
        weakest = min(scores, key=lambda driver: scores[driver])
        manager = org.managers[team.pk]
        by = viewer_for(manager.user)
        made_on = run.closes_on + dt.timedelta(days=rng.randint(2, 10))
        overdue = made == 1
        still_going = not overdue and made % 3 == 2
        due_on = made_on + dt.timedelta(days=30 if overdue else rng.choice([45, 60, 90]))
        if still_going:
            due_on = max(due_on, today + dt.timedelta(days=rng.choice([20, 40])))
        action = _create_made_on(
            made_on,
            by=by,
            title=IDEAS[weakest],
            description=(
                f"{Driver(weakest).label} was our weakest driver in {run.opens_on:%B}. "
                "We talked it through as a team and agreed to start here."
            ),
            team=team,
            owner=manager,
            due_on=due_on,
            source_kind=Action.SourceKind.SURVEY_DRIVER,
            source_run=run,
            source_driver=weakest,
        )
        started = made_on + dt.timedelta(days=7)
        if started < today:
            _progress(
                action,
                by=by,
                on=started,
                text="Kicked off in the team meeting; everyone knows what we are trying.",
                status=Action.Status.IN_PROGRESS,
            )
        finished = made_on + dt.timedelta(days=rng.randint(20, 40))
        if not overdue and not still_going and finished < today:
            _progress(
                action,
                by=by,
                on=finished,
                text="Done. We will see in the next pulse whether it made a difference.",
                status=Action.Status.DONE,
            )
        made += 1
    executive = viewer_for(org.executive.user)
    org_scores = {
        driver: score
        for driver, score in book.driver_scores(later, None).items()
        if score is not None and driver in IDEAS
    }
    if org_scores:
        weakest = min(org_scores, key=lambda driver: org_scores[driver])
        made_on = later.closes_on + dt.timedelta(days=5)
        action = _create_made_on(
            made_on,
            by=executive,
            title=f"Organisation-wide: {IDEAS[weakest].lower()}",
            description="Our weakest driver across the whole organisation; every leader joins in.",
            team=None,
            owner=org.executive,
            due_on=made_on + dt.timedelta(days=90),
            source_kind=Action.SourceKind.SURVEY_DRIVER,
            source_run=later,
            source_driver=weakest,
        )
