"""`users add|list|remove` and `tokens add|list|revoke`: who may log in to the dashboard, and the API's tokens.

A user is support (sees everything, acts on the quarantine, edits contracts in the admin site) or readonly. The
password comes from a file (`--password-file`, first line) or a prompt, never from the command line (argv is
world-readable in /proc). A token is printed once, when made; only its SHA-256 is stored.
"""

from __future__ import annotations

import click

from tkalert.cli.boundary import emit
from tkalert.errors import UsageError
from tkalert.receiver.cli.group import pass_context
from tkalert.receiver.cli.show import table, when

ROLES = ("support", "readonly")


def find_user(name: str):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=name).first()
    if user is None:
        raise UsageError(f"no user {name!r} (list them with tkalert-receiver users list)")
    return user


def read_password(password_file: str | None, name: str) -> str:
    if password_file:
        from pathlib import Path

        from tkalert.config.fields import secret

        return secret(Path(password_file), "--password-file", "users add")
    return click.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)


def checked(password: str, user) -> str:
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise UsageError(f"usage error: {' '.join(exc.messages)}") from None
    return password


@click.group()
def users():
    """Dashboard users: support staff and read-only."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="support: acts; readonly: only looks")
@click.option("--password-file", type=click.Path(dir_okay=False), metavar="FILE",
              help="read the password from FILE (its text, stripped) [prompt]")
@click.option("--email", default="", help="the user's mail address")
@pass_context
def add_user(ctx, name, role, password_file, email):
    """Add a user who can log in to the dashboard (or set an existing one's password and role)."""
    ctx.django()
    from django.contrib.auth import get_user_model

    from tkalert.receiver.web.roles import set_role

    user, created = get_user_model().objects.get_or_create(username=name, defaults={"email": email})
    user.set_password(checked(read_password(password_file, name), user))
    user.is_active = True
    user.save()
    set_role(user, role)
    emit(f"user {name} {'added' if created else 'updated'} ({role})")
    return 0


@users.command("list")
@pass_context
def list_users(ctx):
    """List the users, their roles and last logins."""
    ctx.django()
    from django.contrib.auth import get_user_model

    from tkalert.receiver.web.roles import role_of

    rows = [[u.username, role_of(u) or "-", "yes" if u.is_active else "no", when(u.last_login)]
            for u in get_user_model().objects.prefetch_related("groups").order_by("username")]
    table(["USER", "ROLE", "ACTIVE", "LAST LOGIN"], rows)
    return 0


@users.command("remove")
@click.argument("name")
@pass_context
def remove_user(ctx, name):
    """Remove a user (and the API tokens made for them)."""
    ctx.django()
    find_user(name).delete()
    emit(f"user {name} removed")
    return 0


@click.group()
def tokens():
    """API tokens: made for a user, shown once, stored hashed."""


@tokens.command("add")
@click.argument("name")
@click.option("--user", "username", required=True, help="the user whose role the token carries")
@pass_context
def add_token(ctx, name, username):
    """Make a token NAME for --user and print it (the only time it is shown)."""
    ctx.django()
    from tkalert.receiver.web.tokens import ApiToken, make_token
    from tkalert.receiver.work import utcnow

    user = find_user(username)
    if ApiToken.objects.filter(name=name).exists():
        raise UsageError(f"usage error: a token named {name!r} exists (revoke it first, or pick another name)")
    emit(make_token(name, user, utcnow()))
    return 0


@tokens.command("list")
@pass_context
def list_tokens(ctx):
    """List the tokens (names and users, never the tokens)."""
    ctx.django()
    from tkalert.receiver.web.tokens import ApiToken

    rows = [[t.name, t.user.username, when(t.created_at), when(t.last_used_at)]
            for t in ApiToken.objects.select_related("user").order_by("name")]
    table(["NAME", "USER", "CREATED", "LAST USED"], rows)
    return 0


@tokens.command("revoke")
@click.argument("name")
@pass_context
def revoke_token(ctx, name):
    """Delete the token NAME: requests carrying it are refused from now on."""
    ctx.django()
    from tkalert.receiver.web.tokens import ApiToken

    deleted, _ = ApiToken.objects.filter(name=name).delete()
    if not deleted:
        raise UsageError(f"no token {name!r} (list them with tkalert-receiver tokens list)")
    emit(f"token {name} revoked")
    return 0
