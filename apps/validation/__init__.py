"""Pure-Python validation: PII detection and masking, SMS encoding, outreach and fill validators.

Nothing in this package imports Django or touches the database: callers look records up in bulk and
pass plain dicts, so the API, Celery tasks, replay and the load harness all run the same checks.
"""
