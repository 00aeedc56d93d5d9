"""A scripted HTTP server for the SDK's REST tests: canned answers, every request recorded.

The real collector is exercised end to end in ``tests/e2e/test_seed_001.py``; here we need to
see the exact bytes the SDK sends (paths, query strings, JSON bodies such as ``update_mask``) and
to make the server answer what a healthy collector never does (non-JSON 502, 429 with
``Retry-After``), so the error mapping is tested against every shape. Real sockets, loopback only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


Route = Callable[[Recorded], Reply]


class ScriptedServer:
    """``server.route("POST", "/api/...", reply)``; unknown paths get MLflow's 404 envelope."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._routes: dict[tuple[str, str], list[Reply] | Route] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                record = Recorded(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    json.loads(raw) if raw else None,
                )
                owner.requests.append(record)
                reply = owner._reply(record)
                payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.headers.get("Content-Type", "application/json"))
                for key, value in reply.headers.items():
                    if key != "Content-Type":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def route(self, method: str, path: str, *replies: Reply | Route) -> None:
        """Answer ``method path`` with the replies in turn (the last one repeats), or call a function."""
        if len(replies) == 1 and callable(replies[0]):
            self._routes[(method, path)] = replies[0]
        else:
            self._routes[(method, path)] = [r for r in replies if isinstance(r, Reply)]

    def _reply(self, record: Recorded) -> Reply:
        script = self._routes.get((record.method, record.path))
        if script is None:
            return Reply(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No route {record.path}"})
        if callable(script):
            return script(record)
        return script.pop(0) if len(script) > 1 else script[0]

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
