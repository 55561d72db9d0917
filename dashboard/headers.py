"""Security headers on every answer of the dashboard: pages, assets, the API, errors, and the
401 and 413 answered before Flask routes anything.

- ``X-Content-Type-Options: nosniff``: a browser takes each answer as the type it is sent
  as (a CSV or JSON holding attacker-controlled text is never run as a script or page).
- ``Content-Security-Policy``: scripts, styles, images, fonts and requests from this server
  only; the inline scripts are Dash's own (its renderer and the clientside callbacks), each
  allowed by its hash (``Dash.csp_hashes``), never by 'unsafe-inline'. Styles need
  'unsafe-inline': React and Plotly set style attributes and Plotly adds its own style
  element. ``frame-ancestors`` is the DASHBOARD_FRAME_ANCESTORS setting ('self' by default:
  a wall tool elsewhere must be named there).
- ``Referrer-Policy: same-origin``: the dashboard's addresses (their user names, ranges and
  filters) never leave in a Referer header.

A WSGI middleware rather than a Flask hook, so the answers made outside Flask's routing
(limits.BodyLimit's 413) carry them too; a header the answer already sets is left as it is.
"""
from __future__ import annotations

import re
import threading
from typing import Callable, Iterable

from settings import ConfigError

# One source of a frame-ancestors list: 'self', 'none', or a scheme, host or URL pattern
# (https:, wall.example.org, https://*.example.org:8443). Nothing that would end the
# directive (;), start another policy (,) or the header (a line break), and no quotes.
_SOURCE = re.compile(r"'self'|'none'|[A-Za-z0-9*][^\s;,'\"]*", re.ASCII)


def check_frame_ancestors(value: str) -> str:
    """Returns ``value`` if it is a usable frame-ancestors source list; raises ConfigError."""
    sources = value.split(" ")
    if not value or not all(_SOURCE.fullmatch(s) for s in sources) or \
            ("'none'" in sources and len(sources) > 1):
        raise ConfigError(f"DASHBOARD_FRAME_ANCESTORS={value[:80]!r} is not a frame-ancestors "
                          "list: use 'self', 'none', or sources separated by one space, like "
                          "\"'self' https://wall.example.org\"")
    return value


def policy(script_hashes: Iterable[str], frame_ancestors: str) -> str:
    """Returns the Content-Security-Policy of the dashboard."""
    return "; ".join((
        "default-src 'self'",
        "script-src 'self' " + " ".join(script_hashes),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        f"frame-ancestors {frame_ancestors}",
    ))


def fixed_headers() -> list[tuple[str, str]]:
    """Returns the headers that do not depend on the app."""
    return [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin")]


class SecurityHeaders:
    """WSGI middleware: adds the security headers to every answer of ``app``.

    ``csp`` returns the Content-Security-Policy; it is asked on each answer because Dash adds
    inline scripts (the pages' title callback) on its first request.
    """

    def __init__(self, app, csp: Callable[[], str]):
        self.app = app
        self.csp = csp

    def __call__(self, environ, start_response):
        def start(status, headers, *exc_info):
            present = {name.lower() for name, _value in headers}
            more = [(name, value) for name, value in
                    fixed_headers() + [("Content-Security-Policy", self.csp())]
                    if name.lower() not in present]
            return start_response(status, list(headers) + more, *exc_info)
        return self.app(environ, start)


def install(dash_app, frame_ancestors: str) -> None:
    """Wraps the Flask server of ``dash_app`` (outermost) with SecurityHeaders."""
    ancestors = check_frame_ancestors(frame_ancestors)
    cache: dict = {}
    lock = threading.Lock()           # csp_hashes() moves Dash's global inline scripts

    def csp() -> str:
        with lock:
            hashes = tuple(dash_app.csp_hashes())
            if hashes not in cache:
                cache.clear()
                cache[hashes] = policy(hashes, ancestors)
            return cache[hashes]

    server = dash_app.server
    server.wsgi_app = SecurityHeaders(server.wsgi_app, csp)
