"""The HTTP worker of both entry points (python app.py and gunicorn -c gunicorn.conf.py):
gunicorn's threaded worker, except that a connection reaches a thread only once its request
has arrived.

gunicorn's gthread worker hands each new connection to a thread, which then waits, with no
time limit, for the rest of the request: eight connections that send half a request and
stop hold every thread, and the dashboard answers nobody until they close. Here the worker's
event loop (one thread, non-blocking sockets, the same loop that already waits for
kept-alive connections) reads each request's head, and its body when it declares one of at
most BODY_BYTES, before handing the connection to a thread. So:

- a silent or slow client costs a socket and a small buffer, never a thread;
- a request must arrive whole within DASHBOARD_REQUEST_TIMEOUT seconds of its connection (or
  of the previous answer on a kept-alive one), else it is answered 408 and closed; a head
  over HEAD_BYTES is answered 431;
- in a thread, a larger body is read, and the answer written, with the same limit
  (a read must end by the request's deadline; a write may wait that long);
- connections stay bounded by worker_connections (DASHBOARD_MAX_CONNECTIONS under app.py).
  When that many are open and another waits to be accepted, the oldest idle one gives way:
  a kept-alive connection, else one still sending its request after MIN_AGE_S. Idle sockets
  cannot keep a new client out.

And the queue in front of the threads is bounded in time, not left to grow: a request that
would wait for a thread longer than DASHBOARD_QUEUE_WAIT seconds is answered at once with
503, ``Retry-After`` and a JSON reason, rather than held for tens of seconds while the server
works through what came before it (a wall's next tick asks again; the page keeps what it
shows). Two checks: when a request is complete, the loop estimates its wait (the requests
already waiting, times the recent time a request takes, over the threads) and refuses it
if that is past the limit; and a thread that takes a request which waited past the limit
anyway answers it 503 without serving it. Either way it costs microseconds, so an overloaded
server stays quick to say so and is back to normal as soon as the flood ends (nothing
waits in the queue to be served late).

Plain HTTP only: with TLS in gunicorn itself (certfile), the worker behaves as gthread (TLS
belongs to a reverse proxy: docs/deploying.md).
"""
from __future__ import annotations

import json
import os
import re
import select
import selectors
import socket
import threading
import time
from collections import deque
from functools import partial

from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers import gthread

HEAD_BYTES = 64 * 1024       # request line and header fields, read by the loop
BODY_BYTES = 64 * 1024       # a declared body up to this is read by the loop too
MIN_AGE_S = 1.0              # a connection still sending its request after this may give way
MAX_WORKERS = 8              # DASHBOARD_WORKERS=0: one worker per core, at most this many

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_LENGTH = re.compile(rb"\r\ncontent-length[ \t]*:[ \t]*([0-9]{1,19})[ \t]*(?=\r\n)", re.I)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding[ \t]*:", re.I)


def worker_count(configured: int) -> int:
    """Returns how many worker processes to run: ``configured`` (DASHBOARD_WORKERS), or for
    0 one per CPU core this process may use, at most MAX_WORKERS."""
    if configured > 0:
        return configured
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def _answer(status: str, message: str, retry_after: int | None = None) -> bytes:
    body = json.dumps({"error": message}).encode()
    retry = f"Retry-After: {retry_after}\r\n" if retry_after is not None else ""
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n{retry}"
            "X-Content-Type-Options: nosniff\r\nReferrer-Policy: same-origin\r\n"
            "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
            "\r\n").encode() + body


def request_ready(data: bytes) -> bool | None:
    """Returns True when ``data`` holds a request a thread can serve without waiting for the
    client (its head, and its body when declared up to BODY_BYTES), False while more must
    come, None when the head is over HEAD_BYTES."""
    end = _HEAD_END.search(data, 0, HEAD_BYTES + 4)
    if end is None:
        return None if len(data) > HEAD_BYTES else False
    head, body = data[:end.start()] + b"\r\n", data[end.end():]
    if _CHUNKED.search(head):
        # a small chunked body is waited for up to its last chunk (without trailers); a
        # larger one, or one that ends otherwise, is read by the thread within the deadline
        return len(body) > BODY_BYTES or body == b"0\r\n\r\n" or \
            body.endswith(b"\r\n0\r\n\r\n")
    lengths = _LENGTH.findall(head)
    if len(lengths) != 1:            # none, or several (the parser refuses those): the head
        return True
    declared = int(lengths[0])
    return declared > BODY_BYTES or len(body) >= declared


class _DeadlineUnreader(SocketUnreader):
    """Reads the socket, each read ending by the connection's deadline (then socket.timeout),
    and leaves the socket's timeout at the write limit after."""

    def __init__(self, conn, limit: float):
        super().__init__(conn.sock)
        self.conn = conn
        self.limit = limit

    def chunk(self, size_hint=None):
        left = self.conn.deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("the request did not arrive in time")
        self.sock.settimeout(left)
        try:
            return super().chunk(size_hint)
        finally:
            self.sock.settimeout(self.limit)


class Worker(gthread.ThreadWorker):
    """gthread, with requests read by the event loop and a queue bounded in time (see the
    module's docstring).

    ``request_timeout`` and ``queue_wait`` (seconds) are DASHBOARD_REQUEST_TIMEOUT and
    DASHBOARD_QUEUE_WAIT unless a subclass sets them.
    """

    request_timeout: float | None = None
    queue_wait: float | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.request_timeout is None or self.queue_wait is None:
            import settings
            cfg = settings.from_env()
            if self.request_timeout is None:
                self.request_timeout = cfg.request_timeout_s
            if self.queue_wait is None:
                self.queue_wait = cfg.queue_wait_s
        self.reading: dict = {}          # connections sending their request, oldest first
        self.waiting = 0                 # requests handed on that no thread has taken yet
        self.service_s = 0.01            # recent time a thread takes per request (smoothed)
        self.refused = 0                 # requests answered 503 (for the log)
        self._count = threading.Lock()
        self.queue: deque = deque()      # (when, connection, future) handed on, oldest first

    # --- the event loop ----------------------------------------------------------------------

    def enqueue_req(self, conn):
        """Hands ``conn`` to a thread if its request is all here, else reads it first."""
        if self.cfg.is_ssl:
            super().enqueue_req(conn)
            return
        conn.early = bytearray()
        if conn.parser is not None:      # bytes a kept-alive connection already sent
            conn.early += conn.parser.unreader.take_buffered()
        conn.deadline = time.monotonic() + self.request_timeout
        conn.since = time.monotonic()
        conn.sock.setblocking(False)
        ready = request_ready(conn.early)
        if ready is False:
            self.reading[conn] = None
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, conn))
        else:
            self._hand_on(conn, ready)

    def _readable(self, conn, _sock):
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:                     # the client went away
            self._forget(conn)
            self._close(conn)
            return
        conn.early += data
        ready = request_ready(conn.early)
        if ready is not False:
            self._forget(conn)           # before the socket is handed on or closed
            self._hand_on(conn, ready)

    def _hand_on(self, conn, ready: bool | None) -> None:
        """Gives ``conn``, its request complete, to a thread; refuses a head too large, and
        a request whose wait for a thread would pass the queue's limit."""
        if ready is None:
            self._refuse(conn, "431 Request Header Fields Too Large",
                         f"request head larger than {HEAD_BYTES} bytes")
            return
        if self.expected_wait() > self.queue_wait:
            self._busy(conn)
            return
        conn.data_ready = True
        conn.queued = queued = time.monotonic()
        with self._count:
            self.waiting += 1
        # gthread's enqueue_req, keeping the future: the loop may still take it back
        future = self.tpool.submit(self.handle, conn)
        future.add_done_callback(
            lambda done: self.method_queue.defer(self.finish_request, conn, done))
        self.queue.append((queued, conn, future))

    def expected_wait(self) -> float:
        """Returns how long a request handed on now would wait for a thread: those waiting
        ahead of it, each taking the recent time per request, shared by the threads."""
        return self.waiting * self.service_s / max(1, self.cfg.threads)

    def _busy(self, conn) -> None:
        self.refused += 1
        if self.refused in (1, 10, 100) or self.refused % 1000 == 0:
            self.log.warning("Server full: requests answered 503. refused=%d", self.refused)
        self._refuse(conn, "503 Service Unavailable", _BUSY, retry_after=self.retry_after())

    def retry_after(self) -> int:
        """Returns the seconds a refused client is told to wait (Retry-After)."""
        return max(1, round(self.queue_wait))

    def _forget(self, conn) -> None:
        self.reading.pop(conn, None)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass

    def _close(self, conn) -> None:
        self.nr_conns -= 1
        conn.close()

    def _refuse(self, conn, status: str, message: str, retry_after: int | None = None) -> None:
        try:
            conn.sock.send(_answer(status, message, retry_after))
        except OSError:
            pass
        self._close(conn)

    def murder_pending(self):
        """Also answers 408 to the requests past their deadline (all of them when stopping),
        and 503 to those that waited for a thread past the queue's limit (every thread is
        held by slow answers: they are not left waiting for one)."""
        super().murder_pending()
        self._expire_queue()
        now = time.monotonic()
        for conn in list(self.reading):
            if self.alive and conn.deadline > now:
                break                    # the rest came later: their deadlines are later
            self._forget(conn)
            self._refuse(conn, "408 Request Timeout",
                         f"the request did not arrive within {self.request_timeout:g} seconds")
        # every connection taken and a client waiting: the oldest idle one gives way (the
        # loop then accepts the client, since it counts the connections before each wait)
        if self.alive and self.nr_conns >= self.worker_connections and self._client_waiting():
            self._make_room()

    def _expire_queue(self) -> None:
        now = time.monotonic()
        while self.queue:
            queued, conn, future = self.queue[0]
            if now - queued <= self.queue_wait:
                break                    # the rest came later
            self.queue.popleft()
            if not future.cancel():
                continue                 # a thread took it
            with self._count:
                self.waiting -= 1
            self.refused += 1
            try:                         # finish_request then closes the cancelled one
                conn.sock.send(_answer("503 Service Unavailable", _BUSY, self.retry_after()))
            except OSError:
                pass

    def _client_waiting(self) -> bool:
        try:
            return bool(select.select(self.sockets, [], [], 0)[0])
        except (OSError, ValueError):
            return False

    def _make_room(self) -> bool:
        if self.keepalived_conns:
            conn = self.keepalived_conns.popleft()
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass
            self._close(conn)
            return True
        oldest = next(iter(self.reading), None)
        if oldest is not None and time.monotonic() - oldest.since >= MIN_AGE_S:
            self._forget(oldest)
            self._refuse(oldest, "408 Request Timeout",
                         "the request was too slow to arrive while the server is full")
            return True
        return False

    # --- in a thread -------------------------------------------------------------------------

    def handle(self, conn):
        queued = getattr(conn, "queued", None)
        if queued is None:
            return self._handle(conn)
        conn.queued = None
        started = time.monotonic()
        with self._count:
            self.waiting -= 1
        if started - queued > self.queue_wait:          # waited too long after all: say so
            self.refused += 1
            try:
                conn.sock.setblocking(True)
                conn.sock.settimeout(self.request_timeout)
                conn.sock.sendall(_answer("503 Service Unavailable", _BUSY,
                                          self.retry_after()))
            except OSError:
                pass
            return False                 # the loop closes the connection
        try:
            return self._handle(conn)
        finally:
            # a long answer (an export streams for minutes) counts as one at the limit
            took = min(time.monotonic() - started, self.queue_wait)
            self.service_s = 0.8 * self.service_s + 0.2 * took

    def _handle(self, conn):
        early = getattr(conn, "early", None)
        if early is not None:
            conn.early = None
            conn.sock.setblocking(True)
            conn.init()                  # the parser, on a first request
            unreader = conn.parser.unreader
            if not isinstance(unreader, _DeadlineUnreader):
                conn.parser.unreader = _DeadlineUnreader(conn, self.request_timeout)
                conn.parser.unreader.buf = unreader.buf
            conn.parser.unreader.unread(bytes(early))
        return super().handle(conn)

    def handle_request(self, req, conn):
        conn.sock.settimeout(self.request_timeout)    # a write waits at most this long
        try:
            return super().handle_request(req, conn)
        except socket.timeout:
            self.log.info("Client too slow; connection closed. client=%s", conn.client)
            return False


_BUSY = "the dashboard is busy: ask again in a moment"


def configured(request_timeout: float, queue_wait: float) -> type:
    """Returns the Worker class with ``request_timeout`` and ``queue_wait`` set (app.serve's
    settings)."""
    return type("Worker", (Worker,), {"request_timeout": request_timeout,
                                      "queue_wait": queue_wait})


