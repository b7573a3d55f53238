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


def _run(batch: ReplayBatch, run_id: str, finished_at, cost):
    from apps.replay.models import ReplayRun

    return ReplayRun.objects.create(
        run_id=run_id, batch=batch, evidence_id="ev_1", task_type="draft_sms", status="pass", provider="openai", model="m",
        started_at=finished_at, finished_at=finished_at, cost_usd=cost,
    )


def test_cost_per_batch_and_per_day_with_unpriced_runs_marked(admin_client_logged_in):
    from datetime import datetime, timezone as tz
    from decimal import Decimal

    from apps.replay.selectors import cost_by_day

    day1, day2 = datetime(2026, 11, 27, 12, tzinfo=tz.utc), datetime(2026, 11, 28, 23, 59, tzinfo=tz.utc)
    priced = ReplayBatch.objects.create(batch_id="rb_priced", provider="openai", status="succeeded", cost_usd=Decimal("0.0125"))
    unpriced = ReplayBatch.objects.create(batch_id="rb_unpriced", provider="openai", status="succeeded", cost_usd=None, unpriced_runs=2)
    _run(priced, "rr_1", day1, Decimal("0.01"))
    _run(priced, "rr_2", day2, Decimal("0.0025"))
    _run(unpriced, "rr_3", day2, None)
    _run(unpriced, "rr_4", day2, None)

    assert cost_by_day() == [
        {"day": day2.date(), "runs": 3, "cost_usd": 0.0025, "unpriced_runs": 2},  # a lower bound, flagged
        {"day": day1.date(), "runs": 1, "cost_usd": 0.01, "unpriced_runs": 0},
    ]
    assert cost_by_day(day_to=day1.date()) == cost_by_day()[1:]

    page = admin_client_logged_in.get("/admin/replay/replaybatch/").content.decode()
    assert "$0.012500" in admin_client_logged_in.get("/admin/replay/replaybatch/rb_priced/change/").content.decode()
    per_day = page[page.index('id="replay-cost-by-day"'):]
    assert "2026-11-28" in per_day and "≥ $0.002500 (2 runs unpriced)" in per_day and "$0.010000" in per_day
    detail = admin_client_logged_in.get("/admin/replay/replaybatch/rb_unpriced/change/")
    assert detail.status_code == 200 and '<div class="readonly">unpriced</div>' in detail.content.decode()
