"""The periodic job: finalise holds whose end has passed (and move their queues), remind
of tasks coming due.

Run once (``manage.py sales_tick``) from cron, or ``--loop SECONDS`` beside the web server.
Holds read as ended the moment they run out whether or not this runs; it only finalises
and notifies.
"""

import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from kvartal.clients.services import tasks_remind
from kvartal.sales.services.holds import holds_expire


class Command(BaseCommand):
    help = "Finalise expired holds and send task reminders; with --loop, repeat every SECONDS."

    def add_arguments(self, parser):
        parser.add_argument("--loop", type=float, metavar="SECONDS", default=0)

    def handle(self, *args, loop: float = 0, **options):
        while True:
            done, reminded = holds_expire(), tasks_remind()
            if done or reminded or options["verbosity"] > 1:
                self.stdout.write(
                    f"sales_tick: {done} expired hold(s) finalised, {reminded} task reminder(s)"
                )
            if not loop:
                return
            close_old_connections()
            time.sleep(loop)
