"""The administrator sets up the call centre here: phone systems with their secrets, the
operators' extensions, call scripts with their variants and steps; calls and their raw events
are read here."""

from django.contrib import admin

from .models import (
    Call,
    CallEvent,
    Extension,
    ModelExchange,
    PhoneSystem,
    Script,
    ScriptStep,
    ScriptVariant,
    SummaryModel,
)


@admin.register(PhoneSystem)
class PhoneSystemAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "is_active"]


@admin.register(Extension)
class ExtensionAdmin(admin.ModelAdmin):
    list_display = ["number", "user", "is_active"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]


class VariantInline(admin.TabularInline):
    model = ScriptVariant
    extra = 1


@admin.register(Script)
class ScriptAdmin(admin.ModelAdmin):
    list_display = ["name", "assign_by", "is_active"]
    inlines = [VariantInline]


class StepInline(admin.StackedInline):
    model = ScriptStep
    extra = 1


@admin.register(ScriptVariant)
class ScriptVariantAdmin(admin.ModelAdmin):
    list_display = ["__str__", "weight"]
    inlines = [StepInline]


@admin.register(Call)
class CallAdmin(admin.ModelAdmin):
    list_display = ["started_at", "direction", "phone", "state", "operator", "client", "lead"]
    list_filter = ["state", "direction", "system"]
    list_select_related = ["operator", "client", "lead"]
    raw_id_fields = ["client", "lead", "operator", "callback_by", "variant"]
    date_hierarchy = "started_at"


@admin.register(CallEvent)
class CallEventAdmin(admin.ModelAdmin):
    list_display = ["received_at", "system", "event_id", "kind", "result"]
    list_filter = ["result", "system"]
    raw_id_fields = ["call"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SummaryModel)
class SummaryModelAdmin(admin.ModelAdmin):
    """One row: the on-premises model for history summaries (off until switched on)."""

    list_display = ["__str__", "enabled", "model", "timeout"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not SummaryModel.objects.exists()


@admin.register(ModelExchange)
class ModelExchangeAdmin(admin.ModelAdmin):
    """The audit of what was sent to the model and what came back."""

    list_display = ["at", "status", "client", "milliseconds"]
    list_filter = ["status"]
    raw_id_fields = ["client"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
