"""Races on PostgreSQL: many gives at once into the same day's cells (the organisation's cell is
every give's), with a reversal recounting the day meanwhile. Every give is counted exactly once:
the cells equal a rebuild from the raw rows. Runs only when DATABASE_URL is PostgreSQL: SQLite
serialises every write, so it cannot race."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from recognition import rollups, services
from recognition.models import Recognition, RecognitionDay, RecognitionGiverDay
from tests.factories.people import EmployeeFactory
from tests.factories.recognition import a_value, give

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)"),
]

GIVES = 24


def _snapshot():
    return (
        sorted(
            RecognitionDay.objects.values_list("day", "node_path", "recognitions", "cross_team")
        ),
        sorted(RecognitionGiverDay.objects.values_list("day", "giver_id", "recognitions")),
    )


def test_concurrent_gives_and_a_reversal_are_each_counted_once(org, hr_admin):
    people = [
        EmployeeFactory(team=org["support_a" if n % 2 else "support_b"]) for n in range(GIVES + 1)
    ]
    value = a_value()
    mistaken = give(people[0], [people[1]], values=[value])
    barrier = threading.Barrier(GIVES + 1)

    def give_one(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            give(
                people[index],
                [people[index + 1], people[(index + 2) % len(people)]],
                values=[value],
            )
        finally:
            connection.close()

    def reverse() -> None:
        try:
            barrier.wait(timeout=30)
            services.recognition_reverse(recognition=mistaken, by=hr_admin.user, reason="Twice.")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=GIVES + 1) as pool:
        futures = [pool.submit(give_one, index) for index in range(GIVES)]
        futures.append(pool.submit(reverse))
        for future in futures:
            future.result()

    kept = _snapshot()
    assert Recognition.objects.filter(reversed_at__isnull=True).count() == GIVES
    organisation = RecognitionDay.objects.filter(node_path="").values_list(
        "recognitions", flat=True
    )
    assert list(organisation) == [GIVES]
    rollups.rollups_rebuild_all()
    assert _snapshot() == kept
