"""{% field_row field %}: one form field with its label, help and errors, as every form shows it.

The former `{% include "petitions/_field.html" %}` cost the template engine ~0.15 ms per field
(a context push, a `{% with %}`, a dozen lookups): the case list's filter form of ten fields
spent ~1.5 ms of a ~15 ms page there (issue #9). This writes the same markup in Python —
tests/test_field_row.py renders the former template over every project form, bound and unbound,
in both languages, and compares.
"""

from __future__ import annotations

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def field_row(field) -> SafeString:
    """The field's <div class="field …">: label (before the widget, or after a checkbox), the
    widget, help text and errors."""
    input_type = getattr(field.field.widget, "input_type", None)
    errors = field.errors
    css = f"field field--{conditional_escape(field.name)}"
    if errors:
        css += " field--error"
    if input_type == "checkbox":
        css += " field--check"
    label = conditional_escape(field.label)
    widget = conditional_escape(field)
    if input_type == "checkbox":
        body = f'<label for="{conditional_escape(field.id_for_label)}">{widget} {label}</label>'
    elif input_type == "radio":
        body = f'<span class="field__label">{label}</span>{widget}'
    else:
        body = f'<label for="{conditional_escape(field.id_for_label)}">{label}</label>{widget}'
    help_text = (
        f'<small class="field__help">{conditional_escape(field.help_text)}</small>'
        if field.help_text
        else ""
    )
    return mark_safe(  # noqa: S308 — every value above is escaped
        f'\n<div class="{css}">\n  \n    {body}\n  \n  {help_text}\n  '
        f"{conditional_escape(errors)}\n</div>\n\n"
    )
