"""How the console shows a job's progress and status (every job admin and the unified jobs list)."""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.safestring import SafeString

_BADGE_COLOURS = {
    "queued": "#6b7280",
    "running": "#2563eb",
    "succeeded": "#15803d",
    "failed": "#b91c1c",
    "cancelled": "#92400e",
    "skipped": "#6b7280",
}


def progress_bar(percent: float | None) -> SafeString:
    value = max(0.0, min(100.0, float(percent or 0.0)))
    return format_html('<progress max="100" value="{}"></progress> {}%', value, round(value))


def status_badge(status: str) -> SafeString:
    colour = _BADGE_COLOURS.get(status, "#6b7280")
    return format_html(
        '<span class="job-status job-status-{}" style="color:#fff;background:{};border-radius:3px;padding:1px 6px">{}</span>',
        status, colour, status,
    )
