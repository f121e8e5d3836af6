"""The administrator's view of the inventory. Writes go through the same services as the pages;
price and status are read-only here (they have their own pages with history)."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from . import services
from .models import (
    Building,
    Floor,
    PriceBatch,
    PriceChange,
    Principal,
    Project,
    Section,
    StatusChange,
    Unit,
    UnitChange,
)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "city", "district", "created_at"]
    search_fields = ["name", "city"]


@admin.register(Principal)
class PrincipalAdmin(admin.ModelAdmin):
    list_display = ["name", "inn", "is_developer"]


class SectionInline(admin.TabularInline):
    model = Section
    extra = 0
    fields = ["number", "name"]
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False  # sections come from the generator


@admin.register(Building)
class BuildingAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "kind", "readiness", "completion_date"]
    list_filter = ["kind", "readiness", "project"]
    search_fields = ["name", "object_code", "construction_address", "postal_address"]
    inlines = [SectionInline]


@admin.register(Floor)
class FloorAdmin(admin.ModelAdmin):
    list_display = ["label", "index", "section", "level_type", "is_typical"]
    list_filter = ["level_type"]
    list_select_related = ["section__building"]

    def has_add_permission(self, request):
        return False


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["number", "code", "kind", "building", "rooms", "total_area", "price", "status"]
    list_filter = ["status", "kind", "rooms", "building__project"]
    search_fields = ["number", "code"]
    list_select_related = ["building__project"]
    readonly_fields = [
        "building",
        "section",
        "code",
        "price",
        "price_per_m2",
        "status",
        "status_changed_at",
    ]
    raw_id_fields = ["floor"]

    def has_add_permission(self, request):
        return False  # units come from the section generator or the floor page

    def has_delete_permission(self, request, obj=None):
        return False  # a unit's history must survive

    def save_model(self, request, obj, form, change):
        data = {
            name: form.cleaned_data[name]
            for name in form.changed_data
            if name in services.EDITABLE_FIELDS
        }
        try:
            services.unit_update(unit=obj, by=request.user, data=data, reason="admin")
        except ValidationError as error:
            messages.error(request, "; ".join(error.messages))


class HistoryAdmin(admin.ModelAdmin):
    """Append-only history: readable, never editable."""

    list_select_related = ["unit", "actor"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StatusChange)
class StatusChangeAdmin(HistoryAdmin):
    list_display = ["at", "unit", "old_status", "new_status", "price", "actor", "reason"]
    list_filter = ["new_status"]


@admin.register(PriceChange)
class PriceChangeAdmin(HistoryAdmin):
    list_display = ["at", "unit", "old_price", "new_price", "actor", "reason"]


@admin.register(UnitChange)
class UnitChangeAdmin(HistoryAdmin):
    list_display = ["at", "unit", "actor", "reason", "changes"]


@admin.register(PriceBatch)
class PriceBatchAdmin(HistoryAdmin):
    list_display = ["at", "description", "units_count", "actor"]
    list_select_related = ["actor"]
