"""The README tells a newcomer the truth: the variables the shipped config reads, and an SDK
example that runs as written against a real collector."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.collector_process import Collector

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def test_the_readme_names_every_variable_the_shipped_config_reads() -> None:
    config = (REPO / "otel-config.yaml").read_text(encoding="utf-8")
    variables = re.findall(r"\$\{env:(ANNOTRACE_\w+):-([^}]*)\}", config)
    assert variables
    for name, default in variables:
        assert f"| `{name}` | `{default}` |" in README, name


def test_the_sdk_example_runs_as_written(collector: Collector, tmp_path: Path) -> None:
    example = README.split("so code written for MLflow runs with the import changed.")[1]
    code = example.split("```python\n", 1)[1].split("```", 1)[0]
    assert 'annotrace.set_tracking_uri("http://127.0.0.1:5000")' in code
    code = code.replace('"http://127.0.0.1:5000"', repr(collector.web))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANNOTRACE_", "MLFLOW_", "OTEL_"))}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "tr-" in result.stdout and "assessment_id" in result.stdout
