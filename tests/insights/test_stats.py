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
    # scipy gives no interval for rho; ours is Fisher's z on rho, i.e. Pearson's on the ranks.
    ranked = scipy_stats.pearsonr(scipy_stats.rankdata(xs), scipy_stats.rankdata(ys))

    rho = stats.spearman(xs, ys)

    assert rho == pytest.approx(expected, abs=1e-12)
    assert stats.fisher_ci(rho, len(xs)) == pytest.approx(
        ranked.confidence_interval(0.95), abs=1e-9
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
