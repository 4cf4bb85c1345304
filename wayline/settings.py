"""Wayline settings, read from the environment.

Embedded default: SQLite in var/ (WAL), in-memory channel layer, django-q2 ORM broker, the sandbox
mailbox. Scale profile: DATABASE_URL (PostgreSQL) and REDIS_URL (channels-redis).
"""

import os
import sys
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("WAYLINE_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def envbool(name, default):
    value = os.environ.get(name, default)
    if value not in ("True", "False"):
        raise ValueError(f"{name} must be True or False, not {value!r}")
    return value == "True"


def envint(name, default):
    return int(os.environ.get(name, default))


def envfloat(name, default):
    return float(os.environ.get(name, default))


def envchoice(name, default, choices):
    value = os.environ.get(name, default)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def envlist(name, default=""):
    """A comma-separated list: "10.0.0.0/8,192.168.1.0/24"."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key():
    """The SECRET_KEY from the environment, or one generated once and kept in var/ (never in git)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = VAR_DIR / "secret_key"
    if not path.exists():
        from django.utils.crypto import get_random_string

        path.write_text(get_random_string(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = envbool("DEBUG", "False")
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_q",
    "anymail",
    "wayline",
    "accounts",
    "journeys",
    "delivery",
    "editor",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wayline.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "wayline.urls"
ASGI_APPLICATION = "wayline.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "wayline" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# Database: SQLite in var/ with WAL by default, DATABASE_URL for PostgreSQL.
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "wayline.sqlite3",
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # A file, not memory: the live server thread, websocket consumers and qcluster worker
            # processes started by tests must all see the test database.
            "TEST": {"NAME": str(VAR_DIR / "test_wayline.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channels: in-memory layer (one process) by default, Redis at scale.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 reads with a 5 s socket timeout by default, as long as channels-redis's
            # blocking receive: every idle websocket would fail after 5 s (channels_redis#422).
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
                # Test processes run side by side (pytest-xdist) on one Redis: each its own groups.
                "prefix": os.environ.get("CHANNELS_PREFIX", "wayline") + os.environ.get("PYTEST_XDIST_WORKER", ""),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# django-q2 with the ORM broker: at-least-once delivery. Tasks are only kicks; state lives in
# our tables (see design.md).
Q_CLUSTER = {
    "name": "wayline",
    "orm": "default",
    "workers": envint("Q_WORKERS", 2),
    "timeout": 60,
    "retry": 90,
    "max_attempts": 3,
    "poll": 0.1,
    "save_limit": 200,
    "ack_failures": True,
    "catch_up": False,
    "sync": envbool("Q_SYNC", "False"),
    # django-q logs every task at INFO; the worker stays quiet unless something goes wrong.
    "log_level": os.environ.get("Q_LOG_LEVEL", "WARNING"),
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["accounts.auth.EmailBackend"]
PASSWORD_RESET_TIMEOUT = 3 * 24 * 3600
INVITATION_TTL_DAYS = envint("INVITATION_TTL_DAYS", 7)

# Login, password reset and invitation accept: (attempts, seconds) per scope, counted in a table
# shared by every web process (accounts.throttles). Failed logins count per account; every attempt
# counts per client address.
AUTH_THROTTLES = {
    "login_address": (30, 60),
    "login_account": (10, 15 * 60),
    "password_reset_address": (30, 60),
    "password_reset_email": (5, 60 * 60),
    "invitation_address": (30, 60),
    "invitation_token": (10, 15 * 60),
}
# How many proxies (load balancers) stand in front of the web processes and append to
# X-Forwarded-For. 0: the client is REMOTE_ADDR and X-Forwarded-For is ignored (anyone can send it).
TRUSTED_PROXIES = envint("TRUSTED_PROXIES", 0)

# Segment-compatible ingestion (/v1/): events per second per write key, counted over a fixed window.
INGEST_RATE_LIMIT = envint("INGEST_RATE_LIMIT", 10_000)
INGEST_RATE_WINDOW = envint("INGEST_RATE_WINDOW", 10)
# How /v1/ stores events on PostgreSQL: "copy" (COPY into a staging table, then one INSERT ...
# SELECT) or "values" (multi-row INSERT ... VALUES, the earlier loader, kept for bench/ingest.py).
INGEST_PG_LOAD = envchoice("INGEST_PG_LOAD", "copy", ("copy", "values"))

# Money in templates without a cart currency ({{ 19.9 | money }}): an ISO 4217 code.
WAYLINE_DEFAULT_CURRENCY = os.environ.get("WAYLINE_DEFAULT_CURRENCY", "USD")

# Live previews compile MJML with "mrml" (the Rust port: about 1 ms where the `mjml` package takes
# 20-30; only for sources it renders alike, see delivery.rendering.MRML_DIFFERS) or "mjml" (what
# saving and sending always use). bench/preview_browser.py runs both.
PREVIEW_MJML_COMPILER = envchoice("PREVIEW_MJML_COMPILER", "mrml", ("mrml", "mjml"))

# The journey engine (read through journeys/conf.py).
JOURNEYS_BATCH_SIZE = envint("JOURNEYS_BATCH_SIZE", 500)  # enrollments a worker claims at once
JOURNEYS_LEASE_SECONDS = envfloat("JOURNEYS_LEASE_SECONDS", 30)  # a claim's lease; then another worker takes over
JOURNEYS_KICKS = envchoice("JOURNEYS_KICKS", "on", ("on", "off"))  # off: nothing is enqueued (benchmarks, tests)
JOURNEYS_TRIGGER_SWEEP_SECONDS = envfloat("JOURNEYS_TRIGGER_SWEEP_SECONDS", 300)  # inactivity and date triggers
# A worker's copy of a workspace's saved segments is read again after this (customers/segments.py).
JOURNEYS_SEGMENT_CACHE_SECONDS = envfloat("JOURNEYS_SEGMENT_CACHE_SECONDS", 1.0)
JOURNEYS_SWEEP_CHUNK = envint("JOURNEYS_SWEEP_CHUNK", 1000)  # contacts a trigger sweep reads at once
JOURNEYS_MAX_TRIGGER_AGE_HOURS = envfloat("JOURNEYS_MAX_TRIGGER_AGE_HOURS", 24)  # older events start no journey
JOURNEYS_WEBHOOK_CONCURRENCY = envint("JOURNEYS_WEBHOOK_CONCURRENCY", 8)  # calls a worker makes at once
# Private networks webhooks may reach all the same (an internal CRM): "10.1.0.0/16,192.168.5.0/24".
JOURNEYS_WEBHOOK_ALLOWED_NETWORKS = envlist("JOURNEYS_WEBHOOK_ALLOWED_NETWORKS")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
STATICFILES_DIRS = [FRONTEND_DIST] if FRONTEND_DIST.exists() else []

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "SAMEORIGIN"

# HTTPS. All off for the embedded default (http://127.0.0.1); turn them on behind TLS.
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", "False")
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", "False")
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "False")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the load balancer's health check may come over plain HTTP
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "False")
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "False")
# A proxy that terminates TLS says so in X-Forwarded-Proto; trust it only when such a proxy is the
# only way in (it must overwrite the header a client sends).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if envbool("TRUST_X_FORWARDED_PROTO", "False") else None

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsWorkspaceMember"],
    "DEFAULT_PARSER_CLASSES": [
        "accounts.parsers.JSONObjectParser",  # a JSON object, nested at most 64 levels
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "accounts.schema.AutoSchema",  # documents the error answers too
    "EXCEPTION_HANDLER": "accounts.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "accounts.pagination.Pagination",  # limit/offset, at most 500 a page
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Wayline API",
    "DESCRIPTION": "Journeys, templates, contacts and delivery. Segment-compatible ingestion lives under /v1/.",
    "VERSION": "0.1.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Separate request and response components: write-only fields (a template's `mjml`) are not in
    # the answers, read-only ones (`id`) are not asked for.
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "JourneyStatusEnum": "journeys.models.Journey.Status",
        "MessageStatusEnum": "delivery.models.Message.Status",
        "InvitationStatusEnum": "accounts.models.Invitation.Status",
        "ImportStatusEnum": "journeys.models.ImportJob.Status",
        "SegmentKindEnum": "journeys.models.Segment.Kind",
        "BroadcastKindEnum": "journeys.models.Broadcast.Kind",
        "ImportKindEnum": "journeys.models.ImportJob.Kind",
        "EnrollmentStatusEnum": "journeys.models.Enrollment.Status",
    },
}

# Email: the sandbox mailbox stores every email in the database and shows it in the app.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "delivery.backends.SandboxBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "False")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Wayline <no-reply@wayline.local>")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "django-q": {"level": os.environ.get("Q_LOG_LEVEL", "WARNING")},
    },
}

TESTING = "pytest" in sys.modules
