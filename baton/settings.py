"""Django settings for Baton.

Everything deploy-specific comes from the environment:
- DATABASE_URL        (default: SQLite file under BATON_DATA_DIR)
- BATON_DATA_DIR      (default: ./var) — SQLite file, uploaded documents
- BATON_SECRET_KEY    (required in production; `baton check --deploy` refuses the dev key)
- BATON_DEBUG         ("1" for development)
- BATON_ALLOWED_HOSTS (comma-separated)
- BATON_LOOKUP_KEY    (required in production; keys the lookup hashes of ID card numbers)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
DATA_DIR = Path(os.environ.get("BATON_DATA_DIR", PROJECT_DIR / "var"))
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = os.environ.get("BATON_DEBUG", "") == "1"
DEV_SECRET_KEY = "dev-only-insecure-key-change-me"  # noqa: S105 — refused by check --deploy
SECRET_KEY = os.environ.get("BATON_SECRET_KEY") or DEV_SECRET_KEY

ALLOWED_HOSTS = [
    h for h in os.environ.get("BATON_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "baton.core",
    "baton.access",
    "baton.audit",
    "baton.org",
    "baton.handover",
    "baton.notify",
    "baton.integrations",
    "baton.compliance",
    "baton.imports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "baton.core.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "baton.core.middleware.UserPreferencesMiddleware",
    "baton.access.middleware.ApiCallAuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "baton.urls"
WSGI_APPLICATION = "baton.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "baton.core.context_processors.navigation",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'baton.sqlite3'}",
        conn_max_age=int(os.environ.get("BATON_DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server and the worker read while the other writes; IMMEDIATE makes
    # write transactions take the lock up front instead of failing half-way.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "access.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions: absolute 8-hour lifetime (a working day), gone when the browser closes.
SESSION_COOKIE_AGE = 8 * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if os.environ.get("BATON_HTTPS") == "1":
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# A strict Content-Security-Policy: only our own origin; scripts need the per-response nonce.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

# Login throttling: this many failures per username or per client IP within the window lock it.
BATON_LOGIN_MAX_FAILURES = int(os.environ.get("BATON_LOGIN_MAX_FAILURES", "5"))
BATON_LOGIN_WINDOW_SECONDS = int(os.environ.get("BATON_LOGIN_WINDOW_SECONDS", "900"))

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
_VENDOR = {
    "vendor/htmx": PROJECT_DIR / "node_modules" / "htmx.org" / "dist",
    "vendor/echarts": PROJECT_DIR / "node_modules" / "echarts" / "dist",
}
STATICFILES_DIRS: list[Path | tuple[str, Path]] = [
    BASE_DIR / "static",
    *((prefix, path) for prefix, path in _VENDOR.items() if path.is_dir()),
]
MEDIA_ROOT = DATA_DIR / "files"

# Handover documents: AES-256-GCM keys (docs/deploy.md). BATON_FILE_KEYS is JSON
# {"key-id": "<base64 32 bytes>"}; without it a development key is derived from SECRET_KEY.
BATON_FILE_KEYS: dict[str, str] = json.loads(os.environ.get("BATON_FILE_KEYS", "{}") or "{}")
BATON_FILE_KEY_CURRENT = os.environ.get("BATON_FILE_KEY_CURRENT", "")
# The key of the lookup hashes of ID card numbers (base64 of 32 bytes; `baton keys new` makes
# one). Unlike the file keys it never rotates: hashes must stay comparable across imports.
BATON_LOOKUP_KEY = os.environ.get("BATON_LOOKUP_KEY", "")
BATON_MAX_UPLOAD_BYTES = int(os.environ.get("BATON_MAX_UPLOAD_BYTES", str(50 * 1024 * 1024)))
# Imports: the largest file (2 GB less a byte) and row (1 MiB) accepted.
BATON_IMPORT_MAX_BYTES = int(os.environ.get("BATON_IMPORT_MAX_BYTES", str(2 * 1024**3 - 1)))
BATON_IMPORT_MAX_ROW_BYTES = int(os.environ.get("BATON_IMPORT_MAX_ROW_BYTES", str(1024 * 1024)))
# …and the most rows below a file's header (an XLSX worksheet holds at most 1,048,576 anyway).
BATON_IMPORT_MAX_ROWS = int(os.environ.get("BATON_IMPORT_MAX_ROWS", "10000000"))
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Storage for documents: the filesystem under BATON_DATA_DIR by default; an S3-compatible
# backend by setting BATON_STORAGE_BACKEND (e.g. storages.backends.s3.S3Storage) and its options.
STORAGES = {
    "default": {
        "BACKEND": os.environ.get(
            "BATON_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": json.loads(os.environ.get("BATON_STORAGE_OPTIONS", "{}") or "{}"),
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

TASKS = {
    "default": {
        "BACKEND": os.environ.get("BATON_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# Notifications (docs/notifications.md). Links in messages point here.
BATON_PUBLIC_URL = os.environ.get("BATON_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
BATON_MAIL_FROM = os.environ.get("BATON_MAIL_FROM", "Baton <baton@localhost>")
# Local hour from which the daily reminder plan runs (the worker sweeps hourly after it).
BATON_REMINDER_HOUR = int(os.environ.get("BATON_REMINDER_HOUR", "9"))
# A delivery left 'sending' this long (its worker died) is retried with the same idempotency key.
BATON_DELIVERY_SENDING_TIMEOUT = int(os.environ.get("BATON_DELIVERY_SENDING_TIMEOUT", "300"))
BATON_DELIVERY_MAX_ATTEMPTS = int(os.environ.get("BATON_DELIVERY_MAX_ATTEMPTS", "6"))
BATON_DELIVERY_BACKOFF_SECONDS = int(os.environ.get("BATON_DELIVERY_BACKOFF_SECONDS", "60"))
# Seconds between the worker's scheduler ticks (0 turns the scheduler off).
BATON_SCHEDULER_INTERVAL = float(os.environ.get("BATON_SCHEDULER_INTERVAL", "60"))

# Webhooks (docs/events.md): first retry after this many seconds, doubling, at most an hour.
BATON_WEBHOOK_BACKOFF_SECONDS = int(os.environ.get("BATON_WEBHOOK_BACKOFF_SECONDS", "10"))

# Access revocation (docs/integrations.md): first retry after this many seconds, doubling, at
# most an hour; a revocation left 'running' this long (its worker died) is taken over.
BATON_REVOCATION_BACKOFF_SECONDS = int(os.environ.get("BATON_REVOCATION_BACKOFF_SECONDS", "60"))
BATON_REVOCATION_RUNNING_TIMEOUT = int(os.environ.get("BATON_REVOCATION_RUNNING_TIMEOUT", "600"))

# Seconds after which a worker that stopped sending heartbeats is reported as down by /healthz.
BATON_WORKER_STALE_SECONDS = 60

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("BATON_LOG_LEVEL", "WARNING")},
}
