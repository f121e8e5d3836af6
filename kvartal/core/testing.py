"""Moved to ``kvartal.testing`` (test helpers live outside the core layer). This alias keeps
tests written before the move working; import from ``kvartal.testing`` in new code."""

from kvartal.testing import *  # noqa: F403
from kvartal.testing import PASSWORD  # noqa: F401
