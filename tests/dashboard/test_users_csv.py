"""/api/users.csv: the per-user table of a range, on both backends, formulas defused."""
from __future__ import annotations

import csv
import io

import pytest

from app import create_app
from dashboard import users_csv
from settings import Settings

from tests.support.dashboard import add_stats


def get(db_url: str, query: str):
    return create_app(Settings(db_url=db_url)).server.test_client().get("/api/users.csv" + query)


def test_every_user_of_the_range_one_row_each_busiest_first(engine, db_url):
    add_stats(engine, [("2024-09-17", "upload", "alice", 2, 3_000_000, 1),
                       ("2024-09-18", "download", "=cmd|' /C calc'!A0", 5, 2_000, 0),
                       ("2024-09-18", "login", "@bob", 1, 0, 0),
                       ("2024-09-20", "upload", "later", 1, 9, 0)])
    answer = get(db_url, "?start=2024-09-01&end=2024-09-18")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"] == \
        'attachment; filename="users-2024-09-01-2024-09-18.csv"'
    table = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert table[0] == list(users_csv.COLUMNS)
    assert [r[0] for r in table[1:]] == ["alice", "'=cmd|' /C calc'!A0", "'@bob"]
    assert table[1][1:] == ["2", "0", "2", "1", "3000000", "0", "1500000.0", "0", "0"]
    assert table[3][7] == ""                                 # no transfers: no average


@pytest.mark.parametrize("query, status, error", [
    ("?start=garbage", 400, "start must be a date written YYYY-MM-DD, not 'garbage'"),
    ("?start=2024-09-18&end=2024-09-01", 400, "start 2024-09-18 is after end 2024-09-01"),
])
def test_a_bad_range_is_a_400_with_a_reason(sqlite_url, query, status, error):
    answer = get(sqlite_url, query)
    assert answer.status_code == status and error in answer.get_json()["error"]


def test_an_unreachable_database_is_a_503(closed_port):
    answer = get(f"mysql+pymysql://u:p@127.0.0.1:{closed_port}/x", "?start=2024-09-01")
    assert answer.status_code == 503
    assert answer.get_json()["error"].startswith("database unreachable")


@pytest.mark.parametrize("value, cell", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("a=b", "a=b"), ("", ""), (None, ""), (-5, -5), (1.5, 1.5),
])
def test_cells_a_spreadsheet_would_run_are_written_as_text(value, cell):
    assert users_csv.safe_cell(value) == cell


def test_many_users_stream_in_chunks():
    users = [{c: f"u{i}" if c == "username" else i for c in users_csv.COLUMNS}
             for i in range(users_csv.ROWS_PER_CHUNK * 2 + 1)]
    chunks = list(users_csv.csv_chunks(users))
    assert len(chunks) == 3
    assert "".join(chunks).count("\r\n") == len(users) + 1
