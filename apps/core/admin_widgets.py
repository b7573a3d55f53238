"""Form fields for the console's list-valued columns (SPEC §6 "proper widgets"): a tag-like text box
split on commas with the vocabulary offered as a <datalist>, and a checkbox list for a closed
vocabulary. Both give the model a clean Python list; the model and service validation still decide."""

from __future__ import annotations

from typing import Any, Iterable

from django import forms
from django.utils.html import format_html, format_html_join


class TagInput(forms.TextInput):
    """"forklift, rf scanner" in a wide text box; the browser suggests the vocabulary as you type."""

    def __init__(self, *, name: str, vocabulary: Iterable[str], attrs: dict[str, Any] | None = None):
        self.datalist_id = f"vocabulary-{name}"
        self.vocabulary = sorted(set(vocabulary))
        super().__init__(attrs={"size": 60, "list": self.datalist_id, "placeholder": "comma-separated, e.g. " + ", ".join(self.vocabulary[:2]), **(attrs or {})})

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, (list, tuple)):
            return ", ".join(value)
        return super().format_value(value)

    def render(self, name, value, attrs=None, renderer=None):
        options = format_html_join("", '<option value="{}">', ((term,) for term in self.vocabulary))
        return format_html('{}<datalist id="{}">{}</datalist>', super().render(name, value, attrs, renderer), self.datalist_id, options)


class TagListField(forms.Field):
    """Comma-separated text → a list of trimmed, distinct terms (in the order typed)."""

    def __init__(self, *, name: str, vocabulary: Iterable[str], lower: bool = False, **kwargs: Any):
        self.lower = lower
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "Separate with commas; suggestions come from the vocabulary.")
        super().__init__(widget=TagInput(name=name, vocabulary=vocabulary), **kwargs)

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, (list, tuple)):
            terms = value
        else:
            terms = str(value or "").split(",")
        cleaned = (term.strip() for term in terms)
        return list(dict.fromkeys(term.lower() if self.lower else term for term in cleaned if term))


def checkbox_list_field(choices: Iterable[str], **kwargs: Any) -> forms.MultipleChoiceField:
    """A closed vocabulary (shifts, certifications) as a row of checkboxes."""
    kwargs.setdefault("required", False)
    return forms.MultipleChoiceField(choices=[(c, c) for c in choices], widget=forms.CheckboxSelectMultiple(attrs={"class": "lh-checkbox-row"}), **kwargs)
