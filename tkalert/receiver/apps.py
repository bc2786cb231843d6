"""The Django app config: the receiver's models and migrations live under the label `receiver`."""

from django.apps import AppConfig


class ReceiverConfig(AppConfig):
    name = "tkalert.receiver"
    label = "receiver"
    verbose_name = "tkalert receiver"
    default_auto_field = "django.db.models.BigAutoField"
