"""Rate limits with an atomic fixed-window counter, and a DRF throttle built on it.

DRF's own cache throttles read a list of timestamps, append and write it back: two requests at
the same moment both pass. Here each request is one atomic increment of the window's counter:
Redis INCR (the key is created with SET NX and its expiry first), or, on caches without an
atomic increment, the same steps under a process lock (locmem is per process anyway).
"""

import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, UserRateThrottle

from .addresses import client_ip

_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600}
_PERIODS |= {"hour": 3600, "d": 86400, "day": 86400}
_lock = threading.Lock()


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # seconds until the window ends


def parse_rate(rate: str) -> tuple[int, int]:
    """'30/minute' -> (30, 60)."""
    number, _, period = rate.partition("/")
    return int(number), _PERIODS[period.strip().lower()]


# Increments each counter in KEYS, creating it first with its expiry (ARGV, seconds) when it
# is missing; returns their new values.
_COUNT = """
local counts = {}
for i, key in ipairs(KEYS) do
    redis.call('SET', key, 0, 'EX', ARGV[i], 'NX')
    counts[i] = redis.call('INCR', key)
end
return counts
"""

_count_scripts: dict[int, tuple[object, Any]] = {}


def _count_script(cache: RedisCache) -> Any:
    """`_COUNT` registered on a client of the cache's write pool, made once per pool: Django's
    `get_client` builds a new client object on every call, which costs more than the round
    trip it sends."""
    # Django's own pool (created once per cache) and client class; neither is in the stubs.
    pool = cache._cache._get_connection_pool(write=True)  # type: ignore[attr-defined]
    held = _count_scripts.get(id(pool))
    if held is None or held[0] is not pool:
        client = cache._cache._client(connection_pool=pool)  # type: ignore[attr-defined]
        held = (pool, client.register_script(_COUNT))
        _count_scripts[id(pool)] = held
    return held[1]


def _atomic_incr(counters: Sequence[tuple[str, int]]) -> list[int]:
    """Increment each (key, window) counter once; return their new values."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        # One command for all the counters (`_COUNT`): each key is created with its
        # window's expiry only if missing, then incremented, atomically, so a key cannot
        # expire between the two and live on without an expiry. Django's add() then incr()
        # would cost three round trips per counter (incr checks EXISTS first), and a
        # MULTI/EXEC pipeline as many commands to pack and replies to parse. The value is a
        # plain integer, as Django's Redis serializer stores ints.
        keys = [cache.make_and_validate_key(key) for key, _ in counters]
        expiries = [window + 1 for _, window in counters]
        return [int(count) for count in _count_script(cache)(keys=keys, args=expiries)]
    return [_incr_one(cache, key, window) for key, window in counters]


def _incr_one(cache: Any, key: str, window: int) -> int:
    if isinstance(cache, LocMemCache):
        # Increments atomically under its own lock. add() creates the key with the window's
        # expiry only if it is missing; if it expired in between, retry.
        for _ in range(3):
            cache.add(key, 0, timeout=window + 1)
            try:
                return cache.incr(key)
            except ValueError:
                continue
        raise RuntimeError(f"rate limit counter {key} keeps expiring")
    client = getattr(cache, "client", None)
    if client is not None and hasattr(client, "get_client"):  # django-redis
        redis = client.get_client(write=True)
        full_key = cache.make_and_validate_key(key)
        pipe = redis.pipeline()
        pipe.incr(full_key)
        pipe.expire(full_key, window + 1, nx=True)
        return int(pipe.execute()[0])
    with _lock:  # database or file caches: atomic within this process only
        value = int(cache.get(key, 0)) + 1
        cache.set(key, value, timeout=window + 1)
        return value


def hits(counters: Sequence[tuple[str, int, int]], *, now: float | None = None) -> list[Decision]:
    """Count one request against each (name, limit, window) counter, all in one round trip;
    say for each whether the request may proceed."""
    current = time.time() if now is None else now
    buckets = [int(current // window) for _, _, window in counters]
    counts = _atomic_incr(
        [
            (f"cxc:ratelimit:{name}:{window}:{bucket}", window)
            for (name, _, window), bucket in zip(counters, buckets, strict=True)
        ]
    )
    return [
        Decision(
            allowed=count <= limit,
            count=count,
            limit=limit,
            retry_after=max(1, int((bucket + 1) * window - current)),
        )
        for (_, limit, window), bucket, count in zip(counters, buckets, counts, strict=True)
    ]


def hit(name: str, *, limit: int, window: int, now: float | None = None) -> Decision:
    """Count one request against `name` in the current window; say whether it may proceed."""
    return hits([(name, limit, window)], now=now)[0]


class CreateRateThrottle(BaseThrottle):
    """Throttles the `create` action of a viewset, per user, at `settings.<setting>`.

    Subclasses set `scope` (part of the counter key) and `setting` (a rate like "30/minute").
    Other actions of the viewset are not counted.
    """

    scope = ""
    setting = ""
    actions = frozenset({"create"})

    def __init__(self) -> None:
        self.decision: Decision | None = None

    def allow_request(self, request: Request, view) -> bool:
        if getattr(view, "action", None) not in self.actions:
            return True
        limit, window = parse_rate(getattr(settings, self.setting))
        user = request.user
        who = f"user-{user.pk}" if user and user.is_authenticated else self.get_ident(request)
        self.decision = hit(f"{self.scope}:{who}", limit=limit, window=window)
        return self.decision.allowed

    def wait(self) -> float | None:
        return float(self.decision.retry_after) if self.decision else None


class RecognitionCreateThrottle(CreateRateThrottle):
    scope = "recognition-create"
    setting = "CXC_RATELIMIT_RECOGNITION"


class ExceptionCreateThrottle(CreateRateThrottle):
    scope = "exception-create"
    setting = "CXC_RATELIMIT_EXCEPTION"


class OutcomeImportCreateThrottle(CreateRateThrottle):
    scope = "outcome-import-create"
    setting = "CXC_RATELIMIT_OUTCOME_IMPORT"


class SurveySubmitThrottle(BaseThrottle):
    """Survey answers (`create`), counted in one round trip per invitation link and, for
    anonymous answers, per client address.

    Per link: a whole company behind one address (an office NAT, a contact-centre proxy) is
    never throttled as one; the counter's key is a SHA-256 of the token, so the cache never
    holds a usable link (CXC_THROTTLE_SURVEY_LINK). Per address: a ceiling high enough for a
    whole company answering from behind it (CXC_THROTTLE_SURVEY_SUBMIT_IP; CXC_TRUSTED_PROXY_COUNT
    decides the address).
    """

    def __init__(self) -> None:
        self.refused: list[Decision] = []

    def counters(self, request: Request) -> list[tuple[str, int, int]]:
        counters = []
        data = request.data
        token = data.get("token") if hasattr(data, "get") else None
        if token:
            digest = hashlib.sha256(str(token).encode()).hexdigest()
            limit, window = parse_rate(settings.CXC_THROTTLE_SURVEY_LINK)
            counters.append((f"survey-link:{digest}", limit, window))
        if not (request.user and request.user.is_authenticated):
            address = client_ip(request) or "unknown"
            limit, window = parse_rate(settings.CXC_THROTTLE_SURVEY_SUBMIT_IP)
            counters.append((f"survey-submit-ip:{address}", limit, window))
        return counters

    def allow_request(self, request: Request, view) -> bool:
        if getattr(view, "action", None) != "create":
            return True
        counters = self.counters(request)
        if not counters:
            return True
        self.refused = [decision for decision in hits(counters) if not decision.allowed]
        return not self.refused

    def wait(self) -> float | None:
        return (
            float(max(decision.retry_after for decision in self.refused)) if self.refused else None
        )


class SignedInUserThrottle(UserRateThrottle):
    """The API's per-user rate for signed-in people only (anonymous requests are counted by the
    throttles above, not per address at the user rate)."""

    def allow_request(self, request: Request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return True
        return super().allow_request(request, view)
