"""gunicorn's settings for the dashboard (read from the working folder: gunicorn 'app:wsgi()').

Bounded on purpose: each worker serves `threads` requests at once and holds at most
`worker_connections` connections; a flood waits in the listen backlog or is refused by the
kernel, and never makes a worker grow without limit. Flags on the command line win.
"""
workers = 2
# gthread, except that a request is read whole by the worker's event loop before a thread
# takes it: idle and slow clients hold no thread, and a request not sent within
# DASHBOARD_REQUEST_TIMEOUT seconds is answered 408 (dashboard/serving.py)
worker_class = "dashboard.serving.Worker"
threads = 4
worker_connections = 100          # per worker (gthread): connections held open at once
backlog = 256                     # connections the kernel queues before refusing
timeout = 60                      # a worker stuck this long is replaced
keepalive = 5
# The request line and headers are bounded by gunicorn's defaults (4094-byte line, 100
# fields of 8190 bytes); the body by the app itself (DASHBOARD_MAX_REQUEST_BYTES).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
