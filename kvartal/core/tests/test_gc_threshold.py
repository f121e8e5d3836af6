"""Every process (pages, jobs, commands) runs with the garbage collector's first generation
set by ``KVARTAL_GC_THRESHOLD`` (``kvartal.core.apps``)."""

import gc
import os
import subprocess
import sys

from django.conf import settings


def _threshold_of(code: str, **env) -> int:
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "kvartal.settings", **env},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return int(out.stdout)


def test_the_process_runs_with_the_configured_threshold():
    assert settings.KVARTAL_GC_THRESHOLD == 10_000
    assert gc.get_threshold()[0] == settings.KVARTAL_GC_THRESHOLD


def test_zero_keeps_pythons_own():
    pythons = _threshold_of("import gc; print(gc.get_threshold()[0])")
    with_zero = "import django, gc; django.setup(); print(gc.get_threshold()[0])"
    assert _threshold_of(with_zero, KVARTAL_GC_THRESHOLD="0") == pythons != 10_000
    assert _threshold_of(with_zero, KVARTAL_GC_THRESHOLD="5000") == 5000
