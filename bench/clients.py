"""Client processes that export pre-serialized traces to the collector and time every export.

Why processes (multiprocessing, spawn) and not threads: a real deployment has many independent
apps exporting; one Python process cannot generate 30,000 spans/s of protocol work by itself,
and threads would measure our GIL rather than the collector. Each process:

1. builds its RequestFactory (templates) and connects, then sends one empty export as a warm-up;
2. reports ready and waits on a shared start event, so all clients start together;
3. runs `inflight` sender threads until the duration is over, optionally paced to a fixed rate
   (clients offset by a phase so they do not send in lockstep); back-pressure answers (RESOURCE_EXHAUSTED/UNAVAILABLE, HTTP 429/503)
   are counted and the same payload is retried after a short sleep;
4. puts a ClientResult on the result queue.

Transports: "grpc" calls the Export method on a raw channel with bytes (no client-side protobuf
work), "grpc-stub" goes through the generated TraceServiceStub (parse + re-serialize per request,
what a naive client does), "http" posts application/x-protobuf with httpx to /v1/traces.
Only a successful answer counts as acked; spans the server reports in partial_success are not.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import resource
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.traffic import RequestFactory

EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
PROTOCOLS = ("grpc", "grpc-stub", "http")
_MAX_MSG = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ClientSpec:
    """What one client process does; picklable so it crosses the spawn boundary."""

    index: int
    protocol: str
    target: str  # "host:port" for gRPC, "http://host:port" for HTTP
    spans_per_request: int = 512
    duration_s: float = 20.0
    rate_spans_s: float = 0.0  # 0 = as fast as the collector answers
    phase: float = 0.0  # 0..1: where in the pacing interval this client starts (clients not in lockstep)
    inflight: int = 2
    retry_rejected: bool = True
    retry_sleep_s: float = 0.05
    timeout_s: float = 30.0
    templates: int = 16
    shape: str = "1k"  # bench.trace_shapes.SHAPES: "1k" (~1.2 KB spans) or "2k" (~2.6 KB)


@dataclass(slots=True)
class ClientResult:
    """Counters and latencies of one client process (times are time.monotonic(), system-wide)."""

    index: int
    requests_ok: int = 0
    spans_acked: int = 0
    spans_partially_rejected: int = 0
    bytes_acked: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    uncertain_spans: int = 0  # spans of requests that timed out: may or may not be stored
    abandoned_requests: int = 0  # rejected and not retried because the duration was over
    latencies_ms: list[float] = field(default_factory=list)
    first_send: float = 0.0
    last_ack: float = 0.0
    build_s: float = 0.0
    cpu_s: float = 0.0
    wire_bytes_per_span: float = 0.0
    fatal: str = ""


@dataclass(frozen=True, slots=True)
class _Outcome:
    kind: str  # "ok" | "rejected" | "error"
    detail: str = ""
    rejected_spans: int = 0
    uncertain: bool = False


Sender = Callable[[bytes], _Outcome]


def _grpc_sender(spec: ClientSpec) -> tuple[Sender, Callable[[], None]]:
    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as pb
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

    channel = grpc.insecure_channel(
        spec.target, options=[("grpc.max_send_message_length", _MAX_MSG), ("grpc.max_receive_message_length", _MAX_MSG)]
    )
    grpc.channel_ready_future(channel).result(timeout=30)
    if spec.protocol == "grpc-stub":
        stub = TraceServiceStub(channel)  # type: ignore[no-untyped-call]

        def call(payload: bytes) -> Any:
            return stub.Export(pb.ExportTraceServiceRequest.FromString(payload), timeout=spec.timeout_s)
    else:
        export = channel.unary_unary(
            EXPORT_METHOD, request_serializer=None, response_deserializer=pb.ExportTraceServiceResponse.FromString
        )

        def call(payload: bytes) -> Any:
            return export(payload, timeout=spec.timeout_s)

    backpressure = {grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE}

    def send(payload: bytes) -> _Outcome:
        try:
            resp = call(payload)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else None
            name = code.name if code is not None else type(exc).__name__
            if code in backpressure:
                return _Outcome("rejected", name)
            return _Outcome("error", name, uncertain=code == grpc.StatusCode.DEADLINE_EXCEEDED)
        rejected = resp.partial_success.rejected_spans if resp.HasField("partial_success") else 0
        return _Outcome("ok", rejected_spans=int(rejected))

    return send, channel.close


def _http_sender(spec: ClientSpec) -> tuple[Sender, Callable[[], None]]:
    import httpx
    import orjson
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as pb

    client = httpx.Client(
        base_url=spec.target, timeout=spec.timeout_s, limits=httpx.Limits(max_connections=spec.inflight + 1)
    )
    headers = {"Content-Type": "application/x-protobuf"}

    def send(payload: bytes) -> _Outcome:
        try:
            resp = client.post("/v1/traces", content=payload, headers=headers)
        except httpx.TimeoutException as exc:
            return _Outcome("error", type(exc).__name__, uncertain=True)
        except httpx.HTTPError as exc:
            return _Outcome("error", type(exc).__name__)
        if resp.status_code in (429, 503):
            return _Outcome("rejected", f"HTTP {resp.status_code}", rejected_spans=0)
        if resp.status_code != 200:
            return _Outcome("error", f"HTTP {resp.status_code}")
        rejected = 0
        if resp.content:
            if "json" in resp.headers.get("content-type", ""):
                rejected = int(orjson.loads(resp.content).get("partialSuccess", {}).get("rejectedSpans", 0))
            else:
                body = pb.ExportTraceServiceResponse.FromString(resp.content)
                rejected = body.partial_success.rejected_spans
        return _Outcome("ok", rejected_spans=rejected)

    return send, client.close


class _Run:
    """Shared state of the sender threads in one process."""

    def __init__(self, spec: ClientSpec, factory: RequestFactory, send: Sender, result: ClientResult) -> None:
        self.spec, self.factory, self.send, self.result = spec, factory, send, result
        self.lock = threading.Lock()
        self.deadline = 0.0
        self.next_slot = 0.0
        self.interval = spec.spans_per_request / spec.rate_spans_s if spec.rate_spans_s > 0 else 0.0

    def take(self) -> bytes | None:
        """Next payload, or None when the duration or budget is used up; paces when rate-limited."""
        with self.lock:
            now = time.monotonic()
            if now >= self.deadline:
                return None
            payload = self.factory.next()
            slot = 0.0
            if self.interval:
                # Never burst to catch up: a late slot moves the schedule, so the offered rate is
                # at most the target and latency is not inflated by our own queueing.
                slot = max(self.next_slot, now)
                self.next_slot = slot + self.interval
        if slot:
            delay = slot - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        return payload

    def loop(self) -> None:
        res, n = self.result, self.spec.spans_per_request
        while (payload := self.take()) is not None:
            while True:
                t0 = time.monotonic()
                with self.lock:
                    if not res.first_send:
                        res.first_send = t0
                out = self.send(payload)
                t1 = time.monotonic()
                with self.lock:
                    if out.kind == "ok":
                        res.requests_ok += 1
                        res.spans_acked += n - out.rejected_spans
                        res.spans_partially_rejected += out.rejected_spans
                        res.bytes_acked += len(payload)
                        res.latencies_ms.append((t1 - t0) * 1000.0)
                        res.last_ack = max(res.last_ack, t1)
                        break
                    if out.kind == "error":
                        res.errors[out.detail] += 1
                        res.uncertain_spans += n if out.uncertain else 0
                        break
                    res.rejected[out.detail] += 1
                    if not self.spec.retry_rejected or t1 >= self.deadline:
                        res.abandoned_requests += 1
                        break
                time.sleep(self.spec.retry_sleep_s)
            if out.kind == "error":
                time.sleep(self.spec.retry_sleep_s)  # never spin on a broken connection


def client_main(spec: ClientSpec, ready: Any, start: Any, results: Any) -> None:
    """Entry point of one client process (must be importable for the spawn start method)."""
    result = ClientResult(index=spec.index)
    try:
        t0 = time.monotonic()
        factory = RequestFactory(
            spec.spans_per_request, seed=1000 + spec.index, templates=spec.templates, shape=spec.shape
        )
        result.wire_bytes_per_span = factory.bytes_per_span
        send, close = (_http_sender if spec.protocol == "http" else _grpc_sender)(spec)
        send(b"")  # warm-up: an empty export carries no spans but opens the connection
        result.build_s = time.monotonic() - t0
    except Exception as exc:  # report, never hang the parent
        result.fatal = f"{type(exc).__name__}: {exc}"
        ready.put(spec.index)
        results.put(result)
        return
    ready.put(spec.index)
    start.wait()
    run = _Run(spec, factory, send, result)
    started = time.monotonic()
    run.deadline = started + spec.duration_s
    run.next_slot = started + spec.phase * run.interval
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    threads = [threading.Thread(target=run.loop, name=f"sender-{i}") for i in range(spec.inflight)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    result.cpu_s = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    close()
    results.put(result)


def run_clients(specs: list[ClientSpec], on_start: Callable[[], None] | None = None) -> list[ClientResult]:
    """Starts one spawned process per spec, releases them together, and gathers their results."""
    ctx = mp.get_context("spawn")
    ready, results, start = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=client_main, args=(s, ready, start, results), daemon=True) for s in specs]
    for p in procs:
        p.start()
    waiting, deadline = len(specs), time.monotonic() + 120
    while waiting:
        try:
            ready.get(timeout=0.5)
            waiting -= 1
        except queue.Empty:
            dead = [p for p in procs if p.exitcode is not None]
            if dead or time.monotonic() > deadline:
                for p in procs:
                    p.kill()
                why = f"exited with code {dead[0].exitcode}" if dead else "not ready after 120s"
                raise RuntimeError(f"a client process {why} before sending (run from the repo root?)") from None
    if on_start is not None:
        on_start()
    start.set()
    gathered: list[ClientResult] = []
    limit = time.monotonic() + max(s.duration_s for s in specs) + max(s.timeout_s for s in specs) + 60
    while len(gathered) < len(specs):
        try:
            gathered.append(results.get(timeout=max(1.0, limit - time.monotonic())))
        except queue.Empty:
            break
    for p in procs:
        p.join(timeout=10)
        if p.is_alive():
            p.kill()
    missing = {s.index for s in specs} - {r.index for r in gathered}
    gathered += [ClientResult(index=i, fatal="no result (client process hung or died)") for i in sorted(missing)]
    return sorted(gathered, key=lambda r: r.index)
