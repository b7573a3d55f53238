from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from rest_framework.exceptions import APIException

from apps.core.admin import NoSaveButtonsMixin
from apps.core.admin_display import kv_table, link_to
from apps.orders import services
from apps.orders.models import FillProposal, JobOrder


def _run_decision(modeladmin: admin.ModelAdmin, request: HttpRequest, items, decide, verb: str) -> None:
    """Apply one service decision per selected row; each outcome is a message (a 409 is not a crash)."""
    done = 0
    for item in items:
        try:
            decide(item)
        except (APIException, Http404, ValidationError) as exc:
            detail = exc.detail if isinstance(exc, APIException) else exc
            modeladmin.message_user(request, f"{item}: {detail}", messages.ERROR)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"{verb} {done}.", messages.SUCCESS)


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
    """The form validates with the model (USPS state and role as selects, the order_id pattern); the
    write goes through the same service as the API's."""

    list_display = ["order_id", "client", "role", "headcount", "city", "state", "site_zip", "shift", "start_date", "status"]
    list_filter = ["status", "state", "role", "shift"]
    search_fields = ["order_id", "client", "city"]
    search_help_text = "Order id (JO-…), client or city (contains)."
    date_hierarchy = "start_date"
    readonly_fields = ["status", "created_by", "created_at", "updated_at"]
    inlines = [FillProposalInline]
    actions = ["cancel_orders"]

    def save_model(self, request, obj: JobOrder, form, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in services.ORDER_WRITABLE_FIELDS if name in form.cleaned_data}
        if change:
            services.order_update(order=obj, **fields)
        else:
            obj.pk = services.order_create(actor=request.user.get_username(), **fields).pk

    @admin.action(description="Cancel the selected orders (their open proposals are rejected)", permissions=["change"])
    def cancel_orders(self, request: HttpRequest, queryset) -> None:
        actor = request.user.get_username()
        _run_decision(self, request, queryset, lambda order: services.order_cancel(order_id=order.order_id, actor=actor), "Cancelled")


@admin.register(FillProposal)
class FillProposalAdmin(NoSaveButtonsMixin, admin.ModelAdmin):
    list_display = ["id", "order_link", "workers", "ok", "status", "created_by", "created_at"]
    list_filter = ["status", "ok"]
    list_select_related = ["order"]
    readonly_fields = ["order", "worker_ids", "verdict_table", "ok", "status", "created_by", "created_at", "decided_at"]
    exclude = ["verdict"]
    actions = ["accept_proposals", "reject_proposals"]

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

    @admin.action(description="Accept the selected proposals (re-validated; records the playbook)", permissions=["change"])
    def accept_proposals(self, request: HttpRequest, queryset) -> None:
        actor = request.user.get_username()
        _run_decision(
            self, request, queryset.select_related("order"),
            lambda p: services.proposal_accept(order_id=p.order.order_id, proposal_id=p.pk, actor=actor), "Accepted",
        )

    @admin.action(description="Reject the selected proposals (frees their workers)", permissions=["change"])
    def reject_proposals(self, request: HttpRequest, queryset) -> None:
        actor = request.user.get_username()
        _run_decision(
            self, request, queryset.select_related("order"),
            lambda p: services.proposal_reject(order_id=p.order.order_id, proposal_id=p.pk, actor=actor), "Rejected",
        )
