"""The user pages: the path /users[/<name>] and the range -> /api/users/<name>'s figures, or
the range's users -> page.

/users lists every user of the range (queries.users: the busiest first, at most 1,000);
a click on a heading sorts the list (in the page's store, no new read). /users/<name> shows
one user: the time graphs in the bucket the range calls for (timeline.py), each with its y
scale (auto: a log axis when one bar is many times another; the wall always chooses).
"""
from __future__ import annotations

from datetime import date
from urllib.parse import unquote

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from components import ids
from components.events_table import USER_COLUMNS, events_table
from components.headline import _tile
from components.nav import page_of
from components.tables import NUMBER, TOKEN, short_time, text_table
from components.users import SORT_TYPE, users_list
from dashboard import answers, figures, retention_notes, time_figures, timeline, window
from dashboard import users as user_view

from . import url
from .keeping import KEEP_ON, kept
from .graphs import drawn, nodes_of, range_of, scale_options, span_of, window_of


KEYS = ("title", "headline", "seen", "days", "bytes", "days_title", "bytes_title",
        "days_scale", "bytes_scale", "protocols", "ips", "recent", "options", "retention",
        "detail_hidden", "listing_hidden", "list_data", "list_title", "drawn")
LIST_LIMIT = 1000


def name_of(pathname: str | None) -> str | None:
    """Returns the user named by /users/<percent-encoded name>, or None on /users."""
    path = pathname or ""
    if not path.startswith("/users/") or path == "/users/":
        return None
    return unquote(path[len("/users/"):], errors="surrogateescape")


def _listing(title: str, users: list[dict], query: str, options, shown=no_update) -> dict:
    """Returns the outputs of /users: the list shown, the one user's part hidden."""
    out = dict.fromkeys(KEYS, no_update)
    out.update(title=title, options=options, detail_hidden=True, listing_hidden=False,
               drawn=shown,
               list_data={"users": users, "query": query},
               list_title=f"Users of the range ({figures.count(len(users))}"
                          f"{'+' if len(users) >= LIST_LIMIT else ''})")
    return out


def _scales(scales) -> tuple[str, str]:
    scales = list(scales or [])
    return tuple((scales + ["auto", "auto"])[i] or "auto" for i in range(2))


def redraw(context, pathname, start, end, mode, today: date | None = None,
           nodes=None, since: str | None = None, until: str | None = None, scales=None,
           query: str = "") -> dict:
    """Returns the page's outputs (of ``nodes``' events; None: every node) for the days
    start..end or the window since..until; raises PreventUpdate when the page is not shown.
    ``scales``: the two graphs' y scales; ``query``: what the list's links keep."""
    if page_of(pathname) != "user":
        raise PreventUpdate
    today = today or date.today()
    name = name_of(pathname)
    try:
        span = span_of(context, start, end, today, since, until)
        engine = context.engine()
        shown = drawn(context, pathname)
        users = window.users_of(engine, span, LIST_LIMIT, nodes=nodes)
        options = [{"label": figures.display_name(u["username"]), "value": u["username"]}
                   for u in users]
        if name is None:
            return _listing("Users", users, query, options, shown)
        data = user_view.user(engine, name, span.start, span.end, nodes, span)
        field = retention_notes.user_info(engine, context.settings.events_retention_days, data,
                                    span.start, span.end, today)
        rows, bucket, note = timeline.rows_for(
            engine, span, data["days"], nodes, username=name,
            retention_days=context.settings.events_retention_days, today=today)
    except user_view.UnknownUser:
        return _listing(f"No user {figures.display_name(name)} has any activity: the range's "
                        "users are", users, query, options, shown)
    except KEEP_ON as exc:
        return kept(KEYS, "User redraw", exc)
    kiosk = bool(mode and mode.get("kiosk"))
    days_scale, bytes_scale = ("auto", "auto") if kiosk else _scales(scales)
    activity = time_figures.user_activity(rows, bucket, kiosk)
    volume = time_figures.user_bytes(rows, bucket, kiosk)
    used_days = time_figures.scale(activity, days_scale, over_time=True)
    used_bytes = time_figures.scale(volume, bytes_scale, nbytes=True, over_time=True)
    t = data["totals"]
    tiles = [(ids.USER_HEADLINE + "-uploads", "Uploads", "up", figures.count(t["uploads"])),
             (ids.USER_HEADLINE + "-downloads", "Downloads", "down", figures.count(t["downloads"])),
             (ids.USER_HEADLINE + "-up", "Uploaded", "up", _bytes(t["bytes_uploaded"])),
             (ids.USER_HEADLINE + "-down", "Downloaded", "down", _bytes(t["bytes_downloaded"])),
             (ids.USER_HEADLINE + "-failed", "Failed transfers", "bad",
              figures.count(t["failed_transfers"])),
             (ids.USER_HEADLINE + "-logins", "Logins", "", figures.count(t["logins"]))]
    headline = dbc.Row([dbc.Col(_valued_tile(*tile), xs=6, md=4, xl=2) for tile in tiles],
                       className="headline g-3")
    edge = {k: _time(data[k], (field or {}).get(f"{k}_day"), span.end.year)
            for k in ("last_login", "first_seen", "last_seen")}
    seen = [html.Span(["Last login ", edge["last_login"]]), " · ",
            html.Span(["first seen ", edge["first_seen"]]), " · ",
            html.Span(["last seen ", edge["last_seen"]])]
    suffix = f" ({note})" if note else ""
    return {
        "title": figures.display_name(name), "headline": headline, "seen": seen,
        "days": activity, "bytes": volume,
        "days_title": timeline.title(bucket, "Activity") + suffix,
        "bytes_title": timeline.title(bucket, "Bytes up / down") + suffix,
        "days_scale": scale_options(used_days), "bytes_scale": scale_options(used_bytes),
        "protocols": text_table(["Protocol", "Transfers", "Bytes"],
                                [[p["protocol"] or "(none)", p["transfers"], _bytes(p["bytes"])]
                                 for p in data["protocols"]],
                                "No transfers in this range.", name_columns=(),
                                kinds={0: TOKEN, 2: NUMBER}),
        "ips": text_table(["IP", "Events"], [[i["ip"], i["events"]] for i in data["ips"]],
                          "No IP in this range.", name_columns=()),
        "recent": events_table(data["recent"], USER_COLUMNS, "No events in this range.",
                               span.end.year),
        "options": options, "retention": retention_alert(retention_notes.notice(field)),
        "detail_hidden": False, "listing_hidden": True, "list_data": no_update,
        "list_title": no_update, "drawn": shown,
    }


def _bytes(n: int) -> html.Span:
    return html.Span(figures.human_bytes(n), title=f"{figures.count(n)} bytes")


def retention_alert(sentence: str | None):
    """Returns the notice above a page's raw events (None: nothing to say)."""
    if sentence is None:
        return None
    return dbc.Alert(sentence, color="info", className="retention-notice")


def _time(ts: str | None, day: str | None = None, year: int | None = None):
    """Returns a time as shown (short, its year when not ``year``, the logged value in its
    tooltip); ``day``: its day alone, when its events were pruned."""
    if ts:
        return html.Span(short_time(ts, year), title=ts, className="moment")
    return f"{day} (its events are past the retention)" if day else "never"


def _valued_tile(value_id: str, caption: str, tone: str, value) -> html.Div:
    tile = _tile(value_id, caption, tone)
    tile.children[0].children = value
    return tile


def next_sort(sort: dict | None, key: str) -> dict:
    """Returns the list's order after a click on ``key``'s heading: by it, largest (or Z)
    first; a second click the other way."""
    sort = sort or {}
    if sort.get("by") == key:
        return {"by": key, "desc": not sort.get("desc", True)}
    return {"by": key, "desc": key != "username"}


def register(app, context) -> None:
    output = {"title": Output(ids.USER_TITLE, "children"),
              "headline": Output(ids.USER_HEADLINE, "children"),
              "seen": Output(ids.USER_SEEN, "children"),
              "days": Output(ids.USER_DAYS, "figure"), "bytes": Output(ids.USER_BYTES, "figure"),
              "days_title": Output(ids.USER_DAYS_TITLE, "children"),
              "bytes_title": Output(ids.USER_BYTES_TITLE, "children"),
              "days_scale": Output(ids.USER_DAYS_SCALE, "options"),
              "bytes_scale": Output(ids.USER_BYTES_SCALE, "options"),
              "protocols": Output(ids.USER_PROTOCOLS, "children"),
              "ips": Output(ids.USER_IPS, "children"),
              "recent": Output(ids.USER_RECENT, "children"),
              "options": Output(ids.USER_PICKER, "options"),
              "retention": Output(ids.USER_RETENTION, "children"),
              "detail_hidden": Output(ids.USER_DETAIL, "hidden"),
              "listing_hidden": Output(ids.USERS_LISTING, "hidden"),
              "list_data": Output(ids.USERS_LIST_DATA, "data"),
              "list_title": Output(ids.USERS_LIST_TITLE, "children"),
              "drawn": Output(ids.drawn_id("user"), "data")}

    @app.callback(output=output,
                  inputs={"pathname": Input(ids.URL, "pathname"),
                          "store": Input(ids.RANGE_STORE, "data"),
                          "version": Input(ids.LIVE_VERSION, "data"),
                          "mode": Input(ids.MODE_STORE, "data"),
                          "scales": [Input(ids.USER_DAYS_SCALE, "value"),
                                     Input(ids.USER_BYTES_SCALE, "value")]})
    def _redraw(pathname, store, version, mode, scales):
        since, until = window_of(store)
        return answers.plain(redraw(context, pathname, *range_of(store), mode,
                                    nodes=nodes_of(store), since=since, until=until,
                                    scales=scales, query=url.store_query(store)))

    @app.callback(Output(ids.USERS_LIST, "children"), Input(ids.USERS_LIST_DATA, "data"),
                  Input(ids.USERS_SORT, "data"))
    def _list(data, sort):
        if not data:
            raise PreventUpdate
        return users_list(data["users"], sort, data.get("query") or "")

    @app.callback(Output(ids.USERS_SORT, "data"),
                  Input({"type": SORT_TYPE, "key": ALL}, "n_clicks"),
                  State(ids.USERS_SORT, "data"), prevent_initial_call=True)
    def _sort(clicks, sort):
        trigger = ctx.triggered_id
        if not isinstance(trigger, dict) or not any(clicks or []):
            raise PreventUpdate
        return next_sort(sort, trigger["key"])
