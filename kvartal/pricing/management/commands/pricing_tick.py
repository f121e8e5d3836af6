from django.core.management.base import BaseCommand

from kvartal.pricing import tasks


class Command(BaseCommand):
    help = "Apply the scheduled price batches that are due and compute today's recommendations."

    def add_arguments(self, parser):
        parser.add_argument("--no-recommend", action="store_true")

    def handle(self, *args, **options):
        applied = tasks.batches_apply_due()
        self.stdout.write(f"batches applied: {applied}")
        if not options["no_recommend"]:
            self.stdout.write(f"recommendations: {tasks.recommendations_compute()}")
