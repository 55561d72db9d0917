"""Redraw: the range (and the data version) -> stats -> headline, four graphs, users table."""
from __future__ import annotations

import logging
from datetime import date

import sqlalchemy as sa
from dash import Input, Output, html, no_update

from dashboard import figures, queries
from components import ids
from components.headline import FIGURES, headline_values
from components.users_table import users_table
from db import DatabaseBroken, error_reason
from dashboard.context import DB_ERRORS

log = logging.getLogger(__name__)

GRAPH_KEYS = ("transfers", "bytes", "average", "days")
KIOSK_TOP_USERS = 10      # names readable from across a room
HEADLINE_KEYS = tuple(value_id for value_id, _caption, _tone in FIGURES)


def range_title(start: date, end: date, today: date) -> str:
    """Returns the range in words: 'Last 30 days', or '2022-01-01 → 2024-09-30 (1,004 days)'."""
    days = (end - start).days + 1
    if end == today and days in (7, 30):
        return f"Last {days} days · {start.isoformat()} → {end.isoformat()}"
    return f"{start.isoformat()} → {end.isoformat()} ({figures.count(days)} days)"


def _unchanged(message=no_update, message_open=no_update) -> dict:
    out = {key: no_update for key in GRAPH_KEYS + HEADLINE_KEYS + ("table", "title", "days_title")}
    out.update(message=message, message_open=message_open)
    return out


def _failed(message: str, kiosk: bool) -> dict:
    """Returns outputs that say ``message`` in every graph, the table and the range message,
    with blank headline figures (never "…" and empty graphs without a word)."""
    message = figures.visible(message)          # error texts may quote paths
    out = {key: figures.empty(message, kiosk) for key in GRAPH_KEYS}
    out.update(dict.fromkeys(HEADLINE_KEYS, "–"))
    out.update(table=html.P(message, className="empty-note"), title=no_update, days_title=no_update,
               message=message, message_open=True)
    return out


def redraw(context, start: str | None, end: str | None, log_y: bool, mode: dict | None,
           today: date | None = None) -> dict:
    """Returns every output of the redraw; a bad range or a database outage keeps the figures."""
    today = today or date.today()
    try:
        first, last = queries.parse_range((start or "")[:10], (end or "")[:10], today,
                                          context.default_start())
    except queries.RangeError as exc:
        return _unchanged(message=str(exc), message_open=True)
    kiosk = bool(mode and mode.get("kiosk"))
    try:
        data = queries.stats(context.engine(), first, last)
    except DatabaseBroken as exc:  # a corrupt, deleted or replaced file: its figures are void
        log.warning("Redraw failed. error=%s", exc)
        return _failed(f"Figures unavailable: {exc}", kiosk)
    except DB_ERRORS as exc:       # an outage: the banner says so; keep what is drawn
        log.warning("Redraw skipped: database unreachable. error=%s", error_reason(exc))
        return _unchanged(message=f"Figures not updated: database unreachable: "
                                  f"{error_reason(exc)}", message_open=True)
    except sa.exc.DBAPIError as exc:   # it answers, but not this: say so where the figures are
        log.error("Redraw failed. error=%s", error_reason(exc), exc_info=exc)
        return _failed(f"Figures unavailable: database error: {error_reason(exc)}", kiosk)
    top = min(context.settings.top_users, KIOSK_TOP_USERS) if kiosk else context.settings.top_users
    users = data["users"]
    totals = data["totals"] if data["users_truncated"] else None   # "all others" from totals
    out = {
        "transfers": figures.user_transfers(users, top, log_y=bool(log_y), kiosk=kiosk,
                                            totals=totals),
        "bytes": figures.user_bytes(users, top, kiosk=kiosk, totals=totals),
        "average": figures.user_average(users, top, kiosk=kiosk, totals=totals),
        "days": figures.activities_by_day(data["days"], kiosk=kiosk),
        "table": users_table(users, data["totals"]["users"]),
        "title": range_title(first, last, today),
        "days_title": figures.BUCKET_TITLES[figures.bucket_for(len(data["days"]))],
        "message": None, "message_open": False,
    }
    out.update(zip(HEADLINE_KEYS, headline_values(data["totals"])))
    return out


def register(app, context) -> None:
    graph_ids = (ids.GRAPH_TRANSFERS, ids.GRAPH_BYTES, ids.GRAPH_AVERAGE, ids.GRAPH_DAYS)
    output = {key: Output(graph_id, "figure") for key, graph_id in zip(GRAPH_KEYS, graph_ids)}
    output.update({key: Output(key, "children") for key in HEADLINE_KEYS})
    output.update(table=Output(ids.USERS_TABLE, "children"),
                  title=Output(ids.RANGE_TITLE, "children"),
                  days_title=Output(ids.GRAPH_DAYS_TITLE, "children"),
                  message=Output(ids.RANGE_MESSAGE, "children"),
                  message_open=Output(ids.RANGE_MESSAGE, "is_open"))

    @app.callback(output=output,
                  inputs={"start": Input(ids.RANGE_PICKER, "start_date"),
                          "end": Input(ids.RANGE_PICKER, "end_date"),
                          "log_y": Input(ids.GRAPH_TRANSFERS_LOG, "value"),
                          "version": Input(ids.LIVE_VERSION, "data"),
                          "mode": Input(ids.MODE_STORE, "data")})
    def _redraw(start, end, log_y, version, mode):
        return redraw(context, start, end, log_y, mode)
