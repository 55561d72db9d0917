"""The row of headline figures: users, transfers, bytes up/down, failed transfers and logins."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashboard.figures import count, human_bytes

from . import ids

# (value id, caption, tone)
FIGURES = (
    (ids.HEADLINE_USERS, "Users", ""),
    (ids.HEADLINE_TRANSFERS, "Transfers", ""),
    (ids.HEADLINE_UPLOADED, "Uploaded", "up"),
    (ids.HEADLINE_DOWNLOADED, "Downloaded", "down"),
    (ids.HEADLINE_FAILED_TRANSFERS, "Failed transfers", "bad"),
    (ids.HEADLINE_FAILED_LOGINS, "Failed logins", "bad"),
)


# the totals key of each tile, in FIGURES order (its change against the period before)
TOTALS = ("users", "transfers", "bytes_uploaded", "bytes_downloaded", "failed_transfers",
          "login_failures")


def headline_row() -> dbc.Row:
    """Returns the row of figure tiles, their values still empty ('…'); each has a note line
    for its change against the period before."""
    return dbc.Row([dbc.Col(_tile(value_id, caption, tone, note=True), xs=6, md=4, xl=2)
                    for value_id, caption, tone in FIGURES], className="headline g-3")


def headline_notes(totals: dict, previous: dict | None, days: int, window: bool) -> list:
    """Returns each tile's note, in FIGURES order: its change against ``previous`` (the
    totals of the period before, /api/stats' previous) as '▲ 12 % vs before', which period
    and its figure in the tooltip; empty when neither period has any."""
    from dashboard.insight_figures import before_words, change
    words = before_words(previous, days, window)
    notes = []
    for key in TOTALS:
        then = None if previous is None else previous[key]
        text, way = change(totals[key], then)
        if not text:
            notes.append("")
            continue
        shown = human_bytes(then) if key.startswith("bytes") else count(then)
        notes.append(html.Span([html.Span(text, className=f"delta delta-{way}"), " vs before"],
                               title=f"against {words} ({previous['start']} → "
                                     f"{previous['end']}): {shown}"))
    return notes


def _tile(value_id: str, caption: str, tone: str, note: bool = False) -> html.Div:
    """Returns a figure's tile; ``note``: with a line under its caption (id value_id +
    '-note') that says what the figure holds."""
    parts = [html.Div("…", id=value_id, className="headline-value"),
             html.Div(caption, className="headline-caption")]
    if note:
        parts.append(html.Div(id=value_id + "-note", className="headline-note"))
    return html.Div(parts, className=f"headline-tile {tone}".strip())


def headline_values(totals: dict) -> list:
    """Returns the value of each tile, in FIGURES order; bytes carry the exact count as a tip."""
    def exact(n: int) -> html.Span:
        return html.Span(human_bytes(n), title=f"{count(n)} bytes")
    return [
        count(totals["users"]),
        count(totals["transfers"]),
        exact(totals["bytes_uploaded"]),
        exact(totals["bytes_downloaded"]),
        count(totals["failed_transfers"]),
        count(totals["login_failures"]),
    ]
