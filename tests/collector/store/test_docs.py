"""The README's SQL reference is generated from the schema and must be current and complete."""

from __future__ import annotations

from pathlib import Path

from annotrace.collector.store import docs

README = Path(__file__).resolve().parents[3] / "README.md"


def test_every_table_and_column_has_a_comment() -> None:
    assert docs.missing_comments() == []


def test_readme_sql_reference_is_current() -> None:
    text = README.read_text()
    block = text.split(docs.START, 1)[1].split(docs.END, 1)[0]
    assert block.strip() == docs.reference().strip(), "README is stale: run `make docs`"
