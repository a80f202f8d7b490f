from celery import shared_task


@shared_task
def idempotency_sweep_task() -> int:
    """Delete Idempotency-Key records past their 24 hours (hourly from beat)."""
    from api.services import idempotency_sweep

    return idempotency_sweep()
