"""`manage.py embed_semantic_workers [--missing] [--batch N]`: (re)compute only the semantic vectors."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from apps.indexes.embedders import get_semantic_embedder, semantic_enabled
from apps.workers.models import Worker
from apps.workers.services import embed_semantic_column


class Command(BaseCommand):
    help = "Embed the semantic column of every worker (or only those without one) with SEMANTIC_EMBEDDING_PROVIDER."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--missing", action="store_true", help="only workers without a vector from the current semantic model")
        parser.add_argument("--batch", type=int, default=512)

    def handle(self, *args, missing: bool, batch: int, **options) -> None:
        if not semantic_enabled():
            raise CommandError("SEMANTIC_EMBEDDING_PROVIDER is not set")
        workers = Worker.objects.all()
        if missing:
            workers = workers.exclude(semantic_model=get_semantic_embedder().key)
        pks = list(workers.order_by("pk").values_list("pk", flat=True))
        with tqdm(total=len(pks), unit="workers", disable=options["verbosity"] == 0) as bar:
            for start in range(0, len(pks), batch):
                bar.update(embed_semantic_column(pks[start : start + batch]))
        self.stdout.write(f"embedded {len(pks)} workers with {get_semantic_embedder().key}")
