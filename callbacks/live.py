"""The live tick: one bounded ingestion pass, then the freshness line and the data version.

Every tab ticks twice an interval (settings.tick_s); the engine's lock lets one pass run at a
time (the others get busy=True and do nothing), and the page's ticks ask for a pass only when
none ended in the last quarter interval (``context.pass_gap``), in any worker: however many
screens tick, the data change at most four times an interval, and a new line is on every
screen within one. The version is the database's data version (migration 016, raised
with each write that changes a figure); figures are redrawn by ``graphs.redraw`` only when
it changes, and their answers are kept under it (dashboard/answers.py).
"""
from __future__ import annotations

import logging
import time
from datetime import date, datetime

from dash import Input, Output, State, no_update

from dashboard import answers, queries
from components import ids
from components.nav import page_of
from components.banner import db_banner_text, ingest_warning_text
from components.freshness import freshness, stale_age
from components.nodes import stale_text
from db import DatabaseBroken, error_reason
from dashboard.context import DB_ERRORS, DB_FAULTS

log = logging.getLogger(__name__)


def ingest(context, gap_s: float = 0.0) -> str | None:
    """Runs one bounded pass (none when one ended less than ``gap_s`` ago); returns a warning
    for a non-database failure, else None.

    Database errors propagate: the caller shows the outage banner.
    """
    try:
        progress = context.ingest(min_gap_s=gap_s)
    except DB_FAULTS:
        raise
    except Exception as exc:     # a missing folder, a bug: say so, keep the page alive
        log.warning("Ingestion pass failed. error=%s", exc, exc_info=True)
        return f"{type(exc).__name__}: {exc}"
    if not progress.busy and progress.events:
        log.debug("Tick ingested. events=%d bytes=%d", progress.events, progress.bytes_done)
    return None


def update_rate(previous: dict | None, bytes_read: int, now: float) -> dict:
    """Returns the rate store: bytes read per second lately (smoothed), from two looks."""
    rate = None
    if previous and now > previous["at"]:
        recent = (bytes_read - previous["bytes_read"]) / (now - previous["at"])
        if recent < 0:                 # files were replaced: start over
            rate = None
        elif previous.get("rate") is None:
            rate = recent or None
        else:
            rate = 0.5 * previous["rate"] + 0.5 * recent or None
    return {"bytes_read": bytes_read, "at": now, "rate": rate}


def next_today(store: dict | None, today: date, hour: int | None = None):
    """Returns the day store moved to ``today`` (remembering the day before) and ``hour``
    (a rolling window of hours moves with it), or no_update when neither changed."""
    if store and store.get("today") == today.isoformat() and \
            (hour is None or store.get("hour") == hour):
        return no_update
    moved = {"today": today.isoformat(), "previous": (store or {}).get("today")}
    if store and store.get("today") == today.isoformat():
        moved["previous"] = store.get("previous")
    return moved if hour is None else {**moved, "hour": hour}


NODE_FIELDS = ("node", "stale", "last_pass_at", "last_error", "files_known", "bytes_pending",
               "bytes_lost")


def node_health(st: dict) -> list[dict]:
    """Returns LIVE_NODES: each node's health as /api/status reports it (the fields the
    picker and the panel use; seconds_since_pass left out, so it changes with a pass only)."""
    return [{k: n[k] for k in NODE_FIELDS} for n in st["nodes"]]


DRAWING = ("overview", "security", "user")     # the pages whose redraw says what it drew


def behind(drawn: dict | None, pathname: str | None, data: int) -> bool:
    """Whether a page that draws figures shows another version than ``data`` (or another
    page's): its redraw failed, was refused (503 when the server was full) or is still to
    come. Pages that draw nothing are never behind."""
    if pathname is None or page_of(pathname) not in DRAWING:
        return False
    return not drawn or drawn.get("version") != data or drawn.get("path") != pathname


def tick(context, version, today_store, rate_store, today: date | None = None,
         now: float | None = None, clock: datetime | None = None,
         nodes_store=None, gap_s: float = 0.0, drawn: dict | None = None,
         pathname: str | None = None, n: int | None = None) -> dict:
    """Returns the outputs of one tick (see ``register`` for their targets); ``clock`` is
    the local time the newest event's age is taken at; ``gap_s``: no pass when one ended
    less than this ago (the page's: context.pass_gap). The version is [data version], or
    [data version, n] (``n``: the tick's count) when the page at ``pathname`` is behind
    (``drawn``: DRAWN), so that its redraw is asked again."""
    today = today or date.today()
    now = time.time() if now is None else now
    clock = clock or datetime.now()
    warning, write_error = None, None
    try:
        warning = ingest(context, gap_s)
    except DB_FAULTS as exc:         # reading the status below tells an outage from this
        write_error = exc
    try:
        engine = context.engine()
        st = queries.status(engine, None, queries.STALE_INTERVALS * context.settings.interval_s)
        data = answers.data_version(engine)
    except DB_FAULTS as exc:
        log.warning("Database unusable. db=%s error=%s", context.describe_db(), error_reason(exc))
        return {"freshness": no_update, "banner": db_banner_text(
                    error_reason(exc), context.settings.tick_s, _title(exc)),
                "banner_open": True, "banner_color": "danger",
                "version": None if version is not None else no_update,
                "today": next_today(today_store, today, clock.hour), "rate": no_update,
                "stale": no_update,
                "nodes": no_update, "stale_nodes": no_update, "stale_nodes_open": no_update}
    rate = update_rate(rate_store, st["bytes_read"], now)
    new_version = [data]
    if n and behind(drawn, pathname, data) and version and version[0] == data:
        new_version = [data, n]          # the same data, asked for again
    out = {"freshness": freshness(st, rate["rate"], clock),
           "banner": ingest_warning_text(warning) if warning else None,
           "banner_open": bool(warning), "banner_color": "warning" if warning else "danger",
           "version": new_version if new_version[0] != (version or [None])[0] or
           len(new_version) > 1 else no_update,
           "today": next_today(today_store, today, clock.hour), "rate": rate,
           "stale": stale_age(st["newest_event"], clock)}
    health = node_health(st)
    warning = stale_text(health)
    out.update(nodes=health if health != nodes_store else no_update,
               stale_nodes=warning, stale_nodes_open=warning is not None)
    if write_error is not None:      # it reads but does not write: read-only, disk full
        log.warning("Database refuses writes. db=%s error=%s", context.describe_db(),
                    error_reason(write_error))
        out.update(banner=db_banner_text(f"Writes fail: {error_reason(write_error)}",
                                         context.settings.tick_s, "Database error."),
                   banner_open=True, banner_color="danger")
    return out


def _title(exc: BaseException) -> str:
    """Returns the banner's title for a database failure: an outage, or a database that
    answers but cannot be used (corrupt, deleted or replaced file)."""
    if isinstance(exc, DB_ERRORS) and not isinstance(exc, DatabaseBroken):
        return "Database unreachable."
    return "Database error."


def register(app, context) -> None:
    @app.callback(
        output={"freshness": Output(ids.LIVE_FRESHNESS, "children"),
                "banner": Output(ids.LIVE_BANNER, "children"),
                "banner_open": Output(ids.LIVE_BANNER, "is_open"),
                "banner_color": Output(ids.LIVE_BANNER, "color"),
                "version": Output(ids.LIVE_VERSION, "data"),
                "today": Output(ids.LIVE_TODAY, "data"),
                "rate": Output(ids.LIVE_RATE, "data"),
                "stale": Output(ids.LIVE_STALE, "data"),
                "nodes": Output(ids.LIVE_NODES, "data"),
                "stale_nodes": Output(ids.NODES_STALE, "children"),
                "stale_nodes_open": Output(ids.NODES_STALE, "is_open")},
        inputs={"n": Input(ids.LIVE_INTERVAL, "n_intervals")},
        state={"version": State(ids.LIVE_VERSION, "data"),
               "today_store": State(ids.LIVE_TODAY, "data"),
               "rate_store": State(ids.LIVE_RATE, "data"),
               "nodes_store": State(ids.LIVE_NODES, "data"),
               "drawn": State(ids.drawn_all(), "data"),
               "pathname": State(ids.URL, "pathname")})
    def _tick(n, version, today_store, rate_store, nodes_store, drawn, pathname):
        return tick(context, version, today_store, rate_store, nodes_store=nodes_store,
                    gap_s=context.pass_gap(), drawn=(drawn or [None])[0], pathname=pathname,
                    n=n)
