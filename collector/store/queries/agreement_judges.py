"""Judge against human: for one feedback name, how well each LLM_JUDGE or CODE source agrees with
the humans on the traces both assessed. One row per judge ``source_id``, so judge versions can be
compared over time.

The human answer of a trace: a gold label (a valid HUMAN assessment that overrides another), else
the value most humans gave (their latest each); a tie leaves the trace out (there is no human
answer to agree with). A labeling session labels copies of traces while judges usually score the
originals, so an assessment on a copy counts for its source trace (``labeling_items``), and trace
ids are reported as the source's.

Nominal answers (strings, booleans) get Cohen's kappa of judge vs human, accuracy (exact match)
and a confusion matrix (rows: human, columns: judge); numeric answers get Krippendorff's interval
alpha and accuracy (exact match). Krippendorff's alpha at the answer's level comes with both.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np

from annotrace.collector.store.queries import agreement_stats as stats
from annotrace.collector.store.queries.agreement import estimate_json

MAX_DISAGREEING = 100

ASSESSMENTS = (
    "SELECT coalesce(li.source_trace_id, a.trace_id) AS subject, a.source_type, a.source_id, a.value_label, "
    "a.value_number, json_type(a.value) = 'BOOLEAN' OR json_type(a.value) = 'VARCHAR' AS nominal, "
    "a.overrides IS NOT NULL AND a.valid AS gold "
    "FROM assessments a JOIN traces t ON t.trace_id = a.trace_id "
    "LEFT JOIN labeling_items li ON li.trace_id = a.trace_id AND li.trace_id <> li.source_trace_id "
    "WHERE a.assessment_name = $name AND a.kind = 'feedback' AND a.span_id IS NULL AND a.value IS NOT NULL "
    "AND a.source_type IN ('HUMAN', 'LLM_JUDGE', 'CODE') "
    "AND ($experiment::VARCHAR IS NULL OR t.experiment_id = $experiment) "
    "AND ($session::VARCHAR IS NULL OR coalesce(li.source_trace_id, a.trace_id) IN ("
    "    SELECT source_trace_id FROM labeling_items WHERE session_id = $session)) "
    "QUALIFY row_number() OVER (PARTITION BY a.trace_id, a.source_type, a.source_id, a.overrides IS NOT NULL "
    "                           ORDER BY a.last_update_time DESC, a.assessment_id) = 1"
)


@dataclass(frozen=True, slots=True)
class JudgeAgreement:
    name: str
    source_type: str
    source_id: str
    traces: int  # traces with both this judge's value and a human answer
    level: str  # nominal | interval
    kappa: stats.Estimate
    alpha: stats.Estimate
    accuracy: stats.Estimate
    categories: list[str] = field(default_factory=list)
    confusion: list[list[int]] = field(default_factory=list)  # rows: human, columns: judge
    disagreeing_trace_ids: list[str] = field(default_factory=list)


def _human_answers(rows: list[tuple[object, ...]]) -> dict[str, tuple[str, float | None, bool]]:
    gold: dict[str, tuple[str, float | None, bool]] = {}
    votes: dict[str, Counter[tuple[str, float | None, bool]]] = {}
    for subject, source_type, _source, label, number, nominal, is_gold in rows:
        if source_type != "HUMAN":
            continue
        answer = (str(label), None if number is None else float(str(number)), bool(nominal))
        if is_gold:
            gold[str(subject)] = answer
        else:
            votes.setdefault(str(subject), Counter())[answer] += 1
    out = dict(gold)
    for subject, counter in votes.items():
        if subject in out:
            continue
        top = counter.most_common(2)
        if len(top) == 1 or top[0][1] > top[1][1]:
            out[subject] = top[0][0]
    return out


def judges(
    cursor: duckdb.DuckDBPyConnection, name: str, *, experiment_id: str | None = None, session_id: str | None = None
) -> list[JudgeAgreement]:
    rows = cursor.execute(ASSESSMENTS, {"name": name, "experiment": experiment_id, "session": session_id}).fetchall()
    humans = _human_answers(rows)
    by_judge: dict[tuple[str, str], list[tuple[str, str, float | None]]] = {}
    for subject, source_type, source_id, label, number, _nominal, _gold in rows:
        if source_type == "HUMAN" or str(subject) not in humans:
            continue
        by_judge.setdefault((str(source_type), str(source_id)), []).append(
            (str(subject), str(label), None if number is None else float(str(number)))
        )
    return [
        _judge(name, source_type, source_id, found, humans)
        for (source_type, source_id), found in sorted(by_judge.items())
    ]


def _judge(
    name: str,
    source_type: str,
    source_id: str,
    found: list[tuple[str, str, float | None]],
    humans: dict[str, tuple[str, float | None, bool]],
) -> JudgeAgreement:
    found.sort()
    subjects = [s for s, _, _ in found]
    human = [humans[s] for s in subjects]
    nominal = all(h[2] for h in human) or any(n is None for _, _, n in found) or any(h[1] is None for h in human)
    matches = np.array([label == h[0] for (_, label, _), h in zip(found, human, strict=True)], dtype=np.float64)
    accuracy = stats.percent_agreement(np.full(len(found), 2.0), 2.0 * matches)
    disagreeing = [s for s, same in zip(subjects, matches, strict=True) if not same][:MAX_DISAGREEING]
    items = np.repeat(np.arange(len(found)), 2)
    if nominal:
        categories = sorted({h[0] for h in human} | {label for _, label, _ in found})
        code = {c: i for i, c in enumerate(categories)}
        human_codes = np.array([code[h[0]] for h in human], dtype=np.int64)
        judge_codes = np.array([code[label] for _, label, _ in found], dtype=np.int64)
        kappa = stats.cohen_kappa(human_codes, judge_codes, len(categories))
        codes = np.stack([human_codes, judge_codes], axis=1).ravel()
        alpha = stats.alpha(stats.units(items, codes, len(found), stats.nominal_distances(len(categories))))
        confusion = np.zeros((len(categories), len(categories)), dtype=np.int64)
        np.add.at(confusion, (human_codes, judge_codes), 1)
        return JudgeAgreement(
            name,
            source_type,
            source_id,
            len(found),
            "nominal",
            kappa,
            alpha,
            accuracy,
            categories,
            confusion.tolist(),
            disagreeing,
        )
    numbers = np.stack(
        [np.array([h[1] for h in human], dtype=np.float64), np.array([n for _, _, n in found], dtype=np.float64)],
        axis=1,
    ).ravel()
    alpha = stats.interval_alpha(items, numbers, len(found))
    return JudgeAgreement(
        name, source_type, source_id, len(found), "interval", stats.NAN, alpha, accuracy, [], [], disagreeing
    )


def judges_json(rows: list[JudgeAgreement]) -> dict[str, Any]:
    return {
        "judges": [
            {
                "name": j.name,
                "source_type": j.source_type,
                "source_id": j.source_id,
                "traces": j.traces,
                "level": j.level,
                "kappa": estimate_json(j.kappa),
                "alpha": estimate_json(j.alpha),
                "accuracy": estimate_json(j.accuracy),
                "categories": j.categories,
                "confusion": j.confusion,
                "disagreeing_trace_ids": j.disagreeing_trace_ids,
            }
            for j in rows
        ]
    }
