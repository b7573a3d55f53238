"""`manage.py multitier --base-url URL --token T --concurrency 50 --duration 300s [--seed S]
[--warmup 10s] [--json-out PATH] [--footprint] [--no-fail-on-error]`: the multitier load harness.

Prints the per-scenario table on stdout, one JSON summary line on stderr (for CI) and the full report
to --json-out; exits 1 when any scenario run failed (or nothing was measured), unless
--no-fail-on-error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.loadtest.footprint import format_footprint_table, targets_from_urls
from apps.loadtest.harness import HarnessConfig, HarnessError, parse_duration, run
from apps.loadtest.report import format_table, summary_line
from apps.loadtest.scenarios import SCENARIO_NAMES


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


class Command(BaseCommand):
    help = "Drive the API with weighted coordinator workflows (SPEC §4.10) and report latency percentiles and failures."
    # A client of a server that may run elsewhere: the local database is none of its business.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="the API server (default http://127.0.0.1:8000)")
        parser.add_argument(
            "--token", default=os.environ.get("MULTITIER_TOKEN"),
            help="API token (default: $MULTITIER_TOKEN, which keeps it out of process listings); a staff token is not throttled",
        )
        parser.add_argument("--concurrency", type=int, default=50, help="simulated coordinators (default 50)")
        parser.add_argument("--duration", type=_duration, default=300.0, help="measured time: 300s, 5m or seconds (default 300s)")
        parser.add_argument("--warmup", type=_duration, default=0.0, help="unrecorded run-in before measuring (default 0)")
        parser.add_argument("--seed", type=int, default=0, help="client i draws from Random(seed + i) (default 0)")
        parser.add_argument("--timeout", type=_duration, default=30.0, help="per-request timeout (default 30s)")
        parser.add_argument("--scenario", action="append", choices=SCENARIO_NAMES, dest="scenarios", help="run only this scenario (repeatable)")
        parser.add_argument("--json-out", type=Path, help="write the full JSON report here")
        parser.add_argument("--footprint", action="store_true", help="sample CPU and memory of gunicorn, Celery, PostgreSQL and Redis every second")
        parser.add_argument(
            "--fail-on-error", action=argparse.BooleanOptionalAction, default=True,
            help="exit 1 when any scenario run failed (default on)",
        )

    def handle(self, *args, **options) -> None:
        if not options["token"]:
            raise CommandError("--token is required (or set MULTITIER_TOKEN); `manage.py api_token NAME --staff` prints one")
        footprint = None
        if options["footprint"]:
            database = settings.DATABASES["default"]
            footprint = targets_from_urls(
                options["base_url"], database.get("HOST"), getattr(settings, "REDIS_URL", None), database_name=database.get("NAME")
            )
        try:
            config = HarnessConfig(
                base_url=options["base_url"],
                token=options["token"],
                concurrency=options["concurrency"],
                duration_s=options["duration"],
                warmup_s=options["warmup"],
                seed=options["seed"],
                timeout_s=options["timeout"],
                scenarios=tuple(options["scenarios"] or ()),
                footprint=footprint,
                progress_every_s=10.0 if options["verbosity"] >= 1 else 0.0,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

        try:
            report = run(config, progress=self._progress)
        except HarnessError as exc:
            raise CommandError(str(exc)) from exc

        self.stdout.write(format_table(report))
        if report["footprint"] is not None:
            self.stdout.write("")
            self.stdout.write(format_footprint_table(report["footprint"]))
        if options["json_out"]:
            options["json_out"].parent.mkdir(parents=True, exist_ok=True)
            options["json_out"].write_text(json.dumps(report, indent=2) + "\n")
        self.stderr.write(summary_line(report), style_func=lambda line: line)  # plain text: CI parses it
        if options["fail_on_error"] and not report["ok"]:
            sys.exit(1)

    def _progress(self, state: dict) -> None:
        if state["phase"] == "warmup":
            self.stdout.write(f"warm-up: {state['remaining_s']:.0f} s left")
        else:
            self.stdout.write(
                f"{state['elapsed_s']:>6.0f} s  {state['runs']} runs, {state['failures']} failed, {state['scenarios_per_s']:.1f} scenarios/s"
            )
