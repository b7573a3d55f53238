from django.contrib import admin

from apps.alerts.models import Alert


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["subject", "kind", "email", "webhook", "webhook_attempts", "created_at"]
    list_filter = ["kind", "email", "webhook"]
    search_fields = ["key", "subject"]
    readonly_fields = [f.name for f in Alert._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
