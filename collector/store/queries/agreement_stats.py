"""Inter-rater agreement in numpy: Krippendorff's alpha, Cohen's and Fleiss' kappa, percent
agreement, each with a bootstrap 95% interval. Pure functions over codes, no SQL.

Why our own numpy and not the libraries: the ``krippendorff`` package computes one alpha per call
(nominal to ratio, no set distance), statsmodels' ``fleiss_kappa`` and sklearn's
``cohen_kappa_score`` pull in scipy (~100 MB) and also compute one figure per call. A bootstrap
interval needs ~1,000 recomputations per figure; done one call at a time that is seconds per
schema at 10,000 items. Here every statistic is a ratio of sums over items, so each item is
reduced once to a row of per-item sums, and all resamples are one matrix product of resample
counts with the distinct rows (``_with_interval``): see ``make bench`` for 10,000 items x 3
labelers x 3 schemas. tests/collector/store/queries/test_agreement_stats.py
checks the figures against Krippendorff's published worked example and the ``krippendorff``
package.

Alpha, for any distance d between values (Krippendorff 2011, "Computing Krippendorff's
Alpha-Reliability"), over the items with at least two values (m_u of them, n in all):

    alpha = 1 - (n - 1) * sum_u [ sum_{i != j in u} d(v_i, v_j) / (m_u - 1) ] / sum_{all i != j} d(v_i, v_j)

With the values of a schema coded 0..K-1, an item is its count vector c_u, and with a K x K
distance matrix D both sums are quadratic forms: c_u' D c_u and n_c' D n_c (n_c = sum of c_u).
nominal: D = 1 - I; a set (categorical list): D = Jaccard distance of the two sets. Interval
(numeric answers, which may take many distinct values) uses d = (a - b)^2 through per-item sums
instead: sum_{i != j in u} (v_i - v_j)^2 = 2 m_u S2_u - 2 S1_u^2 (S1, S2: sum of values, of squares).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

RESAMPLES = 1000
SEED = 20261207  # fixed: the same labels give the same interval every time

Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Estimate:
    """A figure and its bootstrap 95% percentile interval (NaN where undefined)."""

    value: float
    low: float
    high: float


NAN = Estimate(float("nan"), float("nan"), float("nan"))


@dataclass(frozen=True, slots=True)
class Units:
    """The ratings of one schema reduced per item: ``counts[u, k]`` = how many labelers gave
    value k on item u (items with fewer than two values are left out: they cannot disagree)."""

    counts: Array  # (items, K)
    distance: Array  # (K, K), zero diagonal

    @property
    def m(self) -> Array:
        return self.counts.sum(axis=1)  # type: ignore[no-any-return]


def jaccard_distances(sets: list[frozenset[object]]) -> Array:
    """1 - |a & b| / |a | b| between every two sets (two empty sets agree)."""
    out = np.zeros((len(sets), len(sets)))
    for i, a in enumerate(sets):
        for j in range(i + 1, len(sets)):
            b = sets[j]
            union = len(a | b)
            out[i, j] = out[j, i] = 0.0 if union == 0 else 1.0 - len(a & b) / union
    return out


def nominal_distances(k: int) -> Array:
    return 1.0 - np.eye(k)


def units(item_of: npt.NDArray[np.int64], code_of: npt.NDArray[np.int64], n_items: int, distance: Array) -> Units:
    """One row of value counts per item that has at least two values."""
    counts = np.zeros((n_items, distance.shape[0]))
    np.add.at(counts, (item_of, code_of), 1.0)
    return Units(counts[counts.sum(axis=1) >= 2], distance)


def _with_interval(features: Array, stat: Callable[[Array, Array], Array]) -> Estimate:
    """``stat(weights, rows)`` on every item, and on RESAMPLES bootstrap resamples of the items.

    ``features`` holds one row of per-item sums per item; ``stat`` only ever multiplies weights
    with those rows, so items with the same row are interchangeable: resampling items uniformly is
    drawing how many of each distinct row, a multinomial over the distinct rows with their shares.
    Items of a label schema take few distinct rows (3 labelers on 5 options: at most 35), so a
    resample costs a few numbers instead of one draw per item (measured: 8.9 s -> 0.1 s for
    10,000 items x 3 schemas on the bench machine)."""
    n = features.shape[0]
    if n == 0:
        return NAN
    rows, counts = np.unique(features, axis=0, return_counts=True)
    value = float(stat(counts[None, :].astype(np.float64), rows)[0])
    rng = np.random.default_rng(SEED)
    weights = rng.multinomial(n, counts / n, size=RESAMPLES).astype(np.float64)
    samples = stat(weights, rows)
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return Estimate(value, float("nan"), float("nan"))
    low, high = np.percentile(samples, [2.5, 97.5])
    return Estimate(value, float(low), float(high))


def alpha(u: Units) -> Estimate:
    """Krippendorff's alpha for the distance in ``u`` (see the module docstring)."""
    c, d = u.counts, u.distance
    m = u.m
    observed = np.einsum("uk,kl,ul->u", c, d, c) / (m - 1.0)  # per item
    k = c.shape[1]

    def stat(w: Array, rows: Array) -> Array:
        n = w @ rows[:, k]
        totals = w @ rows[:, :k]
        expected = np.einsum("bk,kl,bl->b", totals, d, totals)
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 - (n - 1.0) * (w @ rows[:, k + 1]) / expected  # type: ignore[no-any-return]

    return _with_interval(np.column_stack([c, m, observed]), stat)


def interval_alpha(item_of: npt.NDArray[np.int64], numbers: Array, n_items: int) -> Estimate:
    """Krippendorff's alpha with the interval distance (a - b)^2, from per-item sums."""
    m = np.bincount(item_of, minlength=n_items).astype(np.float64)
    s1 = np.bincount(item_of, weights=numbers, minlength=n_items)
    s2 = np.bincount(item_of, weights=numbers * numbers, minlength=n_items)
    keep = m >= 2
    m, s1, s2 = m[keep], s1[keep], s2[keep]
    observed = (2.0 * m * s2 - 2.0 * s1 * s1) / (m - 1.0)

    def stat(w: Array, rows: Array) -> Array:
        n, t1, t2 = w @ rows[:, 0], w @ rows[:, 1], w @ rows[:, 2]
        expected = 2.0 * n * t2 - 2.0 * t1 * t1
        with np.errstate(divide="ignore", invalid="ignore"):
            return 1.0 - (n - 1.0) * (w @ rows[:, 3]) / expected

    return _with_interval(np.column_stack([m, s1, s2, observed]), stat)


def pair_counts(item_of: npt.NDArray[np.int64], code_of: npt.NDArray[np.int64], n_items: int) -> tuple[Array, Array]:
    """Per item with two or more answers: (answers, ordered pairs of identical answers), whatever
    the number of distinct values (no items x values matrix)."""
    keys, per_key = np.unique(item_of * (int(code_of.max(initial=0)) + 1) + code_of, return_counts=True)
    items = keys // (int(code_of.max(initial=0)) + 1)
    m = np.bincount(item_of, minlength=n_items).astype(np.float64)
    agree = np.bincount(items, weights=per_key * (per_key - 1.0), minlength=n_items).astype(np.float64)
    keep = m >= 2
    return m[keep], agree[keep]


def percent_agreement(m: Array, agree: Array) -> Estimate:
    """Share of pairs of answers on the same item that are identical (``pair_counts``)."""
    pairs = m * (m - 1.0)

    def stat(w: Array, rows: Array) -> Array:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (w @ rows[:, 0]) / (w @ rows[:, 1])

    return _with_interval(np.column_stack([agree, pairs]), stat)


def fleiss_kappa(u: Units) -> Estimate:
    """Fleiss' kappa; items may have different numbers of answers (each item weighs the same, its
    P_i over its own pairs), which is Fleiss' kappa exactly when every item has the same number."""
    c, m = u.counts, u.m
    per_item = ((c * c).sum(axis=1) - m) / (m * (m - 1.0))
    k = c.shape[1]

    def stat(w: Array, rows: Array) -> Array:
        p_bar = (w @ rows[:, k + 1]) / w.sum(axis=1)
        shares = (w @ rows[:, :k]) / (w @ rows[:, k])[:, None]
        p_e = (shares * shares).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (p_bar - p_e) / (1.0 - p_e)  # type: ignore[no-any-return]

    return _with_interval(np.column_stack([c, m, per_item]), stat)


def cohen_kappa(first: npt.NDArray[np.int64], second: npt.NDArray[np.int64], k: int) -> Estimate:
    """Cohen's kappa of two labelers over the items both answered (codes 0..k-1, same item order)."""
    if first.size == 0:
        return NAN
    a = np.eye(k)[first]
    b = np.eye(k)[second]
    agree = (first == second).astype(np.float64)

    def stat(w: Array, rows: Array) -> Array:
        total = w.sum(axis=1)
        p_o = (w @ rows[:, 2 * k]) / total
        p_e = ((w @ rows[:, :k]) * (w @ rows[:, k : 2 * k])).sum(axis=1) / (total * total)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (p_o - p_e) / (1.0 - p_e)  # type: ignore[no-any-return]

    return _with_interval(np.column_stack([a, b, agree]), stat)
