"""Bulk registration (批量登记) of petitions: thousands of cases per transaction, with every
invariant of the single-case intake (petitions.services.intake.petition_register) and of the
workflow steps (petitions.services.workflow) that bring a historical case to its recorded state.

Used by the ledger import (ledger.services) and by anything else that creates cases in volume
(e.g. a city-scale data generator)::

    from petitions.services.bulk import BulkPetition, bulk_create_petitions

    rows = (BulkPetition(ref=f"TZ-{n}", received_at=..., channel="letter", case_type="appeal",
                         category=category, summary="…", petitioners=({"name": "张三"},))
            for n in range(100_000))
    result = bulk_create_petitions(
        rows,                       # any iterable, read lazily batch by batch
        organization=office,        # the registering office (registered_by_org, district code)
        actor=user,                 # registered_by and the actor of every event (may be None)
        batch_size=2000,            # rows per transaction
        on_progress=print,          # called after each committed batch with the running BulkResult
    )
    result.created, result.skipped, result.failed, result.errors  # errors: the first 1,000

`bulk_create_batch(rows, organization=, actor=)` does one batch in one transaction (a savepoint
when the caller has one open — the ledger commits its own bookkeeping in the same transaction)
and returns the batch's BatchOutcome: (ref, petition id) of the rows created and skipped, and the
rows' errors.

What each case gets, exactly as petition_register + the workflow services would give it:
- a receipt number XF-<district>-<year>-<seq>: the year of receipt (Asia/Shanghai), numbers taken
  in blocks from the locked ReceiptCounter row inside the batch's transaction, so they are
  gap-free (a rolled-back batch gives its block back) and never duplicated under concurrency
  (a second importer or the intake form waits for the lock); within a block, input order;
- a query code hash (a fresh random code per case, as the intake makes; the code itself is not
  returned — a petitioner of a bulk-created case needs a code issued anew to use tracking);
- petitioners with identity number and phone normalised (clean_petitioners), encrypted and
  blind-indexed by their own model fields (insert_rows calls each field's pre_save and
  get_db_prep_save);
- the cell: all points of a batch are placed by ONE statement on PostGIS (each point in the
  boundary generation in force at its receipt time, lowest cell code on a shared edge — the same
  answer as grid_locate); area code = the cell's code, else the `area_code` the caller derived
  from the address (noted as `area_from_address` on the registration event), else the office's;
- route_due / notify_due / handle_due / objection_due / review_request_due from
  petitions.deadlines; status, routing, unit, timestamps and version as the transitions set them;
- one event per step — register, route_<decision>, reply, close — at the step's own time with
  the same payload as the services write, so as-of statistics count the case as it was; the
  处理意见书 of a reply only when asked (`documents=True`, rendered as petition_reply renders
  it): historical replies went out on paper, and a notice rendered today would be one never
  issued (and costs a template query and render per row);
- after commit, the registration side effects (petitions.services.hooks.on_registered) of its
  检举控告 cases.

Idempotency: `ref` is the caller's external reference, unique per organization; it is stored as
the case's intake token (external_token), so a re-run skips rows already created (also when a
concurrent run created them first). Rows are validated before anything is written and a bad row
is reported (row, field, reason in Chinese) without stopping the others; should the database
still refuse a batch, the batch is retried row by row so that only the offending row fails.
Memory stays flat in the number of rows: one batch is held at a time and only counters (and the
first MAX_ERRORS_KEPT errors) are kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from operator import attrgetter

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from petitions import deadlines
from petitions.models import (
    TRANSITIONS,
    Category,
    Document,
    Organization,
    Petition,
    Petitioner,
    PetitionEvent,
    ReceiptCounter,
)
from petitions.services.hooks import on_registered
from petitions.services.intake import QUERY_ALPHABET, clean_petitioners, query_code_hash

logger = logging.getLogger("civicgrid.petitions.bulk")

BATCH_SIZE = 2000
MAX_ERRORS_KEPT = 1000
FUTURE_SLACK = dt.timedelta(minutes=5)  # as petition_register: clocks of clients drift
SUMMARY_MAX = Petition._meta.get_field("summary").max_length
ADDRESS_MAX = Petition._meta.get_field("address").max_length
AREA_CODE_MAX = Petition._meta.get_field("area_code").max_length
Status = Petition.Status
LOST = (OperationalError, InterfaceError)  # connection errors, not a row's fault
# Choices as sets, once (`.values` builds a new list on every access).
CHANNELS = frozenset(Petition.Channel.values)
CASE_TYPES = frozenset(Petition.CaseType.values)
SOURCES = frozenset(Petition.Source.values)
ROUTINGS = frozenset(Petition.Routing.values)
OUTCOMES = frozenset(Petition.Outcome.values)


@dataclass(frozen=True)
class BulkPetition:
    """One case to create. Required: ref, received_at (aware), channel, case_type, category,
    summary. The history fields are optional: leave them empty for a new case (registered)."""

    ref: str  # the caller's external reference, unique per organization (idempotency key)
    received_at: dt.datetime
    channel: str  # Petition.Channel value
    case_type: str  # Petition.CaseType value
    category: Category | None
    summary: str
    content: str = ""
    source: str = Petition.Source.OWN
    location: tuple[float, float] | None = None  # (lng, lat) in `crs`
    crs: str = "wgs84"
    address: str = ""
    area_code: str = ""  # the area the address names; used when no cell contains the point
    petitioners: Sequence[dict] = ()  # dicts as petition_register takes them (name, id_number…)
    anonymous: bool = False  # name/address unknown: no written notice is due
    # History: route (accept | forward | assign | reject) → reply → close, each at its own time.
    routing: str = ""
    routed_at: dt.datetime | None = None
    routing_reason: str = ""
    unit: Organization | None = None  # forward/assign: required; accept: defaults to the office
    replied_at: dt.datetime | None = None
    outcome: str = ""  # Petition.Outcome value, required with replied_at
    reply_text: str = ""
    closed_at: dt.datetime | None = None
    row: int | None = None  # the caller's row number, echoed in errors


@dataclass(frozen=True)
class BulkError:
    """One problem with one row: its row number and ref, the field and the reason (Chinese)."""

    row: int | None
    ref: str
    field: str
    reason: str


@dataclass
class BatchOutcome:
    created: list[tuple[str, int]] = field(default_factory=list)  # (ref, petition id)
    skipped: list[tuple[str, int]] = field(default_factory=list)  # already there: (ref, id)
    errors: list[BulkError] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len({(e.row, e.ref) for e in self.errors})


@dataclass
class BulkResult:
    """Running totals of a bulk_create_petitions call."""

    created: int = 0
    skipped: int = 0
    failed: int = 0
    batches: int = 0
    errors: list[BulkError] = field(default_factory=list)  # the first MAX_ERRORS_KEPT

    def add(self, outcome: BatchOutcome) -> None:
        self.created += len(outcome.created)
        self.skipped += len(outcome.skipped)
        self.failed += outcome.failed
        self.batches += 1
        room = MAX_ERRORS_KEPT - len(self.errors)
        if room > 0:
            self.errors += outcome.errors[:room]


def external_token(organization_id: int, ref: str) -> str:
    """The intake token standing for (organization, external reference): ≤ 64 characters."""
    return "ext:" + hashlib.sha256(f"{organization_id}:{ref}".encode()).hexdigest()[:56]


def bulk_create_petitions(
    rows: Iterable[BulkPetition],
    *,
    organization: Organization,
    actor=None,
    batch_size: int = BATCH_SIZE,
    documents: bool = False,
    on_progress: Callable[[BulkResult], None] | None = None,
) -> BulkResult:
    """Create the cases of `rows`, `batch_size` per transaction; see the module docstring."""
    result = BulkResult()
    iterator = iter(rows)
    while batch := list(islice(iterator, batch_size)):
        with transaction.atomic():
            outcome = bulk_create_batch(
                batch, organization=organization, actor=actor, documents=documents
            )
        result.add(outcome)
        if on_progress is not None:
            on_progress(result)
    return result


def bulk_create_batch(
    rows: Sequence[BulkPetition],
    *,
    organization: Organization,
    actor=None,
    documents: bool = False,
    now: dt.datetime | None = None,
) -> BatchOutcome:
    """Validate, then create one batch of cases in one transaction (or savepoint)."""
    now = now or timezone.now()
    outcome = BatchOutcome()
    valid = _validate(rows, now, outcome)
    valid = _skip_existing(valid, organization, outcome)
    cells = locate_points(valid)
    prepared = [_prepare(r, i, cells, organization, actor) for i, r in enumerate(valid)]
    with transaction.atomic():
        try:
            with transaction.atomic():
                _insert(prepared, documents)
        except LOST:
            raise  # the database went away: no row is at fault, the caller retries the batch
        except DatabaseError:
            logger.warning("bulk batch refused by the database; retrying row by row", exc_info=True)
            _insert_one_by_one(prepared, documents, outcome)
        else:
            outcome.created += [(p.row.ref, p.petition.pk) for p in prepared]
        created = [p for p in prepared if p.petition.pk is not None]
        accusations = [p.petition.pk for p in created if p.row.case_type == "accusation"]
        if accusations:
            transaction.on_commit(partial(_registered, accusations))
    outcome.errors.sort(key=lambda e: (e.row is None, e.row or 0))
    return outcome


def _registered(ids: list[int]) -> None:
    for pk in ids:
        on_registered(pk)


# --- Validation ----------------------------------------------------------------------------------


def _validate(rows: Sequence[BulkPetition], now: dt.datetime, outcome: BatchOutcome) -> list:
    """(row, cleaned petitioners) of the valid rows; the others' errors go to `outcome`."""
    valid, seen = [], {}
    for row in rows:
        errors, people = _check(row, now)
        if not errors and row.ref in seen:
            first = seen[row.ref]
            errors = {
                "ref": [
                    _("外部编号与第%(n)d行重复。") % {"n": first}
                    if first is not None
                    else _("外部编号在本批中重复。")
                ]
            }
        if errors:
            outcome.errors += [
                BulkError(row.row, row.ref, key, str(m)) for key, ms in errors.items() for m in ms
            ]
            continue
        seen[row.ref] = row.row
        valid.append((row, people))
    return valid


def _moment(errors: dict, key: str, value: dt.datetime | None, now: dt.datetime) -> bool:
    """Check one step time; True when it is usable."""
    if value is None:
        return False
    if timezone.is_naive(value):
        errors.setdefault(key, []).append(_("时间必须带时区。"))
        return False
    if value > now + FUTURE_SLACK:
        errors.setdefault(key, []).append(_("时间不能晚于当前时间。"))
        return False
    return True


def row_errors(row: BulkPetition, now: dt.datetime) -> dict[str, list[str]]:
    """Every rule petition_register and the workflow steps would enforce, checked up front."""
    return _check(row, now)[0]


def _check(row: BulkPetition, now: dt.datetime) -> tuple[dict[str, list[str]], list[dict]]:
    """The row's errors (field → reasons) and its cleaned petitioners."""
    errors: dict[str, list[str]] = {}
    people: list[dict] = []

    def add(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    if not (row.ref or "").strip():
        add("ref", _("缺少外部编号。"))
    if row.received_at is None:
        add("received_at", _("请填写收到时间。"))
    elif timezone.is_naive(row.received_at):
        add("received_at", _("收到时间必须带时区。"))
    elif row.received_at > now + FUTURE_SLACK:
        add("received_at", _("收到时间不能晚于当前时间。"))
    if not (row.summary or "").strip():
        add("summary", _("请填写信访概要。"))
    elif len(row.summary.strip()) > SUMMARY_MAX:
        add("summary", _("信访概要不能超过%(n)d个字。") % {"n": SUMMARY_MAX})
    if len(row.address or "") > ADDRESS_MAX:
        add("address", _("地址不能超过%(n)d个字。") % {"n": ADDRESS_MAX})
    if row.channel not in CHANNELS:
        add("channel", _("请选择信访形式。"))
    if row.case_type not in CASE_TYPES:
        add("case_type", _("请选择事项类型。"))
    if row.source not in SOURCES:
        add("source", _("请选择来源。"))
    if row.category is None:
        add("category", _("请选择问题分类。"))
    if len(row.area_code or "") > AREA_CODE_MAX or not (row.area_code or "0").isdigit():
        add("area_code", _("区域代码应为不超过15位的数字。"))
    try:
        people = clean_petitioners(list(row.petitioners))
    except ValidationError as e:
        for key, messages in e.message_dict.items():
            errors.setdefault(key, []).extend(messages)
    if not row.petitioners and not row.anonymous:
        add("petitioners", _("请至少填写一名信访人，或勾选“姓名住址不清”。"))
    if row.location is not None:
        _check_location(row, add)
    _history_errors(row, now, errors, add)
    return errors, people


def _check_location(row: BulkPetition, add: Callable[[str, str], None]) -> None:
    from grid.coords import to_wgs84

    try:
        lng, lat = row.location
        to_wgs84(float(lng), float(lat), row.crs)
    except ValidationError as e:
        add("location", e.messages[0])
    except (TypeError, ValueError) as e:
        add("location", str(e) if row.crs not in ("wgs84", "gcj02", "bd09") else _("坐标无效。"))


def _history_errors(row: BulkPetition, now: dt.datetime, errors: dict, add) -> None:
    """The workflow services' rules for route → reply → close, and the order of their times."""
    received = row.received_at if "received_at" not in errors else None
    if row.routing and row.routing not in ROUTINGS:
        add("routing", _("未知的处理方式。"))
        return
    if row.routing:
        if row.routed_at is None:
            add("routed_at", _("请填写处理时间。"))
        if row.routing in ("forward", "assign") and row.unit is None:
            add("unit", _("转送或交办必须指定承办单位。"))
        if row.routing == "reject" and not row.routing_reason.strip():
            add("routing_reason", _("不予受理必须说明法定理由。"))
        confidential = row.case_type == Petition.CaseType.ACCUSATION
        if row.unit is not None and confidential and row.unit.kind != "discipline":
            add("unit", _("检举控告类事项只能转送纪检监察机关。"))
    routed = row.routed_at if _moment(errors, "routed_at", row.routed_at, now) else None
    if received and routed and routed < received:
        add("routed_at", _("处理时间早于收到时间。"))
    if row.replied_at is not None:
        if row.routing in ("", "reject"):
            add("replied_at", _("尚未受理的事项不能答复。"))
        if row.outcome not in OUTCOMES:
            add("outcome", _("处理意见应为支持、解释说明或不予支持。"))
        if not row.reply_text.strip():
            add("reply_text", _("答复内容不能为空。"))
    replied = row.replied_at if _moment(errors, "replied_at", row.replied_at, now) else None
    if routed and replied and replied < routed:
        add("replied_at", _("答复时间早于受理时间。"))
    if row.closed_at is not None and row.replied_at is None:
        add("closed_at", _("尚未答复的事项不能办结。"))
    closed = row.closed_at if _moment(errors, "closed_at", row.closed_at, now) else None
    if replied and closed and closed < replied:
        add("closed_at", _("办结时间早于答复时间。"))


def _skip_existing(valid: list, organization: Organization, outcome: BatchOutcome) -> list:
    """Drop rows whose reference the organization has imported already (reported as skipped)."""
    tokens = {external_token(organization.pk, row.ref): row for row, _people in valid}
    existing = dict(
        Petition.objects.filter(intake_token__in=list(tokens)).values_list("intake_token", "pk")
    )
    outcome.skipped += [(tokens[t].ref, pk) for t, pk in existing.items()]
    return [
        (row, people)
        for row, people in valid
        if external_token(organization.pk, row.ref) not in existing
    ]


# --- Placing -------------------------------------------------------------------------------------

# One statement for the whole batch: each point finds the generation in force at its own time
# (the latest activated, not yet retired — grid_locate's rule), then the lowest-coded cell of that
# generation it intersects. Raw SQL because the ORM cannot join a list of parameters laterally;
# the cell probe uses the GiST index on grid_gridcell.geom.
_LOCATE_SQL = """
    SELECT p.i, c.id, c.code
    FROM unnest(%s::int[], %s::float8[], %s::float8[], %s::timestamptz[]) AS p(i, lng, lat, at)
    CROSS JOIN LATERAL (
        SELECT g.id FROM grid_generation g
        WHERE g.activated_at <= p.at AND (g.retired_at IS NULL OR g.retired_at > p.at)
        ORDER BY g.activated_at DESC LIMIT 1
    ) g
    CROSS JOIN LATERAL (
        SELECT c.id, c.code FROM grid_gridcell c
        WHERE c.generation_id = g.id
          AND ST_Intersects(c.geom, ST_SetSRID(ST_MakePoint(p.lng, p.lat), 4326))
        ORDER BY c.code LIMIT 1
    ) c
"""


def wgs84_of(row: BulkPetition) -> tuple[float, float] | None:
    from grid.coords import to_wgs84

    if row.location is None:
        return None
    lng, lat = row.location
    return to_wgs84(float(lng), float(lat), row.crs)


def locate_points(valid: list) -> dict[int, tuple[int, str]]:
    """Position in `valid` → (cell id, cell code) for the rows whose point lies in a cell."""
    points = [(i, wgs84_of(row), row.received_at) for i, (row, _p) in enumerate(valid)]
    points = [(i, xy, at) for i, xy, at in points if xy is not None]
    if not points:
        return {}
    if connection.vendor != "postgresql":
        return _locate_one_by_one(points)
    with connection.cursor() as cur:
        cur.execute(
            _LOCATE_SQL,
            [
                [i for i, _xy, _at in points],
                [xy[0] for _i, xy, _at in points],
                [xy[1] for _i, xy, _at in points],
                [at for _i, _xy, at in points],
            ],
        )
        return {i: (cell_id, code) for i, cell_id, code in cur.fetchall()}


def _locate_one_by_one(points: list) -> dict[int, tuple[int, str]]:
    """SpatiaLite (development only) has no LATERAL join: one grid_locate per point."""
    from grid.services.locate import grid_locate

    found = {}
    for i, (lng, lat), at in points:
        cell = grid_locate((lng, lat), at=at).cell
        if cell is not None:
            found[i] = (cell.pk, cell.code)
    return found


# --- Building the rows ---------------------------------------------------------------------------


@dataclass
class _Prepared:
    row: BulkPetition
    petition: Petition
    people: list[dict]
    events: list[dict]  # PetitionEvent fields except petition


def _district(organization: Organization) -> str:
    return (
        organization.area_code[:6] if organization.area_code else settings.CIVICGRID_DISTRICT_CODE
    )


def _prepare(item: tuple, i: int, cells: dict, organization, actor) -> _Prepared:
    """The case as petition_register would create it, then taken through its history."""
    row, people = item
    xy = wgs84_of(row)
    point = Point(*xy, srid=4326) if xy else None
    cell_id, cell_code = cells.get(i, (None, None))
    area_from_address = cell_id is None and bool(row.area_code)
    district = _district(organization)
    p = Petition(
        district_code=district,
        year=deadlines.local_date(row.received_at).year,
        channel=row.channel,
        source=row.source,
        received_at=row.received_at,
        case_type=row.case_type,
        category_id=row.category.pk,
        summary=row.summary.strip(),
        content=row.content,
        anonymous=row.anonymous,
        location=point,
        address=row.address,
        cell_id=cell_id,
        area_code=cell_code or row.area_code or organization.area_code or district,
        registered_by_org_id=organization.pk,
        registered_by_id=actor.pk if actor is not None else None,
        route_due=deadlines.route_due(row.received_at),
        notify_due=None if row.anonymous else deadlines.notify_due(row.received_at),
        intake_token=external_token(organization.pk, row.ref),
    )
    payload = {
        "channel": row.channel,
        "cell": cell_code,
        "located": point is not None,
        "outside_grid": point is not None and cell_id is None,
    }
    if area_from_address:
        payload["area_from_address"] = row.area_code
    events = [_event(actor, row.received_at, "register", "", p.status, payload)]
    _history(p, row, organization, actor, events)
    return _Prepared(row, p, people, events)


def _event(actor, at, action, from_status, to_status, payload) -> dict:
    return {
        "actor_id": actor.pk if actor is not None else None,
        "at": at,
        "action": action,
        "from_status": from_status,
        "to_status": to_status,
        "payload": payload,
    }


def _step(p: Petition, events: list, actor, at, action: str, payload: dict) -> None:
    """What workflow._transition does around a step: status from the map, version, event."""
    allowed, to_status = TRANSITIONS[action]
    if p.status not in allowed:  # cannot happen after row_errors; never write a wrong history
        raise RuntimeError(f"bulk history: {action} not allowed from {p.status}")
    from_status = p.status
    if to_status:
        p.status = to_status
    p.version += 1
    events.append(_event(actor, at, action, from_status, p.status, payload))


def _history(p: Petition, row: BulkPetition, organization, actor, events: list) -> None:
    """Route, reply and close as petition_route / petition_reply / petition_close would."""
    if not row.routing:
        return
    at, decision = row.routed_at, row.routing
    p.routing, p.routing_reason, p.routed_at = decision, row.routing_reason, at
    on_time = deadlines.local_date(at) <= p.route_due
    payload = {"decision": decision, "reason": row.routing_reason}
    if decision == "reject":
        p.closed_at = at
        _step(p, events, actor, at, "route_reject", {**payload, "on_time": on_time})
        return
    p.accepted_at = at
    p.handling_unit_id = (row.unit or organization).pk
    p.handle_due = deadlines.handle_due(at)
    if decision in ("forward", "assign"):
        p.objection_due = _objection_due(at)
    unit_id = p.handling_unit_id
    _step(
        p, events, actor, at, f"route_{decision}", {**payload, "unit": unit_id, "on_time": on_time}
    )
    if row.replied_at is None:
        return
    at = row.replied_at
    p.outcome, p.reply_text, p.replied_at = row.outcome, row.reply_text, at
    p.review_request_due = deadlines.review_request_due(at)
    on_time = deadlines.local_date(at) <= p.handle_due
    _step(p, events, actor, at, "reply", {"outcome": row.outcome, "on_time": on_time})
    if row.closed_at is None:
        return
    p.closed_at = row.closed_at
    on_time = deadlines.local_date(p.replied_at) <= p.handle_due
    _step(p, events, actor, row.closed_at, "close", {"on_time": on_time})


_objection_cache: dict[dt.date, dt.date] = {}


def _objection_due(at: dt.datetime) -> dt.date:
    """Working-day deadline, cached per local date (the holiday calendar is read per call)."""
    day = deadlines.local_date(at)
    if day not in _objection_cache:
        if len(_objection_cache) > 4096:
            _objection_cache.clear()
        _objection_cache[day] = deadlines.objection_due(at)
    return _objection_cache[day]


# --- Writing -------------------------------------------------------------------------------------


def _allocate(prepared: list[_Prepared]) -> None:
    """Receipt numbers in blocks: lock each (district, year) counter (in a fixed order, so two
    importers cannot deadlock), move it on by the block's size, number the block in input order."""
    blocks = Counter((p.petition.district_code, p.petition.year) for p in prepared)
    next_seq = {}
    for district, year in sorted(blocks):
        counter, _c = ReceiptCounter.objects.select_for_update().get_or_create(
            district_code=district, year=year
        )
        next_seq[(district, year)] = counter.last + 1
        counter.last += blocks[(district, year)]
        counter.save(update_fields=["last"])
    for prep in prepared:
        p = prep.petition
        p.seq = next_seq[(p.district_code, p.year)]
        next_seq[(p.district_code, p.year)] += 1
        p.receipt_no = f"XF-{p.district_code}-{p.year}-{p.seq:06d}"
        p.query_code_hash = query_code_hash(p.receipt_no, _query_code())


def _query_code() -> str:
    """A query code like intake.query_code_new's (8 of the 32 letters, uniform: 256 = 8 × 32),
    from one urandom call instead of eight secrets.choice calls."""
    return "".join(QUERY_ALPHABET[b % 32] for b in os.urandom(8))


def _insert(prepared: list[_Prepared], documents: bool) -> None:
    """Numbers, cases, petitioners, events (and opinions) of the batch: a few statements."""
    if not prepared:
        return
    _allocate(prepared)
    insert_rows(Petition, [p.petition for p in prepared])
    insert_rows(
        Petitioner,
        [
            Petitioner(
                petition_id=prep.petition.pk,
                name=person["name"].strip(),
                id_number=person.get("id_number", ""),
                phone=person.get("phone", ""),
                address=person.get("address", ""),
                is_representative=bool(person.get("is_representative")),
            )
            for prep in prepared
            for person in prep.people
        ],
    )
    events = [
        PetitionEvent(petition_id=prep.petition.pk, **e) for prep in prepared for e in prep.events
    ]
    insert_rows(PetitionEvent, events)
    if documents:
        _opinions(prepared, events)


def insert_rows(model, objs: list) -> None:
    """INSERT model instances in one statement and set their ids — bulk_create's result.

    On PostgreSQL (psycopg2) the statement is built by psycopg2's execute_values from each
    field's own pre_save + get_db_prep_save (so encryption, blind indexes, auto_now and geometry
    adaptation are the model's), not by Django's SQL compiler: for the ~55 columns of a petition
    the compiler cost ~0.5 ms a row, more than the insert itself (bench/README.md, "ledger").
    Other backends use bulk_create.
    """
    if not objs:
        return
    if connection.vendor != "postgresql" or not hasattr(
        connection.connection, "get_dsn_parameters"
    ):
        model.objects.bulk_create(objs)
        return
    from psycopg2.extras import execute_values

    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    conn = transaction.get_connection()  # the connection itself, not the per-call proxy
    qn = conn.ops.quote_name
    readers = [_db_value(f, conn) for f in fields]
    rows = [tuple(read(obj) for read in readers) for obj in objs]
    sql = (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
        f"VALUES %s RETURNING {qn(meta.pk.column)}"
    )
    with conn.cursor() as cur, conn.wrap_database_errors:  # psycopg2's errors → Django's
        ids = execute_values(cur.cursor, sql, rows, page_size=len(rows), fetch=True)
    for obj, (pk,) in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, conn.alias


# Field classes whose database value on PostgreSQL is the attribute itself (str, int, bool, date,
# aware datetime, a foreign key's id): read directly instead of through pre_save and
# get_db_prep_save, which cost ~3 µs a field. Exact classes only — a subclass (EncryptedCharField,
# BlindIndexField) has its own conversion — and no auto_now fields.
_PLAIN_FIELDS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.BooleanField,
    models.DateField,
    models.DateTimeField,
    models.ForeignKey,
)


def _db_value(f, conn) -> Callable:
    """How to read a field's database value off an instance (see _PLAIN_FIELDS)."""
    plain = type(f) in _PLAIN_FIELDS and not (
        getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    )
    if plain:
        return attrgetter(f.attname)
    return lambda obj: f.get_db_prep_save(f.pre_save(obj, True), conn)


def _opinions(prepared: list[_Prepared], events: list[PetitionEvent]) -> None:
    """The 处理意见书 petition_reply stores with its reply event, rendered the same way."""
    from petitions.services.documents import document_render_html

    replies = {e.petition_id: e for e in events if e.action == "reply"}
    if not replies:
        return
    people = {}
    for person in Petitioner.objects.filter(petition_id__in=list(replies)).order_by("pk"):
        people.setdefault(person.petition_id, []).append(person)
    docs = []
    for prep in prepared:
        p = prep.petition
        if p.pk not in replies:
            continue
        _prefetch_petitioners(p, people.get(p.pk, []))
        html = document_render_html(petition=p, kind=Document.Kind.OPINION, event=replies[p.pk])
        docs.append(
            Document(petition=p, event=replies[p.pk], kind=Document.Kind.OPINION, html=html)
        )
    Document.objects.bulk_create(docs)


def _prefetch_petitioners(petition: Petition, people: list[Petitioner]) -> None:
    """Fill the petitioners cache as prefetch_related would, so rendering costs no query."""
    qs = Petitioner.objects.filter(petition=petition)
    qs._result_cache, qs._prefetch_done = people, True
    petition._prefetched_objects_cache = {"petitioners": qs}


def _insert_one_by_one(prepared: list[_Prepared], documents: bool, outcome: BatchOutcome) -> None:
    """After the database refused the batch: each row in its own savepoint, so only the row at
    fault fails (a reference a concurrent run created first is skipped)."""
    for prep in prepared:
        prep.petition.pk = prep.petition.id = None
        prep.petition._state.adding = True
        try:
            with transaction.atomic():
                _insert([prep], documents)
        except LOST:
            raise
        except IntegrityError:
            prep.petition.pk = None
            existing = Petition.objects.filter(intake_token=prep.petition.intake_token).first()
            if existing is not None:
                outcome.skipped.append((prep.row.ref, existing.pk))
            else:
                _db_error(prep, outcome)
        except DatabaseError:
            prep.petition.pk = None
            _db_error(prep, outcome)
        else:
            outcome.created.append((prep.row.ref, prep.petition.pk))


def _db_error(prep: _Prepared, outcome: BatchOutcome) -> None:
    logger.exception("bulk row %s (%s) refused by the database", prep.row.row, prep.row.ref)
    outcome.errors.append(
        BulkError(prep.row.row, prep.row.ref, "", _("数据库拒绝保存这一行，请联系管理员。"))
    )
