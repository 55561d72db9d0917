"""Ground truth for ingestion tests: real lines written to real files, and what the DB holds."""
from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import sqlalchemy as sa

from ingestion import parse
from ingestion.run import Ingester
from settings import Settings
import db

ROOT = Path(__file__).resolve().parents[2]
_T0 = datetime(2024, 9, 18, 3, 0, 0)


def event_line(seq: int, user: str = "alice", sender: str = "Upload", size: int = 1000,
               ms: int | None = None, error: str | None = None) -> bytes:
    """Returns a realistic 2.6 transfer line; ``seq`` goes in the path so rows can be told apart."""
    ts = (_T0 + timedelta(milliseconds=seq if ms is None else ms)).isoformat(timespec="milliseconds")
    obj = {"level": "info", "time": ts, "sender": sender, "local_addr": "172.18.0.2:2022",
           "remote_addr": "10.1.2.3:5555", "elapsed_ms": 12, "size_bytes": size, "username": user,
           "file_path": f"/srv/sftpgo/data/{user}/f{seq}.bin",
           "connection_id": "SFTP_ab12_1", "protocol": "SFTP"}
    if error:
        obj["error"] = error
    return orjson.dumps(obj) + b"\n"


def failure_line(seq: int, user: str = "admin", ip: str = "203.0.113.9",
                 method: str = "password", protocol: str | None = "SSH",
                 ms: int | None = None) -> bytes:
    """Returns a connection_failed line (a failed login)."""
    ts = (_T0 + timedelta(milliseconds=seq if ms is None else ms)).isoformat(timespec="milliseconds")
    obj = {"level": "debug", "time": ts, "sender": "connection_failed", "client_ip": ip,
           "username": user, "login_type": method, "protocol": protocol,
           "error": "invalid credentials"}
    if protocol is None:
        del obj["protocol"]
    return orjson.dumps(obj) + b"\n"


def ban_line(seq: int, ip: str = "203.0.113.9", ms: int | None = None) -> bytes:
    """Returns a defender ban line."""
    ts = (_T0 + timedelta(milliseconds=seq if ms is None else ms)).isoformat(timespec="milliseconds")
    return orjson.dumps({"level": "info", "time": ts, "sender": "defender", "client_ip": ip,
                         "protocol": "SSH", "event": "banned"}) + b"\n"


def noise_line(seq: int) -> bytes:
    """Returns a debug line that is not an event."""
    ts = (_T0 + timedelta(milliseconds=seq)).isoformat(timespec="milliseconds")
    return orjson.dumps({"level": "debug", "time": ts, "sender": "SFTP",
                         "connection_id": "SFTP_ab12_1",
                         "message": f"transfer added, id: {seq}, active transfers: 1"}) + b"\n"


def expected_events(lines) -> Counter:
    """Returns the multiset of event rows the counting rules give for complete lines."""
    out = Counter()
    for line in lines:
        r = parse.classify(line.rstrip(b"\n"))
        if type(r) is tuple:
            out[(r[0], r[2], r[3], r[4], r[5], r[9])] += 1
    return out


def db_events(engine) -> Counter:
    """Returns the multiset of (ts, kind, username, size_bytes, failed, file_path) in events."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT ts, kind, username, size_bytes, failed, file_path FROM events")).all()
    return Counter((_ts(r[0]), r[1], r[2], r[3], int(r[4]), r[5]) for r in rows)


def rare_mismatch(engine) -> list[str]:
    """Returns how events_rare (MySQL/MariaDB, migration 013) differs from the rare events it
    must mirror, a key each (failed ones, non-transfer kinds); [] when it mirrors them, and
    on SQLite, which has no such table (its partial indexes are the same rows)."""
    if engine.dialect.name != "mysql":
        return []
    with engine.connect() as conn:
        want = {(r[0], r[1], _ts(r[2]) if r[3] else None,
                 None if r[4] in ("upload", "download") else r[4],
                 None if r[4] in ("upload", "download") else _ts(r[2]))
                for r in conn.execute(sa.text(
                    "SELECT file_id, start_offset, ts, failed, kind FROM events"
                    " WHERE failed = 1 OR kind NOT IN ('upload', 'download')"))}
        have = {(r[0], r[1], None if r[2] is None else _ts(r[2]), r[3],
                 None if r[4] is None else _ts(r[4]))
                for r in conn.execute(sa.text(
                    "SELECT file_id, start_offset, failed_ts, rare_kind, rare_ts"
                    " FROM events_rare"))}
    return [f"missing {k}" for k in sorted(want - have, key=str)] + \
        [f"extra {k}" for k in sorted(have - want, key=str)]


def _ts(v) -> str:
    return v if isinstance(v, str) else v.isoformat(sep=" ", timespec="milliseconds")


def scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def total_lines(engine) -> int:
    """Returns the lines consumed over all checkpoints."""
    return scalar(engine, "SELECT COALESCE(SUM(line_count), 0) FROM checkpoints")


# The Ingester's own keywords: constants of the product that a test lowers to reach a limit
# with little data. Every other keyword of ingester() and run_all() is a setting.
INGESTER_KNOBS = ("tail_grace_s", "head_bytes", "open_slice")


def ingester(engine, log_dir, seam=None, **kw) -> Ingester:
    knobs = {k: kw.pop(k) for k in INGESTER_KNOBS if k in kw}
    cfg = Settings(log_dir=str(log_dir), db_url=str(engine.url), **kw)
    return Ingester(engine, cfg, seam=seam, **knobs)


def run_all(engine, log_dir, **kw):
    """Runs passes until nothing is pending (a fresh Ingester: nothing carried over in memory);
    returns the progress of the run."""
    ing = ingester(engine, log_dir, **kw)
    try:
        return ing.run_until_done()
    finally:
        ing.close()


class LogWriter:
    """Writes lines like lumberjack does (append, rename-then-create rotation) and remembers them."""

    def __init__(self, log_dir: Path, name: str = "sftpgo"):
        self.dir = Path(log_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.written: list[bytes] = []       # every complete line, in write order
        self.rotations = 0

    @property
    def live(self) -> Path:
        return self.dir / f"{self.name}.log"

    def write(self, *lines: bytes) -> None:
        with open(self.live, "ab") as f:
            for line in lines:
                f.write(line)
        self.written.extend(lines)

    def write_raw(self, data: bytes) -> None:
        with open(self.live, "ab") as f:
            f.write(data)

    def rotate(self, create: bool = True) -> Path:
        self.rotations += 1
        backup = self.dir / f"{self.name}-2024-09-18T04-00-{self.rotations:02d}.000.log"
        ino = os.stat(self.live).st_ino
        os.rename(self.live, backup)
        if create:
            self.live.touch()
            assert os.stat(self.live).st_ino != ino, "rotation must give the live file a new inode"
        assert os.stat(backup).st_ino == ino
        return backup


def gzip_file(path: Path, remove: bool = True) -> Path:
    """Gzips ``path`` to ``path.gz`` like lumberjack's mill (write the gz, then delete)."""
    gz = Path(str(path) + ".gz")
    with open(path, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    if remove:
        os.remove(path)
    return gz


def run_cli(*args, env=None, timeout=120, crash_at: tuple[str, int] | None = None
            ) -> subprocess.CompletedProcess:
    """Runs ``python ingest.py args`` in a subprocess; with ``crash_at`` (a seam's name, the
    batches to commit first) through tests/support/crash.py, which kills it there."""
    full_env = {**os.environ, **(env or {})}
    command = [sys.executable, str(ROOT / "ingest.py")] if crash_at is None else \
        [sys.executable, "-m", "tests.support.crash", crash_at[0], str(crash_at[1])]
    return subprocess.run([*command, *args], cwd=ROOT, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


def undo_018(engine) -> None:
    """Takes a database back to before migration 018 (its tables and columns dropped, its
    version forgotten, and those of the migrations after it): as a build of the previous
    round left it."""
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE deferred_indexes")                     # 019
        conn.exec_driver_sql("DELETE FROM schema_version WHERE version > 18")
        for table in ("path_daily", "login_clients_daily", "events_hourly", "rollup_coverage"):
            conn.exec_driver_sql(f"DROP TABLE {table}")
        conn.exec_driver_sql("ALTER TABLE events DROP COLUMN client")
        conn.exec_driver_sql("ALTER TABLE events DROP COLUMN encrypted")
        conn.exec_driver_sql("DELETE FROM schema_version WHERE version = 18")


def busy_lines(start: int, n: int) -> list[bytes]:
    users = ["alice", "Alice", "alice ", "bob", "<img src=x onerror=alert(1)>"]
    out = []
    for i in range(start, start + n):
        if i % 5 == 0:
            out.append(noise_line(i))
        elif i % 7 == 3:            # failed logins and bans: the security rollups
            out.append(failure_line(i, user=users[i % 5], ip=["203.0.113.9", "", "2001:db8::9"][i % 3],
                                    method=["password", "publickey"][i % 2],
                                    protocol=None if i % 4 == 0 else "SSH", ms=i * 60_000))
        elif i % 13 == 4:
            out.append(ban_line(i, ip=["203.0.113.9", "198.51.100.1"][i % 2], ms=i * 60_000))
        else:
            out.append(event_line(i, user=users[(i // 2) % len(users)], size=i * 7,
                                  sender="Upload" if i % 2 else "Download",
                                  ms=i * 60_000, error="EOF" if i % 11 == 0 else None))
    return out


def user_lines(n: int) -> list[bytes]:
    """Returns the user kinds' lines (transfers, file operations, logins) and failed logins
    with varied users, IPs (some missing or empty), protocols (some missing) and sizes (some
    missing), over several days."""
    import orjson
    users = ["alice", "Alice", "alice ", "bob", "100%_b"]
    out = []
    for i in range(n):
        t = f"2024-09-{10 + i // 150:02d}T{i % 24:02d}:{i % 60:02d}:{i % 59:02d}.{i % 1000:03d}"
        user, ip = users[i % 5], ["10.0.0.1", "2001:db8::1", "", None][i // 5 % 4]
        addr = {} if ip is None else {"remote_addr": f"[{ip}]:1" if ":" in ip else f"{ip}:1"
                                      if ip else ""}
        proto = {} if i % 7 == 0 else {"protocol": ["SFTP", "FTP", "DAV"][i % 3]}
        r = i % 6
        if r < 3:
            obj = {"level": "info", "time": t, "sender": ["Upload", "Download", "Upload"][r],
                   **addr, "elapsed_ms": 1, "username": user, "file_path": f"/f{i}",
                   "connection_id": f"c{i}", **proto,
                   **({} if i % 11 == 0 else {"size_bytes": i * 1013})}
        elif r == 3:
            obj = {"level": "info", "time": t, "sender": "Rename", **addr, "username": user,
                   "file_path": f"/f{i}", "target_path": f"/g{i}", "elapsed": 2,
                   "connection_id": f"c{i}", **proto}
        elif r == 4:
            obj = {"level": "info", "time": t, "sender": "login", "ip": ip or "",
                   "username": user, "method": "password", **proto}
        else:
            out.append(failure_line(i, user=user, ip=ip or "203.0.113.9", ms=i * 60_000))
            continue
        out.append(orjson.dumps(obj) + b"\n")
    return out


def node_events(engine, node: str) -> Counter:
    """Returns db_events() of one node's files only (an event's node is its file's)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT e.ts, e.kind, e.username, e.size_bytes, e.failed, e.file_path FROM events e"
            " JOIN log_files f ON f.id = e.file_id WHERE f.node = :n"), {"n": node}).all()
    return Counter((r[0] if isinstance(r[0], str) else r[0].isoformat(sep=" ", timespec="milliseconds"),
                    r[1], r[2], r[3], int(r[4]), r[5]) for r in rows)


def assert_exactly_once(engine, writer: LogWriter) -> None:
    assert db_events(engine) == expected_events(writer.written)
    assert total_lines(engine) == len(writer.written)


def mixed(start: int, n: int) -> list[bytes]:
    return [event_line(i) if i % 3 else noise_line(i) for i in range(start, start + n)]


def migrate_to(engine, last: int) -> None:
    """Applies the migrations up to ``last`` only: the schema an older release left."""
    d = db.dialect(engine)
    collation = "utf8mb4_nopad_bin" if d == "mysql" else ""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for version, path in db.migrations(d):
            if version <= last:
                for stmt in db._statements(path.read_text().replace("{BIN}", collation)):
                    if ":node" in stmt:                   # 007: rows of before nodes
                        conn.execute(sa.text(stmt), {"node": "upgrader"})
                    else:
                        conn.exec_driver_sql(stmt)
                conn.execute(sa.text("INSERT INTO schema_version VALUES (:v)"), {"v": version})


PASSWD_LINK = "sftpgo-2024-02-02T00-00-00.000.log"


def deep_folder(base: Path) -> Path:
    """Creates folders nested past PATH_MAX under ``base``: listing the last one by its full
    path fails (ENAMETOOLONG) for every user, root included. Returns the top of the nest."""
    top = base / "nest"
    top.mkdir()
    fd = os.open(top, os.O_RDONLY)
    try:
        for _ in range(20):                       # 20 x 251 characters > 4096
            os.mkdir("d" * 250, dir_fd=fd)
            nxt = os.open("d" * 250, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nxt
    finally:
        os.close(fd)
    return top
