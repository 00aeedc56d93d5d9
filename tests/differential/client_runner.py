"""Runs one differential client script in a child process and writes its JSON result to a file.

Executed by the python of either venv (``.venv`` with mlflow-skinny 3.18, ``.venv-mlflow`` with
mlflow 3.17.2), so it imports only the standard library and ``mlflow``; it must not import
``annotrace`` or ``tests``. Usage::

    python client_runner.py <script.py> <function> <tracking_uri> <unique> <result.json>

The script's function gets a ``Client`` and returns anything ``json.dumps`` can write (after
``default=str``). A child process per run keeps MLflow's global state (tracking URI, active run,
tracer provider, async trace queue) out of the test process and apart between runs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Client:
    """What a script is handed: where to point mlflow and a token to make its names unique.

    ``unique`` is the same for the stock server and annotrace within one comparison, so names
    built from it compare equal; it differs between client versions (both hit the same servers).
    """

    tracking_uri: str
    unique: str

    def error(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Call something that must fail; its MLflow ``error_code`` and HTTP status (not the
        message: its wording is compared only where a script returns it on purpose)."""
        from mlflow.exceptions import MlflowException

        try:
            value = call(*args, **kwargs)
        except MlflowException as exc:
            return {"error_code": exc.error_code, "http_status": exc.get_http_status_code()}
        return {"unexpected_success": repr(value)[:200]}


def main(argv: list[str]) -> int:
    script, function, tracking_uri, unique, out = argv
    # The stock client's async trace queue is not read-your-writes even against a stock server
    # (its own warning says "pass flush=True"): scripts run it in its synchronous mode, so a
    # comparison is about what the two servers store, not about the client's queue.
    os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
    spec = importlib.util.spec_from_file_location(f"differential_script_{Path(script).stem}", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    try:
        result = getattr(module, function)(Client(tracking_uri, unique))
    except Exception:  # noqa: BLE001 - whatever the script raises is printed for the test to show
        traceback.print_exc()
        return 1
    Path(out).write_text(json.dumps({"mlflow_version": mlflow.__version__, "result": result}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
