from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: nobody adds, changes or deletes audit rows, superusers included."""

    list_display = ["at", "actor_name", "address", "kind", "action", "object_type", "object_repr"]
    list_filter = ["kind", "object_type"]
    search_fields = ["actor_name", "action", "object_repr", "object_id"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
