from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from apps.replay.choices import REPLAYED_TASK_TYPES, SKIPPED_TASK_TYPES
from apps.replay.selectors import batch_summary
from apps.replay.services import create_batch, run_batch


class Command(BaseCommand):
    help = "Replay evidence against the chat model and the current retrieval stack (runs in this process)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--day-from", type=date.fromisoformat)
        parser.add_argument("--day-to", type=date.fromisoformat)
        parser.add_argument("--task-type", action="append", dest="task_types", choices=REPLAYED_TASK_TYPES + SKIPPED_TASK_TYPES)
        parser.add_argument("--limit", type=int)
        parser.add_argument("--provider", choices=["local", "openai", "ollama"])
        parser.add_argument("--model")
        parser.add_argument("--concurrency", type=int, default=4)

    def handle(self, *args, day_from, day_to, task_types, limit, provider, model, concurrency, **options) -> None:
        batch = create_batch(
            day_from=day_from, day_to=day_to, task_types=task_types or [], limit=limit, provider=provider, model=model,
            concurrency=concurrency, actor="manage.py", dispatch=False,
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
        self.stdout.write(
            f"{summary['batch_id']} {summary['status']}: total {summary['total']}, passed {summary['passed']}, failed {summary['failed']}, "
            f"errors {summary['errors']}, skipped {summary['skipped']}, regressions {summary['regressions']}, "
            f"pass rate {summary['pass_rate']}, latency p50/p95 {summary['latency_ms']['p50']}/{summary['latency_ms']['p95']} ms, "
            f"tokens {summary['prompt_tokens']}+{summary['completion_tokens']}"
        )
        if summary["status"] == "failed":
            raise CommandError(summary["error"])
