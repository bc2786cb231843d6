"""The Django settings the dashboard adds to the receiver's (tkalert.receiver.django_setup builds the rest).

Every view needs a login (Django's LoginRequiredMiddleware: a view opts out by name, with `login_not_required`,
so a new page cannot forget it); CSRF on every form; sessions end `web_session` after the last request and when
the browser closes; cookies are marked secure whenever a browser reaches us over TLS (web_tls on or proxy).
The session secret is a file in state_dir made once (0600), so every process of one receiver signs alike.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECRET_FILE = "web-secret"
WEB_APPS = ["django.contrib.sessions", "django.contrib.messages", "django.contrib.admin",
            "django.contrib.staticfiles"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
CONTEXT_PROCESSORS = ["django.template.context_processors.request", "django.contrib.auth.context_processors.auth",
                      "django.contrib.messages.context_processors.messages",
                      "tkalert.receiver.web.roles.role_context"]


def web_settings(config) -> dict:
    web = config.web
    return {
        "ROOT_URLCONF": "tkalert.receiver.web.urls",
        "MIDDLEWARE": MIDDLEWARE,
        "TEMPLATES": [{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [HERE / "templates"],
                       "APP_DIRS": True, "OPTIONS": {"context_processors": CONTEXT_PROCESSORS}}],
        "STATIC_URL": "/static/",
        "STATICFILES_DIRS": [HERE / "static"],
        "LOGIN_URL": "login",
        "LOGIN_REDIRECT_URL": "overview",
        "LOGOUT_REDIRECT_URL": "login",
        # the dashboard builds no absolute URL from the Host header (no password-reset mails), so any name will do
        "ALLOWED_HOSTS": ["*"],
        "SESSION_COOKIE_AGE": int(web.session),
        "SESSION_SAVE_EVERY_REQUEST": True,
        "SESSION_EXPIRE_AT_BROWSER_CLOSE": True,
        "SESSION_COOKIE_NAME": "tkalert_session",
        "SESSION_COOKIE_SECURE": web.secure,
        "CSRF_COOKIE_SECURE": web.secure,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https") if web.tls == "proxy" else None,
        "SECURE_REFERRER_POLICY": "same-origin",
        "X_FRAME_OPTIONS": "DENY",
        "AUTH_PASSWORD_VALIDATORS": [{"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
                                      "OPTIONS": {"min_length": 10}}],
        "SECRET_KEY": secret_key(config.state_dir),
    }


def secret_key(state_dir: Path) -> str:
    """The receiver's session secret, made on first use; a process that can neither read nor make it (a command
    run as another user) gets a throwaway one: it serves no sessions."""
    path = Path(state_dir) / SECRET_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    except OSError:
        return "throwaway-" + secrets.token_urlsafe(40)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    except OSError:
        return "throwaway-" + secrets.token_urlsafe(40)
    value = secrets.token_urlsafe(50)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return value
