"""Console for replay: batches (regressions first) with their runs grouped, each run inspected as a
conversation next to its baseline, and launching a day's replay."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from apps.core.admin import InspectionAdmin, JobAdmin
from apps.core.admin_display import (
    admin_url, alert, short_id, short_time, boolean_mark, changelist_link, kv_table, link_by_key, link_to, records_table, status_badge,
)
from apps.core.errors import DomainError
from apps.core.roles import is_operator
from apps.evidence.models import EvidenceRecord
from apps.replay import selectors
from apps.replay.choices import REPLAYED_TASK_TYPES
from apps.replay.models import ReplayBatch, ReplayRun
from apps.replay.pricing import format_cost
from apps.replay.selectors import cost_by_day
from apps.replay.services import create_batch
from apps.workers.models import Worker


class ReplayDayForm(forms.Form):
    day = forms.DateField(initial=date.today, help_text="replay the evidence of this day")
    task_types = forms.MultipleChoiceField(choices=[(t, t) for t in REPLAYED_TASK_TYPES], required=False, help_text="none = all")
    provider = forms.ChoiceField(choices=[("", "configured (CHAT_PROVIDER)"), ("local", "local"), ("openai", "openai"), ("ollama", "ollama")], required=False)
    model = forms.CharField(required=False)
    limit = forms.IntegerField(required=False, min_value=1, max_value=ReplayBatch.MAX_LIMIT)
    concurrency = forms.IntegerField(initial=4, min_value=1, max_value=ReplayBatch.MAX_CONCURRENCY)


# A regression is an alarm, never a tick: a red alert where there is one, a quiet dash where there is none.
_NO_REGRESSION = mark_safe('<span class="lh-muted">—</span>')


@admin.register(ReplayBatch)
class ReplayBatchAdmin(JobAdmin):
    deletable = True  # a batch goes with its runs (the JSONL log keeps their lines)

    list_display = ["batch_short", "status_display", "regressions_display", "pass_rate_display", "outcomes", "model_display", "created"]
    list_filter = ["status", "provider"]
    search_fields = ["=batch_id", "created_by"]
    search_help_text = "Batch id (rb_…, exact) or who launched it."
    fieldsets = [
        (None, {"fields": ["batch_id", "status_display", "progress_display", "regressions_display", "pass_rate_display", "runs_grouped", "regressed_runs"]}),
        ("Counts", {"fields": [("total", "passed", "failed", "errors", "skipped"), "skipped_by_type_table", ("latency_p50_ms", "latency_p95_ms"), ("prompt_tokens", "completion_tokens"), "cost_display"]}),
        ("What was replayed", {"fields": ["day_from", "day_to", "task_types", "evidence_ids", "limit", "provider", "model", "concurrency"]}),
        ("Lifecycle", {"fields": ["created_by", "created_at", "started_at", "finished_at", "heartbeat_at", "attempts", "retry_of", "task_id", "error"]}),
    ]
    readonly_fields = [f.name for f in ReplayBatch._meta.fields] + [
        "status_display", "progress_display", "regressions_display", "pass_rate_display", "runs_grouped", "regressed_runs", "skipped_by_type_table",
        "cost_display",
    ]
    change_list_template = "admin/replay/replaybatch/change_list.html"

    def get_queryset(self, request):
        # Regressions first: the batches an operator has to look at.
        return super().get_queryset(request).order_by(F("regressions").desc(), "-created_at")

    @admin.display(description="regressions", ordering="regressions")
    def regressions_display(self, obj: ReplayBatch) -> str:
        if not obj.regressions:
            return _NO_REGRESSION
        return format_html('<a class="lh-alert lh-alert-bad" href="{}?batch__batch_id__exact={}&amp;regression__exact=1">{} regression{}</a>',
                           admin_url(ReplayRun, view="changelist"), obj.batch_id, obj.regressions, "s" if obj.regressions != 1 else "")

    @admin.display(description="pass rate")
    def pass_rate_display(self, obj: ReplayBatch) -> str:
        return "—" if obj.pass_rate is None else f"{obj.pass_rate:.1%}"

    @admin.display(description="batch", ordering="batch_id")
    def batch_short(self, obj: ReplayBatch) -> str:
        return short_id(obj.batch_id)

    @admin.display(description="created", ordering="created_at")
    def created(self, obj: ReplayBatch) -> str:
        return short_time(obj.created_at)

    @admin.display(description="runs (pass/fail/error/skip)")
    def outcomes(self, obj: ReplayBatch) -> str:
        return f"{obj.total:,}: {obj.passed:,} / {obj.failed:,} / {obj.errors:,} / {obj.skipped:,}"

    @admin.display(description="model")
    def model_display(self, obj: ReplayBatch) -> str:
        return f"{obj.provider} {obj.model}".strip()

    @admin.display(description="skipped by type")
    def skipped_by_type_table(self, obj: ReplayBatch) -> str:
        return kv_table(obj.skipped_by_type)

    @admin.display(description="runs")
    def runs_grouped(self, obj: ReplayBatch) -> str:
        groups = selectors.batch_breakdown(obj)
        lookups = {"status": "status__exact", "error_code": "error_code", "task_type": "task_type__exact"}
        titles = {"status": "by status", "error_code": "by validator error code", "task_type": "by task type"}
        tables = []
        for key, counts in groups.items():
            rows = format_html_join(
                "", "<tr><td>{}</td><td>{}</td></tr>",
                ((changelist_link(ReplayRun, status_badge(value) if key == "status" else value, batch__batch_id__exact=obj.batch_id, **{lookups[key]: value}), count)
                 for value, count in counts.items()),
            ) or mark_safe('<tr><td colspan="2" class="lh-muted">none</td></tr>')
            tables.append(format_html('<table class="lh-records" id="runs-by-{}"><thead><tr><th>{}</th><th>runs</th></tr></thead><tbody>{}</tbody></table>', key, titles[key], rows))
        every = changelist_link(ReplayRun, "all runs of this batch →", batch__batch_id__exact=obj.batch_id)
        return format_html('<div class="lh-groups">{}</div><p>{}</p>', mark_safe("".join(tables)), every)

    @admin.display(description="regressed runs")
    def regressed_runs(self, obj: ReplayBatch) -> str:
        runs = list(obj.runs.filter(regression=True).order_by("finished_at").values("run_id", "evidence_id", "task_type", "validation")[:50])
        if not runs:
            return mark_safe('<span class="lh-muted">none — every run that passed at baseline still passes</span>')
        rows = [
            {
                "run": link_to(ReplayRun(run_id=run["run_id"])),
                "task type": run["task_type"],
                "evidence": link_by_key(EvidenceRecord, run["evidence_id"], field="evidence_id"),
                "error codes": ", ".join(sorted({e.get("code", "?") for e in run["validation"].get("errors", [])})) or "—",
            }
            for run in runs
        ]
        return format_html('<div id="regressed-runs">{}{}</div>', alert(f"{obj.regressions} regression{'s' if obj.regressions != 1 else ''}"), records_table(rows))

    @admin.display(description="cost (USD)", ordering="cost_usd")
    def cost_display(self, obj: ReplayBatch) -> str:
        return format_cost(obj.cost_usd, obj.unpriced_runs)

    def changelist_view(self, request, extra_context=None):
        # What replay's model calls cost per day, above the batches (SPEC §4.8).
        days = [{**row, "cost": format_cost(row["cost_usd"], row["unpriced_runs"])} for row in cost_by_day()[:14]]
        return super().changelist_view(request, {**(extra_context or {}), "cost_by_day": days})

    def get_urls(self):
        return [path("replay-day/", self.admin_site.admin_view(self.replay_day_view), name="replay_replaybatch_replay_day")] + super().get_urls()

    def replay_day_view(self, request):
        if not is_operator(request.user):
            raise PermissionDenied  # launching replay is an operator's job
        form = ReplayDayForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                batch = create_batch(
                    day_from=data["day"], day_to=data["day"], task_types=data["task_types"], limit=data.get("limit"),
                    provider=data.get("provider") or None, model=data.get("model") or None, concurrency=data["concurrency"],
                    actor=request.user.get_username(),
                )
            except DomainError as exc:  # the broker down: the batch is already marked failed
                self.message_user(request, f"Not queued: {exc}", messages.ERROR)
                return HttpResponseRedirect(reverse("admin:replay_replaybatch_changelist"))
            url = admin_url(batch)
            self.message_user(request, format_html('Replay batch <a href="{}">{}</a> queued for {}; it runs in the Celery worker.', url, batch.batch_id, data["day"]), messages.SUCCESS)
            return HttpResponseRedirect(url)  # the batch's page follows it live
        context = {**self.admin_site.each_context(request), "title": "Replay a day of evidence", "form": form, "opts": self.model._meta}
        return TemplateResponse(request, "admin/replay/replay_day.html", context)


class ErrorCodeFilter(admin.SimpleListFilter):
    """Runs whose validator reported this error code (a JSON containment lookup on `validation`)."""

    title = "validator error code"
    parameter_name = "error_code"

    def lookups(self, request, model_admin):
        return [(code, code) for code in selectors.error_codes_seen()]

    def queryset(self, request, queryset):
        code = self.value()
        return queryset.filter(validation__errors__contains=[{"code": code}]) if code else queryset


@admin.register(ReplayRun)
class ReplayRunAdmin(InspectionAdmin):
    list_display = ["run_short", "batch_short", "task_type", "status_display", "regression_display", "baseline_display", "evidence_short", "finished"]
    list_display_links = ["run_short"]
    list_filter = ["status", "regression", "task_type", ErrorCodeFilter]
    search_fields = ["=run_id", "=evidence_id", "=batch__batch_id"]
    search_help_text = "Run id (rr_…), evidence id (ev_…) or batch id (rb_…), exact."
    list_select_related = ["batch"]
    fieldsets = [
        (None, {"fields": ["run_id", "batch_link", "evidence_link", "task_type", "status_display", "regression_display", "baseline_display", "error"]}),
        ("Validator", {"fields": ["validation_errors"]}),
        ("Response and baseline", {"fields": ["response_vs_baseline"]}),
        ("Bundle", {"fields": ["conversation", "bundle_sha256"]}),
        ("Retrieval", {"fields": ["retrieval_table"]}),
        ("Run", {"fields": [("provider", "model"), "cost_display", ("started_at", "finished_at")]}),
    ]
    readonly_fields = [f.name for f in ReplayRun._meta.fields if f.name not in ("bundle", "response", "validation", "retrieval")] + [
        "batch_link", "evidence_link", "status_display", "regression_display", "baseline_display",
        "validation_errors", "response_vs_baseline", "conversation", "retrieval_table", "cost_display",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).order_by(F("regression").desc(), "-started_at")

    @admin.display(description="batch", ordering="batch")
    def batch_link(self, obj: ReplayRun) -> str:
        return link_to(obj.batch)

    @admin.display(description="evidence")
    def evidence_link(self, obj: ReplayRun) -> str:
        return link_by_key(EvidenceRecord, obj.evidence_id, field="evidence_id")

    @admin.display(description="run", ordering="run_id")
    def run_short(self, obj: ReplayRun) -> str:
        return short_id(obj.run_id)

    @admin.display(description="batch", ordering="batch")
    def batch_short(self, obj: ReplayRun) -> str:
        return link_to(obj.batch, short_id(obj.batch_id))

    @admin.display(description="evidence")
    def evidence_short(self, obj: ReplayRun) -> str:
        # A list row links by search (no query per row).
        return changelist_link(EvidenceRecord, short_id(obj.evidence_id), q=obj.evidence_id)

    @admin.display(description="finished", ordering="finished_at")
    def finished(self, obj: ReplayRun) -> str:
        return short_time(obj.finished_at)

    @admin.display(description="status", ordering="status")
    def status_display(self, obj: ReplayRun) -> str:
        return status_badge(obj.status)

    @admin.display(description="regression", ordering="regression")
    def regression_display(self, obj: ReplayRun) -> str:
        return alert("REGRESSION") if obj.regression else _NO_REGRESSION

    @admin.display(description="baseline ok", ordering="baseline_ok")
    def baseline_display(self, obj: ReplayRun) -> str:
        return boolean_mark(obj.baseline_ok)


    @admin.display(description="cost (USD)", ordering="cost_usd")
    def cost_display(self, obj: ReplayRun) -> str:
        return format_cost(obj.cost_usd, 0)

    @admin.display(description="errors by code")
    def validation_errors(self, obj: ReplayRun) -> str:
        errors = (obj.validation or {}).get("errors") or []
        verdict = format_html("<p>verdict: {}</p>", status_badge("pass" if (obj.validation or {}).get("ok") else "fail"))
        if not errors:
            return verdict
        by_code: dict[str, list[dict[str, Any]]] = {}
        for error in errors:
            by_code.setdefault(error.get("code", "?"), []).append(error)
        rows = [{"code": code, "count": len(items), "messages": format_html_join(mark_safe("<br>"), "{}", ((e.get("message", ""),) for e in items))}
                for code, items in sorted(by_code.items())]
        return format_html('{}<div id="validator-errors">{}</div>', verdict, records_table(rows))

    @admin.display(description="side by side")
    def response_vs_baseline(self, obj: ReplayRun) -> str:
        response = obj.response or {}
        record = EvidenceRecord.objects.filter(evidence_id=obj.evidence_id).only("output", "verdict_ok", "model").first()
        usage = {key: response.get(key) for key in ("prompt_tokens", "completion_tokens", "latency_ms") if key in response}
        now = format_html('<div id="response"><h4>Replayed response ({}) {}</h4><div class="lh-text">{}</div>{}</div>',
                          obj.model or obj.provider, status_badge(obj.status), _message_text(response.get("text")), kv_table(usage))
        if record is None:
            then = mark_safe('<div id="baseline"><h4>Baseline</h4><span class="lh-muted">the evidence record is gone</span></div>')
        else:
            then = format_html('<div id="baseline"><h4>Baseline (recorded, {}) {}</h4>{}</div>',
                               record.model or "no model", boolean_mark(record.verdict_ok), kv_table(record.output))
        return format_html('<div class="lh-side-by-side">{}{}</div>', now, then)

    @admin.display(description="conversation")
    def conversation(self, obj: ReplayRun) -> str:
        messages_ = (obj.bundle or {}).get("messages") or []
        if not messages_:
            return mark_safe('<span class="lh-muted">no bundle (a search re-run, or the run failed before the bundle)</span>')
        parts = [format_html('<div class="lh-message lh-role-{}"><h4>{}</h4>{}</div>', m.get("role", "user"), m.get("role", "?"), _message_body(m.get("content")))
                 for m in messages_]
        text = (obj.response or {}).get("text")
        if text is not None:
            parts.append(format_html('<div class="lh-message lh-role-assistant"><h4>assistant (replayed)</h4><div class="lh-text">{}</div></div>', text))
        return format_html('<div class="lh-conversation" id="conversation">{}</div>', mark_safe("".join(parts)))

    @admin.display(description="retrieval")
    def retrieval_table(self, obj: ReplayRun) -> str:
        return kv_table(obj.retrieval)


def _message_text(text: Any) -> SafeString:
    return format_html("{}", text) if text not in (None, "") else mark_safe('<span class="lh-muted">(no answer)</span>')


def _message_body(content: Any) -> SafeString:
    """A structured user message (task + context) as tables, the candidates as one row each; plain
    text as text. Never the escaped JSON string the model was sent."""
    if isinstance(content, str):
        try:
            payload = json.loads(content)
        except ValueError:
            return format_html('<div class="lh-text">{}</div>', content)
    else:
        payload = content
    if not isinstance(payload, dict):
        return format_html('<div class="lh-text">{}</div>', content)
    context = dict(payload.get("context") or {})
    candidates = context.pop("candidates", None)
    parts = [format_html("<p><strong>task</strong> {}</p>{}", payload.get("task_type", ""), kv_table(payload.get("task")))]
    if candidates is not None:
        parts.append(format_html('<p><strong>candidates</strong> ({})</p><div class="lh-candidates">{}</div>', len(candidates), _candidates_table(candidates)))
    if context:
        parts.append(format_html("<p><strong>context</strong></p>{}", kv_table(context)))
    return mark_safe("".join(parts))


def _candidates_table(candidates: list[dict[str, Any]]) -> SafeString:
    ids = [c.get("worker_id") for c in candidates if isinstance(c, dict)]
    pks = dict(Worker.objects.filter(worker_id__in=ids).values_list("worker_id", "pk"))
    rows = []
    for candidate in candidates:
        row = dict(candidate)
        worker_id = row.get("worker_id")
        if worker_id in pks:
            row["worker_id"] = format_html('<a href="{}">{}</a>', admin_url(Worker, pks[worker_id]), worker_id)
        rows.append(row)
    return records_table(rows)


# ------------------------------------------------- "Replay this evidence" on the evidence records list
# Registered with apps.evidence.registry in ReplayConfig.ready(), so evidence imports nothing from here.


def may_replay(request: HttpRequest) -> bool:
    return is_operator(request.user)


@admin.action(description="Replay this evidence (queues a replay batch)")
def replay_selected(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset) -> HttpResponseRedirect | None:
    ids = list(queryset.values_list("evidence_id", flat=True)[:10_000])
    try:
        batch = create_batch(evidence_ids=ids, actor=request.user.get_username())
    except DomainError as exc:  # the broker down: the batch is already marked failed
        modeladmin.message_user(request, f"Not queued: {exc}", messages.ERROR)
        return None
    url = admin_url(batch)
    modeladmin.message_user(request, format_html('Replay batch <a href="{}">{}</a> queued for {} evidence record(s).', url, batch.batch_id, len(ids)), messages.SUCCESS)
    return HttpResponseRedirect(url)  # the batch's page follows it live
