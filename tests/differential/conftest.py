"""Differential tests: the unmodified ``mlflow`` client against a stock ``mlflow server`` and annotrace.

ARCHITECTURE §4: MLflow compatibility means the stock client gets the same results from annotrace
as from a stock ``mlflow server`` (sqlite). These tests prove it by running the SAME client code
against both and comparing the results field by field.

How it works
------------
* One stock ``mlflow server`` (mlflow 3.17.2, sqlite, free port) and one annotrace collector
  (the session ``collector`` fixture of tests/conftest.py) serve the whole session.
* A *client script* is a plain function in ``tests/differential/scripts/<family>.py`` that takes
  a ``client`` argument and returns JSON-able data. It imports only ``mlflow`` and the standard
  library: it runs, unchanged, in a child process under each client version:
  ``mlflow-3.18`` (mlflow-skinny from ``.venv``) and ``mlflow-3.17`` (full mlflow from
  ``.venv-mlflow``, which ``make install`` creates). ``mlflow.set_tracking_uri`` is already
  called; ``client.unique`` is a token for unique names (same for both servers, so names compare
  equal); ``client.tracking_uri`` is the server's URI; ``client.error(fn, *args)`` calls
  something that must fail and returns ``{"error_code", "http_status"}``. The client runs with
  ``MLFLOW_ENABLE_ASYNC_TRACE_LOGGING=false``: its async trace queue is not read-your-writes even
  against a stock server, so the comparison is about the servers, not the client's queue.
* ``differential.assert_same("<family>.py", "<function>")`` runs the script four times in
  parallel (2 clients x 2 servers), normalises each result (tests/differential/compare.py: only
  ids, times within a day of now, and server addresses, each by the key it sits under) and
  fails with a list of ``[client] $.path: stock X != annotrace Y`` lines. It returns the stock
  result so the test can check that the script did what it claims (e.g. ``len(traces) == 2``).

Adding a case
-------------
1. Write ``def my_case(client):`` in a ``scripts/<family>.py`` module (create one per area:
   runs.py, datasets.py, ...). Do what a user does with the public ``mlflow`` API; return what
   a user would look at: entity fields (``run.info.status``, ``run.data.metrics``), lists in the
   order the API returns them, and ``client.error(...)`` for calls that must fail. Return ids
   under their natural key (``run_id``, ``trace_id``...) so they are normalised and the
   references between them are still checked. Do not return durations or wall-clock values
   the script did not set; return a comparison instead (``end_time >= start_time``).
2. Add ``def test_my_case(differential): differential.assert_same("<family>.py", "my_case")``
   in a ``test_<family>.py`` here, plus an assertion on the returned stock result.
3. No flush, sleep or polling a user would not write (HELPER standards). If annotrace needs one
   to pass, that is an annotrace bug.

The marker ``differential`` (pyproject) selects these tests: ``pytest -m differential``;
``make test`` runs them with the rest. In a git worktree without its own ``.venv-mlflow``, set
``ANNOTRACE_MLFLOW_PYTHON=/path/to/.venv-mlflow/bin/python``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.collector_process import Collector
from tests.differential.harness import Differential, StockServer, mlflow_python


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.differential)


@pytest.fixture(scope="session")
def stock_mlflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StockServer]:
    server = StockServer.start(tmp_path_factory.mktemp("stock-mlflow"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def differential(
    stock_mlflow: StockServer, collector: Collector, tmp_path_factory: pytest.TempPathFactory
) -> Differential:
    return Differential(
        servers={"stock": stock_mlflow.url, "annotrace": collector.web},
        clients={"mlflow-3.18": Path(sys.executable), "mlflow-3.17": mlflow_python()},
        workdir=tmp_path_factory.mktemp("differential"),
    )
