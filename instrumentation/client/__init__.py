"""REST clients of the collector: ``rest`` (the one HTTP session), ``assessments``, ``traces``."""
