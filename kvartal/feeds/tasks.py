"""Feed jobs: build one feed, refresh every published one (scheduled every minute)."""

from datetime import timedelta

from kvartal.core.jobs import job, register_periodic

from . import services
from .models import Feed


@job()
def feed_build_job(feed_id: int) -> None:
    feed = Feed.objects.filter(pk=feed_id).first()
    if feed is not None:
        services.feed_build(feed=feed)


def feeds_refresh() -> None:
    services.feeds_refresh()


# Every minute: a feed whose inputs changed is rebuilt (debounced), the others every few hours.
register_periodic("feeds-refresh", feeds_refresh, every=timedelta(minutes=1))
