"""Console for the worker corpus and its ingest jobs; ingest is launched here and runs in the worker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from apps.core.admin import JobAdmin
from apps.core.admin_extensions import ExtensibleAdmin, list_search_for
from apps.core.admin_display import kv_table, link_to, records_table, short_time, status_badge
from apps.core.admin_widgets import TagListField, checkbox_list_field
from apps.core.errors import DomainError
from apps.core.roles import is_operator
from apps.interactions.selectors import recent_outreach_for
from apps.workers import services
from apps.workers.models import IngestJob, Worker
from apps.workers.vocabulary import ALL_CERTIFICATIONS, ALL_SKILLS, ROLES, SHIFTS, role_label

SEMANTIC_RESULTS = 25


class _TypedArrayFilter(admin.SimpleListFilter):
    """Workers whose array column contains the typed term: `column @> ARRAY[term]`, which the column's
    GIN index answers on 100k rows."""

    template = "admin/lakehouse_text_filter.html"
    column = ""
    vocabulary: tuple[str, ...] = ()

    def lookups(self, request, model_admin):
        return ()

    def has_output(self) -> bool:
        return True

    def queryset(self, request, queryset):
        term = (self.value() or "").strip()
        return queryset.filter(**{f"{self.column}__contains": [term]}) if term else queryset

    def choices(self, changelist):
        other = [(k, v) for k, v in changelist.params.items() if k != self.parameter_name]
        yield {
            "parameter": self.parameter_name, "value": self.value() or "", "other": other, "vocabulary": self.vocabulary,
            "placeholder": f"e.g. {self.vocabulary[0]}" if self.vocabulary else "",
            "reset": changelist.get_query_string(remove=[self.parameter_name]),
        }


class SkillFilter(_TypedArrayFilter):
    title = "skill"
    parameter_name = "skill"
    column = "skills"
    vocabulary = ALL_SKILLS

    def queryset(self, request, queryset):
        term = (self.value() or "").strip().lower()  # skills are stored lower case
        return queryset.filter(skills__contains=[term]) if term else queryset


class CertificationFilter(_TypedArrayFilter):
    title = "certification"
    parameter_name = "certification"
    column = "certifications"
    vocabulary = ALL_CERTIFICATIONS


class ShiftFilter(admin.SimpleListFilter):
    title = "shift"
    parameter_name = "shift"

    def lookups(self, request, model_admin):
        return [(s, s) for s in SHIFTS]

    def queryset(self, request, queryset):
        return queryset.filter(shift_preference__contains=[self.value()]) if self.value() else queryset


class RoleFilter(admin.SimpleListFilter):
    """The vocabulary's roles by their labels (the column keeps its slugs, which ingest may extend)."""

    title = "role"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [(role, role_label(role)) for role in ROLES]

    def queryset(self, request, queryset):
        return queryset.filter(role=self.value()) if self.value() else queryset


class AvailabilityFilter(admin.SimpleListFilter):
    title = "availability"
    parameter_name = "available"
    WINDOWS = {"now": 0, "7d": 7, "30d": 30}

    def lookups(self, request, model_admin):
        return [("now", "available now"), ("7d", "within 7 days"), ("30d", "within 30 days"), ("later", "later than 30 days")]

    def queryset(self, request, queryset):
        value = self.value()
        today = timezone.localdate()
        if value in self.WINDOWS:
            horizon = today + timedelta(days=self.WINDOWS[value])
            return queryset.filter(models.Q(available_from__isnull=True) | models.Q(available_from__lte=horizon))
        if value == "later":
            return queryset.filter(available_from__gt=today + timedelta(days=30))
        return queryset


@admin.register(Worker)
class WorkerAdmin(ExtensibleAdmin, admin.ModelAdmin):
    list_display = ["worker_id", "name", "role_display", "city", "state", "shifts", "status", "sms_opt_out", "reliability"]
    list_filter = ["status", AvailabilityFilter, ShiftFilter, SkillFilter, CertificationFilter, "state", RoleFilter, "sms_opt_out"]
    search_fields = ["worker_id", "first_name", "last_name", "email", "phone"]
    search_help_text = "Plain search: worker id (W-000123), first or last name, email or phone (contains). For skills, places and shifts use the semantic search or the filters."
    exclude = ["embedding", "raw"]
    readonly_fields = [
        "outreach_table", "embedding_model", "content_hash", "raw_table", "created_at", "updated_at",
    ]
    show_full_result_count = False  # 100k rows: skip the extra COUNT(*)
    list_per_page = 50
    change_list_template = "admin/workers/worker/change_list.html"
    fieldsets = [
        (None, {"fields": [("worker_id", "status", "sms_opt_out"), ("first_name", "last_name"), ("email", "phone"),
                           ("city", "state", "zip"), "role", "skills", "certifications", "shift_preference",
                           ("available_from", "years_experience"), ("hourly_rate", "reliability"), "bio"]}),
        ("Recent outreach validations", {"fields": ["outreach_table"]}),
        ("Ingest", {"classes": ["collapse"], "fields": ["embedding_model", "content_hash", "raw_table", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("embedding", "raw")

    def get_fieldsets(self, request, obj=None):
        # The registered panels (assignments, proposals, playbooks, do-not-assign) after the profile.
        profile, *rest = super().get_fieldsets(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            # Read-only: the role by its label (the form's select shows labels to those who may change it).
            name, options = profile
            fields = [("role_display" if f == "role" else f) for f in options["fields"]]
            profile = (name, {**options, "fields": fields})
        return [profile, *self.panel_fieldsets(request, obj), *rest]

    def changelist_view(self, request, extra_context=None):
        ranked = list_search_for(self.model._meta.label_lower) is not None
        return super().changelist_view(request, {**(extra_context or {}), "semantic_search": ranked})

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # List columns get list widgets; the model's validation and the services still decide.
        if db_field.name == "skills":
            return TagListField(name="skills", vocabulary=ALL_SKILLS, lower=True)
        if db_field.name == "certifications":
            return TagListField(name="certifications", vocabulary=ALL_CERTIFICATIONS)
        if db_field.name == "shift_preference":
            return checkbox_list_field(SHIFTS, label="Shift preference")
        if db_field.name == "role":
            return forms.ChoiceField(choices=_role_choices(), required=False, label="Role")
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if obj is not None and obj.role and obj.role not in ROLES and "role" in form.base_fields:
            # A role ingest kept outside the vocabulary stays selectable, so saving the page keeps it.
            form.base_fields["role"].choices = [*_role_choices(), (obj.role, f"{role_label(obj.role)} (not in the vocabulary)")]
        return form

    @admin.display(description="role", ordering="role")
    def role_display(self, obj: Worker) -> str:
        return role_label(obj.role) if obj.role else "—"

    @admin.display(description="shifts")
    def shifts(self, obj: Worker) -> str:
        return ", ".join(obj.shift_preference) or "—"

    # The worker's page, NetBox-style: what they are booked for, proposed for, remembered in, told. The
    # apps above workers that know those things register their panels (apps.core.admin_extensions).

    @admin.display(description="email and SMS drafts validated for them")
    def outreach_table(self, obj: Worker) -> str:
        rows = [
            {"when": link_to(i, short_time(i.occurred_at)), "kind": i.get_kind_display(), "by": i.actor or "—", "verdict": status_badge("ok" if i.ok else "failed"),
             "errors": ", ".join(sorted({e.get("code", "") for e in i.errors or []})) or "—"}
            for i in recent_outreach_for(obj.worker_id)
        ]
        return records_table(rows)

    def get_urls(self):
        semantic = path("semantic/", self.admin_site.admin_view(self.semantic_view), name="workers_worker_semantic")
        return [semantic, *super().get_urls()]

    def semantic_view(self, request):
        """The semantic search box: the ranked search registered for workers (the API's shared search,
        which sits above workers), each worker a link."""
        rank = list_search_for(self.model._meta.label_lower)
        if rank is None:
            raise Http404("No ranked search is installed.")
        if not self.has_view_permission(request):
            raise PermissionDenied
        query = request.GET.get("q", "").strip()[:1000]
        body: dict[str, Any] | None = None
        rows: list[dict[str, Any]] = []
        if query:
            body = rank(query=query, k=SEMANTIC_RESULTS, actor=request.user.get_username())
            pks = dict(Worker.objects.filter(worker_id__in=[r["worker_id"] for r in body["results"]]).values_list("worker_id", "pk"))
            for rank, result in enumerate(body["results"], start=1):
                worker = result["worker"]
                rows.append({
                    "rank": rank, "worker_id": result["worker_id"], "pk": pks.get(result["worker_id"]), "score": result["score"], "worker": worker,
                    "name": f"{worker.get('first_name', '')} {worker.get('last_name', '')}".strip(),
                    "role": role_label(worker["role"]) if worker.get("role") else "—",
                })
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": "Semantic search of workers", "subtitle": None,
            "query": query, "rows": rows, "body": body, "k": SEMANTIC_RESULTS,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/workers/worker/semantic.html", context)

    @admin.display(description="raw row (as ingested)")
    def raw_table(self, obj: Worker) -> str:
        return kv_table(obj.raw)

    @admin.display(description="name", ordering="last_name")
    def name(self, obj: Worker) -> str:
        return f"{obj.first_name} {obj.last_name}"


DROP_CONFIRMATION = "workers"  # what the operator types to empty the corpus (the index reset asks the same)


class IngestForm(forms.Form):
    path = forms.CharField(required=False, help_text="a file on the server, inside INGEST_DIRS")
    file = forms.FileField(required=False, help_text="or upload a file")
    format = forms.ChoiceField(required=False, choices=[("", "by extension"), ("csv", "CSV"), ("parquet", "Parquet"), ("jsonl", "JSON Lines")])
    drop = forms.BooleanField(required=False, label="Drop first", help_text="delete EVERY worker before ingesting this file")
    confirm_drop = forms.CharField(required=False, label="Type to confirm the drop")
    limit = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args, workers_in_corpus: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.workers_in_corpus = workers_in_corpus
        self.fields["confirm_drop"].help_text = (
            f"only with Drop first: type {DROP_CONFIRMATION} to delete all {workers_in_corpus:,} workers now in the corpus"
        )

    def clean(self):
        data = super().clean()
        if bool(data.get("path")) == bool(data.get("file")):
            raise forms.ValidationError("Give exactly one of a server path or an upload.")
        # Dropping is the one irreversible step here: it asks for the word, and says what it costs.
        if data.get("drop") and (data.get("confirm_drop") or "").strip() != DROP_CONFIRMATION:
            self.add_error(
                "confirm_drop",
                f"Drop first deletes all {self.workers_in_corpus:,} workers now in the corpus. "
                f"Type {DROP_CONFIRMATION} to confirm, or untick Drop first.",
            )
        return data


@admin.register(IngestJob)
class IngestJobAdmin(JobAdmin):
    deletable = True
    list_display = ["id", "source_name", "status_display", "progress_display", "rows_display", "rows_per_s", "created_at"]
    list_filter = ["status", "format"]
    readonly_fields = [f.name for f in IngestJob._meta.fields if f.name not in ("errors", "warnings", "timings")] + ["errors_table", "warnings_table", "timings_pretty"]
    exclude = ["errors", "warnings", "timings"]
    change_list_template = "admin/workers/ingestjob/change_list.html"

    @admin.display(description="rows read / written / rejected")
    def rows_display(self, obj: IngestJob) -> str:
        return f"{obj.rows_read:,} / {obj.rows_written:,} / {obj.rows_rejected:,}"

    @admin.display(description="source")
    def source_name(self, obj: IngestJob) -> str:
        return obj.source.rsplit("/", 1)[-1]

    @admin.display(description="errors (first 1,000)")
    def errors_table(self, obj: IngestJob) -> str:
        return _rows_table(obj.errors)

    @admin.display(description="warnings (first 1,000)")
    def warnings_table(self, obj: IngestJob) -> str:
        return _rows_table(obj.warnings)

    @admin.display(description="timings")
    def timings_pretty(self, obj: IngestJob) -> str:
        return kv_table(obj.timings)

    def get_urls(self):
        return [path("launch/", self.admin_site.admin_view(self.launch_view), name="workers_ingestjob_launch")] + super().get_urls()

    def launch_view(self, request):
        if not is_operator(request.user):
            raise PermissionDenied  # launching an ingest is an operator's job
        form = IngestForm(request.POST or None, request.FILES or None, workers_in_corpus=Worker.objects.count())
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                source = services.save_upload(data["file"]) if data.get("file") else services.resolve_ingest_path(data["path"])
                job = services.create_ingest_job(
                    path=source, fmt=data.get("format") or None, drop=data["drop"], limit=data.get("limit"), actor=request.user.get_username()
                )
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                url = reverse("admin:workers_ingestjob_change", args=[job.pk])
                self.message_user(request, format_html('Ingest job <a href="{}">{}</a> queued; it runs in the Celery worker.', url, job.pk), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:workers_ingestjob_change", args=[job.pk]))
        context = {**self.admin_site.each_context(request), "title": "Ingest a worker file", "form": form, "opts": self.model._meta}
        return TemplateResponse(request, "admin/workers/ingest_launch.html", context)


def _role_choices() -> list[tuple[str, str]]:
    return [("", "—"), *((role, role_label(role)) for role in ROLES)]


def _rows_table(rows: list[dict]) -> str:
    if not rows:
        return "—"
    body = format_html_join(
        "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", ((r.get("line"), r.get("worker_id") or "—", r.get("reason")) for r in rows[:1000])
    )
    return format_html("<table><tr><th>line</th><th>worker_id</th><th>reason</th></tr>{}</table>", body)
