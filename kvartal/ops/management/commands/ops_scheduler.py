"""Run the periodic jobs' scheduler (APScheduler) in the foreground.

Each firing claims its period in the database and enqueues one job; run one scheduler per
server or several: a period runs once either way.
"""

import contextlib

from apscheduler.schedulers.blocking import BlockingScheduler
from django.core.management.base import BaseCommand

from kvartal.ops.periodic import discover, fire, trigger_of


class Command(BaseCommand):
    help = "Run the scheduler of periodic jobs (holds, reminders, notices, backups, feeds)."

    def add_arguments(self, parser):
        parser.add_argument("--list", action="store_true", help="List the jobs and exit.")

    def handle(self, *args, **options):
        jobs = discover()
        scheduler = BlockingScheduler(timezone="UTC")
        for name, periodic in sorted(jobs.items()):
            trigger = trigger_of(periodic)
            self.stdout.write(f"{name}: {trigger}")
            scheduler.add_job(
                fire,
                trigger,
                args=[name],
                id=name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=60,
            )
        if options["list"]:
            return
        with contextlib.suppress(KeyboardInterrupt, SystemExit):
            scheduler.start()
