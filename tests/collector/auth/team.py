"""A collector run for a team: every listener behind ``bearertokenauth`` / ``basicauth``, and one
user per role (each with a password and a token), added with ``annotrace users`` / ``tokens``
before the collector starts, as the README tells a team to."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.collector_process import Collector, start
from tests.otlp_builders import new_span_id, new_trace_id, request, span

CONFIG = """
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:0", auth: {{authenticator: bearertokenauth}}}}
      http: {{endpoint: "127.0.0.1:0", auth: {{authenticator: bearertokenauth}}}}
processors:
  genai: {{}}
  batch: {{send_batch_size: 8192, timeout: 50ms}}
exporters:
  duckdb: {{path: "{db}"}}
extensions:
  bearertokenauth: {{}}
  basicauth: {{}}
  web: {{endpoint: "127.0.0.1:0", auth: {{authenticator: [bearertokenauth, basicauth]}}}}
  spool: {{directory: "{spool}"}}
service:
  extensions: [web, spool, bearertokenauth, basicauth]
  pipelines:
    traces: {{receivers: [otlp], processors: [genai, batch], exporters: [duckdb]}}
    logs: {{receivers: [otlp], processors: [genai, batch], exporters: [duckdb]}}
"""
ROLES = ("admin", "editor", "labeler", "viewer")


def password(user: str) -> str:
    return f"{user}-secret-pw"


@dataclass
class Team:
    collector: Collector
    tokens: dict[str, str] = field(default_factory=dict)

    def bearer(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def export_trace(self, experiment_id: str, user: str = "editor") -> str:
        """One single-span trace exported over OTLP/HTTP into ``experiment_id``; its MLflow id."""
        trace = new_trace_id()
        exported = httpx.post(
            f"{self.collector.http}/v1/traces",
            content=request([span(trace, new_span_id(), name="root")]).SerializeToString(),
            headers={
                "content-type": "application/x-protobuf",
                "x-mlflow-experiment-id": experiment_id,
                **self.bearer(user),
            },
        )
        assert exported.status_code == 200, exported.text
        return "tr-" + trace.hex()


def annotrace(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "annotrace.collector", *args], input=stdin, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def start_team(directory: Path, users: tuple[str, ...] = ROLES, web: str = "") -> Team:
    """``users`` are named after their role; a second labeler is ``labeler2``. ``web`` adds keys to
    the web extension (``", sql: {memory_limit_mib: 32}"``)."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "config.yaml"
    web_auth = "auth: {authenticator: [bearertokenauth, basicauth]}"
    text = CONFIG.format(db=directory / "annotrace.duckdb", spool=directory / "spool")
    config.write_text(text.replace(web_auth + "}", web_auth + web + "}"))
    tokens = {}
    for user in users:
        role = user.rstrip("0123456789")
        annotrace(
            "users",
            "add",
            user,
            "--role",
            role,
            "--password-stdin",
            "--config",
            str(config),
            stdin=password(user) + "\n",
        )
        tokens[user] = annotrace("tokens", "create", user, "--config", str(config)).strip()
    return Team(start(directory, config=config), tokens)
