"""The user page: the path /users/<name> and the range -> /api/users/<name>'s figures -> page."""
from __future__ import annotations

from datetime import date
from urllib.parse import unquote

import dash_bootstrap_components as dbc
from dash import Input, Output, html, no_update
from dash.exceptions import PreventUpdate

from components import ids
from components.headline import _tile
from components.nav import page_of
from components.tables import text_table
from dashboard import analysis_figures, figures, queries, retention, security

from .common import KEEP_ON, kept
from .graphs import nodes_of, range_of


KEYS = ("title", "headline", "seen", "days", "bytes", "protocols", "ips", "recent", "options",
        "retention")
EVENT_COLUMNS = ["Time", "Kind", "Action", "Path", "IP", "Protocol", "Bytes", "Failed", "Error"]


def name_of(pathname: str | None) -> str | None:
    """Returns the user named by /users/<percent-encoded name>, or None on /users."""
    path = pathname or ""
    if not path.startswith("/users/") or path == "/users/":
        return None
    return unquote(path[len("/users/"):], errors="surrogateescape")


def event_rows(events: list[dict]) -> list[list]:
    """Returns the cells of an events table (shared with the audit page)."""
    return [[e["ts"].replace("T", " "), e["kind"], e["action"], e["file_path"], e["remote_ip"],
             e["protocol"], e["size_bytes"], e["failed"] if e["kind"] in ("upload", "download")
             else None, e["error"]] for e in events]


def _blank(title: str, options=no_update) -> dict:
    empty = figures.empty("Pick a user")
    return {"title": title, "headline": None, "seen": None, "days": empty, "bytes": empty,
            "protocols": None, "ips": None, "recent": None, "options": options,
            "retention": None}


def redraw(context, pathname, start, end, mode, today: date | None = None,
           nodes=None) -> dict:
    """Returns the page's outputs (of ``nodes``' events; None: every node); raises
    PreventUpdate when the page is not shown."""
    if page_of(pathname) != "user":
        raise PreventUpdate
    today = today or date.today()
    name = name_of(pathname)
    try:
        first, last = queries.parse_range((start or "")[:10], (end or "")[:10], today,
                                          context.default_start())
        engine = context.engine()
        options = [{"label": figures.display_name(u["username"]), "value": u["username"]}
                   for u in queries.users(engine, first, last, nodes=nodes)]
        if name is None:
            return _blank("Pick a user", options)
        data = security.user(engine, name, first, last, nodes)
        field = retention.user_info(engine, context.settings.events_retention_days, data,
                                   first, last, today)
    except security.UnknownUser:
        return _blank(f"No user {figures.display_name(name)} has any activity", options)
    except KEEP_ON as exc:
        return kept(KEYS, "User redraw", exc)
    kiosk = bool(mode and mode.get("kiosk"))
    t = data["totals"]
    tiles = [(ids.USER_HEADLINE + "-uploads", "Uploads", "up", figures.count(t["uploads"])),
             (ids.USER_HEADLINE + "-downloads", "Downloads", "down", figures.count(t["downloads"])),
             (ids.USER_HEADLINE + "-up", "Uploaded", "up", figures.human_bytes(t["bytes_uploaded"])),
             (ids.USER_HEADLINE + "-down", "Downloaded", "down",
              figures.human_bytes(t["bytes_downloaded"])),
             (ids.USER_HEADLINE + "-failed", "Failed transfers", "bad",
              figures.count(t["failed_transfers"])),
             (ids.USER_HEADLINE + "-logins", "Logins", "", figures.count(t["logins"]))]
    headline = dbc.Row([dbc.Col(_valued_tile(*tile), xs=6, md=4, xl=2) for tile in tiles],
                       className="headline g-3")
    edge = {k: _time(data[k], (field or {}).get(f"{k}_day"))
            for k in ("last_login", "first_seen", "last_seen")}
    seen = (f"Last login {edge['last_login']} · first seen {edge['first_seen']}"
            f" · last seen {edge['last_seen']}")
    return {
        "title": figures.display_name(name), "headline": headline, "seen": seen,
        "days": analysis_figures.user_activity(data["days"], kiosk),
        "bytes": analysis_figures.user_bytes(data["days"], kiosk),
        "protocols": text_table(["Protocol", "Transfers", "Bytes"],
                                [[p["protocol"] or "(none)", p["transfers"],
                                  figures.human_bytes(p["bytes"])] for p in data["protocols"]],
                                "No transfers in this range.", name_columns=()),
        "ips": text_table(["IP", "Events"], [[i["ip"], i["events"]] for i in data["ips"]],
                          "No IP in this range.", name_columns=()),
        "recent": text_table(EVENT_COLUMNS, event_rows(data["recent"]),
                             "No events in this range.", name_columns=()),
        "options": options,
        "retention": retention_alert(retention.notice(field)),
    }


def retention_alert(sentence: str | None):
    """Returns the notice above a page's raw events (None: nothing to say)."""
    if sentence is None:
        return None
    return dbc.Alert(sentence, color="info", className="retention-notice")


def _time(ts: str | None, day: str | None = None) -> str:
    """Returns a time as shown; ``day``: its day alone, when its events were pruned."""
    if ts:
        return ts.replace("T", " ")
    return f"{day} (its events are past the retention)" if day else "never"


def _valued_tile(value_id: str, caption: str, tone: str, value: str) -> html.Div:
    tile = _tile(value_id, caption, tone)
    tile.children[0].children = value
    return tile


def register(app, context) -> None:
    output = {"title": Output(ids.USER_TITLE, "children"),
              "headline": Output(ids.USER_HEADLINE, "children"),
              "seen": Output(ids.USER_SEEN, "children"),
              "days": Output(ids.USER_DAYS, "figure"), "bytes": Output(ids.USER_BYTES, "figure"),
              "protocols": Output(ids.USER_PROTOCOLS, "children"),
              "ips": Output(ids.USER_IPS, "children"),
              "recent": Output(ids.USER_RECENT, "children"),
              "options": Output(ids.USER_PICKER, "options"),
              "retention": Output(ids.USER_RETENTION, "children")}

    @app.callback(output=output,
                  inputs={"pathname": Input(ids.URL, "pathname"),
                          "store": Input(ids.RANGE_STORE, "data"),
                          "version": Input(ids.LIVE_VERSION, "data"),
                          "mode": Input(ids.MODE_STORE, "data")})
    def _redraw(pathname, store, version, mode):
        return redraw(context, pathname, *range_of(store), mode, nodes=nodes_of(store))
