"""Query strings parsed through the same typed declarations as request bodies (``models.parse``),
so a GET route's parameters are checked, worded and documented as a body's are.

MLflow reads a query string without type information: a key given once is a plain string, so its
server turns a repeated field (``trace_ids``) given once into a list of one. ``parse_query`` does
the same for the fields declared as ``TextList``; any other key given several times stays a list
(and is refused as "expected a string, got a list", as before models).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, get_type_hints

from annotrace.collector.api.models import TextList, parse

if TYPE_CHECKING:
    from starlette.datastructures import QueryParams

B = TypeVar("B")
_LISTS: dict[Any, frozenset[str]] = {}


def parse_query(body: type[B], params: QueryParams, prefix: str = "") -> B:
    """``params`` as the ``TypedDict`` ``body`` (see the module docstring for lists)."""
    return parse(body, query_data(body, params), prefix)


def query_data(body: type[Any], params: QueryParams) -> dict[str, Any]:
    """``params`` as the dict ``parse_query`` checks against ``body``, for a route that adjusts it
    first (MLflow's run routes read ``run_uuid`` as ``run_id``)."""
    lists = _LISTS.get(body)
    if lists is None:
        hints = get_type_hints(body, include_extras=True)
        lists = _LISTS[body] = frozenset(
            name for name, hint in hints.items() if any(isinstance(m, TextList) for m in _metadata(hint))
        )
    data: dict[str, Any] = {}
    for key in params:
        values = params.getlist(key)
        data[key] = values if len(values) > 1 or key in lists else values[0]
    return data


def _metadata(hint: Any) -> list[Any]:
    """The ``Annotated`` metadata in a field's type, through ``NotRequired`` and ``| None``."""
    found = list(getattr(hint, "__metadata__", ()))
    for arg in getattr(hint, "__args__", ()):
        found.extend(_metadata(arg))
    return found
