"""The user page: pick a user; their figures, activity, bytes, protocols, IPs, recent events."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from . import ids
from .common import page_graph, panel


def user_page() -> html.Div:
    """Returns the page; filled by callbacks/users.py from the path /users/<name>."""
    picker = dcc.Dropdown(id=ids.USER_PICKER, options=[], placeholder="Pick or type a user…",
                          clearable=False, className="user-picker control")
    return html.Div([
        html.Div([html.H2(id=ids.USER_TITLE, className="user-title"), picker],
                 className="user-row"),
        html.Div(id=ids.USER_HEADLINE),
        html.Div(id=ids.USER_SEEN, className="user-seen"),
        html.Div(id=ids.USER_RETENTION),        # the raw parts' range is past the retention
        dbc.Row([dbc.Col(panel("Activity by day", page_graph(ids.USER_DAYS)), lg=6),
                 dbc.Col(panel("Bytes up / down by day", page_graph(ids.USER_BYTES)), lg=6)],
                className="g-3"),
        dbc.Row([dbc.Col(panel("Protocols", html.Div(id=ids.USER_PROTOCOLS)), lg=3),
                 dbc.Col(panel("IPs", html.Div(id=ids.USER_IPS, className="scroll-table")), lg=3),
                 dbc.Col(panel("Recent events", html.Div(id=ids.USER_RECENT,
                                                         className="scroll-table")), lg=6)],
                className="g-3"),
    ], id=ids.PAGE_USER, className="page-section")
