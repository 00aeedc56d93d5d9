"""``annotrace.genai`` routing rules: new traces that match join a labeling session or review queue by themselves.

MLflow has no such thing (its queues are filled by hand); these call the collector's
``/api/v1/labeling/sessions/{id}/routing-rules`` routes. A rule is a ``search_traces`` filter
string or a read-only SQL query returning ``trace_id``, a sampling rate and a cap::

    session = annotrace.genai.create_labeling_session("triage", label_schemas=["quality"])
    annotrace.genai.create_routing_rule(session, filter_string="trace.status = 'ERROR'", sample_rate=0.1, max_traces=200)

From then on, each trace of the session's experiment whose root span reaches the collector is added
to the session if it matches, is in the sample (the same trace is always in or out) and the rule has
added fewer than ``max_traces``; a trace the session already holds is not added again. Traces stored
before the rule was created are not considered (``session.add_traces`` adds those). The collector
adds them before it acknowledges the export as stored, so listing the session's items right after a
traced call already shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from annotrace.client import rest
from annotrace.genai.review_agreement import session_id_of

__all__ = ["RoutingRule", "create_routing_rule", "delete_routing_rule", "list_routing_rules"]

_PATH = "/api/v1/labeling/sessions/{}/routing-rules"


@dataclass(frozen=True)
class RoutingRule:
    """A stored rule; ``traces_added`` counts the traces it has added so far, ``last_error`` why it last failed to run."""

    rule_id: str
    session_id: str
    filter_string: str | None
    sql: str | None
    sample_rate: float
    max_traces: int | None
    traces_added: int
    created_by: str | None
    create_time: str
    last_error: str | None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoutingRule:
        return cls(
            rule_id=data["rule_id"],
            session_id=data["session_id"],
            filter_string=data.get("filter"),
            sql=data.get("sql"),
            sample_rate=float(data["sample_rate"]),
            max_traces=data.get("max_traces"),
            traces_added=int(data["traces_added"]),
            created_by=data.get("created_by"),
            create_time=data["create_time"],
            last_error=data.get("last_error"),
        )


def _path(session_or_queue: Any, what: str) -> str:
    return _PATH.format(rest.quote(session_id_of(session_or_queue, what)))


def create_routing_rule(
    session_or_queue: Any,
    *,
    filter_string: str | None = None,
    sql: str | None = None,
    sample_rate: float = 1.0,
    max_traces: int | None = None,
) -> RoutingRule:
    """Route new matching traces into ``session_or_queue`` (a LabelingSession, a review queue, or an id).

    Give ``filter_string`` (``search_traces``'s grammar, over the session's experiment) or ``sql``
    (one read-only query whose ``trace_id`` column lists the traces to add). ``sample_rate`` in
    (0, 1] keeps that share of the matches, ``max_traces`` caps what the rule adds in all (None:
    no cap). A filter or query that cannot run is refused here with the reason."""
    body: dict[str, Any] = {"sample_rate": sample_rate, "max_traces": max_traces}
    if filter_string is not None:
        body["filter"] = filter_string
    if sql is not None:
        body["sql"] = sql
    answer = rest.call("POST", _path(session_or_queue, "create_routing_rule()"), json=body)
    return RoutingRule.from_dict(answer["routing_rule"])


def list_routing_rules(session_or_queue: Any) -> list[RoutingRule]:
    """The rules of a session or queue, oldest first, each with how many traces it has added."""
    answer = rest.call("GET", _path(session_or_queue, "list_routing_rules()"))
    return [RoutingRule.from_dict(rule) for rule in answer.get("routing_rules", [])]


def delete_routing_rule(session_or_queue: Any, rule: RoutingRule | str) -> None:
    """Stop a rule; the traces it added stay in the session."""
    rule_id = rule.rule_id if isinstance(rule, RoutingRule) else rule
    rest.call("DELETE", _path(session_or_queue, "delete_routing_rule()") + "/" + rest.quote(rule_id))
