"""The user pages: /users lists the range's users (sortable, each name a link to its page);
/users/<name> shows that user's figures, activity, bytes, protocols, IPs and recent events."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.figures import count, human_bytes

from . import ids
from .pieces import page_graph, panel, scale_control
from .insight import clients_panel
from .users_table import user_link

# the list's columns: (key of the user object, heading); "busiest" is the API's own order
LIST_COLUMNS = (("username", "User"), ("uploads", "Uploads"), ("downloads", "Downloads"),
                ("failed_transfers", "Failed"), ("bytes_uploaded", "Uploaded"),
                ("bytes_downloaded", "Downloaded"), ("avg_bytes_per_transfer", "Avg / transfer"),
                ("file_ops", "File ops"), ("logins", "Logins"))
DROP = {"avg_bytes_per_transfer": 1, "file_ops": 2, "failed_transfers": 3, "logins": 4}
SORT_TYPE = "users-sort"              # the headings' buttons: {"type": SORT_TYPE, "key": key}
_BYTES = ("bytes_uploaded", "bytes_downloaded", "avg_bytes_per_transfer")


def user_page() -> html.Div:
    """Returns the page; filled by callbacks/users.py from the path /users[/<name>]."""
    picker = dcc.Dropdown(id=ids.USER_PICKER, options=[], placeholder="Pick or type a user…",
                          clearable=False, className="user-picker control")
    detail = html.Div([
        dcc.Store(id=ids.drawn_id("user")),
        html.Div(id=ids.USER_HEADLINE),
        html.Div(id=ids.USER_SEEN, className="user-seen"),
        html.Div(id=ids.USER_RETENTION),        # the raw parts' range is past the retention
        dbc.Row([dbc.Col(panel("Activity by day", page_graph(ids.USER_DAYS),
                               title_id=ids.USER_DAYS_TITLE,
                               tools=scale_control(ids.USER_DAYS_SCALE)), lg=6),
                 dbc.Col(panel("Bytes up / down by day", page_graph(ids.USER_BYTES),
                               title_id=ids.USER_BYTES_TITLE,
                               tools=scale_control(ids.USER_BYTES_SCALE)), lg=6)],
                className="g-3 page-row"),
        dbc.Row([dbc.Col(panel("Protocols", html.Div(id=ids.USER_PROTOCOLS,
                                                     className="scroll-table fit-table")), lg=3),
                 dbc.Col(panel("IPs", html.Div(id=ids.USER_IPS,
                                               className="scroll-table fit-table")), lg=3),
                 dbc.Col(panel("Recent events", html.Div(id=ids.USER_RECENT,
                                                         className="scroll-table fit-table")),
                         lg=6)],
                className="g-3 page-row"),
    ], id=ids.USER_DETAIL, className="page-part", hidden=True)
    listing = html.Div([
        dcc.Store(id=ids.USERS_LIST_DATA), dcc.Store(id=ids.USERS_SORT,
                                                     data={"by": None, "desc": True}),
        dbc.Row([dbc.Col(panel("Users", html.Div(id=ids.USERS_LIST,
                                                 className="scroll-table fit-table whole-list"),
                               title_id=ids.USERS_LIST_TITLE), xl=8),
                 dbc.Col(clients_panel(), xl=4)], className="g-3 page-row"),
    ], id=ids.USERS_LISTING, className="page-part", hidden=True)
    return html.Div([
        html.Div([html.H2(id=ids.USER_TITLE, className="user-title"), picker],
                 className="user-row"),
        detail, listing,
    ], id=ids.PAGE_USER, className="page-section")


def sort_users(users: list[dict], by: str | None, desc: bool) -> list[dict]:
    """Returns ``users`` ordered by the column ``by`` (None: as given, the busiest first);
    names by their characters, figures by value, a missing average last."""
    if by is None or by not in dict(LIST_COLUMNS):
        return list(users)
    if by == "username":
        return sorted(users, key=lambda u: u["username"], reverse=desc)
    present = [u for u in users if u[by] is not None]
    missing = [u for u in users if u[by] is None]
    return sorted(present, key=lambda u: u[by], reverse=desc) + missing


def _heading(key: str, text: str, sort: dict) -> html.Th:
    mark = ""
    if sort.get("by") == key:
        mark = " ▼" if sort.get("desc", True) else " ▲"
    button = html.Button(text + mark, id={"type": SORT_TYPE, "key": key}, n_clicks=0,
                         className="sort-button", type="button",
                         title=f"sort by {text.lower()}")
    attrs = {"aria-sort": "descending" if sort.get("desc", True) else "ascending"} \
        if sort.get("by") == key else {}
    if key in DROP:
        attrs["data-drop"] = str(DROP[key])
    return html.Th(button, className="text" if key == "username" else "number", **attrs)


def users_list(users: list[dict], sort: dict | None, query: str = ""):
    """Returns the users table: a heading button per column sorts by it (again: the other
    way); each name links to the user's page (``query``: the range it keeps)."""
    sort = sort or {"by": None, "desc": True}
    if not users:
        return html.P("No user activity in this range.", className="empty-note")
    rows = []
    for u in sort_users(users, sort.get("by"), sort.get("desc", True)):
        cells = [html.Td(user_link(u["username"], query), className="clip name")]
        for key, _text in LIST_COLUMNS[1:]:
            value = u[key]
            if value is None:
                text = "–"
            elif key in _BYTES:
                text = html.Span(human_bytes(value), title=f"{count(round(value))} bytes")
            else:
                text = count(value)
            cells.append(html.Td(text, className="number"))
        rows.append(html.Tr(cells))
    head = html.Thead(html.Tr([_heading(k, t, sort) for k, t in LIST_COLUMNS]))
    return dbc.Table([head, html.Tbody(rows)], size="sm", hover=True,
                     className="table-dark text-table users-list")
