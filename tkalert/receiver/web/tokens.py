"""API tokens: a secret shown once when made, kept only as its SHA-256, tied to a user whose role it carries.

A token is 32 random bytes (url-safe base64 behind a `tka_` prefix that secret scanners can match), so a plain
SHA-256 is enough to store it: there is nothing to guess that a slow hash would protect. The model is the
receiver app's (label `receiver`), registered from tkalert.receiver.apps.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models

PREFIX = "tka_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    name = models.CharField(max_length=100, unique=True)
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the token; the token is never kept")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "receiver"

    def __str__(self):
        return self.name


def make_token(name: str, user, now) -> str:
    """A new token for `user`; the only time its text exists outside the caller is this return value."""
    token = PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(name=name, digest=digest(token), user=user, created_at=now)
    return token


def token_user(token: str, now):
    """The active user a presented token belongs to, or None."""
    if not token.startswith(PREFIX):
        return None
    found = ApiToken.objects.select_related("user").filter(digest=digest(token)).first()
    if found is None or not found.user.is_active:
        return None
    ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
    return found.user
