"""The per-user table under the graphs (every user of the range, busiest first)."""
from __future__ import annotations

from urllib.parse import quote

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.figures import count, display_name, human_bytes

from . import ids
from .pieces import panel

MAX_ROWS = 100
_COLUMNS = ("User", "Uploads", "Downloads", "Failed", "Uploaded", "Downloaded",
            "Avg / transfer", "File ops", "Logins")


def users_panel() -> html.Div:
    """Returns the panel; its table and its CSV link (every user of the range) are filled
    by a callback."""
    csv = html.A("Download CSV", id=ids.USERS_CSV, href="/api/users.csv", download="users.csv",
                 className="users-csv")
    return html.Div(panel("Users", html.Div(id=ids.USERS_TABLE, className="users-table "
                                                                            "scroll-table"),
                          tools=csv), className="users-panel control")


def user_href(name: str, query: str = "") -> str:
    """Returns the address of a user's page (the name percent-encoded, '/' included) with
    the page's shared query (its range) after it."""
    return "/users/" + quote(name, safe="") + query


def user_link(name: str, query: str = "") -> dcc.Link:
    """Returns a link to the user's page; the name is its text (never markup)."""
    return dcc.Link(display_name(name), href=user_href(name, query), className="user-link")


def users_table(users: list[dict], total: int | None = None, query: str = ""):
    """Returns a table of ``users`` (names as plain text: Dash never renders them as HTML),
    each name a link to the user's page (``query``: the range it keeps); ``total``: how
    many users the range has, when ``users`` lists only the busiest."""
    total = len(users) if total is None else total
    if not users:
        return html.P("No user activity in this range.", className="empty-note")
    body = [html.Tr([
        html.Td(user_link(u["username"], query), className="username"),
        html.Td(count(u["uploads"])), html.Td(count(u["downloads"])),
        html.Td(count(u["failed_transfers"])),
        html.Td(human_bytes(u["bytes_uploaded"])), html.Td(human_bytes(u["bytes_downloaded"])),
        html.Td(human_bytes(u["avg_bytes_per_transfer"])
                if u["avg_bytes_per_transfer"] is not None else "–"),
        html.Td(count(u["file_ops"])), html.Td(count(u["logins"])),
    ]) for u in users[:MAX_ROWS]]
    table = dbc.Table([html.Thead(html.Tr([html.Th(c) for c in _COLUMNS])), html.Tbody(body)],
                      size="sm", hover=True, className="table-dark text-table")
    if total <= MAX_ROWS:
        return table
    return [table, html.P(f"and {count(total - MAX_ROWS)} more users: see /api/stats",
                          className="empty-note")]
