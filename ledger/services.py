"""Ledger import (信访台账导入): upload → column mapping → dry run → commit, and the sweep that
resumes a stuck commit. Every write of the ledger app happens here.

Runs (dry run and commit) stream the file in batches (500 rows for a dry run, 2,000 for a
commit). The commit hands each batch's valid new rows to the bulk path
(petitions.services.bulk.bulk_create_batch: receipt numbers in blocks, one placing statement,
bulk inserts of cases, petitioners and events that bring each case to the ledger's status at the
ledger's dates). Each batch is one transaction holding the cases, their LedgerRow, the row errors
and the progress (processed_rows, counters, heartbeat): a run killed mid-batch loses that batch
only and is continued from `processed_rows` — by `ledger_resume_stuck()` once its heartbeat is 10
minutes old. A bad row is recorded in LedgerRowError and the others go on (the bulk path checks
every rule up front and falls back to row-by-row should the database refuse a batch). Re-running a
file is idempotent: each row's external reference (its 编号, or a hash of date, name, identity
number and summary) is unique per importing office (LedgerRow, and the case's intake token).

Times of the steps (Asia/Shanghai): received at 09:00 on the ledger date; accepted a day
later (one hour later when the reply came the same or the next day); replied at 16:00 and closed
at 17:00 on the reply date. No time is later than the moment of the import.

Placing: coordinates (in the import's `crs`) are placed in a cell by the bulk path;
without coordinates, or outside every cell, the address is matched against the community and
street names of the active generation (ledger.places) and the case gets that area code, cell empty.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterator
from functools import partial
from itertools import islice

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger import reading
from ledger.models import LedgerImport, LedgerRow, LedgerRowError
from ledger.places import AddressPlaces
from ledger.rows import RAW_MAX, Record, RowError, RowReader, mapping_check, mapping_suggest
from petitions import deadlines
from petitions.models import Organization, Petition
from petitions.services.bulk import BatchOutcome, BulkPetition, bulk_create_batch

logger = logging.getLogger("civicgrid.ledger")

QUEUE = "imports"
BATCH_SIZE = 500  # dry run
COMMIT_BATCH_SIZE = 2000  # commit: one bulk transaction per batch (petitions.services.bulk)
STUCK_AFTER = dt.timedelta(minutes=10)
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
RECEIVED_HOUR, REPLY_HOUR, CLOSE_HOUR = 9, 16, 17
Status = LedgerImport.Status
Phase = LedgerImport.Phase
ProgressCallback = Callable[[LedgerImport], None]


def _raw(f):
    """The real binary file under Django's File/UploadedFile wrappers (csv and openpyxl need it)."""
    while hasattr(f, "file") and f.file is not f:
        f = f.file
    return f


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=deadlines.TZ)


# --- Upload and mapping ------------------------------------------------------------------------


def ledger_upload(
    *, organization: Organization, upload, actor, crs: str = LedgerImport.Crs.WGS84
) -> LedgerImport:
    """Store an uploaded ledger, find its header row and suggest the column mapping."""
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            {"file": [_("文件不能超过%(n)d MB。") % {"n": MAX_UPLOAD_BYTES // 2**20}]}
        )
    try:
        layout = reading.analyse(_raw(upload), name=upload.name)
    except ValidationError as e:
        raise ValidationError({"file": e.messages}) from e
    upload.seek(0)
    return LedgerImport.objects.create(
        organization=organization,
        file=upload,
        original_name=upload.name[:200],
        format=layout.format,
        encoding=layout.encoding,
        delimiter=layout.delimiter,
        header_row=layout.header_row,
        headers=layout.headers,
        total_rows=layout.total_rows,
        mapping=mapping_suggest(layout.headers),
        crs=crs,
        created_by=actor,
    )


def ledger_map(
    *, ledger_import: LedgerImport, mapping: dict[str, str], crs: str | None = None, actor=None
) -> LedgerImport:
    """Save the column mapping (checked against the headers); a dry run is due again."""
    with transaction.atomic():
        imp = LedgerImport.objects.select_for_update().get(pk=ledger_import.pk)
        if imp.status in (Status.RUNNING, Status.DONE) or imp.phase == Phase.COMMIT:
            raise ValidationError(_("正式导入已开始，不能再修改列对应。"), code="locked")
        imp.mapping = mapping_check(mapping, imp.headers)
        if crs:
            imp.crs = crs
        imp.status = Status.MAPPED
        imp.save(update_fields=["mapping", "crs", "status"])
    return imp


# --- Starting runs ------------------------------------------------------------------------------


def _enqueue(pk: int) -> None:
    from ledger.tasks import ledger_run_task

    transaction.on_commit(partial(ledger_run_task.apply_async, args=[pk], queue=QUEUE))


def ledger_dry_run_start(
    *, ledger_import: LedgerImport, actor=None, enqueue: bool = True
) -> LedgerImport:
    """Queue a dry run: every row checked, nothing registered, a per-row error report."""
    now = timezone.now()
    with transaction.atomic():
        imp = LedgerImport.objects.select_for_update().get(pk=ledger_import.pk)
        if imp.status not in (Status.MAPPED, Status.DRY_RUN_DONE, Status.FAILED) or (
            imp.phase == Phase.COMMIT
        ):
            raise ValidationError(_("当前状态下不能试导入。"), code="status")
        _reset(imp, Phase.DRY_RUN, now)
        if enqueue:
            _enqueue(imp.pk)
    return imp


def ledger_commit_start(
    *,
    ledger_import: LedgerImport,
    actor=None,
    enqueue: bool = True,
    dry_run_first: bool = True,
) -> LedgerImport:
    """Queue the commit run (or continue a failed one from where it stopped). The pages commit
    only after a dry run; the command line may commit straight away (dry_run_first=False)."""
    now = timezone.now()
    with transaction.atomic():
        imp = LedgerImport.objects.select_for_update().get(pk=ledger_import.pk)
        _check_may_commit(imp, dry_run_first)
        if imp.phase == Phase.COMMIT:  # a failed commit continues from processed_rows
            imp.status, imp.failure, imp.heartbeat_at = Status.RUNNING, "", now
            imp.save(update_fields=["status", "failure", "heartbeat_at"])
        else:
            _reset(imp, Phase.COMMIT, now)
        if enqueue:
            _enqueue(imp.pk)
    return imp


def _check_may_commit(imp: LedgerImport, dry_run_first: bool) -> None:
    resuming = imp.status == Status.FAILED and imp.phase == Phase.COMMIT
    if imp.status == Status.DRY_RUN_DONE or resuming:
        return
    if not dry_run_first and imp.status in (Status.MAPPED, Status.FAILED):
        return
    if imp.status in (Status.MAPPED, Status.FAILED):
        raise ValidationError(_("请先试导入，检查无误后再正式导入。"), code="dry_run_first")
    raise ValidationError(_("当前状态下不能正式导入。"), code="status")


def _reset(imp: LedgerImport, phase: str, now: dt.datetime) -> None:
    LedgerRowError.objects.filter(ledger_import=imp, phase=phase).delete()
    imp.status, imp.phase, imp.failure = Status.RUNNING, phase, ""
    imp.processed_rows = imp.created_count = imp.skipped_count = imp.error_count = 0
    imp.started_at = imp.heartbeat_at = now
    imp.finished_at = None
    imp.save(
        update_fields=[
            "status",
            "phase",
            "failure",
            "processed_rows",
            "created_count",
            "skipped_count",
            "error_count",
            "started_at",
            "heartbeat_at",
            "finished_at",
        ]
    )


def ledger_resume_stuck(*, now: dt.datetime | None = None) -> list[int]:
    """Re-queue runs whose heartbeat is older than 10 minutes (the worker died or the task was
    lost). Claimed by a conditional UPDATE, so two sweeps re-queue a run once; the run continues
    from processed_rows (and skips imported rows anyway)."""
    now = now or timezone.now()
    stale = Q(status=Status.RUNNING) & (
        Q(heartbeat_at__lt=now - STUCK_AFTER) | Q(heartbeat_at__isnull=True)
    )
    resumed = []
    for pk in LedgerImport.objects.filter(stale).values_list("pk", flat=True):
        if LedgerImport.objects.filter(stale, pk=pk).update(heartbeat_at=now):
            resumed.append(pk)
            _enqueue(pk)
    if resumed:
        logger.warning("ledger imports resumed after a stale heartbeat: %s", resumed)
    return resumed


# --- Running ------------------------------------------------------------------------------------


def ledger_run(
    import_id: int, *, on_progress: ProgressCallback | None = None
) -> LedgerImport | None:
    """Run (or continue) the queued dry run or commit of an import. Returns quietly when the
    import is gone or not running; a failure is recorded on the import (status failed)."""
    imp = LedgerImport.objects.filter(pk=import_id).select_related("organization").first()
    if imp is None or imp.status != Status.RUNNING:
        return imp
    try:
        if imp.phase == Phase.DRY_RUN:
            _dry_run(imp, on_progress)
        else:
            _commit(imp, on_progress)
    except Exception as e:
        logger.exception("ledger import %s failed", imp.pk)
        message = "; ".join(e.messages) if isinstance(e, ValidationError) else repr(e)
        # If even this write fails (database down), the run stays "running" and the stuck
        # sweep continues it later.
        LedgerImport.objects.filter(pk=imp.pk, status=Status.RUNNING).update(
            status=Status.FAILED, failure=message[:1000], finished_at=timezone.now()
        )
    imp.refresh_from_db()
    return imp


@contextlib.contextmanager
def _source(imp: LedgerImport):
    """The import's rows, streamed from its stored file."""
    if not imp.file:
        raise ValidationError(_("导入文件已删除，请重新上传。"), code="no_file")
    with (
        imp.file.storage.open(imp.file.name, "rb") as f,
        reading.open_rows(
            _raw(f), format=imp.format, encoding=imp.encoding, delimiter=imp.delimiter
        ) as rows,
    ):
        yield rows


def _batches(rows: Iterator, size: int) -> Iterator[list]:
    while batch := list(islice(rows, size)):
        yield batch


def _reader(imp: LedgerImport) -> RowReader:
    return RowReader(
        mapping=imp.mapping,
        headers=imp.headers,
        today=deadlines.local_date(timezone.now()),
    )


def _error_rows(imp: LedgerImport, row_number: int, errors: list[RowError]) -> list[LedgerRowError]:
    return [
        LedgerRowError(
            ledger_import=imp,
            phase=imp.phase,
            row_number=row_number,
            field=e.field,
            reason=e.reason[:300],
            raw_value=e.raw[:RAW_MAX],
        )
        for e in errors
    ]


class _Batch:
    """Counters and error rows of one batch."""

    def __init__(self) -> None:
        self.created = self.skipped = self.failed = 0
        self.errors: list[LedgerRowError] = []

    def fail(self, imp: LedgerImport, row_number: int, errors: list[RowError]) -> None:
        self.failed += 1
        self.errors += _error_rows(imp, row_number, errors)


def _claim(imp: LedgerImport, offset: int) -> bool:
    """Lock the import for this batch (inside its transaction) if this run still owns it: still
    running and at our offset. False when another run (a resumed one) took it over or it stopped."""
    return (
        LedgerImport.objects.select_for_update()
        .filter(pk=imp.pk, status=Status.RUNNING, processed_rows=offset)
        .exists()
    )


def _save_progress(imp: LedgerImport, offset: int, rows: int, batch: _Batch) -> None:
    """Write the batch's errors and counters, in the batch's transaction."""
    LedgerRowError.objects.bulk_create(batch.errors)
    LedgerImport.objects.filter(pk=imp.pk).update(
        processed_rows=offset + rows,
        created_count=F("created_count") + batch.created,
        skipped_count=F("skipped_count") + batch.skipped,
        error_count=F("error_count") + batch.failed,
        heartbeat_at=timezone.now(),
    )


def _finish(imp: LedgerImport, status: str) -> None:
    with transaction.atomic():
        done = LedgerImport.objects.filter(pk=imp.pk, status=Status.RUNNING).update(
            status=status,
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
            total_rows=F("processed_rows"),
        )
    if done and status == Status.DONE and imp.file:
        # The file holds identity numbers and phones in clear text: keep it no longer than needed.
        try:
            imp.file.delete(save=False)
        except OSError:
            logger.exception("ledger import %s: could not delete the uploaded file", imp.pk)
        LedgerImport.objects.filter(pk=imp.pk).update(file="")


def _dry_run(imp: LedgerImport, on_progress: ProgressCallback | None) -> None:
    """Check every row, register nothing; rows already imported count as skipped."""
    if imp.processed_rows:  # a resumed dry run starts over: duplicates need the whole file
        with transaction.atomic():
            _reset(imp, Phase.DRY_RUN, timezone.now())
    reader = _reader(imp)
    seen: dict[str, int] = {}  # external ref → first row (≈100 bytes a row)
    offset = 0
    with _source(imp) as rows:
        for chunk in _batches(reading.data_rows(rows, header_row=imp.header_row), BATCH_SIZE):
            records = [reader.read(n, values) for n, values in chunk]
            existing = _existing_refs(imp, records)
            batch = _Batch()
            for record in records:
                if record is None:
                    continue
                if record.errors:
                    batch.fail(imp, record.row_number, record.errors)
                elif record.external_ref in existing:
                    batch.skipped += 1
                elif record.external_ref in seen:
                    batch.fail(imp, record.row_number, [_duplicate(record, seen)])
                else:
                    seen[record.external_ref] = record.row_number
                    batch.created += 1
            with transaction.atomic():
                if not _claim(imp, offset):
                    return
                _save_progress(imp, offset, len(chunk), batch)
            offset += len(chunk)
            _notify(imp, on_progress)
    _finish(imp, Status.DRY_RUN_DONE)


def _duplicate(record: Record, seen: dict[str, int]) -> RowError:
    return RowError(
        "external_ref",
        _("编号与第%(n)d行重复。") % {"n": seen[record.external_ref]},
        record.external_ref,
    )


def _existing_refs(imp: LedgerImport, records: list[Record | None]) -> dict[str, tuple[int, int]]:
    """External ref → (import, row) of this batch's rows already imported by the office."""
    refs = [r.external_ref for r in records if r is not None and not r.errors]
    rows = LedgerRow.objects.filter(
        organization_id=imp.organization_id, external_ref__in=refs
    ).values_list("external_ref", "ledger_import_id", "row_number")
    return {ref: (import_id, row) for ref, import_id, row in rows}


def _notify(imp: LedgerImport, on_progress: ProgressCallback | None) -> None:
    if on_progress is not None:
        imp.refresh_from_db()
        on_progress(imp)


def _commit(imp: LedgerImport, on_progress: ProgressCallback | None) -> None:
    """Register every valid row not imported before, batch by batch, from processed_rows on."""
    reader = _reader(imp)
    places = AddressPlaces()
    offset = imp.processed_rows
    with _source(imp) as rows:
        data = reading.data_rows(rows, header_row=imp.header_row, skip=offset)
        for chunk in _batches(data, COMMIT_BATCH_SIZE):
            records = [reader.read(n, values) for n, values in chunk]
            with transaction.atomic():
                if not _claim(imp, offset):
                    return
                _save_progress(imp, offset, len(chunk), _commit_batch(imp, records, places))
            offset += len(chunk)
            _notify(imp, on_progress)
    _finish(imp, Status.DONE)


def _commit_batch(imp: LedgerImport, records: list[Record | None], places: AddressPlaces) -> _Batch:
    """Register the batch's new rows through the bulk path, in the caller's transaction, and
    record them as imported (LedgerRow) in the same transaction."""
    batch = _Batch()
    existing = _existing_refs(imp, records)
    now = timezone.now()
    wanted: list[BulkPetition] = []
    first_row: dict[str, int] = {}
    for record in records:
        if record is None:
            continue
        if record.errors:
            batch.fail(imp, record.row_number, record.errors)
            continue
        prior = existing.get(record.external_ref)
        if prior is not None:
            if prior[0] == imp.pk and prior[1] != record.row_number:
                batch.fail(
                    imp, record.row_number, [_duplicate(record, {record.external_ref: prior[1]})]
                )
            else:
                batch.skipped += 1
            continue
        if record.external_ref in first_row:
            batch.fail(imp, record.row_number, [_duplicate(record, first_row)])
            continue
        first_row[record.external_ref] = record.row_number
        wanted.append(bulk_row(imp, record, places, now))
    outcome = bulk_create_batch(
        wanted, organization=imp.organization, actor=imp.created_by, now=now
    )
    _record_rows(imp, outcome, first_row)
    batch.created += len(outcome.created)
    # Registered by an earlier run whose ledger row is missing, or by a concurrent run.
    batch.skipped += len(outcome.skipped)
    by_row: dict[int, list[RowError]] = {}
    for e in outcome.errors:
        by_row.setdefault(e.row, []).append(RowError(_service_field(e.field), e.reason))
    for row_number, row_errors in by_row.items():
        batch.fail(imp, row_number, row_errors)
    return batch


def _record_rows(imp: LedgerImport, outcome: BatchOutcome, first_row: dict[str, int]) -> None:
    """One LedgerRow per registered (or found) case: the idempotency key of later runs."""
    LedgerRow.objects.bulk_create(
        (
            LedgerRow(
                ledger_import=imp,
                organization_id=imp.organization_id,
                external_ref=ref,
                row_number=first_row[ref],
                petition_id=petition_id,
            )
            for ref, petition_id in [*outcome.created, *outcome.skipped]
        ),
        # A concurrent run of the same office may have recorded a skipped row first.
        ignore_conflicts=True,
    )


# The bulk path's error keys → our fields.
SERVICE_FIELDS = {
    "ref": "external_ref",
    "received_at": "received_date",
    "summary": "summary",
    "channel": "channel",
    "case_type": "case_type",
    "category": "category",
    "address": "address",
    "location": "longitude",
    "petitioners": "name",
    "unit": "handling_unit",
    "routing": "status",
    "routed_at": "status",
    "routing_reason": "reply_text",
    "replied_at": "reply_date",
    "closed_at": "reply_date",
    "outcome": "status",
    "reply_text": "reply_text",
    "": "status",
}


def _service_field(key: str) -> str:
    return SERVICE_FIELDS.get(key) or key.rsplit(".", 1)[-1]


def bulk_row(
    imp: LedgerImport, record: Record, places: AddressPlaces, now: dt.datetime
) -> BulkPetition:
    """A ledger row as a case for the bulk path, with the history its status and reply date
    tell (times as the module docstring says, none later than `now`)."""
    petitioners = ()
    if record.name:
        petitioners = (
            {
                "name": record.name,
                "id_number": record.id_number,
                "phone": record.phone,
                "address": record.address,
            },
        )
    received = min(_at(record.received_on, RECEIVED_HOUR), now)
    return BulkPetition(
        ref=record.external_ref,
        row=record.row_number,
        received_at=received,
        channel=record.channel,
        case_type=record.case_type,
        category=record.category,
        summary=record.summary,
        content=record.content,
        source=Petition.Source.OWN,
        location=record.location,
        crs=imp.crs,
        address=record.address,
        area_code=places.match(record.address) or "",
        petitioners=petitioners,
        anonymous=not record.name,
        **_history(record, received, now),
    )


def _history(record: Record, received: dt.datetime, now: dt.datetime) -> dict:
    """Route, reply and close as the ledger says: the bulk path's history fields."""
    status = record.status
    reply_at = _at(record.reply_on, REPLY_HOUR) if record.reply_on else None
    if status == Petition.Status.REGISTERED:
        return {}
    if status == Petition.Status.NOT_ACCEPTED:
        return {
            "routing": "reject",
            "routing_reason": record.reply_text or _("据历史台账记载不予受理。"),
            "routed_at": min(reply_at or received + dt.timedelta(days=1), now),
        }
    accept_at = received + dt.timedelta(days=1)
    if reply_at is not None and accept_at >= reply_at:
        accept_at = received + dt.timedelta(hours=1)
    history = {"routing": "accept", "unit": record.unit, "routed_at": min(accept_at, now)}
    if status == Petition.Status.HANDLING:
        return history
    history.update(
        replied_at=min(reply_at, now),
        outcome=Petition.Outcome.EXPLAIN,
        reply_text=record.reply_text or _("据历史台账记载已答复。"),
    )
    if status == Petition.Status.CLOSED:
        history["closed_at"] = min(_at(record.reply_on, CLOSE_HOUR), now)
    return history


# --- Command line ---------------------------------------------------------------------------------


def ledger_import_file(
    *, path: str, organization: Organization, actor=None, mapping: dict | None = None, crs="wgs84"
) -> LedgerImport:
    """Create an import from a file on disk (the management command's entry)."""
    from django.core.files import File

    with open(path, "rb") as f:
        upload = File(f, name=path.rsplit("/", 1)[-1])
        imp = ledger_upload(organization=organization, upload=upload, actor=actor, crs=crs)
    return ledger_map(ledger_import=imp, mapping=mapping if mapping is not None else imp.mapping)


def ledger_run_now(
    *, ledger_import: LedgerImport, commit: bool, on_progress: ProgressCallback | None = None
) -> LedgerImport:
    """Start a dry run or the commit and run it in this process (the command line's progress
    bar) instead of through the queue."""
    if commit:
        imp = ledger_commit_start(ledger_import=ledger_import, enqueue=False, dry_run_first=False)
    else:
        imp = ledger_dry_run_start(ledger_import=ledger_import, enqueue=False)
    return ledger_run(imp.pk, on_progress=on_progress)
