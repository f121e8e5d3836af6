"""``manage.py api_token --user LOGIN --scopes inventory:read,holds:write --name Site``: create an
integration token from the command line (as the Integrations page does) and print it once."""

from django.core.management.base import BaseCommand, CommandError

from kvartal.accounts.models import User
from kvartal.api.models import SCOPES, ApiToken


class Command(BaseCommand):
    help = "Create an API token acting as a user within scopes; prints the token once."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="The login the token acts as.")
        parser.add_argument(
            "--scopes", required=True, help=f"Comma separated, or 'all': {', '.join(SCOPES)}"
        )
        parser.add_argument("--name", default="command line")
        parser.add_argument("--rate", type=int, default=600, help="Requests a minute.")
        parser.add_argument("--addresses", default="", help="Allowed addresses or networks.")

    def handle(self, *args, user, scopes, name, rate, addresses, **options):
        account = User.objects.filter(username=user, is_active=True).first()
        if account is None:
            raise CommandError(f"No active user “{user}”.")
        chosen = (
            list(SCOPES) if scopes == "all" else [s.strip() for s in scopes.split(",") if s.strip()]
        )
        unknown = [s for s in chosen if s not in SCOPES]
        if unknown:
            raise CommandError(f"Unknown scopes: {', '.join(unknown)}.")
        key = ApiToken.new_key()
        token = ApiToken(name=name, user=account, scopes=chosen, rate=rate, addresses=addresses)
        token.set_key(key)
        token.save()
        self.stdout.write(key)
