"""The evidence admin: read-only inspection pages render, and "Materialize now" queues (never runs) a run."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.test import Client

from apps.evidence import services
from apps.evidence.models import EvidenceRecord, MaterializeRun
from tests.evidence.conftest import DAY

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    from apps.evidence import tasks

    calls: list[str] = []

    class Result:
        id = "task-9"

    monkeypatch.setattr(tasks.materialize_task, "delay", lambda run_id: calls.append(run_id) or Result())
    return calls


def test_inspection_pages_render_read_only(kb_dir, admin_client, every_kind):
    run = services.build_evidence_index()
    record = EvidenceRecord.objects.get(transform="sms_draft")
    interaction = every_kind["validate_sms"]

    page = admin_client.get("/admin/interactions/interaction/?kind=validate_sms&ok__exact=1")
    assert page.status_code == 200 and str(interaction.id) in page.content.decode()
    assert "Add interaction" not in page.content.decode()
    detail = admin_client.get(f"/admin/interactions/interaction/{interaction.id}/change/").content.decode()
    assert "Reply STOP to opt out" in detail and 'name="kind"' not in detail  # shown, not editable

    records = admin_client.get(f"/admin/evidence/evidencerecord/?task_type=draft_sms&transform=sms_draft&verdict_ok__exact=1&day={DAY}")
    assert records.status_code == 200 and record.evidence_id in records.content.decode()
    assert admin_client.get("/admin/evidence/evidencerecord/?transform=search_session").content.decode().count(record.evidence_id) == 0
    shown = admin_client.get(f"/admin/evidence/evidencerecord/{record.pk}/change/").content.decode()
    assert "draft_sms" in shown and 'class="lh-kv"' in shown  # JSON fields as key/value tables
    assert f'/admin/evidence/interaction/{record.source_id}/change/' in shown  # the source is a link

    runs = admin_client.get("/admin/evidence/materializerun/").content.decode()
    assert run.run_id in runs and "Materialize now" in runs
    receipt = admin_client.get(f"/admin/evidence/materializerun/{quote(run.run_id)}/change/").content.decode()
    assert "materialize_receipt.v1" in receipt and f"run-{run.run_id}.jsonl" in receipt
    assert admin_client.post(f"/admin/evidence/materializerun/{quote(run.run_id)}/delete/").status_code == 403


def test_materialize_now_queues_a_run_and_says_so(kb_dir, admin_client, sent, django_capture_on_commit_callbacks):
    assert admin_client.get("/admin/evidence/materializerun/materialize/").status_code == 200
    assert not MaterializeRun.objects.exists()  # GET only shows the form

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/evidence/materializerun/materialize/", {"day": "", "rebuild_day": DAY}, follow=True)
    run = MaterializeRun.objects.get()
    assert sent == [run.run_id]
    assert (run.status, run.mode, run.rebuild_day.isoformat(), run.created_by) == ("queued", "rebuild", DAY, "admin")
    assert f"Materialize run <a href=\"/admin/evidence/materializerun/{quote(run.run_id)}/change/\">{run.run_id}</a> queued." in response.content.decode()


def test_materialize_now_reports_a_busy_lock_and_bad_input(kb_dir, admin_client, sent, other_connection_holding_the_lock):
    busy = admin_client.post("/admin/evidence/materializerun/materialize/", {}, follow=True).content.decode()
    assert "Not queued" in busy and "is running" in busy
    assert not MaterializeRun.objects.exists() and sent == []


def test_materialize_now_rejects_a_bad_date(kb_dir, admin_client, sent):
    page = admin_client.post("/admin/evidence/materializerun/materialize/", {"day": "31/12/2026"}, follow=True).content.decode()
    assert "Not queued" in page and "is not a date" in page
    assert not MaterializeRun.objects.exists()


def test_staff_without_the_permission_cannot_materialize(kb_dir, sent):
    user = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    client = Client()
    client.force_login(user)
    assert client.post("/admin/evidence/materializerun/materialize/").status_code == 403
    assert not MaterializeRun.objects.exists()


def test_a_run_id_with_admin_escape_like_characters_opens(kb_dir, admin_client):
    # Django's admin reads "_40" in a URL as "@" and "_5F" as "_": run ids must travel quoted.
    run = MaterializeRun.objects.create(run_id="mr_20261128T000000_40aa5f00", mode="incremental", kb_dir=str(kb_dir))
    listing = admin_client.get("/admin/evidence/materializerun/").content.decode()
    assert f"/admin/evidence/materializerun/{quote(run.run_id)}/change/" in listing
    page = admin_client.get(f"/admin/evidence/materializerun/{quote(run.run_id)}/change/")
    assert page.status_code == 200 and "materialize_receipt.v1" in page.content.decode()
