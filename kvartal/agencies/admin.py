from django.contrib import admin

from .models import AgencyProfile, AgencySettings, Agent, ManagerCommissionRule, PartnerProject


@admin.register(AgencyProfile)
class AgencyProfileAdmin(admin.ModelAdmin):
    list_display = ["agency", "status", "contract_number", "contract_date", "curator"]
    list_filter = ["status"]


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["user", "agency"]


@admin.register(PartnerProject)
class PartnerProjectAdmin(admin.ModelAdmin):
    list_display = [
        "project",
        "is_open",
        "price_mode",
        "partner_discount_percent",
        "protection_days",
        "extension_days",
    ]


@admin.register(AgencySettings)
class AgencySettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "hold_days"]


@admin.register(ManagerCommissionRule)
class ManagerCommissionRuleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "percent", "plan", "percent_over_plan"]
