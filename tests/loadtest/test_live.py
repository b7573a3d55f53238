"""The harness end to end against a real served app (pytest-django's live server on the test
database), and against a deliberately broken server: a small real HTTP proxy in front of it."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from itertools import accumulate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from django.core.management import call_command

from apps.loadtest.harness import HarnessConfig, HarnessError, run
from apps.loadtest.scenarios import SCENARIO_NAMES, SCENARIOS

# Big enough that each scenario finds what it needs without leaning on its fallbacks every time
# (2 candidates for a popular order, 10 results for a swap), small enough to ingest in seconds.
CORPUS_SIZE = 2000
FIRST_PICKS_COVER_ALL_SEED = 147


def first_picks(config: HarnessConfig) -> list[str]:
    """The scenario each client runs first (the harness's own draw: Random(seed + i).choices)."""
    cum_weights = tuple(accumulate(s.weight for s in SCENARIOS))
    return [random.Random(config.seed + i).choices(SCENARIOS, cum_weights=cum_weights)[0].name for i in range(config.concurrency)]


@pytest.fixture
def live_corpus(live_server, tmp_path):
    """(live server URL, staff token) with a fresh corpus and an empty playbook memory.

    Transactional tests see rows committed by other tests' session fixtures, so the tables the
    scenarios read are emptied first; pytest-django flushes everything after the test.
    """
    from apps.core.services import issue_api_token
    from apps.orders.models import FillProposal, JobOrder
    from apps.playbooks.models import Playbook
    from apps.workers.generator import generate_workers, write_workers
    from apps.workers.models import Worker
    from apps.workers.services import create_ingest_job, run_ingest

    FillProposal.objects.all().delete()
    JobOrder.objects.all().delete()
    Playbook.objects.all().delete()
    Worker.objects.all().delete()
    path = tmp_path / "workers.parquet"
    write_workers(generate_workers(CORPUS_SIZE, seed=5), path)
    job = run_ingest(create_ingest_job(path=path, dispatch=False).pk)
    assert job.status == "succeeded", job.error
    _, token = issue_api_token(username="loadtest", staff=True)
    return live_server.url, token


class BreakingProxy:
    """A real HTTP server that forwards to the app and breaks one thing on purpose.

    ``drop_exclusions``: searches lose their ``exclude_ids`` on the way, so a swap search answers
    with the first search's results — every status stays 200. ``fail_path``: requests to that path
    get a 503 in the API's error envelope instead of reaching the app.
    """

    FAILURE = {"error": {"code": "service_unavailable", "message": "Redis is unavailable (injected by the test proxy)", "fields": {}}}

    def __init__(self, upstream: str, *, drop_exclusions: bool = False, fail_path: str | None = None) -> None:
        self.upstream = httpx.Client(base_url=upstream, timeout=30)
        self.statuses: Counter[int] = Counter()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like the real server

            def do_GET(self):
                self._forward()

            def do_POST(self):
                self._forward()

            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if fail_path and self.path == fail_path:
                    return self._answer(503, json.dumps(proxy.FAILURE).encode(), "application/json")
                if drop_exclusions and self.path == "/api/v1/workers/search":
                    data = json.loads(body)
                    data.pop("exclude_ids", None)
                    body = json.dumps(data).encode()
                headers = {name: self.headers[name] for name in ("Authorization", "Content-Type", "Accept") if self.headers[name]}
                response = proxy.upstream.request(self.command, self.path, content=body or None, headers=headers)
                self._answer(response.status_code, response.content, response.headers.get("Content-Type", "application/json"))

            def _answer(self, status: int, content: bytes, content_type: str) -> None:
                proxy.statuses[status] += 1
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> BreakingProxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.upstream.close()


@pytest.mark.django_db(transaction=True)
def test_every_scenario_runs_and_passes_against_a_live_server(live_corpus):
    from apps.interactions.models import Interaction
    from apps.interactions.services import drain_interaction_queue
    from apps.playbooks.models import Playbook

    url, token = live_corpus
    # Client i picks its first scenario from Random(seed + i) before anything else draws from it, and
    # every started scenario is waited for: with this seed the 6 clients start with the 6 different
    # scenarios, so each one runs however slow the machine is (the rest of the mix is random).
    config = HarnessConfig(base_url=url, token=token, concurrency=6, duration_s=3.0, seed=FIRST_PICKS_COVER_ALL_SEED)
    assert sorted(first_picks(config)) == sorted(SCENARIO_NAMES)
    report = run(config)

    scenarios = report["scenarios"]
    assert set(scenarios) == set(SCENARIO_NAMES)
    for name, stats in scenarios.items():
        assert stats["runs"] >= 1, f"{name} never ran"
        assert stats["failures"] == 0, (name, stats["failure_reasons"])
        assert stats["p50_ms"] is not None and 0 < stats["p50_ms"] <= stats["p99_ms"] <= stats["max_ms"]
    assert report["ok"] is True
    assert report["config"]["corpus_workers"] == CORPUS_SIZE
    assert report["totals"]["requests"] > report["totals"]["runs"]  # scenarios are multi-step workflows
    # The server really did the work: one playbook per successful fill and per record/replay run
    # (no warm-up, and every started scenario is waited for), one SMS validation per SMS run at least.
    assert Playbook.objects.count() == scenarios["surge_fill_validate"]["runs"] + scenarios["playbook_record_replay"]["runs"]
    drain_interaction_queue()  # the server queued its interaction rows (apps.interactions.services)
    assert Interaction.objects.filter(kind="validate_sms").count() >= scenarios["sms_validate"]["runs"]
    assert Interaction.objects.filter(kind="profile_swap").count() >= scenarios["profile_swap"]["runs"]


@pytest.mark.django_db(transaction=True)
def test_an_overlapping_swap_fails_the_check_although_every_status_is_200(live_corpus):
    url, token = live_corpus
    with BreakingProxy(url, drop_exclusions=True) as proxy:
        report = run(HarnessConfig(base_url=proxy.url, token=token, concurrency=2, duration_s=2.0, scenarios=("profile_swap",)))

    swap = report["scenarios"]["profile_swap"]
    assert swap["runs"] >= 1
    assert swap["failures"] == swap["runs"]
    assert [r["reason"] for r in swap["failure_reasons"]] == ["swap search: results overlap the excluded ids"]
    assert swap["failure_reasons"][0]["count"] == swap["runs"]
    assert set(proxy.statuses) == {200}  # no HTTP error anywhere: only the check caught it
    assert report["ok"] is False


@pytest.mark.django_db(transaction=True)
def test_command_reports_status_and_envelope_message_and_gates_the_exit_code(live_corpus, tmp_path, capsys):
    url, token = live_corpus
    out = tmp_path / "report.json"
    args = ["--token", token, "--concurrency", "2", "--scenario", "cold_search_email", "--json-out", str(out), "-v", "0"]
    with BreakingProxy(url, fail_path="/api/v1/validate/email") as proxy:
        with pytest.raises(SystemExit) as exited:
            call_command("multitier", "--base-url", proxy.url, "--duration", "1.5s", *args)
        assert exited.value.code == 1
        captured = capsys.readouterr()

        # --no-fail-on-error reports the same failures and exits normally.
        call_command("multitier", "--base-url", proxy.url, "--duration", "0.5s", "--no-fail-on-error", *args)
        capsys.readouterr()

    assert "cold_search_email" in captured.out  # the table on stdout
    err_lines = captured.err.strip().splitlines()
    assert len(err_lines) == 1  # exactly one line on stderr: the CI summary
    summary = json.loads(err_lines[0])["multitier"]
    assert summary["ok"] is False
    assert summary["scenarios"]["cold_search_email"]["failures"] == summary["runs"] > 0
    report = json.loads(out.read_text())
    assert token not in out.read_text()
    reasons = report["scenarios"]["cold_search_email"]["failure_reasons"]
    assert reasons[0]["reason"] == "validate email: HTTP 503 service_unavailable: Redis is unavailable (injected by the test proxy)"
    assert proxy.statuses[503] >= 1 and proxy.statuses[200] >= 1  # the searches went through


@pytest.mark.django_db(transaction=True)
def test_a_refused_token_stops_the_run_before_any_load(live_corpus):
    url, _ = live_corpus
    with pytest.raises(HarnessError, match="HTTP 401"):
        run(HarnessConfig(base_url=url, token="not-a-token", concurrency=1, duration_s=1.0))


@pytest.mark.django_db(transaction=True)
def test_a_short_multitier_run_materializes_and_replays_with_the_local_provider(live_corpus, settings, tmp_path):
    """Issue 9's end-to-end check: harness → interactions → evidence → replay (provider local)."""
    from apps.evidence.services import build_evidence_index
    from apps.replay.models import ReplayRun
    from apps.replay.services import create_batch, replay_log_path, run_batch

    settings.KB_DIR = tmp_path / "kb"
    url, token = live_corpus
    report = run(HarnessConfig(base_url=url, token=token, concurrency=6, duration_s=3.0, seed=FIRST_PICKS_COVER_ALL_SEED))
    assert report["totals"]["runs"] > 0
    materialized = build_evidence_index()
    assert materialized.status == "succeeded" and materialized.records_written > 0

    batch = run_batch(create_batch(provider="local", concurrency=4, dispatch=False).batch_id)

    assert batch.status == "succeeded" and batch.errors == 0
    assert batch.total > 0 and batch.pass_rate is not None
    lines = [json.loads(line) for line in replay_log_path().read_text().splitlines()]
    assert len(lines) == ReplayRun.objects.filter(batch=batch).count() == batch.total
    rows = {r.run_id: r for r in ReplayRun.objects.filter(batch=batch)}
    assert all(line["schema"] == "replay_run.v1" and rows[line["run_id"]].status == line["status"] for line in lines)


@pytest.mark.django_db(transaction=True)
def test_open_loop_with_a_rebuild_during_the_load(live_corpus, celery_worker_process):
    """An open-loop run with bursts, a rebuild launched through the API in the middle, and the recall
    probe checked against the exact ranking from the database."""
    from apps.loadtest.arrivals import DemandProfile, parse_burst
    from apps.loadtest.during import PROBE_QUERIES, DuringConfig, database_oracle

    url, token = live_corpus
    config = HarnessConfig(
        base_url=url, token=token, duration_s=2.0, seed=3, scenarios=("cold_search_email", "repeat_cache"),
        demand=DemandProfile(4.0, (parse_burst("2x for 1s every 2s"),)),
        during=DuringConfig("rebuild", before_s=0.5, after_s=1.0, probe_every_s=0.5, queries=PROBE_QUERIES[:3]),
    )
    report = run(config, oracle=database_oracle())

    starts = report["starts"]
    assert starts["scheduled"] == starts["started"] + starts["dropped"] > 0
    assert starts["dropped"] == 0
    assert set(report["phases"]) == {"base", "burst"}
    assert sum(p["runs"] for p in report["phases"].values()) == report["totals"]["runs"]
    assert report["totals"]["failures"] == 0, report["scenarios"]
    during = report["during"]
    op = during["operation"]
    assert op["status"] == "succeeded" and op["error"] is None, op
    assert 0.5 <= op["started_s"] <= op["finished_s"]
    # The window stayed open until after the job ended, so the last runs started after it.
    assert report["timeline"][-1]["t_s"] + 1 >= op["finished_s"]
    probes = during["probe"]
    assert sum(p["searches"] for p in probes.values()) >= 3
    assert all(p["errors"] == 0 and p["short_results"] == 0 for p in probes.values())
    recalls = [p["recall_min"] for p in probes.values() if p["recall_min"] is not None]
    assert recalls and min(recalls) >= 0.9  # HNSW on 2,000 rows: (nearly) exact, rebuild or not
    assert during["search_requests"]["before"]["requests"] + during["search_requests"]["during"]["requests"] > 0
    assert report["ok"] is True
