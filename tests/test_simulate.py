"""The synthetic SFTPGo log: line shapes, determinism, lumberjack rotation, gzip, demo."""
from __future__ import annotations

import gzip
import os
import re
import time
from collections import Counter
from datetime import datetime, timedelta

import orjson
import pytest

import simulate
from simulate import __main__ as cli
from simulate import HOSTILE_USERS, LineFactory, LumberjackWriter, generate_folder, go_quote

TIME_RE = re.compile(rb'^\{"level":"(debug|info|warn|error)","time":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})","sender":"')
BACKUP_RE = re.compile(r"^sftpgo-(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3})\.log(\.gz)?$")
TRANSFER_KEYS = ["level", "time", "sender", "local_addr", "remote_addr", "elapsed_ms", "size_bytes",
                 "username", "file_path", "connection_id", "protocol"]
COMMAND_KEYS = ["level", "time", "sender", "local_addr", "remote_addr", "username", "file_path",
                "target_path", "filemode", "uid", "gid", "access_time", "modification_time", "size",
                "elapsed", "ssh_command", "connection_id", "protocol"]
COMMANDS = {"Rename", "Rmdir", "Mkdir", "Symlink", "Remove", "Chmod", "Chown", "Chtimes", "Truncate",
            "Copy", "SSHCommand"}
EVENT_SENDERS = {"Download", "Upload", "connection_failed"} | COMMANDS
START = datetime(2024, 9, 18, 3, 17, 11)


def _is_event(d: dict) -> bool:
    if d["sender"] in EVENT_SENDERS:
        return True
    return d["sender"] in ("SSH", "FTP") and " logged in with " in d.get("message", "")


@pytest.fixture(scope="module")
def sample() -> list[bytes]:
    return list(LineFactory(11, start=START, lines_per_day=20_000).lines(60_000))


@pytest.fixture(scope="module")
def hostile_sample() -> list[bytes]:
    return list(LineFactory(5, start=START, hostile=True).lines(150_000))


# ---- line shape -------------------------------------------------------------------------


def test_every_line_is_a_zerolog_json_object(sample):
    prev = ""
    for ln in sample:
        assert ln.endswith(b"\n") and ln.count(b"\n") == 1
        m = TIME_RE.match(ln)
        assert m, ln
        d = orjson.loads(ln)
        assert isinstance(d, dict)
        keys = list(d)
        assert keys[:3] == ["level", "time", "sender"]
        if "message" in d:
            assert keys[-1] == "message" and d["message"]
        t = m.group(2).decode()
        assert datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%f").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] == t
        assert t >= prev, "time went backwards"
        prev = t
    assert sample[0].startswith(b'{"level":"') and prev > START.isoformat()


def test_kind_specific_key_orders(sample):
    seen = Counter()
    for ln in sample:
        d = orjson.loads(ln)
        s = d["sender"]
        if s in ("Download", "Upload"):
            keys = list(d)
            extra = keys[len(TRANSFER_KEYS):]
            assert keys[:len(TRANSFER_KEYS)] == TRANSFER_KEYS
            assert extra in ([], ["error"], ["ftp_mode"], ["ftp_mode", "error"])
            assert d["level"] == "info"  # 2.6: failed transfers are info with an error key
            assert re.fullmatch(r"[\d.]+:\d+", d["remote_addr"])
            if d["protocol"] == "SFTP":
                assert re.fullmatch(r"SFTP_[0-9a-f]{64}_1", d["connection_id"])
            seen[s] += 1
            if "error" in d:
                seen["failed"] += 1
        elif s in COMMANDS:
            assert list(d) == COMMAND_KEYS
            assert d["level"] == "info"
            if s == "Chtimes":
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", d["modification_time"])
            seen["command"] += 1
        elif s == "connection_failed":
            assert list(d) == ["level", "time", "sender", "client_ip", "username", "login_type", "protocol", "error"]
            assert d["level"] == "debug"
            seen[s] += 1
        elif s == "httpd" and "resp_status" in d:
            assert list(d) == ["level", "time", "sender", "local_addr", "method", "proto", "remote_addr",
                               "request_id", "uri", "user_agent", "resp_status", "resp_size", "elapsed_ms"]
            st = d["resp_status"]
            assert d["level"] == ("debug" if st < 400 else "warn" if st < 500 else "error")
            seen["httpd"] += 1
        elif s == "defender":
            seen[s] += 1
        elif s == "SSH" and "logged in with" in d.get("message", ""):
            assert d["level"] == "info"
            assert re.fullmatch(r"[0-9a-f]{64}", d["connection_id"])
            assert re.match(r'User ".*" logged in with ".*", from ip "[\d.]+", client version ".*", '
                            r"negotiated algorithms: \{KeyExchange:", d["message"])
            seen["login"] += 1
        elif s == "SFTP" and d.get("message", "").startswith("transfer "):
            assert re.fullmatch(r"transfer (added, id: \d+, active transfers: \d+|removed, id: \d+ active transfers: \d+"
                                r"|error: .*, path: \".*\")", d["message"])
            seen["transfer_debug"] += 1
    for k in ("Download", "Upload", "failed", "command", "connection_failed", "httpd", "login",
              "transfer_debug", "defender"):
        assert seen[k] > 0, k


def test_mix_and_length_are_like_the_real_server(sample):
    n = len(sample)
    events = sum(_is_event(orjson.loads(ln)) for ln in sample)
    assert 0.25 < events / n < 0.42
    avg = sum(map(len, sample)) / n
    assert 240 < avg < 320
    senders = Counter(orjson.loads(ln)["sender"] for ln in sample)
    assert senders["Download"] > senders["Upload"] > 0
    assert senders["SFTP"] / n > 0.35  # "transfer added/removed" dominate, as in the msda log


def test_users_are_skewed(sample):
    users = Counter(orjson.loads(ln)["username"] for ln in sample if b'"sender":"Download"' in ln
                    or b'"sender":"Upload"' in ln)
    counts = [c for _, c in users.most_common()]
    assert len(users) >= 10
    assert counts[0] > 5 * counts[len(counts) // 2]


def test_byte_identical_duplicates_occur():
    lines = list(LineFactory(3, dup_rate=0.01).lines(5000))
    dups = sum(1 for a, b in zip(lines, lines[1:]) if a == b)
    assert dups >= 10
    no_dup = list(LineFactory(3, dup_rate=0).lines(5000))
    assert sum(1 for a, b in zip(no_dup, no_dup[1:]) if a == b) < dups


def test_deterministic_for_a_seed():
    a = list(LineFactory(42, start=START).lines(3000))
    b = list(LineFactory(42, start=START).lines(3000))
    c = list(LineFactory(43, start=START).lines(3000))
    assert a == b
    assert a != c
    f = LineFactory(42, start=START)
    assert [f.line() for _ in range(50)] == a[:50]


def test_rate_follows_lines_per_day():
    for diurnal in (True, False):
        f = LineFactory(9, start=datetime(2024, 1, 1), lines_per_day=4000, diurnal=diurnal)
        n = 120_000  # 30 days
        for _ in f.lines(n):
            pass
        days = (f.now - datetime(2024, 1, 1)) / timedelta(days=1)
        assert 0.85 < (n / days) / 4000 < 1.15, (diurnal, n / days)


def test_diurnal_pattern_has_quiet_nights_and_weekends():
    f = LineFactory(4, start=datetime(2024, 1, 1), lines_per_day=20_000)  # a Monday
    hours = Counter()
    weekend = weekday = 0
    for ln in f.lines(300_000):
        t = datetime.strptime(TIME_RE.match(ln).group(2).decode(), "%Y-%m-%dT%H:%M:%S.%f")
        hours[t.hour] += 1
        if t.weekday() >= 5:
            weekend += 1
        else:
            weekday += 1
    assert hours[11] > 2 * hours[20]
    assert weekday / 5 > 1.5 * weekend / 2


def test_hostile_usernames_are_escaped_like_zerolog(hostile_sample):
    names = set()
    for ln in hostile_sample:
        assert b"\t" not in ln and b"\x00" not in ln  # control chars are escaped
        d = orjson.loads(ln)
        if "username" in d:
            names.add(d["username"])
        if d["sender"] == "SSH" and "logged in" in d.get("message", ""):
            for h in HOSTILE_USERS:
                if go_quote(h) in d["message"]:
                    names.add("msg:" + h)
    assert "<img src=x onerror=alert(1)>" in names
    assert 'o"brien' in names
    assert "tab\tand\nnewline" in names
    assert any(n.startswith("msg:") for n in names)
    raw = b"".join(hostile_sample)
    assert "zoë.müller-ø".encode() in raw or "用户_数据".encode() in raw  # raw UTF-8, not \\u
    assert b'\\"o\\\\\\"brien\\"' in raw  # %q inside a JSON string: \"o\\\"brien\"


def test_hostile_off_by_default(sample):
    raw = b"".join(sample)
    assert b"<img" not in raw and b"brien" not in raw


def test_go_quote():
    assert go_quote('a"b\\c') == '"a\\"b\\\\c"'
    assert go_quote("t\tn\n\x01") == '"t\\tn\\n\\x01"'
    assert go_quote("µ报") == '"µ报"'
    assert go_quote("\u00a0") == '"\\u00a0"'


def test_custom_users_and_peek():
    f = LineFactory(1, users=["only-one"], start=START)
    nxt = f.peek_time()
    first = f.line()
    assert TIME_RE.match(first).group(2).decode() == nxt.isoformat(timespec="milliseconds")
    for ln in f.lines(3000):
        d = orjson.loads(ln)
        if d["sender"] in ("Download", "Upload"):
            assert d["username"] == "only-one"


# ---- lumberjack writer ---------------------------------------------------------------------


def _files_in_order(log_dir) -> list[str]:
    names = sorted(n for n in os.listdir(log_dir) if BACKUP_RE.match(n))
    return [os.path.join(log_dir, n) for n in names] + [os.path.join(log_dir, "sftpgo.log")]


def _read(p: str) -> bytes:
    if p.endswith(".gz"):
        with gzip.open(p, "rb") as f:
            return f.read()
    with open(p, "rb") as f:
        return f.read()


def test_rotation_renames_and_keeps_every_line_whole(tmp_path):
    lines = list(LineFactory(2, start=START).lines(4000))
    live = tmp_path / "sftpgo.log"
    w = LumberjackWriter(tmp_path, max_bytes=64 * 1024)
    old_inode = os.stat(live).st_ino
    checked = 0
    for ln in lines:
        n_before = len(w.rotations)
        w.write(ln)
        if len(w.rotations) != n_before:
            backup, ino = w.rotations[-1]
            assert os.stat(backup).st_ino == old_inode == ino  # renamed, not copied
            new_inode = os.stat(live).st_ino
            assert new_inode != old_inode
            assert os.path.getsize(live) == len(ln)  # new, empty file, then the line
            old_inode = new_inode
            checked += 1
    w.close()
    assert checked >= 10
    files = _files_in_order(tmp_path)
    assert len(files) == checked + 1
    assert [os.path.basename(b) for b, _ in w.rotations] == [os.path.basename(f) for f in files[:-1]]
    for p in files:
        data = _read(p)
        assert data.endswith(b"\n")
        assert len(data) <= 64 * 1024
        for ln in data.splitlines():
            orjson.loads(ln)
    assert b"".join(_read(p) for p in files) == b"".join(lines)


def test_backup_names_unique_with_a_frozen_clock(tmp_path):
    frozen = datetime(2024, 9, 18, 4, 0, 6, 777000)
    w = LumberjackWriter(tmp_path, max_bytes=2000, clock=lambda: frozen)
    lines = list(LineFactory(3, start=START).lines(200))
    for ln in lines:
        if len(ln) <= 2000:
            w.write(ln)
    w.close()
    names = [os.path.basename(b) for b, _ in w.rotations]
    assert len(names) == len(set(names)) > 5
    assert names == sorted(names)
    assert names[0] == "sftpgo-2024-09-18T04-00-06.777.log"
    assert names[1] == "sftpgo-2024-09-18T04-00-06.778.log"
    assert all(BACKUP_RE.match(n) for n in names)


def test_gzip_backups_decompress_to_the_original_bytes(tmp_path):
    lines = list(LineFactory(4, start=START).lines(3000))
    for sub, kw in (("sync", {}), ("async", {"compress_async": True})):
        d = tmp_path / sub
        w = LumberjackWriter(d, max_bytes=50_000, compress=True, **kw)
        for ln in lines:
            w.write(ln)
        w.close()
        names = os.listdir(d)
        assert not [n for n in names if n.endswith(".log") and n != "sftpgo.log"]
        gz = sorted(n for n in names if n.endswith(".log.gz"))
        assert len(gz) == len(w.rotations) > 5
        assert b"".join(_read(p) for p in _files_in_order(d)) == b"".join(lines)
        for n in gz:
            with open(d / n, "rb") as f:
                assert f.read(2) == b"\x1f\x8b"


def test_compress_later_and_prune(tmp_path):
    lines = list(LineFactory(6, start=START).lines(2000))
    w = LumberjackWriter(tmp_path, max_bytes=30_000)
    for ln in lines:
        w.write(ln)
    plain = w.backups()
    assert plain and all(p.endswith(".log") for p in plain)
    gz = w.compress_pending()
    assert len(gz) == len(plain) and all(os.path.exists(p) for p in gz)
    assert b"".join(_read(p) for p in w.backups()) + _read(str(tmp_path / "sftpgo.log")) == b"".join(lines)
    w.max_backups = 3
    removed = w.prune()
    assert len(removed) == len(plain) - 3
    assert w.backups() == gz[-3:]
    w.close()


def test_max_backups_while_writing(tmp_path):
    w = LumberjackWriter(tmp_path, max_bytes=10_000, max_backups=2, compress=True)
    for ln in LineFactory(8, start=START).lines(1500):
        w.write(ln)
    w.close()
    backups = [n for n in os.listdir(tmp_path) if BACKUP_RE.match(n)]
    assert len(backups) == 2 and len(w.rotations) > 5
    assert sorted(backups) == sorted(os.path.basename(b) + ".gz" for b, _ in w.rotations[-2:])


def test_write_raw_makes_torn_lines_on_purpose(tmp_path):
    w = LumberjackWriter(tmp_path, max_bytes=1000)
    ln = LineFactory(1, start=START).line()
    w.write_raw(ln[:10])
    assert (tmp_path / "sftpgo.log").read_bytes() == ln[:10]
    w.write_raw(ln[10:])
    assert (tmp_path / "sftpgo.log").read_bytes() == ln
    assert w.size == len(ln) and not w.rotations
    w.close()


def test_reopens_existing_file_and_rotates_when_full(tmp_path):
    (tmp_path / "sftpgo.log").write_bytes(b"x" * 900 + b"\n")
    w = LumberjackWriter(tmp_path, max_bytes=1000)
    assert w.size == 901
    w.write(b"y" * 50 + b"\n")
    assert not w.rotations
    w.write(b"z" * 60 + b"\n")
    assert len(w.rotations) == 1
    assert _read(w.rotations[0][0]) == b"x" * 900 + b"\n" + b"y" * 50 + b"\n"
    with pytest.raises(ValueError):
        w.write(b"w" * 1001)
    w.close()


def test_manual_rotate_and_lines_written_in_batches(tmp_path):
    lines = list(LineFactory(12, start=START).lines(3000))
    w = LumberjackWriter(tmp_path, max_bytes=80_000)
    n, b = w.write_lines(lines[:1500], batch_bytes=16_384)
    assert (n, b) == (1500, sum(map(len, lines[:1500])))
    backup = w.rotate(datetime(2030, 1, 1))
    assert os.path.basename(backup) == "sftpgo-2030-01-01T00-00-00.000.log"
    w.write_lines(lines[1500:])
    w.close()
    assert b"".join(_read(p) for p in _files_in_order(tmp_path)) == b"".join(lines)


# ---- folders, CLI, demo ------------------------------------------------------------------------


def test_generate_folder(tmp_path):
    st = generate_folder(str(tmp_path), 3_000_000, seed=7, start=START, lines_per_day=50_000,
                         max_bytes=400_000, compress_every=2)
    files = _files_in_order(tmp_path)
    assert st["files"] == len(files) == st["backups"] + 1
    assert st["gz"] == st["backups"] // 2
    data = [_read(p) for p in files]
    assert sum(map(len, data)) == st["bytes"] >= 3_000_000
    assert sum(d.count(b"\n") for d in data) == st["lines"]
    assert all(len(d) <= 400_000 for d in data)
    assert b"".join(data) == b"".join(LineFactory(7, start=START, lines_per_day=50_000).lines(st["lines"]))
    for p, d in zip(files[:-1], data[:-1]):  # named after the time of their last line
        stamp = BACKUP_RE.match(os.path.basename(p)).group(1)
        last = TIME_RE.match(d.splitlines(keepends=True)[-1]).group(2).decode()
        assert stamp == last.replace(":", "-")


def test_generation_speed(tmp_path):
    t = time.perf_counter()
    st = generate_folder(str(tmp_path), 30 * 1024 * 1024, seed=1, max_bytes=10 * 1024 * 1024)
    mbps = st["bytes"] / 1048576 / (time.perf_counter() - t)
    assert mbps > 10, f"{mbps:.1f} MB/s"  # 500 MB in under a minute


def test_cli(tmp_path, capsys):
    assert cli.main([str(tmp_path / "out"), "--mb", "1", "--seed", "2", "--gzip", "--days", "10",
                        "--users", "5", "--max-mb", "0.25"]) == 0
    st = orjson.loads(capsys.readouterr().out)
    assert st["gz"] == st["backups"] >= 3
    users = set()
    for p in _files_in_order(tmp_path / "out"):
        for ln in _read(p).splitlines():
            d = orjson.loads(ln)
            if d["sender"] in ("Download", "Upload"):
                users.add(d["username"])
    assert users <= set(simulate.DEFAULT_USERS[:5])


def test_demo_history_then_live_lines(tmp_path):
    from simulate import demo

    t = time.perf_counter()
    h = demo.start_demo(str(tmp_path), lines_per_second=200, rotate_bytes=128 * 1024, seed=1)
    try:
        assert time.perf_counter() - t < 3
        assert h.history_lines > 10_000
        backups = [n for n in os.listdir(tmp_path) if BACKUP_RE.match(n)]
        assert len(backups) > 10 and all(n.endswith(".gz") for n in backups)
        deadline = time.time() + 10
        while h.lines_written < 50 and time.time() < deadline:
            time.sleep(0.1)
        assert h.lines_written >= 50
    finally:
        h.stop()
    assert not h.running
    files = _files_in_order(tmp_path)
    lines = b"".join(_read(p) for p in files).splitlines()
    first = TIME_RE.match(lines[0] + b"\n").group(2).decode()
    last = TIME_RE.match(lines[-1] + b"\n").group(2).decode()
    now = datetime.now()
    assert first[:10] <= (now - timedelta(days=29)).isoformat()[:10]
    assert abs(datetime.fromisoformat(last) - now) < timedelta(seconds=30)
    for ln in lines:
        orjson.loads(ln)
