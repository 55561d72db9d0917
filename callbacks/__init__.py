"""Callbacks: read the inputs, ask ``queries``, hand the rows to ``figures``/``components``.

Each module has plain functions (called directly by the tests) and ``register(app,
context)``, which binds them to one app. We do not use the global ``dash.callback``
registry: the first Dash app of a process takes its entries, so a second app (a test, a
gunicorn reload) would start without callbacks.
"""
from __future__ import annotations

from . import (alerts, audit, date_range, graphs, insight, live, mode, nodes, pages, playlist,
               security, users)


def register(app, context) -> None:
    """Binds every callback of the page to ``app``."""
    for module in (mode, live, date_range, graphs, nodes, pages, security, users, insight,
                   audit, playlist, alerts):
        module.register(app, context)
