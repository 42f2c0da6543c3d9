"""The few statistics that results pages need, as small pure functions.

Scores are computed from counts and sums (which SQL aggregates produce) as well as from plain
lists of values (which tests and small callers have). Percentages are rounded to 2 decimals, the
way they are shown. Every function returns None where there is nothing to compute, so callers
never divide by zero.
"""

import math
from collections.abc import Iterable, Sequence

PROMOTER_MIN = 9  # 9-10 on a 0-10 scale
DETRACTOR_MAX = 6  # 0-6 on a 0-10 scale
AGREEMENT_FAVOURABLE_MIN = 4  # "agree" or "strongly agree" on a 1-5 scale


def mean(values: Iterable[float]) -> float | None:
    items = list(values)
    if not items:
        return None
    return sum(items) / len(items)


def mean_from(total: float, count: int) -> float | None:
    return total / count if count else None


def share(part: int, whole: int) -> float | None:
    """`part` out of `whole` as a percentage (0-100), rounded to 2 decimals."""
    return round(100 * part / whole, 2) if whole else None


def favourable_share(values: Iterable[int], *, favourable_min: int) -> float | None:
    """Percentage of the given answers at or above `favourable_min` (unanswered: not passed)."""
    items = list(values)
    return share(sum(1 for value in items if value >= favourable_min), len(items))


def enps_from_counts(promoters: int, detractors: int, answered: int) -> float | None:
    """Employee NPS: % promoters (9-10) minus % detractors (0-6), from -100 to 100."""
    if not answered:
        return None
    return round(100 * (promoters - detractors) / answered, 2)


def enps(values: Iterable[int]) -> float | None:
    items = list(values)
    promoters = sum(1 for value in items if value >= PROMOTER_MIN)
    detractors = sum(1 for value in items if value <= DETRACTOR_MAX)
    return enps_from_counts(promoters, detractors, len(items))


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's correlation of paired values; None with fewer than 3 pairs or no variance."""
    if len(xs) != len(ys):
        raise ValueError("xs and ys must have the same length")
    n = len(xs)
    if n < 3:
        return None
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    syy = sum((y - mean_y) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def change(current: float | None, previous: float | None) -> float | None:
    if current is None or previous is None:
        return None
    return round(current - previous, 2)


# --- Correlation between teams (insights) ---------------------------------------------------------

Z_95 = 1.959963984540054  # the two-sided 95% quantile of the standard normal distribution
CONSTANT_REASON = "No correlation can be computed: every team has the same value."
TOO_FEW_FOR_CI = "A confidence interval needs at least 4 teams."


def average_ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 1, ties sharing the mean of the ranks they span (as scipy's rankdata)."""
    order = sorted(range(len(values)), key=lambda index: values[index])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        shared = (start + end) / 2 + 1
        for position in range(start, end + 1):
            ranks[order[position]] = shared
        start = end + 1
    return ranks


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's rho: Pearson's r of the average ranks (ties handled); None as `pearson`."""
    if len(xs) != len(ys):
        raise ValueError("xs and ys must have the same length")
    return pearson(average_ranks(xs), average_ranks(ys))


def fisher_ci(r: float | None, n: int, *, z: float = Z_95) -> tuple[float, float] | None:
    """95% confidence interval of a correlation by Fisher's z; None for n <= 3 (undefined)."""
    if r is None or n <= 3:
        return None
    if abs(r) >= 1.0:
        return (r, r)
    centre, spread = math.atanh(r), z / math.sqrt(n - 3)
    return (math.tanh(centre - spread), math.tanh(centre + spread))


def is_constant(values: Sequence[float]) -> bool:
    return len(set(values)) <= 1


def ci_crosses_zero(ci: tuple[float, float] | None) -> bool:
    """An interval that includes 0 (or no interval at all): the link could be chance."""
    return ci is None or ci[0] <= 0.0 <= ci[1]
