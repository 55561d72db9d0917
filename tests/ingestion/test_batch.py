"""batch.build: the lines of one batch -> typed rows with exact byte offsets. Pure, no I/O.

Every line becomes at most one row; a row covers its line and its newline; a run of blank
lines is one row with a count; a rotated file's unterminated fragment is flagged.
"""
from __future__ import annotations

from ingestion import parse
from ingestion.batch import EventRow, RejectRow, build, marker_before
from ingestion.reader import TooLong
from tests.support.ingest import event_line, noise_line

UP = event_line(1).rstrip(b"\n")
DOWN = event_line(2, sender="Download", user="bob").rstrip(b"\n")
NOISE = noise_line(3).rstrip(b"\n")


def test_rows_cover_their_lines_and_newlines():
    rows = build(7, 1000, [UP, NOISE, DOWN], None, partial=False)
    up, down = rows.events
    assert isinstance(up, EventRow) and isinstance(up, tuple)      # named, and still a tuple
    assert (up.file_id, up.start_offset, up.end_offset) == (7, 1000, 1000 + len(UP) + 1)
    assert down.start_offset == 1000 + len(UP) + 1 + len(NOISE) + 1
    assert rows.end == down.end_offset == 1000 + len(UP) + len(NOISE) + len(DOWN) + 3
    assert (up.kind, up.username, up.size_bytes, up.partial) == ("upload", "alice", 1000, 0)
    assert (down.kind, down.username) == ("download", "bob")
    assert rows.rejects == []                    # a line that is not an event leaves no row


def test_malformed_and_over_long_lines_are_kept_as_rejects():
    rows = build(1, 0, [b"not json", TooLong(b"xxx", 5000), b"[1,2]"], None, False)
    assert [(r.reason, r.start_offset, r.end_offset) for r in rows.rejects] == [
        (parse.NOT_JSON, 0, 9), (parse.TOO_LONG, 9, 5010), (parse.NOT_OBJECT, 5010, 5016)]
    assert all(isinstance(r, RejectRow) and r.line_count == 1 for r in rows.rejects)


def test_a_run_of_blank_lines_is_one_row_with_its_count():
    rows = build(1, 0, [UP] + [b""] * 10_000 + [DOWN], None, False)
    (blank,) = rows.rejects
    start = len(UP) + 1
    assert (blank.reason, blank.start_offset, blank.end_offset, blank.line_count) == (
        parse.EMPTY, start, start + 10_000, 10_000)
    assert rows.events[1].start_offset == start + 10_000


def test_a_torn_fragment_is_flagged_partial_and_ends_without_newline():
    rows = build(1, 0, [UP, DOWN], None, partial=True)
    last = rows.events[-1]
    assert last.partial == 1 and last.end_offset == len(UP) + 1 + len(DOWN) == rows.end
    torn = build(1, 0, [UP, b'{"trunc'], None, partial=True)
    assert torn.rejects[-1].reason == parse.TORN_TAIL and torn.end == len(UP) + 1 + 7


def test_a_blank_torn_fragment_keeps_its_own_row():
    rows = build(1, 0, [b"", b"", b""], None, partial=True)
    assert [(r.start_offset, r.end_offset, r.reason, r.line_count) for r in rows.rejects] == [
        (0, 2, parse.EMPTY, 2), (2, 2, parse.TORN_TAIL, 1)]


def test_a_time_after_the_latest_believable_is_bad_time():
    rows = build(1, 0, [UP], "2024-09-17 00:00:00.000", False)
    assert rows.events == [] and rows.rejects[0].reason == parse.BAD_TIME


def test_the_marker_comes_from_the_lines_just_read():
    lines = [b"a" * 10, b"b" * 100]
    assert marker_before(lines, 1000, False, 64) == (b"b" * 100 + b"\n")[-64:]
    assert marker_before([b"ab"], 3, False, 64) == b"ab\n"          # the file's first bytes
    assert marker_before([b"ab"], 1000, False, 64) is None          # too short: read the file
    assert marker_before([b"x" * 80], 80, True, 64) == b"x" * 64    # no newline after a fragment


def test_runs_merge_only_contiguous_lines_of_one_run_reason():
    lines = [b"", b"", b"", b"abcde", b"", b"\0", b"\0", b"x", b"x"]
    rows = build(1, 0, lines, None, False)
    assert [(r.start_offset, r.end_offset, r.reason, r.line_count) for r in rows.rejects] == [
        (0, 3, parse.EMPTY, 3), (3, 9, parse.NOT_JSON, 1), (9, 10, parse.EMPTY, 1),
        (10, 14, parse.NUL_RUN, 2), (14, 16, parse.NOT_JSON, 1), (16, 18, parse.NOT_JSON, 1)]
    assert sum(r.line_count for r in rows.rejects) == len(lines)


def test_a_million_blank_lines_cost_one_row():
    rows = build(7, 0, [b""] * 1_000_000, None, False)
    assert rows.rejects == [RejectRow(7, 0, 1_000_000, parse.EMPTY, b"", 1_000_000)]
