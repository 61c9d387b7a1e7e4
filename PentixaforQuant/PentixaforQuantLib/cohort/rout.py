"""ROUT outlier removal for a straight line (Motulsky & Brown, BMC Bioinformatics 2006;7:123).

The method the 690-patient study (Buck et al., J Nucl Med 2022) applied before correlating specific activity with
uptake ("ROUT, Q = 1 %", GraphPad Prism). Three steps, on the model y = a + b x (K = 2 parameters):

1. **Robust fit.** Minimise the Lorentzian merit function sum_i ln(1 + (r_i / RSDR)^2) of the residuals
   r_i = y_i - (a + b x_i). The scale is adaptive, as in the paper: it is the RSDR of the current fit, so the
   fit becomes more robust as it proceeds. It starts from the least-squares line and is solved by iteratively
   reweighted least squares (the Lorentzian weights w_i = 1 / (1 + (r_i / RSDR)^2), a majorise-minimise step
   that never increases the merit function at a fixed scale), until the line no longer changes.
2. **RSDR**, the robust standard deviation of the residuals: the 68.27th percentile of |r_i| (linear
   interpolation between order statistics), times N / (N - K) to correct for the parameters fitted.
3. **Outliers by the false discovery rate.** Each point gets t_i = |r_i| / RSDR and a two-sided P value from
   Student's t with N - K degrees of freedom. Ranked by |r_i| from the largest (i = 1) down, point i is
   compared with alpha_i = Q i / N (Benjamini-Hochberg); the point with the largest i whose P_i < alpha_i
   and every point with a larger residual are outliers. At most the Q fraction of the flagged points are
   expected to be false discoveries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as _stats

from .statistics import finite_pairs, too_few

__all__ = ["RoutResult", "rsdr", "lorentzian_line_fit", "fdr_outliers", "rout_line"]

#: Percentile of |residuals| that equals one SD for Gaussian scatter: P(|Z| < 1) = 68.27 %.
RSDR_PERCENTILE = 68.26894921370859
#: Parameters of a straight line.
LINE_PARAMETERS = 2


@dataclass(frozen=True)
class RoutResult:
    """Outcome of :func:`rout_line`.

    Attributes
    ----------
    outliers : ndarray of bool
        True for each input point flagged as an outlier (False for points with a missing value).
    n : int
        Points with both values present (the N of the method).
    intercept, slope : float or None
        The robust line (None when it could not be fitted).
    rsdr : float or None
        Robust SD of the residuals of the robust fit.
    q : float
        The false discovery rate used.
    note : str
        Why no test was made (too few points, x constant, RSDR zero), else "".
    """

    outliers: np.ndarray
    n: int
    intercept: float | None
    slope: float | None
    rsdr: float | None
    q: float
    note: str = ""


def rsdr(residuals, n_parameters: int = LINE_PARAMETERS) -> float:
    """Robust standard deviation of residuals: P68.27(|r|) x N / (N - K) (Motulsky & Brown 2006)."""
    r = np.abs(np.asarray(residuals, dtype=float))
    n = r.size
    if n <= n_parameters:
        raise ValueError(f"RSDR needs more points ({n}) than parameters ({n_parameters})")
    return float(np.percentile(r, RSDR_PERCENTILE) * n / (n - n_parameters))


def _weighted_line(x, y, w):
    sw = w.sum()
    mx, my = (w @ x) / sw, (w @ y) / sw
    sxx = w @ ((x - mx) ** 2)
    slope = (w @ ((x - mx) * (y - my))) / sxx
    return my - slope * mx, slope


def lorentzian_line_fit(x, y, *, max_iterations: int = 500, tolerance: float = 1e-12):
    """Robust straight line of Motulsky & Brown (2006), step 1 (see the module text).

    Returns
    -------
    (intercept, slope, rsdr) : tuple of float
        ``rsdr`` is the RSDR of the final residuals; 0 when at least 68 % of the points lie on the line.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    # Residuals at the level of rounding (points exactly on the line, up to the last bits of the fit) are 0: a
    # scale of 4e-15 would make every other point an outlier.
    rounding = 1e-12 * (1.0 + float(np.max(np.abs(y))))

    def robust_scale(residuals) -> float:
        scale = rsdr(residuals)
        return 0.0 if scale <= rounding else scale

    a, b = _weighted_line(x, y, np.ones_like(x))  # least squares start
    for _ in range(max_iterations):
        r = y - (a + b * x)
        scale = robust_scale(r)
        if scale == 0.0:
            break
        w = 1.0 / (1.0 + (r / scale) ** 2)
        a_new, b_new = _weighted_line(x, y, w)
        step = abs(a_new - a) + abs(b_new - b) * (np.ptp(x) or 1.0)
        a, b = a_new, b_new
        if step <= tolerance * (1.0 + abs(a) + abs(b) * (np.ptp(x) or 1.0)):
            break
    return float(a), float(b), robust_scale(y - (a + b * x))


def fdr_outliers(abs_residuals, scale: float, q: float, dof: int) -> np.ndarray:
    """Step 3 of ROUT: which points are outliers at false discovery rate ``q`` (boolean array).

    t_i = |r_i| / scale, P_i two-sided from Student's t with ``dof`` degrees of freedom; ranking from the largest
    residual (i = 1), alpha_i = q i / N; the largest i with P_i < alpha_i and all larger residuals are outliers.
    Tied residuals share their fate (they have equal P values and the step-up rule takes or leaves both).
    """
    r = np.asarray(abs_residuals, dtype=float)
    n = r.size
    order = np.argsort(-r, kind="mergesort")
    p = 2.0 * _stats.t.sf(r[order] / scale, dof)
    alpha = q * np.arange(1, n + 1) / n
    passing = np.nonzero(p < alpha)[0]
    flagged = np.zeros(n, dtype=bool)
    if passing.size:
        last = passing.max()
        cutoff = r[order][last]
        flagged = r >= cutoff  # includes ties of the last flagged residual
    return flagged


def rout_line(x, y, q: float = 0.01) -> RoutResult:
    """ROUT outliers of y against x for a straight line, at false discovery rate ``q`` (default Q = 1 %).

    Parameters
    ----------
    x, y : sequences of float (None or NaN = missing; such points are neither tested nor flagged)
    q : float
        The false discovery rate, 0 < q < 1 (Buck et al. 2022 used 1 %).

    Returns
    -------
    RoutResult
        With fewer than 4 points (N - K >= 2 is needed for a scale with any meaning), with x constant or with a
        zero RSDR (most points exactly on one line) nothing is flagged and ``note`` says why.
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"ROUT Q must be between 0 and 1 (exclusive), not {q}")
    xa, ya, keep = finite_pairs(x, y)
    outliers = np.zeros(xa.size, dtype=bool)
    n = int(keep.sum())
    minimum = LINE_PARAMETERS + 2
    if n < minimum:
        return RoutResult(outliers, n, None, None, None, q, too_few(n, minimum))
    xs, ys = xa[keep], ya[keep]
    if np.ptp(xs) == 0.0:
        return RoutResult(outliers, n, None, None, None, q, "x is constant: no line to fit")
    a, b, scale = lorentzian_line_fit(xs, ys)
    if scale == 0.0:
        return RoutResult(outliers, n, a, b, 0.0, q,
                          "RSDR is 0 (at least 68 % of the points lie exactly on one line): not tested")
    flagged = fdr_outliers(np.abs(ys - (a + b * xs)), scale, q, n - LINE_PARAMETERS)
    outliers[np.nonzero(keep)[0][flagged]] = True
    return RoutResult(outliers, n, a, b, scale, q)
