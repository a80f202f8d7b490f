"""The case page's timeline written in Python (petitions/timeline_html.py) gives the HTML the
former template loop gave: every event kind the case below goes through, a system event without
an actor, payload values with markup, in both languages."""

import pytest
from django.template import Context, Template
from django.utils import translation

from petitions.models import PetitionEvent
from petitions.services import workflow as wf
from petitions.timeline_html import timeline_html
from petitions.views import timeline

pytestmark = pytest.mark.django_db

# The timeline loop of petitions/detail.html before issue #9 moved it to Python.
FORMER = Template(
    "{% load i18n %}"
    "{% for t in timeline %}\n"
    '    <li class="timeline__item timeline__item--{{ t.event.action }}">\n'
    '      <div class="timeline__head">\n'
    "        <strong>{{ t.label }}</strong>\n"
    '        <time datetime="{{ t.event.at|date:\'c\' }}">{{ t.event.at|date:"Y-m-d H:i" }}</time>\n'
    '        <span class="muted">{{ t.event.actor.get_username|default:_("系统") }}</span>\n'
    '        {% if t.from != t.to %}<span class="transition">{{ t.from|default:"—" }} → {{ t.to }}</span>{% endif %}\n'
    "      </div>\n"
    "      {% if t.payload %}\n"
    '      <dl class="timeline__payload">\n'
    '        {% for label, value in t.payload %}<dt>{{ label }}</dt><dd class="pre">{{ value }}</dd>{% endfor %}\n'
    "      </dl>\n"
    "      {% endif %}\n"
    "    </li>\n"
    "  {% endfor %}"
)


@pytest.fixture
def case(register, clerk, unit):
    petition = register(summary="小区<b>电梯</b>停运").petition
    petition = wf.petition_route(
        petition=petition, actor=clerk, decision="assign", unit=unit, reason='转 "城建" & <局>'
    )
    petition = wf.petition_add_note(petition=petition, actor=clerk, text="已联系<script>x</script>")
    PetitionEvent.objects.create(
        petition=petition, actor=None, at=petition.received_at, action="note",
        from_status=petition.status, to_status=petition.status, payload={"note": "系统 & 自动"},
    )  # fmt: skip
    return petition


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_timeline_equals_the_former_template(case, language):
    with translation.override(language):
        items = timeline(case)
        assert len(items) == 4
        assert any(t["from"] != t["to"] for t in items) and any(t["from"] == t["to"] for t in items)
        assert any(t["event"].actor is None for t in items) and all(t["payload"] for t in items[1:])
        expected = FORMER.render(Context({"timeline": items}))
        got = timeline_html(items)
        # What the case page writes: the items through the `timeline_html` filter.
        page = Template("{% load timeline %}{{ timeline|timeline_html }}")
        assert page.render(Context({"timeline": items})) == got
    assert got == expected
    assert "&lt;script&gt;" in got and "<script>" not in got


def test_no_events_no_items(register):
    assert timeline_html([]) == FORMER.render(Context({"timeline": []})) == ""
