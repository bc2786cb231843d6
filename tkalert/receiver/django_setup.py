"""Django, configured from receiver.conf (tkalert.receiver.config) instead of a settings module.

SQLite (the default): WAL so readers never block the writer, a busy timeout instead of "database is locked",
`BEGIN IMMEDIATE` for every transaction (Django's transaction_mode) so two writers queue at BEGIN rather than
deadlock on a lock upgrade, and synchronous=FULL because the raw file is deleted once its row is committed.
PostgreSQL: psycopg 3 from a postgresql:// URL. The receiver's own app, contenttypes/auth, and what the dashboard
adds (tkalert.receiver.web.settings: sessions, admin, templates, middleware).
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from tkalert.receiver.config import Database, ReceiverConfig

SQLITE_INIT = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON"
BUSY_TIMEOUT = 60  # seconds a SQLite writer waits for the lock


def database_settings(database: Database) -> dict:
    if database.engine == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(database.path),
                "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": BUSY_TIMEOUT, "init_command": SQLITE_INIT}}
    url = urlsplit(database.url)
    return {"ENGINE": "django.db.backends.postgresql", "NAME": unquote(url.path.lstrip("/")),
            "USER": unquote(url.username or ""), "PASSWORD": unquote(url.password or ""),
            "HOST": url.hostname or "", "PORT": str(url.port or ""), "CONN_MAX_AGE": None}


def django_settings(config: ReceiverConfig) -> dict:
    from tkalert.receiver.web.settings import WEB_APPS, web_settings

    return {
        "DATABASES": {"default": database_settings(config.database)},
        "INSTALLED_APPS": ["django.contrib.contenttypes", "django.contrib.auth", "tkalert.receiver", *WEB_APPS],
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "USE_TZ": True,
        "TIME_ZONE": "UTC",
        "TKALERT_RECEIVER": config,
        **web_settings(config),
    }


# Where the Debian package tkalert-receiver carries Django 5.2 and the modules it needs newer than bookworm's:
# first on the path for whatever starts Django (the command, the plugin, a WSGI server), before Debian's own.
PACKAGED_VENDOR = "/usr/share/tkalert-receiver/vendor"


def start_django(config: ReceiverConfig) -> None:
    """Configure and set up Django once per process (a second call with the same process is a no-op)."""
    import os
    import sys

    if os.path.isdir(PACKAGED_VENDOR) and PACKAGED_VENDOR not in sys.path:
        sys.path.insert(0, PACKAGED_VENDOR)
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(**django_settings(config))
        django.setup()


def receiver_config() -> ReceiverConfig:
    from django.conf import settings

    return settings.TKALERT_RECEIVER


def migrate(verbosity: int = 0) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=verbosity, interactive=False)
