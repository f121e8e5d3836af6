"""Kvartal settings: one file, driven by environment variables.

Defaults suit the embedded mode (one office, SQLite, one process). Production sets
``KVARTAL_SECRET_KEY``, ``DATABASE_URL`` and ``KVARTAL_ALLOWED_HOSTS``.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
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
    "kvartal.core",
    "kvartal.accounts",
    "kvartal.inventory",
    "kvartal.clients",
    "kvartal.sales",
    "kvartal.analytics",
    "kvartal.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
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
LOGIN_REDIRECT_URL = "inventory:home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
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
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("KVARTAL_LOG_LEVEL", "WARNING")},
}

# Company branding for sheets and PDFs; an administrator edits it in the admin.
KVARTAL_COMPANY_NAME = env_str("KVARTAL_COMPANY_NAME", "")

# --- clients (personal data, lead API, task e-mails) ---
# Fernet key for passport data at rest. Unset: derived from SECRET_KEY (development only;
# ``check --deploy`` warns). Old keys, comma-separated, still decrypt after a rotation.
FIELD_ENCRYPTION_KEY = env_str("KVARTAL_FIELD_KEY")
FIELD_ENCRYPTION_OLD_KEYS = env_str("KVARTAL_FIELD_OLD_KEYS")
KVARTAL_CONSENT_VERSION = env_str("KVARTAL_CONSENT_VERSION", "1.0")
# POST /api/v1/leads: largest body in bytes, requests per client address per window.
LEAD_API_MAX_BODY = env_int("KVARTAL_LEAD_MAX_BODY", 16 * 1024)
LEAD_API_RATE = env_int("KVARTAL_LEAD_RATE", 30)
LEAD_API_WINDOW_SECONDS = env_int("KVARTAL_LEAD_WINDOW", 60)
# The lead API's rate limit counts in the default cache. Django's default (local memory) is
# per process: with N workers a site may post N times the limit. KVARTAL_CACHE=db shares
# the counters through the database (run ``manage.py createcachetable`` once after setting
# it). Redis is not offered: Django's RedisCache needs the ``redis`` package, not a
# dependency here.
if env_str("KVARTAL_CACHE") == "db":
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
# Django Ninja serves its API docs' scripts itself (no CDN) when it is an installed app.
INSTALLED_APPS += ["ninja"]
