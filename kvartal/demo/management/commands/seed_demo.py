"""``manage.py seed_demo --size S``: the demo data set (see ``kvartal.demo``)."""

import argparse

from django.core.management.base import BaseCommand, CommandError

from kvartal.demo import dataset as demo
from kvartal.demo.agencies import setup_agencies
from kvartal.demo.bulk import generate_bulk
from kvartal.demo.callcentre import setup_callcentre
from kvartal.demo.feeds import setup_feeds
from kvartal.demo.pricing import setup_pricing
from kvartal.demo.showcase import setup_showcase
from kvartal.inventory.models import Project


class Command(BaseCommand):
    help = (
        "Load realistic demo data: Ural residential complexes, parking, 18 months of price and "
        "sales history, demo users. Deterministic for a seed. Sizes: S ≈ 2 000 units (the demo), "
        "M ≈ 20 000, L ≈ 120 000 (benchmarks), XS ≈ 100 (tests)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=list(demo.SIZES), default="S")
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when any project exists."
        )
        parser.add_argument("--no-users", action="store_true", help="Create no demo users.")
        parser.add_argument(
            "--services",
            action="store_true",
            help=(
                "Replay the 18 months through the services, one event at a time, each with "
                "its audit row, instead of writing the same rows in bulk (the default; "
                "tests/test_bulk_parity.py holds the two equal): ≈40 s for S, hours for L."
            ),
        )
        # The bulk load was once asked for by name; it is the default now.
        parser.add_argument("--bulk", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, size, seed, if_empty, no_users, services, verbosity, **options):
        existing = Project.objects.count()
        if existing:
            if if_empty:
                self.stdout.write(f"Demo data not loaded: the database has {existing} projects.")
                self._print_logins()
                return
            raise CommandError(
                f"The database already has {existing} projects; the demo loads into an empty "
                "inventory (use --if-empty to skip quietly)."
            )
        if not no_users and not demo.demo_users_allowed():
            no_users = True
            self.stdout.write(
                "Demo users not created: they have a known password. Set KVARTAL_DEMO=1 "
                "(make run does) to have them; never with KVARTAL_HTTPS. Create the first "
                "administrator with `manage.py createsuperuser`."
            )
        spec = demo.SIZES[size]
        how = ", through the services" if services else ", history in bulk"
        self.stdout.write(
            f"Loading demo data: size {size} (≈{spec.units:,} units), seed {seed}{how}"
        )
        say = self.stdout.write if verbosity >= 1 else (lambda line: None)
        load = demo.generate if services else generate_bulk
        report = load(size=size, seed=seed, users=not no_users, say=say)
        setup_feeds(say)
        setup_pricing(say)
        setup_showcase(say)
        setup_callcentre(say, seed=seed)
        setup_agencies(say)
        self.stdout.write("")
        width = max(map(len, report.counts))
        for name, value in report.counts.items():
            self.stdout.write(f"  {name:<{width}}  {value:>10,}")
        timings = ", ".join(f"{k} {v:.1f} s" for k, v in report.timings.items())
        self.stdout.write(self.style.SUCCESS(f"Done in {report.timings['total']:.1f} s"))
        self.stdout.write(f"  ({timings})")
        if report.users:
            self.stdout.write("")
            self.stdout.write(f"Demo users, password “{demo.DEMO_PASSWORD}”:")
            width = max(len(str(role)) for _, role, _, _ in report.users)
            self.stdout.write(f"  {'login':<10} {'role':<{width}}  name")
            for login, role, name, created in report.users:
                note = "" if created else "  (existed: password unchanged)"
                self.stdout.write(f"  {login:<10} {role!s:<{width}}  {name}{note}")

    def _print_logins(self) -> None:
        """The demo logins that still exist, so `make run` always says how to sign in."""
        from kvartal.accounts.models import User

        users = {u.username: u for u in User.objects.filter(is_active=True)}
        rows = [users[login] for login, *_ in demo.DEMO_USERS if login in users]
        if rows:
            self.stdout.write(f"Demo users (password “{demo.DEMO_PASSWORD}” unless changed):")
            for user in rows:
                self.stdout.write(f"  {user.username:<10} {user.get_role_display()!s:<28} {user}")
