from django.core.management.base import BaseCommand, CommandError

from kvartal.analytics.periods import local_today
from kvartal.pricing.dynamic import backtest
from kvartal.pricing.models import Rule


class Command(BaseCommand):
    help = "Print what the pricing rules would have recommended each month, and the sales after."

    def add_arguments(self, parser):
        parser.add_argument("--months", type=int, default=12)
        parser.add_argument("--rule", type=int, help="a rule id (default: every active rule)")

    def handle(self, *args, **options):
        rules = Rule.objects.filter(active=True)
        if options["rule"]:
            rules = Rule.objects.filter(pk=options["rule"])
        if not rules.exists():
            raise CommandError("No pricing rule: create one on /app/pricing/rules/.")
        for rule in rules:
            self.stdout.write(f"== {rule.name}")
            self.stdout.write("month\tsegment\tsold\tpace/wk\tstock\tplan/wk\tmove %\tsold next")
            for r in backtest(rule, months=options["months"], today=local_today()):
                self.stdout.write(
                    f"{r.month:%Y-%m}\t{r.segment}\t{r.sold}\t{r.pace}\t{r.stock}\t"
                    f"{r.plan_pace if r.plan_pace is not None else '-'}\t{r.move:+}\t{r.sold_next}"
                )
