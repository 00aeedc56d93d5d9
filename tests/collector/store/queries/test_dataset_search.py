"""search_datasets' filter and order as a stock MLflow server reads them (messages checked against
mlflow 3.17.2's SearchEvaluationDatasetsUtils; tests/differential compares the results)."""

from __future__ import annotations

from datetime import datetime

import pytest

from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.queries import dataset_search
from annotrace.collector.store.queries.datasets import Dataset, epoch_ms

T0 = datetime(2026, 1, 2, 3, 4, 5)


def _dataset(n: int, name: str, tags: dict[str, str], created_by: str | None = None) -> Dataset:
    at = T0.replace(second=n)
    return Dataset(f"d-{n:032x}", name, [], tags, created_by, None, at, at, None, None, None)


DATASETS = [
    _dataset(1, "Alpha", {"env": "prod"}, "ann"),
    _dataset(2, "beta", {"env": "dev"}),
    _dataset(3, "gamma", {"team": "qa"}, "bob"),
]


def names(text: str, order_by: list[str] | None = None) -> list[str]:
    predicates = dataset_search.parse_filter(text)
    found = [d for d in DATASETS if all(p(d) for p in predicates)]
    return [d.name for d in dataset_search.sort(found, dataset_search.parse_order(order_by))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["gamma", "beta", "Alpha"]),
        ("name = 'beta'", ["beta"]),
        ('name = "Alpha"', ["Alpha"]),
        ("name != 'beta'", ["gamma", "Alpha"]),
        ("name LIKE 'al%'", []),  # LIKE is case-sensitive, as MLflow makes sqlite's
        ("name ILIKE 'al%'", ["Alpha"]),
        ("name LIKE '_eta'", ["beta"]),
        ("name IN ('Alpha', 'gamma')", ["gamma", "Alpha"]),
        ("name > 'a'", ["gamma", "beta"]),
        ("tags.env = 'prod'", ["Alpha"]),
        ("tags.env != 'prod'", ["beta"]),  # a dataset without the tag matches neither = nor !=
        ("tags.env LIKE '%e%'", ["beta"]),
        ("created_by = 'bob'", ["gamma"]),
        ("created_by != 'bob'", ["Alpha"]),  # NULL matches nothing
        (f"created_time >= {epoch_ms(T0.replace(second=2))}", ["gamma", "beta"]),
        (f"last_update_time < {epoch_ms(T0.replace(second=2))}", ["Alpha"]),
        (f"created_time > {epoch_ms(T0.replace(second=1))} AND tags.team = 'qa'", ["gamma"]),
    ],
)
def test_filters(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 'red'", "Invalid attribute key 'colour' specified. Valid keys are: {'name', 'created_time'"),
        ("`name` = 'x'", "Invalid attribute key '`name`' specified"),
        ("attributes.name = 'x'", "Invalid identifier token 'attributes' specified"),
        ("name = 'a' OR name = 'b'", "Invalid clause(s) in filter string: OR"),
        ("tags.env IN ('a')", "Expected a quoted string value for tag (e.g. 'my-value'). Got value ('a')"),
        ("name = 1", "Expected a quoted string value for attributes. Got value 1"),
        ("created_time > 'x'", "Expected numeric value type for numeric attribute: created_time. Found 'x'"),
        ("created_by IS NULL", "IS NULL / IS NOT NULL is only supported for tags and params"),
        ("created_time LIKE 1", "Invalid comparator for numeric attribute: LIKE"),
        ("created_by IN ('a')", "Invalid comparator for string attribute: IN"),
    ],
)
def test_errors_are_mlflows(text: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as error:
        dataset_search.parse_filter(text)
    assert message in error.value.message


def test_order() -> None:
    assert names("", ["name ASC"]) == ["Alpha", "beta", "gamma"]  # binary order: upper case first
    assert names("", ["name DESC"]) == ["gamma", "beta", "Alpha"]
    assert names("", ["created_time"]) == ["Alpha", "beta", "gamma"]
    low, high = (Dataset(f"d-{c * 32}", "same", [], {}, None, None, T0, T0, None, None, None) for c in "0f")
    ordered = dataset_search.sort([low, high], dataset_search.parse_order(None))
    assert ordered == [high, low]  # same created_time: dataset_id descending, MLflow's tie-breaker
    for bad, message in (
        (["tags.env"], "Invalid order_by entity: tag"),
        (["colour"], "Invalid attribute key 'colour' specified"),
        (["name sideways"], "Invalid order_by clause"),
    ):
        with pytest.raises(InvalidParameter) as error:
            dataset_search.parse_order(bad)
        assert message in error.value.message
