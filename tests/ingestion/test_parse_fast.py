"""classify()'s typed fast path answers exactly as the general path (orjson into a dict) does.

The fast path decodes the usual lines with msgspec and hands everything else to
classify_general; these tests throw usual lines, odd values, odd keys, odd numbers and broken
bytes at both and require the same answer, line for line.
"""
from __future__ import annotations

import json
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

from ingestion import parse
from tests.support.strategies import json_values, lines

SAMPLES = Path(__file__).resolve().parents[1] / "data"
MAX_TS = "2024-09-19 04:00:06.777"

UP = {"level": "info", "time": "2024-09-18T04:00:06.777", "sender": "Upload",
      "local_addr": "172.18.0.2:2022", "remote_addr": "209.23.95.87:53084", "elapsed_ms": 1003,
      "size_bytes": 4096, "username": "speed-camera", "file_path": "/srv/x.csv",
      "connection_id": "SFTP_7f_1", "protocol": "SFTP"}


def same(line: bytes, max_ts: str | None = None) -> None:
    assert parse.classify(line, max_ts) == parse.classify_general(line, max_ts), line


def test_real_samples_take_the_fast_path_and_agree():
    for name in ("msda-excerpt.log", "public-lines.jsonl"):
        for line in (SAMPLES / name).read_bytes().split(b"\n"):
            same(line)
            same(line, MAX_TS)
    usual = (SAMPLES / "msda-excerpt.log").read_bytes().split(b"\n")[:-1]
    assert all(parse._decode_line(x) for x in usual)      # no fallback on real lines


@settings(max_examples=1500, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(lines(), st.sampled_from([None, MAX_TS]))
def test_any_values_in_any_field_agree(line, max_ts):
    same(line, max_ts)
    same(b"\0" + line, max_ts)


ODD_NUMBERS = [b"1e400", b"-1e400", b"1E+309", b"9" * 400, b"18446744073709551616",
               b"9223372036854775808", b"-9223372036854775809", b"1.0", b"-0", b"0.0", b"1e2",
               b"01", b"NaN", b"Infinity", b"true", b"null", b'"1"', b"[]", b"{}",
               b"[" * 600 + b"]" * 600, b"[" * 1100 + b"]" * 1100]
KEYS = sorted(set(UP) | {"ip", "client_ip", "error", "message", "uid", "size", "encrypted", "client",
                         "resp_status", "virtual_path", "unknown_key", "Sender", "sender ",
                         "elapsed", "method", "login_type", "event"})


@settings(max_examples=1500, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.sampled_from(KEYS), st.sampled_from(ODD_NUMBERS),
       st.sampled_from(["Upload", "Download", "Rename", "login", "connection_failed", "SFTP",
                        "defender", "login", "login"]))
def test_odd_numbers_in_any_key_agree(key, number, sender):
    body = json.dumps({**UP, "sender": sender}).encode()[:-1]
    same(body + b', "' + key.encode() + b'": ' + number + b"}")


@settings(max_examples=2000, derandomize=True, deadline=None)
@given(st.integers(0, 400), st.binary(min_size=1, max_size=4))
def test_broken_bytes_anywhere_in_a_usual_line_agree(at, junk):
    line = json.dumps(UP).encode()
    same(line[:at] + junk + line[at:])
    same(line[:at] + junk + line[at + len(junk):])


@settings(max_examples=500, derandomize=True, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6),
       st.booleans())
def test_any_values_in_usual_keys_agree(extra, ascii_only):
    line = json.dumps({**UP, **extra}, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    same(line)
    same(line, MAX_TS)


ANALYSIS_LINES = [      # docs/counting-rules.md: bans, the four new columns, pre-2.7 text logins
    {"level": "info", "time": "2024-09-18T04:00:06.777", "sender": "defender",
     "client_ip": "203.0.113.9", "protocol": "SSH", "event": "banned"},
    {"level": "debug", "time": "2024-09-18T04:00:06.777", "sender": "defender",
     "client_ip": "203.0.113.9", "protocol": "SSH", "event": "score", "increase_score_by": 5},
    {"level": "debug", "time": "2024-09-18T04:00:06.777", "sender": "connection_failed",
     "client_ip": "203.0.113.9", "username": "admin", "login_type": "password",
     "protocol": "SSH", "error": "authentication failed"},
    {"level": "info", "time": "2024-09-18T04:00:06.777", "sender": "login",
     "remote_addr": "10.0.0.1:22", "username": "alice", "method": "publickey",
     "connection_id": "SSH_1", "protocol": "SSH"},
    {"level": "info", "time": "2024-09-18T04:00:06.777", "sender": "SSH",
     "connection_id": "SSH_1", "message": 'User "alice" logged in with "publickey: SHA256:x:e",'
     ' from ip "198.51.100.7:5555", client version "OpenSSH"'},
    {"level": "info", "time": "2024-09-18T04:00:06.777", "sender": "Rename",
     "remote_addr": "10.0.0.1:22", "username": "alice", "file_path": "/a", "elapsed": 12,
     "connection_id": "SFTP_1", "protocol": "SFTP"},
    {**UP, "error": "unexpected EOF", "elapsed_ms": 0},
    {**UP, "connection_id": None},
    # insight.md: a login's client and encrypted (2.7), and an SSH text login's client
    {"level": "info", "time": "2026-10-01T16:53:57.743", "sender": "login", "ip": "127.0.0.1",
     "username": "dtd-push", "method": "keyboard-interactive", "protocol": "SSH",
     "connection_id": "adb66d8d0c4e", "client": "SSH-2.0-OpenSSH_10.2", "encrypted": True,
     "info": "negotiated algorithms: {...}"},
    {"level": "info", "time": "2025-11-03T09:05:40.310", "sender": "login", "ip": "203.0.113.7",
     "username": "alice", "method": "password", "protocol": "FTP", "connection_id": "FTP_0_17",
     "client": "", "encrypted": False},
    {"level": "info", "time": "2025-11-03T09:05:40.310", "sender": "login", "ip": "203.0.113.7",
     "username": "alice", "method": "password", "protocol": "HTTP", "client": "x" * 300},
    {"level": "info", "time": "2024-09-18T04:00:01.940", "sender": "SSH", "message":
     'User "a" logged in with "password", from ip "69.125.113.95", client version '
     '"SSH-2.0-\\"quoted\\"", negotiated algorithms: {}'},
    {"level": "info", "time": "2024-09-18T04:00:01.940", "sender": "SSH", "message":
     'User "a" logged in with "password", from ip "69.125.113.95", client version ""'},
    {**UP, "client": "SSH-2.0-OpenSSH_9.6", "encrypted": True},
]


@pytest.mark.parametrize("obj", ANALYSIS_LINES)
def test_the_analysis_lines_agree_and_carry_their_facts(obj):
    line = json.dumps(obj).encode()
    same(line)
    if None not in obj.values():                 # the usual shapes: the fast path decodes them
        assert parse._decode_line(line)


ODD_LOGINS = [          # values of other types: the general path decides, the same way
    {"level": "info", "time": "2025-11-03T09:05:40.310", "sender": "login", "ip": "203.0.113.7",
     "username": "alice", "protocol": "HTTP", "client": 7, "encrypted": "true"},
    {"level": "info", "time": "2025-11-03T09:05:40.310", "sender": "login", "ip": "203.0.113.7",
     "username": "alice", "protocol": "HTTP", "client": None, "encrypted": None},
    {"level": "info", "time": "2025-11-03T09:05:40.310", "sender": "login", "ip": "203.0.113.7",
     "username": "alice", "protocol": "HTTP", "client": ["x"], "encrypted": 1},
]


@pytest.mark.parametrize("obj", ODD_LOGINS)
def test_odd_client_values_agree_and_are_left_out(obj):
    line = json.dumps(obj).encode()
    same(line)
    assert parse.classify(line)[-2:] == (None, None)


def test_duplicate_keys_agree():
    for dup in (b',"sender":"SFTP"', b',"sender":1', b',"size_bytes":null', b',"size_bytes":7',
                b',"username":{"a":1}', b',"time":"2024-09-18T04:00:07.000"'):
        same(json.dumps(UP).encode()[:-1] + dup + b"}")


# --- classify_lines: a batch of lines, the same rows as classify line by line ---------------

class _TooLong:
    def __init__(self, sample: bytes, length: int):
        self.sample, self.length = sample, length


def _line_by_line(lines, pos, fid, max_ts):
    rows, rejects = [], []
    for data in lines:
        if type(data) is not bytes:
            end = pos + data.length + 1
            rejects.append((fid, pos, end, parse.TOO_LONG, data.sample))
            pos = end
            continue
        end = pos + len(data) + 1
        r = parse.classify(data, max_ts)
        if type(r) is tuple:
            rows.append((fid, pos, end, *r, 0))
        elif r is not None:
            rejects.append((fid, pos, end, r, data[:1024]))
        pos = end
    return rows, rejects, pos


def _batch(lines, pos, fid, max_ts):
    rejects = []
    rows, end = parse.classify_lines(lines, pos, fid, max_ts,
                                     rejects.append, 1024)
    return rows, rejects, end


odd_lines = st.one_of(
    lines(), st.binary(max_size=60), st.sampled_from([b"", b"\0\0", b"  ", b"[1]"]),
    st.builds(lambda n: _TooLong(b"x" * 10, n), st.integers(10, 10_000)),
    st.builds(lambda k, n: json.dumps({**UP, k: None}).encode()[:n],
              st.sampled_from(KEYS), st.integers(0, 400)))


@settings(max_examples=600, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(odd_lines, max_size=12), st.integers(0, 10**12), st.sampled_from([None, MAX_TS]))
def test_classify_lines_gives_the_rows_of_classify_line_by_line(batch, pos, max_ts):
    assert _batch(batch, pos, 3, max_ts) == _line_by_line(batch, pos, 3, max_ts)


def test_classify_lines_on_the_real_samples():
    for name in ("msda-excerpt.log", "public-lines.jsonl"):
        batch = (SAMPLES / name).read_bytes().split(b"\n")
        for max_ts in (None, MAX_TS):
            assert _batch(batch, 7, 2, max_ts) == _line_by_line(batch, 7, 2, max_ts)
