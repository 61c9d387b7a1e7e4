"""The cohort statistics of the source studies, as small pure functions on arrays.

Every function returns plain dictionaries that state their n. When there are too few values for a statistic (a
standard deviation of one value, a correlation of two points), the statistic is the text :data:`TOO_FEW` followed
by what it needs, never NaN, so a reader of ``stats.json`` sees why the number is absent.

Sources: Buck et al., J Nucl Med 2022 (mean ± SD per diagnosis, medians and ranges, Spearman after ROUT);
Herhaus et al., Haematologica 2016 (group mean ± SEM, Student's t-test).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats as _stats

from .spearman_exact import exact_spearman_p

__all__ = ["TOO_FEW", "too_few", "finite_values", "finite_pairs", "mean_sd", "mean_sem", "median_range", "spearman",
           "spearman_ci", "mean_ci", "student_t_test", "SPEARMAN_CI_MIN_N"]

#: Start of the text that stands in for a statistic that cannot be computed from the values given.
TOO_FEW = "too few values"


def too_few(n: int, needed: int) -> str:
    """The text reported instead of a statistic: ``"too few values (n = 1, needs >= 2)"``."""
    return f"{TOO_FEW} (n = {n}, needs >= {needed})"


def finite_values(values) -> np.ndarray:
    """The finite numbers of ``values`` (None, NaN and infinities dropped) as a float array."""
    arr = np.array([np.nan if v is None else v for v in values], dtype=float)
    return arr[np.isfinite(arr)]


def finite_pairs(x: Sequence[float], y: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``x`` and ``y`` as float arrays (None -> NaN) and the mask of the pairs where both are finite."""
    xa = np.array([np.nan if v is None else v for v in x], dtype=float)
    ya = np.array([np.nan if v is None else v for v in y], dtype=float)
    if xa.shape != ya.shape:
        raise ValueError("x and y must have the same length")
    return xa, ya, np.isfinite(xa) & np.isfinite(ya)


def mean_sd(values) -> dict:
    """Arithmetic mean and sample standard deviation.

    Parameters
    ----------
    values : sequence of float or None
        Missing values (None, NaN) are left out and not counted.

    Returns
    -------
    dict
        ``n``; ``mean`` (needs n >= 1); ``sd`` = sqrt(sum (x - mean)^2 / (n - 1)), the sample SD with Bessel's
        correction (needs n >= 2), as reported (mean ± SD) per diagnosis by Buck et al. 2022; ``ci95``, the 95 %
        confidence interval of the mean (:func:`mean_ci`).
    """
    x = finite_values(values)
    n = int(x.size)
    return {
        "n": n,
        "mean": float(np.mean(x)) if n >= 1 else too_few(n, 1),
        "sd": float(np.std(x, ddof=1)) if n >= 2 else too_few(n, 2),
        "ci95": mean_ci(x),
    }


def mean_sem(values) -> dict:
    """Mean and standard error of the mean, SEM = SD / sqrt(n) with the sample SD (n - 1).

    Herhaus et al. 2016 show the marrow meanSUVmax per group as mean ± SEM. Returns ``n``, ``mean`` (n >= 1) and
    ``sem`` (n >= 2).
    """
    x = finite_values(values)
    n = int(x.size)
    return {
        "n": n,
        "mean": float(np.mean(x)) if n >= 1 else too_few(n, 1),
        "sem": float(np.std(x, ddof=1) / math.sqrt(n)) if n >= 2 else too_few(n, 2),
        "ci95": mean_ci(x),
    }


def median_range(values) -> dict:
    """Median (the middle value, or the mean of the two middle values), minimum and maximum; with ``n``."""
    x = finite_values(values)
    n = int(x.size)
    if n == 0:
        return {"n": 0, "median": too_few(0, 1), "min": too_few(0, 1), "max": too_few(0, 1)}
    return {"n": n, "median": float(np.median(x)), "min": float(np.min(x)), "max": float(np.max(x))}


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n; tied values share the mean of the ranks they occupy."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(x.size, dtype=float)
    sorted_x = x[order]
    start = 0
    for stop in range(1, x.size + 1):
        if stop == x.size or sorted_x[stop] != sorted_x[start]:
            ranks[order[start:stop]] = (start + 1 + stop) / 2.0  # mean of ranks start+1 .. stop
            start = stop
    return ranks


def spearman(x: Sequence[float], y: Sequence[float], *, exact: bool = True) -> dict:
    """Spearman's rank correlation coefficient with its two-sided P value and 95 % confidence interval.

    Definition: rho is Pearson's correlation coefficient of the ranks of x and of y, tied values taking the mean
    of the ranks they span (Spearman 1904). P tests rho = 0, two-sided:

    - n <= 17 (GraphPad Prism's rule): exactly, the share of all n! pairings of the ranks whose |rho| is at least
      the observed one (:mod:`.spearman_exact`), ties included;
    - n > 17: t = rho sqrt((n - 2) / (1 - rho^2)), Student's t with n - 2 degrees of freedom (the approximation
      of ``scipy.stats.spearmanr``; Buck et al. 2022 report rho and P for 535 scans). For |rho| = 1 without ties
      the exact P, 2 / n!, which the approximation would give as 0.

    The 95 % confidence interval is Fisher's z with the variance 1.06 / (n - 3) of Fieller, Hartley & Pearson
    (1957), as in Zar's Biostatistical Analysis and Prism, which reports it from n = 11 (Zar: not for n <= 10).

    Parameters
    ----------
    x, y : sequences of float of equal length
        Pairs with a missing value in either are left out.
    exact : bool
        False: the t approximation for every n (as ``scipy.stats.spearmanr``).

    Returns
    -------
    dict
        ``n`` (pairs used), ``rho``, ``p``, ``p_method`` ("exact" or "t approximation") and ``ci95``
        [low, high]; with fewer than 3 pairs, or when x or y is constant (rho is then undefined), texts saying so.
    """
    xa, ya, keep = finite_pairs(x, y)
    xa, ya = xa[keep], ya[keep]
    n = int(xa.size)
    if n < 3:
        return {"n": n, "rho": too_few(n, 3), "p": too_few(n, 3), "p_method": "", "ci95": too_few(n, 3)}
    rx, ry = _average_ranks(xa), _average_ranks(ya)
    dx, dy = rx - rx.mean(), ry - ry.mean()
    denom = math.sqrt(float(dx @ dx) * float(dy @ dy))
    if denom == 0.0:
        text = "undefined (all x or all y values are equal)"
        return {"n": n, "rho": text, "p": text, "p_method": "", "ci95": text}
    rho = float(np.clip(float(dx @ dy) / denom, -1.0, 1.0))
    p = exact_spearman_p(rx, ry) if exact else None
    method = "exact" if p is not None else "t approximation"
    if p is None:
        no_ties = np.unique(rx).size == n and np.unique(ry).size == n
        if abs(rho) == 1.0 and no_ties and exact:
            p, method = 2.0 / math.factorial(n), "exact"  # only the identity (or reversed) pairing is as extreme
        elif abs(rho) == 1.0:
            p = 0.0
        else:
            t = rho * math.sqrt((n - 2) / (1.0 - rho * rho))
            p = float(2.0 * _stats.t.sf(abs(t), n - 2))
    return {"n": n, "rho": rho, "p": p, "p_method": method, "ci95": spearman_ci(rho, n)}


#: Fewest pairs for the confidence interval of Spearman's rho (Zar; GraphPad Prism reports it for n > 10).
SPEARMAN_CI_MIN_N = 11


def spearman_ci(rho: float, n: int, level: float = 0.95):
    """Confidence interval of Spearman's rho: tanh(atanh(rho) -+ z_(1-alpha/2) sqrt(1.06 / (n - 3))) (Fieller,
    Hartley & Pearson 1957; Zar). A text for n < :data:`SPEARMAN_CI_MIN_N`."""
    if n < SPEARMAN_CI_MIN_N:
        return too_few(n, SPEARMAN_CI_MIN_N)
    z = _stats.norm.ppf(0.5 + level / 2.0)
    with np.errstate(divide="ignore"):
        centre = float(np.arctanh(rho))
    half = z * math.sqrt(1.06 / (n - 3))
    return [float(np.tanh(centre - half)), float(np.tanh(centre + half))]


def mean_ci(values, level: float = 0.95):
    """Confidence interval of a mean: mean -+ t_(1-alpha/2, n-1) SD / sqrt(n) (needs n >= 2)."""
    x = finite_values(values)
    n = int(x.size)
    if n < 2:
        return too_few(n, 2)
    half = float(_stats.t.ppf(0.5 + level / 2.0, n - 1) * np.std(x, ddof=1) / math.sqrt(n))
    return [float(np.mean(x)) - half, float(np.mean(x)) + half]


def student_t_test(a: Sequence[float], b: Sequence[float]) -> dict:
    """Student's unpaired two-sided t-test (equal variances assumed), as Herhaus et al. 2016 compare groups.

    Definition: t = (mean_a - mean_b) / (s_p sqrt(1/n_a + 1/n_b)) with the pooled variance
    s_p^2 = ((n_a - 1) s_a^2 + (n_b - 1) s_b^2) / (n_a + n_b - 2); P = 2 P(T > |t|) for Student's t with
    n_a + n_b - 2 degrees of freedom.

    Returns
    -------
    dict
        ``n_a``, ``n_b``, ``df``, ``t``, ``p``, ``mean_difference`` (mean_a - mean_b) and its 95 % confidence
        interval ``mean_difference_ci95`` = difference -+ t_(0.975, df) s_p sqrt(1/n_a + 1/n_b). Each group
        needs at least one value and together at least three (df >= 1); the statistics are texts when there are
        too few values or both groups have no spread.
    """
    xa, xb = finite_values(a), finite_values(b)
    na, nb = int(xa.size), int(xb.size)
    df = na + nb - 2
    out = {"n_a": na, "n_b": nb, "df": max(df, 0)}
    if na < 1 or nb < 1 or df < 1:
        text = f"{TOO_FEW} (n_a = {na}, n_b = {nb}, needs >= 1 each and >= 3 together)"
        return {**out, "t": text, "p": text, "mean_difference": text, "mean_difference_ci95": text}
    pooled = (((na - 1) * np.var(xa, ddof=1) if na > 1 else 0.0)
              + ((nb - 1) * np.var(xb, ddof=1) if nb > 1 else 0.0)) / df
    diff = float(np.mean(xa) - np.mean(xb))
    if pooled == 0.0:
        text = "undefined (no spread within either group)"
        return {**out, "t": text, "p": text, "mean_difference": diff, "mean_difference_ci95": text}
    se = math.sqrt(pooled * (1.0 / na + 1.0 / nb))
    half = float(_stats.t.ppf(0.975, df)) * se
    return {**out, "t": diff / se, "p": float(2.0 * _stats.t.sf(abs(diff / se), df)), "mean_difference": diff,
            "mean_difference_ci95": [diff - half, diff + half]}
