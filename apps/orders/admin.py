from django.contrib import admin

from apps.core.admin import NoSaveButtonsMixin
from apps.core.admin_display import kv_table, link_to
from apps.orders.models import FillProposal, JobOrder


class FillProposalInline(admin.TabularInline):
    model = FillProposal
    extra = 0
    fields = ["worker_ids", "ok", "status", "created_by", "created_at", "decided_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(JobOrder)
class JobOrderAdmin(admin.ModelAdmin):
    list_display = ["order_id", "client", "role", "headcount", "city", "state", "shift", "start_date", "status"]
    list_filter = ["status", "state", "role", "shift"]
    search_fields = ["order_id", "client", "city"]
    search_help_text = "Order id (JO-…), client or city (contains)."
    date_hierarchy = "start_date"
    inlines = [FillProposalInline]


@admin.register(FillProposal)
class FillProposalAdmin(NoSaveButtonsMixin, admin.ModelAdmin):
    list_display = ["id", "order_link", "workers", "ok", "status", "created_by", "created_at"]
    list_filter = ["status", "ok"]
    list_select_related = ["order"]
    readonly_fields = ["order", "worker_ids", "verdict_table", "ok", "status", "created_by", "created_at", "decided_at"]
    exclude = ["verdict"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="verdict")
    def verdict_table(self, obj: FillProposal) -> str:
        return kv_table(obj.verdict)

    @admin.display(description="order", ordering="order__order_id")
    def order_link(self, obj: FillProposal) -> str:
        return link_to(obj.order, obj.order.order_id)

    @admin.display(description="workers")
    def workers(self, obj: FillProposal) -> str:
        shown = ", ".join(obj.worker_ids[:3])
        return f"{shown} +{len(obj.worker_ids) - 3}" if len(obj.worker_ids) > 3 else shown
