"""`manage.py generate_workers` and `manage.py ingest_workers` (SPEC §4.1): through call_command and as
real processes — rows written, rejected rows reported with line and reason, the same corpus for the
same seed in any process, and bad paths or arguments a clear one-line error with a non-zero exit."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from apps.workers.generator import generate_workers, planned_defects
from apps.workers.models import IngestJob, Worker
from tests.conftest import BASE_DIR, _test_database_url
from tests.workers.test_ingest import REASON_WORDS

ROWS = 400  # two defect blocks of 200: two rejected rows in a dirty corpus
SEED = 4


def _manage(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python manage.py ...` as a real process on the test database and Redis (and the test queues)."""
    env = dict(os.environ, DATABASE_URL=_test_database_url(), REDIS_URL=django_settings.REDIS_URL, DB_POOL="false")
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout)


def _command(*args: str) -> str:
    """call_command's stdout (the progress bar goes to stderr)."""
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _assert_usage_error(result: subprocess.CompletedProcess, code: int, *words: str) -> None:
    """A bad invocation: the exit code, a message naming the problem, and no traceback."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and all(word in result.stderr for word in words), result.stderr


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# ---------------------------------------------------------------------------------------- generate_workers


def test_generate_workers_writes_the_seeds_corpus_and_says_so(tmp_path):
    out = tmp_path / "w.csv"
    said = _command("generate_workers", "--count", "30", "--seed", "7", "--out", str(out), "--verbosity", "0")
    assert re.fullmatch(rf"wrote 30 rows to {re.escape(str(out))} in \d+\.\ds \(seed 7\)\n", said)
    rows = _csv_rows(out)
    assert [r["worker_id"] for r in rows] == [r["worker_id"] for r in generate_workers(30, seed=7)]
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_generate_workers_is_byte_identical_for_a_seed_and_differs_for_another(tmp_path, fmt):
    paths = {name: tmp_path / f"{name}.{fmt}" for name in ("a", "b", "other")}
    for name, seed in (("a", "3"), ("b", "3"), ("other", "4")):
        _command("generate_workers", "--count", "50", "--seed", seed, "--out", str(paths[name]), "--verbosity", "0")
    assert paths["a"].read_bytes() == paths["b"].read_bytes()
    assert paths["a"].read_bytes() != paths["other"].read_bytes()


def test_generate_workers_is_the_same_corpus_in_another_process(tmp_path):
    """Per seed, not per process: a new interpreter (another PYTHONHASHSEED) writes the same bytes."""
    here, there = tmp_path / "here.jsonl", tmp_path / "there.jsonl"
    _command("generate_workers", "--count", "200", "--seed", "9", "--dirty", "--out", str(here), "--verbosity", "0")
    result = _manage("generate_workers", "--count", "200", "--seed", "9", "--dirty", "--out", str(there))
    assert result.returncode == 0, result.stderr
    assert f"wrote 200 rows to {there}" in result.stdout and "(seed 9, dirty)" in result.stdout
    assert here.read_bytes() == there.read_bytes()


def test_generate_workers_dirty_corrupts_exactly_the_planned_rows(tmp_path):
    clean, dirty = tmp_path / "clean.csv", tmp_path / "dirty.csv"
    _command("generate_workers", "--count", str(ROWS), "--seed", str(SEED), "--out", str(clean), "--verbosity", "0")
    _command("generate_workers", "--count", str(ROWS), "--seed", str(SEED), "--dirty", "--out", str(dirty), "--verbosity", "0")
    changed = {i for i, (a, b) in enumerate(zip(_csv_rows(clean), _csv_rows(dirty))) if a != b}
    defects = planned_defects(ROWS, seed=SEED)
    # A duplicate id copies an earlier row's id into its own row: a changed row, as every other defect.
    assert changed == set(defects) and len(defects) == 2


def test_generate_workers_format_overrides_the_extension(tmp_path):
    out = tmp_path / "workers.data"
    _command("generate_workers", "--count", "5", "--seed", "1", "--format", "jsonl", "--out", str(out), "--verbosity", "0")
    assert [json.loads(line)["worker_id"] for line in out.read_text().splitlines()] == [r["worker_id"] for r in generate_workers(5, seed=1)]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--count", "-1"], "argument --count: -1 is out of range: must be ≥ 0"),
        (["--count", "many"], "argument --count: 'many' is not an integer"),
        (["--out", "{tmp}/no/such/dir/w.csv"], "{tmp}/no/such/dir/w.csv: directory {tmp}/no/such/dir does not exist"),
        (["--out", "{tmp}/w.txt"], "cannot tell the format of '{tmp}/w.txt' from its extension"),
        (["--out", "{tmp}/" + "w" * 300 + ".csv"], "cannot write (File name too long)"),
    ],
    ids=["negative count", "count not a number", "missing directory", "unknown extension", "name too long"],
)
def test_generate_workers_bad_arguments_are_a_clear_error_and_write_nothing(tmp_path, args, message):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "w.csv")]
    with pytest.raises(CommandError, match=re.escape(message.replace("{tmp}", str(tmp_path)))):
        call_command("generate_workers", "--count", "3", *args, "--verbosity", "0") if "--count" not in args else call_command("generate_workers", *args, "--verbosity", "0")
    assert list(tmp_path.rglob("*")) == []  # no file, no .partial


def test_generate_workers_bad_arguments_exit_non_zero_from_the_shell(tmp_path):
    _assert_usage_error(_manage("generate_workers", "--count", "-1", "--out", str(tmp_path / "w.csv")), 2, "--count", "out of range")
    _assert_usage_error(_manage("generate_workers", "--out", str(tmp_path / "nope" / "w.csv")), 1, "CommandError:", "does not exist")
    assert list(tmp_path.rglob("*")) == []


# ------------------------------------------------------------------------------------------ ingest_workers


@pytest.fixture
def dirty_csv(tmp_path) -> Path:
    path = tmp_path / "dirty.csv"
    _command("generate_workers", "--count", str(ROWS), "--seed", str(SEED), "--dirty", "--out", str(path), "--verbosity", "0")
    return path


def _summary(said: str) -> dict[str, int]:
    match = re.search(r"job (\d+) (\w+): read (\d+), written (\d+), unchanged (\d+), rejected (\d+)", said)
    assert match, said
    job_id, status, *counts = match.groups()
    return {"job": int(job_id), "status": status, **dict(zip(("read", "written", "unchanged", "rejected"), map(int, counts)))}


def _assert_rejections_reported(said: str, path: Path) -> None:
    """Each planned defect is a line `  line N: <worker_id or ->: <reason>` naming its kind."""
    reported = {int(m.group(1)): m.group(3) for m in re.finditer(r"^  line (\d+): (\S+): (.+)$", said, re.MULTILINE)}
    defects = planned_defects(ROWS, seed=SEED)
    assert set(reported) == {index + 2 for index in defects}  # CSV: the header is line 1
    for index, kind in defects.items():
        assert REASON_WORDS[kind] in reported[index + 2].lower(), (kind, reported[index + 2])


@pytest.mark.django_db
def test_ingest_workers_sync_writes_the_good_rows_and_reports_each_rejected_row(dirty_csv):
    Worker.objects.all().delete()
    said = _command("ingest_workers", str(dirty_csv), "--sync")
    summary = _summary(said)
    rejected = len(planned_defects(ROWS, seed=SEED))
    assert summary == {"job": summary["job"], "status": "succeeded", "read": ROWS, "written": ROWS - rejected, "unchanged": 0, "rejected": rejected}
    _assert_rejections_reported(said, dirty_csv)
    assert Worker.objects.count() == ROWS - rejected
    job = IngestJob.objects.get(pk=summary["job"])
    assert (job.source, job.format, job.created_by, job.task_id) == (str(dirty_csv), "csv", "manage.py", "")  # --sync: no task sent

    again = _summary(_command("ingest_workers", str(dirty_csv), "--sync"))  # idempotent: nothing rewritten
    assert (again["written"], again["unchanged"], again["rejected"]) == (0, ROWS - rejected, rejected)


@pytest.mark.django_db
def test_ingest_workers_limit_drop_and_format(tmp_path, dirty_csv):
    Worker.objects.all().delete()
    limited = _summary(_command("ingest_workers", str(dirty_csv), "--sync", "--limit", "50"))
    assert (limited["read"], limited["written"] + limited["rejected"]) == (50, 50)
    first_50 = set(Worker.objects.values_list("worker_id", flat=True))
    assert len(first_50) == limited["written"]

    clean = tmp_path / "workers.txt"  # CSV under a name that does not tell its format
    _command("generate_workers", "--count", "10", "--seed", "99", "--format", "csv", "--out", str(clean), "--verbosity", "0")
    clean_ids = {r["worker_id"] for r in _csv_rows(clean)}
    assert len(clean_ids) == 10 and first_50 - clean_ids  # some of the first 50 are not in the clean file
    kept = _summary(_command("ingest_workers", str(clean), "--sync", "--format", "csv"))
    assert kept["read"] == 10 and kept["rejected"] == 0
    assert set(Worker.objects.values_list("worker_id", flat=True)) == first_50 | clean_ids  # without --drop the others stay

    dropped = _summary(_command("ingest_workers", str(clean), "--sync", "--format", "csv", "--drop"))
    assert dropped["read"] == 10 and set(Worker.objects.values_list("worker_id", flat=True)) == clean_ids


@pytest.mark.django_db
def test_ingest_workers_a_job_that_fails_is_a_non_zero_exit_naming_the_reason(tmp_path):
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"this is not a parquet file")
    with pytest.raises(CommandError) as raised:
        call_command("ingest_workers", str(broken), "--sync", stdout=open(os.devnull, "w"))
    job = IngestJob.objects.get(source=str(broken))
    assert job.status == "failed" and job.error and str(raised.value) == job.error and raised.value.returncode == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make_path, message",
    [
        (lambda tmp: tmp / "missing.csv", "missing.csv: no such file"),
        (lambda tmp: tmp, "is a directory, not a file"),
        (lambda tmp: tmp / ("w" * 300 + ".csv"), "cannot be read (File name too long)"),
        (lambda tmp: _symlink_loop(tmp), "loop.csv: cannot be read"),
        (lambda tmp: _file(tmp / "workers.txt"), "cannot tell the format of"),
    ],
    ids=["missing", "directory", "name too long", "symlink loop", "unknown extension"],
)
def test_ingest_workers_bad_paths_are_a_clear_error_and_no_job(tmp_path, make_path, message):
    path = make_path(tmp_path)
    jobs = IngestJob.objects.count()  # the session's search corpus committed one already
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("ingest_workers", str(path), "--sync")
    assert IngestJob.objects.count() == jobs


def _symlink_loop(directory: Path) -> Path:
    (directory / "loop.csv").symlink_to(directory / "loop-back.csv")
    (directory / "loop-back.csv").symlink_to(directory / "loop.csv")
    return directory / "loop.csv"


def _file(path: Path) -> Path:
    path.write_text("worker_id\nW-1\n")
    return path


@pytest.mark.django_db(transaction=True)  # a row the process wrote by mistake would be committed: seen here, flushed after
def test_ingest_workers_bad_arguments_exit_non_zero_from_the_shell(tmp_path):
    jobs = IngestJob.objects.count()  # what committed session fixtures left, before the flush
    _assert_usage_error(_manage("ingest_workers", str(_symlink_loop(tmp_path)), "--sync"), 1, "CommandError:", "loop.csv: cannot be read")
    _assert_usage_error(_manage("ingest_workers", str(tmp_path / "w.csv"), "--limit", "0"), 2, "--limit", "out of range")
    assert IngestJob.objects.count() == jobs


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_manage_py_ingest_workers_through_the_celery_worker(celery_worker_process, dirty_csv):
    """Without --sync the command queues the job for the worker and waits for its end."""
    Worker.objects.all().delete()
    result = _manage("ingest_workers", str(dirty_csv))
    assert result.returncode == 0, result.stderr
    job = IngestJob.objects.get(source=str(dirty_csv))
    assert f"job {job.pk} queued (task {job.task_id})" in result.stdout and job.task_id
    rejected = len(planned_defects(ROWS, seed=SEED))
    summary = _summary(result.stdout)
    assert summary == {"job": job.pk, "status": "succeeded", "read": ROWS, "written": ROWS - rejected, "unchanged": 0, "rejected": rejected}
    _assert_rejections_reported(result.stdout, dirty_csv)
    assert (job.status, job.rows_written, Worker.objects.count()) == ("succeeded", ROWS - rejected, ROWS - rejected)
