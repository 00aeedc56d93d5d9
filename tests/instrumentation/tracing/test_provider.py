"""The export pipeline end to end: routing headers, rebuilds, exit flush, down collectors, providers."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Callable

import pytest
from opentelemetry._logs import SeverityNumber

import annotrace
from annotrace import tracking
from annotrace.tracing import provider
from tests.fakes.otlp_sink import OTLPSink, any_value

Runner = Callable[..., subprocess.CompletedProcess[str]]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_experiment_header_follows_set_experiment(sdk: OTLPSink) -> None:
    with annotrace.start_span("default-experiment"):
        pass
    annotrace.set_experiment("/Shared/docs-demo")
    with annotrace.start_span("named"):
        pass
    annotrace.set_experiment(experiment_id="17")
    with annotrace.start_span("by-id"):
        pass
    annotrace.flush_trace_async_logging()
    by_name = {span.name: span.headers for span in sdk.wait_for_spans(3)}
    assert by_name["default-experiment"]["x-annotrace-experiment"] == "Default"
    assert by_name["named"]["x-annotrace-experiment"] == "/Shared/docs-demo"
    assert by_name["by-id"]["x-mlflow-experiment-id"] == "17"
    assert "x-annotrace-experiment" not in by_name["by-id"]
    for headers in by_name.values():
        assert headers["content-type"] == "application/x-protobuf"
    assert {request.path for request in sdk.received()} == {"/v1/traces"}


def test_changing_tracking_uri_flushes_to_the_old_one(sdk: OTLPSink) -> None:
    with OTLPSink() as second:
        with annotrace.start_span("to-first"):
            pass
        annotrace.set_tracking_uri(second.url)
        assert annotrace.get_tracking_uri() == second.url
        # The switch itself flushed "to-first" to the first sink.
        assert [span.name for span in sdk.wait_for_spans(1)] == ["to-first"]
        with annotrace.start_span("to-second"):
            pass
        annotrace.flush_trace_async_logging()
        assert [span.name for span in second.wait_for_spans(1)] == ["to-second"]
        annotrace.set_tracking_uri(sdk.url)  # leave the second sink before it stops
    assert [span.name for span in sdk.spans()] == ["to-first"]


def test_log_events_go_to_v1_logs_with_the_header(sdk: OTLPSink) -> None:
    annotrace.set_experiment("logs-exp")
    logger = provider.get_logger_provider().get_logger("test")
    with annotrace.start_span("chat") as span:
        logger.emit(
            event_name="gen_ai.choice",
            body={"index": 0, "message": {"content": "hi"}},
            severity_number=SeverityNumber.INFO,
        )
    annotrace.flush_trace_async_logging()
    (request,) = sdk.received("/v1/logs")
    assert request.headers["x-annotrace-experiment"] == "logs-exp"
    record = request.message.resource_logs[0].scope_logs[0].log_records[0]
    assert record.event_name == "gen_ai.choice"
    assert any_value(record.body) == {"index": 0, "message": {"content": "hi"}}
    assert record.span_id.hex() == span.span_id
    assert record.trace_id.hex() == span.trace_id[3:]


def test_short_script_loses_nothing_at_exit(run_script: Runner, sink: OTLPSink) -> None:
    result = run_script(
        """
        import annotrace as mlflow

        @mlflow.trace
        def main(x):
            return x + 1

        main(1)
        print(mlflow.get_last_active_trace_id())
        """,
        env={"MLFLOW_TRACKING_URI": sink.url, "MLFLOW_EXPERIMENT_NAME": "from-env"},
    )
    assert result.returncode == 0, result.stderr
    (span,) = sink.spans()
    assert result.stdout.strip() == f"tr-{span.trace_id}"
    assert span.headers["x-annotrace-experiment"] == "from-env"
    assert span.attributes["mlflow.spanOutputs"] == "2"


DOWN_APP = """
    import annotrace

    @annotrace.trace
    def main():
        with annotrace.start_span("inner"):
            return "app done"

    print(main())
    annotrace.flush_trace_async_logging()
    print("flushed")
"""


def test_down_collector_costs_a_warning_not_an_exception(run_script: Runner) -> None:
    port = closed_port()
    result = run_script(
        DOWN_APP,
        env={"ANNOTRACE_TRACKING_URI": f"http://127.0.0.1:{port}", "OTEL_EXPORTER_OTLP_TIMEOUT": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["app", "done", "flushed"]
    assert "Traceback" not in result.stderr
    assert "export" in result.stderr.lower()  # the OTel exporter said why nothing arrived


def test_down_collector_at_exit_only(run_script: Runner) -> None:
    port = closed_port()
    result = run_script(
        """
        import annotrace
        with annotrace.start_span("never-delivered"):
            pass
        print("exiting")
        """,
        env={"ANNOTRACE_TRACKING_URI": f"http://127.0.0.1:{port}", "OTEL_EXPORTER_OTLP_TIMEOUT": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "exiting"
    assert "Traceback" not in result.stderr


def test_failing_collector_response_does_not_raise(sdk: OTLPSink) -> None:
    sdk.status = 400  # permanent error: the exporter logs and drops the batch
    with annotrace.start_span("rejected"):
        pass
    annotrace.flush_trace_async_logging()
    assert [span.name for span in sdk.spans()] == ["rejected"]


def test_otel_endpoint_env_is_honoured_without_tracking_uri(run_script: Runner, sink: OTLPSink) -> None:
    result = run_script(
        """
        import annotrace
        with annotrace.start_span("via-otel-env"):
            pass
        """,
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": sink.url,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_SERVICE_NAME": "checkout",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test",
            "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20secret",
        },
    )
    assert result.returncode == 0, result.stderr
    (span,) = sink.spans()
    assert span.resource["service.name"] == "checkout"
    assert span.resource["deployment.environment"] == "test"
    assert span.headers["authorization"] == "Bearer secret"
    # service.name routes it: no experiment header is added.
    assert "x-annotrace-experiment" not in span.headers


def test_user_global_sdk_provider_is_shared(run_script: Runner, sink: OTLPSink) -> None:
    result = run_script(
        """
        import json
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        import annotrace

        mine = InMemorySpanExporter()
        user_provider = TracerProvider(resource=Resource.create({"service.name": "user-app"}))
        user_provider.add_span_processor(SimpleSpanProcessor(mine))
        trace.set_tracer_provider(user_provider)

        @annotrace.trace
        def handler():
            return "ok"

        with trace.get_tracer("http.server").start_as_current_span("GET /ask"):
            handler()
        annotrace.flush_trace_async_logging()
        print(json.dumps(sorted(span.name for span in mine.get_finished_spans())))
        """,
        env={"ANNOTRACE_TRACKING_URI": sink.url},
    )
    assert result.returncode == 0, result.stderr
    # The user's exporter still sees everything, and so does the collector: one provider, one trace.
    assert json.loads(result.stdout) == ["GET /ask", "handler"]
    by_name = {span.name: span for span in sink.spans()}
    assert set(by_name) == {"GET /ask", "handler"}
    assert by_name["handler"].parent_span_id == by_name["GET /ask"].span_id
    assert by_name["handler"].resource["service.name"] == "user-app"
    # The user's resource names the service, which the collector routes on: no Default header.
    assert "x-annotrace-experiment" not in by_name["handler"].headers


def test_terminate_stops_exporting_quietly(run_script: Runner, sink: OTLPSink) -> None:
    result = run_script(
        """
        import annotrace
        with annotrace.start_span("before"):
            pass
        annotrace.flush_trace_async_logging(terminate=True)
        with annotrace.start_span("after"):
            pass
        annotrace.flush_trace_async_logging()
        print("ok")
        """,
        env={"ANNOTRACE_TRACKING_URI": sink.url},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert [span.name for span in sink.spans()] == ["before"]


def test_sdk_disabled_env_keeps_the_app_working(run_script: Runner, sink: OTLPSink) -> None:
    result = run_script(
        """
        import annotrace

        @annotrace.trace
        def main():
            return 42

        print(main(), annotrace.get_current_active_span())
        """,
        env={"ANNOTRACE_TRACKING_URI": sink.url, "OTEL_SDK_DISABLED": "true"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "42 None"
    assert sink.spans() == []


def test_exit_wait_is_bounded_when_the_collector_keeps_failing(run_script: Runner, sink: OTLPSink) -> None:
    sink.status = 503  # retryable: the exporter would back off and retry for OTEL_EXPORTER_OTLP_TIMEOUT
    result = run_script(
        """
        import annotrace
        from annotrace.tracing import provider
        with annotrace.start_span("stuck"):
            pass
        provider.shutdown(timeout_s=0.5)
        print("done")
        """,
        env={"ANNOTRACE_TRACKING_URI": sink.url, "OTEL_EXPORTER_OTLP_TIMEOUT": "60"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"
    assert "did not accept the last telemetry" in result.stderr
    assert "Traceback" not in result.stderr


def test_exporter_lookup_covers_span_and_log_processors() -> None:
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, InMemoryLogRecordExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    span_exporter, log_exporter = InMemorySpanExporter(), InMemoryLogRecordExporter()
    span_processor, log_processor = BatchSpanProcessor(span_exporter), BatchLogRecordProcessor(log_exporter)
    try:
        assert provider._exporter_of(span_processor) is span_exporter
        assert provider._exporter_of(log_processor) is log_exporter
    finally:
        span_processor.shutdown()
        log_processor.shutdown()


def test_a_trace_is_exported_when_its_root_ends_not_on_the_batch_timer(
    sdk: OTLPSink, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("OTEL_BSP_SCHEDULE_DELAY", "600000")  # the batch timer alone would wait 10 minutes
    tracking.set_experiment("root-end")  # a new exporter, built with that delay
    with annotrace.start_span("root"), annotrace.start_span("child"):
        pass
    assert sorted(span.name for span in sdk.wait_for_spans(2)) == ["child", "root"]


def test_a_rest_call_first_exports_the_spans_this_process_ended(sdk: OTLPSink, clean_env: pytest.MonkeyPatch) -> None:
    from annotrace.client import traces as trace_client

    clean_env.setenv("OTEL_BSP_SCHEDULE_DELAY", "600000")
    tracking.set_experiment("flush-first")
    with annotrace.start_span("still-running-root"):
        with annotrace.start_span("ended-child"):
            pass
        trace_client.get_experiment_id_by_name("flush-first")  # any REST call
        assert [span.name for span in sdk.spans()] == ["ended-child"]  # exported before the call, no wait
