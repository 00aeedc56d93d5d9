"""Agreement statistics against published worked examples and the ``krippendorff`` package.

Krippendorff's own reliability data (K. Krippendorff, "Computing Krippendorff's Alpha-Reliability",
2011, section C: 4 observers, 12 units, values 1-5, missing values allowed): alpha nominal 0.743,
interval 0.849. Fleiss' kappa: Fleiss (1971)'s worked example as printed in Wikipedia's "Fleiss'
kappa" article (10 subjects, 14 raters, 5 categories): 0.210. Cohen's kappa: a 2 x 2 table with
p_o = 0.7, p_e = 0.5, kappa = 0.4 (Wikipedia "Cohen's kappa", first example).
"""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest

from annotrace.collector.store.queries import agreement_stats as stats

NA = None
KRIPPENDORFF_2011 = [  # rows: observers A-D; columns: units 1-12
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NA, NA, NA],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NA, 3],
    [NA, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NA],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NA],
]


def ratings(matrix: list[list[int | None]]) -> tuple[np.ndarray, np.ndarray]:
    """(item index, value) of every answer in a raters x items matrix."""
    cells = [(unit, value) for row in matrix for unit, value in enumerate(row) if value is not None]
    return np.array([u for u, _ in cells]), np.array([v for _, v in cells])


def nominal_units(matrix: list[list[int | None]]) -> stats.Units:
    items, values = ratings(matrix)
    categories, codes = np.unique(values, return_inverse=True)
    return stats.units(items, codes, len(matrix[0]), stats.nominal_distances(len(categories)))


def test_alpha_matches_krippendorffs_worked_example() -> None:
    nominal = stats.alpha(nominal_units(KRIPPENDORFF_2011))
    assert round(nominal.value, 3) == 0.743
    assert nominal.low < nominal.value < nominal.high
    items, values = ratings(KRIPPENDORFF_2011)
    assert round(stats.interval_alpha(items, values.astype(float), 12).value, 3) == 0.849


def test_alpha_matches_the_krippendorff_package_on_random_labels() -> None:
    rng = np.random.default_rng(7)
    matrix = rng.integers(0, 4, size=(3, 200)).astype(float)
    matrix[rng.random(matrix.shape) < 0.2] = np.nan
    as_lists = [[None if math.isnan(v) else int(v) for v in row] for row in matrix]
    ours = stats.alpha(nominal_units(as_lists)).value
    assert ours == pytest.approx(krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal"))
    items, values = ratings(as_lists)
    ours_interval = stats.interval_alpha(items, values.astype(float), 200).value
    assert ours_interval == pytest.approx(krippendorff.alpha(reliability_data=matrix, level_of_measurement="interval"))


def test_fleiss_kappa_matches_fleiss_1971() -> None:
    table = np.array(
        [
            [0, 0, 0, 0, 14],
            [0, 2, 6, 4, 2],
            [0, 0, 3, 5, 6],
            [0, 3, 9, 2, 0],
            [2, 2, 8, 1, 1],
            [7, 7, 0, 0, 0],
            [3, 2, 6, 3, 0],
            [2, 5, 3, 2, 2],
            [6, 5, 2, 1, 0],
            [0, 2, 2, 3, 7],
        ],
        dtype=float,
    )
    estimate = stats.fleiss_kappa(stats.Units(table, stats.nominal_distances(5)))
    assert round(estimate.value, 3) == 0.210


def test_cohen_kappa_matches_the_two_by_two_example() -> None:
    # 50 items: both yes 20, A yes B no 5, A no B yes 10, both no 15 -> p_o 0.7, p_e 0.5
    first = np.array([0] * 20 + [0] * 5 + [1] * 10 + [1] * 15)
    second = np.array([0] * 20 + [1] * 5 + [0] * 10 + [1] * 15)
    estimate = stats.cohen_kappa(first, second, 2)
    assert estimate.value == pytest.approx(0.4)
    assert estimate.low < 0.4 < estimate.high


def test_percent_agreement_counts_pairs_of_identical_answers() -> None:
    items = np.array([0, 0, 0, 1, 1, 2])
    codes = np.array([1, 1, 2, 3, 3, 0])  # item 0: 1 of 3 pairs agree; item 1: 1 of 1; item 2: one answer
    m, agree = stats.pair_counts(items, codes, 3)
    assert stats.percent_agreement(m, agree).value == pytest.approx(0.5)  # 2 + 2 of 6 + 2 ordered pairs


def test_set_answers_use_the_jaccard_distance() -> None:
    sets = [frozenset(), frozenset({"a"}), frozenset({"a", "b"})]
    distances = stats.jaccard_distances(sets)
    assert distances[1, 2] == pytest.approx(0.5) and distances[0, 0] == 0 and distances[0, 1] == 1
    # identical sets on every item: perfect agreement
    same = stats.units(np.array([0, 0, 1, 1]), np.array([1, 1, 2, 2]), 2, distances)
    assert stats.alpha(same).value == pytest.approx(1.0)
