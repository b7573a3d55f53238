"""`manage.py generate_workers --count N --out PATH --seed S [--dirty]`: write a synthetic corpus."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from apps.core.management.arguments import int_between
from apps.workers.generator import generate_workers
from apps.workers.source_writers import write_workers
from apps.workers.sources import FORMATS


class Command(BaseCommand):
    help = "Write a synthetic worker corpus as Parquet, CSV or JSON Lines (by --format or the extension of --out)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int_between(0), default=100_000, help="rows to write (default 100000)")
        parser.add_argument("--out", required=True, help="file to write: .parquet, .csv or .jsonl")
        parser.add_argument("--seed", type=int, default=0, help="same seed, same corpus (default 0)")
        parser.add_argument("--dirty", action="store_true", help="make ~0.5%% of rows malformed, to exercise rejections")
        parser.add_argument("--format", choices=FORMATS, default=None, help="override the format implied by --out")

    def handle(self, *args, count: int, out: str, seed: int, dirty: bool, format: str | None, **options) -> None:
        path = Path(out).expanduser()
        try:
            directory_exists = path.parent.is_dir()
        except OSError as error:  # e.g. a name too long for the filesystem
            raise CommandError(f"{out[:200]}: cannot write ({error.strerror})") from None
        if not directory_exists:  # said before any work, and about the file asked for (not its .partial)
            raise CommandError(f"{out}: directory {path.parent} does not exist")
        started = time.perf_counter()
        rows = tqdm(
            generate_workers(count, seed, dirty=dirty),
            total=count,
            unit="rows",
            disable=options["verbosity"] == 0,
        )
        try:
            written = write_workers(rows, path, format)
        except OSError as error:
            rows.close()
            raise CommandError(f"{out[:200]}: cannot write ({error.strerror or error})") from None
        except ValueError as error:  # a format the extension does not tell
            rows.close()
            raise CommandError(str(error)) from None
        elapsed = time.perf_counter() - started
        self.stdout.write(f"wrote {written} rows to {out} in {elapsed:.1f}s (seed {seed}{', dirty' if dirty else ''})")
