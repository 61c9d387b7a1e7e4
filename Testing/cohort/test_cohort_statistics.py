"""Spearman, Student's t-test and the summaries against scipy and numpy on the same data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from PentixaforQuantLib.cohort.statistics import TOO_FEW, mean_sd, mean_sem, median_range, spearman, student_t_test

RNG = np.random.default_rng(11)


@pytest.mark.parametrize("n", [3, 7, 40, 300])
def test_spearman_matches_scipy_with_and_without_ties(n):
    """The t approximation (``exact=False``; the default for n > 17) equals scipy's ``spearmanr``."""
    x = RNG.normal(size=n)
    y = 0.3 * x + RNG.normal(size=n)
    ours = spearman(x, y, exact=False)
    ref = stats.spearmanr(x, y)
    assert ours["n"] == n
    assert ours["rho"] == pytest.approx(ref.statistic, abs=1e-12)
    assert ours["p"] == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-15)
    xt, yt = np.round(x * 2) / 2, np.round(y)  # many ties
    ours, ref = spearman(xt, yt, exact=False), stats.spearmanr(xt, yt)
    if np.ptp(xt) and np.ptp(yt):
        assert ours["rho"] == pytest.approx(ref.statistic, abs=1e-12)
        assert ours["p"] == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-15)


def test_spearman_drops_missing_pairs_and_reports_too_few():
    r = spearman([1, 2, None, 4, float("nan"), 6], [2, 1, 5, 3, 7, 9])
    ref = stats.spearmanr([1, 2, 4, 6], [2, 1, 3, 9])
    assert r["n"] == 4 and r["rho"] == pytest.approx(ref.statistic)
    few = spearman([1, 2], [3, 4])
    assert few["n"] == 2 and few["rho"].startswith(TOO_FEW) and few["p"].startswith(TOO_FEW)
    const = spearman([1, 1, 1, 1], [1, 2, 3, 4])
    assert isinstance(const["rho"], str) and "equal" in const["rho"]
    perfect = spearman([1, 2, 3, 4], [10, 20, 30, 40])
    assert perfect["rho"] == 1.0 and perfect["p"] == 2 / 24 and perfect["p_method"] == "exact"  # never P = 0


@pytest.mark.parametrize("na,nb", [(2, 1), (3, 3), (10, 4), (25, 30)])
def test_student_t_test_matches_scipy(na, nb):
    a = RNG.normal(5, 1, na)
    b = RNG.normal(4, 1.5, nb)
    ours = student_t_test(a, b)
    ref = stats.ttest_ind(a, b, equal_var=True)
    assert ours["df"] == na + nb - 2
    assert ours["t"] == pytest.approx(ref.statistic, rel=1e-10)
    assert ours["p"] == pytest.approx(ref.pvalue, rel=1e-9)


def test_t_test_too_few_and_no_spread():
    r = student_t_test([1.0], [2.0])
    assert r["df"] == 0 and r["p"].startswith(TOO_FEW)
    assert student_t_test([], [1.0, 2.0])["p"].startswith(TOO_FEW)
    flat = student_t_test([2.0, 2.0], [3.0, 3.0])
    assert isinstance(flat["p"], str) and "spread" in flat["p"]


def test_summaries_match_numpy_and_state_n():
    x = RNG.gamma(2.0, 3.0, 57)
    with_missing = list(x) + [None, float("nan")]
    s = mean_sd(with_missing)
    assert s == {"n": 57, "mean": pytest.approx(np.mean(x)), "sd": pytest.approx(np.std(x, ddof=1)),
                 "ci95": pytest.approx(list(stats.t.interval(0.95, 56, np.mean(x), stats.sem(x))))}
    e = mean_sem(with_missing)
    assert e["n"] == 57 and e["sem"] == pytest.approx(stats.sem(x))
    m = median_range(with_missing)
    assert m == {"n": 57, "median": pytest.approx(np.median(x)), "min": x.min(), "max": x.max()}


def test_too_few_values_are_reported_as_such_never_nan():
    one = mean_sd([4.0])
    assert one["n"] == 1 and one["mean"] == 4.0 and one["sd"] == f"{TOO_FEW} (n = 1, needs >= 2)"
    none = mean_sd([None])
    assert none["n"] == 0 and none["mean"].startswith(TOO_FEW)
    assert mean_sem([3.0])["sem"].startswith(TOO_FEW)
    assert median_range([])["median"].startswith(TOO_FEW)
    for d in (one, none, mean_sem([3.0]), median_range([])):
        assert not any(isinstance(v, float) and math.isnan(v) for v in d.values())
