from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "last_name", "first_name", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Role in Kvartal"), {"fields": ("role", "phone")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Role in Kvartal"), {"fields": ("role", "first_name", "last_name")}),
    )

    actions = ["block", "unblock", "reset_two_factor"]

    def save_model(self, request, obj, form, change):
        """Blocking through the form ends the user's sessions at once (the service does)."""
        from .security import user_set_active

        if change and "is_active" in form.changed_data:
            wanted = obj.is_active
            obj.is_active = not wanted  # the service writes the change and its effects
            super().save_model(request, obj, form, change)
            user_set_active(user=obj, active=wanted, by=request.user)
        else:
            super().save_model(request, obj, form, change)

    @admin.action(description=_("Block the selected users (ends their sessions)"))
    def block(self, request, queryset):
        self._set_active(request, queryset, False)

    @admin.action(description=_("Unblock the selected users"))
    def unblock(self, request, queryset):
        self._set_active(request, queryset, True)

    def _set_active(self, request, queryset, active):
        from .security import SecurityRefused, user_set_active

        for user in queryset:
            try:
                user_set_active(user=user, active=active, by=request.user)
            except SecurityRefused as error:
                self.message_user(request, f"{user}: {error.message}", level="error")

    @admin.action(description=_("Reset two-factor sign-in (a lost phone)"))
    def reset_two_factor(self, request, queryset):
        from .security import two_factor_reset

        for user in queryset:
            two_factor_reset(user=user, by=request.user)
