from django.contrib import admin

from .models import Feed, FeedBuild


@admin.register(Feed)
class FeedAdmin(admin.ModelAdmin):
    list_display = ["portal", "is_published", "contact_phone", "published_build"]
    readonly_fields = ["token", "published_build", "built_marker", "building_since"]


@admin.register(FeedBuild)
class FeedBuildAdmin(admin.ModelAdmin):
    list_display = ["feed", "started_at", "state", "offers", "offers_with_errors", "warnings"]
    list_filter = ["feed", "state"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
