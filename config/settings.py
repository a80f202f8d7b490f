"""CivicGrid settings: everything comes from environment variables with safe development defaults.

DATABASE_URL    spatialite:///var/civicgrid.sqlite3 (default) or postgis://user:pw@host:5432/db
CELERY_BROKER_URL  unset → tasks run eagerly in-process (embedded demo); redis://127.0.0.1:6379/0
SECRET_KEY / SECRET_KEY_FILE, DEBUG, ALLOWED_HOSTS, MAP_BASEMAP, MAP_TIANDITU_KEY, MAP_TILE_URL
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()


def env_secret(name: str, default: str = "") -> str:
    """Read NAME, or the contents of the file named by NAME_FILE (for secrets in production)."""
    path = env.str(f"{name}_FILE", default="")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return env.str(name, default=default)


DEBUG = env.bool("DEBUG", default=True)
DEV_SECRET_KEY = "dev-only-insecure-key-change-me-in-production-0123456789"
SECRET_KEY = env_secret("SECRET_KEY", DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework_gis",
    "drf_spectacular",
    "leaflet",
    "grid",
    "accounts",
    "petitions",
    "mediation",
    "dashboard",
    "open311",
    "ledger",
    "api",
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]
# Django's widget templates, with select/option/input/textarea built in Python (issue #9).
FORM_RENDERER = "config.renderers.FastRenderer"

# --- Database -------------------------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"spatialite:///{VAR_DIR / 'civicgrid.sqlite3'}")
}
DATABASES["default"].setdefault("TEST", {})
if DATABASES["default"]["ENGINE"] == "django.contrib.gis.db.backends.spatialite":
    SPATIALITE_LIBRARY_PATH = env.str("SPATIALITE_LIBRARY_PATH", default="mod_spatialite")
    # A file, not memory, for test databases: parallel test workers (pytest-xdist) each get
    # their own copy by suffix (test_civicgrid.sqlite3_gw0, …).
    # The test file sits beside the database file and takes its name (test_<name>), so two
    # checkouts or runs with different DATABASE_URL files never share one.
    _db_file = Path(DATABASES["default"]["NAME"])
    DATABASES["default"]["TEST"].setdefault(
        "NAME", str(_db_file.with_name(f"test_{_db_file.name}"))
    )
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
IS_POSTGIS = DATABASES["default"]["ENGINE"] == "django.contrib.gis.db.backends.postgis"

# --- Read replica (optional): dashboard and report reads go there (config/routers.py) ----------
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db_url("DATABASE_REPLICA_URL")
    DATABASES["replica"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    # Test runs use the default test database for it, never the real replica.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["config.routers.ReplicaRouter"]

# --- Cache -------------------------------------------------------------------------------------
# Rate limits (case tracking, Open311 partners) and the dashboard layer cache live here. Without
# CACHE_URL each process has its own memory cache — right for the embedded demo, wrong for several
# gunicorn workers or web nodes, which must share one: CACHE_URL=redis://127.0.0.1:6379/1.
CACHE_URL = env.str("CACHE_URL", default="")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "civicgrid",
            "TIMEOUT": 300,
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "grid:login"
LOGIN_REDIRECT_URL = "/"

# Key of the blind index (keyed hash) over identity numbers and phones; set it in production.
PERSONAL_DATA_INDEX_KEY = env_secret("PERSONAL_DATA_INDEX_KEY", "dev-only-blind-index-key")

# --- Personal data encryption ----------------------------------------------------------------
# Identity numbers and phones are Fernet-encrypted at rest (accounts/fields.py). PERSONAL_DATA_KEYS
# (or the file named by PERSONAL_DATA_KEYS_FILE) holds comma- or newline-separated Fernet keys: the
# first encrypts, the others only decrypt (old keys during a rotation; `manage.py
# accounts_rotate_key` re-encrypts everything with the first). New key: `python -c "from
# cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`.
# Unset: a development key derived from SECRET_KEY — refused when DEBUG is off, as is the
# development blind-index key (identity numbers are few enough to brute-force an unkeyed hash).
import base64  # noqa: E402
import hashlib  # noqa: E402

PERSONAL_DATA_KEYS = [
    k.strip()
    for k in env_secret("PERSONAL_DATA_KEYS", "").replace("\n", ",").split(",")
    if k.strip()
]
if not DEBUG and not PERSONAL_DATA_KEYS:
    raise ImproperlyConfigured("PERSONAL_DATA_KEYS (or PERSONAL_DATA_KEYS_FILE) must be set.")
if not DEBUG and PERSONAL_DATA_INDEX_KEY == "dev-only-blind-index-key":
    raise ImproperlyConfigured("PERSONAL_DATA_INDEX_KEY (or its _FILE) must be set.")
PERSONAL_DATA_KEYS = PERSONAL_DATA_KEYS or [
    base64.urlsafe_b64encode(
        hashlib.sha256(f"civicgrid-personal-data:{SECRET_KEY}".encode()).digest()
    ).decode()
]
# --- end of personal data encryption ---------------------------------------------------------

# --- i18n: zh-hans is the default, English is available --------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media (all assets served locally: intranets have no CDN) ----------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))

# --- Spatial ---------------------------------------------------------------------------------
CIVICGRID_SRID = 4326  # one storage SRID; conversions happen at the edge
CIVICGRID_DISTRICT_CODE = env.str("CIVICGRID_DISTRICT_CODE", default="210204")
# Tolerance for "child within parent" checks (digitising noise), metres.
GRID_NESTING_TOLERANCE_M = env.float("GRID_NESTING_TOLERANCE_M", default=1.0)
# Overlaps/gaps smaller than this are noise, not findings (square metres).
GRID_AREA_TOLERANCE_M2 = env.float("GRID_AREA_TOLERANCE_M2", default=1.0)

# Basemap: "none" (plain background, for intranets), "tianditu" (needs MAP_TIANDITU_KEY) or "xyz"
# (MAP_TILE_URL, e.g. an intranet tile server).
MAP_BASEMAP = env.str("MAP_BASEMAP", default="none")
MAP_TIANDITU_KEY = env_secret("MAP_TIANDITU_KEY", "")
MAP_TILE_URL = env.str("MAP_TILE_URL", default="")
MAP_TILE_ATTRIBUTION = env.str("MAP_TILE_ATTRIBUTION", default="")

LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (38.905, 121.565),
    "DEFAULT_ZOOM": 13,
    "MIN_ZOOM": 3,
    "MAX_ZOOM": 19,
    "RESET_VIEW": False,
    "NO_GLOBALS": False,
    # Tiles are added by our own JS from MAP_* settings, so nothing is fetched unless configured.
    "TILES": [],
}

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Token first: its challenge makes "not signed in" a 401 (DRF answers 403 without one).
    # Session authentication keeps CSRF for the browser.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.ApiPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CivicGrid API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.postprocess",
    ],
}
# Idempotency-Key records are replayed for 24 hours, then swept (api.tasks, hourly).
IDEMPOTENCY_TTL = timedelta(hours=24)

# --- Celery ----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE = {
    # The official monthly report is frozen at 01:00 Beijing time on the 1st (SPEC §5).
    "dashboard-monthly-snapshot": {
        "task": "dashboard.tasks.monthly_snapshot_task",
        "schedule": crontab(minute=0, hour=1, day_of_month=1),
    },
    "api-idempotency-sweep": {
        "task": "api.tasks.idempotency_sweep_task",
        "schedule": crontab(minute=17),
    },
}

# --- Celery queues and beat --------------------------------------------------------------------
# Three named queues; config.celery.route_task picks one from the task's module (imports: ledger
# and boundary imports, reports: dashboard/report work, default: the rest). The broker is
# whatever CELERY_BROKER_URL names: redis://… or RabbitMQ's amqp://… — nothing else to change.
from kombu import Queue  # noqa: E402

CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [Queue(name, routing_key=name) for name in ("default", "imports", "reports")]
CELERY_TASK_ROUTES = ["config.celery.route_task"]
# Workers take one message at a time and acknowledge it after the task (CELERY_TASK_ACKS_LATE
# above): a worker killed mid-task leaves the message to be redelivered. On Redis that happens
# after the visibility timeout, which must outlast the longest task (a 100,000-row import).
CELERY_TASK_REJECT_ON_WORKER_LOST = True
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600}
# A web request that enqueues while the broker is down gives up after a few seconds (the case is
# saved, the sweep does the work later) instead of hanging the clerk's browser.
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
# A worker that starts before the broker keeps trying instead of exiting.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE.update(
    {
        # Reminders (due tomorrow) and escalations (overdue) — each once per deadline and due
        # date; also redoes side effects a broker outage lost. Beijing time (CELERY_TIMEZONE).
        "petitions-deadline-sweep": {
            "task": "petitions.tasks.deadline_sweep_task",
            "schedule": crontab(minute="*/15"),
            # After an outage, one sweep is enough: stale copies expire instead of piling up.
            "options": {"expires": 14 * 60},
        },
        # Cases without a cell located again; stuck ledger imports resumed.
        "petitions-consistency-sweep": {
            "task": "petitions.tasks.consistency_sweep_task",
            "schedule": crontab(minute=30, hour=2),
            "options": {"expires": 6 * 3600},
        },
    }
)

INSTALLED_APPS += ["notifications"]
# SMS goes through a pluggable sender (notifications/sms.py); the default only logs. A vendor's
# sender is a dotted path to an SmsSender subclass.
NOTIFICATIONS_SMS_SENDER = env.str(
    "NOTIFICATIONS_SMS_SENDER", default="notifications.sms.LoggingSmsSender"
)
# Absolute links in e-mails (the site's public address, no trailing slash).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# E-mail: printed on the console in development; SMTP once EMAIL_HOST is set (or DEBUG is off).
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default=(
        "django.core.mail.backends.smtp.EmailBackend"
        if env.str("EMAIL_HOST", default="") or not DEBUG
        else "django.core.mail.backends.console.EmailBackend"
    ),
)
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="CivicGrid <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# --- end of Celery queues and beat -------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "civicgrid": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    },
}

# Debian 12 ships GDAL 3.6, which cannot block file/network access from spatial reference strings.
# Boundary files are uploaded only by administrators; we accept that and say so in the README.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# --- Security hardening (SPEC §7) --------------------------------------------------------------
# DEBUG=false is production: the checks of `manage.py check --deploy` must all pass.
INSTALLED_APPS += ["axes", "csp"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "csp.middleware.CSPMiddleware",
)
# Model history of boundaries, users and grants (accounts/history.py): the middleware hands the
# request's user to the history rows.
INSTALLED_APPS += ["simple_history"]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "simple_history.middleware.HistoryRequestMiddleware",
)
MIDDLEWARE += [
    "accounts.middleware.SessionIdleMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into its page
]

# Login throttling (django-axes): 5 failures for one username from one address lock that pair
# out for 30 minutes. AXES_ENABLED=false only for load benchmarks.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Attempts refused during a lockout neither count nor extend it: 30 minutes from the 5th failure.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_DISABLE_ACCESS_LOG = True  # accounts.AuthLog is the login log
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout"
AXES_CLIENT_IP_CALLABLE = "accounts.audit.client_ip"
# Reverse proxies in front of the app whose X-Forwarded-For may be trusted (0: use REMOTE_ADDR).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Idle timeout: a session ends SESSION_IDLE_SECONDS after the last request. Rather than a write on
# every request (SESSION_SAVE_EVERY_REQUEST), accounts.middleware.SessionIdleMiddleware pushes the
# expiry back at most once per SESSION_REFRESH_SECONDS.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=1800)
SESSION_REFRESH_SECONDS = 60
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG:
    if SECRET_KEY == DEV_SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG=false")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
# Behind a TLS-terminating proxy, e.g. SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https
if env.str("SECURE_PROXY_SSL_HEADER", default=""):
    SECURE_PROXY_SSL_HEADER = tuple(env.list("SECURE_PROXY_SSL_HEADER"))

# `check --deploy` runs drf-spectacular's schema check: same-named choice fields of different
# models need their own enum names, or every collision is a warning.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    "PetitionStatusEnum": "petitions.models.Status",
    "PetitionSourceEnum": "petitions.models.Petition.Source",
    "PetitionOutcomeEnum": "petitions.models.Petition.Outcome",
    "DisputeStatusEnum": "mediation.models.DisputeStatus",
    "DisputeSourceEnum": "mediation.models.Dispute.Source",
    "MediationStatusEnum": "mediation.models.MediationStatus",
    "MediationSourceEnum": "mediation.models.MediationCase.Source",
}


def _tile_sources() -> list[str]:
    """Origins the map may load tiles from (MAP_BASEMAP); relative tile URLs are 'self'."""
    if MAP_BASEMAP == "tianditu" and MAP_TIANDITU_KEY:
        return ["https://*.tianditu.gov.cn"]
    if MAP_BASEMAP == "xyz" and "://" in MAP_TILE_URL:
        scheme, rest = MAP_TILE_URL.split("://", 1)
        host = rest.split("/", 1)[0].replace("{s}", "*")
        return [f"{scheme}://{host}"]
    return []


# Content-Security-Policy (django-csp 4): no inline script anywhere; the only inline <script> is
# django-leaflet's map loader, which carries the request's nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *_tile_sources()],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}
