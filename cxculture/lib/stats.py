"""The few statistics that results pages need, as small pure functions.

Scores are computed from counts and sums (which SQL aggregates produce) as well as from plain
lists of values (which tests and small callers have). `share` rounds to 2 decimals; survey
figures are rounded to what their number of answers supports (`percent`, `round_percent`,
`round_mean`: see "Precision" below). Every function returns None where there is nothing to
compute, so callers never divide by zero.
"""

import math
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal

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


# --- Precision: a figure is rounded to what its number of answers supports ------------------------
#
# One answer moves a percentage by 100/n points: 14 points on 7 answers, 1 point on 100. Showing
# 71.43% on 7 answers claims a precision the sample does not have, so survey figures are rounded
# by the number of answers n they are computed from:
#
# - percentages (favourable shares, option shares, engagement index, eNPS and its interval,
#   participation rates): whole numbers below 100 answers, one decimal from 100; never two;
# - means on the 1-5 scale: one decimal below 30 answers, two from 30;
# - a change between two runs: as coarse as the coarser of the two figures.
#
# Halves round up (71.5 -> 72), as people round by hand. A whole number is returned as an int, so
# pages, the API and CSV files print "71", not "71.0".

PERCENT_ONE_DECIMAL_FROM = 100
MEAN_TWO_DECIMALS_FROM = 30


def percent_digits(n: int) -> int:
    """Decimals a percentage computed from `n` answers is shown with."""
    return 1 if n >= PERCENT_ONE_DECIMAL_FROM else 0


def mean_digits(n: int) -> int:
    """Decimals a 1-5 mean computed from `n` answers is shown with."""
    return 2 if n >= MEAN_TWO_DECIMALS_FROM else 1


def round_half_up(value: float | None, digits: int) -> float | None:
    if value is None:
        return None
    exact = Decimal(repr(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return int(exact) if digits == 0 else float(exact)


def round_percent(value: float | None, n: int) -> float | None:
    return round_half_up(value, percent_digits(n))


def round_mean(value: float | None, n: int) -> float | None:
    return round_half_up(value, mean_digits(n))


def percent(part: int, whole: int) -> float | None:
    """`part` out of `whole` as a percentage, rounded to what `whole` answers support."""
    return round_percent(100 * part / whole, whole) if whole else None


def change_between(
    current: float | None, previous: float | None, *, n_current: int, n_previous: int
) -> float | None:
    """A change between two rounded percentages, no finer than the coarser of them."""
    if current is None or previous is None:
        return None
    return round_half_up(
        current - previous, min(percent_digits(n_current), percent_digits(n_previous))
    )


def enps_interval(
    promoters: int, detractors: int, answered: int, *, z: float | None = None
) -> tuple[float, float] | None:
    """95% interval of an eNPS by the normal approximation: with p and d the shares of
    promoters and detractors, the variance of one answer's score (+1, 0 or -1) is
    p + d - (p - d)^2, so the standard error of p - d is sqrt((p + d - (p - d)^2) / n).
    In points (-100 to 100), clipped to [-100, 100] and rounded as the eNPS itself."""
    if not answered:
        return None
    spread_z = Z_95 if z is None else z
    p, d = promoters / answered, detractors / answered
    centre = p - d
    error = math.sqrt(max(0.0, p + d - centre * centre) / answered)
    low = max(-100.0, 100 * (centre - spread_z * error))
    high = min(100.0, 100 * (centre + spread_z * error))
    rounded_low, rounded_high = round_percent(low, answered), round_percent(high, answered)
    assert rounded_low is not None and rounded_high is not None  # noqa: S101 - numbers in
    return (rounded_low, rounded_high)


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


def spearman_ci(rho: float | None, n: int, *, z: float = Z_95) -> tuple[float, float] | None:
    """95% confidence interval of Spearman's rho: Fisher's z with the Bonett-Wright standard
    error sqrt((1 + rho^2 / 2) / (n - 3)), since Fisher's plain 1 / sqrt(n - 3) is too narrow
    for ranks (Bonett & Wright, Psychometrika 2000). None for n <= 3."""
    if rho is None or n <= 3:
        return None
    if abs(rho) >= 1.0:
        return (rho, rho)
    centre, spread = math.atanh(rho), z * math.sqrt((1 + rho**2 / 2) / (n - 3))
    return (math.tanh(centre - spread), math.tanh(centre + spread))


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz's method)."""
    tiny, eps = 1e-300, 1e-16
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < eps:
            break
    return result


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function, for 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with `df` degrees of freedom (scipy is not a runtime
    dependency; this is the textbook identity with the incomplete beta function)."""
    return regularized_beta(df / 2.0, 0.5, df / (df + t * t))


def correlation_p(r: float | None, n: int) -> float | None:
    """Two-sided p-value of a correlation against zero by the t-test with n - 2 degrees of
    freedom: exact for Pearson's r, the usual approximation for Spearman's rho (as scipy's
    `spearmanr`). None with fewer than 3 pairs."""
    if r is None or n < 3:
        return None
    if abs(r) >= 1.0:
        return 0.0
    df = n - 2
    return min(1.0, t_two_sided_p(r * math.sqrt(df / (1.0 - r * r)), df))


def p_rounded(p: float | None) -> float | None:
    """A p-value to 4 significant digits (small ones must not round to 0)."""
    return None if p is None else float(f"{p:.4g}")


# --- Two groups compared (insights: customers who got a "yes" against the others) ------------


def difference_ci(
    difference: float, variance_a: float, n_a: int, variance_b: float, n_b: int, *, z: float = Z_95
) -> tuple[float, float]:
    """95% interval of a difference of two independent means or shares, by the normal
    approximation with unpooled variances (Welch's standard error; for shares, Wald's):
    difference ± z * sqrt(var_a / n_a + var_b / n_b). Sound for the large groups it is used on."""
    spread = z * math.sqrt(variance_a / n_a + variance_b / n_b)
    return (difference - spread, difference + spread)


def sample_variance(total: float, squares: float, n: int) -> float | None:
    """The sample variance from a count, a sum and a sum of squares; None for n < 2."""
    if n < 2:
        return None
    return max(0.0, (squares - total * total / n) / (n - 1))
