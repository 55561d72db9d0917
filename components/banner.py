"""The banner shown while the database cannot be reached (the figures stay as they were)."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashboard.figures import visible

from . import ids


def db_banner() -> dbc.Alert:
    """Returns the (closed) banner."""
    return dbc.Alert(id=ids.LIVE_BANNER, color="danger", is_open=False, className="db-banner")


def db_banner_text(reason: str, retry_s: float, title: str = "Database unreachable.") -> list:
    """Returns the banner's content for a database that failed with ``reason`` (``title``:
    'Database unreachable.' or 'Database error.')."""
    return [html.Strong(f"{title} "),
            html.Span(visible(reason), className="db-banner-reason"),
            html.Span(f" Showing the last figures; retrying every {retry_s:g} s.")]


def ingest_warning_text(reason: str) -> list:
    """Returns the banner's content when reading the logs failed but the database answers."""
    return [html.Strong("Reading the logs failed. "), html.Span(visible(reason))]
