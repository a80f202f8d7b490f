"""The staff UI (HTML pages): intake, case list filters and query counts, the case page (masked
personal data, only allowed actions, actions through their services, stale forms), scope (404),
documents, the home work panel, visits and reception days."""

import datetime as dt
import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Grant, Role
from petitions.models import (
    Petition,
    PetitionEvent,
    ReceptionDay,
    RepeatSubmission,
    Visit,
)
from petitions.services import workflow as wf
from tests.petitions.conftest import VALID_ID, bj

pytestmark = pytest.mark.django_db

CELL = "210204001001001"  # x 121.55–121.56, y 38.91–38.92 in the test hierarchy
INSIDE = (121.555, 38.915)
BAD_ID = VALID_ID[:-1] + "1"  # wrong GB 11643 check digit
CONFLICT = "该信访事项已被他人修改，请刷新后重试。"


@pytest.fixture
def grid(hierarchy):
    """The test hierarchy in force since 2024, so cases received "now" (to the minute, as the
    form sends it) are placed with it."""
    from grid.models import Generation

    Generation.objects.filter(pk=hierarchy["generation"].pk).update(activated_at=bj(2024, 1, 1))
    return hierarchy


@pytest.fixture
def web(client, clerk):
    client.force_login(clerk)
    return client


@pytest.fixture
def outsider_clerk(outsider):
    Grant.objects.create(user=outsider, role=Role.STREET_CLERK, area_code="210204002")
    return outsider


def _ago(days: int, hours: int = 0) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days, hours=hours)


def _receipts(response) -> list[str]:
    return [row["petition"].receipt_no for row in response.context["rows"]]


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _intake_data(category, **overrides) -> dict:
    data = {
        "intake_token": uuid.uuid4().hex,
        "channel": "visit",
        "source": "own",
        "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "case_type": "appeal",
        "category": str(category.pk),
        "summary": "小区电梯长期停运",
        "content": "住户反映电梯停运三个月无人维修。",
        "address": "测试1街道某小区3号楼",
        "lng": str(INSIDE[0]),
        "lat": str(INSIDE[1]),
        "manual_lng": "",
        "manual_lat": "",
        "crs": "wgs84",
        "cell": "",
        "cell_override_reason": "",
        "petitioners-TOTAL_FORMS": "5",
        "petitioners-INITIAL_FORMS": "0",
        "petitioners-MIN_NUM_FORMS": "0",
        "petitioners-MAX_NUM_FORMS": "50",
        "petitioners-0-name": "李四",
        "petitioners-0-id_number": VALID_ID,
        "petitioners-0-phone": "13812345678",
        "petitioners-0-address": "某小区3号楼",
    }
    data.update(overrides)
    return data


# --- Pages render ---------------------------------------------------------------------------------


def test_every_page_renders_for_the_clerk(web, grid, register, clerk, office):
    petition = register().petition
    day = ReceptionDay.objects.create(
        leader=clerk, date=dt.date(2026, 3, 5), place="街道接待室", organization=office
    )
    pages = [
        reverse("petitions:list"),
        reverse("petitions:new"),
        reverse("petitions:detail", args=[petition.pk]),
        reverse("petitions:work"),
        reverse("petitions:visits"),
        reverse("petitions:visit-new"),
        reverse("petitions:reception-days"),
        reverse("petitions:reception-day-new"),
        reverse("petitions:reception-day", args=[day.pk]),
        reverse("grid:home"),
    ]
    for url in pages:
        response = web.get(url)
        assert response.status_code == 200, url
        assert "<script>" not in response.content.decode(), url  # no inline script of ours


def test_intake_page_has_map_token_and_grouped_categories(web, grid):
    response = web.get(reverse("petitions:new"))
    html = response.content.decode()
    assert 'id="petitionmap"' in html
    assert 'id="petitionmap-config"' in html
    assert "petitions/intake.js" in html
    token = response.context["form"].initial["intake_token"]
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    assert f'value="{token}"' in html
    assert '<optgroup label="物业管理">' in html
    assert html.count('name="petitioners-') >= 5 * 5
    config = response.context["map_config"]
    assert config["extent"] == pytest.approx([121.55, 38.90, 121.59, 38.92])
    assert config["locateUrl"] == "/api/v1/grid/locate"


def test_pages_need_login(client):
    response = client.get(reverse("petitions:list"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_intake_refused_to_roles_that_do_not_register(client, grid, grid_worker):
    Grant.objects.create(user=grid_worker, role=Role.GRID_WORKER, area_code="210204001")
    client.force_login(grid_worker)
    assert client.get(reverse("petitions:new")).status_code == 403


# --- List --------------------------------------------------------------------------------------------


@pytest.fixture
def three_cases(register, clerk):
    overdue = register(summary="小区物业不履行维修义务", received_at=_ago(20)).petition
    due_soon = register(summary="道路施工噪声扰民", received_at=_ago(13)).petition
    handling = register(summary="楼道堆放杂物", received_at=_ago(1)).petition
    wf.petition_route(petition=handling, actor=clerk, decision="accept")
    return {"overdue": overdue, "due_soon": due_soon, "handling": handling}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["handling", "due_soon", "overdue"]),
        ({"status": "handling"}, ["handling"]),
        ({"status": "registered"}, ["due_soon", "overdue"]),
        ({"overdue": "1"}, ["overdue"]),
        ({"due_within": "3"}, ["due_soon"]),
        ({"q": "物业"}, ["overdue"]),
        ({"q": "噪声扰民"}, ["due_soon"]),
        ({"q": "不存在的内容"}, []),
        ({"status": "registered", "q": "楼道"}, []),
    ],
)
def test_list_filters(web, three_cases, query, expected):
    response = web.get(reverse("petitions:list"), query)
    assert response.status_code == 200
    assert _receipts(response) == [three_cases[k].receipt_no for k in expected]


def test_list_shows_deadline_days_and_overdue_in_red(web, three_cases):
    html = web.get(reverse("petitions:list")).content.decode()
    assert "已超期5天" in html
    assert "deadline--overdue" in html
    assert "剩余2天" in html
    assert "剩余59天" in html or "剩余60天" in html


def test_list_filters_by_category_parent_and_received_dates(web, register):
    from petitions.models import Category

    noise = Category.objects.get(code="0701")
    a = register(received_at=bj(2026, 3, 2, 10)).petition
    b = register(received_at=bj(2026, 4, 2, 10), category=noise).petition
    url = reverse("petitions:list")
    parent = Category.objects.get(code="07")
    assert _receipts(web.get(url, {"category": parent.pk})) == [b.receipt_no]
    assert _receipts(web.get(url, {"received_to": "2026-03-31"})) == [a.receipt_no]
    assert _receipts(web.get(url, {"received_from": "2026-04-01"})) == [b.receipt_no]
    assert _receipts(web.get(url, {"area": "210204002"})) == []


def _list_queries(web) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = web.get(reverse("petitions:list"))
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.context["rows"])


def test_list_query_count_does_not_grow_with_rows(
    web, grid, register, django_assert_max_num_queries
):
    for i in range(5):
        register(summary=f"案件{i}", location=INSIDE, received_at=_ago(i + 1))
    few, rows = _list_queries(web)
    assert rows == 5
    for i in range(25):
        register(summary=f"更多案件{i}", location=INSIDE, received_at=_ago(i + 1, 1))
    many, rows = _list_queries(web)
    assert rows == 30
    assert many == few
    with django_assert_max_num_queries(few):
        web.get(reverse("petitions:list"))


def test_list_paginates_by_50(web, register):
    for i in range(51):
        register(summary=f"案件{i}")
    first = web.get(reverse("petitions:list"))
    assert len(first.context["rows"]) == 50
    second = web.get(reverse("petitions:list"), {"page": 2})
    assert len(second.context["rows"]) == 1


# --- Case page -------------------------------------------------------------------------------------


def test_detail_masks_identity_number_and_phone(web, register):
    petition = register().petition
    html = web.get(reverse("petitions:detail", args=[petition.pk])).content.decode()
    assert "张三" in html
    assert "1101**********002X" in html
    assert "138****5678" in html
    assert VALID_ID not in html
    assert "13812345678" not in html


def test_detail_shows_deadlines_and_timeline(web, register, clerk):
    petition = register(received_at=_ago(3)).petition
    wf.petition_add_note(petition=petition, actor=clerk, text="已电话联系信访人")
    response = web.get(reverse("petitions:detail", args=[petition.pk]))
    html = response.content.decode()
    rows = {r["key"]: r for r in response.context["deadline_rows"]}
    assert rows["route_due"]["days"] == 12
    assert rows["route_due"]["text"] == "剩余12天"
    assert rows["notify_due"]["days"] == 12
    assert [t["label"] for t in response.context["timeline"]] == ["登记", "办理记录"]
    assert "已电话联系信访人" in html
    assert "已登记" in html
    assert "street_clerk" in html  # the actor


def test_registered_case_offers_routing_not_reply(web, register):
    petition = register().petition
    response = web.get(reverse("petitions:detail", args=[petition.pk]))
    names = [a["name"] for a in response.context["actions"]]
    assert names == ["route", "note", "relocate"]
    html = response.content.decode()
    assert 'id="action-route"' in html
    assert 'id="action-reply"' not in html
    assert reverse("petitions:act", args=[petition.pk, "reply"]) not in html


def test_handling_case_offers_reply_and_notify_not_routing(web, register, clerk):
    petition = register().petition
    wf.petition_route(petition=petition, actor=clerk, decision="accept")
    response = web.get(reverse("petitions:detail", args=[petition.pk]))
    names = [a["name"] for a in response.context["actions"]]
    assert names == ["notify", "assign_handler", "note", "extend", "reply", "relocate"]


def test_bureau_sees_supervise_and_review_actions(client, register, bureau_user, clerk):
    petition = register().petition
    wf.petition_route(petition=petition, actor=clerk, decision="accept")
    wf.petition_reply(petition=petition, actor=clerk, outcome="support", text="已维修")
    client.force_login(bureau_user)
    response = client.get(reverse("petitions:detail", args=[petition.pk]))
    names = [a["name"] for a in response.context["actions"]]
    assert names == ["note", "evaluate", "review_request", "close", "supervise", "relocate"]


def test_posting_route_runs_the_service_and_writes_the_event(web, register, unit):
    petition = register().petition
    response = web.post(
        reverse("petitions:act", args=[petition.pk, "route"]),
        {
            "version": petition.version,
            "decision": "assign",
            "unit": unit.pk,
            "reason": "属城建职责",
        },
        follow=True,
    )
    petition.refresh_from_db()
    assert petition.status == "handling"
    assert petition.handling_unit == unit
    event = PetitionEvent.objects.get(petition=petition, action="route_assign")
    assert event.payload["reason"] == "属城建职责"
    assert "已完成：受理 / 转送 / 交办 / 不予受理" in _messages(response)
    html = response.content.decode()
    assert "区城建局" in html  # the timeline resolves the unit id


def test_posting_reply_creates_the_opinion_document(web, register, clerk):
    petition = register().petition
    petition = wf.petition_route(petition=petition, actor=clerk, decision="accept")
    web.post(
        reverse("petitions:act", args=[petition.pk, "reply"]),
        {"version": petition.version, "outcome": "support", "text": "已责成物业公司维修。"},
    )
    petition.refresh_from_db()
    assert petition.status == "replied"
    document = petition.documents.get(kind="opinion")
    html = web.get(reverse("petitions:detail", args=[petition.pk])).content.decode()
    assert reverse("petitions:document", args=[petition.pk, document.pk]) in html
    assert reverse("petitions:document-pdf", args=[petition.pk, document.pk]) in html
    shown = web.get(reverse("petitions:document", args=[petition.pk, document.pk]))
    assert shown.status_code == 200
    assert petition.receipt_no in shown.content.decode()


def test_service_refusal_is_a_message(web, register):
    petition = register().petition
    response = web.post(
        reverse("petitions:act", args=[petition.pk, "route"]),
        {"version": petition.version, "decision": "reject", "reason": ""},
        follow=True,
    )
    assert "不予受理必须说明法定理由。" in _messages(response)
    petition.refresh_from_db()
    assert petition.status == "registered"


def test_action_not_allowed_now_is_refused(web, register):
    petition = register().petition
    response = web.post(
        reverse("petitions:act", args=[petition.pk, "reply"]),
        {"version": petition.version, "outcome": "support", "text": "x"},
        follow=True,
    )
    assert "当前不能执行“答复（处理意见书）”。" in _messages(response)
    assert PetitionEvent.objects.filter(petition=petition).count() == 1


def test_stale_form_gives_the_conflict_message(web, register, clerk):
    petition = register().petition
    stale = petition.version
    wf.petition_add_note(petition=petition, actor=clerk, text="别人先改了")
    response = web.post(
        reverse("petitions:act", args=[petition.pk, "route"]),
        {"version": stale, "decision": "accept", "reason": ""},
        follow=True,
    )
    assert CONFLICT in _messages(response)
    petition.refresh_from_db()
    assert petition.status == "registered"
    assert not PetitionEvent.objects.filter(petition=petition, action="route_accept").exists()


def test_extend_with_an_approver(web, register, clerk, bureau_user):
    petition = wf.petition_route(petition=register().petition, actor=clerk, decision="accept")
    due = petition.handle_due
    web.post(
        reverse("petitions:act", args=[petition.pk, "extend"]),
        {
            "version": petition.version,
            "days": 30,
            "reason": "需现场勘验",
            "approver": bureau_user.pk,
        },
    )
    petition.refresh_from_db()
    assert petition.extension_days == 30
    assert petition.extension_approved_by == bureau_user
    assert petition.handle_due == due + dt.timedelta(days=30)


def test_relocate_by_cell_code(web, grid, register):
    petition = register(location=INSIDE).petition
    assert petition.cell.code == CELL
    web.post(
        reverse("petitions:act", args=[petition.pk, "relocate"]),
        {"version": petition.version, "cell": "210204001001002", "reason": "实际在隔壁网格"},
    )
    petition.refresh_from_db()
    assert petition.cell.code == "210204001001002"
    response = web.post(
        reverse("petitions:act", args=[petition.pk, "relocate"]),
        {"version": petition.version, "cell": "999", "reason": "x"},
        follow=True,
    )
    assert "网格代码：当前边界版本中没有网格“999”。" in _messages(response)


def test_out_of_scope_case_is_404(client, register, outsider_clerk):
    petition = register().petition
    client.force_login(outsider_clerk)
    assert client.get(reverse("petitions:detail", args=[petition.pk])).status_code == 404
    response = client.post(
        reverse("petitions:act", args=[petition.pk, "route"]),
        {"version": petition.version, "decision": "accept"},
    )
    assert response.status_code == 404
    petition.refresh_from_db()
    assert petition.status == "registered"
    assert _receipts(client.get(reverse("petitions:list"))) == []


def test_unknown_action_is_404(web, register):
    petition = register().petition
    response = web.post(reverse("petitions:act", args=[petition.pk, "explode"]), {"version": 0})
    assert response.status_code == 404


def test_leader_sees_no_personal_data(client, register, leader):
    Grant.objects.create(user=leader, role=Role.LEADER, area_code="210204")
    petition = register().petition
    client.force_login(leader)
    response = client.get(reverse("petitions:detail", args=[petition.pk]))
    html = response.content.decode()
    assert "张三" not in html
    assert "1101**" not in html
    assert response.context["actions"] == []


# --- Intake -----------------------------------------------------------------------------------------


def test_intake_creates_one_case_and_a_repeated_post_no_second(web, grid, category):
    data = _intake_data(category)
    response = web.post(reverse("petitions:new"), data)
    petition = Petition.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("petitions:detail", args=[petition.pk])
    assert petition.cell.code == CELL
    assert petition.intake_token == data["intake_token"]
    assert petition.petitioners.get().name == "李四"

    page = web.get(response["Location"])
    code = page.context["receipt"]["query_code"]
    assert re.fullmatch(r"[A-Z2-9]{8}", code)
    assert code in page.content.decode()
    assert petition.receipt_no in page.content.decode()
    again = web.get(response["Location"])  # shown once
    assert again.context["receipt"] is None
    assert code not in again.content.decode()

    repeated = web.post(reverse("petitions:new"), data, follow=True)
    assert Petition.objects.count() == 1
    assert repeated.redirect_chain[-1][0] == reverse("petitions:detail", args=[petition.pk])
    assert "该登记已经提交过，没有重复登记。" in _messages(repeated)


def test_intake_with_gcj02_coordinates_typed(web, grid, category):
    from grid.coords import wgs84_to_gcj02

    lng, lat = wgs84_to_gcj02(*INSIDE)
    data = _intake_data(
        category, lng="", lat="", manual_lng=f"{lng:.7f}", manual_lat=f"{lat:.7f}", crs="gcj02"
    )
    web.post(reverse("petitions:new"), data)
    petition = Petition.objects.get()
    assert petition.cell.code == CELL
    assert petition.location.x == pytest.approx(INSIDE[0], abs=1e-5)


def test_intake_bad_identity_number_shows_field_error_and_saves_nothing(web, grid, category):
    data = _intake_data(category, **{"petitioners-0-id_number": BAD_ID})
    response = web.post(reverse("petitions:new"), data)
    assert response.status_code == 200
    assert Petition.objects.count() == 0
    formset = response.context["formset"]
    assert formset.forms[0].errors["id_number"] == ["身份证号校验位不正确，请核对。"]
    assert "身份证号校验位不正确，请核对。" in response.content.decode()


def test_intake_second_row_error_lands_on_that_row(web, grid, category):
    data = _intake_data(
        category,
        **{
            "petitioners-0-name": "",
            "petitioners-0-id_number": "",
            "petitioners-0-phone": "",
            "petitioners-0-address": "",
            "petitioners-2-name": "王五",
            "petitioners-2-phone": "12345",
        },
    )
    response = web.post(reverse("petitions:new"), data)
    assert Petition.objects.count() == 0
    forms = response.context["formset"].forms
    assert forms[2].errors["phone"] == ["电话号码格式不正确（11位手机号或带区号的固定电话）。"]
    assert not forms[0].errors


def test_intake_field_errors_from_form_and_service(web, grid, category):
    data = _intake_data(category, summary="", cell="210204001001002", cell_override_reason="")
    response = web.post(reverse("petitions:new"), data)
    assert response.context["form"].errors["summary"] == ["该字段是必填项。"]
    data = _intake_data(category, cell="210204001001002", cell_override_reason="")
    response = web.post(reverse("petitions:new"), data)
    assert response.context["form"].errors["cell_override_reason"] == ["手动指定网格必须说明理由。"]
    assert Petition.objects.count() == 0


def test_intake_repeat_candidates_link_or_register_new(web, grid, register, category):
    original = register(location=INSIDE, received_at=_ago(10)).petition
    data = _intake_data(category)  # same identity number, same category, same place

    shown = web.post(reverse("petitions:new"), data)
    assert shown.status_code == 200
    candidates = shown.context["candidates"]
    assert [c["petition"] for c in candidates] == [original]
    assert [str(r) for r in candidates[0]["reasons"]] == ["同一信访人", "同一问题分类", "200米以内"]
    assert Petition.objects.count() == 1
    assert 'name="link_repeat"' in shown.content.decode()

    linked = web.post(reverse("petitions:new"), {**data, "link_repeat": str(original.pk)})
    assert linked["Location"] == reverse("petitions:detail", args=[original.pk])
    assert Petition.objects.count() == 1
    repeat = RepeatSubmission.objects.get()
    assert repeat.petition == original
    assert repeat.channel == "visit"

    new = web.post(
        reverse("petitions:new"), {**data, "intake_token": uuid.uuid4().hex, "confirmed_new": "1"}
    )
    assert Petition.objects.count() == 2
    assert new["Location"] == reverse("petitions:detail", args=[Petition.objects.latest("pk").pk])


def test_intake_candidates_outside_scope_are_not_shown(
    client, grid, register, category, outsider_clerk
):
    from petitions.models import Organization

    register(location=INSIDE, received_at=_ago(10))
    Organization.objects.create(
        name="测试2街道办事处", kind=Organization.Kind.STREET_OFFICE, area_code="210204002"
    )
    client.force_login(outsider_clerk)
    response = client.post(reverse("petitions:new"), _intake_data(category))
    assert response.status_code == 302  # no visible candidate: registered straight away
    assert Petition.objects.count() == 2


# --- Home panel -------------------------------------------------------------------------------------


def test_work_panel_counts_and_links(web, three_cases):
    response = web.get(reverse("petitions:work"))
    sections = {s["key"]: s for s in response.context["sections"]}
    assert sections["overdue"]["count"] == 1
    assert sections["due_soon"]["count"] == 1
    assert sections["waiting"]["count"] == 2
    html = response.content.decode()
    assert three_cases["overdue"].receipt_no in html
    assert "?overdue=1" in html
    home = web.get(reverse("grid:home")).content.decode()
    assert 'data-url="/petitions/work/"' in home
    assert "petitions/petitions.js" in home


# --- Visits and reception days --------------------------------------------------------------------


def test_visit_record_with_representatives_and_linked_case(web, register):
    petition = register().petition
    url = reverse("petitions:visit-new")
    base = {
        "received_at": "2026-03-05T09:30",
        "headcount": "8",
        "representatives": "",
        "answered_on_spot": "on",
        "receipts": petition.receipt_no,
        "notes": "",
    }
    missing = web.post(url, base)
    assert missing.status_code == 200
    assert missing.context["form"].errors["representatives"] == [
        "5人以上的集体访应推选1至5名代表。"
    ]
    unknown = web.post(url, {**base, "representatives": "甲", "receipts": "XF-210204-2026-999999"})
    assert unknown.context["form"].errors["receipts"] == ["未找到信访事项：XF-210204-2026-999999"]
    assert Visit.objects.count() == 0

    done = web.post(url, {**base, "representatives": "赵一，钱二 孙三"})
    assert done["Location"] == reverse("petitions:visits")
    visit = Visit.objects.get()
    assert visit.representatives == ["赵一", "钱二", "孙三"]
    assert list(visit.petitions.all()) == [petition]
    assert visit.organization.area_code == "210204001"
    html = web.get(reverse("petitions:visits")).content.decode()
    assert "共 1 批 8 人次，当场答复 1 件，结案息访 0 件" in html
    assert petition.receipt_no in html


def test_reception_day_create_detail_and_totals(web, clerk, leader):
    Grant.objects.create(user=leader, role=Role.LEADER, area_code="210204")
    response = web.post(
        reverse("petitions:reception-day-new"),
        {
            "leader": leader.pk,
            "leader_title": "街道党工委书记",
            "date": "2026-03-05",
            "place": "街道信访接待室",
        },
    )
    day = ReceptionDay.objects.get()
    assert response["Location"] == reverse("petitions:reception-day", args=[day.pk])
    assert day.organization.area_code == "210204001"
    url = reverse("petitions:visit-new")
    for headcount, spot, resolved in ((1, "on", "on"), (3, "on", ""), (2, "", "")):
        data = {
            "received_at": "2026-03-05T10:00",
            "headcount": str(headcount),
            "reception_day": str(day.pk),
        }
        if spot:
            data["answered_on_spot"] = spot
        if resolved:
            data["resolved"] = resolved
        assert web.post(url, data).status_code == 302
    wrong_day = web.post(
        url, {"received_at": "2026-03-06T10:00", "headcount": "1", "reception_day": str(day.pk)}
    )
    assert wrong_day.context["form"].errors["received_at"] == ["来访时间不在该领导接访日当天。"]
    detail = web.get(reverse("petitions:reception-day", args=[day.pk]))
    assert detail.context["summary"] == {
        "batches": 3,
        "persons": 6,
        "answered_on_spot": 2,
        "resolved": 1,
    }
    listing = web.get(reverse("petitions:reception-days")).content.decode()
    assert "街道信访接待室" in listing


def test_reception_day_outside_scope_is_404(client, clerk, office, outsider_clerk):
    day = ReceptionDay.objects.create(
        leader=clerk, date=dt.date(2026, 3, 5), place="街道接待室", organization=office
    )
    client.force_login(outsider_clerk)
    assert client.get(reverse("petitions:reception-day", args=[day.pk])).status_code == 404


def test_due_within_zero_means_due_today(web, register):
    today = register(received_at=_ago(15)).petition
    register(received_at=_ago(14))
    assert _receipts(web.get(reverse("petitions:list"), {"due_within": "0"})) == [today.receipt_no]


# --- The whole statutory path through the case page ---------------------------------------------


def _act(client, petition, action, **data):
    petition.refresh_from_db()
    response = client.post(
        reverse("petitions:act", args=[petition.pk, action]),
        {"version": petition.version, **data},
        follow=True,
    )
    messages = _messages(response)
    assert any(m.startswith("已完成：") for m in messages), (action, messages)
    petition.refresh_from_db()
    return response


def test_intake_to_rereview_through_the_case_page(
    client, web, register, bureau_user, unit, unit_user
):
    petition = register().petition
    client.force_login(bureau_user)
    _act(client, petition, "route", decision="assign", unit=unit.pk, reason="交城建局办理")
    _act(client, petition, "notify")
    assert petition.documents.filter(kind="accept_notice").exists()

    client.force_login(unit_user)
    names = [
        a["name"]
        for a in client.get(reverse("petitions:detail", args=[petition.pk])).context["actions"]
    ]
    assert "object" in names and "route" not in names
    _act(client, petition, "object", reason="不属本局职责")
    assert petition.status == "objected"

    client.force_login(bureau_user)
    _act(client, petition, "objection_resolve", uphold="0", note="属城建职责")
    assert petition.status == "handling"
    _act(client, petition, "assign_handler", handler=unit_user.pk)
    assert petition.handler == unit_user
    _act(client, petition, "note", text="已到现场查看")
    _act(client, petition, "extend", days=10, reason="需第三方检测", approver=bureau_user.pk)
    _act(client, petition, "reply", outcome="explain", text="已责成物业维修，说明情况。")
    assert petition.status == "replied"
    _act(client, petition, "evaluate", evaluation="unsatisfied")
    _act(client, petition, "review_request", reason="不满意答复")
    assert petition.status == "review_requested"
    _act(client, petition, "review_answer", outcome="support", text="复查支持原意见。")
    assert petition.status == "reviewed"
    _act(client, petition, "rereview_request", reason="仍不满意")
    _act(client, petition, "hearing", days=5, note="组织听证")
    assert petition.hearing_days == 5
    _act(client, petition, "rereview_answer", outcome="support", text="复核维持。")
    assert petition.status == "closed"
    assert petition.is_final

    response = client.get(reverse("petitions:detail", args=[petition.pk]))
    assert [a["name"] for a in response.context["actions"]] == ["relocate"]
    actions = list(petition.events.values_list("action", flat=True))
    assert actions == [
        "register",
        "route_assign",
        "notify",
        "object",
        "objection_dismiss",
        "assign_handler",
        "note",
        "extend",
        "reply",
        "evaluate",
        "review_request",
        "review_answer",
        "rereview_request",
        "hearing",
        "rereview_answer",
    ]
    kinds = set(petition.documents.values_list("kind", flat=True))
    assert kinds == {
        "accept_notice",
        "extension_notice",
        "opinion",
        "review_opinion",
        "rereview_opinion",
    }
    labels = [t["label"] for t in response.context["timeline"]]
    assert labels[:3] == ["登记", "交办", "书面告知"]


def test_clerk_closes_a_replied_case_and_supervision_by_bureau(client, web, register, bureau_user):
    petition = register().petition
    _act(web, petition, "route", decision="accept")
    _act(web, petition, "reply", outcome="support", text="已解决。")
    client.force_login(bureau_user)
    _act(client, petition, "supervise", reason="群众反映强烈，督促落实")
    assert petition.supervisions.get().reason == "群众反映强烈，督促落实"
    _act(web, petition, "close")
    assert petition.status == "closed"
