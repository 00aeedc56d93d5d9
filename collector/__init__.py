"""The annotrace collector: OTLP receivers, a durable spool, a DuckDB store and the web API.

Kept import-light: the SDK (``import annotrace``) is always imported first, and nothing here may
slow it down.
"""

__version__ = "0.1.0"
