"""Call-centre jobs: a client's history summary recomputed when it changes; recent changes
swept every ten minutes (history written by other apps: holds, deals, visits); old live
events pruned."""

from datetime import timedelta

from django.utils import timezone

from kvartal.clients.models import Client
from kvartal.core.jobs import job, register_periodic

from . import services

SWEEP = timedelta(minutes=10)


@job()
def summary_refresh_job(client_id: int) -> None:
    client = Client.objects.filter(pk=client_id, erased_at__isnull=True).first()
    if client is not None:
        services.summary_refresh(client=client)


def summaries_sweep() -> None:
    # a little overlap with the previous run: nothing falls between two sweeps
    services.summaries_refresh_recent(since=timezone.now() - SWEEP - timedelta(minutes=2))


def live_prune() -> None:
    services.live_prune(before=timezone.now() - timedelta(hours=1))


register_periodic("callcentre-summaries", summaries_sweep, every=SWEEP)
register_periodic("callcentre-live-prune", live_prune, every=timedelta(hours=1))
