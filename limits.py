"""Request limits: a request body larger than the limit is refused before it is read.

Flask's MAX_CONTENT_LENGTH only acts when a view reads the body, and a view that never
reads it leaves the body on the connection. ``BodyLimit`` wraps the whole WSGI app (basic
auth included), so a declared Content-Length over the limit is answered with 413 at once,
and a body without a length (chunked) is cut at the limit by MAX_CONTENT_LENGTH, which
``install`` sets too.
"""
from __future__ import annotations

import json
import re

import flask
from werkzeug.exceptions import RequestEntityTooLarge

_LENGTH = re.compile(r"[0-9]{1,19}")


def too_large(limit: int) -> bytes:
    """Returns the JSON body of a 413 answer."""
    return json.dumps({"error": f"request body larger than {limit} bytes"}).encode()


class BodyLimit:
    """WSGI middleware: answers 413 (JSON, Connection: close) to a Content-Length over
    ``limit`` without reading the body, and 400 to a Content-Length that is not a number."""

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    def __call__(self, environ, start_response):
        declared = environ.get("CONTENT_LENGTH") or ""
        if declared:
            if not _LENGTH.fullmatch(declared):
                return self._refuse(start_response, "400 Bad Request",
                                    json.dumps({"error": "Content-Length is not a number"}).encode())
            if int(declared) > self.limit:
                return self._refuse(start_response, "413 Request Entity Too Large",
                                    too_large(self.limit))
        return self.app(environ, start_response)

    @staticmethod
    def _refuse(start_response, status: str, body: bytes):
        # Connection: close, because the unread body is still on the connection: the server
        # must not read it as the next request (werkzeug and gunicorn both honour this).
        start_response(status, [("Content-Type", "application/json"),
                                ("Content-Length", str(len(body))), ("Connection", "close")])
        return [body]


def install(server: flask.Flask, limit: int) -> None:
    """Bounds every request body of ``server`` to ``limit`` bytes, declared or chunked."""
    server.config["MAX_CONTENT_LENGTH"] = limit      # a chunked body: cut while it is read
    server.wsgi_app = BodyLimit(server.wsgi_app, limit)

    @server.errorhandler(RequestEntityTooLarge)
    def _too_large(_exc):
        return flask.Response(too_large(limit), 413, mimetype="application/json",
                              headers={"Connection": "close"})
