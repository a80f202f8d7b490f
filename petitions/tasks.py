"""Background work of petitions (thin: ids in, the row fetched again, one service, safe to run
twice). Scheduled by CELERY_BEAT_SCHEDULE; all on the default queue."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from petitions.models import Petition
from petitions.services.hooks import registration_notify
from petitions.services.sweeps import consistency_sweep, deadline_sweep

# A lost database connection, a serialization failure or a deadlock: the transaction was rolled
# back whole, so running the task again is safe.
RETRYABLE = (OperationalError, InterfaceError)
RETRY = {
    "acks_late": True,
    "autoretry_for": RETRYABLE,
    "max_retries": 5,
    "retry_backoff": 2,  # 2, 4, 8, … seconds
    "retry_backoff_max": 120,
    "retry_jitter": False,
}


@shared_task(**RETRY)
def deadline_sweep_task() -> dict:
    """Every 15 minutes: reminders, escalations, and side effects a broker outage lost."""
    return deadline_sweep()


@shared_task(**RETRY)
def consistency_sweep_task() -> dict:
    """Nightly: cases without a cell located again, stuck ledger imports resumed."""
    return consistency_sweep()


@shared_task(**RETRY)
def petition_registered_task(petition_id: int) -> int:
    """Side effects of a registration (enqueued on commit by petitions.services.hooks)."""
    petition = Petition.objects.filter(pk=petition_id).first()
    if petition is None:
        return 0
    return registration_notify(petition)
