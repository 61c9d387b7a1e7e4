"""ROUT (Motulsky & Brown 2006) on worked examples: planted outliers, clean data, Q, ties, tiny n."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats

from PentixaforQuantLib.cohort.rout import RSDR_PERCENTILE, fdr_outliers, lorentzian_line_fit, rout_line, rsdr


def _line(n=40, seed=3, sd=0.5):
    rng = np.random.default_rng(seed)
    x = np.linspace(1.0, 30.0, n)
    return x, 2.0 + 0.5 * x + rng.normal(0.0, sd, n)


def test_rsdr_is_the_68th_percentile_of_absolute_residuals_times_n_over_n_minus_k():
    r = np.array([-3.0, 1.0, -0.5, 0.25, 2.0, -1.5, 0.75, 4.0])
    expected = np.percentile(np.abs(r), 68.26894921370859) * 8 / 6
    assert rsdr(r) == pytest.approx(expected, rel=1e-12)
    assert RSDR_PERCENTILE == pytest.approx(100 * (stats.norm.cdf(1) - stats.norm.cdf(-1)), rel=1e-12)


def test_fdr_step_up_on_hand_computed_p_values():
    # scale 1, 10 dof: P of |r| = 6, 5, 4, 1, 0.5, ... ; Q = 5 %, N = 8 -> alpha_i = 0.05 i / 8
    r = np.array([6.0, 0.5, 5.0, 0.2, 4.0, 1.0, 0.3, 0.1])
    p = 2 * stats.t.sf(r, 10)
    order = np.argsort(-r)
    alpha = 0.05 * np.arange(1, 9) / 8
    last = max(i for i in range(8) if p[order][i] < alpha[i])
    expected = np.zeros(8, bool)
    expected[order[: last + 1]] = True
    flagged = fdr_outliers(r, 1.0, 0.05, 10)
    assert flagged.tolist() == expected.tolist()
    assert set(np.nonzero(flagged)[0]) == {0, 2, 4}  # |r| = 6, 5, 4 (P 1.3e-4, 5.4e-4, 2.5e-3)


def test_planted_outliers_are_found_and_only_they():
    x, y = _line()
    y[5] += 8.0
    y[20] -= 7.0
    result = rout_line(x, y)
    assert set(np.nonzero(result.outliers)[0]) == {5, 20}
    assert result.slope == pytest.approx(0.5, abs=0.05)  # the robust line ignores them
    assert result.n == 40 and result.q == 0.01 and result.note == ""


def test_no_outliers_invented_on_clean_gaussian_data():
    x, y = _line()
    assert not rout_line(x, y).outliers.any()
    # Over many clean experiments, Q = 1 % flags something in only a few (the paper: about 1-3 %).
    hits = sum(rout_line(*_line(n=30, seed=s)).outliers.any() for s in range(200))
    assert hits / 200 <= 0.04


def test_q_is_respected():
    x, y = _line()
    y[12] += 1.6  # a moderate deviation: an outlier at Q = 10 %, not at Q = 1 %
    at_1, at_10 = rout_line(x, y, q=0.01), rout_line(x, y, q=0.10)
    assert not at_1.outliers[12]
    assert at_10.outliers[12]
    assert set(np.nonzero(at_1.outliers)[0]) <= set(np.nonzero(at_10.outliers)[0])
    with pytest.raises(ValueError):
        rout_line(x, y, q=0.0)


def test_ties_share_their_fate():
    x, y = _line()
    x = np.append(x, [15.0, 15.0])  # two identical outlying points (tied x, tied residual)
    y = np.append(y, [30.0, 30.0])
    flagged = rout_line(x, y).outliers
    assert flagged[-1] and flagged[-2]
    # Replicates at the same x (ties in x) on clean data: nothing is flagged.
    xr = np.repeat(np.arange(1.0, 11.0), 4)
    yr = 1.0 + 0.3 * xr + np.tile([-0.2, 0.1, 0.15, -0.05], 10)
    assert not rout_line(xr, yr).outliers.any()


def test_tiny_n_constant_x_and_missing_values():
    r = rout_line([1.0, 2.0, 3.0], [1.0, 2.0, 10.0])
    assert not r.outliers.any() and r.note.startswith("too few values (n = 3")
    assert rout_line([], []).n == 0
    c = rout_line([2.0] * 6, [1.0, 2.0, 3.0, 4.0, 5.0, 50.0])
    assert not c.outliers.any() and "constant" in c.note
    x, y = _line()
    y[5] += 8.0
    xs = list(x) + [None, 4.0]
    ys = list(y) + [3.0, float("nan")]
    r = rout_line(xs, ys)
    assert r.n == 40 and r.outliers[5] and not r.outliers[-1] and not r.outliers[-2]


def test_zero_rsdr_is_reported_not_divided_by():
    x = np.arange(10.0)
    y = 2.0 * x + 1.0
    y[3] += 5.0
    r = rout_line(x, y)
    assert r.rsdr == 0.0 and not r.outliers.any() and "RSDR is 0" in r.note


def test_lorentzian_fit_is_a_minimum_of_the_merit_function_at_its_scale():
    x, y = _line()
    y[5] += 30.0
    a, b, scale = lorentzian_line_fit(x, y)

    def merit(p):
        return np.sum(np.log1p(((y - p[0] - p[1] * x) / scale) ** 2))

    best = optimize.minimize(merit, [a, b], method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12})
    assert merit([a, b]) <= best.fun + 1e-9
    ols_slope = np.polyfit(x, y, 1)[0]
    assert abs(b - 0.5) < abs(ols_slope - 0.5)
