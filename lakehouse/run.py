"""`make run`: everything a fresh machine needs, then web + worker in the foreground.

Starts embedded PostgreSQL/Redis when no URLs are set, migrates, creates the admin user and token,
starts gunicorn and one Celery worker, loads the demo corpus through the worker on first run, and
prints where to go. Ctrl-C stops everything this command started (and only that).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _admin_password(var_dir: Path) -> str:
    """ADMIN_PASSWORD, or a random one generated on first run and kept in var/ (mode 0600)."""
    if os.environ.get("ADMIN_PASSWORD"):
        return os.environ["ADMIN_PASSWORD"]
    path = var_dir / "admin-password"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    path.write_text(password + "\n")
    path.chmod(0o600)
    return password


def gunicorn_command(port: str) -> list[str]:
    # gthread: requests spend most of their time waiting on PostgreSQL/Redis, so threads overlap that
    # wait cheaply; worker count and threads are tuned in benchmarks/README.md for the 2-core machine.
    return [
        sys.executable, "-m", "gunicorn", "lakehouse.wsgi:application",
        "--bind", f"{os.environ.get('HOST', '127.0.0.1')}:{port}",
        "--worker-class", "gthread",
        "--workers", os.environ.get("WEB_WORKERS", "2"),
        "--threads", os.environ.get("WEB_THREADS", "8"),
        "--timeout", "120",
        "--keep-alive", "30",
        "--access-logfile", "-" if os.environ.get("ACCESS_LOG") else "/dev/null",
    ]


def celery_command(queues: list[str]) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "lakehouse", "worker",
        "--queues", ",".join(queues),
        "--concurrency", os.environ.get("CELERY_CONCURRENCY", "1"),
        "--loglevel", os.environ.get("CELERY_LOGLEVEL", "INFO"),
        "--hostname", f"lakehouse@{os.uname().nodename}-{os.getpid()}",
    ]


def stop_processes(children: list[subprocess.Popen], timeout_s: float = 30.0) -> None:
    """SIGTERM each child, give them time to finish their work, then SIGKILL what is left."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            child.kill()


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lakehouse.settings")
    from lakehouse import embedded

    started_pg = not os.environ.get("DATABASE_URL") and embedded._postmaster_socket_dir() is None
    started_redis = not os.environ.get("REDIS_URL") and not embedded._redis_ping()
    if started_pg or started_redis:
        print("Starting embedded services (PostgreSQL + pgvector, Redis) under var/ ...", flush=True)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from apps.core.services import issue_api_token
    from lakehouse.celery import all_queue_names

    print("Applying migrations ...", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    username = os.environ.get("ADMIN_USER", "admin")
    password = _admin_password(embedded.VAR_DIR)
    _, token = issue_api_token(username=username, staff=True, password=password)

    port = os.environ.get("PORT", "8000")
    children: list[subprocess.Popen] = [
        subprocess.Popen(celery_command(all_queue_names()), cwd=BASE_DIR),
        subprocess.Popen(gunicorn_command(port), cwd=BASE_DIR),
    ]

    def stop(*_args) -> None:
        stop_processes(children)
        if started_pg or started_redis:
            from django.db import connections

            connections.close_all()
            if started_redis:
                embedded.stop_redis()
            if started_pg:
                embedded.stop_postgres()
        print("\nLakehouse stopped.", flush=True)

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    # Installed explicitly: a shell that starts us in the background leaves SIGINT ignored.
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        from apps.workers.demo import load_demo_corpus

        load_demo_corpus(count=int(os.environ.get("WORKERS", "10000")), actor=username)
        base = f"http://127.0.0.1:{port}"
        print(
            "\nLakehouse is running.\n"
            f"  admin console : {base}/admin/   (login: {username} / {password})\n"
            f"  API docs      : {base}/api/docs/\n"
            f"  health        : {base}/healthz\n"
            f"  API token     : {token}\n"
            f"  try           : curl -H 'Authorization: Token {token}' {base}/api/v1/whoami\n"
            f"  database      : {'embedded (var/pgdata)' if settings.EMBEDDED_DATABASE else 'DATABASE_URL'}; "
            f"redis: {'embedded (var/redis)' if settings.EMBEDDED_REDIS else 'REDIS_URL'}\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("A child process exited; stopping.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop()


if __name__ == "__main__":
    raise SystemExit(main())
