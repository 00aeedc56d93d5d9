"""``annotrace.genai.agreement`` and ``judge_agreement``: can the labels be trusted? Agreement between labelers of a
labeling session or review queue, and between judges (LLM_JUDGE / CODE) and the humans.

MLflow has no such function (open requests #22948 and #22947); these read the collector's
``/api/v1/agreement/...`` routes, so the SDK, the REST API and the /agreement page show the same
figures. Each returns a pandas DataFrame, one row per label schema (``by="schema"``), per labeler
and schema (``by="labeler"``), per item with the most disagreement (``by="item"``), or per judge.
(The module is not named ``agreement``: importing it would then shadow the function of that name
on ``annotrace.genai``.)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from annotrace.client import rest
from annotrace.exceptions import AnnotraceException

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["agreement", "judge_agreement"]

ESTIMATES = ("alpha", "cohen_kappa", "fleiss_kappa", "percent_agreement", "kappa", "accuracy")
BY = ("schema", "labeler", "item")


def session_id_of(session_or_queue: Any, what: str = "agreement()") -> str:
    """A LabelingSession, an MLflow ReviewQueue (stock client or ours), or an id; ``what`` names the caller."""
    if isinstance(session_or_queue, str):
        return session_or_queue
    for attribute in ("mlflow_run_id", "queue_id", "labeling_session_id"):
        value = getattr(session_or_queue, attribute, None)
        if isinstance(value, str):
            return value
    raise AnnotraceException(
        f"{what} takes a labeling session, a review queue or its id; got {type(session_or_queue).__name__}.",
        error_code="INVALID_PARAMETER_VALUE",
    )


def _flatten(row: dict[str, Any]) -> dict[str, Any]:
    """``{"alpha": {"value", "low", "high"}}`` -> ``alpha``, ``alpha_low``, ``alpha_high`` columns
    (undefined figures, JSON null, as NaN so the columns stay numeric)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in ESTIMATES and isinstance(value, dict):
            for column, part in ((key, "value"), (f"{key}_low", "low"), (f"{key}_high", "high")):
                out[column] = math.nan if value[part] is None else value[part]
        else:
            out[key] = value
    return out


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame([_flatten(row) for row in rows])


def agreement(session_or_queue: Any, *, by: str = "schema") -> pd.DataFrame:
    """Agreement of the labelers of a labeling session or review queue.

    ``by="schema"``: one row per label schema: ``level`` (nominal, interval, set or text), counts,
    ``alpha`` (Krippendorff, at that level), ``cohen_kappa`` (two labelers), ``fleiss_kappa``
    (nominal), ``percent_agreement``, each with ``*_low``/``*_high`` (bootstrap 95% interval),
    and the ``confusion`` matrix over ``categories``. ``by="labeler"``: per labeler and schema:
    items, median seconds per item, agreement with the others, leniency. ``by="item"``: the items
    with the most disagreement, each with every labeler's answers. Every HUMAN assessment on the
    items counts, wherever it came from (Review App, REST, ``log_feedback``).
    """
    if by not in BY:
        raise AnnotraceException(
            f"Invalid value for parameter 'by': {by!r}; expected one of {', '.join(BY)}.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    report = rest.call("GET", f"/api/v1/agreement/{rest.quote(session_id_of(session_or_queue))}")
    key = {"schema": "schemas", "labeler": "labelers", "item": "disagreements"}[by]
    return _frame(report[key])


def judge_agreement(name: str, *, experiment_id: str | None = None, session_or_queue: Any = None) -> pd.DataFrame:
    """How each judge (LLM_JUDGE or CODE ``source_id``) of feedback ``name`` agrees with the humans
    on the traces both assessed: one row per judge with ``traces``, ``kappa`` (nominal answers),
    ``alpha``, ``accuracy`` (each with its interval), the ``confusion`` matrix (rows: human,
    columns: judge) over ``categories``, and ``disagreeing_trace_ids``. Scope: ``experiment_id``
    (default: the current experiment) or a session's / queue's items."""
    params: dict[str, str] = {"name": name}
    if session_or_queue is not None:
        params["session_id"] = session_id_of(session_or_queue)
    else:
        from annotrace.genai.label_schemas import current_experiment_id

        params["experiment_id"] = experiment_id or current_experiment_id()
    return _frame(rest.call("GET", "/api/v1/agreement/judges", params=params)["judges"])
