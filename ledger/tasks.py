"""Ledger import tasks, sent to the "imports" queue (ledger.services.QUEUE): thin — ids in, the service fetches the row again and
returns quietly when there is nothing to do, so running a task twice is harmless."""

from celery import shared_task

from ledger.services import ledger_resume_stuck, ledger_run


@shared_task(acks_late=True)
def ledger_run_task(import_id: int) -> None:
    """Run or continue the queued dry run or commit of one import."""
    ledger_run(import_id)


@shared_task
def ledger_resume_stuck_task() -> list[int]:
    """Re-queue imports whose run stopped sending heartbeats (nightly consistency sweep)."""
    return ledger_resume_stuck()
