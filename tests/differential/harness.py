"""The differential harness: a stock ``mlflow server`` and the client runs against it and annotrace.

``StockServer`` starts ``mlflow server`` (mlflow 3.17.2 from ``.venv-mlflow``, sqlite backend) on
a free loopback port. ``Differential.run`` executes one client script with every client version
(3.18 from this venv, 3.17 from ``.venv-mlflow``) against both servers, four child processes at
once, and ``Differential.assert_same`` compares each client's two results after ``normalise``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.differential.compare import differences, normalise

HERE = Path(__file__).parent
SCRIPTS = HERE / "scripts"
RUNNER = HERE / "client_runner.py"
REPO = HERE.parent.parent
SCRIPT_TIMEOUT_S = 300
START_TIMEOUT_S = 120  # the stock server needs ~5 s idle, ~20 s on a loaded 2-core machine


def mlflow_python() -> Path:
    """The python of the venv holding the full mlflow 3.17.2 (``make install`` creates it).

    ``ANNOTRACE_MLFLOW_PYTHON`` overrides it, e.g. to share one venv between git worktrees.
    """
    configured = os.environ.get("ANNOTRACE_MLFLOW_PYTHON")
    path = Path(configured) if configured else REPO / ".venv-mlflow" / "bin" / "python"
    if not path.exists():
        raise RuntimeError(
            f"{path} does not exist: run `make install` (it creates .venv-mlflow with mlflow 3.17.2) "
            "or point ANNOTRACE_MLFLOW_PYTHON at a python that has it"
        )
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class StockServer:
    """A stock ``mlflow server`` with a sqlite store in ``directory``, in its own process group."""

    directory: Path
    process: subprocess.Popen[bytes]
    url: str

    @classmethod
    def start(cls, directory: Path) -> StockServer:
        directory.mkdir(parents=True, exist_ok=True)
        port = free_port()
        python = mlflow_python()
        log = open(directory / "mlflow-server.log", "ab")  # noqa: SIM115 - the child owns it
        process = subprocess.Popen(
            [
                str(python),
                "-m",
                "mlflow",
                "server",
                "--backend-store-uri",
                f"sqlite:///{directory / 'mlflow.db'}",
                "--artifacts-destination",
                str(directory / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=directory,
            start_new_session=True,
            # the job runner (7 huey workers) serves online scoring, which no case uses
            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "PYTHONUNBUFFERED": "1"},
        )
        log.close()
        server = cls(directory, process, f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"mlflow server exited with {process.returncode}:\n{server.log}")
            try:
                if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"mlflow server did not answer /health in {START_TIMEOUT_S} s:\n{server.log}")
            time.sleep(0.2)

    @property
    def log(self) -> str:
        return (self.directory / "mlflow-server.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@dataclass(frozen=True)
class ClientRun:
    """One script run: which client, which server, and what the script returned."""

    client: str
    server: str
    mlflow_version: str
    result: Any


@dataclass
class Differential:
    """Runs client scripts against the stock server and annotrace, and compares the results."""

    servers: dict[str, str]  # "stock" / "annotrace" -> tracking URI
    clients: dict[str, Path]  # "mlflow-3.18" / "mlflow-3.17" -> python
    workdir: Path
    runs: list[ClientRun] = field(default_factory=list)

    def run(self, script: str, function: str) -> dict[str, dict[str, ClientRun]]:
        """``scripts/<script>``'s ``function`` run by every client against every server.

        Returns ``{client: {server: ClientRun}}``. A script that raises fails the test with its
        traceback (``Client.error`` is the way to expect a failure).
        """
        jobs = [(client, server) for client in self.clients for server in self.servers]
        uniques = {client: f"{function}-{uuid.uuid4().hex[:8]}" for client in self.clients}
        with ThreadPoolExecutor(len(jobs)) as pool:
            done = list(pool.map(lambda job: self._run_one(script, function, *job, uniques[job[0]]), jobs))
        self.runs.extend(done)
        out: dict[str, dict[str, ClientRun]] = {}
        for run in done:
            out.setdefault(run.client, {})[run.server] = run
        return out

    def assert_same(self, script: str, function: str) -> dict[str, Any]:
        """Run, then assert each client got the same normalised result from both servers.

        Returns the stock server's normalised result for the 3.18 client, so a test can also
        assert that the script exercised what it claims (a script that fails the same way on
        both servers would otherwise pass).
        """
        results = self.run(script, function)
        problems = []
        for client, by_server in results.items():
            stock = normalise(by_server["stock"].result, self.servers["stock"])
            ours = normalise(by_server["annotrace"].result, self.servers["annotrace"])
            for line in differences(stock, ours):
                problems.append(f"[{client}] {line}")
        assert not problems, (
            f"{script}:{function}: annotrace differs from the stock mlflow server "
            f"({len(problems)} differences):\n" + "\n".join(problems[:60])
        )
        first = next(iter(results.values()))
        return normalise(first["stock"].result, self.servers["stock"])  # type: ignore[no-any-return]

    def _run_one(self, script: str, function: str, client: str, server: str, unique: str) -> ClientRun:
        python = self.clients[client]
        fd, out_name = tempfile.mkstemp(suffix=".json", dir=self.workdir)
        os.close(fd)
        out = Path(out_name)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "ANNOTRACE_"))}
        env["PYTHONWARNINGS"] = "ignore"
        done = subprocess.run(
            [str(python), str(RUNNER), str(SCRIPTS / script), function, self.servers[server], unique, str(out)],
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT_S,
            cwd=self.workdir,
            env=env,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"{script}:{function} failed with {client} against {server} "
                f"({self.servers[server]}):\n{done.stderr[-6000:]}"
            )
        payload = json.loads(out.read_text())
        out.unlink()
        return ClientRun(client, server, payload["mlflow_version"], payload["result"])
