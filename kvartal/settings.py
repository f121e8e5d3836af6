"""Kvartal settings: one file, driven by environment variables.

Defaults suit the embedded mode (one office, SQLite, one process). Production sets
``KVARTAL_SECRET_KEY``, ``DATABASE_URL`` and ``KVARTAL_ALLOWED_HOSTS``.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("KVARTAL_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _secret_key() -> str:
    """The key from the environment, else one generated once and kept in var/."""
    if key := env_str("KVARTAL_SECRET_KEY"):
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("KVARTAL_DEBUG")
ALLOWED_HOSTS = env_str("KVARTAL_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in env_str("KVARTAL_CSRF_TRUSTED_ORIGINS").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "kvartal.core",
    "kvartal.accounts",
    "kvartal.inventory",
    "kvartal.clients",
    "kvartal.sales",
    "kvartal.analytics",
    # The channel and platform apps; each owns its models, urls and tests.
    "kvartal.audit",
    "kvartal.ops",
    "kvartal.pricing",
    "kvartal.agencies",
    "kvartal.documents",
    "kvartal.showcase",
    "kvartal.feeds",
    "kvartal.callcentre",
    "kvartal.api",
    "kvartal.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's AuthenticationMiddleware, the user read with the session (accounts.sessions).
    "kvartal.accounts.middleware.SessionUserMiddleware",
    "kvartal.core.middleware.RefuseNullCharactersMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "kvartal.audit.context.AuditContextMiddleware",
    # Idle timeout, the session list, the 2FA gate, no-store on signed-in pages.
    "kvartal.accounts.middleware.AccountGuardMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it answers a locked-out sign-in with its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kvartal.urls"
WSGI_APPLICATION = "kvartal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kvartal.accounts.context_processors.kvartal",
                "csp.context_processors.nonce",
            ],
        },
    }
]

# SQLite by default (WAL, IMMEDIATE transactions so writers queue instead of failing,
# a busy timeout); PostgreSQL when DATABASE_URL is set.
if database_url := env_str("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(database_url, conn_max_age=60)}
    # PostgreSQL's JIT compiler spends 1–4 s compiling the reports' grouped queries and
    # saves nothing on queries of this size; KVARTAL_PG_JIT=1 turns it back on.
    if DATABASES["default"]["ENGINE"].endswith("postgresql") and not env_bool("KVARTAL_PG_JIT"):
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("KVARTAL_SQLITE_PATH", str(VAR_DIR / "kvartal.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA foreign_keys=ON; PRAGMA cache_size=-64000;"
                ),
            },
            # Tests use a file, as the product does: concurrent connections (the race test)
            # behave as in production, unlike a shared in-memory database. The process id
            # keeps parallel runs apart; Django deletes the file at the end.
            "TEST": {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:start"  # each role's own start page (accounts/start.py)
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "ru"
# The switcher shows each language as its own speakers write it (core/templatetags/kvartal.py).
LANGUAGES = [("ru", _("Russian")), ("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Per-language number formats where Django's own do not fit (kvartal/formats/zh_Hans).
FORMAT_MODULE_PATH = ["kvartal.formats"]
TIME_ZONE = env_str("KVARTAL_TIME_ZONE", "Europe/Moscow")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("KVARTAL_MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Every stored upload (plans, layouts, photos, the logo, templates, imports) is refused above
# this size and checked by content (kvartal.core.uploads). gunicorn sets no body limit: a
# reverse proxy in front should cap bodies a little above it (client_max_body_size 25m).
KVARTAL_UPLOAD_MAX_MB = env_int("KVARTAL_UPLOAD_MAX_MB", 20)
# Objects allocated between two runs of the garbage collector's first generation (Python's own
# default is 700; 0 keeps it): see kvartal.core.apps.
KVARTAL_GC_THRESHOLD = env_int("KVARTAL_GC_THRESHOLD", 10_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- sign-in and sessions (issue 12 §2) ---
# django-axes first: it refuses a locked-out account or address before the password is
# checked. After KVARTAL_LOGIN_FAILURES wrong passwords for one login, or from one address,
# that login (or address) is refused for KVARTAL_LOGIN_LOCKOUT_MINUTES; an administrator
# lifts it earlier on the audit log's "Sign-in lockouts" page.
AUTHENTICATION_BACKENDS = [
    # axes' and Django's, the request's user read through a prebuilt statement
    "kvartal.accounts.backends.LockoutBackend",  # refuses a locked-out login; authenticates nobody
    "kvartal.accounts.backends.UserBackend",
]
AXES_FAILURE_LIMIT = env_int("KVARTAL_LOGIN_FAILURES", 5)
AXES_COOLOFF_TIME = env_int("KVARTAL_LOGIN_LOCKOUT_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "kvartal.core.net.client_address"
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_VERBOSE = False
# Two-factor sign-in (TOTP with recovery codes, django-otp): required for these roles
# (comma-separated role codes); anyone else may enrol on "My security".
KVARTAL_2FA_ROLES = frozenset(
    r.strip() for r in env_str("KVARTAL_2FA_ROLES", "admin,director").split(",") if r.strip()
)
OTP_TOTP_ISSUER = env_str("KVARTAL_COMPANY_NAME", "") or "Kvartal"
# The admin shows neither authenticator keys nor (digests of) recovery codes.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Signed out after this many minutes without a request (besides the absolute session age).
KVARTAL_IDLE_MINUTES = env_int("KVARTAL_IDLE_MINUTES", 30)
# Demo users (known password) only on request (make run sets it) and never in production.
KVARTAL_DEMO = env_bool("KVARTAL_DEMO") and not env_bool("KVARTAL_HTTPS")

# Sessions in the database (with Redis: cached_db, below), read through a prebuilt statement.
SESSION_ENGINE = "kvartal.accounts.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("KVARTAL_SESSION_AGE", 12 * 3600)
SESSION_COOKIE_SECURE = env_bool("KVARTAL_HTTPS")
CSRF_COOKIE_SECURE = env_bool("KVARTAL_HTTPS")
SECURE_SSL_REDIRECT = env_bool("KVARTAL_HTTPS")
SECURE_HSTS_SECONDS = 31536000 if env_bool("KVARTAL_HTTPS") else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("KVARTAL_HTTPS")
SECURE_HSTS_PRELOAD = env_bool("KVARTAL_HTTPS")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("KVARTAL_HTTPS") else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# A strict Content-Security-Policy on every response (django-csp): scripts and styles only
# from our own static files, no inline <script>/<style>, no on*= handlers, no style="…"
# attributes. Behaviour is declared with data attributes (static/kvartal/kvartal.js). Where
# an inline block is truly unavoidable, give it nonce="{{ request.csp_nonce }}": the nonce
# is added to the header only on the pages that read it. Uploads get a stricter one still
# (sandbox; see inventory's media view).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("KVARTAL_LOG_LEVEL", "WARNING")},
}

# Company branding for sheets and PDFs; an administrator edits it in the admin.
KVARTAL_COMPANY_NAME = env_str("KVARTAL_COMPANY_NAME", "")
KVARTAL_IMPORT_MAX_BYTES = env_int("KVARTAL_IMPORT_MAX_MB", 20) * 1024 * 1024

# --- clients (personal data, lead API, task e-mails) ---
# Fernet key for passport data at rest. Unset: derived from SECRET_KEY (development only;
# ``check --deploy`` warns). Old keys, comma-separated, still decrypt after a rotation.
FIELD_ENCRYPTION_KEY = env_str("KVARTAL_FIELD_KEY")
FIELD_ENCRYPTION_OLD_KEYS = env_str("KVARTAL_FIELD_OLD_KEYS")
KVARTAL_CONSENT_VERSION = env_str("KVARTAL_CONSENT_VERSION", "1.0")
# POST /api/v1/leads: largest body in bytes, requests per client address per window.
# The reverse proxies in front of Kvartal (addresses or networks, comma separated): behind
# them the client's address is read from X-Forwarded-For (kvartal.core.net.client_address),
# for the lead API's limit, sign-in throttling and the audit log. Empty: REMOTE_ADDR is it.
KVARTAL_TRUSTED_PROXIES = env_str("KVARTAL_TRUSTED_PROXIES", "")
# Webhooks: seconds to wait for a receiver; failures in a row before it is switched off.
KVARTAL_WEBHOOK_TIMEOUT = env_int("KVARTAL_WEBHOOK_TIMEOUT", 10)
KVARTAL_WEBHOOK_MAX_FAILURES = env_int("KVARTAL_WEBHOOK_MAX_FAILURES", 10)
LEAD_API_MAX_BODY = env_int("KVARTAL_LEAD_MAX_BODY", 16 * 1024)
LEAD_API_RATE = env_int("KVARTAL_LEAD_RATE", 30)
LEAD_API_WINDOW_SECONDS = env_int("KVARTAL_LEAD_WINDOW", 60)
# The shared cache: the lead API's rate limit, sign-in throttling and the dashboard count in
# it, so every worker process and every server must see the same one. The database cache by
# default (its table is made by a migration, nothing else to run); KVARTAL_CACHE=redis for
# many servers (KVARTAL_CACHE_URL, default Redis database 1 on this machine); "locmem" only
# for a single process.
KVARTAL_CACHE = env_str("KVARTAL_CACHE", "db")
if KVARTAL_CACHE == "redis":
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env_str("KVARTAL_CACHE_URL", "redis://127.0.0.1:6379/1"),
        }
    }
elif KVARTAL_CACHE == "locmem":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "kvartal_cache",
        }
    }
# Task reminders go by e-mail too when an SMTP host is configured.
KVARTAL_SMTP = bool(env_str("KVARTAL_EMAIL_HOST"))
if KVARTAL_SMTP:
    EMAIL_HOST = env_str("KVARTAL_EMAIL_HOST")
    EMAIL_PORT = env_int("KVARTAL_EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("KVARTAL_EMAIL_USER")
    EMAIL_HOST_PASSWORD = env_str("KVARTAL_EMAIL_PASSWORD")
    EMAIL_USE_TLS = env_bool("KVARTAL_EMAIL_TLS", True)
    DEFAULT_FROM_EMAIL = env_str("KVARTAL_EMAIL_FROM", "kvartal@localhost")
# --- background jobs: Django's Tasks API (the django-tasks backport) ---
# The database queue by default (SQLite or PostgreSQL, nothing else to run; ``manage.py
# db_worker`` works it off); KVARTAL_TASKS=rq moves it to Redis (``manage.py rqworker``).
# KVARTAL_TASKS=immediate runs each job at once in the process that enqueued it (tests).
KVARTAL_REDIS_URL = env_str("KVARTAL_REDIS_URL", "redis://127.0.0.1:6379/0")
_tasks = env_str("KVARTAL_TASKS", "db")
if _tasks == "rq":
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    RQ_QUEUES = {"default": {"URL": KVARTAL_REDIS_URL}}
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
elif _tasks == "immediate":
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Periodic jobs (kvartal.ops): ``manage.py ops_scheduler`` claims each period in the database
# and enqueues it, so any number of servers may run a scheduler. KVARTAL_PERIODIC overrides
# periods in seconds, e.g. "holds-expire=30,backup=3600".
KVARTAL_PERIODIC = env_str("KVARTAL_PERIODIC")

# Notifications (kvartal.ops): warnings this many hours before a hold ends; overdue payments
# are told once each, looking back this many days (a first run does not replay history).
KVARTAL_HOLD_WARNINGS = env_str("KVARTAL_HOLD_WARNINGS", "24,2")
KVARTAL_OVERDUE_LOOKBACK_DAYS = env_int("KVARTAL_OVERDUE_LOOKBACK_DAYS", 30)

# Many servers (kvartal.ops): sessions follow the cache to Redis — ``cached_db`` reads them
# from Redis and keeps them in the database as well, so ending a user's sessions still finds
# every one of them. Reports and exports read from a PostgreSQL replica when
# DATABASE_REPLICA_URL is set (kvartal.ops.routers; writes and transactions stay on the
# primary).
if KVARTAL_CACHE == "redis":
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
if replica_url := env_str("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(replica_url, conn_max_age=60)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    if not env_bool("KVARTAL_PG_JIT"):
        DATABASES["replica"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DATABASE_ROUTERS = ["kvartal.ops.routers.ReplicaRouter"]
MIDDLEWARE += ["kvartal.ops.routers.ReplicaForReportsMiddleware"]
KVARTAL_REPLICA_NAMESPACES = ("analytics",)

# Backups (kvartal.ops): ``manage.py backup`` / ``restore``; the job queue runs one daily at
# KVARTAL_BACKUP_AT (company time). Sealed with KVARTAL_BACKUP_KEY (32 bytes, URL-safe
# base64: ``manage.py backup --new-key``); keep it apart from the backups.
KVARTAL_BACKUP_DIR = Path(env_str("KVARTAL_BACKUP_DIR", str(VAR_DIR / "backups")))
KVARTAL_BACKUP_KEY = env_str("KVARTAL_BACKUP_KEY")
KVARTAL_BACKUP_AT = env_str("KVARTAL_BACKUP_AT", "03:30")
KVARTAL_BACKUP_DAILY = env_int("KVARTAL_BACKUP_DAILY", 7)
KVARTAL_BACKUP_WEEKLY = env_int("KVARTAL_BACKUP_WEEKLY", 4)
KVARTAL_BACKUP_MONTHLY = env_int("KVARTAL_BACKUP_MONTHLY", 12)

# Django Ninja serves its API docs' scripts itself (no CDN) when it is an installed app.
INSTALLED_APPS += ["ninja"]

# The public address of this server, e.g. https://crm.example.ru — the one setting for every
# absolute link: image links in listing feeds (unset: http://127.0.0.1:8000, which the feed's
# health report flags), the link under a notice sent by e-mail (unset: none) and the
# showcase's canonical URLs and sitemap (unset: the address of the request).
# KVARTAL_SITE_URL and KVARTAL_SHOWCASE_URL are deprecated names of it, read here only when
# KVARTAL_PUBLIC_URL is not set.
PUBLIC_URL_ALIASES = ("KVARTAL_SITE_URL", "KVARTAL_SHOWCASE_URL")


def public_url_from_env() -> str:
    """KVARTAL_PUBLIC_URL, else the first deprecated alias set, without a trailing slash."""
    for name in ("KVARTAL_PUBLIC_URL", *PUBLIC_URL_ALIASES):
        if value := env_str(name).strip():
            return value.rstrip("/")
    return ""


KVARTAL_PUBLIC_URL = public_url_from_env()

# Listing feeds: where built feeds are kept, how soon after a change a feed is rebuilt and how
# old it may get.
KVARTAL_FEEDS_DIR = Path(env_str("KVARTAL_FEEDS_DIR", str(VAR_DIR / "feeds")))
KVARTAL_FEEDS_DEBOUNCE = env_int("KVARTAL_FEEDS_DEBOUNCE", 60)
KVARTAL_FEEDS_MAX_AGE = env_int("KVARTAL_FEEDS_MAX_AGE", 6 * 3600)

# --- the buyer's showcase ---
# One-time codes before an online booking: the log (and SHOWCASE_SMS_EMAIL if set) by
# default; ``kvartal.showcase.sms.HttpBackend`` posts them to KVARTAL_SMS_URL.
SHOWCASE_SMS_BACKEND = env_str("KVARTAL_SMS_BACKEND", "kvartal.showcase.sms.LogBackend")
SHOWCASE_SMS_URL = env_str("KVARTAL_SMS_URL")
SHOWCASE_SMS_TOKEN = env_str("KVARTAL_SMS_TOKEN")
SHOWCASE_SMS_EMAIL = env_str("KVARTAL_SMS_EMAIL")
# Spam protection of the request forms: the least seconds between showing a form and sending
# it; requests (and codes) per address per window, counted in the default cache.
SHOWCASE_FORM_MIN_SECONDS = env_int("KVARTAL_FORM_MIN_SECONDS", 3)
SHOWCASE_REQUEST_RATE = env_int("KVARTAL_REQUEST_RATE", 5)
SHOWCASE_REQUEST_WINDOW = env_int("KVARTAL_REQUEST_WINDOW", 600)
