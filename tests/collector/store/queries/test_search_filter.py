"""The filter parser: MLflow's grammar (plus OR and parentheses) into an AST, never into SQL."""

from __future__ import annotations

import pytest

from annotrace.collector.errors import InvalidParameter
from annotrace.collector.store.queries.search_filter import BoolOp, Comparison, parse


def test_empty_filter_is_none() -> None:
    assert parse("") is None
    assert parse("   ") is None


@pytest.mark.parametrize(
    ("text", "entity", "key", "op", "value"),
    [
        ("trace.status = 'OK'", "trace", "status", "=", "OK"),
        ('tags.env = "prod"', "tags", "env", "=", "prod"),
        ("tag.`mlflow.traceName` != 'x'", "tag", "mlflow.traceName", "!=", "x"),
        ("tags.mlflow.traceName = 'x'", "tags", "mlflow.traceName", "=", "x"),
        ("metadata.`a b/c~d` LIKE '%x%'", "metadata", "a b/c~d", "LIKE", "%x%"),
        ("span.attributes.`gen_ai.system` ILIKE 'OPEN%'", "span", "attributes.gen_ai.system", "ILIKE", "OPEN%"),
        ("feedback.quality >= 4", "feedback", "quality", ">=", 4.0),
        ("feedback.score < -0.5", "feedback", "score", "<", -0.5),
        ("timestamp_ms > 1.7e12", "", "timestamp_ms", ">", 1.7e12),
        ("trace.name <> 'a'", "trace", "name", "!=", "a"),
        ("trace.name == 'a'", "trace", "name", "=", "a"),
        ("trace.name RLIKE '^a.*'", "trace", "name", "RLIKE", "^a.*"),
        ("trace.name = 'it''s'", "trace", "name", "=", "it's"),
        ("trace.name = 'it\\'s'", "trace", "name", "=", "it's"),
        ("TRACE.name = 'a'", "trace", "name", "=", "a"),
        ("expectation.x is not null", "expectation", "x", "IS NOT NULL", None),
        ("expectation.x IS NULL", "expectation", "x", "IS NULL", None),
        ("trace.status in ('OK', \"ERROR\")", "trace", "status", "IN", ("OK", "ERROR")),
        ("trace.status NOT IN ('OK')", "trace", "status", "NOT IN", ("OK",)),
    ],
)
def test_comparisons(text: str, entity: str, key: str, op: str, value: object) -> None:
    node = parse(text)
    assert isinstance(node, Comparison)
    assert (node.entity, node.key, node.op, node.value) == (entity, key, op, value)


def test_and_binds_tighter_than_or_and_parentheses_group() -> None:
    node = parse("a.x = '1' OR a.y = '2' AND a.z = '3'")
    assert isinstance(node, BoolOp) and node.op == "OR"
    assert isinstance(node.items[1], BoolOp) and node.items[1].op == "AND"
    grouped = parse("(a.x = '1' OR a.y = '2') AND a.z = '3'")
    assert isinstance(grouped, BoolOp) and grouped.op == "AND"
    assert isinstance(grouped.items[0], BoolOp) and grouped.items[0].op == "OR"


@pytest.mark.parametrize(
    "text",
    [
        "trace.status =",
        "trace.status = 'OK' AND",
        "AND trace.status = 'OK'",
        "trace.status 'OK'",
        "trace.status = 'OK",
        "trace.status ~ 'x'",
        "(trace.status = 'OK'",
        "trace.status = 'OK')",
        "trace.status IN 'OK'",
        "trace.status IN ('OK'",
        "trace.status NOT 'OK'",
        "trace.status IS 'x'",
        "trace.status = OK",
        "= 'x'",
        "trace.status = 'OK'; DROP TABLE traces",
    ],
)
def test_malformed_filters_name_the_filter_parameter(text: str) -> None:
    with pytest.raises(InvalidParameter) as error:
        parse(text)
    assert "filter" in error.value.message
