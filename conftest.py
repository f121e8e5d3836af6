"""Personas shared by every test: who is acting, named as the business names them."""

import os
import shutil

import pytest

from kvartal.accounts.models import Role
from kvartal.testing import browser_sign_in, make_user


@pytest.fixture
def admin_user(db):
    return make_user(Role.ADMIN, username="admin")


@pytest.fixture
def director(db):
    return make_user(Role.DIRECTOR, username="director")


@pytest.fixture
def sales_head(db):
    return make_user(Role.SALES_HEAD, username="head")


@pytest.fixture
def manager(db):
    return make_user(Role.SALES_MANAGER, username="manager")


@pytest.fixture
def other_manager(db):
    return make_user(Role.SALES_MANAGER, username="other-manager")


@pytest.fixture
def keeper(db):
    return make_user(Role.INVENTORY_KEEPER, username="keeper")


@pytest.fixture
def persona(request, db):
    """Parametrise with a role name (or "anonymous") to get that persona (or None)."""
    if request.param == "anonymous":
        return None
    return make_user(request.param, username=f"p-{request.param}")


@pytest.fixture(scope="session", autouse=True)
def _presets_back_after_a_flush():
    """A transactional test (browser, races) ends by flushing every table, which drops what
    the data migrations installed: deal flows, hold terms, lead channels. Django's flush then
    sends ``post_migrate``; on it they go back, so the test after, in whatever order and
    process, finds them as the migrations left them."""
    from django.db.models.signals import post_migrate

    from kvartal.clients.presets import install as install_channels
    from kvartal.sales.presets import install as install_sales

    installers = {"sales": install_sales, "clients": install_channels}

    def reinstall(sender, using="default", **kwargs):
        if sender.label in installers and using == "default":  # where the installers write
            installers[sender.label]()

    post_migrate.connect(reinstall, weak=False, dispatch_uid="tests-presets-back")
    yield
    post_migrate.disconnect(dispatch_uid="tests-presets-back")


@pytest.fixture(autouse=True)
def _no_second_factor_by_default(settings):
    """Administrators and directors must sign in with a second factor (KVARTAL_2FA_ROLES);
    tests sign personas in with ``force_login`` and would all meet the code page. The
    two-factor tests (accounts/tests/test_sign_in.py) set the roles back."""
    settings.KVARTAL_2FA_ROLES = frozenset()


@pytest.fixture(autouse=True)
def _deals_owing_kept(request):
    """After every test on the database (rolled back at its end), each active deal's
    ``owes_from`` is what its schedule, payments and total give (``sales.owing``): a write
    that sends no signal (``bulk_create``, ``update``) and forgets ``owing.keep`` fails here,
    whichever test makes it."""
    marker = request.node.get_closest_marker("django_db")
    names = request.fixturenames
    transactional = "transactional_db" in names or (
        marker is not None and marker.kwargs.get("transaction")
    )
    if transactional or ("db" not in names and marker is None):
        yield
        return
    request.getfixturevalue("db")
    yield
    from django.db import DatabaseError

    from kvartal.sales import owing
    from kvartal.sales.models import Deal

    try:
        ids = list(Deal.objects.filter(is_active=True).values_list("pk", flat=True)[:900])
        wrong = {pk: pair for pk, pair in owing.computed(ids).items() if pair[0] != pair[1]}
    except DatabaseError:  # a test that took the database away: nothing to read
        return
    assert not wrong, f"owes_from (stored, from the rows) not kept: {wrong}"


@pytest.fixture(autouse=True)
def _sales_settings_read_afresh():
    """``SalesSettings.current()`` is remembered per process; each test has its own data."""
    from kvartal.sales.models import SalesSettings

    SalesSettings.forget()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Hashing with PBKDF2 would make every persona cost ~100 ms; tests need no such strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """Tests do not run collectstatic; serve static files straight from the source folders."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _jobs_run_at_once(settings):
    """Jobs run in the test's own process as soon as they are enqueued (after commit: use
    ``django_capture_on_commit_callbacks(execute=True)``); the worker tests choose their own
    backend."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _english(settings):
    """Tests read messages in English (the source language); test_i18n checks Russian."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


# --- browser tests: Playwright driving Debian's Chromium ----------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # still synchronous, so Django's async-safety guard must stand aside here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, locale="en-US", viewport={"width": 1400, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def sign_in(page):
    """Sign in through the real login form."""

    def do(user):
        browser_sign_in(page, user)
        return page

    return do


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path):
    """Uploaded and generated files of a test (media, backups, feeds) go to its own folder,
    not to var/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.KVARTAL_BACKUP_DIR = tmp_path / "backups"
    settings.KVARTAL_FEEDS_DIR = tmp_path / "feeds"
