"""Property tests: whatever sequence of gives, spot awards, reversals, monthly resets,
redemptions, approvals and rejections happens, the books stay right:

- every transaction's entries sum to zero,
- no account but the pool is ever below zero,
- every balance equals the sum of its account's entries,
- every person's allowance is at most one month's allowance.
"""

import datetime as dt

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxculture.lib.errors import DomainError
from recognition import ledger, services
from recognition.models import Account, Recognition, Redemption
from recognition.selectors import give_person_of, give_value_of, ledger_problems
from tests.factories.recognition import RewardFactory, a_value, set_budget, spot_award

pytestmark = pytest.mark.django_db

PEOPLE = ("employee", "teammate", "outsider", "manager")
person = st.sampled_from(PEOPLE)
pick = st.integers(min_value=0, max_value=50)

operations = st.one_of(
    st.tuples(
        st.just("give"), person, st.lists(person, min_size=1, max_size=3), st.integers(0, 45)
    ),
    st.tuples(st.just("spot_award"), st.sampled_from(PEOPLE[:3]), st.integers(1, 120)),
    st.tuples(st.just("reverse"), pick),
    st.tuples(st.just("next_month"), st.booleans()),
    st.tuples(st.just("redeem"), person, st.integers(0, 1)),
    st.tuples(st.just("approve"), pick),
    st.tuples(st.just("reject"), pick),
    st.tuples(st.just("budget"), st.integers(0, 300)),
)


def _nth(queryset, index: int):
    count = queryset.count()
    return queryset[index % count] if count else None


def _apply(op: tuple, cast: dict, rewards: list, clock) -> None:
    kind = op[0]
    hr = cast["hr_admin"]
    if kind == "give":
        _, giver, receivers, points = op
        # Mostly colleagues; a list of only the giver tries self-recognition (refused).
        others = [r for r in receivers if r != giver] or receivers
        services.recognition_give(
            giver=give_person_of(cast[giver]),
            receivers=[give_person_of(cast[r]) for r in others],
            message="Thanks",
            values=[give_value_of(a_value())],
            points_per_receiver=points,
        )
    elif kind == "spot_award":
        spot_award(cast["manager"], cast[op[1]], op[2])
    elif kind == "reverse":
        recognition = _nth(Recognition.objects.filter(reversed_at=None).order_by("id"), op[1])
        if recognition is not None:
            services.recognition_reverse(recognition=recognition, by=hr.user, reason="Test")
    elif kind == "next_month":
        today = timezone.localdate()
        clock.move_to(
            timezone.make_aware(
                dt.datetime.combine(
                    (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1), dt.time(0, 30)
                )
            )
        )
        if op[1]:  # the beat task ran; otherwise the next give resets lazily
            ledger.allowances_reset()
            ledger.budgets_top_up()
    elif kind == "redeem":
        services.redemption_request(employee=cast[op[1]], reward=rewards[op[2]])
    elif kind == "approve":
        pending = Redemption.objects.filter(status=Redemption.Status.PENDING).order_by("id")
        redemption = _nth(pending, op[1])
        if redemption is not None:
            services.redemption_approve(redemption=redemption, by=hr.user)
    elif kind == "reject":
        open_ = Redemption.objects.filter(status__in=["pending", "approved"]).order_by("id")
        redemption = _nth(open_, op[1])
        if redemption is not None:
            services.redemption_reject(redemption=redemption, by=hr.user, note="No")
    elif kind == "budget":
        set_budget(cast["manager"], op[1], by=hr)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operations, min_size=1, max_size=18))
def test_the_books_balance_after_any_sequence_of_operations(cast, ops):
    start = dt.datetime(2026, 1, 12, 9, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock, transaction.atomic():
        rewards = [RewardFactory(cost_points=10), RewardFactory(cost_points=25, stock=2)]
        set_budget(cast["manager"], 200, by=cast["hr_admin"])
        for name in PEOPLE[:3]:
            spot_award(cast["manager"], cast[name], 40)
        for op in ops:
            try:
                with transaction.atomic():
                    _apply(op, cast, rewards, clock)
            except DomainError:
                pass  # refused requests (overdrafts, caps, self-recognition...) change nothing
            assert ledger_problems() == [], op
        over = Account.objects.filter(kind=Account.Kind.ALLOWANCE, balance__gt=100)
        assert not over.exists()
        transaction.set_rollback(True)
