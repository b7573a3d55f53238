"""Shared pieces of the operators' console: read-only inspection admins, the job admin base and the
unified jobs list."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.core.errors import DomainError
from apps.core.admin_display import progress_bar, status_badge
from apps.core.choices import JobStatus


class InspectionAdmin(admin.ModelAdmin):
    """Rows that services write (jobs, runs, logs, playbooks): the console shows them read-only and
    never adds or edits one. `deletable` lets operators remove rows where that is safe."""

    deletable = False
    show_full_result_count = False  # a COUNT(*) over a big table on every page is what makes admins slow

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.deletable and super().has_delete_permission(request, obj)


class NoSaveButtonsMixin:
    """For admins that keep the change permission (their actions need it) but whose change page has
    nothing to edit: the page shows no Save buttons, only Close/Delete."""

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None):
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, extra_context)


class JobAdmin(InspectionAdmin):
    """Job rows (every kind): read-only, with status and progress shown the same way everywhere and
    Cancel / Retry buttons on the job's page that call the same services as the API."""

    change_form_template = "admin/core/job_change_form.html"

    @admin.display(description="status", ordering="status")
    def status_display(self, obj: Any) -> str:
        return status_badge(obj.status)

    @admin.display(description="progress")
    def progress_display(self, obj: Any) -> str:
        return progress_bar(obj.progress)

    def has_operate_permission(self, request: HttpRequest) -> bool:
        from apps.core.roles import is_operator

        return is_operator(request.user)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("<path:object_id>/cancel/", self.admin_site.admin_view(self.cancel_view), name="%s_%s_cancel" % info),
            path("<path:object_id>/retry/", self.admin_site.admin_view(self.retry_view), name="%s_%s_retry" % info),
        ] + super().get_urls()

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None):
        obj = self.get_object(request, unquote(object_id))
        operate = obj is not None and self.has_operate_permission(request)
        extra_context = {
            **(extra_context or {}),
            "can_cancel_job": operate and obj.status in (JobStatus.QUEUED, JobStatus.RUNNING) and not obj.cancel_requested,
            "can_retry_job": operate and obj.status in (JobStatus.FAILED, JobStatus.CANCELLED),
            "job_detail_url": obj and reverse("job-detail", args=[obj.job_kind, obj.pk]),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def _operate(self, request: HttpRequest, object_id: str, service) -> HttpResponse:
        if request.method != "POST" or not self.has_operate_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        try:
            result = service(kind=obj.job_kind, job_id=obj.pk, actor=request.user.get_username())
        except DomainError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            result = obj
        else:
            self.message_user(request, f"{obj.job_kind} job {result.pk}: {result.status}{' (stopping at the next batch)' if result.cancel_requested and result.status == JobStatus.RUNNING else ''}.", messages.SUCCESS)
        info = result._meta.app_label, result._meta.model_name
        return HttpResponseRedirect(reverse("admin:%s_%s_change" % info, args=[quote(result.pk)]))

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        from apps.core.services import cancel_job

        return self._operate(request, object_id, cancel_job)

    def retry_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        from apps.core.services import retry_job

        return self._operate(request, object_id, retry_job)


def all_jobs_view(request: HttpRequest) -> HttpResponse:
    """The unified jobs list of the console (every kind, newest first; filters kind and status)."""
    from apps.core.job_kinds import all_job_kinds
    from apps.core.selectors import count_jobs, list_jobs

    from apps.core.roles import is_operator

    if not is_operator(request.user):
        raise PermissionDenied
    kinds = [k.name for k in all_job_kinds()]
    kind = request.GET.get("kind") if request.GET.get("kind") in kinds else None
    status = request.GET.get("status") if request.GET.get("status") in JobStatus.values else None
    page_size = 100
    try:
        page = max(1, int(request.GET.get("page", 1)))
    except ValueError:
        page = 1
    total = count_jobs(kind=kind, status=status)
    rows = []
    for job in list_jobs(kind=kind, status=status, limit=page_size, offset=(page - 1) * page_size):
        info = job._meta.app_label, job._meta.model_name
        rows.append(
            {
                "job": job,
                "url": reverse("admin:%s_%s_change" % info, args=[quote(job.pk)]),
                "status": status_badge(job.status),
                "progress": progress_bar(job.progress),
            }
        )
    context = {
        **admin.site.each_context(request),
        "title": "Jobs",
        "rows": rows,
        "kinds": kinds,
        "statuses": JobStatus.values,
        "kind": kind,
        "status": status,
        "page": page,
        "total": total,
        "has_next": page * page_size < total,
    }
    return TemplateResponse(request, "admin/core/jobs_list.html", context)
