"""Screening rounds (排查) and the dispute record: record, update, close, reopen, from a petition.

Every dispute step locks the row, checks DISPUTE_TRANSITIONS, saves with update_fields and writes
a DisputeEvent in the same transaction (`_dispute_step`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from grid.coords import CRS_CHOICES, to_wgs84
from grid.models import GridCell
from grid.services.locate import grid_locate
from mediation.models import (
    DISPUTE_TRANSITIONS,
    SRID,
    Dispute,
    DisputeEvent,
    ScreeningRound,
)
from mediation.services.errors import Conflict, TransitionNotAllowed
from petitions import deadlines

AREA_CODE_RE = re.compile(r"^([0-9]{3}){2,5}$")  # district / street / community / cell code
# Tolerance for clocks of phones and browsers when refusing times "in the future".
CLOCK_SKEW = dt.timedelta(minutes=5)
UPDATABLE_FIELDS = (
    "description",
    "risk_level",
    "party_count",
    "party_names",
    "category",
    "address",
)
_NAME_SEPARATORS = re.compile(r"[\n,，、;；]+")


# --- Shared input checks (also used by mediation.services.cases) ------------------------------


def moment(value: dt.datetime | None, field: str, *, default: dt.datetime | None = None):
    """An aware datetime not in the future (`default`, else now, when None)."""
    value = value or default or timezone.now()
    if not isinstance(value, dt.datetime) or timezone.is_naive(value):
        raise ValidationError({field: [_("时间必须带时区。")]})
    if value > timezone.now() + CLOCK_SKEW:
        raise ValidationError({field: [_("时间不能晚于当前时间。")]})
    return value


def day(value: dt.date | dt.datetime | None, field: str) -> dt.date:
    """A calendar date (an aware datetime → its Asia/Shanghai date) not after today."""
    if isinstance(value, dt.datetime):
        if timezone.is_naive(value):
            raise ValidationError({field: [_("时间必须带时区。")]})
        value = deadlines.local_date(value)
    if not isinstance(value, dt.date):
        raise ValidationError({field: [_("请填写日期。")]})
    if value > deadlines.local_date(timezone.now()):
        raise ValidationError({field: [_("日期不能晚于今天。")]})
    return value


def required_text(value, field: str, message: str, max_length: int | None = None) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ValidationError({field: [message]})
    if max_length and len(text) > max_length:
        raise ValidationError({field: [_("不能超过%(n)d个字。") % {"n": max_length}]})
    return text


def not_allowed(status_label: str) -> TransitionNotAllowed:
    return TransitionNotAllowed(
        _("当前状态“%(status)s”下不能执行此操作。") % {"status": status_label},
        code="transition",
    )


# --- Screening rounds ---------------------------------------------------------------------------


def round_open(
    *,
    actor,
    name: str,
    period_start: dt.date,
    period_end: dt.date,
    area_code: str,
    now: dt.datetime | None = None,
) -> ScreeningRound:
    """开展排查: open a screening round over a period and an area (district/street/…/cell)."""
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("请填写排查轮次名称。")]
    elif len(name) > 100:
        errors["name"] = [_("不能超过%(n)d个字。") % {"n": 100}]
    if not isinstance(period_start, dt.date) or isinstance(period_start, dt.datetime):
        errors["period_start"] = [_("请填写开始日期。")]
    if not isinstance(period_end, dt.date) or isinstance(period_end, dt.datetime):
        errors["period_end"] = [_("请填写结束日期。")]
    elif "period_start" not in errors and period_end < period_start:
        errors["period_end"] = [_("结束日期不能早于开始日期。")]
    if not AREA_CODE_RE.match(area_code or ""):
        errors["area_code"] = [_("请选择排查区域。")]
    if errors:
        raise ValidationError(errors)
    return ScreeningRound.objects.create(
        name=name,
        period_start=period_start,
        period_end=period_end,
        area_code=area_code,
        opened_by=actor,
        opened_at=now or timezone.now(),
    )


def round_close(*, round: ScreeningRound, actor, now: dt.datetime | None = None) -> ScreeningRound:
    """结束排查: an open round is closed; it accepts no new disputes afterwards."""
    with transaction.atomic():
        r = ScreeningRound.objects.select_for_update().get(pk=round.pk)
        if r.status != ScreeningRound.Status.OPEN:
            raise TransitionNotAllowed(_("该排查轮次已经结束。"), code="round_closed")
        r.status = ScreeningRound.Status.CLOSED
        r.closed_at = now or timezone.now()
        r.save(update_fields=["status", "closed_at"])
    return r


# --- Dispute fields -----------------------------------------------------------------------------


def _names(value) -> list[str]:
    if isinstance(value, str):
        value = _NAME_SEPARATORS.split(value)
    if not isinstance(value, Iterable):
        raise ValidationError({"party_names": [_("当事人姓名格式不正确。")]})
    names = [str(v).strip() for v in value if str(v).strip()]
    if any(len(n) > 100 for n in names):
        raise ValidationError({"party_names": [_("姓名不能超过100个字。")]})
    return names


def _clean(data: dict) -> dict:
    """Check the dispute fields present in `data`; every error at once, keyed by field."""
    errors: dict[str, list[str]] = {}
    out = dict(data)
    if "category" in data and data["category"] not in Dispute.Category.values:
        errors["category"] = [_("请选择纠纷类别。")]
    if "risk_level" in data and data["risk_level"] not in Dispute.Risk.values:
        errors["risk_level"] = [_("请选择风险等级（一般、较大、重大）。")]
    if "party_count" in data:
        try:
            out["party_count"] = int(data["party_count"])
        except (TypeError, ValueError):
            out["party_count"] = 0
        if isinstance(data["party_count"], bool) or out["party_count"] < 1:
            errors["party_count"] = [_("当事人数至少为1。")]
    if "party_names" in data:
        try:
            out["party_names"] = _names(data["party_names"])
        except ValidationError as e:
            errors.update(e.message_dict)
    if "description" in data:
        out["description"] = (data["description"] or "").strip()
        if not out["description"]:
            errors["description"] = [_("请填写纠纷情况。")]
    if "address" in data:
        out["address"] = (data["address"] or "").strip()
        if len(out["address"]) > 200:
            errors["address"] = [_("不能超过%(n)d个字。") % {"n": 200}]
    count, names = out.get("party_count"), out.get("party_names")
    ok = "party_count" not in errors and "party_names" not in errors
    if ok and count and names and len(names) > count:
        errors["party_names"] = [_("填写的姓名多于当事人数。")]
    if errors:
        raise ValidationError(errors)
    return out


def _point(location, crs: str) -> Point:
    """A WGS-84 point from a GEOS point or (lng, lat) given in `crs`."""
    if crs not in CRS_CHOICES:
        raise ValidationError({"crs": [_("不支持的坐标系。")]})
    if isinstance(location, Point):
        p = location if location.srid in (None, SRID) else location.transform(SRID, clone=True)
        lng, lat = p.x, p.y
    else:
        try:
            lng, lat = (float(v) for v in location)
        except (TypeError, ValueError) as e:
            raise ValidationError({"location": [_("位置坐标无效。")]}) from e
    if not (-180 <= lng <= 180 and -90 <= lat <= 90):
        raise ValidationError({"location": [_("位置坐标无效。")]})
    lng, lat = to_wgs84(lng, lat, crs)
    return Point(lng, lat, srid=SRID)


def _locate(point: Point, at: dt.datetime) -> GridCell | None:
    """The cell in force when the dispute was found; a dispute found before any boundary set was
    in force (e.g. historical records entered later) is placed with today's boundaries."""
    found = grid_locate(point, at=at)
    if found.generation is None:
        found = grid_locate(point)
    return found.cell


# --- Dispute steps ------------------------------------------------------------------------------


def _dispute_step(
    dispute: Dispute | int,
    action: str,
    actor,
    apply: Callable[[Dispute, dt.datetime], dict | None] | None = None,
    *,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
    payload: dict | None = None,
) -> Dispute:
    """Lock the row, check the map, apply the change, save it and write the event — atomically."""
    now = now or timezone.now()
    pk = dispute.pk if isinstance(dispute, Dispute) else dispute
    with transaction.atomic():
        d = Dispute.objects.select_for_update().get(pk=pk)
        if expected_version is not None and d.version != expected_version:
            raise Conflict()
        allowed, to_status = DISPUTE_TRANSITIONS[action]
        if d.status not in allowed:
            raise not_allowed(d.get_status_display())
        before = {f.attname: getattr(d, f.attname) for f in d._meta.concrete_fields}
        from_status = d.status
        extra = (apply(d, now) if apply else None) or {}
        if to_status:
            d.status = to_status
        d.version += 1
        changed = [
            f.name for f in d._meta.concrete_fields if getattr(d, f.attname) != before[f.attname]
        ]
        d.save(update_fields=changed)
        DisputeEvent.objects.create(
            dispute=d,
            actor=actor,
            at=now,
            action=action,
            from_status=from_status,
            to_status=d.status,
            payload={**(payload or {}), **extra},
        )
    return d


def _create(*, actor, fields: dict, found_at: dt.datetime, payload: dict) -> Dispute:
    d = Dispute.objects.create(**fields, found_at=found_at, recorded_by=actor)
    DisputeEvent.objects.create(
        dispute=d,
        actor=actor,
        at=found_at,
        action="record",
        from_status="",
        to_status=d.status,
        payload={
            "source": d.source,
            "category": d.category,
            "risk_level": d.risk_level,
            "round": d.round_id,
            "cell": d.cell.code if d.cell else None,
            **payload,
        },
    )
    return d


def dispute_record(
    *,
    actor,
    category: str,
    party_count: int,
    party_names: list[str],
    description: str,
    risk_level: str,
    location: Point | tuple[float, float] | None = None,
    crs: str = "wgs84",
    address: str = "",
    round: ScreeningRound | None = None,
    source: str = "screening",
    petition=None,
    found_at: dt.datetime | None = None,
    area_code: str = "",
) -> Dispute:
    """登记矛盾纠纷: a dispute found in screening (or referred), placed in its grid cell."""
    found_at = moment(found_at, "found_at")
    fields = _clean(
        {
            "category": category,
            "party_count": party_count,
            "party_names": party_names,
            "description": description,
            "risk_level": risk_level,
            "address": address,
        }
    )
    if source not in Dispute.Source.values:
        raise ValidationError({"source": [_("请选择纠纷来源。")]})
    if area_code and not AREA_CODE_RE.match(area_code):
        raise ValidationError({"area_code": [_("区域代码格式不正确。")]})
    point = _point(location, crs) if location is not None else None
    cell = _locate(point, found_at) if point is not None else None
    with transaction.atomic():
        if round is not None:
            round = ScreeningRound.objects.select_for_update().get(pk=getattr(round, "pk", round))
            if round.status != ScreeningRound.Status.OPEN:
                raise TransitionNotAllowed(
                    _("排查轮次“%(name)s”已经结束，不能再登记纠纷。") % {"name": round.name},
                    code="round_closed",
                )
        code = (
            (cell.code if cell else "")
            or area_code
            or (round.area_code if round else "")
            or settings.CIVICGRID_DISTRICT_CODE
        )
        return _create(
            actor=actor,
            fields={
                **fields,
                "round": round,
                "source": source,
                "petition": petition,
                "location": point,
                "cell": cell,
                "area_code": code,
            },
            found_at=found_at,
            payload={"petition": petition.pk if petition else None},
        )


def dispute_update(*, dispute: Dispute, actor, expected_version: int | None = None, **fields):
    """更新纠纷情况: description, risk level, parties, category, address of an open dispute."""
    unknown = set(fields) - set(UPDATABLE_FIELDS)
    if unknown:
        raise TypeError(f"dispute_update() got unexpected fields: {sorted(unknown)}")
    fields = _clean(fields)

    def apply(d: Dispute, now: dt.datetime) -> dict:
        if "party_count" in fields or "party_names" in fields:
            # Check the pair as it will be saved, one of them possibly unchanged.
            _clean(
                {
                    "party_count": fields.get("party_count", d.party_count),
                    "party_names": fields.get("party_names", d.party_names),
                }
            )
        changed = {}
        for name, value in fields.items():
            if getattr(d, name) != value:
                changed[name] = [getattr(d, name), value]
                setattr(d, name, value)
        # Names and free text stay out of the event (personal data lives on the dispute only).
        return {
            "fields": sorted(changed),
            **{k: changed[k] for k in ("risk_level", "category", "party_count") if k in changed},
        }

    return _dispute_step(dispute, "update", actor, apply, expected_version=expected_version)


CLOSE_OUTCOMES = ("resolve", "stabilise", "fail", "divert")


def dispute_close(
    *,
    dispute: Dispute,
    actor,
    outcome: str,
    diverted_to: str = "",
    note: str = "",
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Dispute:
    """化解 / 稳控 / 未化解 / 转入诉讼、仲裁、信访等途径."""
    if outcome not in CLOSE_OUTCOMES:
        raise ValidationError({"outcome": [_("请选择化解结果。")]})
    if outcome == "divert" and diverted_to not in Dispute.Diversion.values:
        raise ValidationError({"diverted_to": [_("请选择转入的途径。")]})
    if outcome != "divert":
        diverted_to = ""

    def apply(d: Dispute, now: dt.datetime) -> dict:
        # Resolved and diverted disputes leave the open caseload; stabilised/unresolved stay in it.
        d.closed_at = now if outcome in ("resolve", "divert") else None
        d.diverted_to = diverted_to
        return {}

    return _dispute_step(
        dispute,
        outcome,
        actor,
        apply,
        now=now,
        expected_version=expected_version,
        payload={"outcome": outcome, "diverted_to": diverted_to, "note": note},
    )


def dispute_reopen(
    *,
    dispute: Dispute,
    actor,
    reason: str,
    now: dt.datetime | None = None,
    expected_version: int | None = None,
) -> Dispute:
    """重新排查: a resolved or diverted dispute flares up again → found."""
    reason = required_text(reason, "reason", _("请说明重新排查的原因。"))

    def apply(d: Dispute, now: dt.datetime) -> dict:
        d.closed_at = None
        d.diverted_to = ""
        return {}

    return _dispute_step(
        dispute,
        "reopen",
        actor,
        apply,
        now=now,
        expected_version=expected_version,
        payload={"reason": reason},
    )


def dispute_from_petition(
    *,
    petition,
    actor,
    risk_level: str = "general",
    category: str = "other",
    now: dt.datetime | None = None,
) -> Dispute:
    """信访转入: open a dispute from a petition, linked both ways (a note on the petition)."""
    from petitions.models import Petition
    from petitions.services.workflow import petition_add_note

    now = moment(now, "now")
    if petition.is_confidential:
        raise TransitionNotAllowed(_("检举控告类信访事项不能转为矛盾纠纷。"), code="confidential")
    with transaction.atomic():
        p = Petition.objects.select_for_update().get(pk=petition.pk)
        existing = p.disputes.exclude(status__in=("resolved", "diverted")).first()
        if existing:
            raise TransitionNotAllowed(
                _("该信访事项已登记为矛盾纠纷（编号%(pk)s）。") % {"pk": existing.pk},
                code="exists",
            )
        names = [x.name for x in p.petitioners.all()]
        description = "\n".join(t for t in (p.summary, p.content) if t)
        fields = _clean(
            {
                "category": category,
                "risk_level": risk_level,
                "party_count": max(1, len(names)),
                "party_names": names,
                "description": description,
                "address": p.address,
            }
        )
        d = _create(
            actor=actor,
            fields={
                **fields,
                "source": Dispute.Source.PETITION,
                "petition": p,
                "location": p.location,
                "cell": p.cell,
                "area_code": p.area_code,
            },
            found_at=now,
            payload={"petition": p.pk, "receipt_no": p.receipt_no},
        )
        if p.can("note"):
            with override(settings.LANGUAGE_CODE):  # stored text: in the records' language
                text = _("已登记为矛盾纠纷（编号%(pk)s），纳入排查调处。") % {"pk": d.pk}
            petition_add_note(petition=p, actor=actor, text=text)
    return d
