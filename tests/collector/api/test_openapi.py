"""Schemathesis over the native OpenAPI document, against the real collector: every operation is
fed requests generated from the document and requests that break it; none may answer 5xx, one
the document allows must not be refused (so the document and the server agree), one it forbids
must be (bodies only: every path parameter takes any string). ``MAX_EXAMPLES`` per operation
keeps the run under a minute. (Schemathesis' own pytest plugin does not run under pytest 9; the loop
below is what it would do.)"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.collector_process import Collector

MAX_EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}
SEMANTIC_400 = {
    "POST /api/v1/sql",
    "GET /api/v1/agreement/judges",
    "POST /api/v1/users",
    "POST /api/v1/labeling/sessions",
    "POST /api/v1/labeling/sessions/{session_id}/routing-rules",
}
"""Operations where a schema-valid request can still be refused, as documented: any string is a
valid ``query`` for the document but only SQL runs (the 400 names the SQL error); the judges
report needs ``experiment_id`` or ``session_id``, one of two query parameters, which OpenAPI
cannot express; a user name that is taken is MLflow's RESOURCE_ALREADY_EXISTS, which MLflow
answers with 400 (not the 409 schemathesis expects), and generated names repeat; a session's
``label_schemas`` must name schemas that exist, and MLflow answers an unknown one with
INVALID_PARAMETER_VALUE (400), which a document cannot express; a routing rule needs exactly one of
``filter`` and ``sql``, and either must be one that can run (a filter in search_traces' grammar, a
read-only query returning trace_id), which is checked by parsing, not by the document."""


def test_native_api_agrees_with_its_document(collector: Collector) -> None:
    schema = schemathesis.openapi.from_url(f"{collector.web}/api/v1/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 10
    for operation in operations:
        for mode, examples in MAX_EXAMPLES.items():
            if mode is GenerationMode.NEGATIVE and not len(operation.body):
                continue  # only bodies can break the document here: any string fits a path parameter

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def check(case: Case) -> None:
                excluded = [positive_data_acceptance] if case.operation.label in SEMANTIC_400 else []
                case.call_and_validate(excluded_checks=excluded)

            try:
                check()
            except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report them all
                failures.append(f"{operation.label} ({mode.value}): {exc}"[:3000])
    assert failures == [], "\n\n".join(failures)
