"""Request limits: a request body larger than the limit is refused before it is read.

Flask's MAX_CONTENT_LENGTH only acts when a view reads the body, and for a body without a
length (chunked) it hands the view the first ``limit`` bytes as if they were all of it
(Dash then answers 400 to the truncated JSON). ``BodyLimit`` wraps the whole WSGI app
(basic auth included): a declared Content-Length over the limit is answered with 413 at
once, and a chunked body is read through a counter that raises 413 at the first byte past
the limit.
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


class CappedInput:
    """wsgi.input of a body without a length: reads through, and raises
    RequestEntityTooLarge (413) as soon as more than ``limit`` bytes have come."""

    def __init__(self, stream, limit: int):
        self.stream = stream
        self.limit = limit
        self.seen = 0

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            parts = []
            while part := self.read(64 * 1024):
                parts.append(part)
            return b"".join(parts)
        return self._count(self.stream.read(min(size, self.limit + 1 - self.seen)))

    def readline(self, size: int | None = -1) -> bytes:
        room = self.limit + 1 - self.seen
        return self._count(self.stream.readline(room if size is None or size < 0
                                                else min(size, room)))

    def __iter__(self):
        return iter(self.readline, b"")

    def _count(self, data: bytes) -> bytes:
        self.seen += len(data)
        if self.seen > self.limit:
            raise RequestEntityTooLarge()
        return data


class BodyLimit:
    """WSGI middleware: answers 413 (JSON, Connection: close) to a Content-Length over
    ``limit`` without reading the body, and 400 to a Content-Length that is not a number; a
    body without a length is read through CappedInput."""

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
        elif "wsgi.input" in environ:
            environ["wsgi.input"] = CappedInput(environ["wsgi.input"], self.limit)
        return self.app(environ, start_response)

    @staticmethod
    def _refuse(start_response, status: str, body: bytes):
        # Connection: close, because the unread body is still on the connection: the server
        # must not read it as the next request (werkzeug and gunicorn both honour this).
        start_response(status, [("Content-Type", "application/json"),
                                ("Content-Length", str(len(body))), ("Connection", "close")])
        return [body]


def install(server: flask.Flask, limit: int) -> None:
    """Bounds every request body of ``server`` to ``limit`` bytes, declared or chunked.

    MAX_CONTENT_LENGTH stays unset: its cap would hide the 413 of a chunked body.
    """
    server.wsgi_app = BodyLimit(server.wsgi_app, limit)

    @server.errorhandler(RequestEntityTooLarge)
    def _too_large(_exc):
        return flask.Response(too_large(limit), 413, mimetype="application/json",
                              headers={"Connection": "close"})
