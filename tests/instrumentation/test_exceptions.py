"""``AnnotraceException`` behaves like ``mlflow.MlflowException``."""

from __future__ import annotations

import json

import pytest

from annotrace.exceptions import AnnotraceException, ErrorCode, MlflowException


def test_mlflow_alias_and_defaults() -> None:
    assert MlflowException is AnnotraceException
    error = AnnotraceException("boom")
    assert (str(error), error.message, error.error_code) == ("boom", "boom", "INTERNAL_ERROR")


def test_invalid_parameter_value_and_envelope() -> None:
    error = AnnotraceException.invalid_parameter_value("bad `x`", field="x")
    assert error.error_code == ErrorCode.INVALID_PARAMETER_VALUE
    assert json.loads(error.serialize_as_json()) == {
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": "bad `x`",
        "field": "x",
    }
    with pytest.raises(MlflowException, match="bad"):
        raise error
