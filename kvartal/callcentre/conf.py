"""The call centre's settings: Django settings of these names win, else the environment.

- ``CALLCENTRE_MAX_BODY`` (``KVARTAL_CALL_MAX_BODY``, 64 KB): the largest telephony event body.
- ``CALLCENTRE_STREAM_SECONDS`` (``KVARTAL_LIVE_SECONDS``, 20): how long one server-sent
  events response stays open before the browser reconnects (a worker thread is held meanwhile).
- ``CALLCENTRE_STREAMS`` (``KVARTAL_LIVE_STREAMS``, 8): live streams one process serves at
  once; beyond that a page polls instead.
"""

import os

from django.conf import settings


def _int(setting: str, env: str, default: int) -> int:
    value = getattr(settings, setting, None)
    if value is not None:
        return int(value)
    return int(os.environ.get(env, default))


def max_body() -> int:
    return _int("CALLCENTRE_MAX_BODY", "KVARTAL_CALL_MAX_BODY", 64 * 1024)


def stream_seconds() -> float:
    return _int("CALLCENTRE_STREAM_SECONDS", "KVARTAL_LIVE_SECONDS", 20)


def max_streams() -> int:
    return _int("CALLCENTRE_STREAMS", "KVARTAL_LIVE_STREAMS", 8)
