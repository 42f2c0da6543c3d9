"""The submit body's answers: the usual numeric list is taken as it is, and gives exactly what
checking it item by item gives; anything else is checked item by item, with its errors."""

import pytest
from rest_framework import serializers

from surveys.api import AnswerInputSerializer, ResponseSubmitSerializer


def validated(answers):
    incoming = ResponseSubmitSerializer(data={"token": "t", "answers": answers})
    assert incoming.is_valid(), incoming.errors
    return incoming.validated_data["answers"]


def item_by_item(answers):
    checked = serializers.ListField(child=AnswerInputSerializer(), max_length=200)
    return checked.run_validation(answers)


@pytest.mark.parametrize(
    "answers",
    [
        [],
        [{"question": 1, "value": 4}],
        [{"question": 7, "value": 0}, {"question": 8, "value": 10}, {"question": 9}],
        [{"question": 3, "value": None}],
    ],
)
def test_numeric_answers_are_what_checking_each_item_gives(answers):
    assert validated(answers) == [dict(item) for item in item_by_item(answers)]


@pytest.mark.parametrize(
    "answers",
    [
        [{"question": 2, "value": "4"}],  # a number as text, as DRF accepts it
        [{"question": 2, "choice": "Email"}],
        [{"question": 2, "text": "  More staff on Mondays  "}],
    ],
)
def test_other_answers_are_checked_item_by_item(answers):
    assert validated(answers) == [dict(item) for item in item_by_item(answers)]


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ([{"question": 2, "value": 11}], "value"),
        ([{"question": 2, "value": -1}], "value"),
        ([{"question": 0, "value": 3}], "question"),
        ([{"question": True, "value": 3}], "question"),
        ([{"question": 2, "value": False}], "value"),
        ([{"question": 2, "value": 2.5}], "value"),
    ],
)
def test_a_wrong_answer_is_refused_with_its_field(answers, field):
    incoming = ResponseSubmitSerializer(data={"token": "t", "answers": answers})

    assert not incoming.is_valid()
    assert field in incoming.errors["answers"][0]


def test_too_many_answers_are_refused():
    answers = [{"question": n, "value": 3} for n in range(1, 202)]
    incoming = ResponseSubmitSerializer(data={"token": "t", "answers": answers})

    assert not incoming.is_valid()
    assert "answers" in incoming.errors
