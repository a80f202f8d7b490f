"""config.renderers.FastRenderer builds byte-identical HTML to Django's widget templates."""

import datetime as dt
import importlib
import inspect
from pathlib import Path

import pytest
from django import forms
from django.conf import settings
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy, override

from config.renderers import INPUT_TEMPLATES, OPTION, SELECT, TEXTAREA, FastRenderer

ROOT = Path(settings.BASE_DIR)
DJANGO = DjangoTemplates()
FAST = FastRenderer()


class Everything(forms.Form):
    text = forms.CharField(label="文本", initial='a "quoted" <b>value</b> & more')
    safe = forms.CharField(initial=mark_safe("<i>safe</i>"))
    empty = forms.CharField(required=False, initial="")
    number = forms.IntegerField(initial=1234567, widget=forms.NumberInput(attrs={"step": 1}))
    decimal = forms.DecimalField(initial="12.50")
    hidden = forms.IntegerField(widget=forms.HiddenInput, initial=3)
    date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), initial=dt.date(2026, 11, 27)
    )
    when = forms.DateTimeField(initial=dt.datetime(2026, 11, 27, 9, 30))
    email = forms.EmailField(required=False)
    password = forms.CharField(widget=forms.PasswordInput(render_value=True), initial="x<y")
    flag = forms.BooleanField(required=False, initial=True)
    off = forms.BooleanField(required=False, initial=False)
    area = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "required": True}), initial="第一行\n<第二行>"
    )
    blank_area = forms.CharField(widget=forms.Textarea, required=False)
    choice = forms.ChoiceField(
        choices=[
            ("", gettext_lazy("全部")),
            ("a", "甲 & 乙"),
            (1, "<one>"),
            ("b", gettext_lazy("受理")),
        ],
        initial=1,
    )
    grouped = forms.ChoiceField(
        choices=[
            ("", "—"),
            ("组<1>", [(10, "十"), (11, "十一")]),
            ("组2", [("x", mark_safe("<b>x</b>"))]),
        ],
        initial="x",
    )
    multi = forms.MultipleChoiceField(
        choices=[("a", "A"), ("b", "B"), ("c", "C")], initial=["a", "c"]
    )
    disabled = forms.ChoiceField(
        choices=[("a", "A")],
        disabled=True,
        widget=forms.Select(attrs={"data-x": '"q"', "hidden": False}),
    )
    radio = forms.ChoiceField(
        choices=[("a", "A"), ("b", "B")], widget=forms.RadioSelect, initial="b"
    )


def _forms_of_the_project():
    """Every Form class of the project's forms modules that builds without arguments."""
    found = []
    for path in sorted(ROOT.glob("*/forms.py")) + sorted(ROOT.glob("*/forms/*.py")):
        module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__:
                try:
                    found.append(cls())
                except (TypeError, ValueError):  # needs a case or a user, or is abstract
                    continue
    return found


def _render(form, renderer) -> str:
    form.renderer = renderer
    return "".join(str(bf) for bf in form)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_widget_kind_matches_django(language):
    with override(language):
        for data in (
            None,
            {
                "text": "<x>",
                "choice": "a",
                "grouped": "11",
                "multi": ["b"],
                "flag": "on",
                "number": "bad",
            },
        ):
            fast, django = Everything(data), Everything(data)
            if data:
                fast.is_valid(), django.is_valid()
            assert _render(fast, FAST) == _render(django, DJANGO)
    assert '<option value="1" selected>&lt;one&gt;</option>' in _render(Everything(), FAST)


@pytest.mark.django_db
def test_the_project_forms_match_django():
    project_forms = _forms_of_the_project()
    assert len(project_forms) >= 10
    for form in project_forms:
        name = type(form).__name__
        # The same instance both ways: some forms draw a fresh token as their initial value.
        assert _render(form, FAST) == _render(form, DJANGO), name


def test_the_fast_templates_are_not_overridden_by_the_project():
    from django.apps import apps

    names = INPUT_TEMPLATES | {SELECT, OPTION, TEXTAREA}
    # The project's template dirs and every installed app's (Django's form renderer searches
    # them all), but Django's own forms templates.
    dirs = [Path(d) for d in settings.TEMPLATES[0]["DIRS"]]
    dirs += [Path(a.path) / "templates" for a in apps.get_app_configs() if a.name != "django.forms"]
    overrides = [name for d in dirs for name in names if (d / name).exists()]
    assert overrides == []


def test_it_is_the_configured_renderer():
    assert settings.FORM_RENDERER == "config.renderers.FastRenderer"
