"""gunicorn's settings for the dashboard (read from the working folder: gunicorn 'app:wsgi()').

Sized for the machine and bounded on purpose, from the same settings as app.py
(settings.py: DASHBOARD_WORKERS, DASHBOARD_THREADS, DASHBOARD_MAX_CONNECTIONS,
DASHBOARD_QUEUE_WAIT): one worker per core by default, each serving `threads` requests at
once and holding at most `worker_connections` connections; a request that would wait for a
thread longer than DASHBOARD_QUEUE_WAIT is answered 503 with Retry-After at once, and a
flood waits in the listen backlog or is refused by the kernel, never making a worker grow
without limit. Flags on the command line win.
"""
import settings as _settings
from dashboard.serving import worker_count as _worker_count

_cfg = _settings.from_env()

workers = _worker_count(_cfg.server_workers)
# gthread, except that a request is read whole by the worker's event loop before a thread
# takes it: idle and slow clients hold no thread, and a request not sent within
# DASHBOARD_REQUEST_TIMEOUT seconds is answered 408 (dashboard/serving.py)
worker_class = "dashboard.serving.Worker"
threads = _cfg.server_threads
worker_connections = _cfg.server_connections   # per worker: connections held open at once
backlog = 256                     # connections the kernel queues before refusing
timeout = 60                      # a worker stuck this long is replaced
keepalive = 5
# The request line and headers are bounded by gunicorn's defaults (4094-byte line, 100
# fields of 8190 bytes); the body by the app itself (DASHBOARD_MAX_REQUEST_BYTES).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
