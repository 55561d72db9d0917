"""Date ranges (dashboard/params.py), and the stats and status reads (dashboard/queries.py)
on both backends."""
from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given, strategies as st

from dashboard import queries
from dashboard.params import RangeError, parse_range

from tests.support.dashboard import (add_event, add_file, add_stats, huge_rows, huge_sums,
                                     set_ingest_status)

TODAY = date(2024, 9, 18)


# --- parse_range -------------------------------------------------------------------------

@pytest.mark.parametrize("start, end, expected", [
    (None, None, (date(2022, 1, 1), TODAY)),
    ("", "", (date(2022, 1, 1), TODAY)),
    ("2024-09-01", None, (date(2024, 9, 1), TODAY)),
    (None, "2023-05-06", (date(2022, 1, 1), date(2023, 5, 6))),
    ("2024-02-29", "2024-02-29", (date(2024, 2, 29), date(2024, 2, 29))),
])
def test_parse_range_accepts_and_defaults(start, end, expected):
    assert parse_range(start, end, TODAY) == expected


@pytest.mark.parametrize("start, end, message", [
    ("2024-13-01", None, "start '2024-13-01' is not a day of the calendar"),
    ("2023-02-29", None, "start '2023-02-29' is not a day of the calendar"),
    ("yesterday", None, "start must be a date written YYYY-MM-DD, not 'yesterday'"),
    ("20240901", None, "start must be a date written YYYY-MM-DD, not '20240901'"),
    (None, "2024-9-1", "end must be a date written YYYY-MM-DD, not '2024-9-1'"),
    ("2024-09-18 ", None, "start must be a date written YYYY-MM-DD, not '2024-09-18 '"),
    ("2024-09-30", "2024-09-01",
     "start 2024-09-30 is after end 2024-09-01: pick a start on or before the end"),
    ("0001-01-01", "9999-12-31", "the range 0001-01-01..9999-12-31 is longer than 36600 days"),
])
def test_parse_range_says_what_is_wrong(start, end, message):
    with pytest.raises(RangeError) as err:
        parse_range(start, end, TODAY)
    assert str(err.value) == message


def test_parse_range_default_start_is_a_parameter():
    assert parse_range(None, None, TODAY, default_start=date(2024, 9, 1))[0] == date(2024, 9, 1)


# --- stats -------------------------------------------------------------------------------

ROWS = [
    ("2024-09-01", "upload", "alice", 3, 3000, 1),
    ("2024-09-01", "download", "alice", 2, 500, 0),
    ("2024-09-01", "login", "alice", 4, 0, 0),
    ("2024-09-03", "download", "backups", 10, 10_000_000, 0),
    ("2024-09-03", "file_op", "bob", 5, 0, 0),
    ("2024-09-03", "login_failed", "", 7, 0, 0),
    ("2024-09-03", "ban", "", 2, 0, 0),
    ("2024-08-31", "upload", "early", 1, 1, 0),        # before the range
    ("2024-09-04", "upload", "late", 1, 1, 0),         # after the range
]


def test_stats_follow_the_contract(engine):
    add_stats(engine, ROWS)
    s = queries.stats(engine, date(2024, 9, 1), date(2024, 9, 3))
    assert s["start"] == "2024-09-01" and s["end"] == "2024-09-03"
    assert s["totals"] == {"users": 3, "uploads": 3, "downloads": 12, "transfers": 15,
                           "failed_transfers": 1, "bytes_uploaded": 3000,
                           "bytes_downloaded": 10_000_500, "file_ops": 5, "logins": 4,
                           "login_failures": 7, "bans": 2}
    assert [u["username"] for u in s["users"]] == ["backups", "alice", "bob"]
    alice = s["users"][1]
    assert alice == {"username": "alice", "uploads": 3, "downloads": 2, "transfers": 5,
                     "failed_transfers": 1, "bytes_uploaded": 3000, "bytes_downloaded": 500,
                     "avg_bytes_per_transfer": 700.0, "file_ops": 0, "logins": 4}
    assert s["users"][2]["avg_bytes_per_transfer"] is None      # bob moved no file
    assert s["days"] == [
        {"date": "2024-09-01", "upload": 3, "download": 2, "file_op": 0, "login": 4,
         "login_failed": 0, "ban": 0, "total": 9},
        {"date": "2024-09-02", "upload": 0, "download": 0, "file_op": 0, "login": 0,
         "login_failed": 0, "ban": 0, "total": 0},
        {"date": "2024-09-03", "upload": 0, "download": 10, "file_op": 5, "login": 0,
         "login_failed": 7, "ban": 2, "total": 24},
    ]
    for value in _leaves(s):
        assert type(value) in (str, int, float, bool, type(None))   # no Decimal, no date objects
    assert s["users_truncated"] is False


def _leaves(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _leaves(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _leaves(v)
    else:
        yield obj


def test_usernames_are_compared_byte_for_byte(engine):
    names = ["admin", "Admin", "admin ", "jürgen😀", "<img src=x onerror=alert(1)>"]
    add_stats(engine, [("2024-09-02", "upload", n, 1, 10 + i, 0) for i, n in enumerate(names)])
    s = queries.stats(engine, date(2024, 9, 2), date(2024, 9, 2))
    assert s["totals"]["users"] == 5
    assert sorted(u["username"] for u in s["users"]) == sorted(names)


def test_stats_of_an_empty_range_list_every_day_with_zeros(engine):
    s = queries.stats(engine, date(2024, 2, 27), date(2024, 3, 1))
    assert [d["date"] for d in s["days"]] == ["2024-02-27", "2024-02-28", "2024-02-29",
                                             "2024-03-01"]
    assert all(d["total"] == 0 for d in s["days"])
    assert s["users"] == [] and s["totals"]["users"] == 0


def test_users_limit_lists_the_busiest_and_still_counts_every_user(engine):
    add_stats(engine, [("2024-09-02", "upload", f"u{i:02d}", 1 + i % 3, 1000 * (i % 7), 0)
                       for i in range(20)] + [("2024-09-02", "login", "watcher", 3, 0, 0)])
    day = date(2024, 9, 2)
    full = queries.stats(engine, day, day, users_limit=100)
    cut = queries.stats(engine, day, day, users_limit=5)
    assert (full["users_truncated"], cut["users_truncated"]) == (False, True)
    assert cut["totals"] == full["totals"] and cut["totals"]["users"] == 21
    assert cut["users"] == full["users"][:5]
    assert full["users"] == sorted(full["users"], key=queries.user_order)
    assert full["users"][-1]["username"] == "watcher"
    assert queries.stats(engine, day, day)["users_truncated"] is False     # default: 1,000


def test_the_database_orders_users_exactly_as_the_contract_does(engine):
    """The cut at users_limit happens in SQL: its order must be user_order exactly, for
    ties, sums past 2^63, and the negative sizes older versions stored."""
    rng = random.Random(13)
    values = [0, 1, 2**31 - 1, 2**31, 2**31 + 1, 2**62 - 1, 2**62 - 2**31, -1, -2**31,
              5 * 2**31 - 7, 2**61 + 3]
    rows = []
    for i in range(60):
        for day in range(1, rng.randint(1, 4) + 1):
            for kind in rng.sample(["upload", "download", "file_op", "login"], rng.randint(1, 3)):
                nbytes = rng.choice(values) if kind in ("upload", "download") else 0
                rows.append((f"2024-09-{day:02d}", kind, f"user{i % 45:02d}-{i // 45}",
                             rng.randint(1, 3), nbytes, 0))
    add_stats(engine, rows)
    start, end = date(2024, 9, 1), date(2024, 9, 4)
    expected = queries.assemble_stats(start, end, [], [(u, k, e, b, f) for _d, k, u, e, b, f in rows])["users"]
    assert queries.stats(engine, start, end)["users"] == expected
    assert queries.stats(engine, start, end, users_limit=7)["users"] == expected[:7]


def test_sums_past_64_bits_are_exact_python_integers(engine):
    add_stats(engine, huge_rows())
    s = queries.stats(engine, date(2024, 9, 1), date(2024, 9, 4))
    sums = huge_sums()
    assert s["totals"]["bytes_uploaded"] == sums[("", "upload")] > 2**64
    assert s["totals"]["bytes_downloaded"] == sums[("", "download")]
    for u in s["users"]:
        assert u["bytes_uploaded"] == sums[(u["username"], "upload")] > 2**63
        assert u["bytes_downloaded"] == sums[(u["username"], "download")]
    assert [u["username"] for u in s["users"]] == ["huge-a", "huge-b", "huge-c"]


def test_avg_bytes_per_transfer_is_rounded_to_cents(engine):
    add_stats(engine, [("2024-09-18", "download", "backups", 1901, 1886270174, 0)])
    s = queries.stats(engine, TODAY, TODAY)
    assert s["users"][0]["avg_bytes_per_transfer"] == 992251.54


@given(st.lists(st.tuples(st.integers(0, 9), st.sampled_from(queries.KINDS),
                          st.sampled_from(["", "a", "b", "A"]), st.integers(1, 50),
                          st.integers(0, 10**12), st.integers(0, 3)), max_size=30))
def test_assemble_stats_adds_up(rows):
    """Totals, per-user and per-day figures agree with each other for any rollup rows."""
    day_rows = [(f"2024-01-{d + 1:02d}", k, e, b if k in ("upload", "download") else 0,
                 min(f, e) if k in ("upload", "download") else 0) for d, k, u, e, b, f in rows]
    user_rows = [(u, k, e, b if k in ("upload", "download") else 0,
                  min(f, e) if k in ("upload", "download") else 0)
                 for d, k, u, e, b, f in rows if u and k not in ("login_failed", "ban")]
    s = queries.assemble_stats(date(2024, 1, 1), date(2024, 1, 10), day_rows, user_rows)
    t = s["totals"]
    assert len(s["days"]) == 10
    assert sum(d["total"] for d in s["days"]) == sum(r[2] for r in day_rows)
    assert t["transfers"] == t["uploads"] + t["downloads"]
    assert t["users"] == len({u for _d, k, u, *_ in rows
                              if u and k not in ("login_failed", "ban")})
    named = queries.assemble_stats(date(2024, 1, 1), date(2024, 1, 10),
                                   [("2024-01-01", *r[1:]) for r in user_rows], [])["totals"]
    for key in ("uploads", "downloads", "bytes_uploaded", "bytes_downloaded", "file_ops",
                "logins", "failed_transfers"):     # transfers without a name count in totals only
        assert sum(u[key] for u in s["users"]) == named[key] <= t[key]
    volumes = [u["bytes_uploaded"] + u["bytes_downloaded"] for u in s["users"]]
    assert volumes == sorted(volumes, reverse=True)


def test_first_day(engine):
    assert queries.first_day(engine) is None
    add_stats(engine, ROWS)
    assert queries.first_day(engine) == date(2024, 8, 31)


# --- status ------------------------------------------------------------------------------

def test_status_of_an_empty_database(engine):
    st = queries.status(engine)
    assert st["files_known"] == 0 and st["bytes_pending"] == 0 and st["newest_event"] is None
    assert queries.lines_pending(st) == 0


def test_status_counts_files_bytes_and_lines(engine):
    add_file(engine, "/logs/sftpgo.log", size_seen=1500, offset=1000, lines=10, events=4,
             malformed=1)
    add_file(engine, "/logs/sftpgo-2024.log", state="missing", size_seen=900, offset=400,
             lines=4, bytes_lost=500)
    add_file(engine, "/logs/odd.log", size_seen=100, offset=300, lines=3)     # clamped to 0
    add_file(engine, "/logs/new.log", size_seen=250, offset=None, error="permission denied")
    set_ingest_status(engine, last_pass_at="2024-09-18T12:00:01", last_error="boom",
                      last_error_at="2024-09-18T11:00:00")
    add_stats(engine, [("2024-09-17", "upload", "alice", 1, 1, 0),
                       ("2024-09-18", "upload", "alice", 2, 2, 0)])
    add_event(engine, "2024-09-17 23:59:59.999", offset=0)
    add_event(engine, "2024-09-18 08:00:00.125", offset=20)
    add_event(engine, "2024-09-18 07:00:00.000", offset=40)
    st = queries.status(engine)
    assert {k: st[k] for k in ("files_known", "files_active", "files_missing", "files_in_error",
                               "bytes_read", "bytes_pending", "bytes_lost", "lines_read",
                               "events_read", "malformed_lines")} == {
        "files_known": 4, "files_active": 3, "files_missing": 1, "files_in_error": 1,
        "bytes_read": 1700, "bytes_pending": 500 + 250, "bytes_lost": 500, "lines_read": 17,
        "events_read": 4, "malformed_lines": 1}
    assert st["newest_event"] == "2024-09-18 08:00:00.125"
    assert st["last_pass_at"] == "2024-09-18T12:00:01" and st["last_error"] == "boom"
    assert queries.lines_pending(st) == round(750 * 17 / 1700)
