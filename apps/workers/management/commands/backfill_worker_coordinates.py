"""`manage.py backfill_worker_coordinates`: latitude/longitude from the ZIP for workers stored without them."""

from django.core.management.base import BaseCommand

from apps.workers.services import backfill_worker_coordinates


class Command(BaseCommand):
    help = "Set worker coordinates from their ZIP where missing (radius search); unknown ZIPs stay without."

    def handle(self, *args, **options) -> None:
        updated = backfill_worker_coordinates()
        self.stdout.write(f"set coordinates on {updated} workers")
