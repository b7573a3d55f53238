"""Console for replay: batches (regressions first), their runs, and launching a day's replay."""

from __future__ import annotations

import json
from datetime import date

from django import forms
from django.contrib import admin, messages
from django.db.models import F
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.core.errors import DomainError
from apps.core.admin import InspectionAdmin, JobAdmin
from apps.core.roles import is_operator
from apps.replay.choices import REPLAYED_TASK_TYPES
from apps.replay.models import ReplayBatch, ReplayRun
from apps.replay.services import create_batch


def _pretty(value) -> str:
    return format_html("<pre style='white-space: pre-wrap'>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False, default=str))


class ReplayDayForm(forms.Form):
    day = forms.DateField(initial=date.today, help_text="replay the evidence of this day")
    task_types = forms.MultipleChoiceField(choices=[(t, t) for t in REPLAYED_TASK_TYPES], required=False, help_text="none = all")
    provider = forms.ChoiceField(choices=[("", "configured (CHAT_PROVIDER)"), ("local", "local"), ("openai", "openai"), ("ollama", "ollama")], required=False)
    model = forms.CharField(required=False)
    limit = forms.IntegerField(required=False, min_value=1)
    concurrency = forms.IntegerField(initial=4, min_value=1, max_value=32)


@admin.register(ReplayBatch)
class ReplayBatchAdmin(JobAdmin):
    deletable = True  # a batch goes with its runs (the JSONL log keeps their lines)

    list_display = ["batch_id", "status_display", "progress_display", "regressions", "pass_rate_display", "total", "passed", "failed", "errors", "skipped", "provider", "model", "created_at"]
    list_filter = ["status", "provider"]
    readonly_fields = [f.name for f in ReplayBatch._meta.fields] + ["pass_rate_display"]
    change_list_template = "admin/replay/replaybatch/change_list.html"

    def get_queryset(self, request):
        # Regressions first: the batches an operator has to look at.
        return super().get_queryset(request).order_by(F("regressions").desc(), "-created_at")

    @admin.display(description="pass rate")
    def pass_rate_display(self, obj: ReplayBatch) -> str:
        return "—" if obj.pass_rate is None else f"{obj.pass_rate:.1%}"

    def get_urls(self):
        return [path("replay-day/", self.admin_site.admin_view(self.replay_day_view), name="replay_replaybatch_replay_day")] + super().get_urls()

    def replay_day_view(self, request):
        form = ReplayDayForm(request.POST or None)
        if request.method == "POST" and is_operator(request.user) and form.is_valid():
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
            self.message_user(request, f"Replay batch {batch.batch_id} queued for {data['day']}; it runs in the Celery worker.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:replay_replaybatch_changelist"))
        context = {**self.admin_site.each_context(request), "title": "Replay a day of evidence", "form": form, "opts": self.model._meta}
        return TemplateResponse(request, "admin/replay/replay_day.html", context)


@admin.register(ReplayRun)
class ReplayRunAdmin(InspectionAdmin):
    list_display = ["run_id", "batch", "task_type", "status", "regression", "baseline_ok", "evidence_id", "finished_at"]
    list_filter = ["status", "regression", "task_type"]
    search_fields = ["run_id", "evidence_id", "batch__batch_id"]
    list_select_related = ["batch"]
    exclude = ["bundle", "response", "validation", "retrieval"]
    readonly_fields = [f.name for f in ReplayRun._meta.fields if f.name not in ("bundle", "response", "validation", "retrieval")] + [
        "validation_errors", "response_pretty", "bundle_pretty", "retrieval_pretty",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).order_by(F("regression").desc(), "-started_at")

    @admin.display(description="validation")
    def validation_errors(self, obj: ReplayRun) -> str:
        return _pretty(obj.validation)

    @admin.display(description="response")
    def response_pretty(self, obj: ReplayRun) -> str:
        return _pretty(obj.response)

    @admin.display(description="bundle")
    def bundle_pretty(self, obj: ReplayRun) -> str:
        return _pretty(obj.bundle)

    @admin.display(description="retrieval")
    def retrieval_pretty(self, obj: ReplayRun) -> str:
        return _pretty(obj.retrieval)


# ------------------------------------------------- "Replay this evidence" on the evidence records list
# Registered with apps.evidence.registry in ReplayConfig.ready(), so evidence imports nothing from here.


def may_replay(request: HttpRequest) -> bool:
    return is_operator(request.user)


@admin.action(description="Replay this evidence (queues a replay batch)")
def replay_selected(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset) -> None:
    ids = list(queryset.values_list("evidence_id", flat=True)[:10_000])
    batch = create_batch(evidence_ids=ids, actor=request.user.get_username())
    modeladmin.message_user(request, f"Replay batch {batch.batch_id} queued for {len(ids)} evidence record(s).", messages.SUCCESS)
