"""Two web+worker nodes against one PostgreSQL and one Redis on a third host, across network namespaces.

The tests run in file order on one cluster: each leaves it in the state the next one starts from
(B's worker alone, then both, then A's alone with the cluster's beat), as an operator's day would.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests_cluster.conftest import CORPUS_ROWS
from tests_cluster.hosts import REPO, TOKEN_CACHE_S, Cluster, wait_for

SEARCH = "/api/v1/workers/search"


def api(cluster: Cluster, node: str, method: str, path: str, *, token: str | None = None, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Token {token or cluster.token}"}
    return httpx.request(method, f"{cluster.nodes[node].base_url}{path}", headers=headers, timeout=60, **kwargs)


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.status_code} {response.text[:500]}"
    return response.json()


def wait_ingest(cluster: Cluster, node: str, job_id: int, *, timeout_s: float = 300) -> tuple[dict, list[dict]]:
    """Poll the ingest job on `node` until it ends; return its final state and every state seen."""
    seen: list[dict] = []

    def ended() -> dict | None:
        job = ok(api(cluster, node, "GET", f"/api/v1/ingest/{job_id}/"))
        seen.append(job)
        return job if job["status"] in ("succeeded", "failed", "cancelled") else None

    return wait_for(ended, timeout_s=timeout_s, what=f"ingest job {job_id} to end"), seen


def test_two_nodes_migrating_at_once_apply_each_migration_once(cluster: Cluster) -> None:
    applied = [int(re.search(r"migrations applied by this process: (\d+)", out).group(1)) for _, out in cluster.migrate_outputs]
    # One node took the advisory lock and applied everything; the other waited and found nothing left.
    assert sorted(applied)[0] == 0 and sorted(applied)[1] > 0, cluster.migrate_outputs
    rows = cluster.psql_superuser("SELECT count(*), count(DISTINCT (app, name)) FROM django_migrations", database="lakehouse")
    total, distinct = map(int, rows.strip().split("|"))
    assert total == distinct == max(applied)


def test_ingest_launched_on_a_is_run_by_bs_worker_with_progress_on_a(cluster: Cluster) -> None:
    accepted = ok(api(cluster, "a", "POST", "/api/v1/ingest/", json={"path": str(cluster.shared / "corpus.parquet")}), 202)
    job, seen = wait_ingest(cluster, "a", accepted["job_id"])
    assert job["status"] == "succeeded", job
    assert job["rows_written"] == CORPUS_ROWS and job["progress"] == 100
    # Only B's worker is running, and its log names the task it received.
    assert accepted["task_id"] in (cluster.logs / "b-worker.log").read_text()
    assert any(state["status"] == "running" for state in seen) or len(seen) == 1
    # B's web answers from the same corpus.
    hits = ok(api(cluster, "b", "POST", SEARCH, json={"query": "forklift operator", "k": 5}))
    assert len(hits["results"]) == 5
    cluster.nodes["a"].start_worker(cluster.logs)


def test_playbook_recorded_on_a_is_used_by_a_search_on_b_and_reset_on_a_clears_it_on_b(cluster: Cluster) -> None:
    query = "cluster check: warehouse associate, night shift, order CL-1"
    cold = ok(api(cluster, "b", "POST", SEARCH, json={"query": query, "k": 10, "use_playbook": True}))
    assert not cold.get("playbooks_used")  # and B's caches now hold this query
    chosen = [result["worker_id"] for result in cold["results"][3:5]]
    recorded = ok(api(cluster, "a", "POST", "/api/v1/playbooks/record", json={"query": query, "filters": {}, "worker_ids": chosen, "outcome": "filled"}), 201)

    warm = ok(api(cluster, "b", "POST", SEARCH, json={"query": query, "k": 10, "use_playbook": True}))
    used = {entry.get("id") if isinstance(entry, dict) else entry for entry in warm.get("playbooks_used") or []}
    assert recorded["id"] in used, warm.get("playbooks_used")
    boosts = {result["worker_id"]: result.get("playbook_boost") or 0.0 for result in warm["results"]}
    assert all(boosts.get(worker_id, 0) > 0 for worker_id in chosen), boosts

    reset = ok(api(cluster, "a", "DELETE", "/api/v1/indexes/playbook_memory/?confirm=playbook_memory"))
    after = ok(api(cluster, "b", "POST", SEARCH, json={"query": query, "k": 10, "use_playbook": True}))
    assert not after.get("playbooks_used"), (reset, after.get("playbooks_used"))
    assert all(not result.get("playbook_boost") for result in after["results"])


def test_token_deleted_on_a_stops_working_on_b_within_the_token_cache_window(cluster: Cluster) -> None:
    a = cluster.nodes["a"]
    issued = a.manage("api_token", "short-lived")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert api(cluster, "b", "GET", "/api/v1/whoami", token=token).status_code == 200  # now cached on B

    deleted = a.manage("shell", "-v", "0", "-c", f"from rest_framework.authtoken.models import Token; print(Token.objects.filter(key='{token}').delete()[0])")
    assert deleted.stdout.strip() == "1", deleted.stderr
    deleted_at = time.monotonic()

    def refused_since() -> float | None:
        sent = time.monotonic()
        return sent if api(cluster, "b", "GET", "/api/v1/whoami", token=token).status_code == 401 else None

    first_refusal = wait_for(refused_since, timeout_s=60, what="B to refuse the deleted token", every_s=0.1)
    # The first request B refused was sent within the cache window (plus one polling step of slack).
    assert first_refusal - deleted_at <= TOKEN_CACHE_S + 1.0, first_refusal - deleted_at


def test_killing_bs_worker_mid_ingest_lets_as_worker_finish_the_job(cluster: Cluster) -> None:
    a, b = cluster.nodes["a"], cluster.nodes["b"]
    a.kill("worker", sig=signal.SIGTERM)  # B alone takes the job
    big = cluster.shared / "big.parquet"
    made = a.manage("generate_workers", "--count", "6000", "--seed", "4", "--out", str(big))
    assert made.returncode == 0, made.stderr
    accepted = ok(api(cluster, "a", "POST", "/api/v1/ingest/", json={"path": str(big)}), 202)
    job_id = accepted["job_id"]
    wait_for(
        lambda: (job := ok(api(cluster, "a", "GET", f"/api/v1/ingest/{job_id}/")))["status"] == "running" and job["rows_written"] > 0,
        timeout_s=120, what="B's worker to start writing the ingest",
    )
    b.kill("worker")  # SIGKILL of the whole worker, main process and pool child: no goodbye to anyone
    job = ok(api(cluster, "a", "GET", f"/api/v1/ingest/{job_id}/"))
    assert job["status"] == "running" and job["rows_written"] < 6000, job  # not a success it did not earn

    # A's worker reaps at start (B's database session, and with it the job's advisory lock, is gone);
    # the cluster's one beat reaps every JOB_REAPER_INTERVAL_S should the start-up pass come too early.
    a.start_worker(cluster.logs)
    a.start_beat(cluster.logs)
    done, seen = wait_ingest(cluster, "a", job_id, timeout_s=300)
    assert done["status"] == "succeeded", done
    assert done["attempts"] >= 2 and done["rows_read"] == 6000, done
    # The re-queued task ran on A, the only worker left.
    assert done["task_id"] != accepted["task_id"] and done["task_id"] in (cluster.logs / "a-worker.log").read_text()
    assert any(state["status"] in ("queued", "running") for state in seen)


def test_multitier_at_both_web_nodes_has_no_failures(cluster: Cluster) -> None:
    runs = {
        name: subprocess.Popen(
            node.command(sys.executable, "manage.py", "multitier", "--base-url", node.base_url, "--token", cluster.token,
                         "--concurrency", "4", "--duration", "20s", "--seed", str(ord(name))),
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name, node in cluster.nodes.items()
    }
    for name, run in runs.items():
        out, err = run.communicate(timeout=300)
        summary = json.loads([line for line in err.splitlines() if line.startswith("{")][-1])["multitier"]
        print(f"\nnode {name}: {json.dumps(summary)}")
        assert run.returncode == 0, f"node {name}: {out[-2000:]}\n{err[-2000:]}"
        assert summary["ok"] is True and summary["failures"] == 0 and summary["runs"] > 0, summary


def test_sslmode_and_password_come_from_the_urls(cluster: Cluster) -> None:
    a = cluster.nodes["a"]
    probe = ["shell", "-v", "0", "-c", "from django.db import connection; connection.ensure_connection(); print('connected')"]
    plain = a.manage(*probe)
    assert plain.stdout.strip() == "connected", plain.stderr
    # This PostgreSQL build has no TLS: sslmode=require from the URL must reach libpq and be refused.
    a.env.update({"DATABASE_URL": cluster.database_url(sslmode="require"), "DB_POOL": "false"})
    try:
        tls = a.manage(*probe)
        assert tls.returncode != 0 and "server does not support SSL" in tls.stderr, tls.stderr[-1500:]
        a.env["DATABASE_URL"] = cluster.database_url().replace(cluster.db_password, "wrong-password")
        wrong = a.manage(*probe)
        assert wrong.returncode != 0 and "password authentication failed" in wrong.stderr, wrong.stderr[-1500:]
    finally:
        a.env.update({"DATABASE_URL": cluster.database_url(), "DB_POOL": "true"})
