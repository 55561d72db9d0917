"""The audit trail: /api/events (keyset pages) and /api/events.csv (streamed), docs/api.md.

Events come newest first: ts, then source position (file_id, start_offset), descending. A
page's ``next`` cursor is the last row's (ts, file_id, start_offset); the following page is
the rows strictly before it in that order, so pages never repeat or skip an event, however
many arrive meanwhile (new ones sort before the cursor). Every value is bound; the only SQL
composed here is the choice among the fixed conditions of _CONDITIONS.
"""
from __future__ import annotations

import base64
import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Iterator

import sqlalchemy as sa

import db
from ingestion import generations
from ingestion.counting import KINDS

from .exports import safe_cell
from .node_scope import node_filter
from .params import BadParameter, parse_nodes
from .queries import _connection
from .timefmt import day_bounds, logged_time, stored_time

LIMIT = 100
MAX_LIMIT = 1000
CSV_PAGE = 1000
COLUMNS = ("ts", "kind", "username", "action", "size_bytes", "failed", "remote_ip", "protocol",
           "file_path", "elapsed_ms", "method", "connection_id", "error")
_TS = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", re.ASCII)


@dataclass(frozen=True)
class Filters:
    """What /api/events selects. None: no filter; '' filters on the empty value."""
    start: date
    end: date
    user: str | None = None
    kinds: tuple | None = None
    ip: str | None = None
    protocol: str | None = None
    failed: int | None = None
    path: str | None = None
    nodes: tuple | None = None      # the events of these nodes' files (None: every node)
    span: object = None             # a window (span.Span) within start..end; None: whole days

    def bounds(self) -> dict:
        """Returns the bind parameters since/until: the first and last millisecond."""
        return self.span.bounds() if self.span is not None else day_bounds(self.start, self.end)


def parse_filters(args, today: date, default_start: date, now=None) -> Filters:
    """Returns the filters of query arguments ``args`` (a MultiDict); raises BadParameter.
    The range is span.parse's (start/end, days, hours); ``now``: the clock of hours=."""
    from . import span as spans
    asked = spans.parse(args, today, default_start, now)
    start, end = asked.start, asked.end
    kinds = None
    if "kind" in args:
        kinds = tuple(dict.fromkeys(args.getlist("kind")))
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise BadParameter(f"kind must be one of {', '.join(KINDS)}, not {unknown[0][:40]!r}")
    failed = args.get("failed")
    if failed is not None and failed not in ("0", "1"):
        raise BadParameter(f"failed must be 1 or 0, not {failed[:40]!r}")
    return Filters(start, end, user=args.get("user"), kinds=kinds, ip=args.get("ip"),
                   protocol=args.get("protocol"),
                   failed=int(failed) if failed is not None else None, path=args.get("path"),
                   nodes=parse_nodes(args), span=asked if asked.window else None)


def parse_limit(text: str | None) -> int:
    """Returns the page size in ``text`` (1..MAX_LIMIT, LIMIT when missing); raises BadParameter."""
    if text is None:
        return LIMIT
    if not (text.isascii() and text.isdigit() and len(text) <= 7) or not 1 <= int(text) <= MAX_LIMIT:
        raise BadParameter(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {text[:40]!r}")
    return int(text)


# --- the cursor: opaque to clients, checked strictly when it comes back -------------------

def encode_cursor(ts, file_id: int, start_offset: int) -> str:
    """Returns the cursor of a row: its position in the order, as URL-safe text."""
    raw = json.dumps([stored_time(ts), int(file_id), int(start_offset)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[str, int, int]:
    """Returns (ts, file_id, start_offset) of a cursor; raises BadParameter for anything else."""
    try:
        if not text.isascii() or len(text) > 200:
            raise ValueError
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        ts, file_id, offset = json.loads(raw)
        if not (type(ts) is str and _TS.fullmatch(ts) and type(file_id) is int
                and type(offset) is int and 0 <= file_id < 2**63 and 0 <= offset < 2**63):
            raise ValueError
    except (ValueError, TypeError, UnicodeDecodeError):
        raise BadParameter("before must be a cursor given as next by this API") from None
    return ts, file_id, offset


# --- reads --------------------------------------------------------------------------------

def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


TRANSFERS = ("upload", "download")


def _rare_path(f: Filters, dialect_name: str) -> tuple[str, list[str]]:
    """Returns the column a page is ordered by and the literal terms that let the database
    read a rare value through its own index: failed=1, or one kind other than a transfer.
    SQLite has partial indexes (migration 010), used when the query states their WHERE
    terms; MariaDB has none, so the rare rows' keys are in a side table, events_rare
    (migration 013: failed_ts, rare_kind and rare_ts, indexed; see _page_sql)."""
    rare_kind = f.kinds is not None and len(f.kinds) == 1 and f.kinds[0] not in TRANSFERS
    if dialect_name == "sqlite":
        terms = ["failed = 1"] if f.failed == 1 else []
        if rare_kind:
            terms.append("kind NOT IN ('upload', 'download')")
        return "ts", terms
    if f.failed == 1:
        return "failed_ts", []
    if rare_kind:
        return "rare_ts", ["rare_kind = :f_rare_kind"]
    return "ts", []


def _conditions(f: Filters, dialect_name: str, cursor,
                with_path: bool = True) -> tuple[str, dict, bool, str]:
    """Returns the AND-conditions, their parameters, whether :f_kinds is expanding, and the
    column the page is ordered by (ts, or a copy of it on the rows selected); without the
    path's condition when ``with_path`` is False."""
    order, sql = _rare_path(f, dialect_name)
    params = {}
    if "rare_kind = :f_rare_kind" in sql:
        params["f_rare_kind"] = f.kinds[0]
    if f.user is not None:
        sql.append("username = :f_user")
        params["f_user"] = f.user
    if f.kinds is not None:
        sql.append("kind IN :f_kinds")
        params["f_kinds"] = list(f.kinds)
    for column, value in (("remote_ip", f.ip), ("protocol", f.protocol)):
        if value == "":
            sql.append(f"({column} IS NULL OR {column} = '')")
        elif value is not None:
            sql.append(f"{column} = :f_{column}")
            params[f"f_{column}"] = value
    if f.failed is not None:
        sql.append("failed = :f_failed")
        params["f_failed"] = f.failed
    if f.path is not None and with_path:
        # LIKE with the wildcards escaped; SQLite's LIKE ignores ASCII case, so instr() makes
        # it case-sensitive there (MariaDB's binary collation already is)
        if dialect_name == "sqlite":
            sql.append("file_path LIKE :f_like ESCAPE '\\' AND instr(file_path, :f_path) > 0")
            params["f_path"] = f.path
        else:
            sql.append("file_path LIKE :f_like ESCAPE '\\\\'")
        params["f_like"] = "%" + _escape_like(f.path) + "%"
    if cursor is not None:
        sql.append(f"{order} <= :c_ts AND ({order} < :c_ts OR file_id < :c_file"
                   " OR (file_id = :c_file AND start_offset < :c_offset))")
        params.update(c_ts=cursor[0], c_file=cursor[1], c_offset=cursor[2])
    return "".join(f" AND {c}" for c in sql), params, f.kinds is not None, order


# Above this many files a node filter is the subquery form (slower on MariaDB, see fetch):
# SQLite takes at most 32,766 bound values a statement; 10 MB a file, 5,000 files is 50 GB.
# The default of the reads' ``max_bound_files``.
MAX_BOUND_FILES = 5_000


# events_rare's columns are its own (failed_ts, rare_kind, rare_ts) but for the key, so the
# page's other names (ts, the filters, file_id and start_offset) read as they do from events.
_RARE_FROM = "events_rare JOIN events USING (file_id, start_offset)"


def _page_sql(f: Filters, d: str, cursor, files, with_path: bool = True,
              floor: bool = False,
              max_bound_files: int = MAX_BOUND_FILES) -> tuple[str, dict, bool, str]:
    """Returns events_page.sql (its comment lines dropped) with the filters (and _FLOOR when
    ``floor``) and the node filter as ``files`` (None: every node; more than
    ``max_bound_files``: the subquery form), their parameters, whether :f_kinds is
    expanding, and the order column."""
    where, params, expanding, order = _conditions(f, d, cursor, with_path)
    if floor:
        where += _FLOOR.format(ts=order)
    text = "\n".join(line for line in db.load_sql("events_page", d).text.splitlines()
                     if not line.lstrip().startswith("--"))
    text = text.replace("/*filters*/", where).replace("{ts}", order)
    if order != "ts":       # MariaDB, a rare value: a range of events_rare, then each event
        if "\nFROM events\n" not in text:
            raise RuntimeError("events_page.sql must have FROM events on a line of its own")
        text = text.replace("\nFROM events\n", f"\nFROM {_RARE_FROM}\n")
    if files is not None and len(files) > max_bound_files:   # past SQLite's bind limit
        params["nodes"] = list(f.nodes)
        return node_filter(text, f.nodes), params, expanding, order
    if files is not None:
        text = text.replace("/*event_nodes*/", " AND file_id IN :node_files")
        params["node_files"] = files
    return node_filter(text, None), params, expanding, order


def _run(conn, f: Filters, sql: str, params: dict, expanding: bool, **more) -> list:
    query = sa.text(sql)
    if expanding:
        query = query.bindparams(sa.bindparam("f_kinds", expanding=True))
    if "node_files" in params:
        query = query.bindparams(sa.bindparam("node_files", expanding=True))
    if "nodes" in params:
        query = query.bindparams(sa.bindparam("nodes", expanding=True))
    return conn.execute(query, {**f.bounds(), **params, **more}).all()


def _files(conn, f: Filters) -> list[int] | None:
    """Returns the file ids of the node filter (None without one)."""
    return None if f.nodes is None else generations.node_files(conn, f.nodes)


def fetch(conn, f: Filters, limit: int, cursor=None,
          max_bound_files: int = MAX_BOUND_FILES) -> list:
    """Returns up to ``limit`` raw rows (COLUMNS + file_id, start_offset) before ``cursor``.

    A node filter is the nodes' file ids, read first and bound as a list: with
    ``file_id IN (SELECT ... FROM log_files ...)`` MariaDB plans a semi-join and reads the
    whole range (~140 ms a page on a year of three nodes) instead of walking ix_events_ts
    back from the newest row and stopping after ``limit`` (as with no filter). Past
    ``max_bound_files`` file ids it is the subquery all the same (SQLite's bind limit)."""
    files = _files(conn, f)
    if files == []:
        return []
    sql, params, expanding, _order = _page_sql(f, db.dialect(conn), cursor, files,
                                               max_bound_files=max_bound_files)
    return _run(conn, f, sql, params, expanding, limit=limit)


# A substring of file_path has no index: a rare one would read the whole range for a page.
# A page of a path search examines at most SCAN_ROWS rows (those of the other filters, in
# the page order) and returns the matches among them; when it finds fewer than a page, its
# ``next`` is the position of the last row it examined, a keyset position like any other,
# so the following page goes on from there (pages never repeat or skip an event), and a
# short or even empty page may carry a ``next``. ``next`` is null once the range is
# exhausted. The CSV is not bounded: it streams every match. The default of page()'s ``scan``.
SCAN_ROWS = 20_000
_SELECT = re.compile(r"SELECT .*?\nFROM ", re.S)   # the select list, whatever the FROM
# the rows at or after the edge (ts, file_id, start_offset) in the page order; its ts is
# also bound as :since, so the index range starts there
_FLOOR = (" AND ({ts} > :e_ts OR file_id > :e_file"
          " OR (file_id = :e_file AND start_offset >= :e_offset))")


def fetch_bounded(conn, f: Filters, limit: int, cursor, scan: int,
                  max_bound_files: int = MAX_BOUND_FILES) -> tuple[list, tuple | None]:
    """Returns (rows, resume) for a path search: up to ``limit`` matching rows among the
    first ``scan`` rows of the other filters before ``cursor``, and the (ts, file_id,
    start_offset) to go on from, None when those rows were the last of the range."""
    d = db.dialect(conn)
    files = _files(conn, f)
    if files == []:
        return [], None
    # the edge: the scan-th row of the other filters (one index range, keys only)
    sql, params, expanding, order = _page_sql(f, d, cursor, files, with_path=False,
                                              max_bound_files=max_bound_files)
    sql = _SELECT.sub(f"SELECT {order} AS ts, file_id, start_offset\nFROM ", sql,
                      count=1)
    edge = _run(conn, f, sql.replace("LIMIT :limit", "LIMIT 1 OFFSET :skip"), params,
                expanding, skip=scan - 1)
    sql, params, expanding, _order = _page_sql(f, d, cursor, files, floor=bool(edge),
                                               max_bound_files=max_bound_files)
    if edge:
        e_ts = stored_time(edge[0].ts)
        params.update(since=e_ts, e_ts=e_ts, e_file=edge[0].file_id,
                      e_offset=edge[0].start_offset)
    rows = _run(conn, f, sql, params, expanding, limit=limit)
    if len(rows) == limit:
        last = rows[-1]
        return rows, (stored_time(last.ts), last.file_id, last.start_offset)
    if not edge:
        return rows, None
    return rows, (e_ts, edge[0].file_id, edge[0].start_offset)


def event_of(row) -> dict:
    """Returns the JSON object of one raw row."""
    ev = dict(zip(COLUMNS, row[:len(COLUMNS)]))
    ev["ts"] = logged_time(ev["ts"])
    ev["failed"] = bool(ev["failed"])
    for k in ("size_bytes", "elapsed_ms"):
        if ev[k] is not None:
            ev[k] = int(ev[k])
    return ev


def page(conn_or_engine, f: Filters, limit: int = LIMIT, before: str | None = None,
         scan: int = SCAN_ROWS, max_bound_files: int = MAX_BOUND_FILES) -> dict:
    """Returns {"events": [...], "next": cursor or None}: the page before ``before``; a path
    search examines at most ``scan`` rows (SCAN_ROWS), a node filter binds at most
    ``max_bound_files`` file ids (MAX_BOUND_FILES)."""
    cursor = decode_cursor(before) if before is not None else None
    with _connection(conn_or_engine) as conn:
        if f.path is not None:          # bounded: see SCAN_ROWS
            rows, resume = fetch_bounded(conn, f, limit, cursor, scan, max_bound_files)
            nxt = encode_cursor(*resume) if resume is not None else None
        else:
            rows = fetch(conn, f, limit, cursor, max_bound_files)
            nxt = encode_cursor(rows[-1].ts, rows[-1].file_id, rows[-1].start_offset) \
                if len(rows) == limit else None
    return {"events": [event_of(r) for r in rows], "next": nxt}


def _csv_cell(value):
    """Returns a CSV cell: 1/0 for a flag, text a spreadsheet shows as typed (exports.safe_cell),
    numbers as numbers."""
    if isinstance(value, bool):
        return 1 if value else 0
    return safe_cell(value)


def csv_chunks(engine: sa.Engine, f: Filters, page_size: int = CSV_PAGE) -> Iterator[str]:
    """Yields the CSV of every matching event, a keyset page at a time (constant memory).

    Each page is read on a connection of its own, so no read transaction stays open while
    the client is slow to take the answer.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    cursor = None
    while True:
        with engine.connect() as conn:
            rows = fetch(conn, f, page_size, cursor)
        for row in rows:
            writer.writerow([_csv_cell(v) for v in event_of(row).values()])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        if len(rows) < page_size:
            return
        last = rows[-1]
        cursor = (stored_time(last.ts), last.file_id, last.start_offset)
