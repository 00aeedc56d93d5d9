"""Reading traces back: ``get_trace`` and ``search_traces`` (MLflow's signatures, DataFrame and messages).

``search_traces`` pages through ``POST /traces/search`` with ``page_token`` until ``max_results``
(all matches when ``None``), then fetches spans in batches, and returns MLflow's v3 DataFrame
(``TRACE_SCHEMA_COLUMNS``, in order) or a list of ``Trace``. pandas is imported only here, and
only for ``return_type="pandas"``.

Experiments: ``locations`` wins over ``experiment_ids``; with neither, the experiment chosen by
``set_experiment`` (a name is resolved with ``GET experiments/get-by-name``, and a missing one
fails with the server's MLflow message), else MLflow's Default experiment ``"0"``.
``model_id`` filters on trace metadata ``mlflow.modelId`` and ``run_id`` on ``mlflow.sourceRun``,
as MLflow's client builds them (the collector has no runs to check the run's experiment against).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from annotrace import tracking
from annotrace.client import traces as client
from annotrace.entities.trace import TRACE_SCHEMA_COLUMNS, Trace, TraceData
from annotrace.entities.trace_info import TraceInfo
from annotrace.exceptions import AnnotraceException, ErrorCode

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["get_trace", "search_traces"]

_logger = logging.getLogger(__name__)

DEFAULT_EXPERIMENT_ID = "0"
SOURCE_RUN_KEY = "mlflow.sourceRun"
_FIELD = re.compile(r"^(`[^`]+`|[^.`]+)\.(inputs|outputs)(?:\.(.+))?$")


def _literal(value: str) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def get_trace(trace_id: str, silent: bool = False) -> Trace | None:
    """The trace with its spans and assessments, or ``None`` (with a warning) if it does not exist.

    Only "not found" becomes ``None``, as in MLflow; an unreachable collector raises. A trace this
    process has just made is found: the REST client exports this process's ended spans first, and
    the collector answers only once what it acknowledged is stored.
    """
    try:
        return client.get_trace(trace_id)
    except AnnotraceException as error:
        if error.error_code != ErrorCode.RESOURCE_DOES_NOT_EXIST:
            raise
        if not silent:
            _logger.warning("Failed to get trace from the tracking store: %s", error.message)
        return None


def _resolve_experiment_ids(experiment_ids: Sequence[str] | None, locations: Sequence[str] | None) -> list[str]:
    if locations:
        return [str(location) for location in locations]
    if experiment_ids:
        return [str(experiment_id) for experiment_id in experiment_ids]
    choice = tracking.get_experiment()
    if choice is None:
        return [DEFAULT_EXPERIMENT_ID]
    if choice.experiment_id is not None:
        return [choice.experiment_id]
    assert choice.name is not None
    return [client.get_experiment_id_by_name(choice.name)]


def _build_filter(filter_string: str | None, run_id: str | None, model_id: str | None) -> str | None:
    if model_id is not None:
        if filter_string:
            raise AnnotraceException.invalid_parameter_value(
                "Cannot specify both `model_id` or `filter_string` in the search_traces call."
            )
        filter_string = f"request_metadata.`mlflow.modelId` = {_literal(model_id)}"
    if run_id:
        run_filter = f"metadata.`{SOURCE_RUN_KEY}` = {_literal(run_id)}"
        if filter_string:
            if SOURCE_RUN_KEY in filter_string:
                raise AnnotraceException.invalid_parameter_value(
                    "You cannot filter by run_id when it is already part of the filter string."
                    f"Please remove the {SOURCE_RUN_KEY} filter from the filter string and try again."
                )
            filter_string = f"{filter_string} AND {run_filter}"
        else:
            filter_string = run_filter
    return filter_string


def _parse_fields(fields: Sequence[str]) -> list[tuple[str, str, str, str | None]]:
    """``span.inputs[.key]`` / ``span.outputs[.key]`` -> (column, span name, inputs|outputs, key)."""
    parsed = []
    for field in fields:
        match = _FIELD.match(field)
        if match is None:
            raise AnnotraceException.invalid_parameter_value(
                f"Field must be of the form 'span_name.[inputs|outputs]' or 'span_name.[inputs|outputs].field_name', "
                f"got '{field}'."
            )
        span_name, which, key = match.groups()
        parsed.append((field, span_name.strip("`"), which, key))
    return parsed


def _extract(trace: Trace, fields: list[tuple[str, str, str, str | None]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column, span_name, which, key in fields:
        value = None
        for span in trace.data.spans:
            if span.name != span_name:
                continue
            data = span.inputs if which == "inputs" else span.outputs
            if key is None:
                value = data
            elif isinstance(data, dict):
                value = data.get(key)
            break
        out[column] = value
    return out


def _search(
    experiment_ids: list[str],
    filter_string: str | None,
    max_results: int | None,
    order_by: list[str] | None,
    include_spans: bool,
) -> list[Trace]:
    infos: list[TraceInfo] = []
    token: str | None = None
    while True:
        want = client.MAX_PAGE_SIZE if max_results is None else max_results - len(infos)
        page, token = client.search_trace_infos(experiment_ids, filter_string, want, order_by, token)
        infos.extend(page)
        if not token or (max_results is not None and len(infos) >= max_results):
            break
    if not include_spans:
        return [Trace(info=info, data=TraceData(spans=[])) for info in infos]
    found = client.batch_get_traces([info.trace_id for info in infos])
    traces = []
    for info in infos:
        full = found.get(info.trace_id)
        if full is None:  # deleted between the search and the fetch: MLflow drops it too
            _logger.debug("annotrace: trace %s vanished during search_traces", info.trace_id)
            continue
        traces.append(Trace(info=info, data=full.data))
    return traces


def search_traces(
    experiment_ids: list[str] | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: list[str] | None = None,
    extract_fields: list[str] | None = None,
    run_id: str | None = None,
    return_type: Literal["pandas", "list"] | None = None,
    model_id: str | None = None,
    sql_warehouse_id: str | None = None,
    include_spans: bool = True,
    locations: list[str] | None = None,
    flush: bool = False,
) -> pd.DataFrame | list[Trace]:
    """Traces matching ``filter_string`` (MLflow's grammar), newest first unless ``order_by`` says otherwise.

    ``return_type="pandas"`` (the default) gives MLflow's DataFrame, one row per trace with the
    columns ``trace_id, trace, client_request_id, state, request_time, execution_duration,
    request, response, trace_metadata, tags, spans, assessments`` (plus one per ``extract_fields``
    entry, a deprecated MLflow option); ``"list"`` gives ``Trace`` objects.
    ``include_spans=False`` skips the span fetch. ``sql_warehouse_id`` (Databricks-only) is
    accepted and ignored.
    """
    del sql_warehouse_id
    return_type = return_type or "pandas"
    if return_type not in ("pandas", "list"):
        raise AnnotraceException.invalid_parameter_value(
            f"Invalid return type: {return_type}. Return type must be either 'pandas' or 'list'."
        )
    if extract_fields and return_type == "list":
        raise AnnotraceException.invalid_parameter_value(
            "The `extract_fields` parameter is only supported when return type is set to 'pandas'."
        )
    if max_results is not None and (
        isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1
    ):
        raise AnnotraceException.invalid_parameter_value(
            f"Invalid value {max_results!r} for parameter 'max_results' supplied: it must be a positive integer."
        )
    fields = _parse_fields(extract_fields or [])
    del flush  # MLflow's option; every REST call flushes this process's spans first
    ids = _resolve_experiment_ids(experiment_ids, locations)
    traces = _search(ids, _build_filter(filter_string, run_id, model_id), max_results, order_by, include_spans)
    if return_type == "list":
        return traces

    import pandas as pd

    rows = [{**trace.to_pandas_dataframe_row(), **_extract(trace, fields)} for trace in traces]
    columns = TRACE_SCHEMA_COLUMNS + [column for column, *_ in fields]
    return pd.DataFrame.from_records(rows, columns=columns)
