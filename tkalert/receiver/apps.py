"""The Django app config: the receiver's models and migrations live under the label `receiver`."""

from django.apps import AppConfig


class ReceiverConfig(AppConfig):
    name = "tkalert.receiver"
    label = "receiver"
    verbose_name = "tkalert receiver"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # the dashboard's models live with the dashboard (tkalert.receiver.web), in this app's tables
        from tkalert.receiver.web import tokens  # noqa: F401
