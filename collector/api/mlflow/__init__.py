"""MLflow-compatible REST routes: MLflow's paths, verbs and JSON shapes (reference 1-6, 9).

Mounted by ``collector/api/routes.py`` under ``/api/<v>/mlflow`` and ``/ajax-api/<v>/mlflow``.
"""
