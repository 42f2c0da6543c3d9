"""The linkage statistics against scipy on fixed data (scipy is a test-only dependency)."""

import math

import pytest
from scipy import stats as scipy_stats

from cxculture.insights.selectors import correlate
from cxculture.lib import stats

XS = [61.2, 70.5, 55.0, 80.1, 66.6, 74.3, 58.9, 69.0]
YS = [4.01, 4.30, 3.95, 4.52, 4.10, 4.20, 4.05, 4.41]
TIES_X = [50.0, 60.0, 60.0, 70.0, 70.0, 70.0, 80.0]
TIES_Y = [3.0, 3.5, 3.5, 4.0, 3.8, 4.0, 4.6]


def _points(xs, ys):
    return [{"x": x, "y": y} for x, y in zip(xs, ys, strict=True)]


@pytest.mark.parametrize(("xs", "ys"), [(XS, YS), (TIES_X, TIES_Y)], ids=["plain", "ties"])
def test_pearson_and_its_fisher_interval_match_scipy(xs, ys):
    expected = scipy_stats.pearsonr(xs, ys)
    low, high = expected.confidence_interval(0.95)

    r = stats.pearson(xs, ys)
    ci = stats.fisher_ci(r, len(xs))

    assert r == pytest.approx(expected.statistic, abs=1e-12)
    assert ci == pytest.approx((low, high), abs=1e-9)


@pytest.mark.parametrize(("xs", "ys"), [(XS, YS), (TIES_X, TIES_Y)], ids=["plain", "ties"])
def test_spearman_uses_average_ranks_for_ties_like_scipy(xs, ys):
    expected = scipy_stats.spearmanr(xs, ys).statistic

    rho = stats.spearman(xs, ys)

    assert rho == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("xs", "ys"), [(XS, YS), (TIES_X, TIES_Y)], ids=["plain", "ties"])
def test_p_values_are_scipys_t_tests(xs, ys):
    n = len(xs)

    pearson_p = stats.correlation_p(stats.pearson(xs, ys), n)
    spearman_p = stats.correlation_p(stats.spearman(xs, ys), n)

    # scipy's Pearson test is exact (the t-test); its Spearman test is the t approximation.
    assert pearson_p == pytest.approx(scipy_stats.pearsonr(xs, ys).pvalue, rel=1e-9)
    assert spearman_p == pytest.approx(scipy_stats.spearmanr(xs, ys).pvalue, rel=1e-9)


@pytest.mark.parametrize(("t", "df"), [(0.0, 3), (0.7, 1), (1.5, 2), (2.3, 6), (4.0, 30), (9, 98)])
def test_the_t_distribution_tail_matches_scipy(t, df):
    assert stats.t_two_sided_p(t, df) == pytest.approx(2 * scipy_stats.t.sf(t, df), rel=1e-9)


def test_spearmans_interval_is_fisher_z_with_the_bonett_wright_error():
    rho, n = stats.spearman(XS, YS), len(XS)
    assert rho is not None
    spread = 1.959963984540054 * math.sqrt((1 + rho**2 / 2) / (n - 3))
    by_hand = (math.tanh(math.atanh(rho) - spread), math.tanh(math.atanh(rho) + spread))

    assert stats.spearman_ci(rho, n) == pytest.approx(by_hand, abs=1e-12)
    # Wider than the plain Fisher interval, which understates Spearman's spread.
    assert stats.spearman_ci(rho, n)[0] < stats.fisher_ci(rho, n)[0]  # type: ignore[index]
    assert stats.spearman_ci(0.5, 3) is None


def test_a_perfect_or_tiny_correlation_has_a_plain_p_value():
    assert stats.correlation_p(1.0, 5) == 0.0
    assert stats.correlation_p(0.0, 10) == pytest.approx(1.0)
    assert stats.correlation_p(0.5, 2) is None
    assert stats.correlation_p(None, 10) is None


def test_the_linkage_reports_each_p_value_beside_its_interval():
    linkage = correlate(_points(XS, YS)).as_dict()

    assert linkage["pearson"]["p"] == float(f"{scipy_stats.pearsonr(XS, YS).pvalue:.4g}")
    assert linkage["spearman"]["p"] == float(f"{scipy_stats.spearmanr(XS, YS).pvalue:.4g}")
    rho = stats.spearman(XS, YS)
    low, high = stats.spearman_ci(rho, len(XS))  # type: ignore[misc]
    assert (linkage["spearman"]["ci_low"], linkage["spearman"]["ci_high"]) == (
        round(low, 3),
        round(high, 3),
    )


def test_average_ranks_share_the_ranks_they_span():
    assert stats.average_ranks(TIES_X) == list(scipy_stats.rankdata(TIES_X))
    assert stats.average_ranks([3.0, 1.0, 3.0]) == [2.5, 1.0, 2.5]


def test_a_constant_column_gives_no_correlation_and_says_why():
    same_engagement = correlate(_points([70.0] * 6, [4.1, 4.2, 3.9, 4.5, 4.0, 4.3]))
    same_outcome = correlate(_points(XS[:6], [4.0] * 6))

    for linkage in (same_engagement, same_outcome):
        assert linkage.shown is True
        assert linkage.pearson is None and linkage.spearman is None
        assert linkage.reason == ("No correlation can be computed: every team has the same value.")
        assert not any(
            isinstance(value, float) and math.isnan(value)
            for side in ("pearson", "spearman")
            for value in linkage.as_dict()[side].values()
        )


def test_there_is_no_interval_for_three_teams_or_fewer():
    assert stats.fisher_ci(0.9, 3) is None
    assert stats.fisher_ci(0.9, 2) is None
    assert stats.fisher_ci(0.9, 4) is not None
    three = correlate(_points(XS[:3], YS[:3]), minimum=3)
    assert three.pearson is not None
    assert three.pearson_ci is None
    assert three.ci_reason == "A confidence interval needs at least 4 teams."


def test_fewer_than_five_teams_are_hidden_with_the_reason():
    linkage = correlate(_points(XS[:4], YS[:4]))

    assert linkage.shown is False
    assert linkage.pearson is None and linkage.points == []
    assert linkage.reason == (
        "Only 4 teams with a published survey figure and outcome data; "
        "a correlation is shown for at least 5 teams."
    )


def test_an_interval_that_crosses_zero_could_be_chance():
    weak = correlate(_points([1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 1.0, 4.0, 3.0, 2.5]))
    strong = correlate(_points(XS, YS))

    assert weak.pearson_ci is not None and weak.pearson_ci[0] < 0 < weak.pearson_ci[1]
    assert weak.could_be_chance is True
    assert strong.pearson_ci is not None and strong.pearson_ci[0] > 0
    assert strong.could_be_chance is False
