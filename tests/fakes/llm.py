"""The only fake in the test suite: a local OpenAI-compatible HTTP server (the LLM is outside the machine).

``FakeLLM`` serves, on an ephemeral loopback port in a thread:

- ``POST /v1/chat/completions``: a deterministic answer derived from the last user message, with
  ``usage`` (whitespace word counts); ``stream=True`` answers with server-sent-event chunks and,
  when ``stream_options.include_usage`` is true, a final chunk with empty ``choices`` and the usage;
  when the request has ``tools`` and the conversation does not end with a tool result, the answer
  is a call of the first tool, with each required string argument set to the last user message.
- ``POST /v1/embeddings``: a deterministic vector per input (sha256-based), as a float list or,
  when ``encoding_format="base64"`` (the openai client's default), little-endian float32 base64.
- ``GET /v1/models``.

A request for model ``"fake-error"`` gets an OpenAI-style 400 error. ``requests`` keeps every
request received (path, lower-cased headers, JSON body); ``base_url`` is what
``openai.OpenAI(base_url=...)`` takes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.local_server import LocalServer, OwnedServer

__all__ = ["ERROR_MODEL", "FakeLLM", "answer_for", "count_tokens", "embedding_for"]

ERROR_MODEL = "fake-error"
CREATED = 1_700_000_000


def count_tokens(text: str) -> int:
    """The fake's tokenizer: whitespace-separated words."""
    return len(text.split())


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def answer_for(messages: list[dict[str, Any]]) -> str:
    """The deterministic reply to a conversation."""
    last_user: dict[str, Any] = next((m for m in reversed(messages) if m.get("role") == "user"), {})
    tool_results = [_text_of(m.get("content")) for m in messages if m.get("role") == "tool"]
    question = " ".join(_text_of(last_user.get("content")).split()[:40])
    suffix = f" Tool said: {tool_results[-1]}" if tool_results else ""
    return f"Fake answer to: {question}.{suffix}"


def embedding_for(text: str, dimensions: int = 8) -> list[float]:
    """A deterministic unit-range vector for ``text``."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    while len(digest) < dimensions:
        digest += hashlib.sha256(digest).digest()
    return [round(byte / 127.5 - 1.0, 6) for byte in digest[:dimensions]]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: OwnedServer

    def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
        return None

    # --- plumbing ---------------------------------------------------------------------------

    def _record(self, body: Any) -> None:
        headers = {key.lower(): value for key, value in self.headers.items()}
        with self.server.owner.lock:
            self.server.owner.requests.append({"path": self.path, "headers": headers, "body": body})
            self.server.owner.counter += 1

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._json(
            status, {"error": {"message": message, "type": "invalid_request_error", "param": "model", "code": None}}
        )

    def do_GET(self) -> None:  # stdlib name
        self._record(None)
        if self.path.rstrip("/") == "/v1/models":
            self._json(
                200,
                {
                    "object": "list",
                    "data": [{"id": "fake-model", "object": "model", "created": CREATED, "owned_by": "fake"}],
                },
            )
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:  # stdlib name
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self._record(body)
        if body.get("model") == ERROR_MODEL:
            self._error(400, f"The model `{ERROR_MODEL}` does not exist")
        elif self.path == "/v1/chat/completions":
            self._chat(body)
        elif self.path == "/v1/embeddings":
            self._embeddings(body)
        else:
            self._error(404, f"no route {self.path}")

    # --- chat -------------------------------------------------------------------------------

    def _chat(self, body: dict[str, Any]) -> None:
        messages: list[dict[str, Any]] = body.get("messages") or []
        model = body.get("model", "fake-model")
        number = self.server.owner.counter
        completion_id = f"chatcmpl-fake-{number}"
        prompt_tokens = sum(count_tokens(_text_of(m.get("content"))) for m in messages)
        tools = body.get("tools") or []
        tool_call = None
        if tools and (not messages or messages[-1].get("role") != "tool"):
            tool_call = self._tool_call(tools[0], messages, number)
            content = None
            finish_reason = "tool_calls"
            completion_tokens = count_tokens(tool_call["function"]["arguments"]) + 1
        else:
            content = answer_for(messages)
            finish_reason = "stop"
            completion_tokens = count_tokens(content)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(completion_id, model, content, tool_call, finish_reason, usage if include_usage else None)
            return
        message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
        if tool_call is not None:
            message["tool_calls"] = [tool_call]
        self._json(
            200,
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": CREATED,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}],
                "usage": usage,
            },
        )

    @staticmethod
    def _tool_call(tool: dict[str, Any], messages: list[dict[str, Any]], number: int) -> dict[str, Any]:
        function = tool.get("function") or {}
        parameters = function.get("parameters") or {}
        last_user: dict[str, Any] = next((m for m in reversed(messages) if m.get("role") == "user"), {})
        text = _text_of(last_user.get("content"))
        arguments = dict.fromkeys(parameters.get("required") or [], text)
        return {
            "id": f"call_fake_{number}",
            "type": "function",
            "function": {"name": function.get("name", "tool"), "arguments": json.dumps(arguments)},
        }

    def _stream(
        self,
        completion_id: str,
        model: str,
        content: str | None,
        tool_call: dict[str, Any] | None,
        finish_reason: str,
        usage: dict[str, int] | None,
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

        def chunk(
            delta: dict[str, Any] | None, finish: str | None = None, last_usage: dict[str, int] | None = None
        ) -> None:
            payload: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": CREATED,
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": []
                if delta is None
                else [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            }
            if usage is not None:
                payload["usage"] = last_usage
            self.wfile.write(b"data: " + json.dumps(payload).encode("utf-8") + b"\n\n")
            self.wfile.flush()

        chunk({"role": "assistant", "content": "" if tool_call is None else None})
        if tool_call is not None:
            function = tool_call["function"]
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": tool_call["id"],
                            "type": "function",
                            "function": {"name": function["name"], "arguments": ""},
                        }
                    ]
                }
            )
            arguments = function["arguments"]
            middle = len(arguments) // 2
            for piece in (arguments[:middle], arguments[middle:]):
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
        else:
            words = (content or "").split(" ")
            for index, word in enumerate(words):
                chunk({"content": word if index == len(words) - 1 else word + " "})
        chunk({}, finish_reason)
        if usage is not None:
            chunk(None, last_usage=usage)
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    # --- embeddings -------------------------------------------------------------------------

    def _embeddings(self, body: dict[str, Any]) -> None:
        raw = body.get("input", "")
        inputs = (
            [raw] if isinstance(raw, str) or (isinstance(raw, list) and raw and isinstance(raw[0], int)) else list(raw)
        )
        dimensions = int(body.get("dimensions") or 8)
        data = []
        tokens = 0
        for index, item in enumerate(inputs):
            text = item if isinstance(item, str) else " ".join(str(token) for token in item)
            tokens += count_tokens(text) if isinstance(item, str) else len(item)
            vector = embedding_for(text, dimensions)
            encoded: Any = vector
            if body.get("encoding_format") == "base64":
                encoded = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        self._json(
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model", "fake-embedding"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )


class FakeLLM(LocalServer):
    """``with FakeLLM() as llm: openai.OpenAI(base_url=llm.base_url, api_key="x")``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.counter = 0
        super().__init__(_Handler, "fake-llm")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"
