"""The process-wide Redis client (one connection pool per process; redis-py re-creates it after fork)."""

from __future__ import annotations

from functools import lru_cache

import redis
from django.conf import settings
from redis.backoff import ExponentialBackoff
from redis.retry import Retry


@lru_cache(maxsize=1)
def get_redis() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=2.0,
        socket_connect_timeout=1.0,
        health_check_interval=30,
        max_connections=64,
        # Fail fast when Redis is down (one quick retry): callers degrade (caches) or answer 503.
        retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), 1),
    )
