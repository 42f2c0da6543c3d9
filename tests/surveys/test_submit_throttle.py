"""The public survey-submit endpoint throttles per invitation link, not per address: a whole
company answering from behind one office address is never turned away."""

import hashlib

import pytest
from rest_framework.throttling import SimpleRateThrottle

from cxculture.lib import ratelimit

URL = "/api/v1/responses/"


@pytest.fixture
def production_api_rates(monkeypatch):
    """The API's default rates as in production (the test settings raise them)."""
    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {"anon": "60/minute", "user": "1200/minute"}
    )


def submit(api, token: str, address: str = "203.0.113.7"):
    return api.post(
        URL,
        {"token": token, "answers": [], "comment": ""},
        format="json",
        REMOTE_ADDR=address,
    )


def test_a_hundred_people_behind_one_address_are_not_throttled(db, api, production_api_rates):
    answers = [submit(api, f"link-of-person-{n}") for n in range(100)]

    assert [a.status_code for a in answers if a.status_code == 429] == []
    assert {a.status_code for a in answers} == {404}  # made-up links: "the link is not valid"


def test_one_link_sent_over_and_over_is_throttled_with_retry_after(db, api, settings):
    settings.CXC_THROTTLE_SURVEY_LINK = "5/minute"

    answers = [submit(api, "the-same-link", address=f"198.51.100.{n}") for n in range(7)]

    assert [a.status_code for a in answers] == [404] * 5 + [429] * 2
    assert answers[-1].json()["error"]["code"] == "throttled"
    assert int(answers[-1]["Retry-After"]) > 0
    assert submit(api, "another-link").status_code == 404


def test_the_counter_is_keyed_by_a_hash_of_the_token_never_the_token(db, api, monkeypatch):
    counted: list[str] = []
    real_hits = ratelimit.hits

    def spy(counters, **kwargs):
        counted.extend(name for name, _, _ in counters)
        return real_hits(counters, **kwargs)

    monkeypatch.setattr(ratelimit, "hits", spy)

    submit(api, "secret-link-token")

    assert not any("secret-link-token" in name for name in counted)
    digest = hashlib.sha256(b"secret-link-token").hexdigest()
    assert f"survey-link:{digest}" in counted


def test_anonymous_answers_per_address_keep_a_ceiling(db, api, settings):
    settings.CXC_THROTTLE_SURVEY_SUBMIT_IP = "3/minute"

    answers = [submit(api, f"link-{n}") for n in range(4)]

    assert [a.status_code for a in answers] == [404, 404, 404, 429]
    assert submit(api, "link-9", address="192.0.2.1").status_code == 404
