"""Real servers are reached from the URLs alone: passwords and TLS for Redis (PostgreSQL's `sslmode`
and password are checked against a real server by `make test-cluster`)."""

from __future__ import annotations

import pytest
import redis
from celery import Celery

from lakehouse.settings import redis_tls_url


@pytest.mark.parametrize(
    "url, expected",
    [
        ("redis://:secret@10.0.0.5:6379/0", "redis://:secret@10.0.0.5:6379/0"),
        ("rediss://:secret@10.0.0.5:6380/0", "rediss://:secret@10.0.0.5:6380/0?ssl_cert_reqs=required"),
        ("rediss://:secret@10.0.0.5:6380/0?socket_timeout=5", "rediss://:secret@10.0.0.5:6380/0?socket_timeout=5&ssl_cert_reqs=required"),
        ("rediss://:secret@10.0.0.5:6380/0?ssl_cert_reqs=none", "rediss://:secret@10.0.0.5:6380/0?ssl_cert_reqs=none"),
    ],
)
def test_a_tls_redis_url_gets_certificate_verification_unless_it_says_otherwise(url: str, expected: str) -> None:
    assert redis_tls_url(url) == expected


def test_a_tls_redis_url_with_a_password_works_for_celery_and_the_cache_client() -> None:
    url = redis_tls_url("rediss://:s3cret@10.0.0.5:6380/2")
    with pytest.raises(ValueError, match="ssl_cert_reqs"):
        Celery(backend="rediss://:s3cret@10.0.0.5:6380/2").backend  # why the setting adds it
    backend = Celery(broker=url, backend=url).backend
    assert backend.connparams["password"] == "s3cret" and backend.connparams["connection_class"] is redis.SSLConnection
    pool = redis.Redis.from_url(url).connection_pool  # what Django's RedisCache builds from LOCATION
    assert pool.connection_class is redis.SSLConnection and pool.connection_kwargs["password"] == "s3cret"
    assert pool.connection_kwargs["db"] == 2
