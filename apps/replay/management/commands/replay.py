from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from apps.core.management.arguments import int_between
from apps.replay.choices import REPLAYED_TASK_TYPES, SKIPPED_TASK_TYPES
from apps.replay import gate
from apps.replay.models import ReplayBatch
from apps.replay.selectors import batch_list, batch_run_dicts, batch_summary
from apps.replay.services import create_batch, run_batch

# A mistake in the gate's own arguments must not read as "regression" (1) or "model unreachable" (2).
EXIT_USAGE = 3


class Command(BaseCommand):
    help = (
        "Replay evidence against the chat model and the current retrieval stack (runs in this process). "
        "As a CI gate: --fail-on-regression exits 1 on any regression, 2 when no run reached the model (2 wins), 0 otherwise; "
        "a mistake in the arguments exits 3."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        def usage_error(message: str):
            # argparse exits 2, which a CI gate reads as "no run reached the model": a typo in the
            # gate's arguments must exit EXIT_USAGE instead, from the shell and from call_command.
            if parser.called_from_command_line:
                parser.print_usage(sys.stderr)
                parser.exit(EXIT_USAGE, f"{parser.prog}: error: {message}\n")
            raise CommandError(f"Error: {message}", returncode=EXIT_USAGE)

        parser.error = usage_error
        return parser

    def add_arguments(self, parser) -> None:
        parser.add_argument("--day-from", type=_day, metavar="YYYY-MM-DD")
        parser.add_argument("--day-to", type=_day, metavar="YYYY-MM-DD")
        parser.add_argument("--task-type", action="append", dest="task_types", choices=REPLAYED_TASK_TYPES + SKIPPED_TASK_TYPES)
        parser.add_argument("--limit", type=int_between(1, ReplayBatch.MAX_LIMIT), help="replay at most N records")
        parser.add_argument("--provider", choices=["local", "openai", "ollama"])
        parser.add_argument("--model")
        parser.add_argument("--concurrency", type=int_between(1, ReplayBatch.MAX_CONCURRENCY), default=4)
        parser.add_argument("--fail-on-regression", action="store_true", help="exit 1 on any regression, 2 when no run reached the model")
        parser.add_argument("--junit-xml", type=Path, metavar="PATH", help="write one JUnit test case per run here")
        parser.add_argument("--baseline-batch", metavar="BATCH_ID", help="a regression = passed in this earlier batch, fails now")

    def handle(
        self, *args, day_from, day_to, task_types, limit, provider, model, concurrency, fail_on_regression, junit_xml: Path | None,
        baseline_batch: str | None, **options,
    ) -> None:
        if day_from and day_to and day_to < day_from:
            raise CommandError(f"--day-to {day_to} is before --day-from {day_from}", returncode=EXIT_USAGE)
        baseline = None
        if baseline_batch:
            baseline = batch_list().filter(pk=baseline_batch).first()
            if baseline is None:
                raise CommandError(f"--baseline-batch: no replay batch {baseline_batch!r}", returncode=EXIT_USAGE)
        batch = create_batch(
            day_from=day_from, day_to=day_to, task_types=task_types or [], limit=limit, provider=provider, model=model,
            concurrency=concurrency, actor="manage.py", dispatch=False, baseline_batch=baseline,
        )
        bar = tqdm(unit="run", desc=batch.batch_id)

        def show(current) -> None:
            bar.total = current.total
            bar.n = current.passed + current.failed + current.errors
            bar.set_postfix(passed=current.passed, failed=current.failed, errors=current.errors, regressions=current.regressions)
            bar.refresh()

        batch = run_batch(batch.batch_id, on_progress=show)
        bar.close()
        summary = batch_summary(batch)
        cost = "unpriced" if summary["cost_usd"] is None else f"${summary['cost_usd']:.6f}" + (" (some runs unpriced)" if summary["unpriced"] else "")
        self.stdout.write(
            f"{summary['batch_id']} {summary['status']}: total {summary['total']}, passed {summary['passed']}, failed {summary['failed']}, "
            f"errors {summary['errors']}, skipped {summary['skipped']}, regressions {summary['regressions']}, "
            f"pass rate {summary['pass_rate']}, latency p50/p95 {summary['latency_ms']['p50']}/{summary['latency_ms']['p95']} ms, "
            f"tokens {summary['prompt_tokens']}+{summary['completion_tokens']}, cost {cost}"
        )
        if junit_xml is not None:
            junit_xml.parent.mkdir(parents=True, exist_ok=True)
            junit_xml.write_bytes(gate.junit_xml(summary, batch_run_dicts(batch.batch_id)))
        if fail_on_regression:
            code = gate.gate_exit_code(summary)
            if code != gate.EXIT_OK:
                raise CommandError(summary["error"] or f"{summary['regressions']} regression(s)", returncode=code)
        elif summary["status"] == "failed":
            raise CommandError(summary["error"])


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None
