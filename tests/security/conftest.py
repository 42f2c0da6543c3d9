"""Fixtures for the security suite."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_counters():
    """Rate-limit counters live in the cache, which outlives a test's database transaction."""
    cache.clear()
    yield
    cache.clear()
