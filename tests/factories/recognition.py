"""Factories for recognition. Everything goes through the services, so the ledger stays balanced."""

from collections.abc import Sequence
from decimal import Decimal

import factory

from cxculture.people.models import CompanyValue, Employee, Policy
from cxculture.people.permissions import viewer_for
from recognition import services
from recognition.models import PolicyException, Recognition, Reward
from recognition.selectors import give_person_of, give_value_of
from tests.factories.people import CompanyValueFactory, PolicyFactory


class RewardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reward

    name = factory.Sequence(lambda n: f"Reward {n}")
    description = "Something nice."
    cost_points = 50
    stock = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.reward_create(**kwargs)


def a_value() -> CompanyValue:
    return CompanyValue.objects.filter(is_active=True).first() or CompanyValueFactory(
        name="Customer first"
    )


def give(
    giver: Employee,
    receivers: Employee | Sequence[Employee],
    *,
    points: int = 0,
    message: str = "Thank you for sorting out that refund.",
    values: Sequence[CompanyValue] | None = None,
    visibility: str = Recognition.Visibility.ORGANISATION,
) -> Recognition:
    """A peer recognition from `giver`, with `points` per receiver from their allowance."""
    people = [receivers] if isinstance(receivers, Employee) else list(receivers)
    return services.recognition_give(
        giver=give_person_of(giver),
        receivers=[give_person_of(person) for person in people],
        message=message,
        values=[give_value_of(value) for value in (values if values is not None else [a_value()])],
        points_per_receiver=points,
        visibility=visibility,
    )


def set_budget(manager: Employee, points: int, *, by: Employee) -> None:
    services.budget_set(manager=manager, monthly_points=points, by=by.user)


def spot_award(manager: Employee, receiver: Employee, points: int) -> Recognition:
    """Points from `manager`'s budget (set it first) to someone in their subtree."""
    return services.recognition_give(
        giver=give_person_of(manager),
        receivers=[give_person_of(receiver)],
        message="Spot award for going the extra mile.",
        values=[give_value_of(a_value())],
        points_per_receiver=points,
        spot_award=True,
        managed_paths=viewer_for(manager.user).managed_paths,
    )


def fund_wallet(employee: Employee, points: int, *, manager: Employee, hr: Employee) -> None:
    """Put `points` in `employee`'s wallet the way a real organisation would: HR raises the
    manager's budget by that much and the manager gives a spot award."""
    from recognition.selectors import balances_for

    current = balances_for(manager).budget or 0
    set_budget(manager, current + points, by=hr)
    spot_award(manager, employee, points)


def log_exception(
    employee: Employee,
    *,
    policy: Policy | None = None,
    customer_ref: str = "CUST-1",
    interaction_ref: str = "",
    cost: Decimal = Decimal("12.50"),
) -> PolicyException:
    return services.exception_log(
        employee=employee,
        policy=policy or Policy.objects.filter(is_active=True).first() or PolicyFactory(),
        customer_ref=customer_ref,
        interaction_ref=interaction_ref,
        what_was_done="Refunded a delivery fee outside the window.",
        why="The courier lost the parcel twice; the customer had waited two weeks.",
        cost=cost,
    )


__all__ = [
    "RewardFactory",
    "a_value",
    "fund_wallet",
    "give",
    "log_exception",
    "set_budget",
    "spot_award",
]
