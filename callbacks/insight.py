"""The insight panels (docs/insight.md): the range -> /api/paths' folders and /api/activity's
hours on the overview, /api/clients' families on the users page."""
from __future__ import annotations

from datetime import date

import dash_bootstrap_components as dbc
from dash import Input, Output, html
from dash.exceptions import PreventUpdate

from components import ids
from components.insight import DEFAULT_DEPTH
from components.nav import page_of
from components.tables import NUMBER, PATH, TOKEN, text_table
from dashboard import figures, insight, insight_figures

from .keeping import KEEP_ON, kept
from .graphs import nodes_of, range_of, span_of, window_of
from .users import name_of

FOLDER_ROWS = 100
OVERVIEW_KEYS = ("folders", "folders_title", "hours")
CLIENT_KEYS = ("clients", "plaintext")


def _bytes(n: int) -> html.Span:
    return html.Span(figures.human_bytes(n), title=f"{figures.count(n)} bytes")


def folders_table(body: dict):
    """Returns the table of /api/paths' folders (a path cut at its left, whole in its tip)."""
    return text_table(["Folder", "Uploads", "Downloads", "Uploaded", "Downloaded", "Users"],
                      [[p["path"] if p["path"] else "(no folder)", p["uploads"], p["downloads"],
                        _bytes(p["bytes_uploaded"]), _bytes(p["bytes_downloaded"]), p["users"]]
                       for p in body["paths"]],
                      "No transfers in this range.", name_columns=(),
                      kinds={0: PATH, 3: NUMBER, 4: NUMBER}, drop={5: 1, 1: 2, 2: 3})


def covers(body: dict) -> str:
    """Returns ' (counted from DAY)' when the rollup starts after the range does."""
    return f" (counted from {body['covers_from']})" if body.get("covers_from") else ""


def overview(context, start, end, mode, depth, today: date | None = None, nodes=None,
             since=None, until=None) -> dict:
    """Returns the overview's folder table (at ``depth``), its title and the hours heatmap."""
    today = today or date.today()
    try:
        span = span_of(context, start, end, today, since, until)
        engine = context.engine()
        paths = insight.paths(engine, span, depth or DEFAULT_DEPTH, limit=FOLDER_ROWS,
                              nodes=nodes)
        hours = insight.activity(engine, span, nodes)
    except KEEP_ON as exc:
        return kept(OVERVIEW_KEYS, "Insight redraw", exc)
    kiosk = bool(mode and mode.get("kiosk"))
    return {"folders": folders_table(paths),
            "folders_title": f"Folders, {depth or DEFAULT_DEPTH} deep{covers(paths)}",
            "hours": insight_figures.hours_heatmap(hours["hours"], kiosk)}


def plaintext_line(body: dict):
    """Returns the warning about logins without encryption (None when there were none)."""
    plain = body["plaintext"]
    if not plain["logins"]:
        return None
    names = ", ".join(figures.display_name(u) for u in plain["users"][:10])
    more = f" and {figures.count(len(plain['users']) - 10)} more" \
        if len(plain["users"]) > 10 else ""
    return dbc.Alert([html.B("Plain-text logins: "),
                      f"{figures.count(plain['logins'])} without encryption (FTP without TLS, "
                      f"HTTP without TLS)" + (f" by {names}{more}" if names else "") + "."],
                     color="warning", className="plaintext-warning")


def clients_table(body: dict):
    """Returns the client families of /api/clients (logins, users), the most used first."""
    return text_table(["Client", "Logins", "Users"],
                      [[f["family"], f["logins"], f["users"]] for f in body["families"]],
                      "No logins in this range.", kinds={0: TOKEN}, name_columns=(0,))


def users_clients(context, pathname, start, end, today: date | None = None, nodes=None,
                  since=None, until=None) -> dict:
    """Returns the users page's client families and plain-text line (on /users only)."""
    if page_of(pathname) != "user" or name_of(pathname) is not None:
        raise PreventUpdate
    today = today or date.today()
    try:
        span = span_of(context, start, end, today, since, until)
        body = insight.clients(context.engine(), span, nodes)
    except KEEP_ON as exc:
        return kept(CLIENT_KEYS, "Clients redraw", exc)
    return {"clients": clients_table(body), "plaintext": plaintext_line(body)}


def register(app, context) -> None:
    @app.callback(output={"folders": Output(ids.INSIGHT_FOLDERS, "children"),
                          "folders_title": Output(ids.INSIGHT_FOLDERS_TITLE, "children"),
                          "hours": Output(ids.INSIGHT_HOURS, "figure")},
                  inputs={"shell": Input(ids.OVERVIEW_RANGE, "data"),
                          "depth": Input(ids.INSIGHT_DEPTH, "value")})
    def _overview(shell, depth):
        store = (shell or {}).get("range")
        since, until = window_of(store)
        return overview(context, *range_of(store), (shell or {}).get("mode"), depth,
                        nodes=nodes_of(store), since=since, until=until)

    @app.callback(output={"clients": Output(ids.USERS_CLIENTS, "children"),
                          "plaintext": Output(ids.USERS_PLAINTEXT, "children")},
                  inputs={"pathname": Input(ids.URL, "pathname"),
                          "store": Input(ids.RANGE_STORE, "data"),
                          "version": Input(ids.LIVE_VERSION, "data")})
    def _clients(pathname, store, version):
        since, until = window_of(store)
        return users_clients(context, pathname, *range_of(store), nodes=nodes_of(store),
                             since=since, until=until)
