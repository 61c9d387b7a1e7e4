"""The exact permutation P value of Spearman's rho for small samples, as GraphPad Prism reports it.

Rule (GraphPad knowledge base article 1982): with 17 or fewer XY pairs Prism reports the exact P value, also
when there are ties; with more pairs the approximation from Student's t. Here the same: for n <= 17 the two-sided
P is the share of all n! pairings of the y ranks with the x ranks whose rho is at least as far from zero as the
observed one (ties keep their mean ranks, so their tie pattern is part of the null distribution); for n > 17 the
t approximation t = rho sqrt((n - 2)/(1 - rho^2)) with n - 2 degrees of freedom.

How: rho is a linear function of S = sum_i a_i b_pi(i) (a, b the ranks; doubled when a tie makes half ranks, so
that S is an integer), so the null distribution of rho is that of S. It is counted without listing the n!
pairings: the positions are filled in order and each state is the set of y ranks already used (2^n subsets) with
the distribution of the partial sum (a dynamic programme over subsets; n = 17 without ties takes a few seconds
and about 80 MB, and the result is kept per n; n = 16 with a tie about 6 s). When the table would not fit in
:data:`MAX_TABLE_BYTES` (n = 17 with a tie giving half ranks, many ties at n = 16), the t approximation is used
and the result says so.
"""

from __future__ import annotations

import math
from functools import lru_cache
from itertools import combinations

import numpy as np

__all__ = ["EXACT_MAX_N", "MAX_TABLE_BYTES", "exact_spearman_p", "null_distribution"]

#: Largest n for which the exact P is reported (Prism's rule).
EXACT_MAX_N = 17
#: Largest layer of the subset table (bytes); beyond it the t approximation is used and said so.
MAX_TABLE_BYTES = 128 * 2**20


def _bounds(a: np.ndarray, b: np.ndarray) -> tuple[list[int], list[int]]:
    """Smallest and largest partial sum after k positions (rearrangement inequality), k = 0..n."""
    bs = np.sort(b)
    lo, hi = [0], [0]
    for k in range(1, a.size + 1):
        ak = np.sort(a[:k])
        lo.append(int(ak[::-1] @ bs[:k]))
        hi.append(int(ak @ bs[-k:]))
    return lo, hi


def _table_bytes(a: np.ndarray, b: np.ndarray) -> int:
    lo, hi = _bounds(a, b)
    n = a.size
    return max(math.comb(n, k) * (hi[k] - lo[k] + 1) * 8 for k in range(n + 1))


def null_distribution(a, b) -> tuple[np.ndarray, np.ndarray]:
    """(values of S, number of pairings giving each) for S = sum_i a_i b_pi(i) over all permutations pi.

    ``a`` and ``b`` are non-negative integer scores (ranks, doubled when ties make half ranks).
    """
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    n = a.size
    lo, hi = _bounds(a, b)
    index = np.full(1 << n, -1, np.int64)
    masks = np.zeros(1, np.int64)
    index[0] = 0
    counts = np.ones((1, 1))
    for k in range(n):
        nxt_masks = np.fromiter((sum(1 << j for j in c) for c in combinations(range(n), k + 1)), np.int64)
        index[nxt_masks] = np.arange(nxt_masks.size)
        nxt = np.zeros((nxt_masks.size, hi[k + 1] - lo[k + 1] + 1))
        width, width_next = counts.shape[1], nxt.shape[1]
        for j in range(n):  # place y rank j at position k
            bit = 1 << j
            rows = np.flatnonzero((masks & bit) == 0)
            if rows.size == 0:
                continue
            shift = int(a[k] * b[j]) + lo[k] - lo[k + 1]
            c0, c1 = max(0, -shift), min(width, width_next - shift)  # outside: sums no subset reaches (zeros)
            if c1 > c0:
                nxt[index[masks[rows] | bit], shift + c0:shift + c1] += counts[rows, c0:c1]
        masks, counts = nxt_masks, nxt
    return np.arange(lo[n], hi[n] + 1), counts[0]


@lru_cache(maxsize=32)
def _cached(a: tuple, b: tuple) -> tuple[np.ndarray, np.ndarray]:
    return null_distribution(np.array(a), np.array(b))


def _scores(ranks: np.ndarray) -> np.ndarray:
    doubled = np.rint(2.0 * ranks).astype(np.int64)
    return doubled // 2 if np.all(doubled % 2 == 0) else doubled


def exact_spearman_p(rank_x: np.ndarray, rank_y: np.ndarray) -> float | None:
    """Two-sided exact P of Spearman's rho from the (mean) ranks of x and y; None when n > EXACT_MAX_N or the
    table is too large (then the caller uses the t approximation).

    P = (number of pairings pi with |S(pi) - E| >= |S_obs - E|) / n!, E = sum(a) sum(b) / n the mean of S.
    """
    n = int(rank_x.size)
    if n > EXACT_MAX_N or n < 2:
        return None
    a, b = _scores(rank_x), _scores(rank_y)
    order = np.argsort(a, kind="mergesort")  # the null distribution does not depend on the order of positions
    a_sorted, b_sorted = a[order], np.sort(b)
    if _table_bytes(a_sorted, b_sorted) > MAX_TABLE_BYTES:
        return None
    values, counts = _cached(tuple(int(v) for v in a_sorted), tuple(int(v) for v in b_sorted))
    observed = int(a @ b)
    # 2 n S and 2 n E are integers, so the comparison is exact.
    centre_twice_n = 2 * int(a.sum()) * int(b.sum())
    distance = np.abs(2 * n * values - centre_twice_n)
    extreme = distance >= abs(2 * n * observed - centre_twice_n)
    return float(counts[extreme].sum() / counts.sum())
