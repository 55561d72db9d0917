"""Redraw: the range (and the data version) -> stats -> headline, four graphs, users table."""
from __future__ import annotations

import logging
from datetime import date
from urllib.parse import urlencode

import sqlalchemy as sa
from dash import Input, Output, html, no_update
from dash.exceptions import PreventUpdate

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


def range_of(store: dict | None) -> tuple[str, str]:
    """Returns the (start, end) of the range store; raises PreventUpdate before the range
    is known (the page opened: callbacks/date_range.py reads the URL first)."""
    if not store or not store.get("start"):
        raise PreventUpdate
    return store["start"], store["end"]


def nodes_of(store: dict | None) -> tuple[str, ...] | None:
    """Returns the node filter of the range store (None: every node)."""
    nodes = (store or {}).get("nodes")
    return None if nodes is None else tuple(nodes)


def _unchanged(message=no_update, message_open=no_update) -> dict:
    out = {key: no_update for key in GRAPH_KEYS + HEADLINE_KEYS + ("table", "days_title", "csv")}
    out.update(message=message, message_open=message_open)
    return out


def _failed(message: str, kiosk: bool) -> dict:
    """Returns outputs that say ``message`` in every graph, the table and the range message,
    with blank headline figures (never "…" and empty graphs without a word)."""
    message = figures.visible(message)          # error texts may quote paths
    out = {key: figures.empty(message, kiosk) for key in GRAPH_KEYS}
    out.update(dict.fromkeys(HEADLINE_KEYS, "–"))
    out.update(table=html.P(message, className="empty-note"), days_title=no_update,
               csv=no_update, message=message, message_open=True)
    return out


def redraw(context, start: str | None, end: str | None, log_y: bool, mode: dict | None,
           today: date | None = None, nodes: tuple | None = None) -> dict:
    """Returns every output of the redraw (of ``nodes``' events; None: every node); a bad
    range or a database outage keeps the figures."""
    today = today or date.today()
    try:
        first, last = queries.parse_range((start or "")[:10], (end or "")[:10], today,
                                          context.default_start())
    except queries.RangeError as exc:
        return _unchanged(message=str(exc), message_open=True)
    kiosk = bool(mode and mode.get("kiosk"))
    try:
        data = queries.stats(context.engine(), first, last, nodes=nodes)
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
        "csv": users_csv_href(first, last, nodes),
        "days_title": figures.BUCKET_TITLES[figures.bucket_for(len(data["days"]))],
        "message": None, "message_open": False,
    }
    out.update(zip(HEADLINE_KEYS, headline_values(data["totals"])))
    return out


def copy_range(app, store_id: str, live: bool = False) -> None:
    """Copies RANGE_STORE to the page's own store ``store_id`` (in the browser); ``live``:
    as {"range", "version", "mode"}, so the page redraws on new data and on a mode change."""
    if not live:
        app.clientside_callback("function (range) { return range; }", Output(store_id, "data"),
                                Input(ids.RANGE_STORE, "data"))
        return
    app.clientside_callback("function (range, version, mode) {"
                            " return {range: range, version: version, mode: mode}; }",
                            Output(store_id, "data"), Input(ids.RANGE_STORE, "data"),
                            Input(ids.LIVE_VERSION, "data"), Input(ids.MODE_STORE, "data"))


def users_csv_href(start: date, end: date, nodes: tuple | None = None) -> str:
    """Returns the link of the per-user table's CSV for the range (and node filter)."""
    return "/api/users.csv?" + urlencode([("start", start.isoformat()), ("end", end.isoformat())]
                                         + [("node", n) for n in nodes or ()])


def register(app, context) -> None:
    copy_range(app, ids.OVERVIEW_RANGE, live=True)
    graph_ids = (ids.GRAPH_TRANSFERS, ids.GRAPH_BYTES, ids.GRAPH_AVERAGE, ids.GRAPH_DAYS)
    output = {key: Output(graph_id, "figure") for key, graph_id in zip(GRAPH_KEYS, graph_ids)}
    output.update({key: Output(key, "children") for key in HEADLINE_KEYS})
    output.update(table=Output(ids.USERS_TABLE, "children"),
                  csv=Output(ids.USERS_CSV, "href"),
                  days_title=Output(ids.GRAPH_DAYS_TITLE, "children"),
                  # the range's own messages come from callbacks/date_range.py
                  message=Output(ids.RANGE_MESSAGE, "children", allow_duplicate=True),
                  message_open=Output(ids.RANGE_MESSAGE, "is_open", allow_duplicate=True))

    @app.callback(output=output,
                  inputs={"shell": Input(ids.OVERVIEW_RANGE, "data"),
                          "log_y": Input(ids.GRAPH_TRANSFERS_LOG, "value")},
                  prevent_initial_call="initial_duplicate")
    def _redraw(shell, log_y):
        store = (shell or {}).get("range")
        start, end = range_of(store)
        return redraw(context, start, end, log_y, shell["mode"], nodes=nodes_of(store))
