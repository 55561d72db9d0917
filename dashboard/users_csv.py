"""/api/users.csv?start=&end=[&node=...]: the per-user table of the range as CSV, streamed.

Every user of the range (the busiest first, as the table and /api/stats order them), one row
each, with the columns of the stats' user objects. A username is attacker-controlled text: a
cell that a spreadsheet would read as a formula (one starting with =, +, -, @, a tab or a
carriage return) is written with a leading apostrophe, so it shows as typed and never runs
(exports.safe_cell). It counts among the exports streamed at once (DASHBOARD_MAX_EXPORTS).
"""
from __future__ import annotations

import csv
import io
from datetime import date
from typing import Iterator

from flask import Flask, Response, request, stream_with_context

from . import api, exports, params, span, window
from .context import AppContext
from .exports import safe_cell

COLUMNS = ("username", "uploads", "downloads", "transfers", "failed_transfers",
           "bytes_uploaded", "bytes_downloaded", "avg_bytes_per_transfer", "file_ops", "logins")
ROWS_PER_CHUNK = 500


def csv_chunks(users: list[dict]) -> Iterator[str]:
    """Yields the CSV of ``users`` (header first), ROWS_PER_CHUNK rows at a time."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for i, user in enumerate(users, 1):
        writer.writerow([safe_cell(user[c]) for c in COLUMNS])
        if i % ROWS_PER_CHUNK == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def users_csv_response(context: AppContext, args, today: date) -> Response:
    """Returns the CSV answer for the query arguments ``args`` (400/503/500 JSON on error)."""
    try:
        asked = span.parse(args, today, context.default_start())
        start, end = asked.start, asked.end
        users = window.users_of(context.engine(), asked, params.MAX_USERS_LIMIT,
                                params.parse_nodes(args))
    except api.READ_FAILURES as exc:
        return api.failure(exc)
    name = f"users-{start.isoformat()}-{end.isoformat()}.csv"
    return Response(stream_with_context(csv_chunks(users)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def register(server: Flask, context: AppContext) -> None:
    """Adds GET /api/users.csv to ``server``."""
    @server.get("/api/users.csv")
    def users_csv():
        return exports.gate().stream(
            lambda: users_csv_response(context, request.args, date.today()))
