"""Template filters of the console: the same badges the admins' columns show."""

from django import template

from apps.core import admin_display

register = template.Library()
register.filter("status_badge", admin_display.status_badge)
