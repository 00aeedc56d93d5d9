"""Reading the GenAI conventions into what the store persists, on the pipeline side of the store.

The store only writes Arrow tables and answers queries; what an OTel ``gen_ai.evaluation.result``
event, an OpenInference annotation or a ``gen_ai.*.message`` log record means is decided here:
``staging.stage`` (run in the decode workers) turns a batch into the store's tables with the
evaluation results (``evaluations``) and the GenAI log events the writer joins to spans
(``log_events``). The span readers themselves are the ``genai`` processor's
(``pipeline/processors/genai_*.py``).
"""
