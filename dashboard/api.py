"""The JSON API, on the dashboard's own Flask server: /api/stats, /api/status, the
analysis views /api/security, /api/users/<name>, /api/events and /api/events.csv, and the
insight views /api/clients, /api/paths and /api/activity.

Shapes are docs/api.md's, figures docs/counting-rules.md's. Every answer is JSON, errors
included: a bad parameter is a 400 with {"error": ...}, an unreachable database a 503, and
anything else a 500 with a one-line message; never a stack trace.

The answers of /api/stats, /api/security and /api/users/<name> are kept per data version
(dashboard/answers.py), under the range as resolved at the request (so the last N hours and
today move on with the clock): many clients asking the same cost one read, one
serialisation and one compression.
"""
from __future__ import annotations

import json
import logging
from datetime import date

import orjson
import sqlalchemy as sa
from flask import Blueprint, Flask, Response, request, stream_with_context
from werkzeug.exceptions import HTTPException

from db import DatabaseBroken, error_reason

from ingestion.counting import KINDS

from . import (alerts, answers, audit, exports, geo, insight, params, queries, retention_notes,
               security, span, timeline, users, window, write_check)
from .context import DB_ERRORS, AppContext

log = logging.getLogger(__name__)

STATUS_KEYS = ("files_known", "files_active", "files_missing", "files_in_error", "bytes_read",
               "bytes_pending", "files_waiting", "bytes_lost", "lines_read", "lines_pending",
               "events_read",
               "malformed_lines", "newest_event", "last_ingest_at", "last_error", "last_error_at")


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def dumps(body) -> bytes:
    """Returns ``body`` as JSON bytes: orjson's (ten times json's speed), or json's for a
    body with an integer past 64 bits (exact sums can pass 2^64), which orjson refuses."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body).encode()


def stats_response(context: AppContext, args, today: date) -> Response:
    """Returns the /api/stats answer for the query arguments ``args``: the range as
    span.parse reads it (start/end, days with ago, hours), and ``bucket=`` (auto, a part of
    a day, day, week or month: timeline.parse) adds ``buckets`` beside the days."""
    try:
        asked = span.parse(args, today, context.default_start())
        users_limit = params.parse_users_limit(args.get("users_limit"))
        bucket = timeline.parse(args.get("bucket"), asked)
        nodes = params.parse_nodes(args)
    except params.BadParameter as exc:
        return failure(exc)

    question = ("stats", tuple(asked.store().items()), users_limit, bucket, nodes)

    def read(engine):
        body = window.stats_of(engine, asked, users_limit, nodes)
        body["previous"] = insight.previous(engine, asked, nodes)     # insight.md
        if bucket is None:            # days stay as the contract says; buckets come beside
            return body
        body["bucket"] = bucket
        if bucket in timeline.DAYS:
            body["buckets"] = timeline.day_buckets(body["days"], bucket)
            return body
        body["buckets"] = timeline.bucketed(timeline.read(engine, asked, bucket, nodes), asked,
                                            bucket, KINDS)
        # sub-day buckets are the raw events': past the retention they lack some
        return _with_retention(body, retention_notes.info(
            engine, context.settings.events_retention_days, asked.start, asked.end, today))
    return _read(context, read, question)


# What a read may fail with, each answered by failure(): never a trace.
READ_FAILURES = (params.BadParameter, users.UnknownUser, DatabaseBroken) + DB_ERRORS + \
    (sa.exc.DBAPIError, geo.GeoDataError)


def failure(exc: BaseException) -> Response:
    """Returns the JSON error answer for ``exc`` (one of READ_FAILURES): 400 for a bad
    parameter, 404 for an unknown user, 503 when the database cannot be used or reached,
    500 (logged) when it answered with an error."""
    if isinstance(exc, params.BadParameter):
        return _json({"error": str(exc)}, 400)
    if isinstance(exc, users.UnknownUser):
        return _json({"error": f"no user {exc.args[0]!r} has any upload, download, file "
                               "operation or login"}, 404)
    if isinstance(exc, DatabaseBroken):
        return _json({"error": f"database error: {exc}"}, 503)
    if isinstance(exc, geo.GeoDataError):
        return _json({"error": str(exc)}, 500)
    if isinstance(exc, DB_ERRORS):
        return _json({"error": f"database unreachable: {error_reason(exc)}"}, 503)
    log.error("API read failed. path=%s error=%s", request.path, error_reason(exc),
              exc_info=exc)
    return _json({"error": f"database error: {error_reason(exc)}"}, 500)


def _read(context: AppContext, read, question=None) -> Response:
    """Returns the JSON answer of ``read(engine)``, or failure()'s answer for what it raised;
    with a ``question``, the answer kept for it at the data version (computed once)."""
    try:
        engine = context.engine()
        if question is None:
            return _json(read(engine))
        kept = context.answers.get(
            answers.current_version(context), question,
            lambda: answers.Kept(200, "application/json", dumps(read(engine))),
            size=lambda k: k.size)
        return kept.response(request.headers.get("Accept-Encoding", ""))
    except READ_FAILURES as exc:
        return failure(exc)


def _range(context: AppContext, args, today: date) -> span.Span:
    return span.parse(args, today, context.default_start())


def security_response(context: AppContext, args, today: date) -> Response:
    """Returns the /api/security answer (with the countries of insight.md)."""
    try:
        asked = _range(context, args, today)
        limit = security.parse_limit(args.get("limit"))
        nodes = params.parse_nodes(args)
    except params.BadParameter as exc:
        return failure(exc)

    def read(engine):
        return insight.security_with_countries(engine, asked, limit, nodes,
                                               geo.locator(context.settings.geoip_db))
    return _read(context, read, ("security", tuple(asked.store().items()), limit, nodes))


def insight_response(context: AppContext, view: str, args, today: date) -> Response:
    """Returns the /api/clients, /api/paths or /api/activity answer (insight.md)."""
    def read(engine):
        asked = _range(context, args, today)
        nodes = params.parse_nodes(args)
        if view == "paths":
            return insight.paths(engine, asked, insight.parse_depth(args.get("depth")),
                                 args.get("user"), insight.parse_paths_limit(args.get("limit")),
                                 nodes)
        return (insight.clients if view == "clients" else insight.activity)(engine, asked,
                                                                            nodes=nodes)
    return _read(context, read)


def user_response(context: AppContext, name: str, args, today: date) -> Response:
    """Returns the /api/users/<name> answer (``name`` already percent-decoded)."""
    try:
        asked = _range(context, args, today)
        nodes = params.parse_nodes(args)
    except params.BadParameter as exc:
        return failure(exc)

    def read(engine):
        body = users.user(engine, name, asked.start, asked.end, nodes, asked)
        return _with_retention(body, retention_notes.user_info(
            engine, context.settings.events_retention_days, body, asked.start, asked.end,
            today))
    return _read(context, read, ("user", name, tuple(asked.store().items()), nodes))


def _with_retention(body: dict, field: dict | None) -> dict:
    """Adds the ``retention`` field (dashboard/retention_notes.py) when there is one."""
    if field is not None:
        body["retention"] = field
    return body


def events_response(context: AppContext, args, today: date) -> Response:
    """Returns one page of /api/events."""
    def read(engine):
        filters = audit.parse_filters(args, today, context.default_start())
        limit = audit.parse_limit(args.get("limit"))
        before = args.get("before")
        return _with_retention(audit.page(engine, filters, limit, before), retention_notes.info(
            engine, context.settings.events_retention_days, filters.start, filters.end, today))
    return _read(context, read)


def events_csv_response(context: AppContext, args, today: date) -> Response:
    """Returns /api/events.csv: every matching event, streamed a keyset page at a time."""
    try:
        filters = audit.parse_filters(args, today, context.default_start())
        engine = context.engine()
        kept = retention_notes.header(retention_notes.info(engine, context.settings.events_retention_days,
                                               filters.start, filters.end, today))
    except READ_FAILURES as exc:
        return failure(exc)

    def body():
        try:
            yield from audit.csv_chunks(engine, filters)
        except sa.exc.DBAPIError as exc:      # the status is sent: end the body early
            log.error("CSV export stopped. error=%s", error_reason(exc))
    headers = {"Content-Disposition": 'attachment; filename="events.csv"'}
    if kept is not None:
        headers["X-Retention"] = kept
    return Response(stream_with_context(body()), mimetype="text/csv", headers=headers)


def alerts_response(context: AppContext, args, today: date) -> Response:
    """Returns the /api/alerts answer (docs/alerts.md): newest first, on ``at``."""
    def read(engine):
        f = alerts.parse_filters(args, today, context.default_start())
        return alerts.listing(engine, context.settings, f)
    return _read(context, read)


def stale_after(context: AppContext) -> float:
    """Returns the seconds without a pass after which a node is stale: 3 refresh intervals."""
    return queries.STALE_INTERVALS * context.settings.interval_s


def status_body(st: dict | None, backend: str, state: str = "ok",
                error: str | None = None) -> dict:
    """Returns the /api/status body: ``state`` is 'ok', 'error' (it answers but cannot be
    used as it should: writes fail, corrupt, file deleted) or 'unreachable'; ``st`` is the
    queries.status() dict, None when it could not be read."""
    body = {"database": state, "database_reachable": st is not None, "backend": backend,
            "error": error}
    body.update(dict.fromkeys(STATUS_KEYS))
    if st is not None:
        body.update({k: st[k] for k in STATUS_KEYS if k in st})
        body["lines_pending"] = queries.lines_pending(st)
        body["last_ingest_at"] = st["last_pass_at"]
        body["nodes"] = st["nodes"]
        body["stale_nodes"] = st["stale_nodes"]
    else:
        body["nodes"], body["stale_nodes"] = None, None
    return body


def status_response(context: AppContext, args=None) -> Response:
    """Returns the /api/status answer: 200 when the database reads and writes, else 503.

    ``nodes`` lists each node (of the ``node=`` filter, if given) with its files, bytes
    pending and lost, last pass and error; a node with no pass for STALE_INTERVALS dashboard
    intervals is ``stale`` (and named in ``stale_nodes``)."""
    backend = context.settings.db_url.split(":", 1)[0].split("+", 1)[0]
    try:
        nodes = params.parse_nodes(args)
    except params.BadParameter as exc:
        return _json({"error": str(exc)}, 400)
    try:
        engine = context.engine()
        st = queries.status(engine, nodes, stale_after(context))
        kept = retention_notes.status(engine, context.settings.events_retention_days)
        problem = write_check.write_problem(engine)
    except DatabaseBroken as exc:
        return _json(status_body(None, backend, "error", str(exc)), 503)
    except DB_ERRORS as exc:
        return _json(status_body(None, backend, "unreachable",
                                 f"database unreachable: {error_reason(exc)}"), 503)
    except sa.exc.DBAPIError as exc:           # e.g. "database disk image is malformed"
        return _json(status_body(None, backend, "error",
                                 f"database error: {error_reason(exc)}"), 503)
    if problem:
        return _json({**status_body(st, backend, "error", f"writes fail: {problem}"),
                      "retention": kept}, 503)
    return _json({**status_body(st, backend), "retention": kept})


def register_api(server: Flask, context: AppContext) -> None:
    """Adds the /api routes to ``server``."""
    bp = Blueprint("api", __name__, url_prefix="/api")

    @bp.get("/stats")
    def stats():
        return stats_response(context, request.args, date.today())

    @bp.get("/status")
    def status():
        return status_response(context, request.args)

    @bp.get("/security")
    def security_view():
        return security_response(context, request.args, date.today())

    @bp.get("/clients")
    def clients_view():
        return insight_response(context, "clients", request.args, date.today())

    @bp.get("/paths")
    def paths_view():
        return insight_response(context, "paths", request.args, date.today())

    @bp.get("/activity")
    def activity_view():
        return insight_response(context, "activity", request.args, date.today())

    @bp.get("/users/<path:name>", merge_slashes=False, strict_slashes=False)
    def user_view(name):
        return user_response(context, name, request.args, date.today())

    @bp.get("/events")
    def events():
        return events_response(context, request.args, date.today())

    @bp.get("/events.csv")
    def events_csv():
        return exports.gate().stream(
            lambda: events_csv_response(context, request.args, date.today()))

    @bp.get("/alerts")
    def alerts_view():
        return alerts_response(context, request.args, date.today())

    @bp.route("/<path:_rest>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    def unknown(_rest):
        if request.method != "GET" and (
                _rest in ("stats", "status", "security", "events", "events.csv", "alerts",
                          "clients", "paths", "activity")
                or _rest.startswith("users/")):
            return _json({"error": f"{request.method} is not allowed here: use GET"}, 405)
        return _json({"error": f"no such endpoint: {request.path}"}, 404)

    @bp.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return _json({"error": exc.description or exc.name}, exc.code or 500)

    @bp.errorhandler(Exception)
    def internal_error(exc: Exception):
        log.error("API request failed. path=%s", request.path, exc_info=exc)
        return _json({"error": "internal error (details are in the server log)"}, 500)

    server.register_blueprint(bp)

