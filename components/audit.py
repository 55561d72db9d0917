"""The audit page: filters, a server-side paged table of events, and the CSV of the filter."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from ingestion.counting import KINDS

from . import ids
from .pieces import panel


def _text(input_id: str, placeholder: str, value) -> dbc.Input:
    return dbc.Input(id=input_id, placeholder=placeholder, type="text", debounce=True,
                     size="sm", className="audit-input", value=_one(value))


def _labelled(label: str, control, control_id: str) -> html.Div:
    """Returns a filter with its name above it (a <label> for its control)."""
    return html.Div([dbc.Label(label, html_for=control_id, className="audit-label"), control],
                    className="audit-filter")


def _one(value) -> str:
    """Returns a query value as one string (the first of a repeated key; '' for none)."""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return value if isinstance(value, str) else ""


def audit_page(user=None, kinds=None, ip=None, protocol=None, failed=None,
               path=None) -> html.Div:
    """Returns the page with its filters set to the query string's values (kinds: one name
    or a list; unknown kinds and a failed other than 0/1 are left out); its table and paging
    are filled by callbacks/audit.py."""
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    filters = html.Div([
        _labelled("User", _text(ids.AUDIT_USER, "exact name", user), ids.AUDIT_USER),
        _labelled("Kinds", dcc.Dropdown(
            id=ids.AUDIT_KIND, options=list(KINDS), multi=True, placeholder="every kind",
            className="audit-kind", value=[k for k in dict.fromkeys(kinds) if k in KINDS]),
            ids.AUDIT_KIND),
        _labelled("IP", _text(ids.AUDIT_IP, "exact address", ip), ids.AUDIT_IP),
        _labelled("Protocol", _text(ids.AUDIT_PROTOCOL, "SFTP, FTP, DAV…", protocol),
                  ids.AUDIT_PROTOCOL),
        _labelled("Failed", dbc.Select(
            id=ids.AUDIT_FAILED, size="sm", className="audit-failed",
            value=_one(failed) if _one(failed) in ("0", "1") else "any",
            options=[{"label": "failed or not", "value": "any"},
                     {"label": "failed only", "value": "1"},
                     {"label": "not failed", "value": "0"}]), ids.AUDIT_FAILED),
        _labelled("Path contains", _text(ids.AUDIT_PATH, "part of a path", path),
                  ids.AUDIT_PATH),
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
        html.Div(id=ids.AUDIT_RETENTION),       # the range reaches past the retention
        dcc.Store(id=ids.AUDIT_PAGING, data={"stack": [None], "next": None}),
        dcc.Store(id=ids.AUDIT_RANGE),
        panel("Events", html.Div(id=ids.AUDIT_TABLE, className="audit-table scroll-table "
                                                               "fit-table")),
    ], id=ids.PAGE_AUDIT, className="page-section")
