"""Client scripts: the scorer registry (Scorer.register, list_scorers, get_scorer, delete_scorer).

Run by tests/differential/client_runner.py under each client version: mlflow and the standard
library only.
"""

from __future__ import annotations

from typing import Any

import mlflow
from mlflow.genai.judges import make_judge
from mlflow.genai.scorers import (
    Guidelines,
    delete_scorer,
    get_scorer,
    list_scorers,
    scorer,
)


def _scorer(s: Any) -> dict[str, Any]:
    return {"name": s.name, "class": type(s).__name__}


def register_list_get_delete(client: Any) -> dict[str, Any]:
    """Built-in and make_judge scorers register and come back; @scorer code is refused, as by default."""
    mlflow.set_experiment(f"diff-scorers-{client.unique}")

    @scorer
    def exact_match(outputs: str, expectations: dict[str, Any]) -> bool:
        return outputs == expectations["expected_response"]

    polite = Guidelines(name="polite", guidelines="The answer is polite.")
    concise = make_judge(
        name="concise", instructions="Is {{ outputs }} concise?", model="openai:/gpt-4o-mini", feedback_value_type=bool
    )
    out: dict[str, Any] = {"custom": client.error(exact_match.register)}
    out["registered"] = [_scorer(polite.register()), _scorer(concise.register()), _scorer(concise.register())]
    out["listed"] = sorted((s.name, type(s).__name__) for s in list_scorers())
    latest = get_scorer(name="concise")
    first = get_scorer(name="concise", version=1)
    out["got"] = [_scorer(latest), _scorer(first), latest.instructions, first.instructions]
    out["errors"] = {
        "missing": client.error(get_scorer, name="no-such-scorer"),
        "missing_version": client.error(get_scorer, name="concise", version=7),
        "delete_missing": client.error(delete_scorer, name="no-such-scorer", version="all"),
        "delete_missing_version": client.error(delete_scorer, name="concise", version=7),
    }
    delete_scorer(name="concise", version=1)
    out["after_delete_v1"] = _scorer(get_scorer(name="concise"))
    out["v1_gone"] = client.error(get_scorer, name="concise", version=1)
    delete_scorer(name="polite", version="all")
    out["after_delete_all"] = sorted(s.name for s in list_scorers())
    return out
