"""Rate limits on creating recognitions, exceptions and outcome imports: an atomic counter per
user and window (Redis INCR when the cache is Redis), 429 in the error format with Retry-After."""

import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from cxculture.lib import ratelimit
from tests.factories.outcomes import csv_bytes, record
from tests.factories.people import PolicyFactory
from tests.factories.recognition import a_value

IMPORTS = "/api/v1/outcome-imports/"
REDIS_URL = os.environ.get("CXC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _hammer(name: str, *, threads: int = 20, hits: int = 10, limit: int = 50) -> list[bool]:
    barrier = threading.Barrier(threads)

    def run(_: int) -> list[bool]:
        barrier.wait(timeout=30)
        return [
            ratelimit.hit(name, limit=limit, window=3600, now=1_000_000).allowed
            for _ in range(hits)
        ]

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return [allowed for result in pool.map(run, range(threads)) for allowed in result]


def test_the_counter_lets_exactly_the_limit_through_under_20_threads():
    decisions = _hammer("threads")

    assert len(decisions) == 200
    assert decisions.count(True) == 50


def _redis_available() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except Exception:
        return False
    return True


@pytest.mark.skipif(not _redis_available(), reason="needs Redis (CXC_TEST_REDIS_URL)")
def test_the_counter_is_atomic_on_redis_under_20_threads(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }

    decisions = _hammer("redis-threads")

    assert decisions.count(True) == 50
    assert cache.get("cxc:ratelimit:redis-threads:3600:277") == 200  # the window's counter


@pytest.mark.skipif(not _redis_available(), reason="needs Redis (CXC_TEST_REDIS_URL)")
def test_several_counters_are_counted_together_on_redis_each_with_its_window(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }
    counters = [("per-link", 2, 60), ("per-address", 5, 3600)]

    rounds = [ratelimit.hits(counters, now=1_000_000.0) for _ in range(3)]

    assert [[d.count for d in decisions] for decisions in rounds] == [[1, 1], [2, 2], [3, 3]]
    assert [[d.allowed for d in decisions] for decisions in rounds][-1] == [False, True]
    assert [d.retry_after for d in rounds[-1]] == [20, 800]
    client = cache._cache.get_client(write=True)
    link_ttl = client.ttl(cache.make_key("cxc:ratelimit:per-link:60:16666"))
    address_ttl = client.ttl(cache.make_key("cxc:ratelimit:per-address:3600:277"))
    assert 0 < link_ttl <= 61
    assert 3500 < address_ttl <= 3601


def test_a_new_window_starts_a_new_count():
    first = [ratelimit.hit("windows", limit=2, window=60, now=120.0) for _ in range(3)]
    later = ratelimit.hit("windows", limit=2, window=60, now=180.0)

    assert [d.allowed for d in first] == [True, True, False]
    assert first[-1].retry_after == 60
    assert later.allowed


def _recognise(api, giver, receiver):
    body = {
        "receivers": [receiver.pk],
        "message": "Stayed late to fix the billing run for a customer.",
        "values": [a_value().pk],
        "points_per_receiver": 0,
    }
    return api.as_(giver).post("/api/v1/recognitions/", body)


@pytest.mark.django_db
def test_recognitions_over_the_limit_get_429_with_retry_after(api, settings, employee, teammate):
    settings.CXC_RATELIMIT_RECOGNITION = "3/minute"

    statuses = [_recognise(api, employee, teammate).status_code for _ in range(3)]
    refused = _recognise(api, employee, teammate)

    assert statuses == [201, 201, 201]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 60
    # Reading is not limited, and the limit is per person.
    assert api.as_(employee).get("/api/v1/recognitions/").status_code == 200
    assert _recognise(api, teammate, employee).status_code == 201


@pytest.mark.django_db
def test_exceptions_over_the_limit_get_429(api, settings, employee):
    settings.CXC_RATELIMIT_EXCEPTION = "2/minute"
    policy = PolicyFactory()
    body = {
        "policy": policy.pk,
        "customer_ref": "CUST-77",
        "what_was_done": "Refunded after 40 days.",
        "why": "The product failed on day 35; the customer is ten years loyal.",
        "cost": "49.99",
    }

    statuses = [api.as_(employee).post("/api/v1/exceptions/", body).status_code for _ in range(3)]

    assert statuses == [201, 201, 429]


@pytest.mark.django_db
def test_outcome_imports_over_the_limit_get_429(api, settings, hr_admin):
    settings.CXC_RATELIMIT_OUTCOME_IMPORT = "1/minute"
    settings.STORAGES = {**settings.STORAGES}
    content = csv_bytes([record("csat", 5, "2025-06-02T10:00:00Z", team="SUP-A")])

    def upload():

        file = SimpleUploadedFile("o.csv", content, content_type="text/csv")
        return api.as_(hr_admin).post(
            "/api/v1/outcome-imports/", {"file": file}, format="multipart"
        )

    assert upload().status_code in {201, 202}
    refused = upload()
    assert refused.status_code == 429
    assert "Retry-After" in refused
