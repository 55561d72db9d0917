"""components: the pure builders of the freshness line, headline, table and banner."""
from __future__ import annotations

from datetime import datetime

import dash_bootstrap_components as dbc
import pytest
from dash import html

from components.banner import db_banner_text, ingest_warning_text
from components.freshness import BACKFILL_BYTES, eta_text, freshness, stale_age
from components.headline import headline_values
from components.users_table import users_table
from tests.support.dashboard import flatten

STATUS = {"files_known": 2, "files_active": 1, "files_missing": 1, "files_in_error": 0,
          "bytes_read": 3_000_000, "bytes_pending": 0, "bytes_lost": 0, "lines_read": 10_000,
          "events_read": 4000, "malformed_lines": 0, "last_pass_at": "2024-09-18T12:00:01.5",
          "last_error": None, "last_error_at": None, "newest_event": "2024-09-18 11:59:58.125"}


def find_all(node, kind):
    if isinstance(node, kind):
        yield node
    children = node if isinstance(node, (list, tuple)) else getattr(node, "children", None)
    if isinstance(children, (list, tuple)):
        for child in children:
            yield from find_all(child, kind)
    elif children is not None and not isinstance(children, str):
        yield from find_all(children, kind)


def test_freshness_when_everything_is_read():
    text = flatten(freshness(STATUS, None))      # the " · " separators come from the CSS
    assert text == "Newest event 2024-09-18 11:59:58all lines readlast read 2024-09-18 12:00:01"
    assert not list(find_all(freshness(STATUS, None), dbc.Progress))


def test_freshness_during_a_backfill_shows_percent_and_estimate():
    st = {**STATUS, "bytes_read": 1_000_000, "bytes_pending": 3_000_000, "malformed_lines": 7,
          "bytes_lost": 2_000, "last_error": "gzip still being written",
          "last_error_at": "2024-09-18T12:00:01.5"}
    out = freshness(st, rate=25_000.0)
    text = flatten(out)
    assert "≈ 30,000 lines waiting (3.00 MB)" in text      # 300 bytes a line so far
    assert "Backfill: 25.0 % read, about 2 min left" in text
    assert "7 malformed lines" in text and "2.00 KB lost to rotation" in text
    assert "last error: gzip still being written" in text
    bar, = find_all(out, dbc.Progress)
    assert bar.value == 25.0 and bar.label == "25 %"
    assert "estimating…" in flatten(freshness(st, rate=None))
    older = {**st, "last_error_at": "2024-09-18T11:00:00"}   # a clean pass came after it
    assert "last error" not in flatten(freshness(older, rate=None))


def test_an_unfinished_last_line_is_not_work_waiting():
    one = {**STATUS, "bytes_pending": 125}                 # under a line of 300 bytes
    assert flatten(freshness(one, None)).startswith(
        "Newest event 2024-09-18 11:59:58all lines read · 125 B of an unfinished line")
    two = {**STATUS, "bytes_pending": 450}                 # a line and a half: real lines
    assert "≈ 2 lines waiting (450 B)" in flatten(freshness(two, None))
    single = {**STATUS, "bytes_pending": 301}
    assert "≈ 1 line waiting (301 B)" in flatten(freshness(single, None))


def test_a_stale_log_says_how_old_its_newest_event_is():
    text = flatten(freshness(STATUS, None, datetime(2026, 12, 7, 12, 0)))
    assert text.startswith("Newest event 2024-09-18 11:59:58 (810 days ago)")
    assert "ago" not in flatten(freshness(STATUS, None, datetime(2024, 9, 18, 12, 30)))


def test_a_little_waiting_is_not_a_backfill():
    st = {**STATUS, "bytes_pending": BACKFILL_BYTES}
    assert not list(find_all(freshness(st, 1.0), dbc.Progress))


@pytest.mark.parametrize("seconds, text", [
    (5, "under a minute left"), (61, "about 1 min left"), (3569, "about 59 min left"), (3599, "about 1 h 00 min left"),
    (3 * 3600 + 7 * 60, "about 3 h 07 min left"),
])
def test_eta_text(seconds, text):
    assert eta_text(seconds) == text


def test_headline_values_in_tile_order_with_exact_bytes_as_tips():
    values = headline_values({"users": 4, "transfers": 2048, "bytes_uploaded": 147947367,
                              "bytes_downloaded": 1886270174, "failed_transfers": 13,
                              "login_failures": 3, "uploads": 147, "downloads": 1901,
                              "file_ops": 278, "logins": 101})
    assert values[:2] == ["4", "2,048"] and values[4:] == ["13", "3"]
    assert (values[2].children, values[2].title) == ("148 MB", "147,947,367 bytes")
    assert values[3].children == "1.89 GB"


def test_users_table_shows_names_as_plain_text():
    users = [{"username": "<img src=x onerror=alert(1)>", "uploads": 1, "downloads": 0,
              "transfers": 1, "failed_transfers": 0, "bytes_uploaded": 5, "bytes_downloaded": 0,
              "avg_bytes_per_transfer": 5.0, "file_ops": 0, "logins": 0},
             {"username": "admin ", "uploads": 0, "downloads": 0, "transfers": 0,
              "failed_transfers": 0, "bytes_uploaded": 0, "bytes_downloaded": 0,
              "avg_bytes_per_transfer": None, "file_ops": 2, "logins": 1}]
    cells = [td.children for td in find_all(users_table(users), html.Td)]
    assert cells[0].children == "<img src=x onerror=alert(1)>"   # React renders it as text
    assert cells[0].href == "/users/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E"  # a link
    assert cells[9].children == '"admin "' and cells[9].href == "/users/admin%20"
    assert cells[15] == "–"
    assert flatten(users_table([])) == "No user activity in this range."


def test_users_table_and_banners_show_bidi_controls_escaped():
    user = {"username": "admin\u202eflow", "uploads": 1, "downloads": 0, "transfers": 1,
            "failed_transfers": 0, "bytes_uploaded": 5, "bytes_downloaded": 0,
            "avg_bytes_per_transfer": 5.0, "file_ops": 0, "logins": 0}
    cells = [td.children for td in find_all(users_table([user]), html.Td)]
    assert cells[0].children == '"admin\\u202eflow"'
    assert "\u202e" not in flatten(ingest_warning_text("OSError: /logs/x\u202egol.txt"))
    assert flatten(db_banner_text("bad \u2066path", 10.0)).startswith(
        "Database unreachable. bad \\u2066path")


def test_db_banner_says_what_failed_and_that_it_retries():
    text = flatten(db_banner_text("(2003, \"Can't connect to MySQL server\")", 10.0))
    assert text == ("Database unreachable. (2003, \"Can't connect to MySQL server\") "
                    "Showing the last figures; retrying every 10 s.")


@pytest.mark.parametrize("newest, age", [
    (None, None), ("2024-09-18 11:30:00.000", None), ("2024-09-18 10:59:59.999", "1 h"),
    ("2024-09-18T09:00:00.000", "3 h"), ("2024-09-16 12:00:01", "47 h"),
    ("2024-09-16 12:00:00", "2 d"), ("2024-08-19 12:00:00.000", "30 d"), ("garbage", None),
])
def test_the_newest_events_age_is_told_only_when_stale(newest, age):
    assert stale_age(newest, datetime(2024, 9, 18, 12, 0, 0)) == age


def test_table_cells_are_one_line_texts_with_the_whole_value_in_their_tooltip():
    from components.events_table import AUDIT_COLUMNS, events_table
    from components.tables import short_time
    event = {"ts": "2024-09-18T03:24:21.300", "username": "", "kind": "upload",
             "action": "Upload", "file_path": "/srv/<b>x</b>/\u202eevil.csv", "failed": True,
             "remote_ip": "2001:db8::9", "protocol": "SFTP", "size_bytes": 4_347_295,
             "error": "unexpected EOF"}
    table = events_table([event], AUDIT_COLUMNS, "none", year=2024)
    cells = list(find_all(table, html.Td))
    time_cell, user, _kind, _action, path, ip = (c.children for c in cells[:6])
    assert time_cell.children == "Sep 18 03:24:21" and time_cell.title == "2024-09-18T03:24:21.300"
    assert user.children == "(none)"                              # not "" nor a name
    assert path.className == "cut-path" and isinstance(path.children, html.Bdi)
    assert path.children.children == path.title == "/srv/<b>x</b>/\\u202eevil.csv"  # as text
    assert ip == "2001:db8::9" and cells[5].className == "token"
    assert cells[7].children.children == "4.35 MB" and cells[7].children.title == "4,347,295 bytes"
    assert short_time("2023-09-18T03:13:49.000", 2024) == "Sep 18, 2023 03:13:49"
    assert short_time("2024-09-18 03:13:49.000", 2024) == "Sep 18 03:13:49"


def test_the_users_list_sorts_and_links_each_name_as_text():
    from components.users import sort_users, users_list
    users = [{"username": n, "uploads": u, "downloads": 0, "transfers": u,
              "failed_transfers": 0, "bytes_uploaded": b, "bytes_downloaded": 0,
              "avg_bytes_per_transfer": b / u if u else None, "file_ops": 0, "logins": 0}
             for n, u, b in (("<img src=x>", 1, 5), ("b/c", 3, 2), ("idle", 0, 0))]
    assert [u["username"] for u in sort_users(users, "uploads", True)] == ["b/c", "<img src=x>", "idle"]
    assert [u["username"] for u in sort_users(users, "avg_bytes_per_transfer", False)] == \
        ["b/c", "<img src=x>", "idle"]                            # no average: last
    assert [u["username"] for u in sort_users(users, "username", False)] == \
        ["<img src=x>", "b/c", "idle"]
    links = [td.children for td in find_all(users_list(users, None, "?days=7"), html.Td)
             if td.className == "clip name"]
    assert [(a.children, a.href) for a in links] == [
        ("<img src=x>", "/users/%3Cimg%20src%3Dx%3E?days=7"), ("b/c", "/users/b%2Fc?days=7"),
        ("idle", "/users/idle?days=7")]
