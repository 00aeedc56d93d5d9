"""Value encoding on the wire: MLflow's JSON for ``mlflow.*`` keys, native OTel values otherwise."""

from __future__ import annotations

import dataclasses
import datetime
import json
from typing import Any

import pydantic

from annotrace.entities import Document
from annotrace.tracing import attributes as wire


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Answer(pydantic.BaseModel):
    text: str
    score: float


class HasToDict:
    def to_dict(self) -> dict[str, Any]:
        return {"kind": "custom"}


class Opaque:
    def __str__(self) -> str:
        return "<opaque>"


class BadStr:
    def __str__(self) -> str:
        raise RuntimeError("no str")


def test_wire_names() -> None:
    assert (wire.SPAN_TYPE, wire.SPAN_INPUTS, wire.SPAN_OUTPUTS) == (
        "mlflow.spanType",
        "mlflow.spanInputs",
        "mlflow.spanOutputs",
    )
    assert (wire.SPAN_FUNCTION_NAME, wire.TRACE_REQUEST_ID) == ("mlflow.spanFunctionName", "mlflow.traceRequestId")
    assert (wire.TRACE_TAG_PREFIX, wire.TRACE_METADATA_PREFIX, wire.MODEL_ID_METADATA) == (
        "mlflow.traceTag.",
        "mlflow.traceMetadata.",
        "mlflow.modelId",
    )


def test_dump_json_is_mlflow_json() -> None:
    assert wire.dump_json("RETRIEVER") == '"RETRIEVER"'
    assert wire.dump_json({"q": "日本語"}) == '{"q": "日本語"}'  # ensure_ascii=False


def test_dump_json_fallbacks() -> None:
    value = {
        "doc": Document(page_content="p", metadata={"doc_uri": "u"}, id="1"),
        "point": Point(1, 2),
        "model": Answer(text="t", score=0.5),
        "custom": HasToDict(),
        "when": datetime.date(2024, 7, 10),
        "tags": {"only"},
        "raw": b"bytes",
        "other": Opaque(),
    }
    assert json.loads(wire.dump_json(value)) == {
        "doc": {"page_content": "p", "metadata": {"doc_uri": "u"}, "id": "1"},
        "point": {"x": 1, "y": 2},
        "model": {"text": "t", "score": 0.5},
        "custom": {"kind": "custom"},
        "when": "2024-07-10",
        "tags": ["only"],
        "raw": "bytes",
        "other": "<opaque>",
    }


def test_dump_json_never_raises() -> None:
    loop: list[Any] = []
    loop.append(loop)
    assert isinstance(json.loads(wire.dump_json(loop)), str)
    assert json.loads(wire.dump_json(BadStr())) == "<unserialisable BadStr>"


def test_otel_value_native_when_possible() -> None:
    assert wire.otel_value("s") == "s"
    assert wire.otel_value(3) == 3
    assert wire.otel_value(True) is True
    assert wire.otel_value(["a", "b"]) == ["a", "b"]
    assert wire.otel_value((1, 2)) == [1, 2]
    assert wire.otel_value([1, "a"]) == '[1, "a"]'
    assert wire.otel_value([True, 1]) == "[true, 1]"
    assert wire.otel_value({"k": 1}) == '{"k": 1}'
    assert wire.otel_value(None) == "null"
    assert wire.otel_value([]) == "[]"
