"""Jurisdiction of the dispute and mediation selectors (SPEC §6): each role sees its own, and a
record outside the user's scope is a 404."""

import pytest
from django.http import Http404

from accounts.models import Grant, Role
from grid.models import GridAssignment
from mediation import selectors as sel
from mediation.models import MediationCase
from mediation.services import cases, screening
from tests.factories import UserFactory
from tests.mediation.conftest import CELL, INSIDE, INSIDE_NEIGHBOUR, NEIGHBOUR_CELL, PARTIES, D
from tests.petitions.conftest import bj

pytestmark = pytest.mark.django_db
STREET2_POINT = (121.575, 38.915)  # cell 210204002001001


@pytest.fixture
def world(record, open_case, worker, bureau_user, other_committee, other_mediator):
    """Disputes in CELL (worker's), in the neighbouring cell, in street 002, and one the worker
    recorded outside its cells; a case for each committee."""
    mine = record()
    neighbour = record(location=INSIDE_NEIGHBOUR, actor=bureau_user)
    street2 = record(location=STREET2_POINT, actor=bureau_user, risk_level="serious")
    recorded_elsewhere = record(location=STREET2_POINT, description="路过发现的纠纷")
    case1 = open_case(dispute=neighbour)
    case2 = open_case(
        dispute=street2,
        committee=other_committee,
        mediators=[other_mediator],
        actor=other_mediator,
        type="administrative",
    )
    return {
        "mine": mine,
        "neighbour": neighbour,
        "street2": street2,
        "recorded_elsewhere": recorded_elsewhere,
        "case1": case1,
        "case2": case2,
    }


def _pks(qs):
    return sorted(x.pk for x in qs)


def test_grid_worker_sees_disputes_in_its_cells_or_recorded_by_it(world, worker):
    assert world["neighbour"].cell.code == NEIGHBOUR_CELL  # same community, not the worker's cell
    assert _pks(sel.dispute_list(worker)) == _pks([world["mine"], world["recorded_elsewhere"]])
    assert sel.dispute_get(worker, world["mine"].pk) == world["mine"]
    for other in ("neighbour", "street2"):
        with pytest.raises(Http404):
            sel.dispute_get(worker, world[other].pk)
    assert list(sel.dispute_list(worker, {"mine": True, "q": "路过"})) == [
        world["recorded_elsewhere"]
    ]
    assert [c.code for c in sel.user_cells(worker)] == [CELL]
    # No cases were opened from the worker's disputes.
    assert list(sel.mediation_list(worker)) == []
    with pytest.raises(Http404):
        sel.mediation_get(worker, world["case1"].pk)


def test_grid_worker_sees_cases_opened_from_its_disputes(world, worker, open_case):
    c = open_case(dispute=world["mine"])
    assert list(sel.mediation_list(worker)) == [c]


def test_mediator_sees_its_committees_cases_only(world, mediator, other_mediator):
    assert list(sel.mediation_list(mediator)) == [world["case1"]]
    assert sel.mediation_get(mediator, world["case1"].pk) == world["case1"]
    with pytest.raises(Http404):
        sel.mediation_get(mediator, world["case2"].pk)
    assert list(sel.mediation_list(other_mediator)) == [world["case2"]]
    # …and the disputes of those cases, nothing else.
    assert list(sel.dispute_list(mediator)) == [world["neighbour"]]
    with pytest.raises(Http404):
        sel.dispute_get(mediator, world["mine"].pk)
    # Named on another committee's case: that case too.
    cases.mediation_assign(case=world["case2"], actor=other_mediator, mediators=[mediator])
    assert _pks(sel.mediation_list(mediator)) == _pks([world["case1"], world["case2"]])
    assert _pks(sel.mediation_list(mediator, {"mine": True})) == _pks(
        [world["case1"], world["case2"]]
    )
    assert list(sel.mediation_list(mediator, {"committee": world["case2"].committee_id})) == [
        world["case2"]
    ]


def test_area_roles_see_their_area(world, clerk, bureau_user, leader):
    street1 = [world["mine"], world["neighbour"]]
    assert _pks(sel.dispute_list(clerk)) == _pks(street1)
    with pytest.raises(Http404):
        sel.dispute_get(clerk, world["street2"].pk)
    assert list(sel.mediation_list(clerk)) == [world["case1"]]
    assert len(sel.dispute_list(bureau_user)) == 4
    assert len(sel.mediation_list(bureau_user)) == 2
    Grant.objects.create(user=leader, role=Role.LEADER, area_code="210204002")
    assert _pks(sel.dispute_list(leader)) == _pks([world["street2"], world["recorded_elsewhere"]])
    assert list(sel.mediation_list(leader)) == [world["case2"]]


def test_community_staff_sees_its_community(world):
    staff = UserFactory(username="community_staff")
    Grant.objects.create(user=staff, role=Role.COMMUNITY_STAFF, area_code="210204001001")
    assert _pks(sel.dispute_list(staff)) == _pks([world["mine"], world["neighbour"]])


def test_admin_sees_all_and_handling_units_and_strangers_nothing(
    world, admin_user, unit_user, outsider
):
    assert len(sel.dispute_list(admin_user)) == 4
    assert len(sel.mediation_list(admin_user)) == 2
    for user in (unit_user, outsider):  # outsider: a street clerk without grants
        assert list(sel.dispute_list(user)) == []
        assert list(sel.mediation_list(user)) == []
        assert list(sel.round_list(user)) == []
        with pytest.raises(Http404):
            sel.dispute_get(user, world["mine"].pk)
        with pytest.raises(Http404):
            sel.mediation_get(user, world["case1"].pk)


def test_bad_ids_are_404(world, admin_user):
    for bad in ("abc", None, 10**9):
        with pytest.raises(Http404):
            sel.dispute_get(admin_user, bad)
        with pytest.raises(Http404):
            sel.mediation_get(admin_user, bad)


def test_grid_assignments_of_a_retired_generation_do_not_count(
    world, worker, hierarchy, record, bureau_user
):
    from grid.models import Generation

    by_bureau = record(actor=bureau_user)
    assert by_bureau in sel.dispute_list(worker)
    Generation.objects.filter(pk=hierarchy["generation"].pk).update(status="retired")
    worker = type(worker).objects.get(pk=worker.pk)  # fresh: no cached cells
    assert list(sel.user_cells(worker)) == []
    assert _pks(sel.dispute_list(worker)) == _pks([world["mine"], world["recorded_elsewhere"]])


def test_dispute_filters(world, bureau_user, district_round, worker):
    in_round = screening.dispute_record(
        actor=worker,
        category="labour",
        party_count=12,
        party_names=[],
        description="拖欠工资",
        risk_level="major",
        location=INSIDE,
        round=district_round,
    )
    assert list(sel.dispute_list(bureau_user, {"round": district_round.pk})) == [in_round]
    assert list(sel.dispute_list(bureau_user, {"round": district_round})) == [in_round]
    assert list(sel.dispute_list(bureau_user, {"category": "labour"})) == [in_round]
    assert list(sel.dispute_list(bureau_user, {"risk_level": "serious"})) == [world["street2"]]
    assert _pks(sel.dispute_list(bureau_user, {"status": "in_mediation"})) == _pks(
        [world["neighbour"], world["street2"]]
    )
    assert len(sel.dispute_list(bureau_user, {"status": ["found", "in_mediation"]})) == 5
    assert _pks(sel.dispute_list(bureau_user, {"area": "210204002"})) == _pks(
        [world["street2"], world["recorded_elsewhere"]]
    )
    assert list(sel.dispute_list(bureau_user, {"q": f"#{in_round.pk}"})) == [in_round]
    assert list(sel.dispute_list(bureau_user, {"q": "工资"})) == [in_round]
    assert _pks(sel.dispute_list(bureau_user, {"mine": True})) == _pks(
        [world["neighbour"], world["street2"]]
    )


def test_mediation_filters(world, bureau_user, mediator):
    assert list(sel.mediation_list(bureau_user, {"type": "administrative"})) == [world["case2"]]
    assert list(sel.mediation_list(bureau_user, {"q": world["case2"].case_no})) == [world["case2"]]
    # Both cases were accepted on 2026-03-05: a month later they are overdue while open.
    assert len(sel.mediation_list(bureau_user, {"overdue": True})) == 2
    cases.mediation_terminate(
        case=world["case1"], actor=mediator, reason="分歧过大", other_routes=["litigation"]
    )
    assert list(sel.mediation_list(bureau_user, {"overdue": True})) == [world["case2"]]
    assert list(sel.mediation_list(bureau_user, {"status": "terminated"})) == [world["case1"]]
    assert list(sel.mediation_list(bureau_user, {"status": ["accepted"]})) == [world["case2"]]


def test_rounds_cover_and_lie_under_the_users_areas(bureau_user, clerk, worker, mediator):
    def round_(code, name):
        return screening.round_open(
            actor=bureau_user,
            name=name,
            period_start=D(2026, 3, 1),
            period_end=D(2026, 3, 31),
            area_code=code,
            now=bj(2026, 3, 1, 9),
        )

    district = round_("210204", "全区")
    street1 = round_("210204001", "测试1街道")
    street2 = round_("210204002", "测试2街道")
    community = round_("210204001002", "测试1街道南社区")
    assert _pks(sel.round_list(bureau_user)) == _pks([district, street1, street2, community])
    assert _pks(sel.round_list(clerk)) == _pks([district, street1, community])
    assert _pks(sel.round_list(worker)) == _pks([district, street1])  # covering CELL
    assert _pks(sel.round_list(mediator)) == _pks([district, street1])  # committee 210204001001
    assert sel.round_get(clerk, street1.pk) == street1
    with pytest.raises(Http404):
        sel.round_get(clerk, street2.pk)
    screening.round_close(round=district, actor=bureau_user)
    assert list(sel.round_list(clerk))[-1] == district  # open rounds first


def test_list_queries_are_bounded(world, worker, mediator, django_assert_max_num_queries):
    for user in (worker, mediator):
        user = type(user).objects.get(pk=user.pk)  # fresh: no cached grants
        with django_assert_max_num_queries(3):
            rows = list(sel.dispute_list(user))
            [(d.cell and d.cell.code, d.round) for d in rows]
        with django_assert_max_num_queries(2):
            rows = list(sel.mediation_list(user))
            [(c.committee.name, c.dispute and c.dispute.pk) for c in rows]


def test_second_assignment_widens_the_workers_view(world, worker, hierarchy):
    GridAssignment.objects.create(user=worker, cell=hierarchy["cells"][NEIGHBOUR_CELL])
    worker = type(worker).objects.get(pk=worker.pk)
    assert _pks(sel.dispute_list(worker)) == _pks(
        [world["mine"], world["neighbour"], world["recorded_elsewhere"]]
    )
    assert list(sel.mediation_list(worker)) == [world["case1"]]
    assert MediationCase.objects.count() == 2
    assert PARTIES and INSIDE


# --- Admin --------------------------------------------------------------------------------------


def test_admin_shows_every_model_and_events_are_read_only(world, client, admin_user, mediator):
    from django.contrib import admin

    from mediation import models as m

    a = cases.mediation_agree(
        case=world["case1"],
        actor=mediator,
        form="oral",
        facts="漏水",
        terms="赔偿2000元",
        performance_manner="一次性支付",
        reached_at=bj(2026, 3, 10, 10),
    )
    cases.follow_up_record(agreement=a, actor=mediator, performance="full")
    cases.confirmation_apply(agreement=a, actor=mediator, applied_at=D(2026, 3, 20), court="法院")
    client.force_login(admin_user)
    for model in (
        m.ScreeningRound,
        m.Dispute,
        m.DisputeEvent,
        m.MediationCase,
        m.MediationParty,
        m.MediationSession,
        m.Agreement,
        m.FollowUpVisit,
        m.JudicialConfirmation,
        m.MediationEvent,
    ):
        assert model in admin.site._registry
        url = f"/admin/mediation/{model._meta.model_name}/"
        assert client.get(url).status_code == 200, url
        obj = model.objects.first()
        if obj is not None:
            assert client.get(f"{url}{obj.pk}/change/").status_code == 200, url
    for model in (m.DisputeEvent, m.MediationEvent, m.Dispute, m.MediationCase):
        model_admin = admin.site._registry[model]
        request = type("R", (), {"user": admin_user})()
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)
    assert client.get("/admin/mediation/screeninground/add/").status_code == 200


def test_admin_opens_and_closes_rounds_through_the_services(client, admin_user):
    from mediation.models import ScreeningRound

    client.force_login(admin_user)
    response = client.post(
        "/admin/mediation/screeninground/add/",
        {
            "name": "2026年4月排查",
            "period_start": "2026-04-01",
            "period_end": "2026-04-30",
            "area_code": "210204001",
        },
    )
    assert response.status_code == 302
    r = ScreeningRound.objects.get()
    assert (r.status, r.opened_by, r.area_code) == ("open", admin_user, "210204001")
    response = client.post(
        "/admin/mediation/screeninground/add/",
        {"name": "坏", "period_start": "2026-04-01", "period_end": "2026-04-30", "area_code": "21"},
    )
    assert response.status_code == 200
    assert "区域代码应为6、9、12或15位数字。" in response.content.decode()
    response = client.post(
        "/admin/mediation/screeninground/",
        {"action": "close_rounds", "_selected_action": [r.pk]},
    )
    assert response.status_code == 302
    r.refresh_from_db()
    assert r.status == "closed" and r.closed_at is not None
