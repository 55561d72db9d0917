"""The whole page: header, page links, banner, range controls, and one section per page
(overview: headline figures, graphs and table; security; user; audit). The URL's path picks
the section shown (callbacks/pages.py); the range, the banner and the live tick are shared."""
from __future__ import annotations

from datetime import date

from dash import dcc, html

from . import ids
from .banner import db_banner
from .controls import range_controls
from .graphs import graphs_grid
from .header import header
from .headline import headline_row
from .users_table import users_panel
from .audit_page import audit_page
from .nav import nav
from .security_page import security_page
from .user_page import user_page


def page(start: date, end: date, interval_s: float, kiosk: bool) -> html.Div:
    """Returns the page for the range start..end; ``kiosk`` is the mode before the URL says."""
    return html.Div([
        dcc.Location(id=ids.URL, refresh=False),
        dcc.Store(id=ids.MODE_STORE, data={"kiosk": kiosk}),
        dcc.Store(id=ids.LIVE_VERSION),
        dcc.Store(id=ids.LIVE_TODAY, data={"today": end.isoformat(), "previous": None}),
        dcc.Store(id=ids.LIVE_RATE),
        dcc.Interval(id=ids.LIVE_INTERVAL, interval=int(interval_s * 1000)),
        dcc.Interval(id=ids.PLAYLIST, interval=60_000, disabled=True),   # ?cycle=...&every=...
        header(),
        nav(),
        db_banner(),
        range_controls(start, end),
        html.Div([headline_row(), graphs_grid(), users_panel()], id=ids.PAGE_OVERVIEW,
                 className="page-section"),
        security_page(),
        user_page(),
        audit_page(),
    ], id=ids.ROOT, className=root_class(kiosk))


def root_class(kiosk: bool) -> str:
    """Returns the class of the page root: 'kiosk' hides the controls and enlarges the type."""
    return "dashboard kiosk" if kiosk else "dashboard"
