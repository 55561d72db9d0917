"""Wall-display mode: /?kiosk=1 (or the --kiosk flag) hides the controls and enlarges the type."""
from __future__ import annotations

from urllib.parse import parse_qs

from dash import Input, Output, State
from dash.exceptions import PreventUpdate

from components import ids
from components.layout import root_class

_YES, _NO = {"1", "true", "yes", "on", ""}, {"0", "false", "no", "off"}


def kiosk_requested(search: str | None, default: bool) -> bool:
    """Returns whether the query string asks for kiosk mode (``default`` when it does not say)."""
    values = parse_qs((search or "").lstrip("?"), keep_blank_values=True).get("kiosk")
    if not values:
        return default
    value = values[0].strip().lower()
    return True if value in _YES else False if value in _NO else default


def set_mode(search: str | None, current: dict | None, default: bool):
    """Returns (mode store, root class) for the URL, or raises PreventUpdate if unchanged."""
    kiosk = kiosk_requested(search, default)
    if current is not None and current.get("kiosk") == kiosk:
        raise PreventUpdate
    return {"kiosk": kiosk}, root_class(kiosk)


def register(app, context) -> None:
    @app.callback(Output(ids.MODE_STORE, "data"), Output(ids.ROOT, "className"),
                  Input(ids.URL, "search"), State(ids.MODE_STORE, "data"))
    def _set_mode(search, current):
        return set_mode(search, current, context.kiosk)
