"""Open311 GeoReport v2: partners, posting requests as petitions, and the public view of them.

Posted requests go through the same intake service as the counter (petition_register), so they
get receipt numbers, cells and deadlines like any other petition. Public output carries no personal
data, never shows 检举控告 cases or non-public categories, and snaps locations to ~100 m.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.crypto import blind_index
from open311.models import Partner, PartnerRequest, RequestToken
from petitions.deadlines import DEADLINE_FIELDS
from petitions.models import Category, Petition

TZ = ZoneInfo("Asia/Shanghai")
MAX_RANGE_DAYS = 90
SNAP_DEG = 0.001  # ≈ 111 m north–south, ≈ 87 m east–west at Dalian
MAX_DESCRIPTION = 4000


class Open311Error(Exception):
    """An error answered as GeoReport v2 errors: HTTP status plus [{code, description}]."""

    def __init__(self, status: int, description: str, code: int | None = None):
        super().__init__(description)
        self.status = status
        self.errors = [{"code": code or status, "description": description}]


def partner_create(
    *, name: str, organization, kind: str = "app", batch: bool = False, posts_per_hour: int = 120
) -> tuple[Partner, str]:
    """Issue a partner and its API key (returned once; only its keyed hash is stored)."""
    key = secrets.token_urlsafe(24)
    partner = Partner.objects.create(
        name=name,
        kind=kind,
        organization=organization,
        batch=batch,
        posts_per_hour=posts_per_hour,
        key_hash=blind_index(key, purpose="open311"),
        key_prefix=key[:6],
    )
    return partner, key


def partner_authenticate(api_key: str | None) -> Partner:
    if not api_key:
        raise Open311Error(403, _("缺少 api_key。"))
    partner = (
        Partner.objects.filter(key_hash=blind_index(api_key, purpose="open311"), is_active=True)
        .select_related("organization")
        .first()
    )
    if partner is None:
        raise Open311Error(403, _("api_key 无效或已停用。"))
    return partner


def _rate_limit(partner: Partner) -> None:
    window = timezone.now().strftime("%Y%m%d%H")
    key = f"open311:posts:{partner.pk}:{window}"
    cache.add(key, 0, timeout=3600)
    if cache.incr(key) > partner.posts_per_hour:
        raise Open311Error(429, _("提交过于频繁，请稍后再试。"))


def public_categories() -> QuerySet[Category]:
    """Services: public second-level categories under a public parent."""
    return (
        Category.objects.filter(parent__isnull=False, is_public=True, parent__is_public=True)
        .select_related("parent")
        .prefetch_related("open311_attributes")
        .order_by("parent__sort", "sort", "code")
    )


def service_get(code: str) -> Category:
    category = public_categories().filter(code=code).first()
    if category is None:
        raise Open311Error(404, _("service_code “%(code)s” 不存在。") % {"code": code})
    return category


def _clean_attributes(category: Category, attributes: dict[str, list[str]]) -> dict:
    defs = {a.code: a for a in category.open311_attributes.all()}
    cleaned, errors = {}, []
    for code, attr in defs.items():
        values = [v for v in attributes.get(code, []) if v != ""]
        if attr.required and attr.variable and not values:
            errors.append(_("缺少必填属性 attribute[%(code)s]。") % {"code": code})
            continue
        if not values:
            continue
        keys = {v["key"] for v in attr.values}
        if attr.datatype in ("singlevaluelist", "multivaluelist") and not set(values) <= keys:
            errors.append(_("属性 %(code)s 的取值无效。") % {"code": code})
            continue
        if attr.datatype == "number":
            try:
                [float(v) for v in values]
            except ValueError:
                errors.append(_("属性 %(code)s 应为数字。") % {"code": code})
                continue
        cleaned[code] = values if attr.datatype == "multivaluelist" else values[0]
    unknown = set(attributes) - set(defs)
    if unknown:
        errors.append(_("未知属性：%(codes)s。") % {"codes": ", ".join(sorted(unknown))})
    if errors:
        raise Open311Error(400, " ".join(errors))
    return cleaned


@dataclass(frozen=True)
class Posted:
    petition: Petition
    token: str | None


def request_post(
    *, partner: Partner, data: dict, attributes: dict[str, list[str]], media=None
) -> Posted:
    """POST Service Request → a petition registered through the intake service."""
    from petitions.services.intake import petition_register

    _rate_limit(partner)
    code = (data.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, _("缺少 service_code。"))
    category = service_get(code)
    lat, lng = data.get("lat"), data.get("long")
    address = (data.get("address_string") or "").strip()
    location = None
    if lat not in (None, "") or lng not in (None, ""):
        try:
            location = (float(lng), float(lat))
        except (TypeError, ValueError):
            raise Open311Error(400, _("lat 与 long 必须同时提供且为数字。")) from None
        if not (-90 <= location[1] <= 90 and -180 <= location[0] <= 180):
            raise Open311Error(400, _("lat/long 超出范围。"))
    elif not address:
        raise Open311Error(400, _("必须提供 lat/long 或 address_string。"))
    description = (data.get("description") or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, _("description 不能超过4000字。"))
    cleaned = _clean_attributes(category, attributes)
    name = ((data.get("last_name") or "") + (data.get("first_name") or "")).strip()
    petitioners = []
    if name:
        petitioners.append({"name": name, "phone": data.get("phone") or ""})
    summary = (description.splitlines() or [category.name])[0][:200] or category.name
    hotline = partner.kind == Partner.Kind.HOTLINE
    try:
        with transaction.atomic():
            registered = petition_register(
                actor=None,
                organization=partner.organization,
                channel=Petition.Channel.PHONE if hotline else Petition.Channel.ONLINE,
                source=Petition.Source.HOTLINE if hotline else Petition.Source.OWN,
                case_type=Petition.CaseType.APPEAL,
                category=category,
                summary=summary,
                content=description,
                location=location,
                address=address,
                petitioners=petitioners,
                anonymous=not petitioners,
            )
            petition = registered.petition
            PartnerRequest.objects.create(
                partner=partner,
                petition=petition,
                attributes=cleaned,
                device_id=(data.get("device_id") or "")[:100],
                account_id=(data.get("account_id") or "")[:100],
            )
            if media is not None:
                from petitions.services.attachments import attachment_add

                attachment_add(petition=petition, actor=None, upload=media, kind="photo")
            token = None
            if partner.batch:
                token = secrets.token_hex(16)
                RequestToken.objects.create(token=token, partner=partner, petition=petition)
    except ValidationError as e:
        messages = e.message_dict if hasattr(e, "error_dict") else {"": e.messages}
        text = "；".join(f"{k}: {' '.join(v)}" if k else " ".join(v) for k, v in messages.items())
        raise Open311Error(400, text) from e
    return Posted(petition, token)


def public_requests() -> QuerySet[Petition]:
    """Petitions that may be shown publicly."""
    return (
        Petition.objects.exclude(case_type=Petition.CaseType.ACCUSATION)
        .filter(category__is_public=True)
        .filter(Q(category__parent__isnull=True) | Q(category__parent__is_public=True))
        .select_related("category", "handling_unit", "cell__community")
    )


def _parse_w3c(value: str, field: str) -> dt.datetime:
    from django.utils.dateparse import parse_datetime

    parsed = parse_datetime(value.strip().replace(" ", "+")) if value else None
    if parsed is None or timezone.is_naive(parsed):
        raise Open311Error(
            400,
            _("%(field)s 必须是带时区的 W3C 日期时间，例如 2026-01-01T00:00:00+08:00。")
            % {"field": field},
        )
    return parsed


def requests_list(params) -> QuerySet[Petition]:
    """GET Service Requests with the GeoReport v2 filters (90-day cap) — newest first."""
    qs = public_requests()
    ids = [i.strip() for i in (params.get("service_request_id") or "").split(",") if i.strip()]
    if ids:  # overrides all other arguments
        return qs.filter(receipt_no__in=ids)
    codes = [c.strip() for c in (params.get("service_code") or "").split(",") if c.strip()]
    if codes:
        qs = qs.filter(category__code__in=codes)
    now = timezone.now()
    start = _parse_w3c(params["start_date"], "start_date") if params.get("start_date") else None
    end = _parse_w3c(params["end_date"], "end_date") if params.get("end_date") else None
    if start and end and end < start:
        raise Open311Error(400, _("end_date 不能早于 start_date。"))
    if start is None and end is None:
        end, start = now, now - dt.timedelta(days=MAX_RANGE_DAYS)
    elif start is None:
        start = end - dt.timedelta(days=MAX_RANGE_DAYS)
    elif end is None:
        end = start + dt.timedelta(days=MAX_RANGE_DAYS)
    if end - start > dt.timedelta(days=MAX_RANGE_DAYS):
        raise Open311Error(400, _("start_date 与 end_date 的间隔不能超过90天。"))
    qs = qs.filter(received_at__gte=start, received_at__lte=end)
    statuses = {s.strip() for s in (params.get("status") or "").split(",") if s.strip()}
    if statuses - {"open", "closed"}:
        raise Open311Error(400, _("status 只能是 open 或 closed。"))
    if statuses == {"open"}:
        qs = qs.exclude(status__in=CLOSED)
    elif statuses == {"closed"}:
        qs = qs.filter(status__in=CLOSED)
    return qs.order_by("-received_at", "-pk")


def request_get(service_request_id: str) -> Petition:
    petition = public_requests().filter(receipt_no=service_request_id).first()
    if petition is None:
        raise Open311Error(
            404, _("service_request_id “%(id)s” 不存在。") % {"id": service_request_id}
        )
    return petition


def token_get(token: str) -> RequestToken:
    found = RequestToken.objects.select_related("petition").filter(token=token).first()
    if found is None:
        raise Open311Error(404, _("token “%(t)s” 不存在。") % {"t": token})
    return found


CLOSED = (Petition.Status.CLOSED, Petition.Status.NOT_ACCEPTED)


def w3c(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(TZ).isoformat(timespec="seconds") if moment else None


def snap(value: float) -> float:
    """Snap a coordinate to the ~100 m public grid."""
    return round(round(value / SNAP_DEG) * SNAP_DEG, 6)


# The columns request_public reads (lists load only these).
PUBLIC_FIELDS = (
    "receipt_no",
    "status",
    "summary",
    "received_at",
    "closed_at",
    "updated_at",
    "location",
    "is_final",
    "reviewed_at",
    "category__name",
    "category__code",
    "handling_unit__name",
    "cell__community__name",
    *DEADLINE_FIELDS,
)


def request_public(p: Petition) -> dict:
    """The public fields of a petition as a GeoReport v2 request (no personal data)."""
    from petitions import deadlines

    nxt = deadlines.next_deadline(p)
    expected = None
    if nxt and nxt[1]:
        expected = dt.datetime.combine(nxt[1], dt.time(23, 59, 59), tzinfo=TZ)
    area = p.cell.community.name if p.cell_id else ""
    return {
        "service_request_id": p.receipt_no,
        "status": "closed" if p.status in CLOSED else "open",
        "status_notes": str(p.get_status_display()),
        "service_name": p.category.name,
        "service_code": p.category.code,
        "description": p.summary,
        "agency_responsible": p.handling_unit.name if p.handling_unit_id else "",
        "service_notice": "",
        "requested_datetime": w3c(p.received_at),
        "updated_datetime": w3c(p.closed_at or p.updated_at),
        "expected_datetime": w3c(expected),
        # The community's name, not the petitioner's address (personal data).
        "address": area,
        "address_id": "",
        "zipcode": "",
        "lat": snap(p.location.y) if p.location else None,
        "long": snap(p.location.x) if p.location else None,
        "media_url": "",
    }


def service_public(c: Category) -> dict:
    return {
        "service_code": c.code,
        "service_name": c.name,
        "description": str(c),  # "parent / name"
        "metadata": bool(c.open311_attributes.all()),
        "type": "realtime",
        "keywords": c.parent.name,
        "group": c.parent.name,
    }


def service_definition(c: Category) -> dict:
    return {
        "service_code": c.code,
        "attributes": [
            {
                "variable": a.variable,
                "code": a.code,
                "datatype": a.datatype,
                "required": a.required,
                "datatype_description": a.datatype_description,
                "order": a.order,
                "description": a.description,
                "values": [{"key": v["key"], "name": v["name"]} for v in a.values],
            }
            for a in c.open311_attributes.all()
        ],
    }


def jurisdiction_check(params) -> None:
    jid = params.get("jurisdiction_id")
    if jid and jid != settings.CIVICGRID_DISTRICT_CODE:
        raise Open311Error(404, _("jurisdiction_id “%(j)s” 不存在。") % {"j": jid})
