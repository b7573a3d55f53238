"""`manage.py multitier --base-url URL --token T --concurrency 50 --duration 300s [--seed S]
[--warmup 10s] [--json-out PATH] [--footprint] [--no-fail-on-error]`: the multitier load harness.

Open loop: `--arrival-rate 20/s [--burst "3x for 10s every 60s"] [--profile FILE] [--find-knee]`.
Mixed read/write: `--during-ingest PATH` or `--during rebuild|reembed`. Soak: `--soak 60m`.
`--plot PATH.png` writes the plots. See apps/loadtest/README.md.

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

from apps.loadtest import during as during_mod
from apps.loadtest.arrivals import DemandProfile, find_knee, knee_rates, load_profile, parse_burst, parse_rate
from apps.loadtest.footprint import FootprintTargets, format_footprint_table, targets_from_urls
from apps.loadtest.harness import HarnessConfig, HarnessError, parse_duration, run
from apps.loadtest.report import format_phase_table, format_starts, format_table, summary_line
from apps.loadtest.scenarios import SCENARIO_NAMES
from apps.loadtest.soak import format_soak_table, process_probes, redis_probes, table_probes


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _rate(text: str) -> float:
    try:
        return parse_rate(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _burst(text: str):
    try:
        return parse_burst(text)
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
        open_loop = parser.add_argument_group("open loop")
        open_loop.add_argument("--arrival-rate", type=_rate, help="start scenarios on a Poisson schedule at this rate, e.g. 20/s")
        open_loop.add_argument("--burst", type=_burst, action="append", default=[], help="shape demand: '3x for 10s every 60s' (repeatable)")
        open_loop.add_argument("--profile", type=Path, help="a demand profile file (a 'rate 20/s' line and burst lines, or JSON)")
        open_loop.add_argument("--max-in-flight", type=int, default=256, help="open loop: scenarios running at once; a start beyond it is dropped (default 256)")
        open_loop.add_argument("--find-knee", action="store_true", help="step the arrival rate up until p99 ≥ 1 s or anything fails")
        open_loop.add_argument("--knee-start", type=_rate, default=10.0, help="first rate of --find-knee (default 10/s)")
        open_loop.add_argument("--knee-factor", type=float, default=1.5, help="rate multiplier per step (default 1.5)")
        open_loop.add_argument("--knee-steps", type=int, default=8, help="at most this many steps (default 8)")
        mixed = parser.add_argument_group("mixed read/write")
        mixed.add_argument("--during-ingest", metavar="PATH", help="POST /api/v1/ingest/ with this server-side file while the load runs")
        mixed.add_argument("--during", choices=("rebuild", "reembed"), help="rebuild or re-embed the workers index while the load runs")
        mixed.add_argument("--during-before", type=_duration, default=10.0, help="load before the job starts (default 10s)")
        mixed.add_argument("--during-after", type=_duration, default=10.0, help="load after the job ended (default 10s)")
        mixed.add_argument("--probe-every", type=_duration, default=5.0, help="recall probe interval (default 5s)")
        soak = parser.add_argument_group("soak")
        soak.add_argument("--soak", type=_duration, help="run this long (overrides --duration) sampling resources for leaks, e.g. 60m")
        soak.add_argument("--soak-every", type=_duration, default=30.0, help="soak sampling interval (default 30s)")
        parser.add_argument("--plot", type=Path, help="write PNG plots here (timeline; -during / -soak variants beside it)")

    def handle(self, *args, **options) -> None:
        if not options["token"]:
            raise CommandError("--token is required (or set MULTITIER_TOKEN); `manage.py api_token NAME --staff` prints one")
        stack = self._stack_targets(options["base_url"])
        try:
            config = HarnessConfig(
                base_url=options["base_url"],
                token=options["token"],
                concurrency=options["concurrency"],
                duration_s=options["soak"] or options["duration"],
                warmup_s=options["warmup"],
                seed=options["seed"],
                timeout_s=options["timeout"],
                scenarios=tuple(options["scenarios"] or ()),
                footprint=stack if options["footprint"] else None,
                progress_every_s=10.0 if options["verbosity"] >= 1 else 0.0,
                demand=self._demand(options),
                max_in_flight=options["max_in_flight"],
                during=self._during(options),
                soak_every_s=options["soak_every"],
            )
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        kwargs: dict = {}
        if options["soak"]:
            kwargs["soak_probes"] = self._soak_probes(stack)
        if config.during is not None:
            kwargs["oracle"], kwargs["recall_note"] = self._oracle()

        try:
            if options["find_knee"]:
                report = self._find_knee(config, options)
            else:
                report = run(config, progress=self._progress, **kwargs)
        except HarnessError as exc:
            raise CommandError(str(exc)) from exc

        self._print(report)
        if options["json_out"]:
            options["json_out"].parent.mkdir(parents=True, exist_ok=True)
            options["json_out"].write_text(json.dumps(report, indent=2) + "\n")
        if options["plot"] and not options["find_knee"]:
            from apps.loadtest.plots import write_plots

            for path in write_plots(report, options["plot"]):
                self.stdout.write(f"plot: {path}")
        self.stderr.write(summary_line(report), style_func=lambda line: line)  # plain text: CI parses it
        if options["fail_on_error"] and not report["ok"]:
            sys.exit(1)

    def _print(self, report: dict) -> None:
        if "knee" in report:
            self.stdout.write(format_knee(report))
            return
        self.stdout.write(format_table(report))
        if report.get("starts"):
            self.stdout.write("")
            self.stdout.write(format_starts(report["starts"], report["demand"]))
            self.stdout.write(format_phase_table(report["phases"], "phase / scenario"))
        if report.get("during"):
            self.stdout.write("")
            self.stdout.write(during_mod.format_during(report["during"]))
        if report.get("soak"):
            self.stdout.write("")
            self.stdout.write(format_soak_table(report["soak"]))
        if report["footprint"] is not None:
            self.stdout.write("")
            self.stdout.write(format_footprint_table(report["footprint"]))

    def _stack_targets(self, base_url: str) -> FootprintTargets:
        """This stack's servers: the gunicorn on the target port, the postmaster of var/pgdata (or
        of the configured socket directory), this Redis, Celery run from this project."""
        database = settings.DATABASES["default"]
        data_dir = None
        if getattr(settings, "EMBEDDED_DATABASE", False):
            from lakehouse import embedded

            data_dir = str(embedded.PG_DATA)
        return targets_from_urls(
            base_url, database.get("HOST"), getattr(settings, "REDIS_URL", None), database_name=database.get("NAME"),
            postgres_data_dir=data_dir, project_dir=str(settings.BASE_DIR),
        )

    @staticmethod
    def _demand(options: dict) -> DemandProfile | None:
        if options["profile"]:
            profile = load_profile(options["profile"], rate=options["arrival_rate"])
            return DemandProfile(profile.rate, profile.bursts + tuple(options["burst"]))
        if options["arrival_rate"] or options["find_knee"]:
            return DemandProfile(options["arrival_rate"] or options["knee_start"], tuple(options["burst"]))
        if options["burst"]:
            raise ValueError("--burst shapes an open loop: give --arrival-rate too")
        return None

    @staticmethod
    def _during(options: dict) -> during_mod.DuringConfig | None:
        if options["during_ingest"] and options["during"]:
            raise ValueError("one operation at a time: --during-ingest or --during")
        kind = "ingest" if options["during_ingest"] else options["during"]
        if kind is None:
            return None
        return during_mod.DuringConfig(
            kind, path=options["during_ingest"], before_s=options["during_before"], after_s=options["during_after"],
            probe_every_s=options["probe_every"],
        )

    @staticmethod
    def _oracle():
        """The exact-ranking oracle of the recall probe, when this process can reach the database."""
        from django.db import connection

        try:
            connection.ensure_connection()
        except Exception as exc:  # noqa: BLE001 — no database here: the probe still measures latency
            return None, f"recall not measured: the harness cannot reach the database ({type(exc).__name__})"
        finally:
            connection.close()
        return during_mod.database_oracle(), None

    @staticmethod
    def _soak_probes(stack: FootprintTargets) -> dict:
        from django.db import connection

        from apps.interactions.models import Interaction
        from apps.playbooks.models import Playbook
        from lakehouse.celery import all_queue_names

        def count(sql: str) -> float:
            try:
                with connection.cursor() as cursor:
                    cursor.execute(sql)
                    return float(cursor.fetchone()[0])
            finally:
                connection.close()  # the sampler thread's connection: one per sample, never kept

        probes = process_probes(stack)
        probes.update(redis_probes(settings.REDIS_URL, all_queue_names()))
        probes.update(table_probes({"interaction": Interaction._meta.db_table, "playbook": Playbook._meta.db_table}, count))
        return probes

    def _find_knee(self, config: HarnessConfig, options: dict) -> dict:
        """Step the arrival rate up; stop at the first step that misses p99 < 1 s with 0 % failures."""
        from dataclasses import replace

        steps = []
        for rate in knee_rates(options["knee_start"], options["knee_factor"], options["knee_steps"]):
            demand = DemandProfile(rate, config.demand.bursts if config.demand else ())
            self.stdout.write(f"knee step: {demand.describe()} for {config.duration_s:g} s")
            report = run(replace(config, demand=demand, progress_every_s=0.0))
            steps.append((rate, report))
            self.stdout.write(f"  -> {_knee_row(rate, report)}")
            if find_knee(steps) != rate:
                break
        knee = find_knee(steps)
        last = steps[-1][1]
        return {
            **last,
            "knee": {"rate_per_s": knee, "p99_limit_ms": 1000.0, "steps": [{"rate_per_s": r, **_knee_cells(rep)} for r, rep in steps]},
            "ok": knee is not None,
        }

    def _progress(self, state: dict) -> None:
        if state["phase"] == "warmup":
            self.stdout.write(f"warm-up: {state['remaining_s']:.0f} s left")
        else:
            self.stdout.write(
                f"{state['elapsed_s']:>6.0f} s  {state['runs']} runs, {state['failures']} failed, {state['scenarios_per_s']:.1f} scenarios/s"
            )


def _knee_cells(report: dict) -> dict:
    p99s = [s["p99_ms"] for s in report["scenarios"].values() if s["p99_ms"] is not None]
    starts = report.get("starts", {})
    return {
        "achieved_per_s": starts.get("achieved_per_s"), "scenarios_per_s": report["totals"]["scenarios_per_s"],
        "worst_p99_ms": max(p99s, default=None), "failures": report["totals"]["failures"], "dropped": starts.get("dropped", 0),
        "late": starts.get("late", 0),
    }


def _knee_row(rate: float, report: dict) -> str:
    c = _knee_cells(report)
    worst = "-" if c["worst_p99_ms"] is None else f"{c['worst_p99_ms']:.0f}"
    return (f"offered {rate:g}/s, achieved {c['achieved_per_s']}/s, worst scenario p99 {worst} ms, "
            f"{c['failures']} failed, {c['dropped']} dropped, {c['late']} late")


def format_knee(report: dict) -> str:
    knee = report["knee"]
    lines = [f"{'offered /s':>11}{'achieved /s':>13}{'worst p99 ms':>14}{'failed':>8}{'dropped':>9}{'late':>7}", "-" * 62]
    for step in knee["steps"]:
        worst = "-" if step["worst_p99_ms"] is None else f"{step['worst_p99_ms']:.0f}"
        lines.append(f"{step['rate_per_s']:>11g}{step['achieved_per_s'] or 0:>13.1f}{worst:>14}{step['failures']:>8}{step['dropped']:>9}{step['late']:>7}")
    rate = knee["rate_per_s"]
    lines.append(f"knee: {rate:g}/s (highest offered rate with every scenario's p99 < 1 s and 0 % failures)" if rate is not None
                 else "knee: below the first step (lower --knee-start)")
    return "\n".join(lines)
