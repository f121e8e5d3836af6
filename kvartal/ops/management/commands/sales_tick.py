"""The sales office's two periodic jobs at once, for a server without the scheduler: finalise
holds whose end has passed (and move their queues), remind of tasks coming due. The same
functions the scheduler runs (``kvartal.ops.tasks``: ``holds-expire``, ``tasks-remind``), so a
reminder goes in the app and/or by e-mail as its assignee chose, once, whichever runs it.

Run once (``manage.py sales_tick``) from cron, or ``--loop SECONDS`` beside the web server.
Holds read as ended the moment they run out whether or not this runs; it only finalises
and notifies.
"""

import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from kvartal.ops.tasks import holds_expire, tasks_remind


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
