"""Query counts of the lists and case pages users wait for (issue #9): the number of queries is
fixed and does not grow with the rows on the page, nor with a case's history.

Each test measures a page with few rows (or a short history), adds many more, measures again and
asserts the two counts are equal and within the page's budget."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Grant, Role
from mediation.services import cases
from petitions.models import Category, Organization
from petitions.services import workflow as wf
from tests.petitions.conftest import VALID_ID

pytestmark = pytest.mark.django_db

INSIDE = (121.555, 38.915)  # a point in cell 210204001001001 of the test hierarchy
# Exact query counts per page, measured: session, user, grants, then the page's own reads.
CASE_LIST = 6
CASE_PAGE = 13
OPEN311_LIST = 1
MEDIATION_PAGE = 12


def count_queries(client, url: str) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries), response


@pytest.fixture
def grid(hierarchy):
    """The test hierarchy in force since 2024, so cases received recently are placed in it."""
    from grid.models import Generation

    Generation.objects.filter(pk=hierarchy["generation"].pk).update(
        activated_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    )
    return hierarchy


def _ago(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def _cases(register, unit, n: int, start: int = 0) -> list:
    """n located cases in different categories, half routed (assign) to the handling unit."""
    categories = list(Category.objects.filter(parent__isnull=False).order_by("pk")[:8])
    out = []
    for i in range(start, start + n):
        p = register(
            summary=f"电梯停运{i}",
            location=INSIDE,
            category=categories[i % len(categories)],
            received_at=_ago(1 + i % 20),
        ).petition
        if i % 2:
            p = wf.petition_route(petition=p, actor=p.registered_by, decision="assign", unit=unit)
        out.append(p)
    return out


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?status=handling",
        "?area=210204001&overdue=&due_within=30",
        "?q=电梯&channel=letter&case_type=appeal",
    ],
)
def test_case_list_queries_do_not_grow_with_rows(
    client, grid, register, unit, bureau_user, query, django_assert_num_queries
):
    client.force_login(bureau_user)
    url = reverse("petitions:list") + query
    _cases(register, unit, 4)
    few, response = count_queries(client, url)
    shown = len(response.context["rows"])
    _cases(register, unit, 36, start=4)
    many, response = count_queries(client, url)
    assert len(response.context["rows"]) > shown
    assert many == few
    with django_assert_num_queries(CASE_LIST):
        client.get(url)


def test_case_list_category_filter_takes_the_same_queries(
    client, grid, register, unit, bureau_user
):
    client.force_login(bureau_user)
    _cases(register, unit, 40)
    parent = Category.objects.filter(parent__isnull=True, children__isnull=False).first()
    plain, _r = count_queries(client, reverse("petitions:list"))
    filtered, response = count_queries(client, reverse("petitions:list") + f"?category={parent.pk}")
    assert filtered == plain
    assert all(r["petition"].category.parent_id == parent.pk for r in response.context["rows"])


def _history(petition, actor, unit, notes: int):
    """Route, notify and add handling notes: a longer timeline, more actors and documents."""
    petition = wf.petition_route(petition=petition, actor=actor, decision="assign", unit=unit)
    petition = wf.petition_notify(petition=petition, actor=actor)
    for i in range(notes):
        petition = wf.petition_add_note(petition=petition, actor=actor, text=f"调查情况{i}")
    return petition


def test_case_page_queries_do_not_grow_with_history(
    client, grid, register, unit, clerk, bureau_user, django_assert_num_queries
):
    client.force_login(bureau_user)
    short = register(summary="短历史", location=INSIDE).petition
    long_ = register(
        summary="长历史",
        location=INSIDE,
        petitioners=[
            {"name": f"信访人{i}", "id_number": VALID_ID if i == 0 else "", "phone": "13812345678"}
            for i in range(6)
        ],
    ).petition
    short = wf.petition_route(petition=short, actor=clerk, decision="assign", unit=unit)
    other_clerk = _second_clerk()
    long_ = _history(long_, clerk, unit, notes=3)
    for i in range(12):  # notes by two different people: the actor of each event is shown
        wf.petition_add_note(petition=long_, actor=(clerk, other_clerk)[i % 2], text=f"补充{i}")
    few, _r = count_queries(client, reverse("petitions:detail", args=[short.pk]))
    many, response = count_queries(client, reverse("petitions:detail", args=[long_.pk]))
    assert len(response.context["timeline"]) >= 17
    assert response.context["petitioner_count"] == 6
    assert response.context["documents"], "the routing notice is listed"
    assert many == few
    with django_assert_num_queries(CASE_PAGE):
        client.get(reverse("petitions:detail", args=[long_.pk]))


def _second_clerk():
    from tests.factories import UserFactory

    user = UserFactory(username="clerk_two")
    Grant.objects.create(user=user, role=Role.STREET_CLERK, area_code="210204001")
    return user


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_open311_list_queries_do_not_grow_with_rows(
    client, grid, register, unit, fmt, django_assert_num_queries
):
    url = f"/open311/v2/requests.{fmt}?page_size=200"
    _cases(register, unit, 3)
    few, response = count_queries(client, url)
    _cases(register, unit, 37, start=3)
    many, response = count_queries(client, url)
    if fmt == "json":
        assert len(response.json()) == 40
    else:
        assert response.content.count(b"<request>") == 40
    assert many == few
    with django_assert_num_queries(OPEN311_LIST):
        client.get(url)


def test_mediation_case_page_queries_do_not_grow_with_sessions(
    client, open_case, mediator, committee, django_assert_num_queries
):
    client.force_login(mediator)
    short = open_case()
    long_ = open_case(summary="多次调解")
    for i in range(8):
        cases.mediation_session_add(
            case=long_,
            actor=mediator,
            held_at=dt.datetime(2026, 3, 6 + i, 9, tzinfo=dt.UTC),
            place=f"调解室{i}",
            attendees=["王甲", "李乙"],
            notes=f"第{i + 1}次调解",
        )
        long_.refresh_from_db()
    few, _r = count_queries(client, reverse("mediation:case-detail", args=[short.pk]))
    many, _r = count_queries(client, reverse("mediation:case-detail", args=[long_.pk]))
    assert many == few
    with django_assert_num_queries(MEDIATION_PAGE):
        client.get(reverse("mediation:case-detail", args=[long_.pk]))


def test_open311_lists_only_public_categories_without_extra_queries(client, grid, register, unit):
    """A private category among the rows changes neither the rows shown nor the query count."""
    _cases(register, unit, 10)
    before, response = count_queries(client, "/open311/v2/requests.json?page_size=200")
    shown = len(response.json())
    hidden = Category.objects.filter(parent__isnull=False).order_by("pk").first()
    Category.objects.filter(pk=hidden.pk).update(is_public=False)
    after, response = count_queries(client, "/open311/v2/requests.json?page_size=200")
    assert after == before
    assert len(response.json()) < shown
    assert Organization.objects.filter(pk=unit.pk).exists()


def test_open311_pages_without_counting(client, grid, register, unit):
    """The list reads only its page (no COUNT); a page below 1 or past the end is still a 400,
    an empty first page an empty list."""
    url = "/open311/v2/requests.json?page_size=2"
    assert client.get(url).json() == []
    _cases(register, unit, 3)
    with CaptureQueriesContext(connection) as ctx:
        second = client.get(url + "&page=2").json()
    assert len(second) == 1
    assert not any("COUNT(" in q["sql"] for q in ctx.captured_queries)
    for page in ("0", "-1", "3", "x"):
        r = client.get(url + f"&page={page}")
        assert r.status_code == 400, page
        assert r.json() == [{"code": 400, "description": "page / page_size 无效。"}]
