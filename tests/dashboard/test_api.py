"""The JSON API: /api/stats on the real samples against a plain reading of the contract,
/api/status, bad parameters, an unreachable database, and basic auth."""
from __future__ import annotations

import base64
import shutil
from datetime import date, timedelta

import pytest

from tests import reference

from tests.support.dashboard import (HUGE_USERS, SAMPLE_FILES, SAMPLES, add_stats, by_name,
                                     client_for,
                                     expected_stats,
                                     huge_rows, huge_sums,
                                     ingest_all,
                                     reference_events)


# --- a plain reading of the contract, from the raw lines --------------------------------


@pytest.fixture(params=SAMPLE_FILES)
def sample(request, engine, log_dir) -> list[dict]:
    """Ingests one real sample as sftpgo.log; returns its events per the reference."""
    shutil.copy(SAMPLES / request.param, log_dir / "sftpgo.log")
    ingest_all(engine, log_dir)
    return reference_events((SAMPLES / request.param).read_bytes())


def test_stats_equal_the_contract_on_the_real_samples(sample, db_url, log_dir):
    client = client_for(db_url, log_dir)
    days = sorted({e["day"] for e in sample if e["day"][:4].isdigit()})
    first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    busiest = max(days, key=lambda d: sum(1 for e in sample if e["day"] == d))
    ranges = [(first, last), (date.fromisoformat(busiest), date.fromisoformat(busiest)),
              (first - timedelta(days=3), first + timedelta(days=40))]
    for start, end in ranges:
        answer = client.get(f"/api/stats?start={start}&end={end}")
        assert answer.status_code == 200 and answer.mimetype == "application/json"
        got, want = answer.get_json(), expected_stats(sample, start, end)
        assert got["totals"] == want["totals"], (start, end)
        assert got["days"] == want["days"], (start, end)
        assert by_name(got["users"]) == by_name(want["users"]), (start, end)
        assert len(got["users"]) == got["totals"]["users"]
    assert sum(expected_stats(sample, first, last)["totals"][k] for k in
               ("transfers", "file_ops", "logins", "login_failures")) > 10  # a real check


def test_stats_defaults_to_2022_through_today(sample, db_url, log_dir):
    got = client_for(db_url, log_dir).get("/api/stats").get_json()
    assert (got["start"], got["end"]) == ("2022-01-01", date.today().isoformat())
    assert got == {**got, "totals": expected_stats(sample, date(2022, 1, 1), date.today())["totals"]}


def test_users_are_sorted_by_volume(sample, db_url, log_dir):
    users = client_for(db_url, log_dir).get("/api/stats?start=2000-01-01&end=2030-12-31") \
        .get_json()["users"]
    volumes = [u["bytes_uploaded"] + u["bytes_downloaded"] for u in users]
    assert volumes == sorted(volumes, reverse=True)


def test_status_reports_what_was_read(engine, db_url, log_dir):
    data = (SAMPLES / "msda-excerpt.log").read_bytes()
    (log_dir / "sftpgo.log").write_bytes(data + b'{"level":"info","time":"2024-09-18T')  # a torn tail
    ingest_all(engine, log_dir)
    answer = client_for(db_url, log_dir).get("/api/status")
    assert answer.status_code == 200
    st = answer.get_json()
    lines = reference.physical_lines(data)
    assert st["database"] == "ok" and st["database_reachable"] is True and st["error"] is None
    assert st["backend"] in ("sqlite", "mysql")
    assert st["files_known"] == 1 and st["files_active"] == 1
    assert st["bytes_read"] == len(data)
    assert st["bytes_pending"] == len(b'{"level":"info","time":"2024-09-18T')
    assert st["lines_read"] == len(lines)
    assert st["malformed_lines"] == sum(1 for x in lines if reference.is_malformed(x))
    assert st["events_read"] == len(reference_events(data))
    assert st["last_ingest_at"] is not None and st["last_error"] is None
    assert st["newest_event"][:10] == max(e["day"] for e in reference_events(data))


# --- bad requests never see a stack trace -----------------------------------------------

@pytest.mark.parametrize("query, error", [
    ("start=2024-09-30&end=2024-09-01",
     "start 2024-09-30 is after end 2024-09-01: pick a start on or before the end"),
    ("start=2024-02-30", "start '2024-02-30' is not a day of the calendar"),
    ("end=2024-13-01", "end '2024-13-01' is not a day of the calendar"),
    ("start=tomorrow", "start must be a date written YYYY-MM-DD, not 'tomorrow'"),
    ("start=%3Cscript%3E", "start must be a date written YYYY-MM-DD, not '<script>'"),
    ("start=2024-01-01%00", "start must be a date written YYYY-MM-DD, not '2024-01-01\\x00'"),
    ("start=" + "9" * 5000, None),
    ("start=0001-01-01&end=9999-12-31", "the range 0001-01-01..9999-12-31 is longer than 36600 days"),
])
def test_bad_parameters_get_400_with_a_json_error(sqlite_url, log_dir, query, error):
    answer = client_for(sqlite_url, log_dir).get(f"/api/stats?{query}")
    assert answer.status_code == 400 and answer.mimetype == "application/json"
    body = answer.get_json()
    assert list(body) == ["error"]
    if error is not None:
        assert body["error"] == error
    assert "Traceback" not in answer.get_data(as_text=True)


@pytest.mark.parametrize("value", ["0", "100001", "abc", "-1", "1.5", " 5", "5\n", "١٢", "1e3",
                                   "9" * 5000])
def test_a_bad_users_limit_gets_400_with_a_json_error(sqlite_url, log_dir, value):
    answer = client_for(sqlite_url, log_dir).get("/api/stats", query_string={"users_limit": value})
    assert answer.status_code == 400
    assert answer.get_json()["error"].startswith("users_limit must be a whole number from 1 "
                                                 "to 100,000, not ")


def test_users_limit_bounds_the_list_but_not_the_count(engine, db_url, log_dir):
    add_stats(engine, [("2024-09-02", "download", f"user{i}", 1, i, 0) for i in range(12)])
    client = client_for(db_url, log_dir)
    query = "/api/stats?start=2024-09-02&end=2024-09-02"
    cut = client.get(f"{query}&users_limit=3").get_json()
    assert [u["username"] for u in cut["users"]] == ["user11", "user10", "user9"]
    assert cut["users_truncated"] is True and cut["totals"]["users"] == 12
    whole = client.get(f"{query}&users_limit=100000").get_json()
    assert len(whole["users"]) == 12 and whole["users_truncated"] is False
    assert client.get(query).get_json()["users_truncated"] is False


def test_sums_past_64_bits_answer_200_with_exact_integers(engine, db_url, log_dir):
    add_stats(engine, huge_rows())
    answer = client_for(db_url, log_dir).get("/api/stats?start=2024-09-01&end=2024-09-04")
    assert answer.status_code == 200
    body, sums = answer.get_json(), huge_sums()     # Python's json keeps big integers exact
    assert body["totals"]["bytes_uploaded"] == sums[("", "upload")] > 2**64
    assert body["totals"]["bytes_downloaded"] == sums[("", "download")]
    assert {u["username"]: u["bytes_downloaded"] for u in body["users"]} == {
        user: sums[(user, "download")] for user in HUGE_USERS}


def test_unknown_api_paths_and_methods_answer_json(sqlite_url, log_dir):
    client = client_for(sqlite_url, log_dir)
    missing = client.get("/api/nothing")
    assert missing.status_code == 404 and missing.get_json() == {"error": "no such endpoint: /api/nothing"}
    wrong = client.post("/api/stats")
    assert wrong.status_code == 405 and "error" in wrong.get_json()


def test_an_unreachable_database_answers_503_in_json(log_dir, closed_port):
    url = f"mysql+pymysql://dash:secret@127.0.0.1:{closed_port}/nowhere"
    client = client_for(url, log_dir)
    stats = client.get("/api/stats")
    assert stats.status_code == 503
    assert stats.get_json()["error"].startswith("database unreachable: (2003, ")
    status = client.get("/api/status")
    assert status.status_code == 503
    body = status.get_json()
    assert body["database"] == "unreachable" and body["database_reachable"] is False
    assert body["files_known"] is None and body["backend"] == "mysql"
    assert "secret" not in status.get_data(as_text=True)


# --- basic auth --------------------------------------------------------------------------

def test_basic_auth_guards_every_route_when_configured(sqlite_url, log_dir):
    client = client_for(sqlite_url, log_dir, auth_user="ops", auth_password="s3cr3t é")
    for path in ("/", "/api/stats", "/api/status", "/_dash-layout"):
        denied = client.get(path)
        assert denied.status_code == 401 and denied.headers["WWW-Authenticate"].startswith("Basic")
    good = base64.b64encode("ops:s3cr3t é".encode()).decode()
    bad = base64.b64encode(b"ops:wrong").decode()
    assert client.get("/api/stats", headers={"Authorization": f"Basic {bad}"}).status_code == 401
    assert client.get("/api/stats", headers={"Authorization": f"Basic {good}"}).status_code == 200


def test_no_auth_by_default(sqlite_url, log_dir):
    assert client_for(sqlite_url, log_dir).get("/api/status").status_code == 200
