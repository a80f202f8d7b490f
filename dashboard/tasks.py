"""Periodic work of the dashboard (thin: each task calls one service)."""

from celery import shared_task
from django.utils import timezone

from dashboard.services import snapshot_freeze
from dashboard.stats import TZ, Period


def last_month(now=None) -> Period:
    """The calendar month before the current Beijing date's month."""
    today = (now or timezone.now()).astimezone(TZ).date()
    return Period.month(today.year, today.month).previous()


@shared_task
def monthly_snapshot_task() -> list[int]:
    """Freeze last month's official report (beat: 01:00 Asia/Shanghai on the 1st). Safe to run
    twice: areas already frozen for the month keep their first snapshot."""
    return [s.pk for s in snapshot_freeze(period=last_month())]
