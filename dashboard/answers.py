"""Answers computed once per data version: N screens asking one question cost one answer.

Every write that changes a figure raises the database's data version in its own transaction
(migration 016: ``store.bump_version``; the version is the sum of ``data_version``'s rows,
read with one short query). An answer is kept under (the question, the version it was
computed at, today's date), so:

- a new version invalidates it in every process at once: each request reads the version
  from the database (never from a process's memory), so a worker that was idle, another
  node's ingester or the CLI writing the same database are all seen by the next request;
- no screen sees older data than it did a tick ago: the version is read before the answer
  is computed, and an answer is never kept under a version newer than the one read first;
- the clock is part of the question: a request resolves its range (today, the last N
  hours) before asking, and today's date is in every key, so "Today" and "Last 24 hours"
  move on with the clock even when no data arrives.

``Answers`` is one process's store: bounded in entries and bytes (least recently used go
first, and every entry of an older version as soon as a newer one is seen), each answer
computed by one thread while the others asking the same question wait for it
(single flight). ``Kept`` is an HTTP answer kept with its body serialised and compressed
once (``install`` serves the page's callbacks from it; dashboard/api.py its JSON answers).
"""
from __future__ import annotations

import gzip
import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from typing import Callable, Hashable

import flask
import sqlalchemy as sa
from dash.development.base_component import Component

log = logging.getLogger(__name__)

VERSION_SQL = sa.text("SELECT COALESCE(SUM(version), 0) FROM data_version")
MAX_ENTRIES = 512
MAX_BYTES = 64 * 1024 * 1024       # of kept bodies (a year's overview: about 150 KB)
MAX_AGE_S = 600.0                  # a kept answer is recomputed after this, whatever happens
WAIT_S = 60.0                      # how long a request waits for the thread computing its answer


def data_version(conn_or_engine) -> int:
    """Returns the data version of the database (0 before anything was stored)."""
    if isinstance(conn_or_engine, sa.Engine):
        with conn_or_engine.connect() as conn:
            return int(conn.execute(VERSION_SQL).scalar() or 0)
    return int(conn_or_engine.execute(VERSION_SQL).scalar() or 0)


class Uncached(Exception):
    """Raised by a computation whose answer must not be kept (a failure it answers itself:
    an outage message): ``Answers.get`` returns ``value`` without keeping it."""

    def __init__(self, value):
        super().__init__("not kept")
        self.value = value


@dataclass
class _Entry:
    value: object
    size: int
    born: float


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    value: object = None
    error: BaseException | None = None


class Answers:
    """A bounded store of answers keyed by (version, today, question), computed once each."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES,
                 max_age_s: float = MAX_AGE_S, clock: Callable[[], float] = time.monotonic):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self._flights: dict[tuple, _Flight] = {}
        self._bytes = 0
        self._newest = -1                # the newest version seen: older entries are dropped
        self.computed = 0                # answers computed (for tests and the benchmark)
        self.served = 0                  # answers served from the store

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def get(self, version: int, question: Hashable, compute: Callable[[], object],
            size: Callable[[object], int] = lambda value: 1024,
            today: date | None = None):
        """Returns the answer to ``question`` at ``version``: the kept one, else the one
        another thread is computing (waited for), else ``compute()``'s, kept unless it
        raised Uncached (its value is returned) or anything else (raised, to the waiters too).
        """
        if self.max_bytes <= 0:                # DASHBOARD_ANSWER_CACHE_MB=0: keep nothing
            with self._lock:
                self.computed += 1
            try:
                return compute()
            except Uncached as answered:
                return answered.value
        key = (version, (today or date.today()).isoformat(), question)
        with self._lock:
            if version > self._newest:
                self._drop_older(version)
            entry = self._entries.get(key)
            if entry is not None and self._clock() - entry.born <= self.max_age_s:
                self._entries.move_to_end(key)
                self.served += 1
                return entry.value
            flight = self._flights.get(key)
            mine = flight is None
            if mine:
                flight = self._flights[key] = _Flight()
        if not mine:
            if not flight.done.wait(WAIT_S):
                raise TimeoutError("the answer took too long to compute")
            if flight.error is not None:
                raise flight.error
            with self._lock:
                self.served += 1
            return flight.value
        keep = True
        try:
            try:
                flight.value = compute()
            except Uncached as answered:
                flight.value, keep = answered.value, False
            with self._lock:
                self.computed += 1
                if keep and version >= self._newest:
                    self._keep(key, _Entry(flight.value, size(flight.value), self._clock()))
            return flight.value
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()

    def _keep(self, key: tuple, entry: _Entry) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old.size
        if entry.size > self.max_bytes:
            return
        self._entries[key] = entry
        self._bytes += entry.size
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _key, dropped = self._entries.popitem(last=False)
            self._bytes -= dropped.size

    def _drop_older(self, version: int) -> None:
        self._newest = version
        for key in [k for k in self._entries if k[0] < version]:
            self._bytes -= self._entries.pop(key).size


# --- HTTP answers, serialised and compressed once -------------------------------------------

def _brotli():
    try:
        import brotli
    except ImportError:          # flask-compress brings it; without it, gzip serves all
        return None
    return brotli


class Kept:
    """An HTTP answer kept as bytes: its body as sent, and each compression of it made on
    first use (brotli or gzip, as the client accepts), once."""

    def __init__(self, status: int, mimetype: str, body: bytes, headers: dict | None = None):
        self.status = status
        self.mimetype = mimetype
        self.body = body
        self.headers = dict(headers or {})
        self._encoded: dict[str, bytes] = {}
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(v) for v in self._encoded.values()) + 512

    def encoded(self, encoding: str) -> bytes:
        with self._lock:
            data = self._encoded.get(encoding)
            if data is None:
                if encoding == "br":
                    data = _brotli().compress(self.body, quality=5)
                else:
                    data = gzip.compress(self.body, compresslevel=6, mtime=0)
                self._encoded[encoding] = data
            return data

    def response(self, accept_encoding: str = "") -> flask.Response:
        """Returns the answer for a client that accepts ``accept_encoding``."""
        encoding = choose_encoding(accept_encoding) if len(self.body) >= 500 else None
        body = self.body if encoding is None else self.encoded(encoding)
        answer = flask.Response(body, status=self.status, mimetype=self.mimetype,
                                headers=self.headers)
        answer.headers["Vary"] = "Accept-Encoding"
        if encoding is not None:
            answer.headers["Content-Encoding"] = encoding
        return answer


def choose_encoding(accept: str) -> str | None:
    """Returns 'br' or 'gzip' when the Accept-Encoding header takes it (brotli first),
    else None (the body as it is)."""
    offered = {}
    for part in (accept or "").lower().split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        offered[name.strip()] = q
    if offered.get("br", 0) > 0 and _brotli() is not None:
        return "br"
    if offered.get("gzip", 0) > 0:
        return "gzip"
    return None


def kept_of(answer: flask.Response) -> Kept:
    """Returns a view's Flask response (uncompressed: flask-compress works after the view)
    as a Kept answer, its body read once."""
    headers = {k: v for k, v in answer.headers.items()
               if k.lower() not in ("content-length", "content-type", "content-encoding",
                                    "vary")}
    return Kept(answer.status_code, answer.mimetype, answer.get_data(), headers)


# --- the page's callbacks --------------------------------------------------------------------

def plain(value):
    """Returns a callback's outputs with every Dash component as the plain data it is sent
    as ({"type", "namespace", "props"}), so the answer serialises in one orjson call: a
    component left in it makes Plotly's serialiser walk the whole answer in Python
    (a year's overview: over 100 ms)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Component):
        data = value.to_plotly_json()
        data["props"] = plain(data["props"])
        return data
    return value


# Values of a callback's inputs that change without changing its answer: the version a
# screen's tick last saw (the database's own is in the key) and the tick that asks again.
VOLATILE = ("version", "tick")


def _steady(value):
    if isinstance(value, dict):
        return {k: _steady(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_steady(v) for v in value]
    return value


def callback_question(body: dict, volatile_ids=()) -> str:
    """Returns what a callback request asks, as a stable text: its output and the values of
    its inputs and state (VOLATILE keys of the stores, and the values of the components
    ``volatile_ids``, left out)."""
    values = [[item.get("id"), item.get("property"),
               None if item.get("id") in volatile_ids else _steady(item.get("value"))]
              for group in ("inputs", "state") for value in body.get(group) or []
              for item in (value if isinstance(value, list) else [value])
              if isinstance(item, dict)]
    text = json.dumps([body.get("output"), values], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def current_version(context) -> int:
    """Returns the data version this request reads (read once per request: the answer and
    what it says it drew agree)."""
    version = flask.g.get("data_version") if flask.has_request_context() else None
    if version is None:
        version = data_version(context.engine())
        if flask.has_request_context():
            flask.g.data_version = version
    return version


def uncached() -> None:
    """Marks this request's callback answer as one not to keep (a failure it answered)."""
    if flask.has_request_context():
        flask.g.answer_uncached = True


def install(dash_app, context, outputs: list[str], volatile_ids=()) -> None:
    """Serves the callbacks whose output names one of ``outputs`` (e.g.
    'graph-user-transfers.figure') from ``context.answers`` (their inputs' values of the
    components ``volatile_ids`` not part of the question): each request reads the data
    version, and the callback runs once per (question, version) in this process; its 200
    answer is kept with its body serialised and compressed once. Any other answer (204
    PreventUpdate, a refusal, an error) goes out as it came, never kept.

    Wraps the callback route outermost (over callback_guard's checks, which a kept answer
    passed when it was computed)."""
    from .context import DB_FAULTS
    server = dash_app.server
    endpoint = dash_app.config.routes_pathname_prefix + "_dash-update-component"
    view = server.view_functions[endpoint]
    chosen = {key for key in dash_app.callback_map if set(outputs_of(key)) & set(outputs)}

    def served(*args, **kwargs):
        body = flask.request.get_json(silent=True)
        if not isinstance(body, dict) or body.get("output") not in chosen:
            return view(*args, **kwargs)
        try:
            version = current_version(context)
        except DB_FAULTS:
            return view(*args, **kwargs)       # the callback says what is wrong
        question = ("callback", callback_question(body, volatile_ids))

        def compute():
            answer = flask.make_response(view(*args, **kwargs))
            kept = kept_of(answer)
            if answer.status_code != 200 or flask.g.get("answer_uncached"):
                raise Uncached(kept)
            return kept

        kept = context.answers.get(version, question, compute, size=lambda k: k.size)
        return kept.response(flask.request.headers.get("Accept-Encoding", ""))

    server.view_functions[endpoint] = served


def outputs_of(key: str) -> list[str]:
    """Returns the 'id.property' outputs of a callback_map key ('a.b' or '..a.b...c.d..')."""
    if key.startswith("..") and key.endswith(".."):
        return key[2:-2].split("...")
    return [key]
