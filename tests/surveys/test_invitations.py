"""Invitations and reminders: chunked fan-out, each email once, and links that expire."""

import datetime as dt

import pytest
from django.core import mail
from django.test import override_settings

from surveys import services, tasks
from surveys.models import Invitation, SurveyRun
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, answer, open_run


@pytest.fixture
def team():
    team = TeamFactory(name="Front desk")
    for _ in range(7):
        EmployeeFactory(team=team)
    return team


@pytest.fixture
def run(team, opens, django_capture_on_commit_callbacks):
    program = ProgramFactory(audience="teams", teams=[team], run_length_days=7)
    with django_capture_on_commit_callbacks(execute=True):
        return open_run(program, opens)


def emails_to(address):
    return [message for message in mail.outbox if address in message.to]


def test_opening_a_run_emails_everyone_invited_once(run, team):
    invitations = Invitation.objects.filter(run=run)
    assert invitations.count() == 7
    assert len(mail.outbox) == 7
    assert {m.to[0] for m in mail.outbox} == {i.employee.email for i in invitations}
    assert all(i.sent_on == run.opens_on for i in invitations)


@override_settings(CXC_SURVEY_INVITATION_CHUNK_SIZE=3)
def test_the_fan_out_and_its_chunks_can_run_twice_without_sending_twice(team, opens):
    program = ProgramFactory(audience="teams", teams=[team])
    run = open_run(program, opens)  # on_commit not run: nothing sent yet
    assert mail.outbox == []
    queued = services.survey_mailing_fan_out(run_id=run.pk, mailing=services.Mailing.INVITATION)
    ids = list(Invitation.objects.filter(run=run).values_list("id", flat=True))
    # A broker redelivering every chunk, and the whole fan-out again:
    tasks.survey_mailing_send_task(run.pk, services.Mailing.INVITATION, ids)
    tasks.survey_mailing_fan_out_task(run.pk, services.Mailing.INVITATION)
    assert queued == 7
    assert len(mail.outbox) == 7
    assert len({message.to[0] for message in mail.outbox}) == 7


def test_the_email_holds_a_personal_link_that_works_without_signing_in(run, client):
    message = mail.outbox[0]
    link = next(line for line in message.body.splitlines() if "/surveys/r/" in line)
    path = link.split("127.0.0.1:8000", 1)[1].strip()
    response = client.get(path)
    assert response.status_code == 200
    invitation = Invitation.objects.get(run=run, employee__user__email=message.to[0])
    page = response.content.decode()
    assert invitation.employee.user.last_name not in page
    assert "I am proud to work here." in page
    assert message.alternatives and "Answer the survey" in message.alternatives[0].content


def on_day(traveller, opens, day):
    traveller.move_to(dt.datetime.combine(opens + dt.timedelta(days=day - 1), dt.time(10), dt.UTC))


def test_reminders_go_on_days_3_and_5_to_people_yet_to_answer_once_each(run, opens, on_opening_day):
    answered = Invitation.objects.filter(run=run).order_by("id")[:2]
    for invitation in answered:
        answer(invitation, opens, enps=9)
    mail.outbox.clear()
    on_day(on_opening_day, opens, 2)
    tasks.survey_reminders_send_task()
    assert mail.outbox == []
    on_day(on_opening_day, opens, 3)
    tasks.survey_reminders_send_task()
    tasks.survey_reminders_send_task()  # the beat runs hourly
    assert len(mail.outbox) == 5
    assert all("Reminder" in m.subject for m in mail.outbox)
    on_day(on_opening_day, opens, 4)
    tasks.survey_reminders_send_task()
    assert len(mail.outbox) == 5
    on_day(on_opening_day, opens, 5)
    tasks.survey_reminders_send_task()
    tasks.survey_reminders_send_task()
    assert len(mail.outbox) == 10
    for invitation in Invitation.objects.filter(run=run):
        got = len(emails_to(invitation.employee.email))
        assert got == (0 if invitation.responded_on else 2)
        if not invitation.responded_on:
            assert invitation.reminded_day3_on == opens + dt.timedelta(days=2)
            assert invitation.reminded_day5_on == opens + dt.timedelta(days=4)


def test_a_day_3_reminder_missed_is_sent_on_day_4_but_never_with_day_5(run, opens, on_opening_day):
    mail.outbox.clear()
    on_day(on_opening_day, opens, 4)
    tasks.survey_reminders_send_task()
    assert len(mail.outbox) == 7
    on_day(on_opening_day, opens, 6)
    tasks.survey_reminders_send_task()
    assert len(mail.outbox) == 14
    assert (
        Invitation.objects.filter(run=run, reminded_day5_on=opens + dt.timedelta(days=5)).count()
        == 7
    )


def test_a_failed_send_is_released_and_sent_by_the_retry(team, opens, monkeypatch):
    run = open_run(ProgramFactory(audience="teams", teams=[team]), opens)
    ids = list(Invitation.objects.filter(run=run).order_by("id").values_list("id", flat=True))
    original = services._message
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise ConnectionError("SMTP went away")
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "_message", flaky)
    with pytest.raises(ConnectionError):
        services.survey_mailing_send(
            run_id=run.pk, mailing="invitation", invitation_ids=ids, today=opens
        )
    assert len(mail.outbox) == 2
    assert Invitation.objects.filter(run=run, sent_on__isnull=True).count() == 5
    services.survey_mailing_send(
        run_id=run.pk, mailing="invitation", invitation_ids=ids, today=opens
    )
    assert len(mail.outbox) == 7


def test_nothing_is_sent_for_a_closed_run(run, opens, on_opening_day):
    mail.outbox.clear()
    services.survey_run_close(run=run, today=opens + dt.timedelta(days=1))
    on_day(on_opening_day, opens, 3)
    tasks.survey_reminders_send_task()
    sent = services.survey_mailing_send(
        run_id=run.pk,
        mailing="reminder_day3",
        invitation_ids=list(Invitation.objects.filter(run=run).values_list("id", flat=True)),
        today=opens + dt.timedelta(days=2),
    )
    assert (sent, mail.outbox) == (0, [])


def test_the_signed_link_expires_when_the_run_closes(run, opens, api):
    invitation = Invitation.objects.filter(run=run).first()
    token = services.invitation_token(invitation.pk)
    assert services.invitation_from_token(token).pk == invitation.pk
    services.survey_run_close(run=run, today=opens + dt.timedelta(days=2))
    response = api.as_(None).post(
        "/api/v1/responses/", {"token": token, "answers": []}, format="json"
    )
    assert response.status_code == 410
    assert "closed" in response.json()["error"]["message"]


def test_the_link_stops_working_after_its_last_day_even_before_the_run_is_closed(run, opens):
    invitation = Invitation.objects.filter(run=run).first()
    with pytest.raises(services.RunClosed):
        answer(invitation, opens + dt.timedelta(days=7), enps=5)  # the day after closes_on
    assert SurveyRun.objects.get(pk=run.pk).status == SurveyRun.Status.OPEN


def test_a_tampered_or_foreign_token_is_refused(run):
    invitation = Invitation.objects.filter(run=run).first()
    token = services.invitation_token(invitation.pk)
    with pytest.raises(services.LinkInvalid):
        services.invitation_from_token(token[:-2] + "xx")
    from django.core import signing

    with pytest.raises(services.LinkInvalid):
        services.invitation_from_token(signing.dumps(invitation.pk, salt="another-purpose"))
