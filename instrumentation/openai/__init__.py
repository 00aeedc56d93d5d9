"""``annotrace.openai.autolog()``: trace OpenAI client calls, as ``mlflow.openai.autolog()`` does.

Importing this package does not import ``openai`` or any instrumentation; ``autolog()`` does.
"""

from __future__ import annotations

from annotrace.openai.instrumentor import autolog

__all__ = ["autolog"]
