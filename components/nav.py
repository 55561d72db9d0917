"""The links between the pages: overview, security, users, audit, alerts."""
from __future__ import annotations

import dash_bootstrap_components as dbc

from . import ids

# (link id, path, text, page): the page is what page_of() says of the path
PAGES = ((ids.NAV_OVERVIEW, "/", "Overview", "overview"),
         (ids.NAV_SECURITY, "/security", "Security", "security"),
         (ids.NAV_USERS, "/users", "Users", "user"),
         (ids.NAV_AUDIT, "/audit", "Audit", "audit"),
         (ids.NAV_ALERTS, "/alerts", "Alerts", "alerts"))


def nav() -> dbc.Nav:
    """Returns the page links (client-side navigation; callbacks/pages.py adds the range and
    the wall's parameters to each, and marks the page shown)."""
    return dbc.Nav([dbc.NavItem(dbc.NavLink(text, id=link_id, href=href))
                    for link_id, href, text, _page in PAGES],
                   pills=True, id=ids.NAV, className="page-nav control")


def page_of(pathname: str | None) -> str:
    """Returns which page a path shows: 'overview', 'security', 'user', 'audit', 'alerts',
    or 'not_found' (pages/not_found_404.py) for any other path."""
    path = (pathname or "/").rstrip("/") or "/"
    if path == "/":
        return "overview"
    if path == "/security":
        return "security"
    if path == "/users" or path.startswith("/users/"):
        return "user"
    if path == "/audit":
        return "audit"
    if path == "/alerts":
        return "alerts"
    return "not_found"
