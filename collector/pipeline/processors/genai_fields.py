"""The per-span accumulator the convention readers fill, and the value checks they share.

Readers run in precedence order (MLflow, then OpenInference, then OTel GenAI) and each one sets a
field only while it is still ``None``, so the first convention that has a usable value wins and
the lower ones are not even decoded. A value that is present but unusable (invalid JSON, a negative
token count, a list where a string belongs) never raises: the field stays ``None`` so a lower
convention may still fill it, and the problem is recorded as ``"<attribute>: <problem>"`` in
``errors`` (stored in ``spans.normalization_errors``). Only JSON text that ``orjson`` accepts is
ever put in ``inputs``/``outputs``, because DuckDB's JSON column would reject the whole batch.
"""

from __future__ import annotations

from typing import Any

from orjson import JSONDecodeError, loads

from annotrace.collector.pipeline.processors.genai_messages import Message, dumps

__all__ = ["LENIENT", "STRICT", "TEXT", "Document", "SpanFields", "as_count", "as_text", "json_value", "short"]

STRICT = "json"
LENIENT = "json_or_text"
TEXT = "text"

Document = tuple[str | None, str | None, float | None, str | None, str | None]
"""(document id, content, score, doc_uri, metadata JSON): a ``documents`` row without its keys."""


_UNSET: tuple[Any, ...] = (None,) * 20 + (False,)
"""A fresh ``SpanFields``: every value None (not derived yet), ``token_error`` False."""


def short(value: Any, limit: int = 60) -> str:
    """A value as it may appear in an error message: repr, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class SpanFields:
    """Canonical values of one span while the readers work on it (None = not derived yet)."""

    __slots__ = (
        "documents",
        "errors",
        "in_messages",
        "input_tokens",
        "input_value",
        "inputs",
        "inputs_attr",
        "metadata",
        "model",
        "out_messages",
        "output_tokens",
        "output_value",
        "outputs",
        "outputs_attr",
        "provider",
        "session_id",
        "span_type",
        "tags",
        "token_error",
        "total_tokens",
        "user_id",
    )
    span_type: str | None
    inputs: str | None
    input_value: Any
    inputs_attr: str | None  # the attribute inputs came from, to name it in errors
    outputs: str | None
    output_value: Any
    outputs_attr: str | None
    model: str | None
    provider: str | None
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    session_id: str | None
    user_id: str | None
    tags: dict[str, str] | None
    metadata: dict[str, str] | None
    errors: list[str] | None
    in_messages: list[Message] | None
    out_messages: list[Message] | None
    documents: list[Document] | None
    token_error: bool  # a count was present but unusable: do not derive a total

    def __init__(self) -> None:
        # one unpacking instead of 21 assignments: this runs once per GenAI span
        (
            self.span_type,
            self.inputs,
            self.input_value,
            self.inputs_attr,
            self.outputs,
            self.output_value,
            self.outputs_attr,
            self.model,
            self.provider,
            self.input_tokens,
            self.output_tokens,
            self.total_tokens,
            self.session_id,
            self.user_id,
            self.tags,
            self.metadata,
            self.errors,
            self.in_messages,
            self.out_messages,
            self.documents,
            self.token_error,
        ) = _UNSET

    def error(self, attribute: str, problem: str) -> None:
        if self.errors is None:
            self.errors = []
        self.errors.append(f"{attribute}: {problem}")

    def set_inputs(self, attribute: str, value: Any, mode: str = STRICT) -> bool:
        """Fill ``inputs`` from an attribute (see ``json_value`` for ``mode``); True when set."""
        got = json_value(self, attribute, value, mode)
        if got is None:
            return False
        self.inputs, self.input_value = got
        self.inputs_attr = attribute
        return True

    def set_outputs(self, attribute: str, value: Any, mode: str = STRICT) -> bool:
        got = json_value(self, attribute, value, mode)
        if got is None:
            return False
        self.outputs, self.output_value = got
        self.outputs_attr = attribute
        return True


def json_value(fields: SpanFields, attribute: str, value: Any, mode: str = STRICT) -> tuple[str, Any] | None:
    """(JSON text, decoded value) of an attribute, or None with an error recorded.

    ``mode`` says what a string attribute holds: ``STRICT`` JSON text (anything else is an error),
    ``LENIENT`` JSON text or else plain text (a tool result may be either), ``TEXT`` plain text,
    stored as a JSON string. Structured values (kvlist/array) are serialised. Valid JSON text is
    kept exactly as sent, which also saves a serialisation per span.
    """
    if isinstance(value, str) and mode != TEXT:
        try:  # ``parse_json``, inlined: this runs for nearly every inputs/outputs attribute
            return value, loads(value)
        except JSONDecodeError:
            if mode == STRICT:
                fields.error(attribute, f"invalid JSON: {short(value)}")
                return None
    text = dumps(value)
    if text is None:
        fields.error(attribute, f"value cannot be written as JSON: {short(value)}")
        return None
    return text, value


def as_count(fields: SpanFields, attribute: str, value: Any) -> int | None:
    """A token count: an int >= 0 (integral floats and digit strings accepted), else None + error."""
    if type(value) is int:
        count = value
    elif (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and value.strip().lstrip("-").isdigit()
    ):
        count = int(value)
    else:
        fields.error(attribute, f"not an integer token count: {short(value)}")
        fields.token_error = True
        return None
    if count < 0:
        fields.error(attribute, f"negative token count: {count}")
        fields.token_error = True
        return None
    return count


def first_text(fields: SpanFields, attrs: dict[str, Any], hit: Any, keys: tuple[str, ...]) -> str | None:
    """``as_text`` of the first of ``keys`` present (``hit``: the span's known keys), in order."""
    for key in keys:
        if key in hit:
            value = attrs[key]
            return value if type(value) is str and value else as_text(fields, key, value)
    return None


def as_text(fields: SpanFields, attribute: str, value: Any) -> str | None:
    """A short identifier (model, provider, session, user): strings and numbers; empty -> None."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    fields.error(attribute, f"not a string: {short(value)}")
    return None
