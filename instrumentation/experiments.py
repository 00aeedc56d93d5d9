"""``annotrace.set_experiment``: choose the experiment later traces join, creating it on the
collector at once, as ``mlflow.set_experiment`` does.

The choice itself is a process setting (``tracking.set_experiment``, which never touches the
network); this module adds the server round trip, so ``search_traces`` or a labeling session in
the same script finds the experiment even before any trace was stored in it.
"""

from __future__ import annotations

from annotrace import tracking
from annotrace.client.experiments import get_or_create_experiment_id

__all__ = ["set_experiment"]


def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> None:
    """Make later traces of this process join an experiment, by name or by id (not both).

    A name that does not exist yet is created on the collector now (so an unreachable collector
    raises here, as MLflow does). An id is recorded as given: the collector creates the
    experiment when its first trace arrives.
    """
    choice = tracking.experiment_choice(experiment_name, experiment_id)
    if choice.name is not None:
        get_or_create_experiment_id(choice.name)
    tracking.set_experiment(experiment_name, experiment_id)
