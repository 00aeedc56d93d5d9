"""Every page names the collector's own icon, and asking for ``/favicon.ico`` is not a 404."""

from __future__ import annotations

import httpx
import pytest

from tests.collector_process import Collector

ICON = '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'


@pytest.mark.parametrize("path", ["/", "/review", "/login", "/experiments/0/traces", "/traces/tr-" + "0" * 32])
def test_every_page_links_the_icon(collector: Collector, path: str) -> None:
    page = httpx.get(collector.web + path, timeout=30, follow_redirects=True)
    assert page.headers["content-type"].startswith("text/html")
    assert ICON in page.text


@pytest.mark.parametrize("path", ["/favicon.ico", "/static/favicon.svg"])
def test_the_icon_is_served(collector: Collector, path: str) -> None:
    icon = httpx.get(collector.web + path, timeout=30)
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/svg+xml"
    assert icon.text.startswith("<svg")
