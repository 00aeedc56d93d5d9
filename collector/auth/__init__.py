"""Who is calling and what they may do: one authentication layer for every entry point (OTLP gRPC
metadata, OTLP/HTTP, REST, SQL, pages), configured as authenticator extensions (``bearertokenauth``,
``basicauth``) in ``otel-config.yaml`` as the OpenTelemetry Collector does.

Sits between the store (users live there) and the entry points (receivers, api, web), which all
ask this package and nothing else.
"""
