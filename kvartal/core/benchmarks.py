"""The machinery of the HTTP benchmark commands (``bench_showcase``, ``bench_api``): what every
benchmark prints about where it ran, a gunicorn server on this database, concurrent clients
over loopback, percentiles.

Not tests: the commands print figures. The clients are threads of the command's process, each
sending its requests one after another over its own connection per request; the times are
what a client waited (server time plus loopback, no network).
"""

import http.client
import math
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from django.core.management.base import CommandError
from django.db import connection


def database_version() -> str:
    """``PostgreSQL 15.19 (kvartal)`` / ``SQLite 3.40.1 (…)``: the server and the database."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            version = f"PostgreSQL {cursor.fetchone()[0]}"
        elif connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
            version = f"SQLite {cursor.fetchone()[0]}"
        else:
            version = connection.vendor
    return f"{version} ({connection.settings_dict['NAME']})"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def default_workers() -> int:
    return (os.cpu_count() or 1) * 2 + 1


def request(
    port: int,
    method: str,
    url: str,
    *,
    headers: dict | None = None,
    body: bytes | None = None,
    cookies: dict | None = None,
) -> int:
    """One request to the local server; returns the status. ``cookies`` (a dict) is sent and
    updated from ``Set-Cookie``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    sent = {"Accept-Language": "ru", **(headers or {})}
    if cookies:
        sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    conn.request(method, url, body=body, headers=sent)
    response = conn.getresponse()
    response.read()
    if cookies is not None:
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                cookies[name] = rest.split(";", 1)[0]
    conn.close()
    return response.status


def serve(settings_module: str, workers: int, *, ready_url: str = "/robots.txt"):
    """Start gunicorn (sync workers) with ``settings_module`` on a free loopback port, on the
    database of this process's settings; returns (process, port) once ``ready_url`` answers.
    The caller terminates the process."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "KVARTAL_ALLOWED_HOSTS": "127.0.0.1",
        **_database_env(),
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [
            str(gunicorn),
            "kvartal.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            request(port, "GET", ready_url)
            return server, port
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise CommandError("gunicorn did not start")


def _database_env() -> dict:
    """The environment that points a child process's settings at this process's database
    (the same one even when it was renamed, as for a test database)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return {"KVARTAL_SQLITE_PATH": str(db["NAME"])}
    if connection.vendor == "postgresql":
        who = quote(db.get("USER") or "", safe="")
        if db.get("PASSWORD"):
            who += ":" + quote(db["PASSWORD"], safe="")
        where = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
        return {"DATABASE_URL": f"postgres://{who}@{where}/{quote(db['NAME'], safe='')}"}
    return {}


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=30)


def run_clients(
    clients: int,
    each: int,
    call: Callable[[int, int], bool],
    *,
    prepare: Callable[[int], None] | None = None,
) -> tuple[list[float], int, float]:
    """``clients`` threads started together, each calling ``call(client, i)`` ``each`` times
    one after another (``prepare(client)`` first, untimed). ``call`` returns whether the
    answer was the expected one. Returns (times in ms, wrong answers, wall seconds)."""
    times: list[float] = []
    errors = [0]
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client(n: int) -> None:
        if prepare is not None:
            prepare(n)
        start.wait()
        for i in range(each):
            began = time.perf_counter()
            try:
                ok = call(n, i)
            except OSError:
                ok = False
            elapsed = (time.perf_counter() - began) * 1000
            with lock:
                times.append(elapsed)
                if not ok:
                    errors[0] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, errors[0], time.perf_counter() - began
