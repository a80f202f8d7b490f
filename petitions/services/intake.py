"""Registration (登记) of a petition, repeat detection and linking."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass

from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.crypto import blind_index
from grid.coords import to_wgs84
from grid.services.locate import grid_locate
from petitions import deadlines
from petitions.models import (
    Category,
    Organization,
    Petition,
    Petitioner,
    PetitionEvent,
    ReceiptCounter,
    RepeatSubmission,
)
from petitions.services.hooks import on_registered
from petitions.validators import (
    normalize_id_number,
    normalize_phone,
    validate_id_number,
    validate_phone,
)

QUERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
REPEAT_RADIUS_M = 200
REPEAT_WINDOW_DAYS = 365
MAX_REPRESENTATIVES = 5


@dataclass(frozen=True)
class Registered:
    petition: Petition
    query_code: str  # shown once to the petitioner; only its hash is stored
    created: bool  # False when a double submit returned the first registration


def receipt_next(*, district_code: str, year: int) -> int:
    """Next receipt sequence for (district, year); call inside the registering transaction."""
    counter, _c = ReceiptCounter.objects.select_for_update().get_or_create(
        district_code=district_code, year=year
    )
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last


def query_code_new() -> str:
    return "".join(secrets.choice(QUERY_ALPHABET) for _i in range(8))


def query_code_hash(receipt_no: str, code: str) -> str:
    """Keyed hash of a query code: fast to check, useless without the server's key."""
    return blind_index((code or "").strip().upper(), purpose=f"query:{receipt_no}")


def query_code_check(petition: Petition, code: str) -> bool:
    return hmac.compare_digest(query_code_hash(petition.receipt_no, code), petition.query_code_hash)


def clean_petitioners(petitioners: list[dict]) -> list[dict]:
    """Validate and normalise petitioner rows; field errors say which row and field."""
    errors: dict[str, list] = {}
    cleaned = []
    for i, row in enumerate(petitioners):
        row = dict(row)
        prefix = f"petitioners[{i}]."
        if not (row.get("name") or "").strip():
            errors[prefix + "name"] = [_("请填写信访人姓名。")]
        if row.get("id_number"):
            row["id_number"] = normalize_id_number(row["id_number"])
            try:
                validate_id_number(row["id_number"])
            except ValidationError as e:
                errors[prefix + "id_number"] = e.messages
        if row.get("phone"):
            row["phone"] = normalize_phone(row["phone"])
            try:
                validate_phone(row["phone"])
            except ValidationError as e:
                errors[prefix + "phone"] = e.messages
        cleaned.append(row)
    if sum(1 for r in cleaned if r.get("is_representative")) > MAX_REPRESENTATIVES:
        errors["petitioners"] = [_("集体访最多推选5名代表。")]
    if errors:
        raise ValidationError(errors)
    return cleaned


def petition_register(
    *,
    actor,
    organization: Organization,
    channel: str,
    case_type: str,
    category: Category,
    summary: str,
    received_at: dt.datetime | None = None,
    source: str = Petition.Source.OWN,
    content: str = "",
    location: Point | tuple[float, float] | None = None,
    crs: str = "wgs84",
    address: str = "",
    petitioners: list[dict] | None = None,
    anonymous: bool = False,
    cell=None,
    cell_override_reason: str = "",
    intake_token: str | None = None,
) -> Registered:
    """登记: register a petition with a gap-free receipt number and a query code, placed in its cell.

    A repeated `intake_token` (double click, network retry) returns the first registration.
    A point outside every cell is kept (cell empty, flagged by area_code = the office's area).
    """
    received_at = received_at or timezone.now()
    if timezone.is_naive(received_at):
        raise ValidationError({"received_at": [_("收到时间必须带时区。")]})
    if received_at > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError({"received_at": [_("收到时间不能晚于当前时间。")]})
    if not summary.strip():
        raise ValidationError({"summary": [_("请填写信访概要。")]})
    if channel not in Petition.Channel.values:
        raise ValidationError({"channel": [_("请选择信访形式。")]})
    if case_type not in Petition.CaseType.values:
        raise ValidationError({"case_type": [_("请选择事项类型。")]})
    rows = clean_petitioners(petitioners or [])
    if not rows and not anonymous:
        raise ValidationError({"petitioners": [_("请至少填写一名信访人，或勾选“姓名住址不清”。")]})
    if cell is not None and not cell_override_reason.strip():
        raise ValidationError({"cell_override_reason": [_("手动指定网格必须说明理由。")]})
    if intake_token:
        existing = Petition.objects.filter(intake_token=intake_token).first()
        if existing:
            return Registered(existing, "", created=False)

    point = None
    if location is not None:
        lng, lat = (location.x, location.y) if isinstance(location, Point) else location
        lng, lat = to_wgs84(lng, lat, crs)
        point = Point(lng, lat, srid=4326)
    if cell is None and point is not None:
        cell = grid_locate(point, at=received_at).cell

    code = query_code_new()
    year = deadlines.local_date(received_at).year
    district = organization.area_code[:6] if organization.area_code else _district_code()
    try:
        with transaction.atomic():
            seq = receipt_next(district_code=district, year=year)
            receipt_no = f"XF-{district}-{year}-{seq:06d}"
            petition = Petition.objects.create(
                receipt_no=receipt_no,
                district_code=district,
                year=year,
                seq=seq,
                query_code_hash=query_code_hash(receipt_no, code),
                channel=channel,
                source=source,
                received_at=received_at,
                case_type=case_type,
                category=category,
                summary=summary.strip(),
                content=content,
                anonymous=anonymous,
                location=point,
                address=address,
                cell=cell,
                cell_override_reason=cell_override_reason,
                area_code=cell.code if cell else (organization.area_code or district),
                registered_by_org=organization,
                registered_by=actor,
                route_due=deadlines.route_due(received_at),
                notify_due=None if anonymous else deadlines.notify_due(received_at),
                intake_token=intake_token or None,
            )
            Petitioner.objects.bulk_create(
                Petitioner(
                    petition=petition,
                    name=r["name"].strip(),
                    id_number=r.get("id_number", ""),
                    id_hash=blind_index(r.get("id_number", "")),
                    phone=r.get("phone", ""),
                    address=r.get("address", ""),
                    is_representative=bool(r.get("is_representative")),
                )
                for r in rows
            )
            PetitionEvent.objects.create(
                petition=petition,
                actor=actor,
                at=received_at,
                action="register",
                from_status="",
                to_status=petition.status,
                payload={
                    "channel": channel,
                    "cell": cell.code if cell else None,
                    "located": point is not None,
                    "outside_grid": point is not None and cell is None,
                },
            )
            # Side effects (notifications) start after commit; a broker outage never loses the case.
            transaction.on_commit(lambda: on_registered(petition))
    except IntegrityError:
        # Two submits with one token raced: the other one won; return it.
        if intake_token:
            existing = Petition.objects.filter(intake_token=intake_token).first()
            if existing:
                return Registered(existing, "", created=False)
        raise
    return Registered(petition, code, created=True)


def _district_code() -> str:
    from django.conf import settings

    return settings.CIVICGRID_DISTRICT_CODE


def petition_repeat_candidates(
    *,
    id_numbers: list[str] = (),
    category: Category | None = None,
    location: Point | None = None,
    now: dt.datetime | None = None,
) -> list[tuple[Petition, list[str]]]:
    """Open cases that may be the same matter: same petitioner identity, or same category
    within 200 m, received in the last 12 months. Returns (petition, reasons) best first."""
    now = now or timezone.now()
    hashes = [blind_index(normalize_id_number(n)) for n in id_numbers if n]
    base = Petition.objects.filter(
        received_at__gte=now - dt.timedelta(days=REPEAT_WINDOW_DAYS),
        status__in=[Petition.Status.REGISTERED, Petition.Status.HANDLING, Petition.Status.OBJECTED],
    )
    found: dict[int, tuple[Petition, list[str]]] = {}
    if hashes:
        for p in base.filter(petitioners__id_hash__in=hashes).distinct():
            found.setdefault(p.pk, (p, []))[1].append("same_petitioner")
    if category is not None and location is not None:
        near = base.filter(
            category=category, location__distance_lte=(location, D(m=REPEAT_RADIUS_M))
        )
        for p in near:
            found.setdefault(p.pk, (p, []))[1].extend(["same_category", "nearby"])
    ranked = list(found.values())
    ranked.sort(key=lambda pr: (-len(pr[1]), -pr[0].received_at.timestamp()))
    return ranked


def petition_link_repeat(
    *,
    petition: Petition,
    actor,
    channel: str,
    received_at: dt.datetime | None = None,
    summary: str = "",
) -> RepeatSubmission:
    """Link a new submission to an accepted case still within its deadline (重复信访)."""
    from petitions.services.workflow import _transition

    received_at = received_at or timezone.now()
    if petition.status in (Petition.Status.CLOSED, Petition.Status.NOT_ACCEPTED):
        raise ValidationError(_("该事项已办结，不能作为重复信访关联。"), code="closed")
    with transaction.atomic():
        repeat = RepeatSubmission.objects.create(
            petition=petition,
            received_at=received_at,
            channel=channel,
            summary=summary,
            area_code=petition.area_code,
            registered_by=actor,
        )
        _transition(
            petition,
            "link_repeat",
            actor,
            now=received_at,
            payload={"repeat_id": repeat.pk, "channel": channel},
        )
    return repeat
