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
