"""Races on PostgreSQL: the same chunk of invitations sent by many workers at once (a chunk
redelivered while its first delivery still runs). Each sender has its own connection; every
invitation is emailed exactly once. Runs only when DATABASE_URL is PostgreSQL: SQLite
serialises every write, so it cannot race."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core import mail
from django.db import connection

from surveys import services
from surveys.models import Invitation
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, open_run

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)"),
]

SENDERS = 6


def test_senders_racing_for_the_same_chunk_email_each_person_once(opens):
    team = TeamFactory(name="Race")
    for _ in range(250):  # three claim batches
        EmployeeFactory(team=team)
    run = open_run(ProgramFactory(audience="teams", teams=[team]), opens)
    # Outside a test transaction the opening's own fan-out has run: start again from nothing sent.
    Invitation.objects.filter(run=run).update(sent_on=None)
    mail.outbox.clear()
    ids = list(Invitation.objects.filter(run=run).values_list("id", flat=True))
    barrier = threading.Barrier(SENDERS)

    def send() -> int:
        try:
            barrier.wait(timeout=30)
            return services.survey_mailing_send(
                run_id=run.pk, mailing=services.Mailing.INVITATION, invitation_ids=ids, today=opens
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        sent = [future.result() for future in [pool.submit(send) for _ in range(SENDERS)]]

    assert sum(sent) == 250
    assert len(mail.outbox) == 250
    assert set(Counter(message.to[0] for message in mail.outbox).values()) == {1}
    assert not Invitation.objects.filter(run=run, sent_on=None).exists()
