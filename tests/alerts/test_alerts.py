"""Alerts (issue 20): a failed job or a replay batch with regressions sends one email and, when
configured, one webhook POST — retried on transient failures, against a real local HTTP server — and
never a second alert for the same job or batch."""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail

from apps.alerts.models import Alert
from apps.alerts.services import notify_job_failed, notify_regressions

pytestmark = pytest.mark.django_db


class WebhookServer:
    """127.0.0.1 on a free port; answers the queued statuses first, then 200 "ok" (not JSON, as many
    webhook receivers answer); records every POST body."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = deque(statuses)
        self.bodies: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                server.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                status = server.statuses.popleft() if server.statuses else 200
                payload = b"ok" if status == 200 else b'{"error": "busy"}'
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def __enter__(self) -> "WebhookServer":
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def alert_settings(settings):
    settings.ALERT_EMAILS = ["ops@example.com"]
    settings.ALERT_WEBHOOK_BACKOFF_S = 0.01
    settings.ALERT_WEBHOOK_RETRIES = 3
    return settings


def test_a_failed_job_alerts_once_by_email_and_a_retried_webhook(alert_settings, django_capture_on_commit_callbacks):
    with WebhookServer(503, 502) as server:
        alert_settings.ALERT_WEBHOOK_URL = server.url
        with django_capture_on_commit_callbacks(execute=True):
            first = notify_job_failed("ingest", 42, "ValueError: bad parquet")
            again = notify_job_failed("ingest", 42, "ValueError: bad parquet")
    assert first is not None and again is None
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ops@example.com"]
    assert "ingest job 42 failed" in mail.outbox[0].subject and "bad parquet" in mail.outbox[0].body
    assert len(server.bodies) == 3, "two transient failures, then delivered"
    assert server.bodies[-1]["event"] == "job_failed" and server.bodies[-1]["job_id"] == "42"
    alert = Alert.objects.get()
    assert (alert.email, alert.webhook, alert.webhook_attempts, alert.delivery_error) == ("sent", "sent", 3, "")


def test_a_webhook_that_stays_down_is_recorded_and_never_raises(alert_settings, django_capture_on_commit_callbacks):
    with WebhookServer(500, 500, 500, 500, 500) as server:
        alert_settings.ALERT_WEBHOOK_URL = server.url
        with django_capture_on_commit_callbacks(execute=True):
            notify_regressions("rb_1", 3)
            notify_regressions("rb_2", 0)  # no regressions, no alert
    assert len(server.bodies) == 4 and server.bodies[0]["regressions"] == 3
    alert = Alert.objects.get()
    assert (alert.kind, alert.email, alert.webhook) == ("replay_regressions", "sent", "failed")
    assert "webhook" in alert.delivery_error and len(mail.outbox) == 1


def test_a_failed_ingest_job_raises_its_alert(alert_settings, tmp_path, django_capture_on_commit_callbacks):
    from apps.workers.services import create_ingest_job, run_ingest

    path = tmp_path / "workers.parquet"
    path.write_bytes(b"this is not parquet")
    job = create_ingest_job(path=path, dispatch=False)
    with django_capture_on_commit_callbacks(execute=True):
        job = run_ingest(job.pk)
        run_ingest(job.pk)  # a redelivered task finds the job finished: no second alert
    assert job.status == "failed"
    assert Alert.objects.get().key == f"job_failed:ingest:{job.pk}"
    assert len(mail.outbox) == 1 and job.error in mail.outbox[0].body
