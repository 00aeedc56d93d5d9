"""Names for unnamed runs and logged models, in MLflow's ``<adjective>-<noun>-<number>`` form.

Why apart from ``runs.py``: the word lists are data, and logged models use them too.
"""

from __future__ import annotations

import random

# MLflow names unnamed runs "<adjective>-<noun>-<number>" (mlflow/utils/name_utils.py); a few of its words.
_ADJECTIVES = (
    "able",
    "bold",
    "bright",
    "calm",
    "clever",
    "gentle",
    "honest",
    "lucky",
    "merciful",
    "polite",
    "sedate",
    "skillful",
    "smiling",
    "thundering",
    "upbeat",
    "wise",
)
_NOUNS = (
    "ant",
    "bass",
    "cat",
    "colt",
    "crane",
    "deer",
    "finch",
    "fox",
    "hare",
    "lark",
    "mole",
    "owl",
    "ram",
    "shrike",
    "sloth",
    "wolf",
)


def random_name() -> str:
    """A name for an unnamed run or logged model, in MLflow's adjective-noun-number form."""
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(0, 999)}"
