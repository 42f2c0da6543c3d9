"""Scores against hand-computed values."""

import pytest

from cxculture.lib import stats


def test_enps_is_promoters_minus_detractors_in_percent():
    # 1 promoter (10), 5 detractors (1, 2, 3, 5, 2): 16.67 - 83.33
    assert stats.enps([1, 10, 2, 3, 5, 2]) == -66.67


def test_enps_counts_passives_in_the_total_only():
    assert stats.enps([9, 10, 7, 8]) == 50.0
    assert stats.enps_from_counts(2, 0, 4) == 50.0
    assert stats.enps([]) is None


def test_favourable_share_counts_only_answers_given():
    # Partial answers: 5 of 8 people answered; 4 and 5 are favourable.
    answers = [5, 4, 3, 4, 1]
    assert stats.favourable_share(answers, favourable_min=4) == 60.0
    assert stats.share(1, 3) == 33.33
    assert stats.share(0, 0) is None


def test_mean_and_change():
    assert stats.mean([1, 2, 3, 4]) == 2.5
    assert stats.mean([]) is None
    assert stats.mean_from(7, 2) == 3.5
    assert stats.change(70.0, 62.5) == 7.5
    assert stats.change(70.0, None) is None


def test_pearson_matches_a_hand_computed_value():
    xs = [1, 2, 3, 4, 5]
    ys = [2, 4, 5, 4, 5]
    # sxy = 6, sxx = 10, syy = 6: r = 6 / sqrt(60)
    assert stats.pearson(xs, ys) == pytest.approx(0.774597, abs=1e-6)
    assert stats.pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_pearson_needs_three_pairs_and_some_variance():
    assert stats.pearson([1, 2], [1, 2]) is None
    assert stats.pearson([1, 1, 1], [1, 2, 3]) is None
    with pytest.raises(ValueError):
        stats.pearson([1, 2, 3], [1, 2])


def test_percentages_are_whole_below_100_answers_and_one_decimal_from_100():
    # 5 of 7 is 71.43%: on 7 answers one person moves it by 14 points.
    assert stats.percent(5, 7) == 71
    assert str(stats.percent(5, 7)) == "71"
    assert stats.percent(1, 8) == 13  # 12.5 rounds half up, as by hand
    assert stats.percent(2, 3) == 67
    assert stats.percent(50, 99) == 51
    assert stats.percent(1, 3 * 100) == 0.3
    assert stats.percent(200, 300) == 66.7
    assert stats.percent(0, 0) is None


def test_means_are_one_decimal_below_30_answers_and_two_from_30():
    assert stats.round_mean(23 / 6, 6) == 3.8
    assert stats.round_mean(115 / 30, 30) == 3.83
    assert stats.round_mean(None, 3) is None


def test_a_change_is_as_coarse_as_the_coarser_figure():
    assert stats.change_between(64, 50, n_current=5, n_previous=500) == 14
    assert stats.change_between(64.4, 50.1, n_current=500, n_previous=500) == 14.3
    assert stats.change_between(None, 50, n_current=5, n_previous=5) is None


def test_enps_interval_uses_the_variance_of_promoters_minus_detractors():
    # 1 promoter, 5 detractors of 6: p - d = -2/3; var = 1 - 4/9 = 5/9; se = sqrt(5/54)
    # -66.67 +- 1.96 * 30.43 -> -126.3 (clipped to -100) .. -7.0
    assert stats.enps_interval(1, 5, 6) == (-100, -7)
    # 40 promoters, 20 detractors of 200: 10 +- 1.96 * sqrt((0.3 - 0.01) / 200) -> 2.5 .. 17.5
    assert stats.enps_interval(40, 20, 200) == (2.5, 17.5)
    assert stats.enps_interval(0, 0, 0) is None


def test_enps_interval_narrows_with_more_answers():
    small = stats.enps_interval(3, 1, 10)
    large = stats.enps_interval(300, 100, 1000)
    assert small is not None and large is not None
    assert small[1] - small[0] > 4 * (large[1] - large[0])
