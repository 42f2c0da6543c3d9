import datetime as dt

import pytest
import time_machine

from tests.factories.people import EmployeeFactory
from tests.factories.surveys import load_question_library

MARCH = dt.date(2026, 3, 2)  # a Monday: the first run opens


@pytest.fixture(autouse=True)
def question_library(db):
    return load_question_library()


@pytest.fixture
def clock():
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture
def crowd(org, cast):
    """Enough people for reportable results: Support A has 6 members, Support B 5."""
    extra_a = [EmployeeFactory(team=org["support_a"]) for _ in range(4)]
    extra_b = [EmployeeFactory(team=org["support_b"]) for _ in range(4)]
    return {
        "support_a": [cast["employee"], cast["teammate"], *extra_a],
        "support_b": [cast["outsider"], *extra_b],
    }


@pytest.fixture
def lead_b(org):
    return EmployeeFactory(
        first_name="Bea",
        last_name="Lead",
        team=org["support_b"],
        is_front_line=False,
        manages=[org["support_b"]],
    )


@pytest.fixture
def sales_lead(org):
    return EmployeeFactory(
        first_name="Sid",
        last_name="Seller",
        team=org["sales"],
        is_front_line=False,
        manages=[org["sales"]],
    )
