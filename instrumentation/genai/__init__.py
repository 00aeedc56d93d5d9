"""``annotrace.genai`` (MLflow's ``mlflow.genai``): label schemas, labeling sessions for human
review, and evaluation datasets. Names load from their submodule on first access, so
``import annotrace.genai`` is cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from annotrace._lazy import attach

if TYPE_CHECKING:
    from annotrace.genai.datasets import (
        EvaluationDataset,
        create_dataset,
        delete_dataset,
        get_dataset,
        search_datasets,
    )
    from annotrace.genai.label_schemas import (
        create_label_schema,
        delete_label_schema,
        get_label_schema,
        list_label_schemas,
        update_label_schema,
    )
    from annotrace.genai.labeling import (
        LabelingSession,
        create_labeling_session,
        delete_labeling_session,
        get_labeling_session,
        get_labeling_sessions,
    )
    from annotrace.genai.review_agreement import agreement, judge_agreement
    from annotrace.genai.routing_rules import (
        RoutingRule,
        create_routing_rule,
        delete_routing_rule,
        list_routing_rules,
    )

__all__ = [
    "EvaluationDataset",
    "LabelingSession",
    "RoutingRule",
    "agreement",
    "create_dataset",
    "create_label_schema",
    "create_labeling_session",
    "create_routing_rule",
    "datasets",
    "delete_dataset",
    "delete_label_schema",
    "delete_labeling_session",
    "delete_routing_rule",
    "get_dataset",
    "get_label_schema",
    "get_labeling_session",
    "get_labeling_sessions",
    "judge_agreement",
    "label_schemas",
    "labeling",
    "list_label_schemas",
    "list_routing_rules",
    "search_datasets",
    "update_label_schema",
]

_LAZY: dict[str, str] = {
    "EvaluationDataset": "annotrace.genai.datasets",
    "agreement": "annotrace.genai.review_agreement",
    "judge_agreement": "annotrace.genai.review_agreement",
    "RoutingRule": "annotrace.genai.routing_rules",
    "create_routing_rule": "annotrace.genai.routing_rules",
    "delete_routing_rule": "annotrace.genai.routing_rules",
    "list_routing_rules": "annotrace.genai.routing_rules",
    "create_dataset": "annotrace.genai.datasets",
    "delete_dataset": "annotrace.genai.datasets",
    "get_dataset": "annotrace.genai.datasets",
    "search_datasets": "annotrace.genai.datasets",
    "LabelingSession": "annotrace.genai.labeling",
    "create_label_schema": "annotrace.genai.label_schemas",
    "create_labeling_session": "annotrace.genai.labeling",
    "delete_label_schema": "annotrace.genai.label_schemas",
    "delete_labeling_session": "annotrace.genai.labeling",
    "get_label_schema": "annotrace.genai.label_schemas",
    "get_labeling_session": "annotrace.genai.labeling",
    "get_labeling_sessions": "annotrace.genai.labeling",
    "list_label_schemas": "annotrace.genai.label_schemas",
    "update_label_schema": "annotrace.genai.label_schemas",
}
_SUBMODULES = frozenset({"datasets", "label_schemas", "labeling"})


__getattr__, __dir__ = attach(__name__, _LAZY, _SUBMODULES)
