"""``annotrace.set_active_model``: MLflow's version tracking, with the model kept on the collector.

As ``mlflow.set_active_model`` does, a name is looked up among the current experiment's logged
models (the newest of that name wins) and created, as an external model, if there is none; a
``model_id`` must exist. Every later trace of this process carries the model's id
(``mlflow.modelId`` metadata), so ``search_traces(model_id=...)`` finds what each version made.

A collector without the logged-models API (older than it, or a plain OTLP endpoint) answers
ENDPOINT_NOT_FOUND: then the id is derived from the experiment and the name
(``context.set_active_model``), stable across runs, so tracing still works unchanged.
"""

from __future__ import annotations

from annotrace.client import logged_models as client
from annotrace.client.experiments import current_experiment_id
from annotrace.exceptions import AnnotraceException
from annotrace.tracing import context
from annotrace.tracing.context import ActiveModel

__all__ = ["set_active_model"]

NO_ENDPOINT = "ENDPOINT_NOT_FOUND"


def set_active_model(*, name: str | None = None, model_id: str | None = None) -> ActiveModel:
    """Make ``name`` (or ``model_id``) the active model; usable as a context manager, which
    restores the previous one (MLflow's ``ActiveModel``)."""
    if name is None and model_id is None:
        raise AnnotraceException.invalid_parameter_value("Either name or model_id must be provided")
    try:
        if model_id is not None:
            found = client.get_logged_model(str(model_id))
            if name is not None and found.get("name") != name:
                raise AnnotraceException.invalid_parameter_value(
                    f"LoggedModel with model_id {model_id!r} has name {found.get('name')!r}, which does"
                    f" not match the provided name {name!r}."
                )
            return context.set_active_model(name=found.get("name") or name, model_id=str(model_id))
        assert name is not None
        experiment_id = current_experiment_id()
        models = client.search_by_name(experiment_id, name)
        info = models[0] if models else client.create_external_model(experiment_id, name)
        return context.set_active_model(name=name, model_id=str(info["model_id"]))
    except AnnotraceException as error:
        if error.error_code != NO_ENDPOINT:
            raise
        return context.set_active_model(name=name, model_id=model_id)
