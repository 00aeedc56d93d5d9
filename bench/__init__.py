"""annotrace's benchmark: `make bench` (= `python -m bench` from the repository root).

It treats the collector as a black box, exactly as users do: it starts
`python -m annotrace.collector serve` with a generated config, sends realistic GenAI traces from
several client processes over OTLP gRPC and OTLP/HTTP, and reads the results back through the SQL
API. It is a top-level package (not part of the `annotrace` distribution) because it is a tool for
developers: it imports nothing from the collector except, in the decode scenario, the hot-loop
functions it measures in-process.

Modules: traffic (payloads), clients (load processes), collector_proc (collector lifecycle and
RSS), ceiling (in-process ceilings), scenarios (one scenario end to end), report (the table).
"""
