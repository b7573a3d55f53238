import pytest
import redis
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_whoami_reports_user_and_role(coordinator_client, staff_client):
    response = coordinator_client.get("/api/v1/whoami")
    assert response.status_code == 200
    assert response.json() == {"username": "coordinator", "role": "coordinator", "is_staff": False}
    assert staff_client.get("/api/v1/whoami").json()["role"] == "operator"


def test_unauthenticated_api_call_is_401_in_the_envelope():
    response = APIClient().get("/api/v1/whoami")
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "not_authenticated"
    assert body["error"]["message"]


def test_bad_token_is_401_in_the_envelope():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/v1/whoami")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_unknown_route_is_404_in_the_envelope(coordinator_client):
    response = coordinator_client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert APIClient().get("/nowhere").json()["error"]["code"] == "not_found"


def test_wrong_method_is_405_in_the_envelope(coordinator_client):
    response = coordinator_client.delete("/api/v1/whoami")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_coordinator_cannot_use_staff_endpoints(coordinator_client):
    response = coordinator_client.get("/api/v1/indexes/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_an_unexpected_error_is_500_in_the_envelope(coordinator_client, monkeypatch):
    """A bug inside a view reaches Django's handler500, which answers in the same envelope."""
    from apps.core.api.views import WhoAmIView

    def broken(self, request):
        raise RuntimeError("boom")

    monkeypatch.setattr(WhoAmIView, "get", broken)
    coordinator_client.raise_request_exception = False
    response = coordinator_client.get("/api/v1/whoami")
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "server_error", "message": "Internal server error.", "fields": {}}}


def test_openapi_schema_and_docs_render(coordinator_client):
    schema = coordinator_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/whoami" in paths and "/api/v1/workers/search" in paths
    docs = coordinator_client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


def test_api_token_command_prints_only_the_key(db):
    from io import StringIO

    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    out = StringIO()
    call_command("api_token", "scripted", "--staff", stdout=out)
    key = out.getvalue().strip()
    token = Token.objects.get(key=key)
    assert token.user.username == "scripted" and token.user.is_staff
    again = StringIO()
    call_command("api_token", "scripted", stdout=again)
    assert again.getvalue().strip() == key  # idempotent: same user, same token


def test_healthz_names_redis_when_it_is_down(monkeypatch, tmp_path):
    from apps.core import selectors

    dead = redis.Redis(unix_socket_path=str(tmp_path / "nobody-listens.sock"), socket_connect_timeout=0.2)
    monkeypatch.setattr(selectors, "get_redis", lambda: dead)
    response = APIClient().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert "redis" in body["down"]
    assert body["redis"]["ok"] is False
    assert body["database"]["ok"] is True and body["pgvector"]


def test_a_verified_token_is_trusted_for_the_cache_window_then_checked_again(coordinator_client, settings, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token

    from apps.core.api.authentication import CachedTokenAuthentication

    settings.API_TOKEN_CACHE_S = 30
    assert coordinator_client.get("/api/v1/whoami").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert coordinator_client.get("/api/v1/whoami").status_code == 200
    assert not [q for q in queries.captured_queries if "authtoken_token" in q["sql"]]

    # The window itself: a deleted token keeps working until API_TOKEN_CACHE_S has passed, not after.
    now = [10_000.0]
    monkeypatch.setattr(CachedTokenAuthentication, "_clock", staticmethod(lambda: now[0]))
    CachedTokenAuthentication.forget_all()
    assert coordinator_client.get("/api/v1/whoami").status_code == 200  # verified at t=0, cached until t=30
    Token.objects.all().delete()
    now[0] += 29.9
    assert coordinator_client.get("/api/v1/whoami").status_code == 200
    now[0] += 0.2
    assert coordinator_client.get("/api/v1/whoami").status_code == 401

    settings.API_TOKEN_CACHE_S = 0  # no window: a deleted token fails at once
    CachedTokenAuthentication.forget_all()
    assert coordinator_client.get("/api/v1/whoami").status_code == 401


@pytest.mark.parametrize("url", ["/api/v1/workers/%00/", "/api/v1/orders/?city=%00", "/api/v1/replay/runs/?batch=%00"])
def test_values_the_database_cannot_store_are_400_not_500(coordinator_client, url):
    response = coordinator_client.get(url)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_coordinators_are_throttled_and_staff_are_not(coordinator_client, staff_client, settings):
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    from apps.core.api.throttling import CoordinatorRateThrottle

    rates = dict(api_settings.DEFAULT_THROTTLE_RATES, coordinator="3/min")
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = rates  # DRF reads the rates once, at import
    try:
        assert [coordinator_client.get("/api/v1/whoami").status_code for _ in range(3)] == [200, 200, 200]
        throttled = coordinator_client.get("/api/v1/whoami")
        assert throttled.status_code == 429
        assert throttled.json()["error"]["code"] == "throttled" and int(throttled["Retry-After"]) > 0
        assert [staff_client.get("/api/v1/whoami").status_code for _ in range(10)] == [200] * 10  # exempt
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
    assert CoordinatorRateThrottle.scope == "coordinator"


@pytest.mark.parametrize("path, body", [("/api/v1/workers/search", {"query": "welder"}), ("/api/v1/whoami", None)])
def test_redis_down_on_an_api_path_is_503_in_the_envelope_within_2_s(coordinator_client, tmp_path, monkeypatch, path, body):
    """The throttle, caches and search all use Redis: with it gone an API call answers 503 fast."""
    import time

    from django.core.cache import caches

    dead_url = f"unix://{tmp_path / 'nobody-listens.sock'}"
    from django.core.cache.backends.redis import RedisCache

    dead = RedisCache(dead_url, {"KEY_PREFIX": "lh"})
    monkeypatch.setattr(caches._connections, "default", dead, raising=False)
    from apps.core import redis as core_redis

    dead_client = redis.Redis.from_url(dead_url, socket_connect_timeout=0.5)
    monkeypatch.setattr(core_redis, "get_redis", lambda: dead_client)
    t0 = time.monotonic()
    response = coordinator_client.post(path, body, format="json") if body else coordinator_client.get(path)
    elapsed = time.monotonic() - t0
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "redis_unavailable"
    assert elapsed < 2.0
