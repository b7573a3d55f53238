"""Outreach and fill validation.

The validators — ``sms`` and ``email_validator`` — are pure Python over
plain data: they import nothing from Django and never touch the database. Callers look records up
once, in bulk, and pass plain dicts, so the API, Celery tasks, replay, the evidence materializer and
the load harness all run exactly the same checks.
"""
