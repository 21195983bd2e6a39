"""Django settings for running the real Weblate's machinery and memory code
against Dhakira (weblate.sh, test_weblate.py).

Weblate's own example settings, with what a throw-away run needs instead of a
production site: the PostgreSQL cluster weblate.sh starts (Weblate's
migrations support PostgreSQL and MySQL only), Django's in-process cache
instead of Redis (Weblate's machinery keeps its language lists, rate limits
and answers in it), Celery tasks run in process, and a data folder in the run's
temporary directory.

Environment (set by weblate.sh): WEBLATE_DB_PORT, WEBLATE_DB_NAME,
WEBLATE_DB_USER, WEBLATE_DATA_DIR.
"""
import os

from weblate.settings_example import *  # noqa: F403

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "127.0.0.1",
        "PORT": os.environ["WEBLATE_DB_PORT"],
        "NAME": os.environ.get("WEBLATE_DB_NAME", "weblate"),
        "USER": os.environ.get("WEBLATE_DB_USER", "weblate"),
        "PASSWORD": "",
    }
}
DATA_DIR = os.environ["WEBLATE_DATA_DIR"]
CACHE_DIR = os.path.join(DATA_DIR, "cache")
MEDIA_ROOT = os.path.join(DATA_DIR, "media")
STATIC_ROOT = os.path.join(DATA_DIR, "static")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "avatar": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "avatar"},
}
SECRET_KEY = "dhakira interop tests only, never a real site"  # noqa: S105
SITE_DOMAIN = "weblate.example.org"
OTP_WEBAUTHN_RP_NAME = SITE_DOMAIN
OTP_WEBAUTHN_RP_ID = SITE_DOMAIN
OTP_WEBAUTHN_ALLOWED_ORIGINS = [f"https://{SITE_DOMAIN}"]
# Only what these tests use: the services under test and Weblate's own memory
# (the others would want SDKs and version-control tools not installed here).
WEBLATE_MACHINERY = (
    "weblate.machinery.tmserver.TMServerTranslation",
    "weblate.machinery.mymemory.MyMemoryTranslation",
    "weblate.memory.machine.WeblateMemory",
)
VCS_BACKENDS = ("weblate.vcs.git.GitRepository",)
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = None
# Errors Weblate reports (report_error) go to the console, so a failure here
# shows Weblate's own message.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"weblate": {"handlers": ["console"], "level": "WARNING"}},
}
