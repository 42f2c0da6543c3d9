"""A chunk of invitation emails: each person's own name and working link, the templates rendered
once per chunk, a bounded number of queries whatever the chunk's size, and a mail server that
stays down ends in the dead-letter table with nothing claimed, so the retry sends every email."""

import datetime as dt
import re
import socket
from importlib import import_module

import pytest
import time_machine
from django.apps import apps as django_apps
from django.core import mail, signing
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from cxculture.jobs.models import DeadLetter
from cxculture.jobs.services import dead_letter_retry
from surveys import services, tasks
from surveys.models import Invitation
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, open_run

LINK = re.compile(r"http://127\.0\.0\.1:8000/surveys/r/([^/\s\"]+)/")


def _team(size: int, **people):
    team = TeamFactory(name="Claims")
    for _ in range(size):
        EmployeeFactory(team=team, **people)
    return team


def _run(team, opens, **program):
    """An open run with its invitations, nothing emailed yet (the fan-out's on_commit not run)."""
    return open_run(ProgramFactory(audience="teams", teams=[team], **program), opens)


def _send(run, opens, mailing=services.Mailing.INVITATION) -> int:
    ids = list(Invitation.objects.filter(run=run).values_list("id", flat=True))
    return services.survey_mailing_send(
        run_id=run.pk, mailing=mailing, invitation_ids=ids, today=opens
    )


def test_each_person_gets_their_own_name_and_a_link_that_opens_their_invitation(opens, client):
    team = _team(12)
    run = _run(team, opens)

    assert _send(run, opens) == 12

    assert len(mail.outbox) == 12
    tokens = set()
    for message in mail.outbox:
        invitation = Invitation.objects.select_related("employee__user").get(
            run=run, employee__user__email=message.to[0]
        )
        user = invitation.employee.user
        html = message.alternatives[0].content
        assert message.body.startswith(f"Hello {user.first_name},")
        assert f"Hello {user.first_name}," in html
        text_token = LINK.search(message.body).group(1)
        assert LINK.search(html).group(1) == text_token
        assert signing.loads(text_token, salt=services.TOKEN_SALT) == invitation.pk
        assert services.invitation_from_token(text_token) == invitation
        assert client.get(f"/surveys/r/{text_token}/").status_code == 200
        tokens.add(text_token)
    assert len(tokens) == 12


def test_a_chunk_link_is_the_same_url_as_a_single_invitation_link(opens):
    run = _run(_team(1), opens)
    invitation = Invitation.objects.get(run=run)

    # One frozen second, so that every token carries the same timestamp.
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC), tick=False):
        chunk_link = services._Links().link(invitation.pk)
        token = services.invitation_token(invitation.pk)

    assert chunk_link == "http://127.0.0.1:8000" + reverse("surveys:respond", args=[token])


def test_names_and_program_names_are_escaped_in_html_only_and_an_empty_name_is_there(opens):
    team = TeamFactory(name="Claims")
    EmployeeFactory(team=team, first_name="Zoë <b>&")
    EmployeeFactory(team=team, first_name="")
    run = _run(team, opens, name="Q&A <pulse>")

    assert _send(run, opens) == 2

    by_name = {m.body.splitlines()[0]: m for m in mail.outbox}
    assert set(by_name) == {"Hello Zoë <b>&,", "Hello there,"}
    zoe = by_name["Hello Zoë <b>&,"]
    assert "Hello Zoë &lt;b&gt;&amp;," in zoe.alternatives[0].content
    assert "<strong>Q&amp;A &lt;pulse&gt;</strong>" in zoe.alternatives[0].content
    assert zoe.subject.startswith("Q&A <pulse>: ")
    assert "Q&A <pulse> is open" in zoe.body
    assert "Hello there," in by_name["Hello there,"].alternatives[0].content


def test_braces_in_a_name_or_a_program_name_are_text_not_places_to_fill(opens):
    team = TeamFactory(name="Claims")
    EmployeeFactory(team=team, first_name="{1} {0} }{")
    run = _run(team, opens, name="Q{0} {{pulse}}")

    assert _send(run, opens) == 1

    (message,) = mail.outbox
    html = message.alternatives[0].content
    assert message.body.startswith("Hello {1} {0} }{,")
    assert "Hello {1} {0} }{," in html
    assert "Q{0} {{pulse}} is open" in message.body
    assert "<strong>Q{0} {{pulse}}</strong>" in html
    assert message.subject.startswith("Q{0} {{pulse}}: ")
    assert len(LINK.findall(message.body)) == 1
    assert services.invitation_from_token(LINK.search(html).group(1)).run == run


def test_reminders_carry_each_persons_own_link_too(opens):
    team = _team(5)
    run = _run(team, opens)
    _send(run, opens)
    mail.outbox.clear()

    assert _send(run, opens, services.Mailing.REMINDER_DAY3) == 5

    for message in mail.outbox:
        token = LINK.search(message.body).group(1)
        invitation = services.invitation_from_token(token)
        assert invitation.employee.user.email == message.to[0]
        assert message.subject.startswith("Reminder: ")
        assert invitation.reminded_day3_on == opens


def test_someone_who_answers_while_a_chunk_is_being_sent_gets_no_reminder(opens, monkeypatch):
    """The claim tests every condition of the reminder on the row it updates, not only what the
    chunk read before it started sending."""
    run = _run(_team(3), opens)
    _send(run, opens)
    mail.outbox.clear()
    answering = Invitation.objects.filter(run=run).order_by("id").last()
    letter = services._letter

    def answered_meanwhile(*args, **kwargs):  # after the addresses are read, before the claim
        Invitation.objects.filter(pk=answering.pk).update(responded_on=opens)
        return letter(*args, **kwargs)

    monkeypatch.setattr(services, "_letter", answered_meanwhile)

    assert _send(run, opens, services.Mailing.REMINDER_DAY3) == 2

    assert answering.employee.user.email not in [m.to[0] for m in mail.outbox]
    answering.refresh_from_db()
    assert answering.reminded_day3_on is None


def test_the_templates_are_rendered_once_per_chunk_not_once_per_person(opens, monkeypatch):
    run = _run(_team(30), opens)
    rendered = []
    original = services.render_to_string

    def counting(name, *args, **kwargs):
        rendered.append(name)
        return original(name, *args, **kwargs)

    monkeypatch.setattr(services, "render_to_string", counting)

    assert _send(run, opens) == 30
    assert len(rendered) == 3  # subject, text and HTML


@pytest.mark.parametrize("size", [10, 100])
def test_a_chunk_costs_the_same_few_queries_whatever_its_size(
    size, opens, django_assert_num_queries
):
    """Within one claim batch (CLAIM_BATCH = 100): the run, the chunk's addresses, then the
    claim (one conditional update returning what it claimed)."""
    run = _run(_team(size), opens)
    ids = list(Invitation.objects.filter(run=run).values_list("id", flat=True))

    with django_assert_num_queries(3):
        sent = services.survey_mailing_send(
            run_id=run.pk, mailing=services.Mailing.INVITATION, invitation_ids=ids, today=opens
        )

    assert sent == size == len(mail.outbox)


@override_settings(CXC_SURVEY_INVITATION_CHUNK_SIZE=4)
def test_chunks_of_a_fan_out_send_everyone_exactly_once(opens, django_capture_on_commit_callbacks):
    team = _team(11)
    with django_capture_on_commit_callbacks(execute=True):
        run = _run(team, opens)

    assert len(mail.outbox) == 11
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        Invitation.objects.filter(run=run).values_list("employee__user__email", flat=True)
    )
    assert not Invitation.objects.filter(run=run, sent_on=None).exists()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_mail_server_that_stays_down_dead_letters_the_chunk_and_its_retry_sends_it(
    opens, eager, django_capture_on_commit_callbacks
):
    run = _run(_team(6), opens)
    ids = list(Invitation.objects.filter(run=run).values_list("id", flat=True))
    down = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": _closed_port(), "timeout": 1},
        }
    }

    # Without a broker the base task retries in place; after the last attempt the chunk is
    # dead-lettered with the mail server's own error (a worker retries with backoff, the same).
    with override_settings(MAILERS=down), pytest.raises(ConnectionRefusedError):
        tasks.survey_mailing_send_task.apply(
            args=[run.pk, services.Mailing.INVITATION, ids], task_id="chunk-smtp-down"
        )

    letter = DeadLetter.objects.get(task_id="chunk-smtp-down")
    assert letter.task_name == "surveys.tasks.survey_mailing_send_task"
    assert "Connection refused" in letter.exception
    assert letter.attempts == 5
    assert letter.args == [run.pk, services.Mailing.INVITATION, ids]
    assert Invitation.objects.filter(run=run, sent_on=None).count() == 6
    assert mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        dead_letter_retry(dead_letter=letter)

    assert len(mail.outbox) == 6
    assert len({m.to[0] for m in mail.outbox}) == 6
    assert not Invitation.objects.filter(run=run, sent_on=None).exists()


def test_a_chunk_sends_nothing_for_invitations_of_another_run(opens):
    """A chunk's ids are looked up by primary key alone (the run is checked in Python): the
    invitations of another run, in the same list, are neither emailed nor claimed."""
    ours, theirs = _run(_team(3), opens), _run(_team(2), opens)
    ids = list(Invitation.objects.filter(run__in=[ours, theirs]).values_list("id", flat=True))

    sent = services.survey_mailing_send(
        run_id=ours.pk, mailing=services.Mailing.INVITATION, invitation_ids=ids, today=opens
    )

    assert sent == len(mail.outbox) == 3
    assert not Invitation.objects.filter(run=ours, sent_on=None).exists()
    assert Invitation.objects.filter(run=theirs, sent_on=None).count() == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL storage settings")
def test_invitations_leave_room_for_hot_claims_and_have_no_index_on_a_single_key():
    """The suite builds tables from the models (--no-migrations), so the fill factor is set here
    by migration 0015's own function (rolled back with the test's transaction)."""
    fill = import_module("surveys.migrations.0015_invitation_fillfactor")
    with connection.schema_editor() as editor:
        fill.Migration.operations[0].code(django_apps, editor)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reloptions FROM pg_class WHERE relname = %s", [Invitation._meta.db_table]
        )
        assert cursor.fetchone()[0] == ["fillfactor=50"]
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s", [Invitation._meta.db_table]
        )
        definitions = [row[0] for row in cursor.fetchall()]
    assert not [d for d in definitions if d.endswith(("(run_id)", "(employee_id)", "(team_id)"))]
    assert [d for d in definitions if d.endswith("(run_id, employee_id)")]
