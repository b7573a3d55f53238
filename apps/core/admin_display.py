"""How the console shows things: JSON as key/value tables, status badges, progress bars and links to
records. Every admin imports these instead of keeping its own copy; all output is escaped HTML."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib.admin.utils import quote
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

# Status words of every job and run vocabulary, by the colour an operator reads them in.
_BADGE_COLOURS = {
    "succeeded": "ok", "finished": "ok", "pass": "ok", "ok": "ok", "ready": "ok", "filled": "ok", "accepted": "ok",
    "failed": "bad", "fail": "bad", "error": "bad", "down": "bad", "cancelled": "muted", "skipped": "muted", "rejected": "bad",
    "running": "busy", "queued": "busy", "building": "busy", "resetting": "busy", "cancelling": "busy",
}

_MAX_TABLE_DEPTH = 4  # deeper than this, a nested value is shown as indented JSON


def pretty_json(value: Any) -> SafeString:
    """Indented JSON in a wrapping <pre> (for values too irregular for a table)."""
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html('<pre class="lh-json">{}</pre>', text)


def kv_table(value: Any, *, _depth: int = 0) -> SafeString:
    """A dict as a two-column key/value table (nested dicts as nested tables), a list of flat dicts as
    a table with one column per key, a list of scalars as a comma list; "—" for nothing."""
    if value is None or value == "" or value == {} or value == []:
        return mark_safe('<span class="lh-muted">—</span>')
    if _depth >= _MAX_TABLE_DEPTH:
        return pretty_json(value)
    if isinstance(value, dict):
        rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", ((key, kv_table(item, _depth=_depth + 1)) for key, item in value.items()))
        return format_html('<table class="lh-kv">{}</table>', rows)
    if isinstance(value, list):
        if all(isinstance(item, dict) for item in value):
            return records_table(value, _depth=_depth)
        if all(not isinstance(item, (dict, list)) for item in value):
            return format_html_join(", ", "{}", ((item,) for item in value))
        return format_html_join("", "<div>{}</div>", ((kv_table(item, _depth=_depth + 1),) for item in value))
    if isinstance(value, bool):
        return boolean_mark(value)
    return format_html("{}", value)


def records_table(rows: list[dict[str, Any]], *, columns: list[str] | None = None, limit: int = 1000, _depth: int = 0) -> SafeString:
    """A list of dicts as one table, a column per key (in first-seen order unless `columns` names them)."""
    if not rows:
        return mark_safe('<span class="lh-muted">—</span>')
    if columns is None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
    head = format_html_join("", "<th>{}</th>", ((column,) for column in columns))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((kv_table(row.get(column), _depth=_depth + 1),) for column in columns)),) for row in rows[:limit]),
    )
    more = format_html('<p class="lh-muted">… and {} more</p>', len(rows) - limit) if len(rows) > limit else ""
    return format_html('<table class="lh-records"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>{}', head, body, more)


def boolean_mark(value: bool | None) -> SafeString:
    if value is None:
        return mark_safe('<span class="lh-muted">—</span>')
    return format_html('<span class="lh-badge lh-badge-{}">{}</span>', "ok" if value else "bad", "yes" if value else "no")


def status_badge(status: str) -> SafeString:
    """A coloured pill for a job or run status (green done, red failed, blue in flight, grey otherwise)."""
    colour = _BADGE_COLOURS.get(str(status).lower(), "muted")
    # job-status-<status> lets the live job page and tests find the badge by the status word itself.
    return format_html('<span class="lh-badge lh-badge-{} job-status job-status-{}">{}</span>', colour, status, status)


def progress_bar(percent: float | None) -> SafeString:
    value = max(0.0, min(100.0, float(percent or 0)))
    return format_html('<progress class="lh-progress" max="100" value="{}"></progress> {}%', value, round(value))


def alert(text: str, *, level: str = "bad") -> SafeString:
    """A red (or amber/green) alert pill, for the things an operator must not miss (regressions)."""
    return format_html('<span class="lh-alert lh-alert-{}">{}</span>', level, text)


def admin_url(model_or_obj: Any, pk: Any = None, *, view: str = "change") -> str | None:
    """The admin URL of a record (or of a model's changelist with view="changelist"); None when the
    model is not in the admin."""
    opts = model_or_obj._meta
    try:
        if view == "changelist":
            return reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        key = pk if pk is not None else model_or_obj.pk
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[quote(key)])
    except NoReverseMatch:
        return None


def link_to(obj: Any, text: Any = None) -> SafeString:
    """A link to a record's admin page, labelled with its business id (str(obj)) unless told."""
    if obj is None:
        return mark_safe('<span class="lh-muted">—</span>')
    url = admin_url(obj)
    label = obj if text is None else text
    return format_html('<a href="{}">{}</a>', url, label) if url else format_html("{}", label)


def link_by_key(model: Any, key: Any, *, field: str, text: Any = None) -> SafeString:
    """A link to the record of `model` whose `field` equals `key` (e.g. an evidence id kept as plain
    text on a replay run); the key as plain text when no such record exists."""
    if key in (None, ""):
        return mark_safe('<span class="lh-muted">—</span>')
    pk = model._default_manager.filter(**{field: key}).values_list("pk", flat=True).first()
    url = admin_url(model, pk) if pk is not None else None
    label = key if text is None else text
    return format_html('<a href="{}">{}</a>', url, label) if url else format_html("{}", label)


def changelist_link(model: Any, text: Any, **filters: Any) -> SafeString:
    """A link to a model's list, filtered (e.g. a batch's regression runs)."""
    url = admin_url(model, view="changelist")
    if not url:
        return format_html("{}", text)
    query = f"?{urlencode(filters)}" if filters else ""
    return format_html('<a href="{}{}">{}</a>', url, query, text)


def short_time(moment: Any) -> str:
    """A timestamp in list columns: local time to the minute ("2026-11-30 04:57"), "—" for none."""
    if moment is None:
        return "—"
    from django.utils import timezone

    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def short_id(key: str, *, keep: int = 11) -> SafeString:
    """A long generated id (rr_…, rb_…, ev_…) cut like a short git sha, the whole id on hover."""
    if len(key) <= keep + 1:
        return format_html("{}", key)
    return format_html('<span title="{}">{}…</span>', key, key[:keep])


def highlighted_text(text: str, findings: list[dict[str, Any]]) -> SafeString:
    """The text with each finding's [start, end) span wrapped in <mark> (its code on hover), the rest
    escaped; findings without offsets are skipped, and overlapping spans keep the first."""
    spans = sorted(
        (f["start"], f["end"], f.get("code", "")) for f in findings
        if isinstance(f.get("start"), int) and isinstance(f.get("end"), int) and 0 <= f["start"] < f["end"] <= len(text)
    )
    parts: list[SafeString] = []
    cursor = 0
    for start, end, code in spans:
        if start < cursor:
            continue
        parts.append(format_html("{}", text[cursor:start]))
        parts.append(format_html('<mark class="lh-mark" title="{}">{}</mark>', code, text[start:end]))
        cursor = end
    parts.append(format_html("{}", text[cursor:]))
    return mark_safe("".join(parts))
