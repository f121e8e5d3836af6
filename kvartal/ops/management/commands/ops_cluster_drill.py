"""The many-server drill: two app servers, two workers and two schedulers on one PostgreSQL
and one Redis, as in production, for a few periods; then checks that each periodic job ran
once per period, that no hold was finalised twice and that no notice was sent twice.

    manage.py ops_cluster_drill --postgres postgres://postgres@127.0.0.1:5432/postgres

It creates (and drops) its own database and uses its own Redis database. ``.ci/run`` runs it.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

PERIOD = 2  # seconds, every periodic job during the drill
PERIODIC = (
    ",".join(
        f"{name}={PERIOD}"
        for name in (
            "holds-expire",
            "holds-warn",
            "tasks-remind",
            "payments-overdue",
            "deals-approval",
        )
    )
    + ",backup=5"
)


def _psql_url(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


class Command(BaseCommand):
    help = "Two app servers, two workers, two schedulers on one PostgreSQL and Redis: a drill."

    def add_arguments(self, parser):
        parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres")
        parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
        parser.add_argument("--seconds", type=float, default=24)
        parser.add_argument("--keep", action="store_true", help="Keep the database.")
        parser.add_argument("--seed", action="store_true", help=argparse_suppress())

    def handle(self, *args, **options):
        if options["seed"]:
            return seed()
        return self.drill(options)

    # --- the conductor ---------------------------------------------------------------

    def drill(self, options):
        import psycopg
        import redis

        name = f"kvartal_drill_{os.getpid()}"
        admin = psycopg.connect(options["postgres"], autocommit=True)
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
        queue_url = options["redis"]
        redis.Redis.from_url(queue_url).flushdb()
        cache_url = queue_url.rsplit("/", 1)[0] + "/" + str(int(queue_url.rsplit("/", 1)[1]) + 1)
        redis.Redis.from_url(cache_url).flushdb()
        work = Path(tempfile.mkdtemp(prefix="kvartal-drill-"))
        env = {
            **os.environ,
            "DATABASE_URL": _psql_url(options["postgres"], name),
            "KVARTAL_TASKS": "rq",
            "KVARTAL_REDIS_URL": queue_url,
            "KVARTAL_CACHE": "redis",
            "KVARTAL_CACHE_URL": cache_url,
            "KVARTAL_PERIODIC": PERIODIC,
            "KVARTAL_VAR_DIR": str(work),
            "KVARTAL_BACKUP_DIR": str(work / "backups"),
            "KVARTAL_LOG_LEVEL": "INFO",
            "KVARTAL_SECRET_KEY": "drill-" + "x" * 40,
            "PYTHONUNBUFFERED": "1",
        }
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        run = {"env": env, "cwd": settings.BASE_DIR, "check": True}
        processes: list[tuple[str, subprocess.Popen]] = []
        logs = {}
        try:
            try:
                subprocess.run([*manage, "migrate", "--noinput", "-v0"], **run)
                subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], **run)
                subprocess.run([*manage, "ops_cluster_drill", "--seed"], **run)
                gunicorn = str(Path(sys.executable).parent / "gunicorn")

                def start(label, command):
                    logs[label] = open(work / f"{label}.log", "w")  # noqa: SIM115
                    proc = subprocess.Popen(
                        command,
                        env=env,
                        cwd=settings.BASE_DIR,
                        stdout=logs[label],
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                    processes.append((label, proc))

                ports = (8851, 8852)
                for port in ports:
                    start(
                        f"app-{port}",
                        [
                            gunicorn,
                            "kvartal.wsgi",
                            "--bind",
                            f"127.0.0.1:{port}",
                            "--workers",
                            "2",
                            "--control-socket",
                            str(work / f"gunicorn-{port}.ctl"),
                        ],
                    )
                for n in (1, 2):
                    start(
                        f"worker-{n}",
                        [*manage, "rqworker", "default", "--with-scheduler",
                         "--job-class", "django_tasks_rq.Job", "--name", f"drill-worker-{n}"],
                    )  # fmt: skip
                    start(f"scheduler-{n}", [*manage, "ops_scheduler"])
                started = time.monotonic()
                served = self.use_app_servers(ports)
                time.sleep(max(0.0, options["seconds"] - (time.monotonic() - started)))
                for label, proc in processes:
                    if label.startswith("scheduler"):
                        os.killpg(proc.pid, signal.SIGTERM)
                self.drain(queue_url)
            finally:
                for _label, proc in processes:
                    if proc.poll() is None:
                        os.killpg(proc.pid, signal.SIGTERM)
                for _label, proc in processes:
                    try:
                        proc.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        os.killpg(proc.pid, signal.SIGKILL)
                for log in logs.values():
                    log.close()
            problems = self.verify(env, work, served)
        finally:
            if not options["keep"]:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()
        if problems:
            for problem in problems:
                self.stderr.write(f"  {problem}")
            raise CommandError(f"the drill failed; logs in {work}")
        self.stdout.write(self.style.SUCCESS("drill passed"))

    def use_app_servers(self, ports) -> dict:
        """Sign in as the administrator on each app server and ask it for a backup: each
        server enqueues a job into Redis for the workers."""
        import requests

        served = {}
        for port in ports:
            base = f"http://127.0.0.1:{port}"
            session = requests.Session()
            for _ in range(120):
                try:
                    page = session.get(f"{base}/accounts/login/", timeout=30)
                    break
                except requests.RequestException:
                    time.sleep(0.5)
            else:
                raise CommandError(f"app server {port} did not start")
            token = session.cookies.get("csrftoken")
            session.post(
                f"{base}/accounts/login/",
                data={
                    "username": "drill-admin",
                    "password": "drill-password-1",
                    "csrfmiddlewaretoken": token,
                },  # noqa: E501
                headers={"Referer": f"{base}/accounts/login/"},
                timeout=10,
            )
            page = session.get(f"{base}/app/ops/backups/", timeout=10)
            token = session.cookies.get("csrftoken")
            done = session.post(
                f"{base}/app/ops/backups/now/",
                data={"csrfmiddlewaretoken": token},
                headers={"Referer": f"{base}/app/ops/backups/"},
                timeout=10,
                allow_redirects=False,
            )
            jobs = session.get(f"{base}/app/ops/jobs/?status=READY", timeout=10)
            served[port] = (page.status_code, done.status_code, jobs.status_code)
        return served

    def drain(self, queue_url: str, timeout: float = 60) -> None:
        import redis
        from rq import Queue
        from rq.registry import ScheduledJobRegistry, StartedJobRegistry

        connection = redis.Redis.from_url(queue_url)
        queue = Queue("default", connection=connection)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = (
                queue.count
                + StartedJobRegistry(queue=queue).count
                + ScheduledJobRegistry(queue=queue).count
            )
            if not busy:
                return
            time.sleep(0.5)

    # --- the checks ------------------------------------------------------------------

    def verify(self, env, work: Path, served: dict) -> list[str]:
        import psycopg
        import redis
        from rq import Queue
        from rq.job import Job
        from rq.registry import FailedJobRegistry, FinishedJobRegistry

        problems = []
        con = psycopg.connect(env["DATABASE_URL"])
        q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
        for port, (page, posted, jobs) in served.items():
            self.stdout.write(
                f"app server {port}: backups page {page}, back up now {posted}, jobs page {jobs}"
            )
            if (page, posted, jobs) != (200, 302, 200):
                problems.append(f"app server {port} answered {page}/{posted}/{jobs}")
        runs = q("SELECT name, count(*), sum(runs), max(runs), sum(failed::int) "
                 "FROM ops_periodicrun GROUP BY name ORDER BY name")  # fmt: skip
        for name, periods, total, most, failed in runs:
            self.stdout.write(
                f"periodic {name}: {periods} periods, {total} runs (most in one period: "
                f"{most}), {failed} failed"
            )
            if most != 1:
                problems.append(f"{name} ran {most} times in one period")
            if failed:
                problems.append(f"{name} failed {failed} times")
        ran = {name for name, *_rest in runs}
        for name in ("holds-expire", "holds-warn", "tasks-remind", "deals-approval"):
            if name not in ran:
                problems.append(f"{name} never ran")
            elif {n: p for n, p, *_r in runs}[name] < 3:
                problems.append(f"{name} ran in fewer than 3 periods")
        expired = q("SELECT hold_id, count(*) FROM sales_holdevent WHERE kind = 'expired' "
                    "GROUP BY hold_id")  # fmt: skip
        due = q("SELECT count(*) FROM sales_hold WHERE expires_at < now() - interval '3 seconds'")
        left = q("SELECT count(*) FROM sales_hold WHERE state = 'active' AND expires_at < now() "
                 "- interval '6 seconds'")  # fmt: skip
        twice = [h for h, n in expired if n > 1]
        self.stdout.write(
            f"holds: {len(expired)} finalised, {len(twice)} finalised twice, "
            f"{left[0][0]} of {due[0][0]} run out still active"
        )
        if twice:
            problems.append(f"holds finalised twice: {twice}")
        if left[0][0]:
            problems.append(f"{left[0][0]} run-out holds were not finalised")
        if len(expired) < 3:
            problems.append("fewer than 3 holds were finalised during the drill")
        notices = q("SELECT user_id, message, args::text, count(*) FROM accounts_notice "
                    "WHERE message <> '' GROUP BY 1, 2, 3 ORDER BY 4 DESC")  # fmt: skip
        kinds = Counter(m for _u, m, _a, _n in notices)
        doubled = [(m, a, n) for _u, m, a, n in notices if n > 1]
        self.stdout.write(
            f"notices: {sum(n for *_x, n in notices)} sent, {len(doubled)} sent twice; "
            + ", ".join(f"{n}× {m[:40]!r}" for m, n in kinds.most_common())
        )
        if doubled:
            problems.append(f"notices sent twice: {doubled[:3]}")
        for message in ("ends at", "has expired", "Task due", "has not been received",
                        "waits for a sales head"):  # fmt: skip
            if not any(message in m for m in kinds):
                problems.append(f"no notice {message!r} was sent")
        backups = q("SELECT count(*), sum((verified_ok)::int) FROM ops_backup")[0]
        self.stdout.write(f"backups: {backups[0]} kept after rotation, {backups[1]} verified")
        if not backups[0] or backups[0] != backups[1]:
            problems.append("no verified backup")
        connection = redis.Redis.from_url(env["KVARTAL_REDIS_URL"])
        queue = Queue("default", connection=connection)
        finished = FinishedJobRegistry(queue=queue).get_job_ids()
        workers = Counter(
            job.worker_name for job in Job.fetch_many(finished, connection=connection) if job
        )
        failed = FailedJobRegistry(queue=queue).count
        self.stdout.write(f"jobs: {len(finished)} done by {dict(workers)}, {failed} failed")
        if len(workers) < 2:
            problems.append("the jobs were not shared by the two workers")
        if failed:
            problems.append(f"{failed} jobs failed")
        claims = Counter()
        for n in (1, 2):
            claims[n] = (work / f"scheduler-{n}.log").read_text().count("enqueued")
        self.stdout.write(f"periods claimed by scheduler 1: {claims[1]}, by 2: {claims[2]}")
        con.close()
        return problems


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


# --- the data of the drill (run in the drill's own database) --------------------------------


def seed() -> None:
    """Holds running out every second or two during the drill, holds within their warning
    window, tasks coming due, an overdue payment, a deal waiting for a sales head."""
    from datetime import timedelta

    from django.utils import timezone

    from kvartal.accounts.models import Role, Team, User
    from kvartal.clients.models import Client, Task
    from kvartal.sales.models import PaymentLine, Stage, StageScheme
    from kvartal.sales.presets import install
    from kvartal.sales.services.holds import hold_create
    from kvartal.testing import make_section

    install()

    def user(username, role, **extra):
        person = User(username=username, role=role, first_name="Дрилл", last_name=username, **extra)
        person.set_password("drill-password-1")
        person.save()
        return person

    admin = user("drill-admin", Role.ADMIN, is_staff=True, is_superuser=True)
    head = user("drill-head", Role.SALES_HEAD)
    manager = user(
        "drill-manager", Role.SALES_MANAGER, team=Team.objects.create(name="Д", head=head)
    )
    user("drill-cashier", Role.CASHIER)
    units = list(make_section(floors=4, per_floor=4).units.order_by("pk"))
    now = timezone.now()
    for n, unit in enumerate(units[:12]):
        client = Client.objects.create(last_name=f"Клиент{n}", first_name="Иван", manager=manager)
        ends = now + timedelta(seconds=8 + n) if n < 8 else now + timedelta(hours=1 + n)
        hold_create(unit=unit, client=client, manager=manager, by=admin, expires_at=ends)
    for n in range(6):
        Task.objects.create(
            title=f"Перезвонить {n}",
            due_at=now + timedelta(seconds=4 * n),
            assignee=manager,
            created_by=manager,
        )
    from kvartal.sales.tests.factories import make_deal

    # opened a week ago: a planned payment cannot fall due before the deal's date
    deal = make_deal(manager=manager, unit=units[13], schedule=False, at=now - timedelta(days=7))
    PaymentLine.objects.create(
        deal=deal, due_date=timezone.localdate() - timedelta(days=2), amount=deal.total_due,
        kind="lump_sum",
    )  # fmt: skip
    scheme = StageScheme.default()
    Stage.objects.filter(scheme=scheme, code="signed").update(needs_approval=True)
    print(f"drill data: {len(units[:12])} holds, 6 tasks, 1 overdue payment, 1 deal waiting")
