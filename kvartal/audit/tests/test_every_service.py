"""Every service that writes leaves an audit row: this walks the services.

A service is a public function of a ``kvartal.<app>.services`` module (or package). It writes
when it is atomic or its body writes through the ORM. Each such service must carry
``@audit.service`` (which records one row per successful call: see test_service_rows.py) or
be named below with the reason it needs none.
"""

import ast
import functools
import importlib
import inspect
import pkgutil

import pytest
from django.apps import apps

WRITES = (
    ".save(",
    ".create(",
    ".update(",
    ".delete(",
    "bulk_create(",
    "bulk_update(",
    "get_or_create(",
    "update_or_create(",
)

# Writers that need no row of their own, and why.
EXEMPT = {
    # accounts sits below the audit log and may not import it
    "kvartal.accounts.services.notices_mark_read": "one's own notices marked read",
    "kvartal.documents.services.active_template": "installs the shipped template once",
    "kvartal.accounts.services.notice_send": "an in-app notice to one user: no business data",
    "kvartal.callcentre.services.live_push": "the live panel's event stream, not data",
    "kvartal.callcentre.services.live_prune": "drops expired live-panel events",
    "kvartal.callcentre.services.summary_refresh": "a generated summary (derived data)",
    "kvartal.showcase.services.view_record": "a site visitor's view count",
    "kvartal.showcase.services.visitor_first_touch": "a site visitor's first UTM tags",
    "kvartal.showcase.services.favourite_toggle": "a site visitor's favourites",
    "kvartal.showcase.services.compare_toggle": "a site visitor's comparison list",
    "kvartal.showcase.services.search_save": "a site visitor's saved search",
    "kvartal.showcase.services.search_delete": "a site visitor's saved search",
    "kvartal.showcase.services.phone_code_send": "a one-time SMS code (not business data)",
    "kvartal.showcase.services.code_check": "checks a one-time SMS code",
    "kvartal.feeds.services.feed_ensure_all": "creates missing feed rows at start",
    "kvartal.feeds.services.feed_build": "writes the generated feed files (derived data)",
    "kvartal.clients.services.leads.round_robin_next": "moves the duty pointer only",
    "kvartal.sales.services.clients.erase_client_sales": "part of client_erase (audited)",
    "kvartal.sales.services.clients.merge_client_sales": "part of client_merge (audited)",
    "kvartal.sales.services.clients.redact_status_reasons": "part of client_erase (audited)",
    "kvartal.callcentre.services.erase_client_calls": "part of client_erase (audited)",
    "kvartal.callcentre.services.merge_client_calls": "part of client_merge (audited)",
    "kvartal.agencies.services.erase_client_fixations": "part of client_erase (audited)",
    "kvartal.agencies.services.merge_client_fixations": "part of client_merge (audited)",
    "kvartal.showcase.services.erase_client_visitors": "part of client_erase (audited)",
}


def service_modules():
    for config in apps.get_app_configs():
        if not config.name.startswith("kvartal."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.services")
        except ModuleNotFoundError:
            continue
        yield module
        if hasattr(module, "__path__"):
            for info in pkgutil.iter_modules(module.__path__):
                yield importlib.import_module(f"{module.__name__}.{info.name}")


@functools.cache
def writing_services():
    found = {}
    for module in service_modules():
        for name, func in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(func):
                continue
            if func.__module__ != module.__name__:
                continue  # imported from elsewhere: judged where it is defined
            source = inspect.getsource(inspect.unwrap(func))
            tree = ast.parse(source.lstrip())
            decorators = [ast.unparse(d) for d in tree.body[0].decorator_list]
            atomic = any("atomic" in d for d in decorators)
            if atomic or any(w in source for w in WRITES):
                found[f"{module.__name__}.{name}"] = func
    return found


def test_the_walk_finds_the_services():
    names = set(writing_services())
    for known in (
        "kvartal.inventory.services.unit_set_price",
        "kvartal.sales.services.holds.hold_create",
        "kvartal.clients.services.clients.client_create",
    ):
        assert known in names


@pytest.mark.parametrize("path", sorted(writing_services()))
def test_every_writing_service_is_audited(path):
    func = writing_services()[path]
    if path in EXEMPT:
        assert not getattr(func, "audited", False), "audited now: take it off the exempt list"
        return
    assert getattr(func, "audited", False), f"{path} writes but leaves no audit row"


def test_the_exempt_list_names_only_real_services():
    assert set(EXEMPT) <= set(writing_services())
