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

__all__ = ["TOO_FEW", "too_few", "finite_values", "finite_pairs", "mean_sd", "mean_sem", "median_range", "spearman",
           "student_t_test"]

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
        correction (needs n >= 2), as reported (mean ± SD) per diagnosis by Buck et al. 2022.
    """
    x = finite_values(values)
    n = int(x.size)
    return {
        "n": n,
        "mean": float(np.mean(x)) if n >= 1 else too_few(n, 1),
        "sd": float(np.std(x, ddof=1)) if n >= 2 else too_few(n, 2),
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


def spearman(x: Sequence[float], y: Sequence[float]) -> dict:
    """Spearman's rank correlation coefficient with its two-sided P value.

    Definition: rho is Pearson's correlation coefficient of the ranks of x and of y, tied values taking the mean
    of the ranks they span (Spearman 1904). The P value tests rho = 0 with t = rho sqrt((n - 2) / (1 - rho^2)),
    Student's t distribution with n - 2 degrees of freedom, two-sided (the large-sample approximation used by
    GraphPad Prism for n > 100 and by ``scipy.stats.spearmanr``; Buck et al. 2022 report rho and P so).

    Parameters
    ----------
    x, y : sequences of float of equal length
        Pairs with a missing value in either are left out.

    Returns
    -------
    dict
        ``n`` (pairs used), ``rho`` and ``p``; with fewer than 3 pairs, or when x or y is constant (rho is then
        undefined), ``rho`` and ``p`` are texts saying so.
    """
    xa, ya, keep = finite_pairs(x, y)
    xa, ya = xa[keep], ya[keep]
    n = int(xa.size)
    if n < 3:
        return {"n": n, "rho": too_few(n, 3), "p": too_few(n, 3)}
    rx, ry = _average_ranks(xa), _average_ranks(ya)
    dx, dy = rx - rx.mean(), ry - ry.mean()
    denom = math.sqrt(float(dx @ dx) * float(dy @ dy))
    if denom == 0.0:
        text = "undefined (all x or all y values are equal)"
        return {"n": n, "rho": text, "p": text}
    rho = float(np.clip(float(dx @ dy) / denom, -1.0, 1.0))
    if abs(rho) == 1.0:
        p = 0.0
    else:
        t = rho * math.sqrt((n - 2) / (1.0 - rho * rho))
        p = float(2.0 * _stats.t.sf(abs(t), n - 2))
    return {"n": n, "rho": rho, "p": p}


def student_t_test(a: Sequence[float], b: Sequence[float]) -> dict:
    """Student's unpaired two-sided t-test (equal variances assumed), as Herhaus et al. 2016 compare groups.

    Definition: t = (mean_a - mean_b) / (s_p sqrt(1/n_a + 1/n_b)) with the pooled variance
    s_p^2 = ((n_a - 1) s_a^2 + (n_b - 1) s_b^2) / (n_a + n_b - 2); P = 2 P(T > |t|) for Student's t with
    n_a + n_b - 2 degrees of freedom.

    Returns
    -------
    dict
        ``n_a``, ``n_b``, ``df``, ``t`` and ``p``. Each group needs at least one value and together at least
        three (df >= 1); ``t`` and ``p`` are texts when there are too few values or both groups have no spread.
    """
    xa, xb = finite_values(a), finite_values(b)
    na, nb = int(xa.size), int(xb.size)
    df = na + nb - 2
    out = {"n_a": na, "n_b": nb, "df": max(df, 0)}
    if na < 1 or nb < 1 or df < 1:
        text = f"{TOO_FEW} (n_a = {na}, n_b = {nb}, needs >= 1 each and >= 3 together)"
        return {**out, "t": text, "p": text}
    pooled = (((na - 1) * np.var(xa, ddof=1) if na > 1 else 0.0)
              + ((nb - 1) * np.var(xb, ddof=1) if nb > 1 else 0.0)) / df
    diff = float(np.mean(xa) - np.mean(xb))
    if pooled == 0.0:
        text = "undefined (no spread within either group)"
        return {**out, "t": text, "p": text}
    t = diff / math.sqrt(pooled * (1.0 / na + 1.0 / nb))
    return {**out, "t": float(t), "p": float(2.0 * _stats.t.sf(abs(t), df))}
