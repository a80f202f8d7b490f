"""The demo cases of `make demo`: 24 months, every status and channel, all made by the services."""

import datetime as dt
import re
from collections import defaultdict
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from accounts.models import Grant
from petitions import deadlines
from petitions.models import (
    Document,
    Petition,
    PetitionEvent,
    ReceptionDay,
    RepeatSubmission,
    Status,
    Visit,
)
from petitions.services.demo import SERIES, petitions_demo_build, petitions_demo_exists
from petitions.services.visits import visit_totals
from petitions.validators import validate_id_number, validate_phone

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 10, 15)
HORIZON = dt.datetime(2026, 10, 15, 17, 30, tzinfo=deadlines.TZ)


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    """One build for the module (it takes seconds), rolled back when the module is done: the
    same outer-transaction pattern as Django's setUpTestData; each test runs in a savepoint."""
    from django.test import override_settings

    from grid.services.generations import generation_activate
    from tests.conftest import ensure_reference_data
    from tests.factories import build_hierarchy

    with django_db_blocker.unblock(), transaction.atomic():
        ensure_reference_data()
        with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
            generation_activate(generation=build_hierarchy()["generation"])
            summary = petitions_demo_build(seed=7, months=24, per_month=12, today=TODAY)
        yield summary
        transaction.set_rollback(True)


def _months_back(n: int) -> list[tuple[int, int]]:
    index = TODAY.year * 12 + TODAY.month - 1
    return [((index - k) // 12, (index - k) % 12 + 1) for k in range(n - 1, -1, -1)]


# Runs before the module's shared build exists (tests run in file order).
def test_command_is_idempotent_and_rebuilds(hierarchy):
    out = StringIO()
    call_command("petitions_demo", months=2, per_month=10, today=TODAY, stdout=out)
    assert "已生成演示信访事项 20 件" in out.getvalue()
    assert petitions_demo_exists()
    first = list(Petition.objects.order_by("pk").values_list("receipt_no", flat=True))
    events = PetitionEvent.objects.count()

    out = StringIO()
    call_command("petitions_demo", months=2, per_month=10, today=TODAY, stdout=out)
    assert "已有演示信访数据，不重复生成" in out.getvalue()
    assert list(Petition.objects.order_by("pk").values_list("receipt_no", flat=True)) == first
    assert PetitionEvent.objects.count() == events

    out = StringIO()
    call_command("petitions_demo", months=2, per_month=10, today=TODAY, rebuild=True, stdout=out)
    assert "已删除原有演示数据" in out.getvalue()
    assert sorted(Petition.objects.values_list("receipt_no", flat=True)) == sorted(first)
    assert ReceptionDay.objects.count() == 1  # September's; October's is after TODAY
    assert {p.status for p in Petition.objects.all()} == set(Status.values)


def test_every_status_and_channel_over_24_months(built):
    cases = list(Petition.objects.all())
    assert len(cases) == 24 * 12 == built["petitions"]
    assert {p.status for p in cases} == set(Status.values)
    assert {p.channel for p in cases} == set(Petition.Channel.values)
    months = {(d.year, d.month) for d in (deadlines.local_date(p.received_at) for p in cases)}
    assert months == set(_months_back(24))
    assert all(p.received_at <= HORIZON for p in cases)
    assert built["by_status"] == {
        s: sum(p.status == s for p in cases) for s in {p.status for p in cases}
    }


def test_receipt_numbers_unique_gap_free_and_chronological(built):
    by_year = defaultdict(list)
    for p in Petition.objects.order_by("received_at", "pk"):
        assert p.year == deadlines.local_date(p.received_at).year
        assert p.receipt_no == f"XF-210204-{p.year}-{p.seq:06d}"
        by_year[p.year].append(p.seq)
    assert sorted(by_year) == [2024, 2025, 2026]
    for seqs in by_year.values():
        assert seqs == list(range(1, len(seqs) + 1))  # gap-free, in order of receipt
    assert Petition.objects.values("receipt_no").distinct().count() == Petition.objects.count()


def test_every_case_history_is_made_by_the_services(built):
    events = defaultdict(list)
    for e in PetitionEvent.objects.order_by("pk"):
        events[e.petition_id].append(e)
    for p in Petition.objects.all():
        history = events[p.pk]
        assert history[0].action == "register"
        assert history[0].at == p.received_at
        assert [e.at for e in history] == sorted(e.at for e in history)
        assert history[-1].to_status == p.status
        assert all(e.at <= HORIZON and e.recorded_at == e.at for e in history)
        for before, after in zip(history, history[1:], strict=False):
            assert after.from_status in ("", before.to_status)


def test_due_dates_follow_the_deadline_module(built):
    for p in Petition.objects.all():
        assert p.route_due == deadlines.route_due(p.received_at)
        assert p.notify_due == (None if p.anonymous else deadlines.notify_due(p.received_at))
        if p.accepted_at:
            assert p.handle_due == deadlines.handle_due(p.accepted_at, p.extension_days)
        if p.routing in ("forward", "assign"):
            assert p.objection_due == deadlines.objection_due(p.routed_at)
        if p.replied_at:
            assert p.review_request_due == deadlines.review_request_due(p.replied_at)
        if p.review_requested_at:
            assert p.review_due == deadlines.review_due(p.review_requested_at)
        if p.rereview_requested_at:
            assert p.rereview_due == deadlines.rereview_due(p.rereview_requested_at, p.hearing_days)
    assert Petition.objects.filter(extension_days__gt=0).exists()
    assert Petition.objects.filter(routing="reject", status=Status.NOT_ACCEPTED).exists()


def test_documents_repeats_and_personal_data(built):
    notified = PetitionEvent.objects.filter(action="notify")
    assert notified.exists()
    assert Document.objects.filter(event__in=notified).count() == notified.count()
    replies = PetitionEvent.objects.filter(action="reply")
    assert Document.objects.filter(event__in=replies, kind="opinion").count() == replies.count()
    assert RepeatSubmission.objects.count() == built["repeats"] > 0
    rows = [
        r for p in Petition.objects.prefetch_related("petitioners") for r in p.petitioners.all()
    ]
    assert rows
    for row in rows:
        validate_id_number(row.id_number)  # GB 11643 check digit
        validate_phone(row.phone)
        assert row.id_number.startswith("210204")
        assert re.fullmatch(r"1[358]\d{9}", row.phone)
        assert 1950 <= int(row.id_number[6:10]) <= 2000


def test_locations_inside_cells_and_a_few_outside(built):
    outside = Petition.objects.filter(cell__isnull=True)
    assert outside.count() == built["outside_grid"] >= 1
    assert all(p.location is not None for p in Petition.objects.all())
    for p in outside:
        assert p.events.get(action="register").payload["outside_grid"] is True
        assert p.location.x < 121.55  # west of the district
    inside = Petition.objects.filter(cell__isnull=False).select_related("cell")
    assert inside.count() == 288 - outside.count()
    assert all(p.cell.geom.contains(p.location) and p.area_code == p.cell.code for p in inside)


def test_visits_group_rules_and_reception_series(built):
    visit_cases = Petition.objects.filter(channel="visit")
    for p in visit_cases:  # each visit case has its own visit log entry (and maybe follow-ups)
        assert p.visits.filter(received_at=p.received_at).count() == 1
    for v in Visit.objects.all():
        assert v.created_at == v.received_at  # logged when received, like the case events
        assert len(v.representatives) <= 5
        if v.headcount > 5:
            assert len(v.representatives) >= 1
    assert Visit.objects.filter(headcount__gt=5).exists()
    # One a month on the third Wednesday; October 2026's (the 21st) is still ahead.
    days = sorted(ReceptionDay.objects.values_list("date", flat=True))
    assert [(d.year, d.month) for d in days] == _months_back(24)[:-1]
    assert all(d.weekday() == 2 and 15 <= d.day <= 21 for d in days)
    series = Visit.objects.filter(
        reception_day__date__gte=dt.date(2025, 10, 1), reception_day__date__lt=dt.date(2026, 10, 1)
    )
    assert (
        visit_totals(series)
        == SERIES
        == {
            "batches": 87,
            "persons": 191,
            "answered_on_spot": 51,
            "resolved": 46,
        }
    )
    assert built["series"]["batches"] == 87
    reception_cases = Petition.objects.filter(source="leader_reception")
    assert reception_cases.exists()
    assert all(p.visits.get(received_at=p.received_at).reception_day_id for p in reception_cases)


def test_organizations_and_grants(built):
    got = {
        (g.user.username, g.role, g.area_code, g.organization.name if g.organization else "")
        for g in Grant.objects.select_related("user", "organization")
    }
    assert got == {
        ("admin", "admin", "", ""),
        ("bureau", "bureau", "210204", ""),
        ("street_clerk", "street_clerk", "210204001", ""),  # no 星海湾 in the test district
        ("community_staff", "community_staff", "210204001001", ""),
        ("grid_worker", "grid_worker", "", ""),
        ("mediator", "mediator", "", "测试1街道人民调解委员会"),
        ("handling_unit", "handling_unit", "", "区城建局"),
        ("leader", "leader", "210204", ""),
    }
    from petitions.models import Organization

    kinds = defaultdict(set)
    for o in Organization.objects.all():
        kinds[o.kind].add(o.name)
    assert kinds["bureau"] == {"区信访局"}
    assert kinds["street_office"] == {"测试1街道办事处", "测试2街道办事处"}
    assert kinds["committee"] == {"测试1街道人民调解委员会", "测试2街道人民调解委员会"}
    assert kinds["discipline"] == {"区纪委监委"}
    assert len(kinds["handling_unit"]) == 8
    assert Organization.objects.get(name="区信访局").head.username == "bureau"
    assert Organization.objects.get(name="区城建局").head.username == "handling_unit"
    accusations = Petition.objects.filter(case_type="accusation").exclude(routing="")
    assert all(p.handling_unit.kind == "discipline" for p in accusations)
