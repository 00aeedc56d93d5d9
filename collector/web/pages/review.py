"""(being built)"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from annotrace.collector.store.access import Access


def routes(api: Access) -> list[BaseRoute]:
    return []
