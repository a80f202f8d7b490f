"""Gunicorn settings for CivicGrid: `gunicorn -c deploy/gunicorn.conf.py config.wsgi:application`.

nginx in front buffers slow clients and uploads, so a few processes with a few threads each carry
the load; requests are short (long work goes to Celery). GUNICORN_* variables override.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# Only nginx talks to gunicorn; in a container the bind is 0.0.0.0:8001 (GUNICORN_BIND).
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8001")

# 2 × CPUs + 1, capped: each process holds its own database connections (CONN_MAX_AGE).
workers = _int("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 12))
# gthread keeps nginx's upstream keep-alive connections open between requests. One thread per
# process by default: requests spend most of their time in Python, not waiting on the database,
# and threads of one process then queue for the GIL. Measured (bench/http_load.py, 10 clients,
# 2 CPUs, 100,000 cases): 5 workers × 1 thread gave 86/70/79 req/s for intake, case list and
# case page against 72/52/56 with 4 threads, at 15–25 % less CPU per request. Raise
# GUNICORN_THREADS where requests wait on a remote database or storage.
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 1)

# A request that runs a minute is a bug or belongs in a task: the worker is killed and restarted.
timeout = _int("GUNICORN_TIMEOUT", 60)
# On restart (systemctl reload / HUP) running requests get this long to finish.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Above nginx's keepalive to the upstream, so gunicorn never closes a connection nginx reuses.
keepalive = _int("GUNICORN_KEEPALIVE", 75)

# Recycle each worker after about a thousand requests; the jitter keeps them from restarting
# all at once.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 100)

# The heartbeat file of each worker; containers set /dev/shm (their /tmp may be a slow overlay).
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or None

# Logs go to stdout/stderr: journald (systemd) or the container log collects them.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Client address (from nginx), user, time, method, PATH ONLY, protocol, status, size, duration in
# ms and nginx's request id. No query string and no referer: list filters and searches carry
# names and identity numbers, which must not end up in logs (SPEC §7).
access_log_format = (
    '%({x-forwarded-for}i)s - %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms '
    "rid=%({x-request-id}i)s"
)

# Trust X-Forwarded-* only from the local nginx (containers: the compose network, via env).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

proc_name = "civicgrid-web"
