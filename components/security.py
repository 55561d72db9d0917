"""The security page: who tries to get in, from where (countries), and what the defender
banned; a warning when anyone logged in without encryption."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from . import ids
from .pieces import page_graph, panel
from .headline import _tile

FIGURES = ((ids.SECURITY_FAILURES, "Failed logins", "bad"), (ids.SECURITY_IPS, "Distinct IPs", ""),
           (ids.SECURITY_USERNAMES, "Usernames tried", ""), (ids.SECURITY_BANS, "Bans", "bad"))


def security_page() -> html.Div:
    """Returns the page; its figures and tables are filled by callbacks/security.py. Each
    tile has a note line: what its count holds (scans, the empty name as "(none)")."""
    return html.Div([
        dcc.Store(id=ids.drawn_id("security")),
        html.Div(id=ids.SECURITY_PLAINTEXT),       # logins without encryption, when any
        dbc.Row([dbc.Col(_tile(value_id, caption, tone, note=True), xs=6, xl=3)
                 for value_id, caption, tone in FIGURES], className="headline g-3"),
        dbc.Row([dbc.Col(panel("Failed logins by day (× bans)", page_graph(ids.SECURITY_DAYS),
                               title_id=ids.SECURITY_DAYS_TITLE), lg=7),
                 dbc.Col(panel("Top IPs", html.Div(id=ids.SECURITY_TOP_IPS,
                                                   className="scroll-table fit-table")),
                         lg=5)],
                className="g-3 page-row"),
        dbc.Row([dbc.Col(panel("Usernames tried", html.Div(id=ids.SECURITY_TOP_USERNAMES,
                                                            className="scroll-table fit-table")),
                         lg=3),
                 dbc.Col(panel("Failures by country", page_graph(ids.SECURITY_COUNTRIES)),
                         lg=3),
                 dbc.Col(panel("Failures by method", page_graph(ids.SECURITY_METHODS)), lg=3),
                 dbc.Col(panel("Failures by protocol", page_graph(ids.SECURITY_PROTOCOLS)), lg=3)],
                className="g-3 page-row"),
    ], id=ids.PAGE_SECURITY, className="page-section")
