import datetime as dt

import pytest
import time_machine

from tests.factories.surveys import load_question_library

OPENS = dt.date(2026, 3, 2)  # a Monday


@pytest.fixture(autouse=True)
def question_library(db):
    return load_question_library()


@pytest.fixture(autouse=True)
def on_opening_day():
    """Tests start on the day their runs open (tasks read today's date themselves)."""
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=True) as traveller:
        yield traveller


@pytest.fixture
def opens():
    return OPENS
