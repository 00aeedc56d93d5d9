"""Pure data entities in MLflow's shapes (stdlib only, safe for the collector to import).

Assessment entities (``Feedback``, ``Expectation``, ``AssessmentSource``...) will join this
package in ``assessment.py``.
"""

from __future__ import annotations

from annotrace.entities.document import Document
from annotrace.entities.span import SpanType

__all__ = ["Document", "SpanType"]
