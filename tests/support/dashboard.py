"""Helpers for the dashboard tests: rows written straight into the rollup and status tables."""
from __future__ import annotations

import json

import http.client
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl

import sqlalchemy as sa
from datetime import date, timedelta
from werkzeug.datastructures import MultiDict

from app import create_app
from dashboard import audit
from ingestion.run import Ingester
from settings import Settings
from tests import reference

ROOT = Path(__file__).resolve().parents[2]      # the repository: where app.py runs
NOW = "2024-09-18T12:00:00.000000"


def add_stats(engine, rows, node: str = "node1") -> None:
    """Inserts daily_stats rows (day, kind, username, events, bytes, failed) of ``node``."""
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO daily_stats (day, kind, username, node, events, bytes,"
                             " failed) VALUES (:d, :k, :u, :n, :e, :b, :f)"),
                     [{"d": d, "k": k, "u": u, "n": node, "e": e, "b": b, "f": f}
                      for d, k, u, e, b, f in rows])


def add_event(engine, ts: str, kind: str = "upload", username: str = "alice", offset: int = 0,
              file_id: int = 1) -> None:
    """Inserts one events row (only the columns the dashboard reads matter)."""
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO events (file_id, start_offset, end_offset, ts, day, kind, username,"
            " size_bytes, failed, action) VALUES (:f, :o, :o2, :ts, :day, :k, :u, 1, 0, 'Upload')"),
            {"f": file_id, "o": offset, "o2": offset + 10, "ts": ts, "day": ts[:10], "k": kind,
             "u": username})


def add_file(engine, path: str, state: str = "active", size_seen: int = 0, offset: int | None = 0,
             lines: int = 0, events: int = 0, malformed: int = 0, bytes_lost: int = 0,
             error: str | None = None, node: str = "node1") -> int:
    """Inserts a log_files row and (unless offset is None) its checkpoint; returns its id."""
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO log_files (node, head, path, first_path, state, size_seen, bytes_lost,"
            " error, created_at, updated_at) VALUES (:node, :h, :p, :p, :s, :z, :l, :e, :n, :n)"),
            {"node": node, "h": path.encode(), "p": path, "s": state, "z": size_seen,
             "l": bytes_lost, "e": error, "n": NOW})
        file_id = conn.execute(sa.text("SELECT MAX(id) FROM log_files")).scalar()
        if offset is not None:
            conn.execute(sa.text(
                "INSERT INTO checkpoints (file_id, committed_offset, marker, line_count,"
                " event_count, malformed_count, updated_at) VALUES (:f, :o, :m, :l, :e, :x, :n)"),
                {"f": file_id, "o": offset, "m": b"", "l": lines, "e": events, "x": malformed,
                 "n": NOW})
    return file_id


def set_ingest_status(engine, last_pass_at=None, last_error=None, last_error_at=None,
                      node: str = "node1", epoch: float | None = None) -> None:
    """Sets a node's last pass and error (its node_status row)."""
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM node_status WHERE node = :node"), {"node": node})
        conn.execute(sa.text("INSERT INTO node_status (node, last_pass_at, last_pass_epoch,"
                             " last_error, last_error_at) VALUES (:node, :a, :x, :e, :t)"),
                     {"node": node, "a": last_pass_at, "x": epoch, "e": last_error,
                      "t": last_error_at})


def closed_port() -> int:
    """Returns a local TCP port nothing listens on (connections are refused at once)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- log lines ---------------------------------------------------------------------------

def sftpgo_line(ts: str, sender: str, user: str, size: int | None = None,
                error: str | None = None, path: str = "/srv/sftpgo/data/f.bin") -> bytes:
    """Returns one SFTPGo 2.6 JSON log line (with its newline): a transfer, file op or login."""
    import json
    obj = {"level": "info", "time": ts, "sender": sender, "local_addr": "172.18.0.2:2022",
           "remote_addr": "10.1.2.3:5555", "username": user, "connection_id": "SFTP_ab12_1",
           "protocol": "SFTP"}
    if sender in ("Upload", "Download"):
        obj.update(elapsed_ms=12, size_bytes=size or 0, file_path=path)
    elif sender == "login":
        obj.update(method="password")
    elif sender == "connection_failed":
        obj.update(error="authentication failed")
    else:
        obj.update(file_path=path)
    if error:
        obj["error"] = error
    return json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n"


# --- sums past 64 bits -------------------------------------------------------------------

HUGE_DAYS = ("2024-09-01", "2024-09-02", "2024-09-03", "2024-09-04")
HUGE_USERS = ("huge-a", "huge-b", "huge-c")


def huge_rows() -> list[tuple]:
    """Returns daily_stats rows with bytes just under 2^62 for three users, four days, both
    directions: each user's sums pass 2^63 and the totals pass 2^64."""
    return [(day, kind, user, 1, 2**62 - 1 - 1000 * i - 10 * j - (kind == "upload"), 0)
            for i, user in enumerate(HUGE_USERS) for j, day in enumerate(HUGE_DAYS)
            for kind in ("upload", "download")]


def huge_sums() -> dict:
    """Returns the exact sums of huge_rows(): {(user or '', kind): bytes} ('' = everyone)."""
    sums: dict = {}
    for _day, kind, user, _events, nbytes, _failed in huge_rows():
        for key in ((user, kind), ("", kind)):
            sums[key] = sums.get(key, 0) + nbytes
    return sums


# --- figures ----------------------------------------------------------------------------

def plotly(fig: dict):
    """Returns a figure (the plain data the builders make) as Plotly's object, which
    validates every property of it (an unknown or malformed one raises) and reads as
    attributes: fig.data[0].y, fig.layout.yaxis.type."""
    import plotly.graph_objects as go
    return go.Figure(fig)


# --- a real server process ------------------------------------------------------------

def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(x) for x in text.split()]


def get(port: int, path: str) -> int:
    """Returns the status of GET ``path`` (the answer read in full, the connection closed)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        conn.close()


def wait_until_serving(proc: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited with {proc.returncode}")
        try:
            get(port, "/api/status")
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not answer within 60 s")


def server_command(kind: str, port: int, db_url: str, log_dir) -> list[str]:
    if kind == "gunicorn":
        return [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "-w", "1",
                "-b", f"127.0.0.1:{port}", "app:wsgi()"]
    return [sys.executable, "app.py", "--port", str(port), "--db", db_url, "--log-dir", str(log_dir)]


SAMPLES = Path(__file__).resolve().parents[1] / "data"


SAMPLE_FILES = ["msda-excerpt.log", "public-lines.jsonl"]


def client_for(db_url: str, log_dir, **changes):
    return create_app(Settings(db_url=db_url, log_dir=str(log_dir), **changes)).server.test_client()


def events_page(engine, url: str, **bounds) -> dict:
    """Returns the events and next of the /api/events page ``url`` asks for, read as the API
    reads it (audit.parse_filters, parse_limit, page) but with ``bounds`` (audit.page's
    ``scan``, ``max_bound_files``) lowered to reach them with little data."""
    args = MultiDict(parse_qsl(url.split("?", 1)[-1], keep_blank_values=True))
    filters = audit.parse_filters(args, date.today(), date.fromisoformat(Settings().default_start))
    return audit.page(engine, filters, audit.parse_limit(args.get("limit")), args.get("before"),
                      **bounds)


def ingest_all(engine, log_dir) -> None:
    ingester = Ingester(engine, Settings(log_dir=str(log_dir)))
    for _ in range(100):
        progress = ingester.run_pass()
        if progress.complete or (not progress.busy and progress.bytes_done == 0):
            return
    raise AssertionError("ingestion did not finish")


def reference_events(data: bytes) -> list[dict]:
    """Returns the events of a file's complete lines, per tests/reference.py (no engine code)."""
    return [e for e in map(reference.event_of, reference.physical_lines(data)) if e]


def expected_stats(events: list[dict], start: date, end: date) -> dict:
    """Returns the /api/stats body the contract gives for ``events`` and start..end."""
    figures = reference.stats(events, start.isoformat(), end.isoformat())
    per_user = figures.pop("per_user")
    users = []
    for u in per_user.values():
        transfers = u["uploads"] + u["downloads"]
        volume = u["bytes_uploaded"] + u["bytes_downloaded"]
        users.append({**u, "transfers": transfers,
                      "avg_bytes_per_transfer": round(volume / transfers, 2) if transfers else None})
    days = []
    day = start
    while day <= end:
        counts = {k: sum(1 for e in events if e["day"] == day.isoformat() and e["kind"] == k)
                  for k in ("upload", "download", "file_op", "login", "login_failed", "ban")}
        days.append({"date": day.isoformat(), **counts, "total": sum(counts.values())})
        day += timedelta(days=1)
    return {"start": start.isoformat(), "end": end.isoformat(), "totals": figures,
            "users": users, "days": days}


def by_name(users: list[dict]) -> dict:
    return {u["username"]: u for u in users}


def flatten(node) -> str:
    """Returns the text a component tree shows."""
    if isinstance(node, str):
        return node
    if isinstance(node, (list, tuple)):
        return "".join(flatten(n) for n in node)
    children = getattr(node, "children", None)
    return flatten(children) if children is not None else ""


NAMES = ["admin", "Admin", "admin ", "", "root", "a/b", "100%_sure", "<b>x</b>", "ß\u202eevil"]


IPS = ["203.0.113.9", "2001:db8::9", "45.25.4.159", "198.51.100.7"]


def events_of(data: bytes) -> list[dict]:
    """Returns the reference events of one file's bytes, each with its byte offset as pos."""
    out, pos = [], 0
    for line in reference.physical_lines(data):
        e = reference.event_of(line)
        if e:
            out.append({**e, "pos": pos})
        pos += len(line) + 1
    return out


def _line(obj: dict) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n"


def attack_lines(day: str = "2024-09-18", hour: int = 3) -> bytes:
    """Returns a realistic log of a day: transfers, file ops, 2.7 and text logins, dictionary
    attacks with hostile names, bans (one IP with bans only), identical lines."""
    lines = []
    for i in range(60):
        t = f"{day}T{hour + i // 30:02d}:{(i * 2) % 60:02d}:{i % 60:02d}.{i * 7 % 1000:03d}"
        user, ip = NAMES[i % len(NAMES)], IPS[i % len(IPS)]
        lines.append(_line({"level": "debug", "time": t, "sender": "connection_failed",
                            "client_ip": ip, "username": user,
                            "login_type": ["password", "publickey", "no_auth_tried"][i % 3],
                            **({"protocol": ["SSH", "FTP"][i % 2]} if i % 5 else {}),
                            "error": "invalid credentials"}))
        if i % 4 == 0:
            lines.append(_line({"level": "info", "time": t, "sender": "Upload",
                                "remote_addr": f"{ip}:5000" if ":" not in ip else f"[{ip}]:5000",
                                "elapsed_ms": i, "size_bytes": i * 1000, "username": user,
                                "file_path": ["/d/100%_done.txt", "/d/100x_done.txt",
                                              "/D/UP.TXT", "/d/up.txt"][i % 16 // 4],
                                "connection_id": f"SFTP_{i}_1", "protocol": "SFTP",
                                **({"error": "unexpected EOF"} if i % 8 == 0 else {})}))
        if i % 6 == 1:
            lines.append(_line({"level": "info", "time": t, "sender": "login", "ip": ip,
                                "username": user, "method": "password", "protocol": "SSH",
                                "connection_id": f"c{i}"}))
        if i % 10 == 9:
            lines.append(_line({"level": "info", "time": t, "sender": "defender",
                                "client_ip": ip if i % 20 != 19 else "192.0.2.1", "protocol": "SSH",
                                "event": "banned"}))
        if i % 7 == 2:
            lines.append(_line({"level": "info", "time": t, "sender": "Rename",
                                "remote_addr": "10.0.0.1:1", "username": user,
                                "file_path": "/d/a_b", "target_path": "/d/c", "elapsed": 3,
                                "connection_id": f"SFTP_{i}_1", "protocol": "SFTP"}))
    lines.append(_line({"level": "info", "time": f"{day}T23:00:00.000", "sender": "SSH",
                        "message": 'User "admin " logged in with "publickey: SHA256:x:y", '
                                   'from ip "198.51.100.7", client version "SSH-2.0-x"'}))
    same = _line({"level": "info", "time": f"{day}T23:00:01.000", "sender": "Download",
                  "remote_addr": "10.0.0.2:2", "elapsed_ms": 1, "size_bytes": 5,
                  "username": "admin", "file_path": "/d/same", "protocol": "SFTP"})
    lines += [same] * 5                                  # identical lines: five events
    return b"".join(lines)


def fetch(port: int, path: str, gzip: bool = False) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "gzip"} if gzip else {})
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()
