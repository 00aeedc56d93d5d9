"""Client scripts: evaluation datasets (``mlflow.genai.datasets``): create, get, search with MLflow's
filter grammar and its default filter, tags, merge_records from dicts and from traces, to_df,
records paging, delete.

Run by tests/differential/client_runner.py under each client version: mlflow and the standard
library only.
"""

from __future__ import annotations

import json
import math
from typing import Any

import mlflow
from mlflow.genai import datasets


def _dataset(d: Any) -> dict[str, Any]:
    return {
        "dataset_id": d.dataset_id,
        "name": d.name,
        "tags": dict(sorted(d.tags.items())),
        "experiment_ids": list(d.experiment_ids),
        "digest": d.digest,
        "schema": json.loads(d.schema) if d.schema else d.schema,
        "profile": json.loads(d.profile) if d.profile else d.profile,
        "created_by": d.created_by,
        "last_updated_by": d.last_updated_by,
        "created_time": d.created_time,
        "last_update_time": d.last_update_time,
        "updated_after_created": d.last_update_time >= d.created_time,
    }


def _rows(ds: Any) -> list[dict[str, Any]]:
    """to_df() as records, in inputs order (MLflow orders records of one merge by random id)."""
    df = ds.to_df()
    rows = []
    for row in df.to_dict("records"):
        source = row.pop("source")
        row = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}  # NaN != NaN
        row["source"] = source.to_dict() if source is not None else None
        rows.append(row)
    return sorted(rows, key=lambda r: json.dumps(r["inputs"], sort_keys=True))


def crud_and_search(client: Any) -> dict[str, Any]:
    """create / get (by id and name) / set and delete tags / search with filters / delete."""
    name = f"golden-{client.unique}"
    experiment = mlflow.set_experiment(f"diff-ds-{client.unique}")
    created = datasets.create_dataset(name=name, tags={"team": "qa", "stage": "draft"})
    other = datasets.create_dataset(name=f"{name}-other", experiment_id=experiment.experiment_id, tags={"team": "ops"})
    out: dict[str, Any] = {
        "created": _dataset(created),
        "by_id": _dataset(datasets.get_dataset(dataset_id=created.dataset_id)),
        "by_name": _dataset(datasets.get_dataset(name=name)),
    }
    datasets.set_dataset_tags(created.dataset_id, {"stage": "v2", "rows": 3, "gone": None})
    datasets.delete_dataset_tag(created.dataset_id, "team")
    datasets.delete_dataset_tag(created.dataset_id, "no-such-tag")
    out["tags_after"] = dict(sorted(datasets.get_dataset(dataset_id=created.dataset_id).tags.items()))

    def names(**kwargs: Any) -> list[str]:
        return [d.name for d in datasets.search_datasets(**kwargs) if d.name.startswith(name)]

    out["search"] = {
        "default": names(),  # the client's default filter: created_time >= 7 days ago
        "experiment": names(experiment_ids=[experiment.experiment_id]),
        "equals": names(filter_string=f"name = '{name}'"),
        "like": names(filter_string=f"name LIKE '{name}%'", order_by=["name DESC"]),
        "like_case": names(filter_string=f"name LIKE '{name.upper()}%'"),
        "ilike": names(filter_string=f"name ILIKE '{name.upper()}%'", order_by=["name ASC"]),
        "in": names(filter_string=f"name IN ('{name}', 'nothing')"),
        "not_equal": names(filter_string=f"name != '{name}' AND name LIKE '{name}%'"),
        "tag": names(filter_string="tags.stage = 'v2'"),
        "tag_like": names(filter_string="tags.team LIKE 'o%'"),
        "tag_not_equal": names(filter_string=f"tags.team != 'qa' AND name LIKE '{name}%'"),
        "created_time": names(
            filter_string=f"created_time >= {created.created_time} AND name LIKE '{name}%'",
            order_by=["created_time ASC"],
        ),
        "created_by": names(filter_string=f"created_by = '{created.created_by}' AND name LIKE '{name}%'"),
        "max_results": len(names(filter_string=f"name LIKE '{name}%'", max_results=1)),
    }
    search = datasets.search_datasets
    out["errors"] = {
        "unknown_key": client.error(search, filter_string="colour = 'red'"),
        "or": client.error(search, filter_string="name = 'a' OR name = 'b'"),
        "tag_in": client.error(search, filter_string="tags.team IN ('qa')"),
        "numeric_text": client.error(search, filter_string="created_time > 'yesterday'"),
        "string_number": client.error(search, filter_string="name = 1"),
        "is_null": client.error(search, filter_string="created_by IS NULL"),
        "order_tag": client.error(search, order_by=["tags.team"]),
        "order_unknown": client.error(search, order_by=["colour"]),
        "missing_id": client.error(datasets.get_dataset, dataset_id="d-" + "0" * 32),
        "missing_name": client.error(datasets.get_dataset, name=f"{name}-missing"),
    }
    twin = datasets.create_dataset(name=name)  # names may repeat; by name is then ambiguous
    out["errors"]["ambiguous_name"] = client.error(datasets.get_dataset, name=name)
    datasets.delete_dataset(dataset_id=twin.dataset_id)
    datasets.delete_dataset(dataset_id=other.dataset_id)
    datasets.delete_dataset(dataset_id=other.dataset_id)  # idempotent
    out["after_delete"] = names()
    return out


def merge_and_read_records(client: Any) -> dict[str, Any]:
    """merge_records from dicts (same inputs update), to_df, paging, delete_records, profile/schema."""
    mlflow.set_experiment(f"diff-ds-records-{client.unique}")
    ds = datasets.create_dataset(name=f"records-{client.unique}")
    ds.merge_records(
        [
            {"inputs": {"q": "a", "n": 1}, "expectations": {"expected_response": "A"}},
            {"inputs": {"q": "b"}, "outputs": "B?", "tags": {"k": "1"}},
            {"inputs": {"q": "c"}, "expectations": {}},
            {"inputs": {"q": "d"}, "source": {"source_type": "DOCUMENT", "source_data": {"source_id": "doc-7"}}},
        ]
    )
    first = _dataset(ds)
    ds.merge_records(
        [
            {"inputs": {"n": 1, "q": "a"}, "expectations": {"expected_facts": ["x"]}, "outputs": "A!"},
            {"inputs": {"q": "e"}, "outputs": None},
        ]
    )
    out: dict[str, Any] = {"after_first_merge": first, "after_second_merge": _dataset(ds), "rows": _rows(ds)}

    from mlflow.tracking._tracking_service.utils import _get_store

    store = _get_store()  # what EvaluationDataset.records pages with
    page, token = store._load_dataset_records(ds.dataset_id, max_results=2)
    pages = [len(page)]
    while token:
        page, token = store._load_dataset_records(ds.dataset_id, max_results=2, page_token=token)
        pages.append(len(page))
    out["pages"] = pages
    all_records, _ = store._load_dataset_records(ds.dataset_id, max_results=None)
    out["record_count"] = len(all_records)

    ids = sorted(ds.to_df()["dataset_record_id"])
    out["deleted"] = ds.delete_records([ids[0], "dr-" + "0" * 32])
    out["deleted_none"] = ds.delete_records(["dr-" + "1" * 32])
    out["after_delete"] = _dataset(datasets.get_dataset(dataset_id=ds.dataset_id))
    out["rows_after_delete"] = len(ds.to_df())
    datasets.delete_dataset(dataset_id=ds.dataset_id)
    out["records_of_deleted"] = len(store._load_dataset_records(ds.dataset_id, max_results=None)[0])
    return out


def merge_from_traces(client: Any) -> dict[str, Any]:
    """A traced app, expectations logged on its traces, then search_traces() -> merge_records."""
    mlflow.set_experiment(f"diff-ds-traces-{client.unique}")

    @mlflow.trace
    def answer(question: str) -> str:
        return question.upper() + "!"

    trace_ids = []
    for question in ("alpha", "beta"):
        answer(question)
        trace_ids.append(mlflow.get_last_active_trace_id())
    mlflow.flush_trace_async_logging()  # the stock client logs traces in the background; without this a
    # stock server answers log_expectation with RESOURCE_DOES_NOT_EXIST
    mlflow.log_expectation(trace_id=trace_ids[0], name="expected_response", value="ALPHA!")
    ds = datasets.create_dataset(name=f"from-traces-{client.unique}")
    ds.merge_records(mlflow.search_traces())
    rows = _rows(ds)
    ds.merge_records(mlflow.search_traces(return_type="list"))  # the same inputs again: updated
    return {"trace_ids": trace_ids, "rows": rows, "rows_again": _rows(ds), "dataset": _dataset(ds)}
