"""The periodic job of sales: finalise holds whose end has passed (and move their queues).

Run once (``manage.py sales_tick``) from cron, or ``--loop SECONDS`` beside the web server.
Holds read as ended the moment they run out whether or not this runs; it only finalises
and notifies.
"""

import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from kvartal.sales.services.holds import holds_expire


class Command(BaseCommand):
    help = "Finalise expired holds; with --loop, repeat every SECONDS."

    def add_arguments(self, parser):
        parser.add_argument("--loop", type=float, metavar="SECONDS", default=0)

    def handle(self, *args, loop: float = 0, **options):
        while True:
            done = holds_expire()
            if done or options["verbosity"] > 1:
                self.stdout.write(f"sales_tick: {done} expired hold(s) finalised")
            if not loop:
                return
            close_old_connections()
            time.sleep(loop)
