from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from apps.core.admin import JobAdmin, NoSaveButtonsMixin
from apps.core.admin_extensions import ExtensibleAdmin, register_panel
from apps.core.admin_display import changelist_link, kv_table, link_to, records_table, short_time, status_badge
from apps.core.admin_widgets import TagListField
from apps.core.errors import DomainError, InvalidInput
from apps.core.roles import is_operator
from apps.orders import services
from apps.orders.choices import OrderStatus, ProposalStatus
from apps.orders.models import AssignmentEnd, Client, DoNotAssign, FillProposal, JobOrder, OrderImportJob
from apps.orders.selectors import do_not_assign_list, order_history_rows, worker_proposals
from apps.workers.models import Worker
from apps.workers.vocabulary import ALL_CERTIFICATIONS

def _run_decision(modeladmin: admin.ModelAdmin, request: HttpRequest, items, decide, verb: str) -> None:
    """Apply one service decision per selected row; each outcome is a message (a 409 is not a crash)."""
    done = 0
    for item in items:
        try:
            decide(item)
        except (DomainError, ValidationError) as exc:
            modeladmin.message_user(request, f"{item}: {exc}", messages.ERROR)
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


class JobOrderForm(forms.ModelForm):
    """The client is typed as a name, as in the API: an existing client in any case or spacing, or a
    new one (created on first use)."""

    client = forms.CharField(max_length=200)

    class Meta:
        model = JobOrder
        fields = "__all__"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["client"] = self.instance.client.name

    def clean_client(self) -> Client:
        try:
            return services.client_for_name(self.cleaned_data["client"])
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict.get("client", exc.messages)) from exc


@admin.register(JobOrder)
class JobOrderAdmin(ExtensibleAdmin, admin.ModelAdmin):
    """The form validates with the model (USPS state and role as selects, the order_id pattern); the
    write goes through the same service as the API's. "Fill this order" is registered on this page by
    the console app (`apps.console.order_fill`), which composes the apps above orders."""

    list_display = ["order_id", "client", "role", "headcount", "city", "state", "site_zip", "shift", "start_date", "status"]
    list_filter = ["status", "state", "role", "shift"]
    list_select_related = ["client"]
    search_fields = ["order_id", "client__name", "city"]
    form = JobOrderForm
    search_help_text = "Order id (JO-…), client name or city (contains)."
    date_hierarchy = "start_date"
    readonly_fields = ["status", "created_by", "created_at", "updated_at"]
    inlines = [FillProposalInline]
    actions = ["cancel_orders"]
    list_display_links = ["order_id"]
    change_form_template = "admin/orders/joborder/change_form.html"

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "required_certifications":
            return TagListField(name="required_certifications", vocabulary=ALL_CERTIFICATIONS, label="Required certifications",
                                help_text="All of these must be held. Separate with commas; suggestions come from the vocabulary.")
        return super().formfield_for_dbfield(db_field, request, **kwargs)

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

    def has_change_permission(self, request: HttpRequest, obj: JobOrder | None = None) -> bool:
        # A closed (cancelled) order's page is read-only for everyone: no form, no Save (the service's rule).
        if obj is not None and services.order_closed_reason(obj):
            return False
        return super().has_change_permission(request, obj)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None):
        """The order's page ends with its history: every decision on it, newest first (read-only). A
        closed order's page says why it is read-only; a form sent while it was still open (someone
        cancelled it meanwhile) lands back on it with the reason, not on a 403."""
        order = self.get_object(request, unquote(object_id))
        closed = services.order_closed_reason(order) if order is not None else ""
        if closed and request.method == "POST" and super().has_change_permission(request, order):
            self.message_user(request, f"Not saved. {closed}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        history = order_history_rows(order.order_id) if order is not None else {}
        try:
            return super().change_view(request, object_id, form_url, {**(extra_context or {}), **history, "closed_reason": closed})
        except InvalidInput as exc:  # cancelled between the check above and the save: the service refused, nothing written
            if exc.code != "order_closed":
                raise
            self.message_user(request, f"Not saved. {exc}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


@admin.register(FillProposal)
class FillProposalAdmin(NoSaveButtonsMixin, admin.ModelAdmin):
    list_display = ["id", "order_link", "workers", "ok", "status", "created_by", "created_at"]
    list_filter = ["status", "ok"]
    list_select_related = ["order"]
    readonly_fields = ["order_link", "worker_links", "verdict_table", "ok", "status", "created_by", "created_at", "decided_at"]
    fields = readonly_fields
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
        # A link per worker to the worker list searched for that id: no query per row on a long list.
        shown = format_html_join(", ", "{}", ((changelist_link(Worker, w, q=w),) for w in obj.worker_ids[:3]))
        return format_html("{} +{}", shown, len(obj.worker_ids) - 3) if len(obj.worker_ids) > 3 else shown

    @admin.display(description="workers")
    def worker_links(self, obj: FillProposal) -> str:
        found = {w.worker_id: w for w in Worker.objects.filter(worker_id__in=obj.worker_ids).only("pk", "worker_id")}
        return format_html_join(", ", "{}", ((link_to(found[w], w) if w in found else w,) for w in obj.worker_ids))

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


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name", "key"]
    readonly_fields = ["key", "created_at"]


class DoNotAssignImportForm(forms.Form):
    csv_file = forms.FileField(required=False, label="CSV file")
    csv_text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 10, "cols": 80}), label="or paste CSV")

    def clean(self):
        data = super().clean()
        if not data.get("csv_file") and not (data.get("csv_text") or "").strip():
            raise forms.ValidationError("Upload a CSV file or paste its text.")
        return data


@admin.register(DoNotAssign)
class DoNotAssignAdmin(admin.ModelAdmin):
    """Adds go through the same service as the API (worker lock, duplicate check); deleting selected
    entries uses Django's confirmation page."""

    list_display = ["client", "worker_id", "reason", "created_by", "created_at"]
    list_filter = ["client"]
    list_select_related = ["client"]
    # `worker__worker_id`, not `worker_id`: a contains-search on the foreign key itself is a FieldError
    # (a 500); through the relation Django trims the join (worker_id is the key it points at).
    search_fields = ["client__name", "worker__worker_id", "reason"]
    search_help_text = "Client name, worker id (W-…) or reason (contains)."
    autocomplete_fields = ["client"]
    raw_id_fields = ["worker"]
    readonly_fields = ["created_by", "created_at"]
    change_list_template = "admin/orders/donotassign/change_list.html"

    def has_change_permission(self, request, obj=None) -> bool:
        # An entry is added or removed (each audited), never edited in place, as in the API: its page
        # is read-only.
        return obj is None and super().has_change_permission(request, obj)

    def delete_model(self, request, obj: DoNotAssign) -> None:
        services.do_not_assign_remove(entry_id=obj.pk, actor=request.user.get_username())

    def delete_queryset(self, request, queryset) -> None:
        # One service call per entry, so each removal is audited like the API's.
        for entry_id in queryset.values_list("pk", flat=True):
            services.do_not_assign_remove(entry_id=entry_id, actor=request.user.get_username())

    def save_model(self, request, obj: DoNotAssign, form, change: bool) -> None:
        try:
            entry = services.do_not_assign_add(
                client=obj.client.name, worker_id=obj.worker_id, reason=obj.reason, actor=request.user.get_username()
            )
        except DomainError as exc:
            raise ValidationError(str(exc)) from exc
        obj.pk = entry.pk

    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(self.import_view), name="orders_donotassign_import")] + super().get_urls()

    def import_view(self, request):
        if not is_operator(request.user):
            raise PermissionDenied
        form = DoNotAssignImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data.get("csv_file")
            text = upload.read().decode("utf-8-sig", errors="replace") if upload else form.cleaned_data["csv_text"]
            added, problems = services.do_not_assign_import_csv(text, actor=request.user.get_username())
            self.message_user(request, f"Added {added} do-not-assign entr{'y' if added == 1 else 'ies'}.", messages.SUCCESS)
            for problem in problems[:50]:
                self.message_user(request, problem, messages.ERROR)
            if len(problems) > 50:
                self.message_user(request, f"... and {len(problems) - 50} more rejected rows.", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:orders_donotassign_changelist"))
        context = {**self.admin_site.each_context(request), "title": "Bulk add do-not-assign entries", "form": form, "opts": self.model._meta}
        return TemplateResponse(request, "admin/orders/donotassign/import.html", context)


@admin.register(AssignmentEnd)
class AssignmentEndAdmin(admin.ModelAdmin):
    list_display = ["order", "worker_id", "reason", "ended_by", "ended_at"]
    list_filter = ["reason"]
    list_select_related = ["order"]
    readonly_fields = ["order", "worker_id", "reason", "ended_by", "ended_at"]

    def has_add_permission(self, request) -> bool:
        return False


class OrderImportForm(forms.Form):
    csv_file = forms.FileField(label="CSV file")


@admin.register(OrderImportJob)
class OrderImportJobAdmin(JobAdmin):
    deletable = True
    list_display = ["id", "source_name", "status_display", "progress_display", "rows_summary", "created_at"]
    list_filter = ["status"]
    exclude = ["csv_text", "errors"]
    readonly_fields = [f.name for f in OrderImportJob._meta.fields if f.name not in ("csv_text", "errors")] + ["errors_table"]
    change_list_template = "admin/orders/orderimportjob/change_list.html"

    @admin.display(description="rows (read: created / existing / rejected)")
    def rows_summary(self, obj: OrderImportJob) -> str:
        return f"{obj.rows_read:,}: {obj.rows_created:,} / {obj.rows_existing:,} / {obj.rows_rejected:,}"

    @admin.display(description="rejected rows (first 1,000)")
    def errors_table(self, obj: OrderImportJob) -> str:
        if not obj.errors:
            return "—"
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", ((e.get("line"), e.get("order_id") or "—", e.get("reason")) for e in obj.errors))
        return format_html("<table><tr><th>line</th><th>order_id</th><th>reason</th></tr>{}</table>", rows)

    def get_urls(self):
        return [path("launch/", self.admin_site.admin_view(self.launch_view), name="orders_orderimportjob_launch")] + super().get_urls()

    def launch_view(self, request):
        if not is_operator(request.user):
            raise PermissionDenied
        form = OrderImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["csv_file"]
            try:
                job = services.create_order_import_job(
                    csv_text=upload.read().decode("utf-8-sig", errors="replace"), source_name=upload.name, actor=request.user.get_username()
                )
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, f"Order import {job.pk} queued; it runs in the Celery worker.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:orders_orderimportjob_change", args=[job.pk]))
        context = {**self.admin_site.each_context(request), "title": "Import orders from CSV", "form": form, "opts": self.model._meta}
        return TemplateResponse(request, "admin/orders/orderimportjob/launch.html", context)


# Panels on a worker's page (apps.core.admin_extensions): orders sit above workers, so they bring them.


@register_panel("workers.worker", section="Assignments and fills", order=10, permission="orders.view_fillproposal")
@admin.display(description="current and upcoming assignments")
def assignments_table(worker: Worker) -> str:
    today = timezone.localdate()
    rows = [
        _proposal_line(p) for p in _proposals(worker)
        if p.status == ProposalStatus.ACCEPTED and p.order.status != OrderStatus.CANCELLED and (p.order.end_date or p.order.start_date) >= today
    ]
    return records_table(rows) if rows else "none"


@register_panel("workers.worker", section="Assignments and fills", order=20, permission="orders.view_fillproposal")
@admin.display(description="proposals")
def proposals_table(worker: Worker) -> str:
    return records_table([_proposal_line(p) for p in _proposals(worker)])


@register_panel("workers.worker", section="Do not assign", order=5, permission="orders.view_donotassign")
@admin.display(description="clients that must not get them")
def do_not_assign_table(worker: Worker) -> str:
    entries = list(do_not_assign_list(worker_id=worker.worker_id)[:50])
    if not entries:
        return format_html('<span class="lh-muted">No client has banned {}.</span>', worker.worker_id)
    rows = [
        {"client": format_html("<strong>{}</strong>", entry.client.name), "reason": entry.reason, "by": entry.created_by or "—",
         "when": short_time(entry.created_at), "entry": link_to(entry, f"#{entry.pk}")}
        for entry in entries
    ]
    listed = changelist_link(DoNotAssign, f"all of {worker.worker_id}'s entries in the do-not-assign list", q=worker.worker_id)
    return format_html('{}<p class="lh-muted lh-panel-foot">{} — a search or fill for these clients never includes them.</p>', records_table(rows), listed)


def _proposals(worker: Worker) -> list[FillProposal]:
    # Both panels read the same rows: one query per page, remembered on the page's worker.
    if not hasattr(worker, "_console_proposals"):
        worker._console_proposals = worker_proposals(worker.worker_id)
    return worker._console_proposals


def _proposal_line(proposal: FillProposal) -> dict[str, Any]:
    order = proposal.order
    dates = f"{order.start_date}" + (f" → {order.end_date}" if order.end_date else "")
    return {
        "order": link_to(order, order.order_id), "client": order.client, "dates": dates, "shift": order.shift,
        "proposal": link_to(proposal, f"#{proposal.pk}"), "status": status_badge(proposal.status), "by": proposal.created_by or "—",
        "proposed": short_time(proposal.created_at),
    }
