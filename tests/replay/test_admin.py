import pytest
from django.test import Client

from apps.evidence.models import EvidenceRecord
from apps.replay.models import ReplayBatch

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in(db) -> Client:
    from apps.core.services import issue_api_token

    issue_api_token(username="op", staff=True, password="pw-for-tests")
    client = Client()
    assert client.login(username="op", password="pw-for-tests")
    return client


def _record(evidence_id: str) -> EvidenceRecord:
    from django.utils import timezone

    return EvidenceRecord.objects.create(
        evidence_id=evidence_id, day=timezone.now().date(), occurred_at=timezone.now(), source_kind="interaction",
        source_id="x", transform="sms_draft", transform_version=1, task_type="draft_sms", verdict={"ok": True, "errors": []}, verdict_ok=True,
    )


def test_replay_this_evidence_action_queues_a_batch_for_exactly_the_selection(admin_client_logged_in):
    records = [_record(f"ev_{i:032x}") for i in range(3)]
    response = admin_client_logged_in.post(
        "/admin/evidence/evidencerecord/",
        {"action": "replay_selected", "_selected_action": [r.pk for r in records[:2]]},
        follow=True,
    )
    assert response.status_code == 200
    batch = ReplayBatch.objects.get()
    assert sorted(batch.evidence_ids) == sorted(r.evidence_id for r in records[:2])
    assert batch.status == "queued" and batch.created_by == "op"
    assert batch.batch_id in response.content.decode()


def test_replay_a_day_launcher_and_the_regressions_first_list(admin_client_logged_in):
    page = admin_client_logged_in.get("/admin/replay/replaybatch/replay-day/")
    assert page.status_code == 200 and b"replay-day-form" in page.content
    response = admin_client_logged_in.post(
        "/admin/replay/replaybatch/replay-day/", {"day": "2026-11-27", "task_types": ["draft_sms"], "provider": "local", "concurrency": 2}, follow=True
    )
    assert response.status_code == 200
    batch = ReplayBatch.objects.get()
    assert (str(batch.day_from), str(batch.day_to), batch.task_types, batch.provider) == ("2026-11-27", "2026-11-27", ["draft_sms"], "local")
    ReplayBatch.objects.create(batch_id="rb_bad", provider="local", regressions=3, status="succeeded")
    listing = admin_client_logged_in.get("/admin/replay/replaybatch/").content.decode()
    assert listing.index("rb_bad") < listing.index(batch.batch_id)  # regressions first
