"""Resource footprint of the serving stack during a load run (``multitier --footprint``).

A background thread samples CPU % and RSS once a second (USS/PSS every 10 s, see
``FootprintSampler``) of five process groups:

* ``web`` — the web server: the granian main process (or gunicorn master, ``WEB_SERVER``) whose
  process tree listens on the harness's target port, and its workers;
* ``celery`` — this stack's ``celery ... worker`` process trees (main process + pool children): run
  from the project's directory with the harness's DATABASE_URL/REDIS_URL;
* ``postgresql`` — the postmaster serving the project's database and all its children (backends,
  checkpointer, walwriter…) except backends connected to other databases; the embedded server runs
  as user "pgserver" with process name "postgres";
* ``redis`` — the ``redis-server`` process;
* ``loadgen`` — the harness's own process, shown apart (it shares the cores but is not the stack).

CPU % is per process group, 100 % = one core fully busy (so this 2-core machine tops out at 200 %),
computed from each process's user + system CPU time between samples.

Memory: RSS counts shared pages once per process that maps them, so summing it over PostgreSQL's
children counts ``shared_buffers`` many times over (and gunicorn/celery forks share their parent's
pages too). USS (pages only that process holds) under-counts shared memory; PSS (each shared page
divided among its sharers) sums to the real total. The totals therefore use **PSS** when every
process could be read (Linux, same user or root) and fall back to RSS otherwise — ``memory_basis``
in the output says which.

Plain Python over psutil; no Django import, so it is tested and reused on its own.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psutil

SERVER_GROUPS: tuple[str, ...] = ("web", "celery", "postgresql", "redis")
LOADGEN = "loadgen"
MB = 1024 * 1024


@dataclass(frozen=True)
class FootprintTargets:
    """Which of possibly several stacks' servers on the machine are this one's.

    Only the process trees of this stack's own servers count, never "every server of that kind"
    (issue 18: a second stack's Celery processes once doubled the reported memory):

    * ``web_port`` — the web server (gunicorn or granian) whose process tree listens on it;
    * ``postgres_hint`` — the postmaster whose command line names this stack's data directory (or
      socket directory), as a whole path (``/x/pgdata`` does not match ``/x/pgdata2``);
    * ``redis_hint`` — the redis-server whose command line names this stack's socket (or port);
    * Celery — a worker root whose working directory is ``project_dir`` (when given) and whose
      environment agrees with ``celery_env``; a worker whose environment cannot be read is *not*
      counted (it is said in a note), because counting it is how another stack got in.

    A target left unset, or one nothing matches, watches nothing for that group and says so.
    """

    web_port: int | None = None
    postgres_hint: str | None = None
    # Backends of other databases on the same server (a test suite's, say) are not this stack's.
    postgres_database: str | None = None
    redis_hint: str | None = None
    # Environment variables a Celery worker of this stack shares with the harness (None = unset).
    # A worker started with another DATABASE_URL/REDIS_URL — a test suite's, say — is another stack.
    celery_env: tuple[tuple[str, str | None], ...] = ()
    # The directory the stack's processes run in (make run / the benchmarks start them from the
    # project): two embedded stacks in two checkouts share every environment variable but not this.
    project_dir: str | None = None
    include_self: bool = True


@dataclass
class _Proc:
    pid: int
    ppid: int
    name: str
    cmdline: str


def _snapshot() -> dict[int, _Proc]:
    procs: dict[int, _Proc] = {}
    for proc in psutil.process_iter(["pid", "ppid", "name", "cmdline"]):
        info = proc.info
        procs[info["pid"]] = _Proc(info["pid"], info["ppid"] or 0, info["name"] or "", " ".join(info["cmdline"] or ()))
    return procs


def _tree(root: int, children: Mapping[int, list[int]]) -> list[int]:
    pids, stack = [], [root]
    while stack:
        pid = stack.pop()
        pids.append(pid)
        stack.extend(children.get(pid, ()))
    return pids


def _listens_on(pid: int, port: int) -> bool:
    try:
        connections = psutil.Process(pid).net_connections(kind="inet")
    except (psutil.Error, OSError):
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port for c in connections)


def _is_web_server(p: _Proc) -> bool:
    return any(server in p.cmdline or p.name.startswith(server) for server in ("gunicorn", "granian"))


def _is_celery_worker(p: _Proc) -> bool:
    return "celery" in p.cmdline and " worker" in p.cmdline


def _is_postgres(p: _Proc) -> bool:
    return p.name == "postgres" or p.name.startswith("postgres:")


def _is_redis(p: _Proc) -> bool:
    return p.name.startswith("redis-server") or p.cmdline.split(" ", 1)[0].endswith("redis-server")


# A client backend's title: "postgres: USER DATABASE [local] idle" or "... HOST(PORT) ...". Auxiliary
# processes ("postgres: checkpointer", "postgres: logical replication launcher") never match.
_BACKEND_TITLE = re.compile(r"^postgres: \S+ (\S+) (?:\[local\]|\S+\(\d+\))")


def _other_database_backend(p: _Proc, database: str | None) -> bool:
    match = _BACKEND_TITLE.match(p.cmdline)
    return bool(database and match and match.group(1) != database)


def is_client_backend(p: _Proc) -> bool:
    """A PostgreSQL backend serving a client connection (not the checkpointer, walwriter, …)."""
    return bool(_BACKEND_TITLE.match(p.cmdline))


def names_path(cmdline: str, hint: str) -> bool:
    """``hint`` (a path or port) appears in ``cmdline`` as a whole item, not as a prefix of a longer
    one: ``/x/pgdata`` matches ``-D /x/pgdata`` and ``unixsocket:/x/pgdata/.s`` but not ``/x/pgdata2``."""
    return re.search(rf"(?<![\w.-]){re.escape(hint)}(?![\w.-])", cmdline) is not None


class ProcessIdentity:
    """Reads a process's environment and working directory; None when it cannot (another user's
    process without root, or gone). A seam for tests, which hand in a table instead."""

    def environ(self, pid: int) -> Mapping[str, str] | None:
        try:
            return psutil.Process(pid).environ()
        except (psutil.Error, OSError):
            return None

    def cwd(self, pid: int) -> str | None:
        try:
            return psutil.Process(pid).cwd()
        except (psutil.Error, OSError):
            return None


def _same_environment(pid: int, expected: tuple[tuple[str, str | None], ...], identity: ProcessIdentity | None = None) -> bool:
    """True only when the process's environment could be read and agrees on every expected variable.
    Unreadable is not ours: guessing "ours" is how another stack's workers got counted."""
    environ = (identity or ProcessIdentity()).environ(pid)
    if environ is None:
        return False
    return all(environ.get(name) == value for name, value in expected)


def _same_directory(pid: int, project_dir: str | None, identity: ProcessIdentity) -> bool:
    if project_dir is None:
        return True
    cwd = identity.cwd(pid)
    return cwd is not None and os.path.realpath(cwd) == os.path.realpath(project_dir)


def discover(
    targets: FootprintTargets,
    procs: Mapping[int, _Proc] | None = None,
    listens_on: Callable[[int, int], bool] = _listens_on,
    identity: ProcessIdentity | None = None,
) -> tuple[dict[int, str], list[str]]:
    """Map pid → group for this stack's processes only, plus notes (a target unset or unmatched, a
    Celery worker left out because its environment could not be read)."""
    procs = _snapshot() if procs is None else procs
    identity = identity or ProcessIdentity()
    children: dict[int, list[int]] = {}
    for p in procs.values():
        children.setdefault(p.ppid, []).append(p.pid)
    me = os.getpid()
    notes: list[str] = []

    def roots(match) -> list[int]:
        # A root is a matching process whose parent doesn't match (master, postmaster, celery main).
        return [p.pid for p in procs.values() if p.pid != me and match(p) and not (p.ppid in procs and match(procs[p.ppid]))]

    def ours(kind: str, candidates: list[int], keep, target: Any) -> list[int]:
        if target is None:
            if candidates:
                notes.append(f"{kind}: no target to identify this stack's server; {len(candidates)} found, none watched")
            return []
        kept = [pid for pid in candidates if keep(pid)]
        if candidates and not kept:
            notes.append(f"{kind}: none of the {len(candidates)} found matched {target!r}; none watched")
        return kept

    def celery_ours(pid: int) -> bool:
        if identity.environ(pid) is None:
            notes.append(f"celery: pid {pid} environment not readable; not counted")
            return False
        return _same_environment(pid, targets.celery_env, identity) and _same_directory(pid, targets.project_dir, identity)

    def web_server_listens(pid: int) -> bool:
        # gunicorn's master listens itself; granian's main process leaves that to its workers. Only
        # the server's own workers count: a shell whose command line names "gunicorn" and that runs
        # the whole stack below it is not the web server.
        workers = [child for child in children.get(pid, ()) if _is_web_server(procs[child])]
        return any(listens_on(p, targets.web_port) for p in (pid, *workers))

    celery_target = (targets.celery_env, targets.project_dir) if (targets.celery_env or targets.project_dir) else None
    selected: dict[str, list[int]] = {
        "web": ours("web", roots(_is_web_server), web_server_listens, targets.web_port),
        "celery": ours("celery", roots(_is_celery_worker), celery_ours, celery_target),
        "postgresql": ours("postgresql", roots(_is_postgres), lambda pid: names_path(procs[pid].cmdline, targets.postgres_hint), targets.postgres_hint),
        "redis": ours("redis", roots(_is_redis), lambda pid: names_path(procs[pid].cmdline, targets.redis_hint), targets.redis_hint),
    }
    groups: dict[int, str] = {}
    for group, root_pids in selected.items():
        if not root_pids:
            notes.append(f"{group}: no process found")
        for root in root_pids:
            for pid in _tree(root, children):
                if group == "postgresql" and _other_database_backend(procs[pid], targets.postgres_database):
                    continue
                groups.setdefault(pid, group)
    if targets.include_self:
        groups[me] = LOADGEN
    return groups, notes


@dataclass
class _GroupSample:
    cpu_pct: float = 0.0
    rss: int = 0
    uss: int = 0
    pss: int = 0
    processes: int = 0

    def add(self, other: _GroupSample) -> None:
        self.cpu_pct += other.cpu_pct
        self.rss += other.rss
        self.uss += other.uss
        self.pss += other.pss
        self.processes += other.processes


@dataclass
class _Series:
    """Per-sample values of one group (or of the server total). USS/PSS only on full samples."""

    cpu_pct: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)
    processes: list[int] = field(default_factory=list)
    uss: list[int] = field(default_factory=list)
    pss: list[int] = field(default_factory=list)

    def add(self, sample: _GroupSample, *, full: bool) -> None:
        self.cpu_pct.append(sample.cpu_pct)
        self.rss.append(sample.rss)
        self.processes.append(sample.processes)
        if full:
            self.uss.append(sample.uss)
            self.pss.append(sample.pss)

    def summary(self) -> dict[str, Any]:
        def avg(values: list[float] | list[int]) -> float:
            return sum(values) / len(values) if values else 0.0

        def mb(values: list[int]) -> tuple[float, float]:
            return round(avg(values) / MB, 1), round(max(values, default=0) / MB, 1)

        rss, uss, pss = mb(self.rss), mb(self.uss), mb(self.pss)
        return {
            "processes_avg": round(avg(self.processes), 1),
            "processes_max": max(self.processes, default=0),
            "cpu_pct_avg": round(avg(self.cpu_pct), 1),
            "cpu_pct_max": round(max(self.cpu_pct, default=0.0), 1),
            "rss_mb_avg": rss[0], "rss_mb_max": rss[1],
            "uss_mb_avg": uss[0], "uss_mb_max": uss[1],
            "pss_mb_avg": pss[0], "pss_mb_max": pss[1],
        }


class FootprintSampler:
    """Samples the watched groups every ``interval_s`` in a daemon thread between start() and stop().

    A thread, not an asyncio task: psutil reads /proc synchronously and must not stall the event loop
    that drives the load. The sampler competes with the server for the same cores, so it keeps its
    own cost near 2 % of a core: CPU times and RSS (cheap reads of /proc/PID/stat and statm) every
    sample; process discovery (~10 ms) every ``discover_every`` samples; USS/PSS every
    ``full_every`` samples, because they walk each process's page tables — ~5 ms per PostgreSQL
    backend that has touched a large ``shared_buffers``, 170 ms per sweep at 100k workers.
    """

    def __init__(self, targets: FootprintTargets, interval_s: float = 1.0, full_every: int = 10, discover_every: int = 2) -> None:
        self.targets = targets
        self.interval_s = interval_s
        self.full_every = max(1, full_every)
        self.discover_every = max(1, discover_every)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._groups: dict[int, str] = {}
        self._processes: dict[int, psutil.Process] = {}
        self._cpu_seconds: dict[int, tuple[float, float]] = {}
        self._last_read = 0.0
        self._count = 0
        self._series: dict[str, _Series] = {group: _Series() for group in (*SERVER_GROUPS, LOADGEN)}
        self._total = _Series()
        self._notes: set[str] = set()
        self._pss_complete = True
        self._pids_seen: dict[str, set[int]] = {group: set() for group in self._series}
        self._listening: dict[int, bool] = {}  # web server pid → listens on the web port
        # Machine-wide CPU, so CPU spent by processes outside the stack (another job on a shared
        # machine) shows up next to the stack's instead of silently lowering its throughput.
        self._machine_busy: list[float] = []
        self._last_machine: tuple[float, float] | None = None  # (busy seconds, total seconds) of all CPUs

    def start(self) -> None:
        self._sample(record=False)  # primes the CPU counters: CPU % needs two readings
        self._thread = threading.Thread(target=self._loop, name="footprint-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        return self.summary()

    def _loop(self) -> None:
        next_at = time.monotonic() + self.interval_s
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            self._sample(record=True)
            # Never catch up with back-to-back samples after a slow one: CPU time advances in 10 ms
            # ticks, so a 10 ms interval would read one tick as 100 % of a core.
            next_at = max(next_at + self.interval_s, time.monotonic() + self.interval_s / 2)

    def _listens_on(self, pid: int, port: int) -> bool:
        if pid not in self._listening:
            self._listening[pid] = _listens_on(pid, port)
        return self._listening[pid]

    def _machine_cpu_pct(self) -> float | None:
        """Busy CPU of the whole machine since the previous sample, 100 % = one core."""
        times = psutil.cpu_times()
        total = sum(times)
        busy = total - times.idle - getattr(times, "iowait", 0.0)
        previous, self._last_machine = self._last_machine, (busy, total)
        if previous is None or total <= previous[1]:
            return None
        return (busy - previous[0]) / (total - previous[1]) * 100.0 * (psutil.cpu_count() or 1)

    def _sample(self, *, record: bool) -> None:
        machine_pct = self._machine_cpu_pct()
        # Recorded samples 0, full_every, 2 × full_every… carry USS/PSS, so even a short run has one.
        full = record and self._count % self.full_every == 0
        if not self._groups or self._count % self.discover_every == 0:
            self._groups, notes = discover(self.targets, listens_on=self._listens_on)
            self._notes.update(notes)
        if record:
            self._count += 1
        samples = {group: _GroupSample() for group in self._series}
        cpu_seconds: dict[int, tuple[float, float]] = {}  # pid → (CPU seconds, when read)
        for pid, group in self._groups.items():
            proc = self._processes.get(pid)
            try:
                if proc is None:
                    proc = self._processes[pid] = psutil.Process(pid)
                with proc.oneshot():
                    times = proc.cpu_times()
                    read_at = time.time()
                    used = times.user + times.system
                    rss, uss, pss = proc.memory_info().rss, None, None
                    if full:
                        try:
                            memory = proc.memory_full_info()
                            uss, pss = memory.uss, getattr(memory, "pss", None)
                        except psutil.AccessDenied:  # another user's process without root: RSS only
                            pass
                    created = proc.create_time()
            except psutil.NoSuchProcess:
                self._processes.pop(pid, None)
                continue
            except psutil.AccessDenied:
                self._notes.add(f"{group}: pid {pid} not readable")
                continue
            cpu_seconds[pid] = (used, read_at)
            sample = samples[group]
            sample.processes += 1
            sample.rss += rss
            if full:
                if uss is None or pss is None:
                    self._pss_complete = False
                sample.uss += uss or 0
                sample.pss += pss if pss is not None else rss
            # CPU % over this process's own interval between two reads: reading ~40 processes takes
            # milliseconds, and a shared interval would skew the ones read last.
            previous, previous_at = self._cpu_seconds.get(pid, (None, self._last_read))
            if previous is None and self._last_read and created >= self._last_read:
                previous, previous_at = 0.0, created  # born during the interval: all its CPU time is new
            if previous is not None and read_at > previous_at:
                sample.cpu_pct += max(0.0, used - previous) / (read_at - previous_at) * 100.0
            self._pids_seen[group].add(pid)
        # Forget processes that are gone, so a recycled pid starts fresh.
        for pid in set(self._processes) - set(cpu_seconds):
            self._processes.pop(pid, None)
            self._listening.pop(pid, None)
        self._cpu_seconds, self._last_read = cpu_seconds, time.time()
        if not record:
            return
        if machine_pct is not None:
            self._machine_busy.append(machine_pct)
        total = _GroupSample()
        for group, sample in samples.items():
            self._series[group].add(sample, full=full)
            if group in SERVER_GROUPS:
                total.add(sample)
        self._total.add(total, full=full)

    def summary(self) -> dict[str, Any]:
        basis = "pss" if self._pss_complete and self._total.pss else "rss"
        total = self._total.summary()
        machine_avg = sum(self._machine_busy) / len(self._machine_busy) if self._machine_busy else 0.0
        loadgen_avg = self._series[LOADGEN].summary()["cpu_pct_avg"]
        return {
            "interval_s": self.interval_s,
            "samples": len(self._total.cpu_pct),
            "memory_samples": len(self._total.pss),
            "cpu_count": psutil.cpu_count(),
            "memory_basis": basis,
            "groups": {group: {**series.summary(), "pids_seen": len(self._pids_seen[group])} for group, series in self._series.items()},
            "total": {**total, "memory_mb_avg": total[f"{basis}_mb_avg"], "memory_mb_max": total[f"{basis}_mb_max"]},
            "machine": {
                "cpu_pct_avg": round(machine_avg, 1),
                "cpu_pct_max": round(max(self._machine_busy, default=0.0), 1),
                # Whatever the machine did besides the stack and the load generator.
                "other_cpu_pct_avg": round(max(0.0, machine_avg - total["cpu_pct_avg"] - loadgen_avg), 1),
            },
            "notes": sorted(self._notes),
        }


def format_footprint_table(footprint: Mapping[str, Any]) -> str:
    """Per-group table with a total row over the server groups (the load generator listed apart)."""
    header = (
        f"{'process group':<14}{'procs':>7}{'cpu% avg':>10}{'cpu% max':>10}"
        f"{'RSS MB avg':>12}{'RSS MB max':>12}{'USS MB avg':>12}{'PSS MB avg':>12}{'PSS MB max':>12}"
    )

    def row(label: str, s: Mapping[str, Any]) -> str:
        return (
            f"{label:<14}{s['processes_max']:>7}{s['cpu_pct_avg']:>10.1f}{s['cpu_pct_max']:>10.1f}"
            f"{s['rss_mb_avg']:>12.1f}{s['rss_mb_max']:>12.1f}{s['uss_mb_avg']:>12.1f}{s['pss_mb_avg']:>12.1f}{s['pss_mb_max']:>12.1f}"
        )

    groups = footprint["groups"]
    lines = [header, "-" * len(header)]
    lines.extend(row(group, groups[group]) for group in SERVER_GROUPS if group in groups)
    lines.append("-" * len(header))
    lines.append(row("total", footprint["total"]))
    if LOADGEN in groups:
        lines.append(row(f"({LOADGEN})", groups[LOADGEN]))
    basis = footprint["memory_basis"].upper()
    lines.append(
        f"{footprint['samples']} samples every {footprint['interval_s']:g} s (USS/PSS in {footprint['memory_samples']} of them); "
        f"CPU % of one core ({footprint['cpu_count']} cores); "
        f"memory total uses {basis}: {footprint['total']['memory_mb_avg']:.0f} MB avg, {footprint['total']['memory_mb_max']:.0f} MB max "
        "(summed RSS double-counts PostgreSQL's shared buffers and forked workers' shared pages)"
    )
    machine = footprint.get("machine")
    if machine:
        lines.append(
            f"machine CPU {machine['cpu_pct_avg']:.0f} % avg ({machine['cpu_pct_max']:.0f} % max) of {footprint['cpu_count'] * 100} %; "
            f"processes outside the stack and the load generator: {machine['other_cpu_pct_avg']:.0f} % avg"
        )
    lines.extend(f"note: {note}" for note in footprint.get("notes", ()))
    return "\n".join(lines)


def targets_from_urls(
    base_url: str,
    database_host: str | None,
    redis_url: str | None,
    environ: Mapping[str, str] | None = None,
    database_name: str | None = None,
    postgres_data_dir: str | None = None,
    project_dir: str | None = None,
) -> FootprintTargets:
    """Targets for the stack behind ``base_url`` using the project's own database and Redis settings:
    a unix-socket directory or a port is what appears in the servers' command lines; the harness's
    own DATABASE_URL/REDIS_URL (set or not) identify the stack's Celery workers."""
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    web_port = parts.port or (443 if parts.scheme == "https" else 80)
    # The embedded server's data directory (var/pgdata) names it best; else a unix-socket directory.
    postgres_hint = postgres_data_dir or (database_host if database_host and database_host.startswith("/") else None)
    redis_hint = None
    if redis_url:
        redis_parts = urlsplit(redis_url)
        if redis_parts.scheme == "unix":
            redis_hint = redis_parts.path
        elif redis_parts.port:
            redis_hint = str(redis_parts.port)
    environ = os.environ if environ is None else environ
    celery_env = tuple((name, environ.get(name)) for name in ("DATABASE_URL", "REDIS_URL"))
    return FootprintTargets(
        web_port=web_port, postgres_hint=postgres_hint, postgres_database=database_name, redis_hint=redis_hint, celery_env=celery_env,
        project_dir=project_dir,
    )


def describe_groups(groups: Mapping[int, str]) -> dict[str, list[int]]:
    """group → pids (for logs and tests)."""
    out: dict[str, list[int]] = {}
    for pid, group in sorted(groups.items()):
        out.setdefault(group, []).append(pid)
    return out


__all__ = [
    "FootprintSampler",
    "FootprintTargets",
    "SERVER_GROUPS",
    "describe_groups",
    "discover",
    "is_client_backend",
    "format_footprint_table",
    "targets_from_urls",
]
