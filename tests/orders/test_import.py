"""Order import (SPEC §4.8a, job kind `orders`): a CSV with bad rows imports the good ones, rejects
each bad one with its line and reason, and importing again changes nothing."""

from __future__ import annotations

import pytest

from apps.orders import services
from apps.orders.models import JobOrder, OrderImportJob

pytestmark = pytest.mark.django_db

CSV = (
    "order_id,client,city,state,role,headcount,shift,start_date,end_date,required_certifications\n"
    "JO-1,Acme Logistics,Columbus,oh,forklift_operator,2,night,2026-12-07,,OSHA-10;Forklift\n"
    "JO-2,ACME logistics ,Columbus,OH,forklift_operator,0,night,2026-12-07,,\n"
    "JO/3,Globex,Dayton,OH,forklift_operator,1,day,2026-12-07,,\n"
    "JO-4,Globex,Dayton,ZZ,forklift_operator,1,day,2026-12-07,,\n"
    "JO-5,Globex,Dayton,OH,forklift_operator,1,day,2026-12-07,2026-12-01,\n"
    "JO-6,Globex,Dayton,OH,forklift_operator,1,day,not-a-date,,\n"
    "JO-7,Globex,Dayton,OH,forklift_operator,1,day,2026-12-08,2026-12-09,\n"
)


def test_bad_rows_are_rejected_with_line_and_reason_and_good_rows_imported():
    job = services.run_order_import(services.create_order_import_job(csv_text=CSV, actor="op", dispatch=False).pk)
    assert job.status == "succeeded", job.error
    assert (job.rows_total, job.rows_read, job.rows_created, job.rows_existing, job.rows_rejected) == (7, 7, 2, 0, 5)
    assert sorted(JobOrder.objects.values_list("order_id", flat=True)) == ["JO-1", "JO-7"]
    first = JobOrder.objects.get(order_id="JO-1")
    assert (first.client.name, first.state, first.required_certifications, first.created_by) == ("Acme Logistics", "OH", ["OSHA-10", "Forklift"], "op")
    rejected = {e["line"]: e for e in job.errors}
    assert sorted(rejected) == [3, 4, 5, 6, 7]
    assert "headcount" in rejected[3]["reason"] and rejected[3]["order_id"] == "JO-2"
    assert "order_id" in rejected[4]["reason"]
    assert "state" in rejected[5]["reason"]
    assert "end_date" in rejected[6]["reason"]
    assert "start_date" in rejected[7]["reason"]
    assert job.as_job_dict()["kind"] == "orders" and job.progress == 100.0

    again = services.run_order_import(services.create_order_import_job(csv_text=CSV, dispatch=False).pk)
    assert (again.rows_created, again.rows_existing, again.rows_rejected) == (0, 2, 5)
    assert JobOrder.objects.count() == 2


def test_the_api_launches_an_import_for_operators_only(staff_client, coordinator_client):
    assert coordinator_client.post("/api/v1/orders/import/", {"csv": CSV}, format="json").status_code == 403
    missing = staff_client.post("/api/v1/orders/import/", {"csv": "order_id,client\nJO-1,Acme\n"}, format="json")
    assert missing.status_code == 400 and "file" in missing.json()["error"]["fields"]
    assert not OrderImportJob.objects.exists()
    accepted = staff_client.post("/api/v1/orders/import/", {"csv": CSV}, format="json")
    assert accepted.status_code == 202, accepted.content
    job = OrderImportJob.objects.get(pk=accepted.json()["job_id"])
    assert job.status == "queued" and job.created_by == "operator"
    detail = staff_client.get(f"/api/v1/jobs/orders/{job.pk}/")  # the jobs API is for operators
    assert detail.status_code == 200 and detail.json()["kind"] == "orders"
