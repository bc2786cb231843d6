"""Roles: support staff see everything and act (quarantine retry/drop, contracts in the admin); read-only users
see everything and change nothing. A role is a Django group; a superuser counts as support.

`support_required` guards every view that changes something: a read-only user gets 403, whatever the method.
"""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied

SUPPORT, READONLY = "support", "readonly"
ROLES = (SUPPORT, READONLY)
# what support staff may do in the admin site: contracts, systems and the people who log in
SUPPORT_MODELS = (("receiver", "contract"), ("receiver", "system"), ("auth", "user"), ("receiver", "apitoken"))


def role_of(user) -> str | None:
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return SUPPORT
    if not hasattr(user, "_tkalert_role"):  # once per request: the user object lives as long as the request
        names = {group.name for group in user.groups.all()}
        user._tkalert_role = SUPPORT if SUPPORT in names else READONLY if READONLY in names else None
    return user._tkalert_role


def can_act(user) -> bool:
    return role_of(user) == SUPPORT


def support_required(view):
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not can_act(request.user):
            raise PermissionDenied("read-only users cannot change anything")
        return view(request, *args, **kwargs)

    return guarded


def role_context(request) -> dict:
    user = getattr(request, "user", None)
    role = role_of(user) if user is not None else None
    return {"role": role, "can_act": role == SUPPORT}


def ensure_roles():
    """The two groups, support's admin permissions with them (after migrate, which made the permissions)."""
    from django.contrib.auth.models import Group, Permission

    support, _ = Group.objects.get_or_create(name=SUPPORT)
    Group.objects.get_or_create(name=READONLY)
    for app_label, model in SUPPORT_MODELS:
        support.permissions.add(*Permission.objects.filter(content_type__app_label=app_label,
                                                           content_type__model=model))
    return support


def set_role(user, role: str) -> None:
    from django.contrib.auth.models import Group

    ensure_roles()
    user.groups.set([Group.objects.get(name=role)])
    user.is_staff = role == SUPPORT  # the admin site is support's
    user.save(update_fields=["is_staff"])
