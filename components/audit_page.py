"""The audit page: filters, a server-side paged table of events, and the CSV of the filter."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from ingestion.parse import KINDS

from . import ids
from .common import panel


def _text(input_id: str, placeholder: str) -> dbc.Input:
    return dbc.Input(id=input_id, placeholder=placeholder, type="text", debounce=True,
                     size="sm", className="audit-input")


def audit_page() -> html.Div:
    """Returns the page; its table and paging are filled by callbacks/audit.py."""
    filters = html.Div([
        _text(ids.AUDIT_USER, "user (exact)"),
        dcc.Dropdown(id=ids.AUDIT_KIND, options=list(KINDS), multi=True, placeholder="kinds",
                     className="audit-kind"),
        _text(ids.AUDIT_IP, "IP (exact)"),
        _text(ids.AUDIT_PROTOCOL, "protocol"),
        dbc.Select(id=ids.AUDIT_FAILED, size="sm", value="", className="audit-failed",
                   options=[{"label": "failed or not", "value": ""},
                            {"label": "failed only", "value": "1"},
                            {"label": "not failed", "value": "0"}]),
        _text(ids.AUDIT_PATH, "path contains"),
    ], className="audit-filters control")
    paging = html.Div([
        dbc.Button("← Newer", id=ids.AUDIT_NEWER, size="sm", color="secondary", n_clicks=0),
        html.Span(id=ids.AUDIT_PAGE_INFO, className="audit-page-info"),
        dbc.Button("Older →", id=ids.AUDIT_OLDER, size="sm", color="secondary", n_clicks=0),
        html.A("Download CSV", id=ids.AUDIT_CSV, href="/api/events.csv", className="audit-csv",
               download="events.csv"),
    ], className="audit-paging control")
    return html.Div([
        filters, paging,
        dcc.Store(id=ids.AUDIT_PAGING, data={"stack": [None], "next": None}),
        panel("Events", html.Div(id=ids.AUDIT_TABLE, className="audit-table")),
    ], id=ids.PAGE_AUDIT, className="page-section", hidden=True)
