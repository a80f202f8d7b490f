"""CivicGrid settings: everything comes from environment variables with safe development defaults.

DATABASE_URL    spatialite:///var/civicgrid.sqlite3 (default) or postgis://user:pw@host:5432/db
CELERY_BROKER_URL  unset → tasks run eagerly in-process (embedded demo); redis://127.0.0.1:6379/0
SECRET_KEY / SECRET_KEY_FILE, DEBUG, ALLOWED_HOSTS, MAP_BASEMAP, MAP_TIANDITU_KEY, MAP_TILE_URL
"""

from pathlib import Path

import environ
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
SECRET_KEY = env_secret("SECRET_KEY", "dev-only-insecure-key-change-me-in-production-0123456789")
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

# --- Database -------------------------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"spatialite:///{VAR_DIR / 'civicgrid.sqlite3'}")
}
DATABASES["default"].setdefault("TEST", {})
if DATABASES["default"]["ENGINE"] == "django.contrib.gis.db.backends.spatialite":
    SPATIALITE_LIBRARY_PATH = env.str("SPATIALITE_LIBRARY_PATH", default="mod_spatialite")
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
IS_POSTGIS = DATABASES["default"]["ENGINE"] == "django.contrib.gis.db.backends.postgis"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "grid:login"
LOGIN_REDIRECT_URL = "/"

# Key of the blind index (keyed hash) over identity numbers and phones; set it in production.
PERSONAL_DATA_INDEX_KEY = env_secret("PERSONAL_DATA_INDEX_KEY", "dev-only-blind-index-key")

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
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CivicGrid API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Celery ----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

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
