"""Lines -> rows: one batch's events and kept lines, with their byte offsets. Pure: no I/O.

A batch is the complete lines read from one file generation starting at a byte offset. Each
line becomes at most one row: an EventRow (the counting rules, parse.classify) or a RejectRow
(a malformed line, or an event-shaped object with an unusable value), or nothing (a line that
is not an event). Offsets are exact: a row covers its line and its newline.
"""
from __future__ import annotations

from typing import NamedTuple

from . import parse, reader

class EventRow(NamedTuple):
    """One row of ``events``: its fields are the table's columns, in order (store.EVENT_COLUMNS
    is this tuple's _fields; parse.classify's tuples hold them from ts on)."""
    file_id: int
    start_offset: int
    end_offset: int
    ts: str
    day: str
    kind: str
    username: str
    size_bytes: int | None
    failed: int
    action: str
    remote_ip: str | None
    protocol: str | None
    file_path: str | None
    elapsed_ms: int | None
    connection_id: str | None
    method: str | None
    error: str | None
    client: str | None
    encrypted: int | None
    partial: int


class RejectRow(NamedTuple):
    """One row of ``malformed_lines``: a kept line, or a run of identical-reason lines."""
    file_id: int
    start_offset: int
    end_offset: int
    reason: str
    sample: bytes
    line_count: int = 1


class Batch(NamedTuple):
    """What one transaction stores: the rows, and the checkpoint move they account for."""
    file_id: int
    old_offset: int            # where the checkpoint must still be
    new_offset: int            # where it moves to
    marker: bytes              # the content just before new_offset
    events: list               # EventRow
    rejects: list              # RejectRow
    lines: int                 # physical lines consumed


class Rows(NamedTuple):
    events: list
    rejects: list
    end: int                   # the offset just after the last line


_new = tuple.__new__           # a NamedTuple without its __new__'s argument handling: ~0.1 µs


def build(file_id: int, start: int, lines: list, max_ts: str | None, partial: bool) -> Rows:
    """Returns the rows of ``lines`` read from byte ``start`` of generation ``file_id``.

    ``lines`` are bytes without their newline, or reader.TooLong. With ``partial`` the last
    one is a rotated file's final fragment (no newline): its row ends one byte earlier and is
    flagged (an event's ``partial``, a reject's ``torn_tail``). ``max_ts`` is the latest
    believable time (parse.max_ts_for); None accepts any.
    """
    rejects: list = []

    def reject(row: tuple) -> None:
        _add_reject(rejects, _new(RejectRow, (*row, 1)))
    # parse.classify_lines: the whole batch in one call, the usual transfer line inline
    events, pos = parse.classify_lines(lines, start, file_id, max_ts, reject, reader.SAMPLE_BYTES)
    events = [_new(EventRow, e) for e in events]
    if partial:
        pos -= 1                           # the fragment has no newline
        last_start = pos - _length(lines[-1])
        _split_run_at(rejects, last_start)
        _flag_partial(events, rejects, last_start)
    return Rows(events, rejects, pos)


def marker_before(lines: list, pos: int, partial: bool, size: int = reader.MARKER_BYTES):
    """Returns the ``size`` bytes of content before ``pos`` from the lines just read.

    None when those lines are too short to hold them (the caller reads them from the file).
    """
    parts, got = [], 0
    for i in range(len(lines) - 1, -1, -1):
        x = lines[i]
        if type(x) is not bytes:
            return None
        piece = x if partial and i == len(lines) - 1 else x + b"\n"
        parts.append(piece)
        got += len(piece)
        if got >= size or got >= pos:
            return b"".join(reversed(parts))[-min(size, pos):]
    return None


RUN_REASONS = frozenset({parse.EMPTY, parse.NUL_RUN})


def _add_reject(rejects: list, row: RejectRow) -> None:
    """Appends a reject row, or extends the run of blank (or NUL) lines it continues.

    A run is one row (first offset, last end, the first line's sample, a line count), so a
    file of millions of blank lines costs one row and constant memory, not a row per line.
    """
    if row[3] in RUN_REASONS and rejects:
        last = rejects[-1]
        if last[3] == row[3] and last[2] == row[1]:
            rejects[-1] = _new(RejectRow, (last[0], last[1], row[2], last[3], last[4],
                                           last[5] + row[5]))
            return
    rejects.append(row)


def _split_run_at(rejects: list, start: int) -> None:
    """Makes the line at ``start`` a row of its own if the last reject's run holds it."""
    if rejects:
        last = rejects[-1]
        if last[5] > 1 and last[1] < start < last[2]:
            rejects[-1] = _new(RejectRow, (last[0], last[1], start, last[3], last[4], last[5] - 1))
            rejects.append(_new(RejectRow, (last[0], start, last[2], last[3], last[4], 1)))


def _length(line) -> int:
    """Returns the byte length of a line read (bytes, or a TooLong standing for one)."""
    return len(line) if type(line) is bytes else line.length


def _flag_partial(events: list, rejects: list, start: int) -> None:
    """Marks the row of a rotated file's final fragment (no newline): partial, or torn_tail."""
    if events and events[-1].start_offset == start:
        e = events[-1]
        events[-1] = e._replace(end_offset=e.end_offset - 1, partial=1)
    elif rejects and rejects[-1][1] == start:
        r = rejects[-1]
        rejects[-1] = _new(RejectRow, (r[0], r[1], r[2] - 1, parse.TORN_TAIL, r[4], 1))
