"""The links between the pages: overview, security, users, audit."""
from __future__ import annotations

import dash_bootstrap_components as dbc

from . import ids

PAGES = (("/", "Overview"), ("/security", "Security"), ("/users", "Users"), ("/audit", "Audit"))


def nav() -> dbc.Nav:
    """Returns the page links (client-side navigation: the range and the tick carry over)."""
    return dbc.Nav([dbc.NavItem(dbc.NavLink(text, href=href, active="exact" if href == "/"
                                            else "partial"))
                    for href, text in PAGES], pills=True, id=ids.NAV, className="page-nav control")


def page_of(pathname: str | None) -> str:
    """Returns which page a path shows: 'overview', 'security', 'user' or 'audit'."""
    path = (pathname or "/").rstrip("/") or "/"
    if path == "/security" or path.startswith("/security/"):
        return "security"
    if path == "/users" or path.startswith("/users/"):
        return "user"
    if path == "/audit" or path.startswith("/audit/"):
        return "audit"
    return "overview"
