"""Agreement between labelers of a labeling session or review queue: per label schema, per labeler,
and the items they disagree on most. The figures come from ``agreement_stats``; this module reads
the labels (view ``labeling_labels``, schema 0041: every HUMAN answer on the session's items,
whatever entry point wrote it) and turns them into codes, one pass per schema.

The level of measurement follows the schema's answer type: pass_fail and categorical are nominal,
numeric interval, categorical_list a set (Jaccard distance); free text gets counts only. Cohen's
kappa needs exactly two labelers, Fleiss' kappa is for nominal schemas; the rest is NaN.

Per labeler: items answered, the median time per item (the gaps between the labeler's successive
items, by their first answer; a gap over ``BREAK_S`` is a break, not work), agreement with the
others (the share of their answers on the same item that match; for sets the mean Jaccard
similarity) and leniency (mean of my answer minus the others' mean on the same item: numeric
answers, and pass_fail as pass = 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import orjson

from annotrace.collector.store.queries import agreement_stats as stats
from annotrace.collector.store.queries import label_schemas, labeling

LEVELS = {
    "pass_fail": "nominal",
    "categorical": "nominal",
    "numeric": "interval",
    "categorical_list": "set",
    "text": "text",
    "text_list": "text",
}
BREAK_S = 30 * 60
MAX_DISAGREEMENTS = 20
MAX_SCHEMAS = 10_000

LABELS = (
    "WITH items AS (SELECT trace_id, row_number() OVER (ORDER BY position) - 1 AS item FROM labeling_items "
    "WHERE session_id = $session) "
    "SELECT i.item, dense_rank() OVER (ORDER BY l.labeler) - 1 AS person, l.labeler, l.label_schema, "
    "l.value_label, dense_rank() OVER (PARTITION BY l.label_schema ORDER BY l.value_label) - 1 AS code, "
    "coalesce(l.value_number, 'NaN'::DOUBLE) AS number, l.value::VARCHAR AS value, "
    "epoch_ms(l.label_time)::DOUBLE AS at FROM labeling_labels l JOIN items i USING (trace_id) "
    "WHERE l.session_id = $session"
)
ITEMS = "SELECT trace_id, source_trace_id FROM labeling_items WHERE session_id = ? ORDER BY position"


@dataclass(frozen=True, slots=True)
class SchemaAgreement:
    schema: str
    input_type: str
    level: str  # nominal | interval | set | text
    items: int  # items with at least one answer
    labelers: int
    answers: int
    alpha: stats.Estimate
    cohen_kappa: stats.Estimate
    fleiss_kappa: stats.Estimate
    percent_agreement: stats.Estimate
    categories: list[str] = field(default_factory=list)  # the confusion matrix's rows and columns
    confusion: list[list[int]] = field(default_factory=list)  # pairs of answers on one item, both orders


@dataclass(frozen=True, slots=True)
class LabelerAgreement:
    labeler: str
    schema: str
    items: int
    median_seconds_per_item: float
    agreement: float  # with the others, on the items they share
    leniency: float


@dataclass(frozen=True, slots=True)
class Disagreement:
    trace_id: str
    source_trace_id: str
    disagreement: float  # 0 (all agree) .. 1, the mean over the item's schemas
    answers: dict[str, dict[str, Any]]  # schema -> labeler -> value


@dataclass(frozen=True, slots=True)
class Report:
    session: labeling.Session
    schemas: list[SchemaAgreement]
    labelers: list[LabelerAgreement]
    disagreements: list[Disagreement]


@dataclass(frozen=True, slots=True)
class _Labels:
    """One schema's answers as parallel arrays: item and labeler indexes, text and number, JSON."""

    items: npt.NDArray[np.int64]
    labelers: npt.NDArray[np.int64]
    labels: npt.NDArray[np.object_]
    codes: npt.NDArray[np.int64]  # the label's rank among the schema's distinct labels (from SQL)
    numbers: stats.Array
    values: npt.NDArray[np.object_]

    def where(self, mask: npt.NDArray[np.bool_]) -> _Labels:
        return _Labels(
            self.items[mask],
            self.labelers[mask],
            self.labels[mask],
            self.codes[mask],
            self.numbers[mask],
            self.values[mask],
        )


def _read(
    cursor: duckdb.DuckDBPyConnection, session_id: str
) -> tuple[_Labels, list[str], npt.NDArray[np.object_], stats.Array]:
    """Every counted label of the session, columnar (one fetch: a Python loop over 90,000 rows cost
    ~1 s), with the labelers' names, each label's schema and time (epoch ms)."""
    data = cursor.execute(LABELS, {"session": session_id}).fetchnumpy()
    labelers = [str(name) for name in np.unique(np.asarray(data["labeler"], dtype=str))] if len(data["labeler"]) else []
    labels = _Labels(
        np.asarray(data["item"], dtype=np.int64),
        np.asarray(data["person"], dtype=np.int64),
        np.asarray(data["value_label"], dtype=object),
        np.asarray(data["code"], dtype=np.int64),
        np.asarray(data["number"], dtype=np.float64),
        np.asarray(data["value"], dtype=object),
    )
    return labels, labelers, np.asarray(data["label_schema"], dtype=object), np.asarray(data["at"], dtype=np.float64)


def report(cursor: duckdb.DuckDBPyConnection, session_id: str) -> Report:
    session = labeling.get(cursor, session_id)
    items = cursor.execute(ITEMS, [session_id]).fetchall()
    input_types = {
        s.name: s.input_type for s in label_schemas.list_schemas(cursor, session.experiment_id, MAX_SCHEMAS, 0)
    }
    every, names, schema_of, at = _read(cursor, session_id)
    seconds = _median_seconds(every.labelers, every.items, at, len(names), len(items))
    schemas, rows = [], []
    spread, spread_count = np.zeros(len(items)), np.zeros(len(items))
    for schema in session.label_schemas:
        labels = every.where(schema_of == schema)
        input_type = input_types.get(schema, "text")
        result, per_labeler, per_item = _schema(
            schema, input_type, LEVELS.get(input_type, "text"), labels, len(items), len(names)
        )
        schemas.append(result)
        for person, (count, agree, lenient) in per_labeler.items():
            rows.append(LabelerAgreement(names[person], schema, count, seconds[person], agree, lenient))
        seen = ~np.isnan(per_item)
        spread[seen] += per_item[seen]
        spread_count[seen] += 1
    with np.errstate(invalid="ignore"):
        mean_spread = np.where(spread_count > 0, spread / np.maximum(spread_count, 1), np.nan)
    order = [
        int(i)
        for i in np.argsort(-np.nan_to_num(mean_spread, nan=-1.0), kind="stable")[:MAX_DISAGREEMENTS]
        if mean_spread[i] > 0
    ]
    answers: dict[int, dict[str, dict[str, Any]]] = {i: {} for i in order}
    for row in np.flatnonzero(np.isin(every.items, order)):
        item = int(every.items[row])
        answers[item].setdefault(str(schema_of[row]), {})[names[every.labelers[row]]] = orjson.loads(every.values[row])
    worst = [Disagreement(items[i][0], items[i][1], float(mean_spread[i]), answers[i]) for i in order]
    return Report(session, schemas, rows, worst)


def _median_seconds(
    person_of: npt.NDArray[np.int64], item_of: npt.NDArray[np.int64], at: stats.Array, n_people: int, n_items: int
) -> list[float]:
    """Per labeler, the median gap between their successive items (by each item's first answer)."""
    first = np.full(n_people * n_items, np.inf)
    np.minimum.at(first, person_of * n_items + item_of, at)
    out = [math.nan] * n_people
    for person in range(n_people):
        found = first[person * n_items : (person + 1) * n_items]
        gaps = np.diff(np.sort(found[np.isfinite(found)])) / 1000.0
        gaps = gaps[gaps <= BREAK_S]
        out[person] = float(np.median(gaps)) if gaps.size else math.nan
    return out


def _codes(labels: _Labels, level: str) -> tuple[npt.NDArray[np.int64], list[str], stats.Array]:
    """Each answer's code, the categories in code order, and their distance matrix."""
    if level == "set":
        keys = [tuple(sorted(map(str, orjson.loads(v) or []))) for v in labels.values]
        categories = sorted(set(keys))
        code = {k: i for i, k in enumerate(categories)}
        distances = stats.jaccard_distances([frozenset(k) for k in categories])
        return np.array([code[k] for k in keys], dtype=np.int64), [", ".join(k) for k in categories], distances
    ranks, first = np.unique(labels.codes, return_index=True)  # SQL ranked the labels: no string sort here
    codes = np.searchsorted(ranks, labels.codes)
    return codes.astype(np.int64), [str(labels.labels[i]) for i in first], stats.nominal_distances(len(ranks))


def _schema(
    name: str, input_type: str, level: str, labels: _Labels, n_items: int, n_people: int
) -> tuple[SchemaAgreement, dict[int, tuple[int, float, float]], stats.Array]:
    """The schema's figures, (items, agreement, leniency) per labeler, and each item's disagreement."""
    item_of, person_of = labels.items, labels.labelers
    answered_items = int(np.unique(item_of).size)
    people = np.unique(person_of)
    codes, categories, distances = _codes(labels, level)
    nan = stats.NAN
    alpha, cohen, fleiss, percent = nan, nan, nan, nan
    confusion: list[list[int]] = []
    if level != "text" and codes.size:
        m, agree = stats.pair_counts(item_of, codes, n_items)
        percent = stats.percent_agreement(m, agree)
        if level == "interval":
            alpha = stats.interval_alpha(item_of, labels.numbers, n_items)
        else:
            units = stats.units(item_of, codes, n_items, distances)
            alpha = stats.alpha(units)
            if level == "nominal":
                fleiss = stats.fleiss_kappa(units)
                pairs = units.counts.T @ units.counts - np.diag(units.counts.sum(axis=0))
                confusion = [[int(x) for x in row] for row in pairs]
        if people.size == 2 and level == "nominal":
            cohen = _cohen(item_of, person_of, codes, people, len(categories))
    grid = np.full((n_items, n_people), -1, dtype=np.int64)
    grid[item_of, person_of] = codes
    numbers = np.full((n_items, n_people), np.nan)
    numbers[item_of, person_of] = labels.numbers
    similarity = 1.0 - distances if level != "interval" else None
    per_labeler = {int(p): _labeler(grid, numbers, int(p), people, similarity, input_type, level) for p in people}
    per_item = _item_spread(grid, numbers, people, distances, level)
    result = SchemaAgreement(
        name,
        input_type,
        level,
        answered_items,
        int(people.size),
        int(codes.size),
        alpha,
        cohen,
        fleiss,
        percent,
        categories if confusion else [],
        confusion,
    )
    return result, per_labeler, per_item


def _cohen(
    item_of: npt.NDArray[np.int64],
    person_of: npt.NDArray[np.int64],
    codes: npt.NDArray[np.int64],
    people: npt.NDArray[np.int64],
    k: int,
) -> stats.Estimate:
    first = {int(i): int(c) for i, p, c in zip(item_of, person_of, codes, strict=True) if p == people[0]}
    second = {int(i): int(c) for i, p, c in zip(item_of, person_of, codes, strict=True) if p == people[1]}
    both = sorted(first.keys() & second.keys())
    return stats.cohen_kappa(
        np.array([first[i] for i in both], dtype=np.int64), np.array([second[i] for i in both], dtype=np.int64), k
    )


def _labeler(
    grid: npt.NDArray[np.int64],
    numbers: stats.Array,
    person: int,
    people: npt.NDArray[np.int64],
    similarity: stats.Array | None,
    input_type: str,
    level: str,
) -> tuple[int, float, float]:
    mine = grid[:, person]
    answered = mine >= 0
    total, count = 0.0, 0
    others_sum = np.zeros(grid.shape[0])
    others_n = np.zeros(grid.shape[0])
    for other in people:
        if other == person:
            continue
        theirs = grid[:, other]
        shared = answered & (theirs >= 0)
        if similarity is not None:
            total += float(similarity[mine[shared], theirs[shared]].sum())
        else:
            total += float((mine[shared] == theirs[shared]).sum())
        count += int(shared.sum())
        valid = shared & ~np.isnan(numbers[:, other])
        others_sum[valid] += numbers[valid, other]
        others_n[valid] += 1
    leniency = math.nan
    if level != "text" and input_type in ("numeric", "pass_fail"):
        with_others = answered & (others_n > 0) & ~np.isnan(numbers[:, person])
        if with_others.any():
            offsets = numbers[with_others, person] - others_sum[with_others] / others_n[with_others]
            leniency = float(offsets.mean())
    return int(answered.sum()), (total / count if count else math.nan), leniency


def _item_spread(
    grid: npt.NDArray[np.int64], numbers: stats.Array, people: npt.NDArray[np.int64], distances: stats.Array, level: str
) -> stats.Array:
    """Each item's mean distance between two of its answers, scaled to 0..1 (NaN: fewer than two)."""
    total = np.zeros(grid.shape[0])
    pairs = np.zeros(grid.shape[0])
    if level == "text":
        return np.full(grid.shape[0], np.nan)
    scale = 1.0
    if level == "interval":
        finite = numbers[~np.isnan(numbers)]
        scale = float(finite.max() - finite.min()) if finite.size and finite.max() > finite.min() else 1.0
    for i, a in enumerate(people):
        for b in people[i + 1 :]:
            both = (grid[:, a] >= 0) & (grid[:, b] >= 0)
            if level == "interval":
                total[both] += np.abs(numbers[both, a] - numbers[both, b]) / scale
            else:
                total[both] += distances[grid[both, a], grid[both, b]]
            pairs[both] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, total / pairs, np.nan)


# -- JSON (REST, the /agreement page and the SDK read this one shape) --------------------------------
def number(value: float) -> float | None:
    """NaN (undefined: too few labels, one labeler...) is JSON null."""
    return None if value is None or math.isnan(value) else value


def estimate_json(e: stats.Estimate) -> dict[str, float | None]:
    return {"value": number(e.value), "low": number(e.low), "high": number(e.high)}


def report_json(r: Report) -> dict[str, Any]:
    return {
        "session_id": r.session.session_id,
        "name": r.session.name,
        "experiment_id": r.session.experiment_id,
        "queue_type": r.session.queue_type,
        "schemas": [
            {
                "schema": s.schema,
                "input_type": s.input_type,
                "level": s.level,
                "items": s.items,
                "labelers": s.labelers,
                "answers": s.answers,
                "alpha": estimate_json(s.alpha),
                "cohen_kappa": estimate_json(s.cohen_kappa),
                "fleiss_kappa": estimate_json(s.fleiss_kappa),
                "percent_agreement": estimate_json(s.percent_agreement),
                "categories": s.categories,
                "confusion": s.confusion,
            }
            for s in r.schemas
        ],
        "labelers": [
            {
                "labeler": row.labeler,
                "schema": row.schema,
                "items": row.items,
                "median_seconds_per_item": number(row.median_seconds_per_item),
                "agreement": number(row.agreement),
                "leniency": number(row.leniency),
            }
            for row in r.labelers
        ],
        "disagreements": [
            {
                "trace_id": d.trace_id,
                "source_trace_id": d.source_trace_id,
                "disagreement": d.disagreement,
                "answers": d.answers,
            }
            for d in r.disagreements
        ],
    }
