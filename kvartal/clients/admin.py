"""The administrator's view of clients: the dictionaries (channels, lead sources with their
API keys) are edited here; clients and leads are read here and changed on their pages."""

from django.contrib import admin

from .models import (
    Agency,
    Channel,
    Client,
    ClientEvent,
    ClientMerge,
    Consent,
    Lead,
    LeadSource,
    Tag,
)


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "order", "is_active"]
    list_editable = ["order", "is_active"]


@admin.register(LeadSource)
class LeadSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "is_active"]
    fields = ["name", "channel", "key", "is_active"]


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "inn", "phone", "fee_percent", "is_active"]
    search_fields = ["name", "inn"]


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Client)
class ClientAdmin(ReadOnly):
    list_display = ["__str__", "kind", "phone", "email", "manager", "created_at"]
    list_filter = ["kind"]
    search_fields = ["last_name", "company_name", "phone_normalized", "email_normalized"]
    exclude = [
        "passport_number",
        "passport_issued_by",
        "passport_issued_on",
        "passport_code",
        "registration_address",
    ]


@admin.register(Lead)
class LeadAdmin(ReadOnly):
    list_display = ["__str__", "channel", "status", "manager", "created_at"]
    list_filter = ["status", "channel"]


@admin.register(Consent)
class ConsentAdmin(ReadOnly):
    list_display = ["client", "given_at", "text_version", "channel", "withdrawn_at"]


@admin.register(ClientEvent)
class ClientEventAdmin(ReadOnly):
    list_display = ["client", "at", "kind", "actor"]
    list_filter = ["kind"]


@admin.register(ClientMerge)
class ClientMergeAdmin(ReadOnly):
    list_display = ["source", "target", "at", "by"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]
