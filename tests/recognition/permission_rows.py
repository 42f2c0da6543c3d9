"""Permission matrix rows for recognition: every endpoint, role and method → status.

The central matrix (tests/test_permissions.py) runs these rows for every role. The objects the
rows are about are made on first use and cached on the `World`, so the rows need nothing added
to the central `World` class.

Who is who: `employee` and `teammate` are in Support A, `outsider` in Support B, `manager`
leads Support (A and B); `hr_admin` and `executive` sit in the root team.
"""

from typing import Any

from cxculture.people.models import Employee
from recognition import services
from tests.factories.people import PolicyFactory
from tests.factories.recognition import RewardFactory, a_value, give, log_exception
from tests.matrix import HR_ONLY_200, HR_ONLY_201, READ, Case, World, once, pk_of, statuses


def _colleague(world: World, me: Employee | None) -> Employee:
    """Someone other than `me` to recognise or be recognised by."""
    employee = world.cast["employee"]
    return world.cast["teammate"] if me is not None and me.pk == employee.pk else employee


public_recognition = once(
    "public", lambda w: give(w.cast["employee"], w.cast["teammate"], points=10)
)
team_recognition = once(
    "team", lambda w: give(w.cast["employee"], w.cast["teammate"], visibility="team")
)
reward = once("reward", lambda w: RewardFactory(name="Coffee", cost_points=10))
policy = once("policy", lambda w: PolicyFactory(code="delivery-fee", name="Delivery fees"))
exception = once("exception", lambda w: log_exception(w.cast["employee"], policy=policy(w)))


def _redeemed(world: World):
    give(world.cast["teammate"], world.cast["employee"], points=20)
    return services.redemption_request(employee=world.cast["employee"], reward=reward(world))


redemption = once("redemption", _redeemed)
approved_redemption = once(
    "approved",
    lambda w: services.redemption_approve(redemption=redemption(w), by=w.cast["hr_admin"].user),
)


def _give_body(world: World, me: Employee | None) -> dict[str, Any]:
    return {
        "receivers": [_colleague(world, me).pk],
        "message": "Thank you",
        "values": [a_value().pk],
        "points_per_receiver": 5,
    }


def _redeem_body(world: World, me: Employee | None) -> dict[str, Any]:
    if me is not None:  # ten points from a colleague, enough for a coffee
        give(_colleague(world, me), me, points=10)
    return {"reward": reward(world).pk}


def _exception_body(world: World, me: Employee | None) -> dict[str, Any]:
    return {
        "policy": policy(world).pk,
        "customer_ref": "CUST-1",
        "what_was_done": "Waived the fee.",
        "why": "Our courier was late.",
        "cost": "4.99",
    }


RECOGNITION_MATRIX: list[Case] = [
    # --- Recognitions: the feed is for everyone signed in; team-visible ones stay in the team --
    Case("GET", "/api/v1/recognitions/", READ),
    Case("POST", "/api/v1/recognitions/", statuses(201), body=_give_body),
    Case(
        "GET",
        "/api/v1/recognitions/{id}/",
        READ,
        target=pk_of(public_recognition),
        about="organisation-visible",
    ),
    Case(
        "GET",
        "/api/v1/recognitions/{id}/",
        statuses(200, outsider=404, executive=404),
        target=pk_of(team_recognition),
        about="team-visible in Support A",
    ),
    Case(
        "POST",
        "/api/v1/recognitions/{id}/reactions/",
        statuses(201),
        target=pk_of(public_recognition),
        body=lambda w, me: {"emoji": "👏"},
    ),
    Case(
        "POST",
        "/api/v1/recognitions/{id}/reactions/",
        statuses(201, outsider=404, executive=404),
        target=pk_of(team_recognition),
        body=lambda w, me: {"emoji": "🎉"},
        about="team-visible in Support A",
    ),
    Case(
        "DELETE",
        "/api/v1/recognitions/{id}/reactions/",
        READ,
        target=pk_of(public_recognition),
        body=lambda w, me: {"emoji": "👏"},
    ),
    Case(
        "POST",
        "/api/v1/recognitions/{id}/reverse/",
        HR_ONLY_200,
        target=pk_of(public_recognition),
        body=lambda w, me: {"reason": "Given by mistake."},
    ),
    Case("GET", "/api/v1/recognitions/reciprocal-pairs/", HR_ONLY_200),
    Case(
        "GET",
        "/api/v1/recognitions/not-recognised/",
        statuses(403, manager=200, hr_admin=200, executive=200),
    ),
    # --- Points: one's own ------------------------------------------------------------------
    Case("GET", "/api/v1/points/balance/", READ),
    Case("GET", "/api/v1/points/transactions/", READ),
    Case("GET", "/api/v1/points/budgets/", READ),
    Case(
        "POST",
        "/api/v1/points/budgets/",
        HR_ONLY_200,
        body=lambda w, me: {"manager": w.cast["manager"].pk, "monthly_points": 200},
    ),
    # --- Rewards: everyone reads the catalog; HR keeps it ----------------------------------------
    Case("GET", "/api/v1/rewards/", READ),
    Case(
        "POST",
        "/api/v1/rewards/",
        HR_ONLY_201,
        body=lambda w, me: {"name": "Day off", "cost_points": 500, "stock": 3},
    ),
    Case("GET", "/api/v1/rewards/{id}/", READ, target=pk_of(reward)),
    Case(
        "PATCH",
        "/api/v1/rewards/{id}/",
        HR_ONLY_200,
        target=pk_of(reward),
        body=lambda w, me: {"stock": 20},
    ),
    Case(
        "PUT",
        "/api/v1/rewards/{id}/",
        HR_ONLY_200,
        target=pk_of(reward),
        body=lambda w, me: {"name": "Coffee for two", "cost_points": 20},
    ),
    Case("DELETE", "/api/v1/rewards/{id}/", statuses(403, hr_admin=204), target=pk_of(reward)),
    # --- Redemptions: one's own; HR decides --------------------------------------------------
    Case("GET", "/api/v1/redemptions/", READ),
    Case("POST", "/api/v1/redemptions/", statuses(201), body=_redeem_body),
    Case(
        "GET",
        "/api/v1/redemptions/{id}/",
        statuses(404, employee=200, hr_admin=200),
        target=pk_of(redemption),
        about="the employee's",
    ),
    Case(
        "POST",
        "/api/v1/redemptions/{id}/approve/",
        HR_ONLY_200,
        target=pk_of(redemption),
        body=lambda w, me: {"note": "Enjoy"},
    ),
    Case(
        "POST",
        "/api/v1/redemptions/{id}/reject/",
        HR_ONLY_200,
        target=pk_of(redemption),
        body=lambda w, me: {"note": "Out of stock"},
    ),
    Case(
        "POST",
        "/api/v1/redemptions/{id}/fulfil/",
        HR_ONLY_200,
        target=pk_of(approved_redemption),
    ),
    # --- Policy exceptions: one's own, the subtree one manages, HR all ------------------------
    Case("GET", "/api/v1/exceptions/", READ),
    Case("POST", "/api/v1/exceptions/", statuses(201), body=_exception_body),
    Case(
        "GET",
        "/api/v1/exceptions/{id}/",
        statuses(404, employee=200, manager=200, hr_admin=200),
        target=pk_of(exception),
        about="the employee's",
    ),
    Case(
        "POST",
        "/api/v1/exceptions/{id}/review/",
        statuses(403, manager=200, hr_admin=200),
        target=pk_of(exception),
        body=lambda w, me: {"decision": "approved_with_coaching", "note": "Ask first next time."},
        about="the employee's: not their own, not another subtree",
    ),
    Case("GET", "/api/v1/exceptions/by-policy/", READ),
]
