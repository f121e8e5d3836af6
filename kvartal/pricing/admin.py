from django.contrib import admin

from .models import PricingSettings


@admin.register(PricingSettings)
class PricingSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "approver"]

    def has_add_permission(self, request):
        return not PricingSettings.objects.exists()
