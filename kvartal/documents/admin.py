from django.contrib import admin

from .models import DocumentSettings, DocumentTemplate


@admin.register(DocumentTemplate)
class DocumentTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "version", "is_active", "updated_at"]
    list_filter = ["kind", "is_active"]
    readonly_fields = ["version", "updated_at"]

    def save_model(self, request, obj, form, change):
        # every change is a new version: generated documents keep the version they used
        if change:
            obj.version += 1
        super().save_model(request, obj, form, change)


@admin.register(DocumentSettings)
class DocumentSettingsAdmin(admin.ModelAdmin):
    # the key and certificate are set on the signing page, where they are checked together
    exclude = ["key_path", "cert_path", "key_passphrase"]
