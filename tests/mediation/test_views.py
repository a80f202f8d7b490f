"""The grid worker's and the mediator's pages: rendering, recording a dispute (WGS-84 and GCJ-02),
the mediation case steps through the views, the printable agreement and termination notice (HTML
and PDF), 404 outside the user's scope, and only the steps allowed now being offered."""

import datetime as dt
import re
import subprocess
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccessLog, Grant, Role
from grid.coords import wgs84_to_gcj02
from grid.models import GridAssignment
from mediation.models import Agreement, Dispute, MediationCase
from mediation.services.cases import mediation_agree, mediation_open
from mediation.services.screening import dispute_record, round_open
from petitions.models import Organization
from tests.factories import UserFactory

BJ = ZoneInfo("Asia/Shanghai")
CELL = "210204001001001"  # x 121.55–121.56, y 38.91–38.92 in the hierarchy fixture
EAST_CELL = "210204001001002"  # x 121.56–121.57, same row
OTHER_CELL = "210204002002002"  # another street
# Near CELL's east edge: its GCJ-02 form lies ~500 m east, inside EAST_CELL, so reading GCJ-02 as
# WGS-84 would land the dispute in the wrong cell.
NEAR_EDGE = (121.558, 38.915)


@pytest.fixture
def worker(grid_worker, hierarchy):
    Grant.objects.create(user=grid_worker, role=Role.GRID_WORKER, area_code=CELL)
    GridAssignment.objects.create(user=grid_worker, cell=hierarchy["cells"][CELL], is_lead=True)
    return grid_worker


@pytest.fixture
def committee(db):
    return Organization.objects.create(
        name="测试1街道人民调解委员会", kind=Organization.Kind.COMMITTEE, area_code="210204001"
    )


@pytest.fixture
def other_committee(db):
    return Organization.objects.create(
        name="测试2街道人民调解委员会", kind=Organization.Kind.COMMITTEE, area_code="210204002"
    )


@pytest.fixture
def mediator(committee):
    user = UserFactory(username="mediator", first_name="调解员甲")
    Grant.objects.create(user=user, role=Role.MEDIATOR, organization=committee)
    return user


@pytest.fixture
def other_mediator(other_committee):
    user = UserFactory(username="mediator2")
    Grant.objects.create(user=user, role=Role.MEDIATOR, organization=other_committee)
    return user


@pytest.fixture
def round_(worker):
    return round_open(
        actor=worker,
        name="2026年3月矛盾纠纷排查",
        period_start=dt.date(2026, 3, 1),
        period_end=dt.date(2026, 3, 31),
        area_code="210204001",
    )


def record(actor, point=(121.555, 38.915), **kw):
    args = {
        "actor": actor,
        "category": "neighbour",
        "party_count": 2,
        "party_names": ["张三", "李四"],
        "description": "楼上漏水，邻里争执",
        "risk_level": "general",
        "location": point,
    }
    args.update(kw)
    return dispute_record(**args)


def open_case(committee, actor, mediators=(), days_ago=1, **kw):
    args = {
        "actor": actor,
        "type": "people",
        "source": "application",
        "committee": committee,
        "summary": "邻里漏水纠纷",
        "parties": [
            {"role": "applicant", "name": "张三", "phone": "13800000001", "address": "一号楼"},
            {"role": "respondent", "name": "李四", "phone": "", "address": "一号楼"},
        ],
        "mediators": list(mediators),
        "accepted_at": timezone.now() - dt.timedelta(days=days_ago),
    }
    args.update(kw)
    return mediation_open(**args)


def agree(case, actor, form="written", days_ago=0):
    return mediation_agree(
        case=case,
        actor=actor,
        form=form,
        facts="楼上住户卫生间漏水，损坏楼下吊顶。",
        terms="李四赔偿张三维修费一千元。",
        performance_manner="一次性现金支付",
        performance_deadline=timezone.localdate() + dt.timedelta(days=10),
        reached_at=timezone.now() - dt.timedelta(days=days_ago),
    )


def page_text(response) -> str:
    return response.content.decode()


def pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(content)
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    )
    # Justified CJK text may come out with spaces between characters.
    return re.sub(r"\s+", "", out.stdout.decode())


# --- grid worker ----------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("mediation:home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("grid:login"))


def test_home_shows_cells_round_and_open_disputes(client, worker, round_):
    mine = record(worker, round=round_)
    closed = record(worker, description="已化解的纠纷")
    Dispute.objects.filter(pk=closed.pk).update(status="resolved")
    client.force_login(worker)

    response = client.get(reverse("mediation:home"))

    assert response.status_code == 200
    html = page_text(response)
    assert f"<strong>{CELL}</strong> 测试1街道北社区第1网格" in html
    assert "2026年3月矛盾纠纷排查" in html
    assert reverse("mediation:dispute-detail", args=[mine.pk]) in html
    assert reverse("mediation:dispute-detail", args=[closed.pk]) not in html
    config = response.context["map_config"]
    assert [f["properties"]["code"] for f in config["cells"]["features"]] == [CELL]
    assert config["extent"] == pytest.approx([121.55, 38.91, 121.56, 38.92])
    assert [d["url"] for d in config["disputes"]] == [
        reverse("mediation:dispute-detail", args=[mine.pk])
    ]
    assert 'id="cellsmap-config"' in html
    assert "<script>" not in html.replace("<script nonce", "")  # django-leaflet's loader only
    # The header links to both parts.
    assert 'href="/mediation/">矛盾纠纷</a>' in html
    assert 'href="/mediation/cases/">调解案件</a>' in html


def test_record_form_renders_with_picker(client, worker, round_):
    client.force_login(worker)
    response = client.get(reverse("mediation:dispute-new"))
    assert response.status_code == 200
    html = page_text(response)
    assert 'id="use-location"' in html
    assert 'id="pickmap-config"' in html
    assert 'name="crs" value="gcj02"' in html
    assert "mediation/map.js" in html
    # The only open round is preselected.
    assert response.context["form"].fields["round"].initial == round_.pk


def dispute_post(**overrides):
    data = {
        "round": "",
        "category": "property_mgmt",
        "risk_level": "major",
        "party_count": "3",
        "party_names": "王五\n赵六、孙七",
        "description": "物业公司停水，业主聚集",
        "address": "中山路1号",
        "lng": "121.555",
        "lat": "38.915",
        "crs": "wgs84",
    }
    data.update(overrides)
    return data


def test_recording_a_dispute_places_it_in_the_cell(client, worker, round_):
    client.force_login(worker)

    response = client.post(
        reverse("mediation:dispute-new"), dispute_post(round=str(round_.pk)), follow=True
    )

    dispute = Dispute.objects.get()
    assert response.redirect_chain == [
        (reverse("mediation:dispute-detail", args=[dispute.pk]), 302)
    ]
    assert dispute.cell.code == CELL
    assert dispute.area_code == CELL
    assert dispute.round == round_
    assert dispute.recorded_by == worker
    assert dispute.party_names == ["王五", "赵六", "孙七"]
    assert (dispute.category, dispute.risk_level, dispute.status) == (
        "property_mgmt",
        "major",
        "found",
    )
    assert (dispute.location.x, dispute.location.y) == pytest.approx((121.555, 38.915))
    html = page_text(response)
    assert f'<dd id="dispute-cell">{CELL} 测试1街道北社区第1网格</dd>' in html
    assert "已登记矛盾纠纷，所在网格：210204001001001 测试1街道北社区第1网格" in html


def test_recording_gcj02_coordinates_converts_them(client, worker):
    lng, lat = wgs84_to_gcj02(*NEAR_EDGE)
    client.force_login(worker)

    response = client.post(
        reverse("mediation:dispute-new"),
        dispute_post(lng=f"{lng:.7f}", lat=f"{lat:.7f}", crs="gcj02"),
    )

    assert response.status_code == 302
    dispute = Dispute.objects.get()
    assert dispute.cell.code == CELL
    assert (dispute.location.x, dispute.location.y) == pytest.approx(NEAR_EDGE, abs=2e-6)
    # Read as WGS-84, the same numbers are in the neighbouring cell.
    response = client.post(
        reverse("mediation:dispute-new"), dispute_post(lng=f"{lng:.7f}", lat=f"{lat:.7f}")
    )
    assert Dispute.objects.latest("pk").cell.code == EAST_CELL


def test_record_form_errors_are_shown(client, worker):
    client.force_login(worker)
    response = client.post(
        reverse("mediation:dispute-new"),
        dispute_post(description="", lng="", lat="", address="", party_count="1"),
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["description"] == ["该字段是必填项。"]
    assert form.errors["address"] == ["请定位或在地图上点选位置，或填写地址。"]
    assert form.errors["party_names"] == ["填写的姓名多于当事人数。"]
    assert Dispute.objects.count() == 0


def test_record_into_a_closed_round_shows_the_service_error(client, worker, round_):
    from mediation.services.screening import round_close

    client.force_login(worker)
    form_rounds = reverse("mediation:dispute-new")
    round_close(round=round_, actor=worker)
    # A closed round is no longer offered; posting it anyway is a field error.
    response = client.post(form_rounds, dispute_post(round=str(round_.pk)))
    assert response.status_code == 400
    assert "round" in response.context["form"].errors
    assert Dispute.objects.count() == 0


def test_dispute_list_filters(client, worker):
    a = record(worker, risk_level="serious", category="labour")
    b = record(worker, risk_level="general")
    client.force_login(worker)

    response = client.get(reverse("mediation:dispute-list"), {"risk_level": "serious"})

    assert response.status_code == 200
    assert [d.pk for d in response.context["page"]] == [a.pk]
    response = client.get(reverse("mediation:dispute-list"), {"risk_level": "bogus"})
    assert {d.pk for d in response.context["page"]} == {a.pk, b.pk}
    response = client.get(reverse("mediation:dispute-list"), {"category": "labour", "mine": "1"})
    assert [d.pk for d in response.context["page"]] == [a.pk]


def test_dispute_detail_actions_follow_the_status(client, worker):
    dispute = record(worker)
    client.force_login(worker)
    url = reverse("mediation:dispute-detail", args=[dispute.pk])

    html = page_text(client.get(url))
    assert 'id="action-update"' in html
    assert 'id="action-close"' in html
    assert 'id="action-mediate"' in html

    response = client.post(
        reverse("mediation:dispute-close", args=[dispute.pk]),
        {"outcome": "resolve", "note": "已调处"},
    )
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == "resolved"
    html = page_text(client.get(url))
    assert 'id="action-update"' not in html
    assert 'id="action-close"' not in html
    assert 'id="action-mediate"' not in html
    assert "已化解" in html


def test_dispute_update_and_close_errors(client, worker):
    dispute = record(worker)
    client.force_login(worker)
    response = client.post(
        reverse("mediation:dispute-update", args=[dispute.pk]),
        {
            "category": "neighbour",
            "party_count": "2",
            "party_names": "张三\n李四",
            "description": "漏水已修，仍有争执",
            "risk_level": "major",
            "address": "一号楼",
            "version": str(dispute.version),
        },
    )
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert (dispute.risk_level, dispute.description) == ("major", "漏水已修，仍有争执")

    # A stale version is a conflict, shown on the page.
    response = client.post(
        reverse("mediation:dispute-update", args=[dispute.pk]),
        {
            "category": "neighbour",
            "party_count": "2",
            "party_names": "",
            "description": "x",
            "risk_level": "general",
            "version": "0",
        },
    )
    assert response.status_code == 400
    assert "该记录已被他人修改，请刷新后重试。" in page_text(response)

    # Diverting needs the route: the service's error is shown on the form.
    response = client.post(
        reverse("mediation:dispute-close", args=[dispute.pk]), {"outcome": "divert"}
    )
    assert response.status_code == 400
    assert response.context["close_form"].errors
    dispute.refresh_from_db()
    assert dispute.status == "found"


def test_dispute_out_of_scope_is_404(client, worker, hierarchy):
    stranger = UserFactory(username="stranger_worker")
    elsewhere = record(stranger, point=(121.585, 38.905))
    assert elsewhere.cell.code == OTHER_CELL
    client.force_login(worker)
    for name in ("mediation:dispute-detail",):
        assert client.get(reverse(name, args=[elsewhere.pk])).status_code == 404
    for name in ("mediation:dispute-update", "mediation:dispute-close"):
        assert client.post(reverse(name, args=[elsewhere.pk]), {}).status_code == 404
    assert client.get(reverse("mediation:case-open"), {"dispute": elsewhere.pk}).status_code == 404


def test_opening_a_case_from_a_dispute(client, worker, committee, mediator):
    dispute = record(worker)
    client.force_login(worker)
    url = reverse("mediation:case-open") + f"?dispute={dispute.pk}"
    response = client.get(url)
    assert response.status_code == 200
    formset = response.context["formset"]
    assert [f.initial for f in formset.forms] == [
        {"role": "applicant", "name": "张三"},
        {"role": "respondent", "name": "李四"},
        {},  # a blank row for a further party
    ]

    data = {
        "dispute": str(dispute.pk),
        "type": "people",
        "source": "application",
        "committee": str(committee.pk),
        "summary": "邻里漏水纠纷",
        "mediators": [str(mediator.pk)],
        "accepted_at": "",
        "party-TOTAL_FORMS": "2",
        "party-INITIAL_FORMS": "2",
        "party-MIN_NUM_FORMS": "2",
        "party-MAX_NUM_FORMS": "10",
        "party-0-role": "applicant",
        "party-0-name": "张三",
        "party-0-phone": "13800000001",
        "party-0-address": "一号楼101",
        "party-1-role": "respondent",
        "party-1-name": "李四",
        "party-1-phone": "",
        "party-1-address": "一号楼201",
    }
    response = client.post(url, data)

    case = MediationCase.objects.get()
    assert response.status_code == 302
    # The grid worker may follow the case opened from their dispute.
    assert response.url == reverse("mediation:case-detail", args=[case.pk])
    assert case.dispute == dispute
    assert list(case.mediators.all()) == [mediator]
    assert [(p.role, p.name) for p in case.parties.order_by("pk")] == [
        ("applicant", "张三"),
        ("respondent", "李四"),
    ]
    dispute.refresh_from_db()
    assert dispute.status == "in_mediation"
    html = page_text(client.get(reverse("mediation:dispute-detail", args=[dispute.pk])))
    assert case.case_no in html

    # Two applicants and no respondent: the service's error comes back on the page.
    dispute2 = record(worker)
    data.update({"dispute": str(dispute2.pk), "party-1-role": "applicant"})
    response = client.post(reverse("mediation:case-open") + f"?dispute={dispute2.pk}", data)
    assert response.status_code == 400
    assert response.context["formset"].non_form_errors() == ["至少需要一名申请人和一名被申请人。"]
    # Duplicate names are put on the row they came from.
    data.update({"party-1-role": "respondent", "party-1-name": "张三"})
    response = client.post(reverse("mediation:case-open") + f"?dispute={dispute2.pk}", data)
    assert response.status_code == 400
    assert response.context["formset"].forms[1].errors["name"] == ["当事人姓名重复，请加以区分。"]
    assert MediationCase.objects.count() == 1


# --- mediator -------------------------------------------------------------------------------


def test_case_list_flags_overdue_cases(client, mediator, committee, other_committee, db):
    fresh = open_case(committee, mediator, mediators=[mediator], days_ago=2)
    late = open_case(committee, mediator, days_ago=40)
    foreign = open_case(other_committee, mediator, days_ago=3)
    client.force_login(mediator)

    response = client.get(reverse("mediation:case-list"))

    assert response.status_code == 200
    assert [(c.case_no, overdue) for c, overdue in response.context["rows"]] == [
        (fresh.case_no, False),
        (late.case_no, True),
    ]
    html = page_text(response)
    assert f'<tr class="overdue" data-case="{late.case_no}">' in html
    assert f'<tr class="" data-case="{fresh.case_no}">' in html
    assert foreign.case_no not in html
    response = client.get(reverse("mediation:case-list"), {"overdue": "1"})
    assert [c.pk for c, _ in response.context["rows"]] == [late.pk]
    response = client.get(reverse("mediation:case-list"), {"mine": "1"})
    assert [c.pk for c, _ in response.context["rows"]] == [fresh.pk]


def test_case_page_renders_for_the_mediator(client, mediator, committee):
    case = open_case(committee, mediator, mediators=[mediator], days_ago=40)
    client.force_login(mediator)
    response = client.get(reverse("mediation:case-detail", args=[case.pk]))
    assert response.status_code == 200
    html = page_text(response)
    assert case.case_no in html
    assert 'id="case-overdue"' in html
    for action in ("assign", "refuse", "session", "agree", "terminate"):
        assert f'id="action-{action}"' in html
    # Nothing that needs an agreement yet.
    for absent in ('id="agreement-sign"', 'id="action-follow-up"', 'id="action-confirm-apply"'):
        assert absent not in html
    assert "调解员甲" in html


def sign_and_seal_through_views(client, case):
    url = reverse("mediation:case-action", args=[case.pk, "sign"])
    assert client.post(url, {"party_name": "张三"}).status_code == 302
    assert client.post(url, {"party_name": "李四"}).status_code == 302
    seal = reverse("mediation:case-action", args=[case.pk, "seal"])
    assert client.post(seal).status_code == 302


def test_written_agreement_flow(client, mediator, committee):
    case = open_case(committee, mediator, mediators=[mediator], days_ago=3)
    client.force_login(mediator)
    detail = reverse("mediation:case-detail", args=[case.pk])

    held = (timezone.localtime() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("mediation:case-action", args=[case.pk, "session"]),
        {"held_at": held, "place": "社区调解室", "attendees": "张三、李四、调解员甲"},
    )
    assert response.status_code == 302
    response = client.post(
        reverse("mediation:case-action", args=[case.pk, "agree"]),
        {
            "form": "written",
            "facts": "楼上住户卫生间漏水，损坏楼下吊顶。",
            "terms": "李四赔偿张三维修费一千元。",
            "performance_manner": "一次性现金支付",
            "performance_deadline": (timezone.localdate() + dt.timedelta(days=10)).isoformat(),
            "reached_at": "",
        },
    )
    assert response.status_code == 302
    html = page_text(client.get(detail))
    assert "未生效：须各方当事人签名并经调解组织盖章" in html
    assert 'data-party="张三"' in html and 'data-party="李四"' in html
    assert 'id="form-seal"' in html
    assert 'id="action-agree"' not in html
    assert 'id="action-terminate"' not in html
    assert 'id="action-follow-up"' not in html  # not effective yet

    url = reverse("mediation:case-action", args=[case.pk, "sign"])
    assert client.post(url, {"party_name": "张三"}).status_code == 302
    html = page_text(client.get(detail))
    assert 'data-party="张三"' not in html and 'data-party="李四"' in html
    # A name that is not a party: the service's error is shown.
    response = client.post(url, {"party_name": "王五"})
    assert response.status_code == 400
    assert "签名人不是本案当事人。" in page_text(response)
    assert client.post(url, {"party_name": "李四"}).status_code == 302
    assert client.post(reverse("mediation:case-action", args=[case.pk, "seal"])).status_code == 302

    agreement = Agreement.objects.get(case=case)
    assert agreement.effective_at is not None
    response = client.get(detail)
    html = page_text(response)
    effective = timezone.localtime(agreement.effective_at).strftime("%Y-%m-%d %H:%M")
    assert f"已生效（{effective}）" in html
    assert 'id="agreement-sign"' not in html
    assert 'id="action-follow-up"' in html
    due = (timezone.localtime(agreement.effective_at).date() + dt.timedelta(days=30)).isoformat()
    assert f"（{due} 前）" in html
    assert 'id="action-confirm-apply"' in html

    response = client.post(
        reverse("mediation:case-action", args=[case.pk, "follow-up"]),
        {"performance": "full", "notes": "已付清", "visited_at": ""},
    )
    assert response.status_code == 302
    response = client.post(
        reverse("mediation:case-action", args=[case.pk, "confirm-apply"]),
        {"applied_at": timezone.localdate().isoformat(), "court": "沙河口区人民法院"},
    )
    assert response.status_code == 302
    html = page_text(client.get(detail))
    assert "已履行" in html
    assert "沙河口区人民法院" in html
    assert 'id="action-confirm-apply"' not in html
    assert 'id="action-confirm-decide"' in html
    response = client.post(
        reverse("mediation:case-action", args=[case.pk, "confirm-decide"]),
        {"decision": "confirmed", "decided_at": timezone.localdate().isoformat()},
    )
    assert response.status_code == 302
    html = page_text(client.get(detail))
    assert "确认有效" in html
    assert 'id="action-confirm-decide"' not in html


def test_oral_agreement_is_effective_at_once(client, mediator, committee):
    case = open_case(committee, mediator, mediators=[mediator])
    client.force_login(mediator)
    response = client.post(
        reverse("mediation:case-action", args=[case.pk, "agree"]),
        {
            "form": "oral",
            "facts": "噪音扰邻",
            "terms": "晚十点后不再装修",
            "performance_manner": "自觉遵守",
        },
    )
    assert response.status_code == 302
    html = page_text(client.get(reverse("mediation:case-detail", args=[case.pk])))
    assert "已生效（" in html
    assert 'id="agreement-sign"' not in html
    assert 'id="form-seal"' not in html
    assert 'id="action-follow-up"' in html


def test_confirmation_window_error_is_shown(client, mediator, committee):
    case = open_case(committee, mediator, mediators=[mediator], days_ago=45)
    agree(case, mediator, form="oral", days_ago=40)
    client.force_login(mediator)
    response = client.post(
        reverse("mediation:case-action", args=[case.pk, "confirm-apply"]),
        {"applied_at": timezone.localdate().isoformat(), "court": "沙河口区人民法院"},
    )
    assert response.status_code == 400
    html = page_text(response)
    assert "司法确认应自调解协议生效之日起三十日内申请" in html
    assert response.context["forms"]["confirm_apply"].errors["__all__"]


def test_forbidden_action_is_not_rendered_and_refused(client, mediator, committee):
    case = open_case(committee, mediator, mediators=[mediator])
    agree(case, mediator, form="oral")
    client.force_login(mediator)
    html = page_text(client.get(reverse("mediation:case-detail", args=[case.pk])))
    for action in ("agree", "terminate", "refuse", "session", "assign"):
        assert f'id="action-{action}"' not in html
        assert reverse("mediation:case-action", args=[case.pk, action]) not in html

    response = client.post(
        reverse("mediation:case-action", args=[case.pk, "terminate"]),
        {"reason": "双方分歧太大", "other_routes": ["litigation"]},
    )
    assert response.status_code == 400
    assert "当前状态“调解成功”下不能执行此操作。" in page_text(response)
    case.refresh_from_db()
    assert case.status == "agreed"
    assert client.post(reverse("mediation:case-action", args=[case.pk, "bogus"])).status_code == 404


def test_agreement_document_html_and_pdf(client, mediator, committee, tmp_path):
    case = open_case(committee, mediator, mediators=[mediator])
    agree(case, mediator)
    client.force_login(mediator)
    sign_and_seal_through_views(client, case)

    response = client.get(reverse("mediation:agreement", args=[case.pk]))
    assert response.status_code == 200
    html = page_text(response)
    assert "<h1>人民调解协议书</h1>" in html
    assert f"编号：{case.case_no}" in html
    assert "李四赔偿张三维修费一千元。" in html
    # No inline style or script on the page (a strict CSP); the PDF carries its CSS inline.
    assert '<link rel="stylesheet" href="/static/mediation/document.css">' in html
    assert "<style" not in html and "<script" not in html

    response = client.get(reverse("mediation:agreement-pdf", args=[case.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="{case.case_no}-agreement.pdf"'
    text = pdf_text(response.content, tmp_path)
    assert "调解协议书" in text
    assert case.case_no in text
    assert "李四赔偿张三维修费一千元" in text
    assert "测试1街道人民调解委员会" in text
    assert response["Cache-Control"] == "private, no-store"
    # The documents name the parties: the page view and the PDF download are each logged once.
    logs = AccessLog.objects.filter(object_id=str(case.pk), action="document_download")
    assert list(logs.order_by("pk").values_list("username", "label", "detail")) == [
        (
            mediator.username,
            f"{case.case_no} 人民调解协议书",
            {"kind": "agreement", "format": "html"},
        ),
        (
            mediator.username,
            f"{case.case_no} 人民调解协议书",
            {"kind": "agreement", "format": "pdf"},
        ),
    ]
    # No termination notice for an agreed case (and nothing logged for a refused one).
    assert client.get(reverse("mediation:termination", args=[case.pk])).status_code == 404
    assert logs.count() == 2
    assert client.get(reverse("mediation:termination-pdf", args=[case.pk])).status_code == 404


def test_termination_through_the_view_and_notice(client, mediator, committee, tmp_path):
    case = open_case(committee, mediator, mediators=[mediator])
    client.force_login(mediator)
    assert client.get(reverse("mediation:agreement", args=[case.pk])).status_code == 404

    response = client.post(
        reverse("mediation:case-action", args=[case.pk, "terminate"]), {"reason": "双方分歧太大"}
    )
    assert response.status_code == 400
    assert response.context["forms"]["terminate"].errors["other_routes"] == [
        "请至少选择一种告知当事人的其他途径。"
    ]
    response = client.post(
        reverse("mediation:case-action", args=[case.pk, "terminate"]),
        {"reason": "双方分歧太大", "other_routes": ["litigation", "arbitration"]},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.other_routes) == ("terminated", ["litigation", "arbitration"])
    html = page_text(client.get(reverse("mediation:case-detail", args=[case.pk])))
    assert 'id="termination-links"' in html
    assert "<dd>诉讼、仲裁</dd>" in html

    response = client.get(reverse("mediation:termination", args=[case.pk]))
    assert response.status_code == 200
    assert "<h1>终止调解告知书</h1>" in page_text(response)
    response = client.get(reverse("mediation:termination-pdf", args=[case.pk]))
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content, tmp_path)
    assert "终止调解告知书" in text
    assert case.case_no in text
    assert "当事人可以依法通过诉讼、仲裁等途径维护自己的权利" in text


def test_cases_out_of_scope_are_404(client, mediator, committee, other_mediator):
    case = open_case(committee, mediator, mediators=[mediator])
    agree(case, mediator, form="oral")
    client.force_login(other_mediator)
    for name in (
        "mediation:case-detail",
        "mediation:agreement",
        "mediation:agreement-pdf",
        "mediation:termination",
    ):
        assert client.get(reverse(name, args=[case.pk])).status_code == 404
    url = reverse("mediation:case-action", args=[case.pk, "follow-up"])
    assert client.post(url, {"performance": "full"}).status_code == 404
    assert client.get(reverse("mediation:case-list")).context["rows"] == []


def test_grid_worker_cannot_see_unrelated_cases(client, worker, mediator, committee):
    case = open_case(committee, mediator)
    client.force_login(worker)
    assert client.get(reverse("mediation:case-detail", args=[case.pk])).status_code == 404
    assert client.get(reverse("mediation:case-list")).context["rows"] == []


def test_agreement_effective_state_when_sealed_first(client, mediator, committee):
    case = open_case(committee, mediator, mediators=[mediator])
    agree(case, mediator)
    client.force_login(mediator)
    assert client.post(reverse("mediation:case-action", args=[case.pk, "seal"])).status_code == 302
    html = page_text(client.get(reverse("mediation:case-detail", args=[case.pk])))
    assert 'id="form-seal"' not in html
    assert "未生效：须各方当事人签名并经调解组织盖章" in html
    assert timezone.localtime(Agreement.objects.get().sealed_at).strftime("%Y-%m-%d") in html


def test_times_are_shown_in_beijing_time(client, mediator, committee):
    accepted = dt.datetime(2026, 1, 5, 23, 30, tzinfo=BJ)
    case = open_case(committee, mediator, accepted_at=accepted)
    client.force_login(mediator)
    html = page_text(client.get(reverse("mediation:case-detail", args=[case.pk])))
    assert "<dt>受理时间</dt><dd>2026-01-05 23:30</dd>" in html
    assert '<dt>调解期限</dt><dd class="overdue">2026-02-05' in html


def test_lists_take_a_bounded_number_of_queries(
    client, worker, mediator, committee, django_assert_max_num_queries
):
    for _ in range(6):
        open_case(committee, mediator, mediators=[mediator], dispute=record(worker))
    client.force_login(mediator)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("mediation:case-list"))
    assert len(response.context["rows"]) == 6
    client.force_login(worker)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("mediation:dispute-list"))
    assert len(response.context["page"]) == 6
    with django_assert_max_num_queries(12):
        response = client.get(reverse("mediation:home"))
    assert len(response.context["disputes"]) == 6


# --- role rights: the pages offer and take what the API's ACTION_ROLES give -------------------

# Each role's grant reaches the disputes of CELL and the cases opened from them.
GRANT_AREAS = {
    Role.ADMIN: "",
    Role.BUREAU: "210204",
    Role.STREET_CLERK: "210204001",
    Role.COMMUNITY_STAFF: "210204001001",
    Role.LEADER: "210204",
}
SCREENING_ROLES = [
    Role.ADMIN,
    Role.BUREAU,
    Role.STREET_CLERK,
    Role.COMMUNITY_STAFF,
    Role.GRID_WORKER,
]
ACTION_IDS = re.compile(r'id="((?:action|form)-[\w-]+)"')


def user_for(role: str, worker):
    if role == Role.GRID_WORKER:
        return worker
    user = UserFactory(username=f"{role}_user")
    Grant.objects.create(user=user, role=role, area_code=GRANT_AREAS[role])
    return user


def action_ids(response) -> set[str]:
    assert response.status_code == 200
    return set(ACTION_IDS.findall(page_text(response)))


def case_open_data(dispute, committee, mediator) -> dict:
    return {
        "dispute": str(dispute.pk),
        "type": "people",
        "source": "application",
        "committee": str(committee.pk),
        "summary": "邻里漏水纠纷",
        "mediators": [str(mediator.pk)],
        "accepted_at": "",
        "party-TOTAL_FORMS": "2",
        "party-INITIAL_FORMS": "2",
        "party-MIN_NUM_FORMS": "2",
        "party-MAX_NUM_FORMS": "10",
        "party-0-role": "applicant",
        "party-0-name": "张三",
        "party-0-phone": "",
        "party-0-address": "",
        "party-1-role": "respondent",
        "party-1-name": "李四",
        "party-1-phone": "",
        "party-1-address": "",
    }


def failed_mediation(dispute, committee, mediator):
    """The committee's case from the dispute, terminated: the dispute is unresolved again and
    the committee's mediator reaches it through that case."""
    from mediation.services.cases import mediation_terminate

    case = open_case(committee, mediator, mediators=[mediator], dispute=dispute)
    mediation_terminate(
        case=case, actor=mediator, reason="双方分歧太大", other_routes=["litigation"]
    )
    dispute.refresh_from_db()
    assert dispute.status == "unresolved"
    return case


@pytest.mark.parametrize("role", SCREENING_ROLES)
def test_screening_roles_refer_a_dispute_on_the_page(client, role, worker, committee, mediator):
    dispute = record(worker)
    user = user_for(role, worker)
    client.force_login(user)
    url = reverse("mediation:case-open") + f"?dispute={dispute.pk}"
    assert client.get(url).status_code == 200

    response = client.post(url, case_open_data(dispute, committee, mediator))

    case = MediationCase.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("mediation:case-detail", args=[case.pk])
    assert (case.dispute, case.committee) == (dispute, committee)
    assert [e.actor for e in case.events.all()] == [user]
    dispute.refresh_from_db()
    assert dispute.status == "in_mediation"


def test_the_mediator_refers_again_on_the_page(client, worker, committee, mediator):
    dispute = record(worker)
    first = failed_mediation(dispute, committee, mediator)
    client.force_login(mediator)
    url = reverse("mediation:case-open") + f"?dispute={dispute.pk}"

    response = client.post(url, case_open_data(dispute, committee, mediator))

    second = MediationCase.objects.exclude(pk=first.pk).get()
    assert response.status_code == 302
    assert response.url == reverse("mediation:case-detail", args=[second.pk])
    assert second.dispute == dispute


def test_roles_without_the_right_cannot_refer_or_open_cases(client, worker, committee, mediator):
    dispute = record(worker)
    url = reverse("mediation:case-open") + f"?dispute={dispute.pk}"
    data = case_open_data(dispute, committee, mediator)
    leader = user_for(Role.LEADER, worker)
    client.force_login(leader)
    assert client.get(reverse("mediation:dispute-detail", args=[dispute.pk])).status_code == 200
    assert client.get(url).status_code == 403
    assert client.post(url, data).status_code == 403
    # A mediator of a committee without a case of the dispute does not reach it.
    client.force_login(mediator)
    assert client.get(url).status_code == 404
    assert client.post(url, data).status_code == 404
    assert MediationCase.objects.count() == 0

    # Without a dispute (a party's application) only the mediators' side opens a case, as the
    # API's cases/ does; the screening side refers disputes.
    plain = reverse("mediation:case-open")
    assert client.get(plain).status_code == 200
    for user in [user_for(role, worker) for role in SCREENING_ROLES[2:]] + [leader]:
        client.force_login(user)
        assert client.get(plain).status_code == 403, user
        assert client.post(plain, {**data, "dispute": ""}).status_code == 403, user
        response = client.get(reverse("mediation:case-list"))
        assert 'id="action-case-open"' not in page_text(response), user
    client.force_login(user_for(Role.BUREAU, worker))
    assert client.get(plain).status_code == 200
    assert 'id="action-case-open"' in page_text(client.get(reverse("mediation:case-list")))


@pytest.mark.parametrize("role", SCREENING_ROLES)
def test_dispute_page_offers_the_screening_side_every_step(client, role, worker):
    dispute = record(worker)
    client.force_login(user_for(role, worker))
    response = client.get(reverse("mediation:dispute-detail", args=[dispute.pk]))
    assert action_ids(response) == {"action-mediate", "action-update", "action-close"}


def test_dispute_page_offers_the_leader_and_mediator_only_their_steps(
    client, worker, committee, mediator
):
    dispute = record(worker)
    client.force_login(user_for(Role.LEADER, worker))
    url = reverse("mediation:dispute-detail", args=[dispute.pk])
    response = client.get(url)
    assert action_ids(response) == set()
    assert 'id="dispute-actions"' not in page_text(response)
    assert client.post(reverse("mediation:dispute-close", args=[dispute.pk]), {}).status_code == 403

    failed_mediation(dispute, committee, mediator)
    client.force_login(mediator)
    assert action_ids(client.get(url)) == {"action-mediate"}
    response = client.post(
        reverse("mediation:dispute-close", args=[dispute.pk]), {"outcome": "resolve"}
    )
    assert response.status_code == 403


# A case just accepted: the steps the mediators' side may take now.
ACCEPTED_STEPS = {
    "action-assign",
    "form-assign",
    "action-refuse",
    "form-refuse",
    "action-session",
    "form-session",
    "action-agree",
    "form-agree",
    "action-terminate",
    "form-terminate",
}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.ADMIN, ACCEPTED_STEPS),
        (Role.BUREAU, ACCEPTED_STEPS),
        (Role.MEDIATOR, ACCEPTED_STEPS),
        (Role.STREET_CLERK, set()),
        (Role.COMMUNITY_STAFF, set()),
        (Role.GRID_WORKER, set()),
        (Role.LEADER, set()),
    ],
)
def test_case_page_offers_the_steps_of_the_users_roles(
    client, role, expected, worker, committee, mediator
):
    case = open_case(committee, mediator, mediators=[mediator], dispute=record(worker))
    client.force_login(mediator if role == Role.MEDIATOR else user_for(role, worker))
    response = client.get(reverse("mediation:case-detail", args=[case.pk]))
    assert action_ids(response) == expected


def test_case_page_offers_follow_ups_to_grid_workers_and_signing_to_mediators(
    client, worker, committee, mediator
):
    clerk = user_for(Role.STREET_CLERK, worker)
    written = open_case(committee, mediator, mediators=[mediator], dispute=record(worker))
    agree(written, mediator, form="written")
    url = reverse("mediation:case-detail", args=[written.pk])
    client.force_login(mediator)
    response = client.get(url)
    assert action_ids(response) == {"form-seal"}
    assert page_text(response).count("data-party=") == 2
    for user in (worker, clerk):
        client.force_login(user)
        response = client.get(url)
        assert action_ids(response) == set()
        assert "data-party=" not in page_text(response)
    response = client.post(reverse("mediation:case-action", args=[written.pk, "seal"]))
    assert response.status_code == 403

    oral = open_case(committee, mediator, mediators=[mediator], dispute=record(worker))
    agree(oral, mediator, form="oral")
    url = reverse("mediation:case-detail", args=[oral.pk])
    client.force_login(mediator)
    assert action_ids(client.get(url)) == {
        "action-follow-up",
        "form-follow-up",
        "action-confirm-apply",
        "form-confirm-apply",
    }
    client.force_login(worker)
    assert action_ids(client.get(url)) == {"action-follow-up", "form-follow-up"}
    client.force_login(clerk)
    assert action_ids(client.get(url)) == set()
    response = client.post(
        reverse("mediation:case-action", args=[oral.pk, "follow-up"]), {"performance": "full"}
    )
    assert response.status_code == 403
