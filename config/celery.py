"""Celery application: broker from CELERY_BROKER_URL (Redis, or RabbitMQ with amqp://…); tasks
run eagerly in-process when it is unset (embedded demo).

Queues (settings "Celery queues and beat"): default, imports, reports. `route_task` sends a task
to a queue by the module it is defined in, so a slow 100,000-row import never delays a deadline
reminder; a worker host may serve all three (`-Q default,imports,reports`) or only some.
"""

import os
from fnmatch import fnmatchcase

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("civicgrid")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Task-name patterns (module path, then the task's function name) → queue; first match wins.
QUEUE_BY_MODULE: tuple[tuple[str, str], ...] = (
    ("ledger.*", "imports"),
    ("*.tasks_ledger.*", "imports"),
    ("*.ledger.*", "imports"),
    ("*.*import*", "imports"),
    ("dashboard.*", "reports"),
    ("*.*report*", "reports"),
)


def route_task(name: str, args=None, kwargs=None, options=None, task=None, **kw) -> dict | None:
    """The queue of a task, from its module (a `queue=` given to the task or to apply_async
    wins over this); None leaves it on the default queue."""
    for pattern, queue in QUEUE_BY_MODULE:
        if fnmatchcase(name, pattern):
            return {"queue": queue}
    return None
