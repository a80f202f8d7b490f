"""{% field_row field %} (petitions/templatetags/fields.py) writes the markup the former
petitions/_field.html include wrote, for every field of every project form, bound with errors and
unbound, and for every widget kind, in both languages."""

import pytest
from django import forms
from django.template import Context, Template
from django.utils.translation import override

from petitions.templatetags.fields import field_row
from tests.test_renderers import Everything, _forms_of_the_project

pytestmark = pytest.mark.django_db

# petitions/_field.html as it was when {% field_row %} replaced it (issue #9).
FORMER = Template(
    "{% with input_type=field.field.widget.input_type %}\n"
    "<div class=\"field field--{{ field.name }}{% if field.errors %} field--error{% endif %}{% if input_type == 'checkbox' %} field--check{% endif %}\">\n"
    '  {% if input_type == "checkbox" %}\n'
    '    <label for="{{ field.id_for_label }}">{{ field }} {{ field.label }}</label>\n'
    '  {% elif input_type == "radio" %}\n'
    '    <span class="field__label">{{ field.label }}</span>{{ field }}\n'
    "  {% else %}\n"
    '    <label for="{{ field.id_for_label }}">{{ field.label }}</label>{{ field }}\n'
    "  {% endif %}\n"
    '  {% if field.help_text %}<small class="field__help">{{ field.help_text }}</small>{% endif %}\n'
    "  {{ field.errors }}\n"
    "</div>\n"
    "{% endwith %}\n"
)


class WithHelpAndChecks(forms.Form):
    agree = forms.BooleanField(label="同意 <条款>", help_text="必须 & 勾选")
    pick = forms.ChoiceField(
        choices=[("a", "A"), ("b", "B")], widget=forms.RadioSelect, help_text="<i>选一个</i>"
    )
    note = forms.CharField(label="说明", max_length=3, help_text="最多3字")


def _both(form) -> None:
    for field in form:
        want = FORMER.render(Context({"field": field}))
        assert field_row(field) == want, (type(form).__name__, field.name)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_project_form_unbound_and_bound(language):
    with override(language):
        project = _forms_of_the_project()
        assert len(project) >= 10
        for form in project:
            _both(form)
            bound = type(form)(data={})  # required fields left empty: every error shown
            bound.is_valid()
            _both(bound)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_widget_kind_with_help_and_errors(language):
    with override(language):
        _both(Everything())
        _both(WithHelpAndChecks())
        bound = WithHelpAndChecks(data={"note": "太长的说明", "pick": "z"})
        assert not bound.is_valid() and len(bound.errors) == 3
        _both(bound)
        html = field_row(bound["agree"])
        assert 'class="field field--agree field--error field--check"' in html
        assert "同意 &lt;条款&gt;" in html and "必须 &amp; 勾选" in html
