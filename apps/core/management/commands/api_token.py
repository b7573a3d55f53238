from django.core.management.base import BaseCommand

from apps.core.services import issue_api_token


class Command(BaseCommand):
    help = "Create USERNAME if needed and print only its API token key (for scripts)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--staff", action="store_true", help="make the user staff (operator)")

    def handle(self, *args, username: str, staff: bool, **options) -> None:
        _, key = issue_api_token(username=username, staff=staff)
        self.stdout.write(key)
