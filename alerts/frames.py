"""Reading events into frames: the SQL that reads a source's events packed (each column's
values joined in one text by the database, split back in Python), a step's new events as
chunks (one per file) grouped by time, and the frame of each group and source: its new events
and the judged events around them, as numpy arrays by column (alerts/evaluate.py says what is
read and why; alerts/kinds.py counts the frames).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import db

from . import records

# What a rule reads: its source's kinds, in the SQL of each dialect. SQLite reads the rare
# kinds through the partial index of migration 010 (its WHERE terms written out, so the
# planner takes it) and the transfers through ix_events_ts; MySQL/MariaDB the rare kinds
# through events_rare (013).
SOURCES = {"failures": ("login_failed",), "logins": ("login",),
           "transfers": ("upload", "download")}
_KIND = {
    "sqlite": {"failures": "e.kind = 'login_failed' AND e.kind NOT IN ('upload', 'download')",
               "logins": "e.kind = 'login' AND e.kind NOT IN ('upload', 'download')",
               "transfers": "e.kind IN ('upload', 'download')"},
    "mysql": {"failures": "r.rare_kind = 'login_failed'", "logins": "r.rare_kind = 'login'",
              "transfers": "e.kind IN ('upload', 'download')"},
}
_FROM = {"sqlite": {s: "FROM events e" for s in SOURCES},
         "mysql": {"failures": "FROM events_rare r JOIN events e ON e.file_id = r.file_id"
                               " AND e.start_offset = r.start_offset",
                   "logins": "FROM events_rare r JOIN events e ON e.file_id = r.file_id"
                             " AND e.start_offset = r.start_offset",
                   "transfers": "FROM events e"}}
_TS = {"sqlite": {s: "e.ts" for s in SOURCES},
       "mysql": {"failures": "r.rare_ts", "logins": "r.rare_ts", "transfers": "e.ts"}}
# the columns a source's frame holds (only those its rules read are selected)
COLUMNS = {"ts": "e.ts", "ip": "e.remote_ip", "user": "e.username", "kind": "e.kind",
           "size": "e.size_bytes", "failed": "e.failed"}


SEP = "\x1f"           # between the values of a column's concatenation (the unit separator)
_EMPTY = {"ts": None, "ip": "''", "user": "''", "kind": "''", "size": "0", "failed": "0"}


def _select(d: str, cols: tuple, packed: bool) -> str:
    """The SELECT list: the columns, or (``packed``) each column's values joined by SEP in
    one text and the row count: one row instead of thousands (the database joins them in
    C; Python splits them in C)."""
    if not packed:
        return ", ".join(COLUMNS[c] for c in cols)
    out = []
    for c in cols:
        col = COLUMNS[c] if _EMPTY[c] is None else f"COALESCE({COLUMNS[c]}, {_EMPTY[c]})"
        out.append(f"group_concat({col}, '{SEP}')" if d == "sqlite" else
                   f"GROUP_CONCAT({col} SEPARATOR '{SEP}')")
    return ", ".join(out) + ", COUNT(*)"


def chunk_sql(d: str, source: str, cols: tuple) -> str:
    """One read of a chunk's events of one source (its file's primary-key range, in order,
    no index lookup per row): their first and last time, their count, and each column
    packed (values joined by SEP). Bound: file, first and end offset."""
    p = "?" if d == "sqlite" else "%s"
    kinds = ", ".join(f"'{k}'" for k in SOURCES[source])
    return (f"SELECT MIN(e.ts), MAX(e.ts), {_select(d, cols, True)} FROM events e"
            f" WHERE e.file_id = {p} AND e.start_offset >= {p} AND e.start_offset < {p}"
            f" AND e.kind IN ({kinds})")


def _unpack(texts, n: int) -> list | None:
    """Returns each packed column's values (None when a value held the separator)."""
    out = []
    for text in texts:
        if n == 0:
            out.append([])
            continue
        if isinstance(text, bytes):
            text = text.decode("utf-8", "surrogateescape")
        values = str(text).split(SEP)
        if len(values) != n:
            return None
        out.append(values)
    return out


def own_sql(d: str, source: str, cols: tuple, packed: bool = True) -> str:
    """The new events of a chunk: its file's primary-key range, read in order (no index
    lookup per row). Bound: file, first and end offset."""
    p = "?" if d == "sqlite" else "%s"
    kinds = ", ".join(f"'{k}'" for k in SOURCES[source])
    return (f"SELECT {_select(d, cols, packed)} FROM events e WHERE e.file_id = {p}"
            f" AND e.start_offset >= {p} AND e.start_offset < {p} AND e.kind IN ({kinds})")


def judged_sql(d: str, source: str, cols: tuple, packed: bool = True) -> str:
    """Another file's judged events in a time span (bound: first and last time, the file,
    the end of its judged part), through the source's time index."""
    p = "?" if d == "sqlite" else "%s"
    ts = _TS[d][source]
    return (f"SELECT {_select(d, cols, packed)} {_FROM[d][source]}"
            f" WHERE {_KIND[d][source]} AND {ts} >= {p} AND {ts} <= {p}"
            f" AND e.file_id = {p} AND e.start_offset < {p}")


def rare_sql(d: str, cols: tuple, kinds: list) -> str:
    """One read of a chunk's events of the rare kinds besides the failures (logins, bans), a
    row per kind: its kind, first and last time, the columns ``cols`` packed and the count.
    Bound: file, first and end offset."""
    p = "?" if d == "sqlite" else "%s"
    kinds_in = ", ".join(f"'{k}'" for k in kinds)
    return (f"SELECT e.kind, MIN(e.ts), MAX(e.ts), {_select(d, cols, True)} FROM events e"
            f" WHERE e.file_id = {p} AND e.start_offset >= {p} AND e.start_offset < {p}"
            f" AND e.kind IN ({kinds_in}) GROUP BY e.kind")


def chunk_parts(conn, d: str, src: str, cs: tuple, packed, n: int, params: tuple) -> list:
    """Returns a chunk's events of ``src`` (columns ``cs``) as values per column: unpacked,
    or (a value held the separator) read as rows. Bound: file, first and end offset."""
    parts = _unpack(packed, n)
    if parts is None:
        rows = fetch_rows(conn, own_sql(d, src, cs, packed=False), params)
        parts = [list(c) for c in zip(*rows)] if rows else [[] for _c in cs]
    return parts


@dataclass
class Chunk:
    """One file's new events of a step: offsets [lo, hi), times [first, last] (ms)."""
    file_id: int
    lo: int
    hi: int
    first: int
    last: int
    count: int = 0
    parts: dict = field(default_factory=dict)   # source -> values per column (own events)


class Group:
    """Chunks whose times overlap or nearly (a file's new events, and another's of the same
    hours): judged together, their span read once per kind and rule."""

    def __init__(self, chunks: list[Chunk]):
        self.chunks = chunks
        self.first = min(c.first for c in chunks)
        self.last = max(c.last for c in chunks)
        self._ranges = {}
        for c in chunks:
            self._ranges.setdefault(c.file_id, []).append((c.lo, c.hi))

        if len(chunks) == 1:                   # the usual case: one file's new lines
            c = chunks[0]
            fid, lo, hi = c.file_id, c.lo, c.hi
            self.is_new = lambda file_id, offset: file_id == fid and lo <= offset < hi

    def is_new(self, file_id: int, offset: int) -> bool:
        ranges = self._ranges.get(file_id)
        return ranges is not None and any(lo <= offset < hi for lo, hi in ranges)


def group_chunks(chunks: list[Chunk], gap: int) -> list[Group]:
    out: list[list[Chunk]] = []
    for c in sorted(chunks, key=lambda c: c.first):
        if out and c.first - max(x.last for x in out[-1]) <= gap:
            out[-1].append(c)
        else:
            out.append([c])
    return [Group(g) for g in out]


def fetch_rows(conn, sql: str, params) -> list:
    """Returns the rows of ``sql`` as plain tuples, through the DBAPI cursor of the step's
    transaction, in one go."""
    return conn.exec_driver_sql(sql, tuple(params)).cursor.fetchall()


class Frame:
    """The events of a group's span from one source, as numpy arrays by column: ms (int64),
    ip and user (Python strings), size and failed (int64), kind."""

    def __init__(self, parts: list, cols: tuple):
        columns: list[list] = [[] for _c in cols]
        for part in parts:             # each part: a list of values per column
            for acc, values in zip(columns, part):
                acc += values
        self.n = len(columns[0]) if cols else 0
        for name, values in zip(cols, columns):
            if name == "ts":          # 'YYYY-MM-DD HH:MM:SS.mmm' text or datetimes
                self.ms = np.array([str(v) for v in values] if values and not isinstance(
                    values[0], str) else values, dtype="datetime64[ms]").astype(np.int64) \
                    if values else np.zeros(0, np.int64)
            elif name in ("size", "failed"):
                setattr(self, name, np.array([int(v or 0) for v in values], dtype=np.int64))
            else:
                setattr(self, name, np.array([v or "" for v in values], dtype=object))


def _part(conn, d: str, packed_sql: str, rows_sql: str, params: tuple, ncols: int) -> list:
    """Returns one query's events as a list of values per column: from the packed row when
    its values split back into as many as it counted (no value held the separator), else
    from the rows themselves."""
    row = conn.exec_driver_sql(packed_sql, params).cursor.fetchone()
    n = int(row[-1] or 0)
    if n == 0:
        return [[] for _i in range(ncols)]
    out = []
    for text in row[:-1]:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "surrogateescape")
        values = str(text).split(SEP)
        if len(values) != n:          # a value held the separator: read the rows instead
            rows = fetch_rows(conn, rows_sql, params)
            return [list(c) for c in zip(*rows)] if rows else [[] for _i in range(ncols)]
        out.append(values)
    return out


class Frames:
    """The frames of one step, each read once per group and source, over the widest span
    its rules need. A source's events are the group's new ones (read with the chunks) and
    the judged events of the files whose judged times meet the span (a generation before,
    another node's files), each read only over the times they meet. Events of other files
    not judged yet are left to those files' own steps, which will count these (judged by
    then) beside theirs."""

    def __init__(self, conn, cols: dict, widest: dict):
        self.conn = conn
        self.d = db.dialect(conn)
        self.cols, self.widest = cols, widest
        self._cache: dict = {}

    def get(self, source: str, group: Group) -> Frame:
        key = (source, id(group))
        f = self._cache.get(key)
        if f is None:
            f = self._cache[key] = self._read(source, group)
        return f

    def _read(self, source: str, group: Group) -> Frame:
        w = self.widest[source]
        cols = self.cols[source]
        lo, hi = group.first - w, group.last + w
        parts = [c.parts[source] for c in group.chunks]
        d, n = self.d, len(cols)
        judged = judged_sql(d, source, cols)
        judged_rows = judged_sql(d, source, cols, packed=False)
        for file_id, end, first, last in records.judged_files(self.conn, lo, hi):
            parts.append(_part(self.conn, d, judged, judged_rows,
                               (records.from_ms(max(lo, first)), records.from_ms(min(hi, last)),
                                file_id, end), n))
        return Frame(parts, cols)
