"""Redraw: the range (and the data version) -> stats -> headline, four graphs, users table.

Its answer is kept per data version (dashboard/answers.py: app.py serves this callback from
``context.answers``), and says which version it drew (its page's DRAWN store: components/
ids.drawn_id): a tick that finds the page
behind, a redraw that failed or was refused (503), asks again."""
from __future__ import annotations

import logging
from datetime import date
from urllib.parse import urlencode

import sqlalchemy as sa
from dash import Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate

from dashboard import (answers, figures, insight, params, span as spans, time_figures, timeline,
                       window)
from components import ids
from components.headline import FIGURES, headline_notes, headline_values
from components.users_table import users_table
from db import DatabaseBroken, error_reason
from dashboard.context import DB_ERRORS

from . import url

log = logging.getLogger(__name__)

GRAPH_KEYS = ("transfers", "bytes", "average", "days")
KIOSK_TOP_USERS = 10      # names readable from across a room
HEADLINE_KEYS = tuple(value_id for value_id, _caption, _tone in FIGURES)
NOTE_KEYS = tuple(f"{key}-note" for key in HEADLINE_KEYS)     # the change against before
SCALED = ("transfers", "bytes", "average", "days")       # each graph has its y scale
SCALE_IDS = (ids.GRAPH_TRANSFERS_SCALE, ids.GRAPH_BYTES_SCALE, ids.GRAPH_AVERAGE_SCALE,
             ids.GRAPH_DAYS_SCALE)
OUT_KEYS = GRAPH_KEYS + HEADLINE_KEYS + NOTE_KEYS + (
    "table", "days_title", "csv", "message", "message_open", "drawn") + \
    tuple(f"{k}_scale" for k in SCALED)


def range_of(store: dict | None) -> tuple[str, str]:
    """Returns the (start, end) of the range store; raises PreventUpdate before the range
    is known (the page opened: callbacks/date_range.py reads the URL first)."""
    if not store or not store.get("start"):
        raise PreventUpdate
    return store["start"], store["end"]


def window_of(store: dict | None) -> tuple[str | None, str | None]:
    """Returns the (since, until) of a window in the range store ((None, None): whole days)."""
    return (store or {}).get("since"), (store or {}).get("until")


def nodes_of(store: dict | None) -> tuple[str, ...] | None:
    """Returns the node filter of the range store (None: every node)."""
    nodes = (store or {}).get("nodes")
    return None if nodes is None else tuple(nodes)


def span_of(context, start: str | None, end: str | None, today: date,
            since: str | None = None, until: str | None = None) -> spans.Span:
    """Returns the span the pages' store holds (raises RangeError for one that cannot be)."""
    first, last = params.parse_range((start or "")[:10], (end or "")[:10], today,
                                      context.default_start())
    if since and until:
        return spans.of_store({"start": first.isoformat(), "end": last.isoformat(),
                               "since": since, "until": until})
    return spans.whole(first, last)


def scale_choices(scales) -> dict:
    """Returns {graph: 'auto' | 'linear' | 'log'} from the scale controls' values (a dict),
    or from the old log switch (True: the transfers on a log axis)."""
    if isinstance(scales, dict):
        return {k: scales.get(k) or "auto" for k in SCALED}
    return {k: "log" if (k == "transfers" and scales) else "auto" for k in SCALED}


def scale_options(used: str) -> list[dict]:
    """Returns the scale control's options, the automatic one saying what it chose."""
    return [{"label": f"auto ({'log' if used == 'log' else 'lin'})", "value": "auto"},
            {"label": "lin", "value": "linear"}, {"label": "log", "value": "log"}]


def drawn(context, path: str) -> dict:
    """Returns the DRAWN store of a page at ``path`` redrawn now: the data version it shows
    (the one this request read: answers.current_version)."""
    return {"version": answers.current_version(context), "path": path}


def _unchanged(message=no_update, message_open=no_update) -> dict:
    answers.uncached()              # an outage's answer: never kept, asked again next tick
    out = dict.fromkeys(OUT_KEYS, no_update)
    out.update(message=message, message_open=message_open)
    return out


def _failed(message: str, kiosk: bool) -> dict:
    """Returns outputs that say ``message`` in every graph, the table and the overview's
    message, with blank headline figures (never "…" and empty graphs without a word)."""
    message = figures.visible(message)          # error texts may quote paths
    answers.uncached()
    out = dict.fromkeys(OUT_KEYS, no_update)
    out.update({key: figures.empty(message, kiosk) for key in GRAPH_KEYS})
    out.update(dict.fromkeys(HEADLINE_KEYS, "–"))
    out.update(dict.fromkeys(NOTE_KEYS, ""))
    out.update(table=html.P(message, className="empty-note"), message=message,
               message_open=True)
    return out


def redraw(context, start: str | None, end: str | None, scales, mode: dict | None,
           today: date | None = None, nodes: tuple | None = None, since: str | None = None,
           until: str | None = None, query: str = "") -> dict:
    """Returns every output of the redraw (of ``nodes``' events; None: every node) for the
    days start..end, or the window since..until within them; ``scales``: the per-user
    graphs' y scales (scale_choices); ``query``: what the table's links to the users' pages
    keep (the range). A bad range or a database outage keeps the figures."""
    today = today or date.today()
    try:
        span = span_of(context, start, end, today, since, until)
    except params.RangeError as exc:
        return _unchanged(message=str(exc), message_open=True)
    kiosk = bool(mode and mode.get("kiosk"))
    try:
        engine = context.engine()
        shown = drawn(context, "/")             # before the reads: never newer than them
        data = window.stats_of(engine, span, nodes=nodes)
        previous = insight.previous(engine, span, nodes)
        rows, bucket, note = timeline.rows_for(
            engine, span, data["days"], nodes,
            retention_days=context.settings.events_retention_days, today=today)
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
    choices = scale_choices(scales)
    out = {
        "transfers": figures.user_transfers(users, top, kiosk=kiosk, totals=totals),
        "bytes": figures.user_bytes(users, top, kiosk=kiosk, totals=totals),
        "average": figures.user_average(users, top, kiosk=kiosk, totals=totals),
        "days": time_figures.activities(rows, bucket, kiosk),
        "table": users_table(users, data["totals"]["users"], query),
        "csv": users_csv_href(span, nodes),
        "days_title": timeline.title(bucket) + (f" ({note})" if note else ""),
        "message": None, "message_open": False, "drawn": shown,
    }
    for key in SCALED:      # the wall has no controls: it chooses by itself
        used = time_figures.scale(out[key], "auto" if kiosk else choices[key],
                                  nbytes=key in ("bytes", "average"), over_time=key == "days")
        out[f"{key}_scale"] = scale_options(used)
    out.update(zip(HEADLINE_KEYS, headline_values(data["totals"])))
    out.update(zip(NOTE_KEYS, headline_notes(data["totals"], previous, span.days, span.window)))
    return out


# The overview's inputs, unless they ask for what the page already shows: the same range
# and mode, and figures of that data version (the tick's version arrives after the first
# redraw drew it: no second redraw of the same figures).
_COPY_LIVE = """function (range, version, mode, drawn, current) {
    var same = function (a, b) { return JSON.stringify(a) === JSON.stringify(b); };
    if (current && drawn && drawn.path === "/" && version && drawn.version === version[0]
            && same(current.range, range) && same(current.mode, mode)) {
        return window.dash_clientside.no_update;
    }
    return {range: range, version: version, mode: mode};
}"""


def copy_range(app, store_id: str, live: bool = False) -> None:
    """Copies RANGE_STORE to the page's own store ``store_id`` (in the browser); ``live``:
    as {"range", "version", "mode"}, so the page redraws on new data and on a mode change
    (not when DRAWN says its figures already show that version)."""
    if not live:
        app.clientside_callback("function (range) { return range; }", Output(store_id, "data"),
                                Input(ids.RANGE_STORE, "data"))
        return
    app.clientside_callback(_COPY_LIVE, Output(store_id, "data"), Input(ids.RANGE_STORE, "data"),
                            Input(ids.LIVE_VERSION, "data"), Input(ids.MODE_STORE, "data"),
                            State(ids.drawn_id("overview"), "data"), State(store_id, "data"))


def users_csv_href(span: spans.Span, nodes: tuple | None = None) -> str:
    """Returns the link of the per-user table's CSV for the range (and node filter)."""
    return "/api/users.csv?" + urlencode(range_args(span) + [("node", n) for n in nodes or ()])


def range_args(span: spans.Span) -> list[tuple[str, str]]:
    """Returns the API's start/end arguments of a span (minutes for a window)."""
    if not span.window:
        return [("start", span.start.isoformat()), ("end", span.end.isoformat())]
    last = span.last - spans.ONE_MS
    return [("start", span.first.isoformat(timespec="minutes")),
            ("end", last.isoformat(timespec="minutes"))]


def register(app, context) -> None:
    copy_range(app, ids.OVERVIEW_RANGE, live=True)
    graph_ids = (ids.GRAPH_TRANSFERS, ids.GRAPH_BYTES, ids.GRAPH_AVERAGE, ids.GRAPH_DAYS)
    output = {key: Output(graph_id, "figure") for key, graph_id in zip(GRAPH_KEYS, graph_ids)}
    output.update({key: Output(key, "children") for key in HEADLINE_KEYS + NOTE_KEYS})
    output.update(table=Output(ids.USERS_TABLE, "children"),
                  csv=Output(ids.USERS_CSV, "href"),
                  days_title=Output(ids.GRAPH_DAYS_TITLE, "children"),
                  # the overview's own message: the range's are callbacks/date_range.py's
                  message=Output(ids.OVERVIEW_MESSAGE, "children"),
                  message_open=Output(ids.OVERVIEW_MESSAGE, "is_open"),
                  drawn=Output(ids.drawn_id("overview"), "data"))
    output.update({f"{key}_scale": Output(scale_id, "options")
                   for key, scale_id in zip(SCALED, SCALE_IDS)})

    @app.callback(output=output,
                  inputs={"shell": Input(ids.OVERVIEW_RANGE, "data"),
                          "scales": [Input(scale_id, "value") for scale_id in SCALE_IDS]})
    def _redraw(shell, scales):
        store = (shell or {}).get("range")
        start, end = range_of(store)
        since, until = window_of(store)
        return answers.plain(redraw(context, start, end, dict(zip(SCALED, scales)),
                                    shell["mode"], nodes=nodes_of(store), since=since,
                                    until=until, query=url.store_query(store)))
