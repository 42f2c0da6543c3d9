"""When each person was last recognised: kept by give and reverse, rebuilt from receipts, and
what "not recognised lately" and the dashboard's reach read."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from cxculture.people.permissions import viewer_for
from recognition import services
from recognition.models import LastRecognition
from recognition.selectors import not_recognised_lately
from tests.factories.recognition import give

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


def _last(person):
    row = LastRecognition.objects.filter(employee=person).first()
    return row.recognised_at if row else None


def test_a_give_stamps_every_receiver_and_a_later_give_moves_the_stamp(
    employee, teammate, outsider
):
    with time_machine.travel(NOW - dt.timedelta(days=40), tick=False):
        give(employee, [teammate, outsider])
    with time_machine.travel(NOW, tick=False):
        give(employee, [teammate])

    assert _last(teammate) == NOW
    assert _last(outsider) == NOW - dt.timedelta(days=40)
    assert _last(employee) is None


def test_reversing_the_latest_falls_back_to_the_one_before_or_to_never(
    hr_admin, employee, teammate, outsider
):
    with time_machine.travel(NOW - dt.timedelta(days=40), tick=False):
        give(employee, [teammate])
    with time_machine.travel(NOW, tick=False):
        latest = give(employee, [teammate, outsider])
        services.recognition_reverse(recognition=latest, by=hr_admin.user, reason="A mistake.")

    assert _last(teammate) == NOW - dt.timedelta(days=40)
    assert _last(outsider) is None
    assert not LastRecognition.objects.filter(employee=outsider).exists()


def test_a_rebuild_recomputes_from_the_receipts_written_in_bulk(employee, teammate, outsider):
    with time_machine.travel(NOW, tick=False):
        give(employee, [teammate])
    LastRecognition.objects.all().delete()
    LastRecognition.objects.create(employee=outsider, recognised_at=NOW)  # stale: never given

    assert services.last_recognitions_rebuild() == 1

    assert _last(teammate) == NOW
    assert _last(outsider) is None


def test_not_recognised_lately_reads_the_stamps_oldest_first_never_first(
    hr_admin, employee, teammate, outsider
):
    with time_machine.travel(NOW - dt.timedelta(days=45), tick=False):
        give(employee, [outsider])
    with time_machine.travel(NOW - dt.timedelta(days=35), tick=False):
        give(employee, [teammate])
    with time_machine.travel(NOW, tick=False):
        give(teammate, [employee])
        people = list(not_recognised_lately(viewer_for(hr_admin.user), days=30))

    missed = [person for person in people if person in (employee, teammate, outsider)]
    assert missed == [outsider, teammate]
    assert missed[0].last_recognised_at == NOW - dt.timedelta(days=45)
    never = [person for person in people if person.last_recognised_at is None]
    assert hr_admin in never
    assert people.index(hr_admin) < people.index(outsider)
    assert timezone.is_aware(missed[1].last_recognised_at)
