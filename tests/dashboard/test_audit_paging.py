"""The audit page over bounded path= pages: a page may be short, or empty with a `next`
(dashboard/audit.py SCAN_ROWS, lowered here through show()'s ``scan``); walking Older shows
every match once, numbered in order, and an empty page says there is more to search rather
than "No events match"."""
from __future__ import annotations

from callbacks import audit as audit_page
from components import ids
from dashboard.context import AppContext
from settings import Settings
from tests.support.ingest import LogWriter, event_line, run_all

ARGS = [("start", "2024-09-18"), ("end", "2024-09-18"), ("path", "/f1")]


def _show(context, trigger, paging):
    """The page's outputs with a few rows examined a page (60) and pages of 25 events."""
    return audit_page.show(context, ARGS, trigger, paging, page_size=25, scan=60)


def _walk(context):
    """Shows the first page, then presses Older until it is disabled; returns the shown pages."""
    shown = [_show(context, None, None)]
    while not shown[-1]["older_disabled"]:
        shown.append(_show(context, ids.AUDIT_OLDER, shown[-1]["paging"]))
    return shown


def test_short_and_empty_path_pages_number_and_say_what_they_found(engine, db_url, tmp_path):
    w = LogWriter(tmp_path / "logs")
    # 400 transfers; the paths /f1, /f1x (f10..f19, f100..f199) match "/f1": 111 of them,
    # bunched at the start of the file, so the newest pages examine only non-matching rows.
    w.write(*[event_line(i, user="alice") for i in range(400)])
    run_all(engine, w.dir)
    context = AppContext(Settings(db_url=db_url, log_dir=str(w.dir)))
    pages = _walk(context)
    counts = [p["paging"]["shown"] for p in pages]
    assert sum(counts) == 111 and 0 in counts and any(0 < c < 25 for c in counts)
    first = 1
    for p, n in zip(pages, counts):
        if n:
            assert p["info"] == f"events {first:,}–{first + n - 1:,}"
        else:
            assert p["info"] == ("none yet, more to search" if not p["older_disabled"]
                                 else "no events")
        first += n
    empty = next(p for p in pages if p["paging"]["shown"] == 0 and not p["older_disabled"])
    assert "press Older" in str(empty["table"])
    back = _show(context, ids.AUDIT_NEWER, pages[-1]["paging"])       # Newer
    assert back["info"] == pages[-2]["info"]
