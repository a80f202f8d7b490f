"""The case list's rows written in Python (petitions/list_rows.py) give the HTML the former row
template gave, over cases in every deadline state, with and without a cell, with markup in their
text, in both languages; and the page still says when nothing matches."""

import datetime as dt

import pytest
from django.template import Context, Template
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from petitions.list_rows import deadline_html, rows_html
from petitions.models import Petition
from petitions.services import workflow as wf
from petitions.views import LIST_FIELDS, LIST_NAMES, _list_row

pytestmark = pytest.mark.django_db

# The row loop of petitions/list.html before issue #9 moved it to Python (the due date as the
# shared petitions/_deadline.html prints it).
FORMER_ROWS = Template(
    """{% load i18n %}{% translate "收到日期" as l_received %}{% translate "概要" as l_summary %}"""
    """{% translate "状态" as l_status %}{% translate "下一期限" as l_deadline %}"""
    """{% translate "网格" as l_cell %}
  {% for row in rows %}{% with p=row.petition d=row.deadline %}
    <tr class="petition-row{% if d.overdue %} petition-row--overdue{% endif %}">
      <td class="nowrap"><a href="{{ row.url }}">{{ p.receipt_no }}</a></td>
      <td data-label="{{ l_received }}">{{ row.received }}</td>
      <td data-label="{{ l_summary }}">{{ p.summary }}<br><small class="muted">{{ p.category }} · {{ p.get_case_type_display }}</small></td>
      <td data-label="{{ l_status }}"><span class="status status--{{ p.status }}">{{ p.get_status_display }}</span></td>
      <td data-label="{{ l_deadline }}">{% if d %}<span class="deadline{% if d.overdue %} deadline--overdue{% elif d.soon %} deadline--soon{% endif %}" title="{{ d.label }}">{{ d.label }} {{ d.date|date:"Y-m-d" }}（{{ d.text }}）</span>{% else %}<span class="muted">—</span>{% endif %}</td>
      <td data-label="{{ l_cell }}">{% if p.cell %}{{ p.cell.code }}{% else %}<span class="muted">{{ p.area_code }}</span>{% endif %}</td>
    </tr>
  {% endwith %}{% endfor %}"""  # noqa: E501
)


def _ago(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


@pytest.fixture
def cases(register, clerk, hierarchy):
    from grid.models import GridCell

    made = [
        register(summary="小区物业不履行维修义务", received_at=_ago(20)).petition,  # overdue
        register(summary='道路施工<b>噪声</b> & "扰民"', received_at=_ago(13)).petition,  # soon
        register(summary="楼道堆放杂物", received_at=_ago(1)).petition,
        register(summary="已办结事项 <script>alert(1)</script>", received_at=_ago(3)).petition,
    ]
    wf.petition_route(petition=made[2], actor=clerk, decision="accept")
    wf.petition_route(petition=made[3], actor=clerk, decision="reject", reason="不属于受理范围")
    cell = GridCell.objects.filter(generation=hierarchy["generation"]).first()
    Petition.objects.filter(pk=made[0].pk).update(cell=cell, area_code=cell.code)
    return made


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_rows_equal_the_former_template(cases, language):
    petitions = (
        Petition.objects.only(*LIST_FIELDS).annotate(**LIST_NAMES).order_by("-received_at", "-pk")
    )
    url = reverse("petitions:detail", args=[0]).replace("/0/", "/{}/")
    with translation.override(language):
        rows = [_list_row(p, url) for p in petitions]
        states = {bool(r["deadline"] and r["deadline"]["overdue"]) for r in rows}
        assert states == {True, False}  # an overdue row and others
        assert any(r["deadline"] is None for r in rows)  # the rejected case has none left
        assert any(r["petition"].cell_id for r in rows) and not all(
            r["petition"].cell_id for r in rows
        )
        expected = FORMER_ROWS.render(Context({"rows": rows}))
        got = rows_html(rows)
    # The former template opened with the blank line of its label tags; the rows are the same.
    assert "\n  " + got == expected
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in got and "<script>" not in got
    assert "&lt;b&gt;噪声&lt;/b&gt; &amp; &quot;扰民&quot;" in got


def test_each_deadline_state_has_its_class(cases):
    petitions = Petition.objects.annotate(**LIST_NAMES).order_by("received_at")
    url = reverse("petitions:detail", args=[0]).replace("/0/", "/{}/")
    html = rows_html([_list_row(p, url) for p in petitions])
    assert html.count('class="petition-row petition-row--overdue"') == 1
    assert "deadline deadline--overdue" in html and "deadline deadline--soon" in html
    assert f'href="/petitions/{cases[0].pk}/"' in html


def test_the_page_says_when_nothing_matches(client, clerk, cases):
    client.force_login(clerk)
    html = client.get(reverse("petitions:list"), {"q": "不存在的内容"}).content.decode()
    assert "没有符合条件的信访事项。" in html and "petition-row" not in html
    html = client.get(reverse("petitions:list")).content.decode()
    assert html.count('<tr class="petition-row') == 4 and "没有符合条件的信访事项。" not in html


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_deadline_is_the_shared_snippets(cases, language):
    """The case page and the work panel print a deadline with petitions/_deadline.html; the list
    must print the same (the snippet's file ends with a newline)."""
    petitions = Petition.objects.select_related("category__parent", "cell")
    with translation.override(language):
        infos = [_list_row(p, "/{}/")["deadline"] for p in petitions]
        assert {bool(i and i["overdue"]) for i in infos} == {True, False} and None in infos
        for d in infos:
            want = render_to_string("petitions/_deadline.html", {"d": d})
            assert deadline_html(d) + "\n" == want
