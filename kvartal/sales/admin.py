"""The administrator's settings of sales: hold terms, deal flows (stages and their moves, how
each stage counts in the client analytics), the sales rules. Holds, deals and payments are
read-only here: they change only through the sales services (the pages)."""

from django.contrib import admin

from .models import (
    Deal,
    DealBuyer,
    DealEvent,
    Hold,
    HoldEvent,
    HoldTerm,
    Payment,
    PaymentLine,
    SalesSettings,
    Stage,
    StageScheme,
    StageTransition,
)


@admin.register(SalesSettings)
class SalesSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "expiry_warning_hours",
        "manager_max_hold_days",
        "head_max_hold_days",
        "discount_approval_percent",
        "bti_tolerance_m2",
    ]

    def has_add_permission(self, request):
        return not SalesSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(HoldTerm)
class HoldTermAdmin(admin.ModelAdmin):
    list_display = ["days", "name", "is_active"]
    list_editable = ["is_active"]


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    fields = [
        "order",
        "code",
        "name",
        "unit_status",
        "outcome",
        "requires",
        "is_initial",
        "is_termination",
        "needs_approval",
    ]


class TransitionInline(admin.TabularInline):
    model = StageTransition
    extra = 0
    fields = ["source", "target"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Only the stages of the flow being edited.
        scheme_id = request.resolver_match.kwargs.get("object_id")
        if db_field.name in ("source", "target") and scheme_id:
            kwargs["queryset"] = Stage.objects.filter(scheme_id=scheme_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(StageScheme)
class StageSchemeAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "is_default"]
    inlines = [StageInline, TransitionInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    """History and money: visible to the administrator, changed only by the services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class HoldEventInline(admin.TabularInline):
    model = HoldEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "actor", "kind", "old_expires_at", "new_expires_at", "reason"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    list_display = ["unit", "client", "manager", "kind", "state", "starts_at", "expires_at"]
    list_filter = ["state", "kind", "basis"]
    list_select_related = ["unit", "client", "manager"]
    search_fields = ["unit__number", "client__last_name", "receipt_number"]
    inlines = [HoldEventInline]


class BuyerInline(admin.TabularInline):
    model = DealBuyer
    extra = 0
    can_delete = False
    readonly_fields = ["client", "share_numerator", "share_denominator"]

    def has_add_permission(self, request, obj=None):
        return False


class LineInline(BuyerInline):
    model = PaymentLine
    readonly_fields = ["due_date", "amount", "kind", "payer"]


class PaymentInline(BuyerInline):
    model = Payment
    readonly_fields = ["received_on", "amount", "document", "line", "recorded_by"]


class DealEventInline(BuyerInline):
    model = DealEvent
    readonly_fields = ["at", "actor", "kind", "from_stage", "to_stage", "reason", "data"]


@admin.register(Deal)
class DealAdmin(ReadOnlyAdmin):
    list_display = ["number", "unit", "stage", "manager", "price", "is_active", "created_at"]
    list_filter = ["is_active", "stage", "payment_method", "contract_type"]
    list_select_related = ["unit", "stage", "manager"]
    search_fields = ["number", "unit__number", "buyers__client__last_name"]
    inlines = [BuyerInline, LineInline, PaymentInline, DealEventInline]
