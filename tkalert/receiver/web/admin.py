"""The admin site: contracts (with their stages) and systems for support staff; users, groups and API tokens.

Registered on Django's default site when the dashboard's URLs load. Tokens are listed and revoked here, never
shown: only their digests are kept (`tkalert-receiver tokens add` prints a new one once).
"""

from __future__ import annotations

from django.contrib import admin

from tkalert.receiver.models import Contract, Stage, System
from tkalert.receiver.web.tokens import ApiToken


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = ("auth_key", "customer", "legacy", "valid_until", "revoked_at", "sink")
    list_filter = ("legacy", "sink")
    search_fields = ("auth_key", "customer")
    inlines = [StageInline]


@admin.register(System)
class SystemAdmin(admin.ModelAdmin):
    list_display = ("system_id", "contract", "last_seen", "pinned_key", "contact_mail")
    search_fields = ("system_id", "contact_name", "contact_mail", "contract__auth_key")
    list_select_related = ("contract",)
    raw_id_fields = ("contract",)
    readonly_fields = ("last_seen", "last_sequence", "replays", "drifting_since")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "created_at", "last_used_at")
    readonly_fields = ("name", "digest", "user", "created_at", "last_used_at")

    def has_add_permission(self, request):
        return False  # a token is made by `tkalert-receiver tokens add`, which shows it once
