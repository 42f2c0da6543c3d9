"""Daily recognition and exception rollups per tree node: what the services add as they write
is what a rebuild from the raw rows counts, a recognition counts once per node however many of
its receivers are below it, reversals and reviews recount, and a refused write adds nothing."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from cxculture.lib.errors import DomainError
from cxculture.people.permissions import viewer_for
from recognition import rollups, services
from recognition.models import (
    ExceptionDay,
    RecognitionDay,
    RecognitionGiverDay,
    RecognitionValueDay,
)
from tests.factories.people import CompanyValueFactory, EmployeeFactory
from tests.factories.recognition import give, log_exception

TODAY = dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def april():
    with time_machine.travel(TODAY, tick=False):
        yield


def _cells():
    """Every rollup row, as comparable tuples (cells left at zero count as absent)."""
    return {
        "nodes": {
            (r.day, r.node_path, r.recognitions, r.cross_team)
            for r in RecognitionDay.objects.all()
            if r.recognitions
        },
        "values": {
            (r.day, r.node_path, r.value_id, r.recognitions)
            for r in RecognitionValueDay.objects.all()
            if r.recognitions
        },
        "givers": {
            (r.day, r.giver_id, r.recognitions)
            for r in RecognitionGiverDay.objects.all()
            if r.recognitions
        },
        "exceptions": {
            (r.day, r.node_path, r.logged, r.approved, Decimal(r.approved_cost))
            for r in ExceptionDay.objects.all()
            if r.logged
        },
    }


def _node(day, path):
    row = RecognitionDay.objects.filter(day=day, node_path=path).first()
    return (row.recognitions, row.cross_team) if row else (0, 0)


def test_a_recognition_counts_once_under_each_node_with_a_receiver_below_it(
    org, employee, teammate, outsider, sales_person
):
    care = CompanyValueFactory(name="Care")
    give(employee, [teammate, outsider], values=[care])
    give(sales_person, [teammate], values=[care])
    today = TODAY.date()
    support, support_a, support_b = org["support"], org["support_a"], org["support_b"]

    # Both go to Support (once each, though the first has two receivers there).
    assert _node(today, "") == (2, 2)
    assert _node(today, org["root"].path) == (2, 2)
    assert _node(today, support.path) == (2, 2)
    # Within Support A the first is from a teammate (not cross-team); the second is from Sales.
    assert _node(today, support_a.path) == (2, 1)
    assert _node(today, support_b.path) == (1, 1)
    assert _node(today, org["sales"].path) == (0, 0)
    value_cells = RecognitionValueDay.objects.filter(value=care, node_path=support.path)
    assert [row.recognitions for row in value_cells] == [2]
    givers = dict(RecognitionGiverDay.objects.values_list("giver_id", "recognitions"))
    assert givers == {employee.pk: 1, sales_person.pk: 1}


def test_what_the_services_add_is_what_a_rebuild_counts(
    org, employee, teammate, outsider, sales_person, manager, hr_admin
):
    values = [CompanyValueFactory(name="Care"), CompanyValueFactory(name="Grit")]
    give(employee, [teammate, outsider], values=values)
    with time_machine.travel(TODAY - dt.timedelta(days=40), tick=False):
        give(sales_person, [employee], values=values[:1])
        old = log_exception(outsider, cost=Decimal("20.00"))
    reversed_one = give(teammate, [sales_person], values=values[1:])
    services.recognition_reverse(recognition=reversed_one, by=hr_admin.user, reason="Twice.")
    approved = log_exception(employee, cost=Decimal("30.00"))
    log_exception(employee, cost=Decimal("99.00"))
    reviewer = viewer_for(manager.user)
    services.exception_review(
        exception=approved,
        viewer=reviewer,
        decision="approved",
        note="Right call.",
        reward_points=0,
        publish=True,
        values=values[:1],
    )
    services.exception_review(
        exception=old, viewer=reviewer, decision="approved_with_coaching", note="Ask first."
    )
    kept = _cells()

    rollups.rollups_rebuild_all()

    assert _cells() == kept
    today = TODAY.date()
    # The reversed one is gone; the published story (to Erin, from Maya) counts.
    assert _node(today, "") == (2, 2)
    support = ExceptionDay.objects.get(day=today, node_path=org["support"].path)
    assert (support.logged, support.approved, support.approved_cost) == (2, 1, Decimal("30.00"))
    earlier = ExceptionDay.objects.get(day=today - dt.timedelta(days=40), node_path="")
    assert (earlier.logged, earlier.approved, earlier.approved_cost) == (1, 1, Decimal("20.00"))


def test_gives_with_points_add_what_a_rebuild_counts(org, employee, teammate, outsider):
    """On PostgreSQL a give from the allowance adds its cells in its own one statement (the
    month's first give takes the long way, which grants the allowance)."""
    values = [CompanyValueFactory(name="Care"), CompanyValueFactory(name="Grit")]
    give(employee, [teammate], points=5, values=values[:1])
    give(employee, [teammate, outsider], points=5, values=values)
    give(outsider, [employee], points=3, values=values[1:])
    today = TODAY.date()

    assert _node(today, "") == (3, 2)
    assert _node(today, org["support"].path) == (3, 2)
    assert _node(today, org["support_a"].path) == (3, 1)
    assert _node(today, org["support_b"].path) == (1, 1)
    grit = RecognitionValueDay.objects.get(value=values[1], node_path=org["support"].path)
    assert grit.recognitions == 2
    givers = dict(RecognitionGiverDay.objects.values_list("giver_id", "recognitions"))
    assert givers == {employee.pk: 2, outsider.pk: 1}
    kept = _cells()
    rollups.rollups_rebuild_all()
    assert _cells() == kept


def test_a_give_refused_at_the_cap_adds_nothing(employee, teammate):
    give(employee, [teammate], points=40)  # the cap: 40% of the 100-point allowance
    kept = _cells()

    with pytest.raises(DomainError) as refused:
        give(employee, [teammate], points=1)

    assert refused.value.code == "receiver_cap"
    assert _cells() == kept


def test_a_refused_give_adds_nothing(employee, teammate):
    with pytest.raises(DomainError):
        give(employee, [employee, teammate])

    assert _cells() == {"nodes": set(), "values": set(), "givers": set(), "exceptions": set()}


def test_a_rollup_cell_cannot_go_below_zero(employee, teammate):
    """The database refuses a count that a bug would take negative."""
    from django.db import IntegrityError, transaction

    give(employee, [teammate])
    cells = rollups.RecognitionCells(givers={(TODAY.date(), employee.pk): -2})

    with pytest.raises(IntegrityError), transaction.atomic():
        rollups._recognition_cells_write(cells)

    assert RecognitionGiverDay.objects.get(giver=employee).recognitions == 1


def test_people_without_a_team_count_for_the_organisation_only(org, employee):
    drifter = EmployeeFactory(team=None)
    give(employee, [drifter])

    assert list(RecognitionDay.objects.values_list("node_path", "recognitions", "cross_team")) == [
        ("", 1, 1)
    ]


def test_the_rebuild_follows_a_team_moved_to_another_department(org, employee, teammate):
    from cxculture.people import services as people_services

    give(employee, [teammate])
    today = TODAY.date()
    assert _node(today, org["support"].path) == (1, 0)

    moved = people_services.team_move(team=org["support_a"], parent=org["sales"])
    rollups.rollups_rebuild_all()

    sales = org["sales"]
    sales.refresh_from_db()
    assert _node(today, org["support"].path) == (0, 0)
    assert _node(today, sales.path) == (1, 0)
    assert _node(today, moved.path) == (1, 0)
