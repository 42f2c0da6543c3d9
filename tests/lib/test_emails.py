"""Every notification carries an absolute link built from CXC_BASE_URL, and the demo's console
e-mails print that link whole."""

import datetime as dt
import io
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.management import call_command
from django.test.signals import template_rendered

from cxculture.lib.emails import ConsoleEmailBackend
from cxculture.management.seeding.actions import seed_actions
from cxculture.management.seeding.surveys import seed_surveys
from cxculture.people import services as people_services
from cxculture.people.permissions import viewer_for
from recognition import services as recognition_services
from surveys import tasks as survey_tasks
from tests.actions import test_seed
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.recognition import RewardFactory, fund_wallet, give, log_exception
from tests.factories.surveys import ProgramFactory, load_question_library, open_run

pytestmark = pytest.mark.django_db

BASE = "https://culture.example.com"
EMAILS = Path(django_settings.BASE_DIR) / "templates" / "emails"
demo_org = test_seed.demo_org  # a small seeded organisation, for the action e-mails


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.CXC_BASE_URL = BASE + "/"  # a trailing slash must not double up


@pytest.fixture
def rendered():
    """The e-mail templates rendered while the test runs."""
    names: set[str] = set()

    def note(sender, template, context, **kwargs):
        if template.name and template.name.startswith("emails/"):
            names.add(template.name)

    template_rendered.connect(note)
    yield names
    template_rendered.disconnect(note)


def _body_templates() -> set[str]:
    return {
        f"emails/{path.relative_to(EMAILS)}"
        for path in EMAILS.rglob("*")
        if path.is_file() and not path.stem.endswith("_subject")
    }


def _send_every_kind_of_email(cast, demo_org, capture) -> None:
    employee, teammate, manager, hr = (
        cast["employee"],
        cast["teammate"],
        cast["manager"],
        cast["hr_admin"],
    )
    with capture(execute=True):
        give(employee, teammate, points=10)
    fund_wallet(employee, 100, manager=manager, hr=hr)
    with capture(execute=True):
        redemption = recognition_services.redemption_request(
            employee=employee, reward=RewardFactory(cost_points=40)
        )
        recognition_services.redemption_approve(redemption=redemption, by=hr.user)
    with capture(execute=True):
        recognition_services.exception_review(
            exception=log_exception(employee),
            viewer=viewer_for(manager.user),
            decision="approved",
        )
    newcomer = EmployeeFactory(team=employee.team)
    newcomer.user.set_unusable_password()
    newcomer.user.save()
    with capture(execute=True):
        people_services.employee_invite(employee=newcomer)
    team = TeamFactory(name="Front desk")
    for _ in range(6):
        EmployeeFactory(team=team)
    opens = dt.date(2026, 3, 2)
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)):
        # The seeders skip themselves once any survey exists, so they go first.
        seed_surveys(demo_org)
        seed_actions(demo_org)
        due = ("actions-send-prompts", "actions-remind-overdue")
        call_command("run_due_work", *due, stdout=io.StringIO())
        with capture(execute=True):
            open_run(ProgramFactory(audience="teams", teams=[team], run_length_days=7), opens)
    with time_machine.travel(dt.datetime(2026, 3, 5, 12, tzinfo=dt.UTC)):
        survey_tasks.survey_reminders_send_task()


def test_every_email_template_renders_with_a_link_from_the_base_url(
    cast, demo_org, rendered, django_capture_on_commit_callbacks
):
    load_question_library()

    _send_every_kind_of_email(cast, demo_org, django_capture_on_commit_callbacks)

    assert rendered >= _body_templates()
    assert mail.outbox
    for message in mail.outbox:
        assert f"{BASE}/" in message.body, message.subject
        assert "127.0.0.1" not in message.body
        assert f"{BASE}//" not in message.body
        if isinstance(message, EmailMultiAlternatives):
            for alternative in message.alternatives:
                assert f'href="{BASE}/' in str(alternative.content), message.subject


def test_the_console_backend_prints_the_link_whole():
    link = f"{BASE}/surveys/respond/" + "a1b2c3d4" * 12 + "/?from=e-mail&lang=fr"
    message = EmailMultiAlternatives(
        "Réponse attendue: sondage",
        f"Bonjour Zoë,\n\nRépondez ici : {link}\n",
        to=["zoe@example.com"],
    )
    message.attach_alternative(f'<a href="{link}">Répondre</a>', "text/html")
    stream = io.StringIO()

    ConsoleEmailBackend(stream=stream).send_messages([message])

    printed = stream.getvalue()
    assert link in printed.splitlines()[-2].split(" : ")[-1]
    assert "Subject: Réponse attendue: sondage" in printed
    assert "To: zoe@example.com" in printed
    assert "Bonjour Zoë," in printed
    assert "=3D" not in printed and "=\n" not in printed


def test_the_demo_uses_the_readable_console_backend():
    from cxculture.settings import dev

    assert dev.MAILERS["default"]["BACKEND"] == "cxculture.lib.emails.ConsoleEmailBackend"
