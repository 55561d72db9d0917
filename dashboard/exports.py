"""What the CSV exports (/api/events.csv, /api/users.csv) share: cells a spreadsheet never
runs, and a bound on how many are streamed at once.

A cell that a spreadsheet would read as a formula (one starting with =, +, -, @, a tab or a
carriage return) is written with a leading apostrophe, so it shows as typed and never runs:
usernames, paths and errors come from the log, and a failed login needs no account.

An export holds a server thread for as long as its client takes the answer (minutes for a
year of events). At most DASHBOARD_MAX_EXPORTS of them stream at once in a process; one more
is answered 429 with Retry-After and a JSON reason at once, so the other threads stay free
for the pages and the API.
"""
from __future__ import annotations

import json
import threading
from typing import Iterable, Iterator

from flask import Flask, Response, current_app

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
RETRY_AFTER_S = 30


def safe_cell(value) -> str | int | float:
    """Returns ``value`` as a CSV cell that no spreadsheet evaluates ('' for None). Numbers
    stay numbers (a negative one included): only text is ever prefixed."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class ExportGate:
    """At most ``limit`` exports streaming at once; the slot is held until the body is done
    (sent, failed, or abandoned by the client)."""

    def __init__(self, limit: int):
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit)

    def stream(self, make_response) -> Response:
        """Returns ``make_response()`` with its body holding a slot until it closes, or the
        429 answer when every slot is taken. ``make_response`` may answer an error itself
        (400/503 JSON): its slot is then freed at once."""
        if not self._slots.acquire(blocking=False):
            return busy(self.limit)
        try:
            response = make_response()
        except BaseException:
            self._slots.release()
            raise
        if not response.is_streamed:
            self._slots.release()
            return response
        response.response = _Held(response.response, self._slots.release)
        return response


class _Held:
    """A response body that calls ``release`` once: after its last chunk, or when the server
    closes it (the client went away, or it failed)."""

    def __init__(self, body: Iterable, release):
        self._body = body
        self._release = release
        self._lock = threading.Lock()
        self._done = False

    def __iter__(self) -> Iterator:
        yield from self._body
        self._release_once()

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._release_once()

    def _release_once(self) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
        self._release()


def install(server: Flask, limit: int) -> ExportGate:
    """Gives ``server`` its gate of ``limit`` exports at once (found by gate())."""
    server.extensions["sftpgo_exports"] = ExportGate(limit)
    return server.extensions["sftpgo_exports"]


def gate() -> ExportGate:
    """Returns the gate of the app handling the request."""
    return current_app.extensions["sftpgo_exports"]


def busy(limit: int) -> Response:
    """Returns the 429 answer when ``limit`` exports are already streaming."""
    body = {"error": f"{limit} CSV export{'s are' if limit != 1 else ' is'} already being "
                     f"downloaded from this server; try again in {RETRY_AFTER_S} seconds"}
    return Response(json.dumps(body), status=429, mimetype="application/json",
                    headers={"Retry-After": str(RETRY_AFTER_S)})
