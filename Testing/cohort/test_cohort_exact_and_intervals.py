"""The new statistics against independent computations: the exact Spearman P (every pairing listed; scipy's
permutation test), the confidence intervals (scipy; a coverage simulation), and the P texts."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from PentixaforQuantLib.cohort.analysis import correlation_text, format_p
from PentixaforQuantLib.cohort.spearman_exact import EXACT_MAX_N, exact_spearman_p, null_distribution
from PentixaforQuantLib.cohort.statistics import SPEARMAN_CI_MIN_N, TOO_FEW, mean_ci, spearman, student_t_test

RNG = np.random.default_rng(20)


def _listed_p(x, y) -> float:
    """Two-sided P: the share of all n! pairings of the ranks with |rho| >= the observed |rho|."""
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    perms = np.array(list(itertools.permutations(range(len(x)))))
    ys = ry[perms] - ry.mean()
    xs = rx - rx.mean()
    rhos = ys @ xs / np.sqrt((xs @ xs) * (ys * ys).sum(axis=1))
    observed = abs(stats.spearmanr(x, y).statistic)
    return float(np.mean(np.abs(rhos) >= observed - 1e-12))


@pytest.mark.parametrize("n", [3, 4, 5, 6, 7, 8, 9])
@pytest.mark.parametrize("ties", [False, True])
def test_exact_p_equals_every_pairing_listed(n, ties):
    for _ in range(3):
        x = RNG.normal(size=n)
        y = 0.6 * x + RNG.normal(size=n)
        if ties:
            x, y = np.round(x), np.round(2 * y) / 2
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            continue
        r = spearman(x, y)
        assert r["p_method"] == "exact"
        assert r["rho"] == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
        assert r["p"] == pytest.approx(_listed_p(x, y), abs=1e-12)


def _rank_correlation(a, b, axis=-1):
    a = a - a.mean(axis=axis, keepdims=True)
    b = b - b.mean(axis=axis, keepdims=True)
    return (a * b).sum(axis) / np.sqrt((a * a).sum(axis) * (b * b).sum(axis))


@pytest.mark.parametrize("n", [7, 10])
def test_exact_p_equals_scipys_exact_permutation_test_without_ties(n):
    """scipy's permutation test over every order of the x ranks against the fixed y ranks (n! <= n_resamples:
    exact); without ties the null distribution is symmetric, so its two-sided P (twice the smaller tail) is
    ours."""
    x = RNG.normal(size=n)
    y = 0.5 * x + RNG.normal(size=n)
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    ref = stats.permutation_test((rx,), lambda a, axis=-1: _rank_correlation(a, ry, axis), vectorized=True,
                                 permutation_type="pairings", n_resamples=math.factorial(n), batch=20000)
    assert len(ref.null_distribution) == math.factorial(n)
    assert spearman(x, y)["p"] == pytest.approx(ref.pvalue, rel=1e-9)


def test_exact_p_for_17_pairs_agrees_with_a_monte_carlo_permutation_test_and_18_uses_t():
    x = RNG.normal(size=EXACT_MAX_N)
    y = 0.45 * x + RNG.normal(size=EXACT_MAX_N)
    r = spearman(x, y)
    assert r["p_method"] == "exact"
    ry = stats.rankdata(y)
    ref = stats.permutation_test((stats.rankdata(x),), lambda a, axis=-1: _rank_correlation(a, ry, axis),
                                 permutation_type="pairings", vectorized=True, n_resamples=60000,
                                 random_state=np.random.default_rng(1))
    assert r["p"] == pytest.approx(ref.pvalue, abs=0.006)  # Monte Carlo SE at P ~ 0.05: about 0.001
    values, counts = null_distribution(np.arange(1, 18), np.arange(1, 18))
    assert counts.sum() == math.factorial(17) and np.array_equal(counts, counts[::-1])  # symmetric about E
    x18, y18 = RNG.normal(size=18), RNG.normal(size=18)
    r18 = spearman(x18, y18)
    assert r18["p_method"] == "t approximation" and r18["p"] == pytest.approx(stats.spearmanr(x18, y18).pvalue)


def test_the_papers_small_sample_example_and_a_perfect_negative_rank_correlation():
    # n = 8, rho = 0.786: the t approximation gives 0.0208, Prism's exact P is 0.0279 (22/788 of 8! pairings).
    x = np.arange(1, 9)
    y = np.array([1, 2, 3, 4, 7, 8, 6, 5])
    r = spearman(x, y)
    assert r["rho"] == pytest.approx(0.7857, abs=1e-4)
    assert spearman(x, y, exact=False)["p"] == pytest.approx(0.0208, abs=1e-4)
    assert r["p"] == pytest.approx(0.0279, abs=1e-4) and r["p"] == pytest.approx(_listed_p(x, y))
    # rho = -1 with n = 6: only the reversed pairing (and the identity) are as extreme: P = 2/720.
    perfect = spearman([1, 2, 3, 4, 5, 6], [60, 50, 40, 30, 20, 10])
    assert perfect["rho"] == -1.0 and perfect["p"] == pytest.approx(2 / 720)
    assert "P = 0.00278" in correlation_text(perfect) and "P 0" not in correlation_text(perfect)
    big = spearman(np.arange(30), -np.arange(30.0))
    assert big["p"] == pytest.approx(2 / math.factorial(30)) and big["p"] > 0
    assert format_p(big["p"]) == "P < 0.0001"
    for p in (0.0, 1e-300, 4e-5):
        assert format_p(p) == "P < 0.0001"
    assert format_p(0.0279) == "P = 0.028" and format_p(0.00278) == "P = 0.00278"


def test_exact_p_of_ties_heavy_data_is_a_probability():
    p = exact_spearman_p(stats.rankdata([1, 1, 2, 2, 3, 3, 4, 4]), stats.rankdata([1, 2, 1, 2, 1, 2, 1, 2]))
    assert 0.0 < p <= 1.0


def test_confidence_interval_of_a_mean_and_of_a_mean_difference_equal_scipys():
    a, b = RNG.normal(5, 1, 9), RNG.normal(4, 1.5, 6)
    low, high = mean_ci(a)
    ref = stats.t.interval(0.95, len(a) - 1, loc=np.mean(a), scale=stats.sem(a))
    assert (low, high) == pytest.approx(ref, rel=1e-12)
    t = student_t_test(a, b)
    ref_diff = stats.ttest_ind(a, b, equal_var=True).confidence_interval(0.95)
    assert t["mean_difference"] == pytest.approx(np.mean(a) - np.mean(b))
    assert t["mean_difference_ci95"] == pytest.approx([ref_diff.low, ref_diff.high], rel=1e-10)
    assert mean_ci([3.0]).startswith(TOO_FEW)


def test_confidence_interval_of_rho_formula_and_coverage():
    x = RNG.normal(size=25)
    y = 0.5 * x + RNG.normal(size=25)
    r = spearman(x, y)
    z, half = np.arctanh(r["rho"]), 1.959963984540054 * math.sqrt(1.06 / 22)
    assert r["ci95"] == pytest.approx([math.tanh(z - half), math.tanh(z + half)], rel=1e-12)
    assert spearman(x[:10], y[:10])["ci95"] == f"{TOO_FEW} (n = 10, needs >= {SPEARMAN_CI_MIN_N})"
    # Coverage: bivariate normal with Pearson r = 0.5 has Spearman rho_s = 6/pi asin(r/2).
    true_rho = 6 / math.pi * math.asin(0.25)
    rng = np.random.default_rng(5)
    cover = 0
    trials = 400
    for _ in range(trials):
        xy = rng.multivariate_normal([0, 0], [[1, 0.5], [0.5, 1]], size=40)
        low, high = spearman(xy[:, 0], xy[:, 1], exact=False)["ci95"]
        cover += low <= true_rho <= high
    assert 0.92 <= cover / trials <= 0.985


def test_exact_p_with_ties_at_n_13_agrees_with_a_monte_carlo_of_abs_rho_and_a_heavy_table_falls_back():
    x = np.round(RNG.normal(size=13) * 2)  # ties in x and y
    y = np.round(x + RNG.normal(size=13))
    r = spearman(x, y)
    assert r["p_method"] == "exact"
    ry = stats.rankdata(y)
    ref = stats.permutation_test((stats.rankdata(x),), lambda a, axis=-1: np.abs(_rank_correlation(a, ry, axis)),
                                 permutation_type="pairings", vectorized=True, n_resamples=50000,
                                 alternative="greater", random_state=np.random.default_rng(2))
    assert r["p"] == pytest.approx(ref.pvalue, abs=0.006)
    # n = 17 with a tie that makes half ranks: the counting table exceeds its budget, the t approximation is used
    x17 = RNG.normal(size=17)
    x17[1] = x17[0]
    y17 = x17 + RNG.normal(size=17)
    r17 = spearman(x17, y17)
    assert r17["p_method"] == "t approximation" and r17["p"] == pytest.approx(stats.spearmanr(x17, y17).pvalue)
