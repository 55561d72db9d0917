"""The alerts page: a rule and a state filter, the table of alerts, the rules in force.

Every value from the log (usernames, IPs in a summary or a key) is a text child: Dash never
renders it as markup. A channel is shown by its safe name (no password, no webhook path).
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from alerts.rules import format_duration
from dashboard.figures import visible

from . import ids
from .pieces import panel

STATE_OPTIONS = [{"label": "any state", "value": "any"}, {"label": "firing", "value": "firing"},
                 {"label": "fired", "value": "fired"}, {"label": "resolved", "value": "resolved"}]
STATE_CLASS = {"firing": "alert-firing", "fired": "alert-fired", "resolved": "alert-resolved"}


def _one(value) -> str:
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return value if isinstance(value, str) else ""


def alerts_page(rule=None, state=None) -> html.Div:
    """Returns the page; callbacks/alerts.py fills the table for the range and filters."""
    state = _one(state)
    filters = html.Div([
        dbc.Input(id=ids.ALERTS_RULE, placeholder="rule (exact)", type="text", debounce=True,
                  size="sm", className="audit-input", value=_one(rule)),
        dbc.Select(id=ids.ALERTS_STATE, size="sm", className="audit-failed",
                   value=state if state in ("firing", "fired", "resolved") else "any",
                   options=STATE_OPTIONS),
    ], className="audit-filters control")
    return html.Div([
        dcc.Store(id=ids.ALERTS_RANGE),
        filters,
        panel("Alerts", html.Div(id=ids.ALERTS_TABLE, className="alerts-table")),
        html.Div(id=ids.ALERTS_RULES, className="alerts-rules control"),
    ], id=ids.PAGE_ALERTS, className="page-section")


def key_text(key: dict) -> str:
    return ", ".join(f"{k} {visible(str(v))}" for k, v in key.items())


def delivery_text(delivery: dict) -> str:
    if not delivery:
        return "shown here only"
    return "; ".join(f"{name}: {status.replace('_', ' ')}" for name, status in delivery.items())


def alerts_table(rows: list[dict]):
    """Returns the table of alerts (firing ones first, as given)."""
    if not rows:
        return html.P("No alert in this range.", className="empty-note")
    head = html.Thead(html.Tr([html.Th(h) for h in (
        "State", "Rule", "What", "Key", "At", "Delivery", "")]))
    body = []
    for a in rows:
        at = a["at"].replace("T", " ")
        if a.get("resolved_at"):
            at += f" → {a['resolved_at'].replace('T', ' ')}"
        body.append(html.Tr([
            html.Td(html.Span(a["state"], className=f"alert-state {STATE_CLASS[a['state']]}")),
            html.Td(a["rule"]),
            html.Td(visible(a["summary"]), className="alert-summary"),
            html.Td(key_text(a["key"]), className="name"),
            html.Td(at, className="alert-at"),
            html.Td(delivery_text(a["delivery"]), className="alert-delivery"),
            html.Td(dcc.Link("events", href=a["events"], className="alert-events")),
        ], className=f"alert-row {STATE_CLASS[a['state']]}"))
    return dbc.Table([head, html.Tbody(body)], size="sm", hover=True, responsive=True,
                     className="table-dark text-table alerts-list")


def rules_note(rules: list[dict], source: str) -> html.Div:
    """Returns the rules in force, one line each (no channel, no secret)."""
    where = f"from {source}" if source else "the default rules (no ALERT_RULES file: shown here only)"
    items = []
    for r in rules:
        parts = [f"{k[:-2]} {format_duration(v)}" if k.endswith("_s") else
                 f"{k} {', '.join(v) if isinstance(v, list) else v}"
                 for k, v in r.items() if k not in ("name", "when") and v not in (None, [])]
        items.append(html.Li(f"{r['name']}: {r['when']}" + (f" ({', '.join(parts)})" if parts else "")))
    return html.Div([html.Span(f"Rules in force, {where}:", className="alerts-rules-title"),
                     html.Ul(items)])


def count_text(firing: int, recent: int) -> str:
    """Returns the header's words: '2 alerts firing', '3 alerts in the last hour', ..."""
    if firing:
        return f"{firing} alert{'s' if firing != 1 else ''} firing"
    if recent:
        return f"{recent} alert{'s' if recent != 1 else ''} lately"
    return "no alert firing"


def wall_list(rows: list[dict]):
    """Returns the wall's list: each firing or recent alert's summary in large type."""
    return html.Ul([html.Li([html.Span(a["state"], className=f"alert-state {STATE_CLASS[a['state']]}"),
                             " ", html.Span(visible(a["summary"]), className="alert-wall-text"),
                             " ", html.Span(a["at"][11:16], className="alert-wall-at")])
                    for a in rows], className="alerts-wall-list")
