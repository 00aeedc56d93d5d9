"""The built-in components, by kind and YAML type name: the only list of what a config may use."""

from __future__ import annotations

from annotrace.collector.auth.settings import BasicAuthConfig, BearerTokenAuthConfig
from annotrace.collector.component import Factory
from annotrace.collector.exporters.duckdb import DuckDBConfig, DuckDBExporter
from annotrace.collector.exporters.otlp import OTLPExporter, OTLPExporterConfig
from annotrace.collector.extensions import SpoolConfig, WebConfig
from annotrace.collector.pipeline.processors.batch import BatchConfig, BatchProcessor
from annotrace.collector.pipeline.processors.genai import GenAIConfig, GenAINormalizeProcessor
from annotrace.collector.receivers.otlp import OTLPReceiver, OTLPReceiverConfig

RECEIVERS = {"otlp": Factory("otlp", OTLPReceiverConfig, OTLPReceiver)}
PROCESSORS = {
    "batch": Factory("batch", BatchConfig, BatchProcessor),
    "genai": Factory("genai", GenAIConfig, GenAINormalizeProcessor),
}
EXPORTERS = {
    "duckdb": Factory("duckdb", DuckDBConfig, DuckDBExporter),
    "otlp": Factory("otlp", OTLPExporterConfig, OTLPExporter),
}
EXTENSIONS = {
    "web": Factory("web", WebConfig),
    "spool": Factory("spool", SpoolConfig),
    "bearertokenauth": Factory("bearertokenauth", BearerTokenAuthConfig),
    "basicauth": Factory("basicauth", BasicAuthConfig),
}


def config_classes() -> dict[str, dict[str, type]]:
    """What ``config.load`` needs: kind -> type name -> config dataclass."""
    return {
        kind: {name: factory.config for name, factory in factories.items()}
        for kind, factories in (
            ("receivers", RECEIVERS),
            ("processors", PROCESSORS),
            ("exporters", EXPORTERS),
            ("extensions", EXTENSIONS),
        )
    }
