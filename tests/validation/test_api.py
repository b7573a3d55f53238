"""The validation API end to end: real workers and orders in PostgreSQL, interaction rows written."""

from __future__ import annotations

from datetime import date

import pytest

from apps.interactions.models import Interaction
from apps.orders.services import client_for_name
from apps.orders.models import FillProposal, JobOrder
from apps.workers.models import Worker

pytestmark = pytest.mark.django_db

CLASSIC_SMS = "Hi Ana, shift Mon 7am at Dock 4. Questions? Call 555-123-4567. Reply STOP to opt out"


def _worker(worker_id: str, **overrides) -> Worker:
    fields = dict(
        first_name="Ana", city="Columbus", state="OH", role="forklift_operator", certifications=["OSHA-10", "Forklift"],
        shift_preference=["night", "day"], status="active", phone=f"+1614555{worker_id[-4:]}", email=f"{worker_id.lower()}@example.com",
    )
    fields.update(overrides)
    return Worker.objects.create(worker_id=worker_id, **fields)


@pytest.fixture
def order(db) -> JobOrder:
    return JobOrder.objects.create(
        order_id="JO-1", client=client_for_name("Acme"), city="Columbus", state="OH", role="forklift_operator", headcount=2,
        shift="night", start_date=date(2026, 12, 7), required_certifications=["OSHA-10"],
    )


def test_classic_sms_passes_and_is_logged(coordinator_client):
    _worker("W-0001")
    response = coordinator_client.post("/api/v1/validate/email", {"kind": "sms", "worker_id": "W-0001", "body": CLASSIC_SMS}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True, body
    assert body["stats"] == {"chars": len(CLASSIC_SMS), "encoding": "GSM-7", "segments": 1}
    row = Interaction.objects.get()
    assert row.kind == "validate_sms" and row.ok and row.request["body"] == CLASSIC_SMS


def test_sms_with_an_ssn_fails_with_the_span(coordinator_client):
    _worker("W-0001")
    text = CLASSIC_SMS.replace("Questions?", "SSN 219-09-9999. Questions?")
    body = coordinator_client.post("/api/v1/validate/email", {"kind": "sms", "worker_id": "W-0001", "body": text}, format="json").json()
    assert body["ok"] is False
    ssn = [e for e in body["errors"] if e["code"] == "PII_SSN"]
    assert len(ssn) == 1
    assert text[ssn[0]["start"]:ssn[0]["end"]] == "219-09-9999"
    assert Interaction.objects.get().ok is False


def test_sms_length_rules(coordinator_client):
    base = "Shift tomorrow. Reply STOP to opt out. "
    gsm_161 = base + "x" * (161 - len(base))
    body = coordinator_client.post("/api/v1/validate/email", {"kind": "sms", "body": gsm_161}, format="json").json()
    assert [e["code"] for e in body["errors"]] == ["SMS_TOO_LONG"]
    assert body["stats"]["chars"] == 161 and body["stats"]["segments"] == 2
    emoji_71 = base + "🙂" + "x" * (71 - len(base) - 2)
    body = coordinator_client.post("/api/v1/validate/email", {"kind": "sms", "body": emoji_71}, format="json").json()
    assert "SMS_TOO_LONG" in [e["code"] for e in body["errors"]]
    assert body["stats"]["encoding"] == "UCS-2"


def test_recipient_state_and_other_workers_contacts(coordinator_client):
    _worker("W-0001", sms_opt_out=True)
    other = _worker("W-0002")
    opted = coordinator_client.post("/api/v1/validate/email", {"kind": "sms", "worker_id": "W-0001", "body": CLASSIC_SMS}, format="json").json()
    assert "RECIPIENT_OPTED_OUT" in [e["code"] for e in opted["errors"]]
    unknown = coordinator_client.post("/api/v1/validate/email", {"kind": "email", "worker_id": "W-9999", "subject": "Shift", "body": "Hello"}, format="json").json()
    assert "UNKNOWN_RECIPIENT" in [e["code"] for e in unknown["errors"]]
    leak = coordinator_client.post(
        "/api/v1/validate/email",
        {"kind": "email", "worker_id": "W-0001", "subject": "Team", "body": f"Your partner is reachable at {other.email}."},
        format="json",
    ).json()
    assert "PII_OTHER_WORKER" in [e["code"] for e in leak["errors"]]


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"kind": "fax", "body": "x"}, "kind"),
        ({"body": "x"}, "kind"),
        ({"kind": "sms"}, "body"),
        ({"kind": "sms", "body": 5, "extra": True}, "extra"),
        ({"kind": "sms", "body": "x" * 100_001}, "body"),
    ],
)
def test_malformed_outreach_requests_are_400(coordinator_client, payload, field):
    response = coordinator_client.post("/api/v1/validate/email", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Interaction.objects.exists()


def test_a_matching_fill_passes_and_each_single_field_mismatch_fails(coordinator_client, order):
    _worker("W-0001")
    _worker("W-0002")
    _worker("W-0003", city="Dayton")
    _worker("W-0004", role="cna")
    _worker("W-0005", certifications=["Forklift"])
    _worker("W-0006", status="inactive")
    _worker("W-0007", shift_preference=["day"])
    _worker("W-0008", available_from=date(2027, 1, 1))

    ok = coordinator_client.post("/api/v1/validate/fill", {"order_id": "JO-1", "worker_ids": ["W-0001", "W-0002"]}, format="json").json()
    interaction_id = ok.pop("interaction_id")
    assert ok == {"ok": True, "errors": []}
    assert Interaction.objects.get(pk=interaction_id).kind == "validate_fill"  # feedback can name it

    cases = {
        "W-0003": "LOCATION_MISMATCH",
        "W-0004": "ROLE_MISMATCH",
        "W-0005": "MISSING_CERTIFICATION",
        "W-0006": "WORKER_UNAVAILABLE",
        "W-0007": "WORKER_UNAVAILABLE",
        "W-0008": "WORKER_UNAVAILABLE",
        "W-0404": "UNKNOWN_WORKER",
    }
    for worker_id, code in cases.items():
        body = coordinator_client.post("/api/v1/validate/fill", {"order_id": "JO-1", "worker_ids": ["W-0001", worker_id]}, format="json").json()
        assert body["ok"] is False
        assert [(e["code"], e["worker_id"]) for e in body["errors"]] == [(code, worker_id)], (worker_id, body)

    dup = coordinator_client.post("/api/v1/validate/fill", {"order_id": "JO-1", "worker_ids": ["W-0001", "W-0001"]}, format="json").json()
    assert {e["code"] for e in dup["errors"]} == {"DUPLICATE_WORKER", "HEADCOUNT_MISMATCH"}
    assert Interaction.objects.filter(kind="validate_fill").count() == 1 + len(cases) + 1
    assert not FillProposal.objects.exists()  # validating proposes nothing (SPEC §4.8a step 2)


def test_inline_order_and_double_booking(coordinator_client, order):
    _worker("W-0001")
    _worker("W-0002")
    proposal = coordinator_client.post("/api/v1/orders/JO-1/proposals/", {"worker_ids": ["W-0001", "W-0002"]}, format="json").json()
    accepted = coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{proposal['id']}/accept/")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    again = coordinator_client.post(f"/api/v1/orders/JO-1/proposals/{proposal['id']}/accept/")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "proposal_decided"

    inline = {
        "city": "Columbus", "state": "oh", "role": "forklift_operator", "headcount": 1, "shift": "night",
        "start_date": "2026-12-07", "required_certifications": ["OSHA-10"],
    }
    body = coordinator_client.post("/api/v1/validate/fill", {"order": inline, "worker_ids": ["W-0001"]}, format="json").json()
    assert [(e["code"], e["worker_id"]) for e in body["errors"]] == [("DOUBLE_BOOKED", "W-0001")]
    later = dict(inline, start_date="2026-12-08")
    assert coordinator_client.post("/api/v1/validate/fill", {"order": later, "worker_ids": ["W-0001"]}, format="json").json()["ok"] is True


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"worker_ids": ["W-1"]}, "order_id"),
        ({"order_id": "JO-1", "order": {}, "worker_ids": []}, "order"),
        ({"order_id": "JO-404", "worker_ids": ["W-1"]}, "order_id"),
        ({"order_id": "JO-1", "worker_ids": "W-1"}, "worker_ids"),
        ({"order": {"city": "X", "state": "OH", "role": "cna", "headcount": 0, "shift": "night", "start_date": "2026-12-01"}, "worker_ids": []}, "order"),
        ({"order": {"city": "X", "state": "OH", "role": "cna", "headcount": 1, "shift": "noon", "start_date": "2026-12-01"}, "worker_ids": []}, "order"),
    ],
)
def test_malformed_fill_requests_are_400(coordinator_client, order, payload, field):
    response = coordinator_client.post("/api/v1/validate/fill", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not Interaction.objects.exists() and not FillProposal.objects.exists()
