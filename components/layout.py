"""The shell every page shares: header (with the node picker), page links, banners (the
database's, and the stale nodes' warning), range controls, the live tick,
and the URL's state; ``dash.page_container`` in the middle shows the page the path names
(pages/: overview, security, users, audit)."""
from __future__ import annotations

from datetime import date

import dash
from dash import dcc, html

from . import ids
from .banner import db_banner
from .controls import range_controls
from .header import header
from .nodes import stale_banner


def page(start: date, end: date, tick_s: float, kiosk: bool) -> html.Div:
    """Returns the shell; ``tick_s`` is the time between two live ticks (settings.tick_s),
    ``kiosk`` the mode before the URL says. The picker shows
    start..end until callbacks/date_range.py has read the URL's range, which the pages draw."""
    return html.Div([
        dcc.Location(id=ids.URL, refresh=False),          # the query string: the view's state
        dcc.Location(id=ids.NAV_URL, refresh="callback-nav"),   # going to another page
        dcc.Store(id=ids.MODE_STORE, data={"kiosk": kiosk}),
        dcc.Store(id=ids.RANGE_STORE),
        dcc.Store(id=ids.LIVE_VERSION),
        dcc.Store(id=ids.LIVE_TODAY),
        dcc.Store(id=ids.LIVE_RATE),
        dcc.Store(id=ids.LIVE_STALE),
        dcc.Store(id=ids.LIVE_NODES),
        html.Div(id=ids.TITLE_SINK, hidden=True),
        dcc.Interval(id=ids.LIVE_INTERVAL, interval=int(tick_s * 1000)),
        dcc.Interval(id=ids.PLAYLIST, interval=60_000, disabled=True),   # ?cycle=...&every=...
        header(),
        db_banner(),
        stale_banner(),
        html.Div(id=ids.ALERTS_WALL, className="alerts-wall", hidden=True),
        range_controls(start, end),
        html.Div(dash.page_container, className="page-body"),
    ], id=ids.ROOT, className=root_class(kiosk))


def root_class(kiosk: bool) -> str:
    """Returns the class of the page root: 'kiosk' hides the controls and enlarges the type."""
    return "dashboard kiosk" if kiosk else "dashboard"
