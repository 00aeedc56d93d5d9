"""Query strings parsed through typed declarations: a list field given once is a list of one (as
MLflow's server reads a repeated field), any other key given twice is refused naming it, and the
wire's integer rules hold for digits in a query string."""

from __future__ import annotations

from typing import Annotated, NotRequired

import pytest
from starlette.datastructures import QueryParams
from typing_extensions import TypedDict

from annotrace.collector.api.models import Integer, Text, TextList
from annotrace.collector.api.query_params import parse_query
from annotrace.collector.errors import InvalidParameter


class SearchQuery(TypedDict):
    experiment_id: Annotated[str, Text(non_empty=True)]
    trace_ids: NotRequired[Annotated[list[str], TextList()] | None]
    max_results: NotRequired[Annotated[int, Integer(minimum=1, maximum=10)] | None]


def test_a_list_field_given_once_is_a_list_of_one() -> None:
    parsed = parse_query(SearchQuery, QueryParams("experiment_id=1&trace_ids=a&max_results=3&colour=red"))
    assert parsed == {"experiment_id": "1", "trace_ids": ["a"], "max_results": 3}
    assert parse_query(SearchQuery, QueryParams("experiment_id=1&trace_ids=a&trace_ids=b"))["trace_ids"] == ["a", "b"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "Missing value for required parameter 'experiment_id'."),
        ("experiment_id=1&experiment_id=2", "for parameter 'experiment_id' supplied: expected a string, got a list"),
        ("experiment_id=1&max_results=x", "Invalid value \"x\" for parameter 'max_results' supplied: expected an"),
        ("experiment_id=1&max_results=11", "Invalid value 11 for parameter 'max_results': must be between 1 and 10."),
    ],
)
def test_a_bad_query_parameter_is_named(query: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_query(SearchQuery, QueryParams(query))
    assert message in caught.value.message
