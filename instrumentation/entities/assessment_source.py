"""``AssessmentSource`` and ``AssessmentSourceType``: who produced an assessment, as MLflow names it.

Kept in their own module, as in MLflow, because scorers, label schemas and the Review App all
name a source without needing the assessment classes. ``source_type`` is validated and
upper-cased when the object is built, so a typo fails where it is written, not at the server;
the legacy ``AI_JUDGE`` still works (as ``LLM_JUDGE``) with MLflow's ``FutureWarning``.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from annotrace.exceptions import AnnotraceException, ErrorCode

__all__ = ["AssessmentSource", "AssessmentSourceType"]


class AssessmentSourceType:
    """The valid source types (strings, like MLflow's), plus the deprecated ``AI_JUDGE`` alias."""

    SOURCE_TYPE_UNSPECIFIED = "SOURCE_TYPE_UNSPECIFIED"
    LLM_JUDGE = "LLM_JUDGE"
    AI_JUDGE = "AI_JUDGE"  # deprecated: read as LLM_JUDGE
    HUMAN = "HUMAN"
    CODE = "CODE"
    _SOURCE_TYPES: ClassVar[list[str]] = [
        SOURCE_TYPE_UNSPECIFIED,
        LLM_JUDGE,
        HUMAN,
        CODE,
    ]  # printed as a list, as MLflow does

    def __init__(self, source_type: str) -> None:
        self._source_type = AssessmentSourceType._parse(source_type)

    def __str__(self) -> str:
        return self._source_type

    @staticmethod
    def _parse(source_type: str) -> str:
        source_type = str(source_type).upper()
        if source_type == AssessmentSourceType.AI_JUDGE:
            warnings.warn("AI_JUDGE is deprecated. Use LLM_JUDGE instead.", FutureWarning, stacklevel=2)
            source_type = AssessmentSourceType.LLM_JUDGE
        if source_type not in AssessmentSourceType._SOURCE_TYPES:
            raise AnnotraceException(
                f"Invalid assessment source type: {source_type}. "
                f"Valid source types: {AssessmentSourceType._SOURCE_TYPES}",
                error_code=ErrorCode.INVALID_PARAMETER_VALUE,
            )
        return source_type

    @staticmethod
    def _standardize(source_type: str) -> str:
        return str(AssessmentSourceType(source_type))


@dataclass
class AssessmentSource:
    """``AssessmentSource(source_type, source_id="default")``: a human's email, a judge's model id,
    or a scorer's name, with its type."""

    source_type: str
    source_id: str | None = "default"

    def __post_init__(self) -> None:
        self.source_type = AssessmentSourceType._standardize(self.source_type)

    def to_dictionary(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dictionary(cls, source_dict: dict[str, Any]) -> AssessmentSource:
        return cls(**source_dict)

    def _to_json(self) -> dict[str, Any]:
        """The proto JSON inside an ``Assessment``: unset ``source_id`` is left out."""
        out: dict[str, Any] = {"source_type": self.source_type}
        if self.source_id is not None:
            out["source_id"] = self.source_id
        return out
