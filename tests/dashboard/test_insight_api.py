"""The insight views (insight.md) on both backends, against tests/reference.py: client
families of real 2.6 and 2.7 login lines, plain-text logins, folder sums at every depth,
countries of well-known addresses (null for private and documentation ones), the period
before at the range's edges, the weekday x hour cells; bad parameters answer 400."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from dashboard import geo, insight
from dashboard.span import Span
from tests import reference

from tests.support.dashboard import SAMPLES, attack_lines, client_for, events_of, ingest_all

# SFTPGo 2.7 login lines: the three of sftpgo-log-format.md §3.3 (no real 2.7 login line has
# been published), and the same facts over the other protocols
LOGINS_27 = [
    {"level": "info", "time": "2026-10-01T16:53:57.743", "sender": "login", "ip": "127.0.0.1",
     "username": "dtd-push", "method": "keyboard-interactive", "protocol": "SSH",
     "connection_id": "adb66d8d0c4e", "client": "SSH-2.0-OpenSSH_10.2", "encrypted": True,
     "info": "negotiated algorithms: {...}"},
    {"level": "info", "time": "2025-11-03T09:01:12.044", "sender": "login", "ip": "198.51.100.23",
     "username": "bob", "method": "password", "protocol": "HTTP",
     "client": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
     "encrypted": True},
    {"level": "info", "time": "2025-11-03T09:05:40.310", "sender": "login", "ip": "203.0.113.7",
     "username": "alice", "method": "password", "protocol": "FTP", "connection_id": "FTP_0_17",
     "client": "", "encrypted": False},
]


def _line(obj: dict) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n"


def insight_lines(day: str = "2024-09-18") -> bytes:
    """Returns a day of logins of every client shape (2.7 fields, 2.6 client versions, none,
    plain FTP and HTTP) and transfers into folders of every shape (deep, shallow, at the
    root, without a separator, Windows, an object key, unicode, hostile names)."""
    clients = ["SSH-2.0-OpenSSH_9.6", "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10",
               "SSH-2.0-rclone/v1.53.3-DEV", "SSH-2.0-PuTTY_Release_0.80", "SSH-1.99-Cisco-1.25",
               "SSH-2.0-paramiko_3.4.0", "Mozilla/5.0 (Windows NT 10.0) Firefox/128.0",
               "curl/8.5.0", "FileZilla 3.66", "SSH-2.0-", None]
    paths = ["/srv/data/acme/in/2024/09/f.csv", "/srv/data/acme/out/r.pdf", "/srv/data/x.bin",
             "/srv/f.csv", "/f.csv", "f.csv", "C:\\sftp\\data\\u\\x.pdf", "bucket/dir/obj",
             "/srv/data/ü/日本/f", "/srv/data/a b/<b>x</b>/f", "/a/b/c/d/e/f/g/h/i/j/k/file"]
    users = ["alice", "bob", "Alice", "alice ", "backup"]
    lines = []
    for i in range(80):
        t = f"{day}T{i % 24:02d}:{i % 60:02d}:{i % 57:02d}.{i * 13 % 1000:03d}"
        user = users[i % len(users)]
        client = clients[i % len(clients)]
        if i % 3 == 0:                                  # a 2.7 login
            obj = {"level": "info", "time": t, "sender": "login", "ip": "8.8.8.8",
                   "username": user, "method": "password",
                   "protocol": ["SSH", "FTP", "HTTP", "DAV"][i % 4]}
            if client is not None:
                obj["client"] = client
            if i % 4 != 3:
                obj["encrypted"] = i % 5 != 1
            lines.append(_line(obj))
        elif i % 3 == 1:                                # a 2.6 SSH text login
            version = f', client version "{client}"' if client else ""
            lines.append(_line({"level": "info", "time": t, "sender": "SSH",
                                "message": f'User "{user}" logged in with "password", from ip '
                                           f'"1.1.1.1"{version}, negotiated algorithms: {{}}'}))
        lines.append(_line({"level": "info", "time": t, "sender": ["Upload", "Download"][i % 2],
                            "remote_addr": "10.0.0.1:22", "elapsed_ms": 3,
                            "size_bytes": i * 1_000_003 % 7_000_001, "username": user,
                            "file_path": paths[i % len(paths)], "protocol": "SFTP",
                            **({"error": "EOF"} if i % 9 == 0 else {})}))
    lines.append(_line({"level": "info", "time": f"{day}T05:00:00.000", "sender": "FTP",
                        "message": 'User "bob" logged in with "password" from ip "1.2.3.4", '
                                   'TLS enabled? false'}))
    return b"".join(lines) + b"".join(_line(o) for o in LOGINS_27)


@pytest.fixture(params=["msda-excerpt.log", "public-lines.jsonl", "generated"])
def logged(request, engine, log_dir) -> list[dict]:
    """Ingests a real sample, or the generated logins and folders with an attack; returns
    its reference events."""
    if request.param == "generated":
        data = insight_lines("2024-09-17") + insight_lines() + attack_lines()
    else:
        data = (SAMPLES / request.param).read_bytes()
    (log_dir / "sftpgo.log").write_bytes(data)
    ingest_all(engine, log_dir)
    return events_of(data)


def _range(events) -> tuple[str, str]:
    days = sorted(e["day"] for e in events if e["day"][:4].isdigit())
    return days[0], days[-1]


def test_clients_equal_the_contract(logged, db_url, log_dir):
    client = client_for(db_url, log_dir)
    first, last = _range(logged)
    for start, end in ((first, last), (last, last), ("2000-01-01", "2000-01-02")):
        answer = client.get(f"/api/clients?start={start}&end={end}")
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json() == reference.clients(logged, start, end), (start, end)


def test_the_client_families_of_real_login_lines(engine, db_url, log_dir):
    """The real 2.6 SSH logins of msda-excerpt.log (rclone) and the 2.7 lines of the format
    doc: each client, its family, and who logged in without encryption."""
    data = (SAMPLES / "msda-excerpt.log").read_bytes() + b"".join(_line(o) for o in LOGINS_27)
    (log_dir / "sftpgo.log").write_bytes(data)
    ingest_all(engine, log_dir)
    body = client_for(db_url, log_dir).get("/api/clients?start=2024-01-01&end=2026-12-31").get_json()
    assert body["clients"] == [
        {"client": "SSH-2.0-rclone/v1.53.3-DEV", "family": "rclone", "logins": 3, "users": 1},
        {"client": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
         "family": "Mozilla", "logins": 1, "users": 1},
        {"client": "SSH-2.0-OpenSSH_10.2", "family": "OpenSSH", "logins": 1, "users": 1},
        {"client": None, "family": "(unknown)", "logins": 1, "users": 1}]
    assert body["families"][0] == {"family": "rclone", "logins": 3, "users": 1}
    assert body["plaintext"] == {"logins": 1, "users": ["alice"]}      # FTP without TLS


@pytest.mark.parametrize("client, family", [
    ("SSH-2.0-OpenSSH_9.6", "OpenSSH"), ("SSH-2.0-rclone/v1.53.3-DEV", "rclone"),
    ("SSH-2.0-PuTTY_Release_0.80", "PuTTY"), ("SSH-1.99-Cisco-1.25", "Cisco"),
    ("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10", "OpenSSH"), ("SSH-2.0-WinSCP_release_6.3", "WinSCP"),
    ("Mozilla/5.0 (X11; Linux x86_64)", "Mozilla"), ("curl/8.5.0", "curl"),
    ("FileZilla 3.66", "FileZilla"), ("rclone", "rclone"), (None, "(unknown)"),
    ("SSH-2.0-", ""), ("ssh-2.0-lower_1", "ssh-2.0-lower_1"),
])
def test_a_clients_family_is_its_softwares_name(client, family):
    assert insight.family(client) == reference.family(client) == family


def test_paths_sum_their_folders_at_every_depth(logged, db_url, log_dir):
    client = client_for(db_url, log_dir)
    first, last = _range(logged)
    for depth in range(1, 9):
        for start, end in ((first, last), (last, last)):
            answer = client.get(f"/api/paths?start={start}&end={end}&depth={depth}&limit=1000")
            assert answer.status_code == 200, answer.get_json()
            assert answer.get_json() == reference.paths(logged, start, end, depth, limit=1000), \
                (depth, start, end)
    for user, limit in (("alice", 3), ("alice ", 100), ("nobody", 100)):
        got = client.get("/api/paths", query_string={"start": first, "end": last, "depth": 3,
                                                     "user": user, "limit": limit}).get_json()
        assert got == reference.paths(logged, first, last, 3, user, limit), user
    default = client.get(f"/api/paths?start={first}&end={last}").get_json()
    assert default == reference.paths(logged, first, last, 2, limit=100)


def test_paths_read_in_folder_order_or_by_day_answer_the_same(logged, engine):
    """MySQL/MariaDB reads path_daily in folder order (migration 020's index) for a range
    covering much of what is stored, else by day: both orders give the contract's answer at
    every depth and cut (SQLite has one order; the choice is ignored there)."""
    first, last = _range(logged)
    for depth in range(1, 9):
        for start, end in ((first, last), (last, last)):
            span = Span(date.fromisoformat(start), date.fromisoformat(end))
            for limit in (1, 3, 1000):
                want = reference.paths(logged, start, end, depth, limit=limit)
                for by_folder in (True, False):
                    got = insight.paths(engine, span, depth, limit=limit, by_folder=by_folder)
                    assert got == want, (depth, start, end, limit, by_folder)


def test_every_transfer_is_in_one_folder_at_each_depth(engine, db_url, log_dir):
    data = insight_lines()
    (log_dir / "sftpgo.log").write_bytes(data)
    ingest_all(engine, log_dir)
    transfers = [e for e in events_of(data) if e["kind"] in ("upload", "download")]
    client = client_for(db_url, log_dir)
    for depth in (1, 2, 3, 5, 8):
        body = client.get(f"/api/paths?start=2024-09-18&end=2024-09-18&depth={depth}"
                          "&limit=1000").get_json()
        assert sum(p["uploads"] + p["downloads"] for p in body["paths"]) == len(transfers)
        assert sum(p["bytes_uploaded"] + p["bytes_downloaded"] for p in body["paths"]) == \
            sum(e["size_bytes"] for e in transfers)
    names = {p["path"] for p in client.get("/api/paths?start=2024-09-18&end=2024-09-18&depth=3"
                                           "&limit=1000").get_json()["paths"]}
    assert {"/srv/data/acme", "/srv/data", "/srv", "/", "", "C:\\sftp\\data",
            "bucket/dir", "/srv/data/ü", "/a/b/c"} <= names


def test_the_top_folders_are_cut_exactly_past_a_floats_precision(engine, db_url, log_dir):
    """The ranking is done by the database (a year's folders are not carried to Python to
    keep a hundred), first by a float total: folders whose totals differ by one byte past
    2^53, and ties at the cut, still come out as the exact ranking at every limit."""
    lines, day = [], "2024-09-18"
    # 16 transfers of 2^50 bytes (the most one can be) and 0..4 bytes: totals of 2^54 + 0..4
    sizes = {f"/big/f{i}": [2 ** 50] * 16 + [i % 5] for i in range(12)}
    sizes.update({f"/tie/t{i}": [3000] for i in range(6)})               # six equal totals
    sizes.update({f"/small/s{i}": [i + 1, 2 ** 40] for i in range(8)})
    for n, (folder, parts) in enumerate(sorted(sizes.items())):
        for k, size in enumerate(parts):
            lines.append(_line({"level": "info", "time": f"{day}T10:{n % 60:02d}:{k:02d}.000",
                                "sender": "Upload", "remote_addr": "10.0.0.1:22",
                                "elapsed_ms": 1, "size_bytes": size, "username": f"u{k % 3}",
                                "file_path": f"{folder}/x{k}.bin", "protocol": "SFTP"}))
    data = b"".join(lines)
    (log_dir / "sftpgo.log").write_bytes(data)
    ingest_all(engine, log_dir)
    events = events_of(data)
    assert len(events) == len(lines)
    client = client_for(db_url, log_dir)
    for limit in range(1, len(sizes) + 2):
        got = client.get(f"/api/paths?start={day}&end={day}&depth=2&limit={limit}").get_json()
        assert got == reference.paths(events, day, day, 2, limit=limit), limit
        assert len(got["paths"]) == min(limit, len(sizes))


@pytest.mark.parametrize("query, error", [
    ("depth=0", "depth must be a whole number from 1 to 8, not '0'"),
    ("depth=9", "depth must be a whole number from 1 to 8, not '9'"),
    ("depth=two", "depth must be a whole number from 1 to 8, not 'two'"),
    ("depth=", "depth must be a whole number from 1 to 8, not ''"),
    ("depth=-1", "depth must be a whole number from 1 to 8, not '-1'"),
    ("limit=0", "limit must be a whole number from 1 to 1000, not '0'"),
    ("limit=1001", "limit must be a whole number from 1 to 1000, not '1001'"),
    ("limit=1e3", "limit must be a whole number from 1 to 1000, not '1e3'"),
    ("start=2024-02-30", "start '2024-02-30' is not a day of the calendar"),
])
def test_bad_paths_parameters_answer_400(sqlite_url, log_dir, query, error):
    answer = client_for(sqlite_url, log_dir).get(f"/api/paths?{query}")
    assert answer.status_code == 400 and answer.get_json() == {"error": error}


@pytest.mark.parametrize("path", ["/api/clients", "/api/activity", "/api/security"])
def test_bad_ranges_and_nodes_answer_400_on_every_insight_view(sqlite_url, log_dir, path):
    client = client_for(sqlite_url, log_dir)
    for query in ("start=2024-09-19&end=2024-09-18", "start=yesterday", "node=a%20b",
                  "hours=0", "days=2&hours=3"):
        answer = client.get(f"{path}?{query}")
        assert answer.status_code == 400 and set(answer.get_json()) == {"error"}, query
    assert client.post(path).status_code == 405


def test_activity_cells_sum_to_the_events(logged, db_url, log_dir):
    client = client_for(db_url, log_dir)
    first, last = _range(logged)
    body = client.get(f"/api/activity?start={first}&end={last}").get_json()
    assert body == reference.activity(logged, first, last)
    assert len(body["hours"]) == 7 and all(len(row) == 24 for row in body["hours"])
    stats = client.get(f"/api/stats?start={first}&end={last}").get_json()
    assert sum(map(sum, body["hours"])) == sum(d["total"] - d["ban"] for d in stats["days"])


def _edge_lines() -> bytes:
    """Transfers just either side of midnight, month and year ends."""
    lines = []
    for i, t in enumerate(["2024-08-31T23:59:59.999", "2024-09-01T00:00:00.000",
                           "2024-09-07T23:59:59.999", "2024-09-08T00:00:00.000",
                           "2024-09-14T23:59:59.999", "2024-09-15T00:00:00.000",
                           "2023-12-31T23:59:59.999", "2024-01-01T00:00:00.000",
                           "2024-02-29T12:00:00.000", "2024-03-01T00:00:00.000"]):
        lines.append(_line({"level": "info", "time": t, "sender": "Upload",
                            "remote_addr": "10.0.0.1:22", "size_bytes": 10 ** i,
                            "username": f"u{i % 3}", "file_path": f"/d{i}/f",
                            "protocol": "SFTP"}))
        lines.append(_line({"level": "debug", "time": t, "sender": "connection_failed",
                            "client_ip": "8.8.4.4", "username": "root", "login_type": "password",
                            "protocol": "SSH", "error": "x"}))
    return b"".join(lines)


@pytest.mark.parametrize("start, end", [
    ("2024-09-08", "2024-09-14"), ("2024-09-01", "2024-09-07"), ("2024-09-15", "2024-09-15"),
    ("2024-01-01", "2024-01-01"), ("2024-03-01", "2024-03-01"), ("2024-01-01", "2024-02-29"),
    ("2020-01-01", "2020-01-03"),
])
def test_the_period_before_at_the_ranges_edges(engine, db_url, log_dir, start, end):
    data = _edge_lines()
    (log_dir / "sftpgo.log").write_bytes(data)
    ingest_all(engine, log_dir)
    body = client_for(db_url, log_dir).get(f"/api/stats?start={start}&end={end}").get_json()
    assert body["previous"] == reference.previous(events_of(data), start, end)
    n = (date.fromisoformat(end) - date.fromisoformat(start)).days + 1
    assert body["previous"]["end"] == (date.fromisoformat(start) - timedelta(days=1)).isoformat()
    assert (date.fromisoformat(body["previous"]["end"])
            - date.fromisoformat(body["previous"]["start"])).days + 1 == n


def test_the_period_before_the_first_day_of_the_calendar_is_null(sqlite_url, log_dir):
    body = client_for(sqlite_url, log_dir).get("/api/stats?start=0001-01-01&end=0001-01-05")
    assert body.status_code == 200 and body.get_json()["previous"] is None


# --- countries -------------------------------------------------------------------------------

WELL_KNOWN = [("8.8.8.8", "US"), ("1.1.1.1", "AU"), ("1.0.16.1", "JP"), ("114.114.114.114", "CN"),
              ("77.88.8.8", "RU"), ("2001:4860:4860::8888", "US"), ("::ffff:8.8.8.8", "US")]
NO_COUNTRY = ["10.0.0.1", "172.16.5.4", "192.168.1.144", "127.0.0.1", "::1", "fe80::1",
              "fc00::1", "100.64.0.1", "169.254.1.1", "0.0.0.0", "255.255.255.255",
              "192.0.2.1", "198.51.100.7", "203.0.113.9", "2001:db8::9", "224.0.0.1", "",
              "x.x.x.x", "REDACTED", "8.8.8.8:22", "[2001:db8::1]"]


@pytest.mark.parametrize("ip, country", WELL_KNOWN + [(ip, None) for ip in NO_COUNTRY])
def test_countries_of_well_known_and_special_addresses(ip, country):
    assert geo.locator("")(ip) == reference.country(ip) == country


def test_security_lists_countries(engine, db_url, log_dir):
    lines = []
    for i, ip in enumerate(["8.8.8.8"] * 3 + ["8.8.4.4", "1.1.1.1", "192.168.1.9", "203.0.113.9",
                            ""] * 2):
        lines.append(_line({"level": "debug", "time": f"2024-09-18T03:00:{i:02d}.000",
                            "sender": "connection_failed", "client_ip": ip, "username": "root",
                            "login_type": "password", "protocol": "SSH", "error": "x"}))
    lines.append(_line({"level": "info", "time": "2024-09-18T04:00:00.000", "sender": "defender",
                        "client_ip": "77.88.8.8", "protocol": "SSH", "event": "banned"}))
    data = b"".join(lines)
    (log_dir / "sftpgo.log").write_bytes(data)
    ingest_all(engine, log_dir)
    client = client_for(db_url, log_dir)
    body = client.get("/api/security?start=2024-09-18&end=2024-09-18").get_json()
    assert body == reference.security_with_countries(events_of(data), "2024-09-18", "2024-09-18")
    assert body["by_country"] == [{"country": None, "failures": 6, "ips": 2},   # '' no IP
                                  {"country": "US", "failures": 5, "ips": 2},
                                  {"country": "AU", "failures": 2, "ips": 1}]
    assert {r["ip"]: r["country"] for r in body["by_ip"]} == {
        "8.8.8.8": "US", "8.8.4.4": "US", "1.1.1.1": "AU", "192.168.1.9": None,
        "203.0.113.9": None, "": None, "77.88.8.8": "RU"}
    assert "RU" not in {c["country"] for c in body["by_country"]}       # bans only: no failure
    short = client.get("/api/security?start=2024-09-18&end=2024-09-18&limit=1").get_json()
    assert short["by_country"] == body["by_country"][:1]


def test_a_geoip_db_file_places_the_ips_instead(engine, db_url, log_dir, tmp_path):
    """GEOIP_DB: an .mmdb in MaxMind's country layout (written here) wins over the
    built-in data; a file that is not one stops the dashboard at its start, saying why."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    import app
    from settings import ConfigError, Settings
    writer = MMDBWriter(ip_version=6, database_type="GeoLite2-Country", ipv4_compatible=True)
    writer.insert_network(IPSet(["8.8.8.0/24"]), {"country": {"iso_code": "DE"}})
    writer.insert_network(IPSet(["1.1.1.0/24"]), {"registered_country": {"iso_code": "nz"}})
    path = tmp_path / "countries.mmdb"
    writer.to_db_file(str(path))
    locate = geo.locator(str(path))
    assert [locate(ip) for ip in ("8.8.8.8", "1.1.1.1", "9.9.9.9", "10.0.0.1")] == \
        ["DE", "NZ", None, None]
    (log_dir / "sftpgo.log").write_bytes(b"".join(_line(
        {"level": "debug", "time": "2024-09-18T03:00:00.000", "sender": "connection_failed",
         "client_ip": ip, "username": "root", "login_type": "password", "protocol": "SSH",
         "error": "x"}) for ip in ("8.8.8.8", "1.1.1.1")))
    ingest_all(engine, log_dir)
    body = client_for(db_url, log_dir, geoip_db=str(path)).get(
        "/api/security?start=2024-09-18&end=2024-09-18").get_json()
    assert [r["country"] for r in body["by_ip"]] == ["NZ", "DE"]
    bad = tmp_path / "not.mmdb"
    bad.write_bytes(b"not a database")
    with pytest.raises(ConfigError, match="GEOIP_DB=.*cannot be read as a MaxMind DB"):
        app.create_app(Settings(db_url=db_url, log_dir=str(log_dir), geoip_db=str(bad)))
    with pytest.raises(ConfigError, match="GEOIP_DB"):
        app.create_app(Settings(db_url=db_url, log_dir=str(log_dir),
                                geoip_db=str(tmp_path / "missing.mmdb")))
