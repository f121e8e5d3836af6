"""Settings of ``bench_api``'s server: the site's, with the floor views' URLs."""

from kvartal.settings import *  # noqa: F403

ROOT_URLCONF = "kvartal.api.bench_urls"
