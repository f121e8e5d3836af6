"""Settings of ``bench_showcase``'s server: the site's, with the floor view's URLs."""

from kvartal.settings import *  # noqa: F403

ROOT_URLCONF = "kvartal.showcase.bench_urls"
