"""Reports and exports read from a PostgreSQL replica when ``DATABASE_REPLICA_URL`` is set.

Only reads asked for by ``reading_replica()`` go there — the middleware below asks for the
GET requests of the report pages (``KVARTAL_REPLICA_NAMESPACES``) — and only for the business
apps' tables. Every write goes to the primary, and so does every read inside a transaction
on the primary (a sales service's reads under its locks), and every read of sign-in,
sessions, users, jobs and settings: a replica a second behind must not log anyone out.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import connections
from django.urls import Resolver404, resolve

REPLICA = "replica"
_wanted: ContextVar[bool] = ContextVar("kvartal_read_replica", default=False)

# The apps whose rows a report reads; anything else is read from the primary.
REPLICA_APPS = frozenset(
    {"inventory", "clients", "sales", "analytics", "pricing", "agencies", "feeds", "callcentre"}
)


@contextmanager
def reading_replica():
    token = _wanted.set(True)
    try:
        yield
    finally:
        _wanted.reset(token)


def replica_wanted() -> bool:
    return _wanted.get()


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if (
            _wanted.get()
            and REPLICA in settings.DATABASES
            and model._meta.app_label in REPLICA_APPS
            and not connections["default"].in_atomic_block
        ):
            return REPLICA
        return "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"


class ReplicaForReportsMiddleware:
    """GET and HEAD requests of the report pages and their exports read from the replica."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if REPLICA in settings.DATABASES and request.method in ("GET", "HEAD"):
            try:
                namespace = resolve(request.path_info).namespace
            except Resolver404:
                namespace = ""
            if namespace in getattr(settings, "KVARTAL_REPLICA_NAMESPACES", ("analytics",)):
                with reading_replica():
                    return self.get_response(request)
        return self.get_response(request)
