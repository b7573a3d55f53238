from django.core.management.base import BaseCommand

from apps.core.services import issue_api_token


class Command(BaseCommand):
    help = "Create USERNAME if needed and print only its API token key (for scripts). Without a flag the user is an API-only coordinator."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        role = parser.add_mutually_exclusive_group()
        role.add_argument("--staff", action="store_true", help="make the user an operator (superuser, console)")
        role.add_argument("--coordinator", action="store_true", help="make the user a coordinator who may also log in to the console")

    def handle(self, *args, username: str, staff: bool, coordinator: bool, **options) -> None:
        _, key = issue_api_token(username=username, staff=staff, coordinator_console=coordinator)
        self.stdout.write(key)
