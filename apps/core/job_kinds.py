"""The registry of job kinds: name → model, task, cancel rule, idempotency, relaunch (SPEC §3.6).

Each app registers its kind from its AppConfig.ready(), so the core never imports the apps that use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from django.apps import apps as django_apps
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from apps.core.models import Job


@dataclass(frozen=True)
class JobKind:
    name: str
    model_label: str  # "app_label.Model"
    task_name: str  # dotted path of the Celery task that runs one job by id
    # Safe to run again from the start (automatic retry after a lost worker or a database error).
    idempotent: bool
    # A running job can be stopped at its next batch boundary; otherwise why it cannot (a 409).
    cancel_running: bool
    not_cancellable_reason: str = ""
    # (failed job, actor) → the new job row (with retry_of set), through the kind's own launch service.
    relaunch: Callable[["Job", str], "Job"] | None = None

    def model(self) -> type["Job"]:
        return django_apps.get_model(self.model_label)

    def task(self) -> Any:
        return import_string(self.task_name)


_KINDS: dict[str, JobKind] = {}


def register_job_kind(kind: JobKind) -> None:
    _KINDS[kind.name] = kind


def get_job_kind(name: str) -> JobKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise KeyError(f"unknown job kind {name!r} (known: {', '.join(sorted(_KINDS))})") from None


def all_job_kinds() -> list[JobKind]:
    return [_KINDS[name] for name in sorted(_KINDS)]


def kind_of_task(task_name: str) -> JobKind | None:
    return next((kind for kind in _KINDS.values() if kind.task_name == task_name), None)
