"""Strict query parameters (SPEC §5): a malformed value is a 400 naming the parameter, never ignored.

Django forms, and so django-filter, treat a query value they cannot use as "no filter": `?day=` and
`?kind=` are empty, `?sms_opt_out=0.5` is neither true nor false, `?page_size=1.5` falls back to the
default, and of `?page=1&page=x` only the last counts. A client then gets an unfiltered page and
believes it filtered. Here each of those is a field-level 400 instead. Free-text parameters stay as
they were: `?city=` is an empty text, which filters on nothing.

Unknown parameters are not rejected: schemathesis does not count an extra query parameter as invalid
data (`has_only_additional_properties_in_non_body_parameters`), and tolerating them lets clients add
cache-busters and tracking parameters.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from rest_framework.exceptions import ValidationError

GIVE_ONCE = "Give this parameter once."
NOT_EMPTY = "Give a value or leave the parameter out."
TRUE_OR_FALSE = "Must be true or false."
_BOOLEAN_SPELLINGS = {"true", "false", "True", "False", "1", "0"}  # what NullBooleanField reads
_INTEGER = re.compile(r"-?[0-9]+")
_DIGITS_KEPT = 30  # longer numbers compare like ±10**30: past any bound and any last page


def values_of(data: Any, name: str) -> list[str]:
    """Every value a query string gave for `name` (a QueryDict keeps repeats; a plain dict has one)."""
    if hasattr(data, "getlist"):
        return data.getlist(name)
    return [data[name]] if name in data else []


class StrictQueryForm(forms.Form):
    """The checks Django's forms leave out for query strings; the fields' own cleaning still runs."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name, field in self.fields.items():
            if name in self.errors:
                continue
            problem = strict_value_problem(field, values_of(self.data, self.add_prefix(name)))
            if problem:
                self.add_error(name, problem)
        return cleaned


def strict_value_problem(field: forms.Field, values: list[str]) -> str | None:
    if len(values) > 1 and not isinstance(field, forms.MultipleChoiceField):
        return GIVE_ONCE
    if len(values) != 1:
        return None
    value = values[0]
    if value == "" and not isinstance(field, forms.CharField):
        return NOT_EMPTY
    if isinstance(field, forms.NullBooleanField) and value not in _BOOLEAN_SPELLINGS:
        return TRUE_OR_FALSE
    return None


def query_integer(query: Any, name: str, *, default: int, minimum: int, maximum: int | None = None) -> int:
    """One integer query parameter, strictly: absent → `default`; anything but one integer in
    [minimum, maximum] → a 400 on `name`."""
    values = values_of(query, name)
    if not values:
        return default
    if len(values) > 1:
        raise ValidationError({name: [GIVE_ONCE]})
    if not _INTEGER.fullmatch(values[0]):
        raise ValidationError({name: ["A whole number is required."]})
    digits = values[0].lstrip("-")
    number = int(values[0]) if len(digits) <= _DIGITS_KEPT else (-1 if values[0].startswith("-") else 1) * 10**_DIGITS_KEPT
    if number < minimum:
        raise ValidationError({name: [f"Must be at least {minimum}."]})
    if maximum is not None and number > maximum:
        raise ValidationError({name: [f"Must be at most {maximum}."]})
    return number
