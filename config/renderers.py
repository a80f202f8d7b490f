"""The form renderer: Django's templates, with the commonest widgets rendered in Python.

Django renders every form widget through the template engine, and a `<select>` renders one
template per `<option>`: a filter form with the category tree (about a hundred options) or a case
page with its action forms cost 10–15 ms of CPU per request in widget templates alone (issue #9,
profiled with cProfile on the case list and the case page). This renderer builds the same HTML
for Django's own select, option, input-family and textarea templates in Python — byte for byte
what the templates produce (tests/test_renderers.py compares both on the project's forms) — and
hands every other template (radio lists, file inputs, whole-form layouts, project overrides) to
the template engine as before.

A project template that overrides one of these names (templates/django/forms/widgets/…) would
be ignored here; there is none, and the test fails if one appears.
"""

from __future__ import annotations

from django.forms.renderers import DjangoTemplates
from django.utils.formats import localize
from django.utils.html import conditional_escape

WIDGETS = "django/forms/widgets/"
# Django's widget templates whose whole content is {% include "django/forms/widgets/input.html" %}.
INPUT_TEMPLATES = frozenset(
    WIDGETS + name
    for name in (
        "input.html",
        "checkbox.html",
        "color.html",
        "date.html",
        "datetime.html",
        "email.html",
        "hidden.html",
        "number.html",
        "password.html",
        "search.html",
        "tel.html",
        "text.html",
        "time.html",
        "url.html",
    )
)
SELECT = WIDGETS + "select.html"
OPTION = WIDGETS + "select_option.html"
TEXTAREA = WIDGETS + "textarea.html"


def _var(value) -> str:
    """{{ value }}: localized, then escaped unless already safe."""
    return conditional_escape(localize(value))


def _s(value) -> str:
    """{{ value|stringformat:'s' }}: str() (safe input stays safe), escaped."""
    return conditional_escape(str(value))


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html."""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            out.append(f" {_var(name)}")
        else:
            out.append(f' {_var(name)}="{_s(value)}"')
    return "".join(out)


def _input(widget: dict) -> str:
    value = widget["value"]
    shown = f' value="{_s(value)}"' if value is not None else ""
    return f'<input type="{_var(widget["type"])}" name="{_var(widget["name"])}"{shown}{_attrs(widget["attrs"])}>'


def _option(widget: dict) -> str:
    return (
        f'<option value="{_s(widget["value"])}"{_attrs(widget["attrs"])}>'
        f"{_var(widget['label'])}</option>"
    )


def _textarea(widget: dict) -> str:
    value = widget["value"]
    return (
        f'<textarea name="{_var(widget["name"])}"{_attrs(widget["attrs"])}>\n'
        f"{_var(value) if value else ''}</textarea>"
    )


class FastRenderer(DjangoTemplates):
    """FORM_RENDERER: see the module docstring."""

    def render(self, template_name, context, request=None):
        if template_name in INPUT_TEMPLATES:
            return _input(context["widget"])
        if template_name == SELECT:
            return self._select(context, request)
        if template_name == OPTION:
            return _option(context["widget"])
        if template_name == TEXTAREA:
            return _textarea(context["widget"])
        return super().render(template_name, context, request=request)

    def _select(self, context, request) -> str:
        widget = context["widget"]
        parts = [f'<select name="{_var(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, group_choices, _index in widget["optgroups"]:
            if group_name:
                parts.append(f'\n  <optgroup label="{_var(group_name)}">')
            for option in group_choices:
                # {% include option.template_name with widget=option %}: an included template
                # keeps its file's final newline (only the renderer's own result is stripped).
                if option["template_name"] == OPTION:
                    html = _option(option) + "\n"
                else:
                    template = self.get_template(option["template_name"])
                    html = template.render({**context, "widget": option}, request=request)
                parts.append(f"\n  {html}")
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return "".join(parts)
