"""Gunicorn settings for CivicGrid: `gunicorn -c deploy/gunicorn.conf.py config.wsgi:application`.

nginx in front buffers slow clients and uploads, so a few single-threaded processes carry the
load; requests are short (long work goes to Celery). GUNICORN_* variables override.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# Only nginx talks to gunicorn; in a container the bind is 0.0.0.0:8001 (GUNICORN_BIND).
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8001")

# CPUs + 1, capped: requests spend most of their time in Python, so more processes than CPUs
# only take turns on them, and each holds its own database connection (CONN_MAX_AGE). Measured
# (bench/http_load.py, 10 clients, 2 CPUs running PostgreSQL too, 1,000,000 cases, alternated):
# 5 workers (the usual 2 × CPUs + 1) case list p95 160/169 ms at 84/76 req/s, case page 150/152
# ms; 3 workers 136/147 ms at 95/91 req/s, case page 124/136 ms, 10–20 % less CPU per request;
# 2 workers about the same as 3 (137/122 ms, 114/122 ms), but one slow request (an export, a
# report built on a cache miss) would hold half of them.
workers = _int("GUNICORN_WORKERS", min(multiprocessing.cpu_count() + 1, 12))
# Sync workers by default: each takes the next connection from the one listen queue when it is
# free, so a request waits for the first free process. gthread workers keep keep-alive connections
# and accept new ones while busy, so requests queue behind a busy process while another is idle:
# measured (bench/http_load.py, 10 clients, 2 CPUs, 1,000,000 cases, same throughput and CPU per
# request) p95 case list 212/210 ms → 139/158 ms, case page 243/368 → 120/121 ms. Requests spend
# most of their time in Python, so threads of one process would only queue for the GIL
# (4 threads: 15–25 % more CPU per request). nginx in front buffers slow clients and uploads,
# which is what sync workers need. GUNICORN_THREADS > 1 switches to gthread, for hosts where
# requests wait on a remote database or storage.
threads = _int("GUNICORN_THREADS", 1)
worker_class = os.environ.get("GUNICORN_WORKER_CLASS") or ("gthread" if threads > 1 else "sync")

# A request that runs a minute is a bug or belongs in a task: the worker is killed and restarted.
timeout = _int("GUNICORN_TIMEOUT", 60)
# On restart (systemctl reload / HUP) running requests get this long to finish.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# gthread only (sync workers close each connection): above nginx's keepalive to the upstream, so
# gunicorn never closes a connection nginx reuses.
keepalive = _int("GUNICORN_KEEPALIVE", 75)

# Recycle each worker after about ten thousand requests; the jitter keeps them from restarting
# all at once. A new worker costs ~1.2 s of CPU (imports, first-request warm-up); at 1,000 the
# recycling of five workers took several CPU-seconds out of every ~5,000 requests and showed as
# p95 spikes on a 2-CPU host, while a worker's memory is flat after warm-up (148 → 156 MB over
# the first 1,300 requests, then 156 MB to 5,700; bench/README.md).
max_requests = _int("GUNICORN_MAX_REQUESTS", 10000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 1000)

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
