"""The cluster fixture: three network-namespace hosts, built once per session and always torn down.

Run by `make test-cluster` (root only; see tests_cluster/hosts.py). It is not part of `make test`: the
default testpaths are `tests/`, and this directory is collected only when named.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Iterator

import pytest

from tests_cluster.hosts import REPO, Cluster, why_cannot_run

CORPUS_ROWS = 3000


def pytest_configure(config) -> None:
    reason = why_cannot_run()
    if reason:
        # Not a skip: CI runs this as root, so not being able to run is a failure that says why.
        print(f"\ncannot run the cluster tests: {reason}", file=sys.stderr)
        pytest.exit(reason, returncode=2)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    Cluster.destroy_network()  # a previous run killed before its finalizer left these behind
    cluster = Cluster()
    try:
        cluster.create_network()
        cluster.start_postgres()
        cluster.start_redis()
        a, b = cluster.add_node("a"), cluster.add_node("b")
        # Both nodes migrate at once against the fresh database, as two machines booting together do.
        migrators = [
            subprocess.Popen(node.command(sys.executable, "manage.py", "migrate_locked"), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for node in (a, b)
        ]
        cluster.migrate_outputs = [(m.wait(timeout=600), m.stdout.read()) for m in migrators]
        assert all(code == 0 for code, _ in cluster.migrate_outputs), cluster.migrate_outputs
        token = a.manage("api_token", "operator", "--staff")
        assert token.returncode == 0, token.stderr
        cluster.token = token.stdout.strip()
        corpus = a.manage("generate_workers", "--count", str(CORPUS_ROWS), "--seed", "3", "--out", str(cluster.shared / "corpus.parquet"))
        assert corpus.returncode == 0, corpus.stderr
        for node in (a, b):
            node.start_web(cluster.logs)
        # Only B's worker at first, so the ingest launched on A can only be run by B.
        b.start_worker(cluster.logs)
        yield cluster
    finally:
        cluster.destroy()

