"""Django's PostgreSQL backend with a cheaper pooled-connection check (see base.py)."""
