"""`run_due_work`: the beat schedule's work done once, for the demo, which has no beat."""

import datetime as dt
import io

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.management import call_command

from cxculture.actions.models import ActionPrompt
from cxculture.management.seeding.actions import seed_actions
from cxculture.management.seeding.surveys import seed_surveys
from surveys.models import SurveyRun
from tests.actions import test_seed
from tests.factories.surveys import load_question_library

pytestmark = pytest.mark.django_db

# A small seeded organisation: four teams of twelve with their managers.
demo_org = test_seed.demo_org
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def question_library(db):
    return load_question_library()


def test_the_demo_managers_are_asked_to_commit_an_action(demo_org):
    with time_machine.travel(NOW):
        seed_surveys(demo_org)
        seed_actions(demo_org)
        mail.outbox.clear()
        out = io.StringIO()

        call_command("run_due_work", stdout=out)

    latest = SurveyRun.objects.filter(status="closed").order_by("-closes_on").first()
    prompts = ActionPrompt.objects.filter(run=latest).select_related("manager__user")
    assert prompts.exists()
    prompted = {message.to[0] for message in mail.outbox if "commit an action" in message.subject}
    assert prompted == {prompt.manager.user.email for prompt in prompts}
    report = out.getvalue()
    for name in settings.CELERY_BEAT_SCHEDULE:
        assert name in report
    assert "actions-send-prompts: done" in report


def test_running_it_again_sends_nothing_twice(demo_org):
    with time_machine.travel(NOW):
        seed_surveys(demo_org)
        seed_actions(demo_org)
        call_command("run_due_work", stdout=io.StringIO())
        sent, prompts = len(mail.outbox), ActionPrompt.objects.count()

        call_command("run_due_work", stdout=io.StringIO())

    assert (len(mail.outbox), ActionPrompt.objects.count()) == (sent, prompts)


def test_it_runs_only_the_entries_asked_for(demo_org):
    with time_machine.travel(NOW):
        seed_surveys(demo_org)
        seed_actions(demo_org)
        out = io.StringIO()

        call_command("run_due_work", "surveys-send-reminders", stdout=out)

    assert not ActionPrompt.objects.exists()
    assert "actions-send-prompts" not in out.getvalue()


def test_an_unknown_entry_is_refused_with_the_known_ones(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="actions-send-prompts"):
        call_command("run_due_work", "no-such-entry")


def test_a_failing_entry_is_reported_and_the_others_still_run(settings, db):
    from django.core.management.base import CommandError

    settings.CELERY_BEAT_SCHEDULE = {
        "probe": {"task": "cxculture.jobs.tasks.dead_letter_probe_task", "args": ["check"]},
        "actions-send-prompts": {"task": "cxculture.actions.tasks.action_prompts_send_task"},
    }
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match="1 scheduled task"):
        call_command("run_due_work", stdout=out, stderr=err)

    assert "probe: failed" in err.getvalue()
    assert "actions-send-prompts: done (0)" in out.getvalue()
