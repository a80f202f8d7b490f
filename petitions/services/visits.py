"""Visit log (来访登记) and leader reception days (领导接访日), after 《信访工作条例》第二十条."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from petitions import deadlines
from petitions.models import Organization, Petition, ReceptionDay, Visit

MAX_REPRESENTATIVES = 5  # 第二十条: a group visit chooses at most 5 representatives
GROUP_NEEDS_REPRESENTATIVES = 5  # … when more than 5 people come


def _visit_errors(
    *,
    received_at: dt.datetime,
    headcount: int,
    names: list[str],
    reception_day: ReceptionDay | None,
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if received_at is None or received_at.tzinfo is None:
        errors["received_at"] = [_("来访时间必须带时区。")]
    elif reception_day is not None and deadlines.local_date(received_at) != reception_day.date:
        errors["received_at"] = [_("来访时间不在该领导接访日当天。")]
    if not isinstance(headcount, int) or isinstance(headcount, bool) or headcount < 1:
        errors["headcount"] = [_("来访人数至少为1人。")]
        return errors
    if len(names) > MAX_REPRESENTATIVES:
        errors["representatives"] = [_("集体访最多推选5名代表。")]
    elif headcount > GROUP_NEEDS_REPRESENTATIVES and not names:
        errors["representatives"] = [_("5人以上的集体访应推选1至5名代表。")]
    elif len(names) > headcount:
        errors["representatives"] = [_("代表人数不能多于来访人数。")]
    return errors


def visit_record(
    *,
    actor,
    organization: Organization,
    received_at: dt.datetime,
    headcount: int,
    representatives: list[str],
    answered_on_spot: bool,
    resolved: bool = False,
    petitions: Iterable[Petition] = (),
    reception_day: ReceptionDay | None = None,
    notes: str = "",
) -> Visit:
    """来访登记: record one batch of visitors, received by `actor` for `organization`."""
    names = [n.strip() for n in (representatives or []) if n and n.strip()]
    errors = _visit_errors(
        received_at=received_at, headcount=headcount, names=names, reception_day=reception_day
    )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        visit = Visit.objects.create(
            received_at=received_at,
            organization=organization,
            area_code=organization.area_code or settings.CIVICGRID_DISTRICT_CODE,
            headcount=headcount,
            representatives=names,
            reception_officer=actor,
            reception_day=reception_day,
            answered_on_spot=bool(answered_on_spot),
            resolved=bool(resolved),
            notes=notes,
        )
        linked = list(petitions or ())
        if linked:
            visit.petitions.set(linked)
    return visit


def reception_day_create(
    *,
    actor,
    leader,
    date: dt.date,
    place: str,
    organization: Organization,
    leader_title: str = "",
    notes: str = "",
) -> ReceptionDay:
    """领导接访日: schedule a leader's reception day at a place."""
    errors: dict[str, list[str]] = {}
    if leader is None:
        errors["leader"] = [_("请选择接访领导。")]
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        errors["date"] = [_("请填写接访日期。")]
    if not (place or "").strip():
        errors["place"] = [_("请填写接访地点。")]
    if errors:
        raise ValidationError(errors)
    return ReceptionDay.objects.create(
        leader=leader,
        leader_title=leader_title.strip(),
        date=date,
        place=place.strip(),
        organization=organization,
        notes=notes,
    )


def visit_totals(visits) -> dict[str, int]:
    """批次、人次、当场答复、结案息访 of a visit queryset, in one aggregate query."""
    totals = visits.aggregate(
        batches=Count("pk"),
        persons=Coalesce(Sum("headcount"), 0),
        answered_on_spot=Count("pk", filter=Q(answered_on_spot=True)),
        resolved=Count("pk", filter=Q(resolved=True)),
    )
    return {key: int(value) for key, value in totals.items()}


def reception_day_summary(day: ReceptionDay | int) -> dict[str, int]:
    """The reported figures of a reception day: batches, persons, answered on the spot, resolved."""
    day_id = day.pk if isinstance(day, ReceptionDay) else day
    return visit_totals(Visit.objects.filter(reception_day_id=day_id))
