"""/api/security, /api/users/<name>, /api/events and /api/events.csv (docs/api.md) on both
backends, against tests/reference.py on the real samples and on generated attacks: hostile
names, `%` and `_` in paths, identical lines, paging while events arrive, CSV = the pages."""
from __future__ import annotations

import csv
import io
from urllib.parse import quote

import pytest

from tests import reference

from tests.support.dashboard import (NAMES, SAMPLE_FILES, SAMPLES, _line, attack_lines, client_for,
                                     events_of, events_page, ingest_all)


@pytest.fixture(params=SAMPLE_FILES + ["generated"])
def logged(request, engine, log_dir) -> list[dict]:
    """Ingests a real sample or the generated attack log; returns its reference events."""
    data = attack_lines() if request.param == "generated" else (SAMPLES / request.param).read_bytes()
    (log_dir / "sftpgo.log").write_bytes(data)
    ingest_all(engine, log_dir)
    return events_of(data)


def _ranges(events):
    days = sorted({e["day"] for e in events})
    return [(days[0], days[-1]), (days[-1], days[-1]), ("2000-01-01", days[0])]


def test_security_equals_the_contract(logged, db_url, log_dir):
    client = client_for(db_url, log_dir)
    for start, end in _ranges(logged):
        for limit in (None, 2):
            query = f"/api/security?start={start}&end={end}" + (f"&limit={limit}" if limit else "")
            if (start, end) == ("2000-01-01", _ranges(logged)[0][0]) and limit:
                continue
            answer = client.get(query)
            assert answer.status_code == 200, answer.get_json()
            assert answer.get_json() == reference.security_with_countries(
                logged, start, end, limit or 100), query


def test_security_distinct_counts_over_days_equal_the_contract(engine, db_url, log_dir):
    """The distinct usernames per IP and IPs per name come from all-time pairs: a pair
    inside the range counts as is, one overlapping it is probed by day, one outside is
    skipped. Three days with different slices of the attack make all three happen."""
    days = {"2024-09-17": slice(0, 60), "2024-09-18": slice(0, 25), "2024-09-19": slice(30, 200)}
    data = b"".join(b"".join(attack_lines(day).splitlines(keepends=True)[part])
                    for day, part in days.items())
    (log_dir / "sftpgo.log").write_bytes(data)
    ingest_all(engine, log_dir)
    logged = events_of(data)
    client = client_for(db_url, log_dir)
    names = sorted(days)
    for i, start in enumerate(names):
        for end in names[i:]:
            for limit in (100, 3):
                body = client.get(f"/api/security?start={start}&end={end}&limit={limit}").get_json()
                assert body == reference.security_with_countries(logged, start, end, limit), \
                    (start, end, limit)
    one_day = reference.security(logged, "2024-09-18", "2024-09-18")
    whole = reference.security(logged, "2024-09-17", "2024-09-19")
    assert {d["ip"]: d["usernames"] for d in one_day["by_ip"]} != \
        {d["ip"]: d["usernames"] for d in whole["by_ip"]}          # the ranges do differ


def test_security_counts_hostile_names_apart(engine, db_url, log_dir):
    data = attack_lines()
    (log_dir / "sftpgo.log").write_bytes(data)
    ingest_all(engine, log_dir)
    body = client_for(db_url, log_dir).get("/api/security?start=2024-09-18&end=2024-09-18").get_json()
    names = {u["username"] for u in body["by_username"]}
    assert {"admin", "Admin", "admin ", "", "<b>x</b>"} <= names
    assert body["totals"]["usernames"] == len(NAMES) - 1          # '' is not a name tried
    only_bans = [d for d in body["by_ip"] if d["ip"] == "192.0.2.1"]
    assert only_bans == [{"ip": "192.0.2.1", "failures": 0, "usernames": 0, "bans": 3,
                          "first": None, "last": None, "country": None}]
    keys = [(-d["failures"], -d["bans"], d["ip"].encode()) for d in body["by_ip"]]
    assert keys == sorted(keys) and len(keys) == 5


def test_users_equal_the_contract(logged, db_url, log_dir):
    client = client_for(db_url, log_dir)
    names = {e["username"] for e in logged} | {"nobody"}
    for start, end in _ranges(logged)[:2]:
        for name in sorted(names):
            answer = client.get(f"/api/users/{quote(name, safe='')}?start={start}&end={end}")
            want = reference.user(logged, name, start, end)
            if want is None:
                assert answer.status_code == 404 and "error" in answer.get_json(), name
            else:
                assert answer.status_code == 200, (name, answer.get_json())
                assert answer.get_json() == want, name


def test_user_names_are_matched_byte_for_byte(engine, db_url, log_dir):
    (log_dir / "sftpgo.log").write_bytes(attack_lines())
    ingest_all(engine, log_dir)
    client = client_for(db_url, log_dir)
    plain = client.get("/api/users/admin?start=2024-09-18&end=2024-09-18").get_json()
    spaced = client.get("/api/users/admin%20?start=2024-09-18&end=2024-09-18").get_json()
    upper = client.get("/api/users/Admin?start=2024-09-18&end=2024-09-18").get_json()
    assert plain["username"] == "admin" and spaced["username"] == "admin "
    assert upper["username"] == "Admin"
    assert spaced["last_login"] == "2024-09-18T23:00:00.000"         # the pre-2.7 text login
    assert plain["totals"]["downloads"] == 5                           # five identical lines
    assert client.get("/api/users/a%2Fb").get_json()["username"] == "a/b"
    assert client.get("/api/users/ADMIN").status_code == 404


def _all_pages(client, query: str, limit: int) -> tuple[list, int]:
    events, pages, before = [], 0, None
    while True:
        q = f"{query}&limit={limit}" + (f"&before={before}" if before else "")
        body = client.get(q).get_json()
        events += body["events"]
        pages += 1
        before = body["next"]
        if before is None:
            return events, pages
        assert pages < 1000


FILTERS = [
    ({}, {}),
    ({"user": "admin"}, {"user": "admin"}),
    ({"user": ""}, {"user": ""}),
    ({"kind": ["upload", "ban"]}, {"kinds": ("upload", "ban")}),
    ({"ip": "2001:db8::9"}, {"ip": "2001:db8::9"}),
    ({"ip": ""}, {"ip": ""}),
    ({"protocol": "FTP"}, {"protocol": "FTP"}),
    ({"protocol": ""}, {"protocol": ""}),
    ({"failed": "1"}, {"failed": 1}),
    # one kind other than a transfer, failed=1: read through their own indexes (010)
    ({"kind": ["ban"]}, {"kinds": ("ban",)}),
    ({"kind": ["login_failed"], "ip": "2001:db8::9"}, {"kinds": ("login_failed",), "ip": "2001:db8::9"}),
    ({"kind": ["upload"], "failed": "1"}, {"kinds": ("upload",), "failed": 1}),
    ({"kind": ["login"], "failed": "0"}, {"kinds": ("login",), "failed": 0}),
    ({"path": "%_"}, {"path": "%_"}),
    ({"path": "_"}, {"path": "_"}),
    ({"path": "/d/"}, {"path": "/d/"}),
    ({"path": "UP"}, {"path": "UP"}),
    ({"user": "admin", "kind": ["download"], "failed": "0"},
     {"user": "admin", "kinds": ("download",), "failed": 0}),
]


def _query(start, end, params: dict) -> str:
    parts = [f"start={start}", f"end={end}"]
    for k, v in params.items():
        for value in (v if isinstance(v, list) else [v]):
            parts.append(f"{k}={quote(value, safe='')}")
    return "&".join(parts)


def test_event_pages_equal_the_contract(logged, db_url, log_dir):
    client = client_for(db_url, log_dir)
    start, end = _ranges(logged)[0]
    for params, filters in FILTERS:
        want = reference.audit(logged, start, end, **filters)
        for limit in (7, 1000):
            got, pages = _all_pages(client, "/api/events?" + _query(start, end, params), limit)
            assert got == want, (params, limit)
            assert pages == len(want) // limit + 1
        csv_rows = list(csv.reader(io.StringIO(
            client.get("/api/events.csv?" + _query(start, end, params)).get_data(as_text=True))))
        assert csv_rows[0] == list(reference.API_KEYS)
        assert csv_rows[1:] == [[_csv(v) for v in e.values()] for e in want], params
    assert len(reference.audit(logged, start, end)) > 10


def _csv(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def test_path_search_treats_percent_and_underscore_as_text(engine, db_url, log_dir):
    (log_dir / "sftpgo.log").write_bytes(attack_lines())
    ingest_all(engine, log_dir)
    client = client_for(db_url, log_dir)
    paths = lambda q: {e["file_path"] for e in client.get(
        f"/api/events?start=2024-09-18&end=2024-09-18&limit=1000&path={q}").get_json()["events"]}
    assert paths("%25_") == {"/d/100%_done.txt"}
    assert paths("0x_") == {"/d/100x_done.txt"}
    assert paths("UP") == {"/D/UP.TXT"}                     # case-sensitive on both backends
    assert paths("%5C") == set()                            # a backslash is text too


def test_pages_neither_repeat_nor_skip_while_events_arrive(engine, db_url, log_dir):
    data = attack_lines()
    (log_dir / "sftpgo.log").write_bytes(data)
    ingest_all(engine, log_dir)
    want = reference.audit(events_of(data), "2024-09-18", "2024-09-19")
    client = client_for(db_url, log_dir)
    query = "/api/events?start=2024-09-18&end=2024-09-19&limit=9"
    got, before = [], None
    newest = data.splitlines(keepends=True)[-1]
    for n in range(1000):
        body = client.get(query + (f"&before={before}" if before else "")).get_json()
        got += body["events"]
        before = body["next"]
        if before is None:
            break
        with (log_dir / "sftpgo.log").open("ab") as f:      # between pages: more of the same
            f.write(newest * 2 + attack_lines("2024-09-19", 1 + n % 20)[:400].rsplit(b"\n", 1)[0]
                    + b"\n")
        ingest_all(engine, log_dir)
    assert got == want
    fresh = client.get(query.replace("limit=9", "limit=1000")).get_json()["events"]
    assert len(fresh) > len(want)                           # they did arrive


@pytest.mark.parametrize("params", [{"path": "/d/"}, {"path": "_", "kind": ["upload", "login"]},
                                    {"path": "nowhere"}])
@pytest.mark.parametrize("scan", [2, 7])
def test_path_pages_with_a_bounded_scan_neither_repeat_nor_skip(engine, db_url, log_dir,
                                                                params, scan):
    """A path search examines at most audit.page's ``scan`` rows a page (a few here, so the
    day's rows take many scans, and a scan often stops among rows of the same ts): short and
    empty pages carry a next, and walking them all while events arrive gives exactly the
    matches, in order, once each; next is null at the range's end."""
    data = attack_lines()
    (log_dir / "sftpgo.log").write_bytes(data)
    ingest_all(engine, log_dir)
    filters = {"path": params["path"], **({"kinds": tuple(params["kind"])} if "kind" in params
                                          else {})}
    want = reference.audit(events_of(data), "2024-09-18", "2024-09-19", **filters)
    client = client_for(db_url, log_dir)
    query = "/api/events?" + _query("2024-09-18", "2024-09-19", params) + "&limit=4"
    got, before, sizes = [], None, []
    newest = data.splitlines(keepends=True)[-1]
    for n in range(1000):
        body = events_page(engine, query + (f"&before={before}" if before else ""), scan=scan)
        got += body["events"]
        sizes.append(len(body["events"]))
        before = body["next"]
        if before is None:
            break
        with (log_dir / "sftpgo.log").open("ab") as f:      # between pages: more of the same
            f.write(newest * 2 + attack_lines("2024-09-19", 1 + n % 20)[:400].rsplit(b"\n", 1)[0]
                    + b"\n")
        ingest_all(engine, log_dir)
    assert got == want
    assert len(sizes) > len(want) // 4 + 1 and min(sizes[:-1], default=0) < 4   # short pages
    others = {k: v for k, v in filters.items() if k != "path"}
    examined = reference.audit(events_of(data), "2024-09-18", "2024-09-19", **others)
    assert len(sizes) >= len(examined) // scan                 # each examined <= scan rows
    # unbounded, the CSV has every match of the range at once, new ones included
    rows = list(csv.reader(io.StringIO(client.get(
        "/api/events.csv?" + _query("2024-09-18", "2024-09-19", params)).get_data(as_text=True))))
    fresh = events_page(engine, query.replace("limit=4", "limit=1000"), scan=scan)
    assert len(rows) - 1 >= len(want) and len(fresh["events"]) <= scan


@pytest.mark.parametrize("path, message", [
    ("/api/events?kind=nope", "kind must be one of"),
    ("/api/events?kind=upload&kind=", "kind must be one of"),
    ("/api/events?failed=2", "failed must be 1 or 0"),
    ("/api/events?failed=", "failed must be 1 or 0"),
    ("/api/events?limit=0", "limit must be a whole number from 1 to 1000"),
    ("/api/events?limit=1001", "limit must be a whole number from 1 to 1000"),
    ("/api/events?limit=ten", "limit must be a whole number from 1 to 1000"),
    ("/api/events?before=garbage", "before must be a cursor"),
    ("/api/events?before=WyIyMDI0IiwxLDJd", "before must be a cursor"),    # ["2024",1,2]
    ("/api/events?before=%00%ff", "before must be a cursor"),
    ("/api/events?start=2024-13-01", "start '2024-13-01' is not a day"),
    ("/api/events.csv?kind=nope", "kind must be one of"),
    ("/api/events.csv?end=2024-01-01&start=2024-02-01", "start 2024-02-01 is after end"),
    ("/api/security?limit=0", "limit must be a whole number from 1 to 1000"),
    ("/api/security?limit=1e3", "limit must be a whole number from 1 to 1000"),
    ("/api/security?start=x", "start must be a date"),
    ("/api/users/admin?end=2024-02-30", "end '2024-02-30' is not a day"),
])
def test_bad_input_answers_400_in_json(engine, db_url, log_dir, path, message):
    (log_dir / "sftpgo.log").write_bytes(attack_lines())
    ingest_all(engine, log_dir)
    answer = client_for(db_url, log_dir).get(path)
    assert answer.status_code == 400 and answer.mimetype == "application/json", answer.data[:300]
    assert answer.get_json()["error"].startswith(message)
    assert "Traceback" not in answer.get_data(as_text=True)


def test_a_name_only_seen_in_failed_logins_is_404(engine, db_url, log_dir):
    (log_dir / "sftpgo.log").write_bytes(_line({
        "level": "debug", "time": "2024-09-18T01:00:00.000", "sender": "connection_failed",
        "client_ip": "203.0.113.9", "username": "ghost", "login_type": "password",
        "protocol": "SSH", "error": "invalid credentials"}))
    ingest_all(engine, log_dir)
    answer = client_for(db_url, log_dir).get("/api/users/ghost")
    assert answer.status_code == 404 and list(answer.get_json()) == ["error"]


def test_the_csv_is_built_a_keyset_page_at_a_time(engine, db_url, log_dir):
    from datetime import date

    from dashboard import audit
    (log_dir / "sftpgo.log").write_bytes(attack_lines())
    ingest_all(engine, log_dir)
    filters = audit.Filters(date(2024, 9, 18), date(2024, 9, 18))
    chunks = list(audit.csv_chunks(engine, filters, page_size=10))
    whole = client_for(db_url, log_dir).get("/api/events.csv?start=2024-09-18&end=2024-09-18")
    assert whole.mimetype == "text/csv" and whole.is_streamed
    rows = whole.get_data(as_text=True).count("\r\n") - 1
    assert "".join(chunks) == whole.get_data(as_text=True)
    assert len(chunks) == rows // 10 + 1 and rows > 100          # one chunk per page of 10
