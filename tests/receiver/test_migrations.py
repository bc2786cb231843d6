"""The committed migrations match the models: a model change without its migration fails here, not on a vendor's
database."""

from __future__ import annotations

from django.core.management import call_command


def test_no_model_change_lacks_a_migration(django_receiver, capsys):
    call_command("makemigrations", "receiver", "--check", "--dry-run", verbosity=1)
    assert "No changes detected" in capsys.readouterr().out
