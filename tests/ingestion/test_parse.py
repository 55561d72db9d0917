"""classify(): the counting rules, line by line, and the real samples end to end."""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from ingestion import parse
from tests import reference
from tests.support.ingest import run_all, scalar

SAMPLES = Path(__file__).resolve().parents[1] / "data"

UP = (b'{"level":"info","time":"2024-09-18T04:00:06.777","sender":"Upload","local_addr":"172.18.0.2:2022",'
      b'"remote_addr":"209.23.95.87:53084","elapsed_ms":1003,"size_bytes":0,"username":"speed-camera",'
      b'"file_path":"/srv/x.csv","connection_id":"SFTP_7f_1","protocol":"SFTP","error":"unexpected EOF"}')


@pytest.mark.parametrize("line, kind, user, size, failed", [
    (UP, "upload", "speed-camera", 0, 1),
    (UP.replace(b',"error":"unexpected EOF"', b""), "upload", "speed-camera", 0, 0),
    (UP.replace(b',"error":"unexpected EOF"', b',"error":""'), "upload", "speed-camera", 0, 0),
    (UP.replace(b'"Upload"', b'"Download"').replace(b'"size_bytes":0', b'"size_bytes":4034'),
     "download", "speed-camera", 4034, 1),
    (b'{"level":"info","time":"2022-10-31T18:43:48.182","sender":"Rename","username":"b",'
     b'"file_path":"/a","target_path":"/b","protocol":"SFTP"}', "file_op", "b", None, 0),
    (b'{"level":"info","time":"2026-10-01T16:53:57.743","sender":"login","ip":"127.0.0.1",'
     b'"username":"dtd-push","method":"keyboard-interactive","protocol":"SSH"}', "login", "dtd-push", None, 0),
    (b'{"level":"debug","time":"2022-11-03T20:52:39.986","sender":"connection_failed",'
     b'"client_ip":"192.168.1.144","username":"","login_type":"no_auth_tried","protocol":"SSH",'
     b'"error":"EOF"}', "login_failed", "", None, 0),
    (b'{"level":"info","time":"2025-09-14T16:57:19.173","sender":"FTP","connection_id":"FTP_0_13",'
     b'"message":"User \\"bob\\" logged in with \\"password\\" from ip \\"1.2.3.4\\", TLS enabled? false"}',
     "login", "bob", None, 0),
    (b'{"level":"info","time":"2021-01-20T10:34:35.482","sender":"SSH","message":"User id: 6, '
     b'logged in with: \\"password\\", username: \\"backups\\", home_dir: \\"/mnt\\""}', "login", "backups", None, 0),
    (b'{"level":"info","time":"2024-05-23T08:24:20.906","sender":"SSH","message":"User \\"a\\\\\\"b\\" '
     b'logged in with \\"password\\""}', "login", 'a"b', None, 0),
])
def test_classify_events(line, kind, user, size, failed):
    ev = parse.classify(line)
    assert type(ev) is tuple
    assert (ev[2], ev[3], ev[4], ev[5]) == (kind, user, size, failed)
    assert ev[1] == ev[0][:10]


BAN = (b'{"level":"info","time":"2026-10-01T16:54:01.437","sender":"defender",'
       b'"client_ip":"127.0.0.1","protocol":"SSH","event":"banned"}')


@pytest.mark.parametrize("line, fields", [
    # kind, username, remote_ip, protocol, elapsed_ms, connection_id, method, error
    (BAN, ("ban", "", "127.0.0.1", "SSH", None, None, None, None)),
    (BAN.replace(b'"sender":"defender"', b'"sender":"defender","username":"x"'),
     ("ban", "", "127.0.0.1", "SSH", None, None, None, None)),
    (UP, ("upload", "speed-camera", "209.23.95.87", "SFTP", 1003, "SFTP_7f_1", None,
          "unexpected EOF")),
    (UP.replace(b'"unexpected EOF"', b'"' + b"e" * 1500 + b'"'),
     ("upload", "speed-camera", "209.23.95.87", "SFTP", 1003, "SFTP_7f_1", None, "e" * 1000)),
    (UP.replace(b'"unexpected EOF"', b'""').replace(b'"elapsed_ms":1003', b'"elapsed_ms":"x"'),
     ("upload", "speed-camera", "209.23.95.87", "SFTP", None, "SFTP_7f_1", None, None)),
    (b'{"level":"info","time":"2025-11-03T14:24:00.517","sender":"SSHCommand","remote_addr":'
     b'"203.0.113.7:51030","username":"alice","file_path":"/x.iso","elapsed":812,'
     b'"connection_id":"SSH_5e0c_2","protocol":"SSH"}',
     ("file_op", "alice", "203.0.113.7", "SSH", 812, "SSH_5e0c_2", None, None)),
    (b'{"level":"info","time":"2026-10-01T16:53:57.743","sender":"login","ip":"127.0.0.1",'
     b'"username":"dtd-push","method":"keyboard-interactive","protocol":"SSH",'
     b'"connection_id":"adb66d8d0c4e"}',
     ("login", "dtd-push", "127.0.0.1", "SSH", None, "adb66d8d0c4e", "keyboard-interactive", None)),
    (b'{"level":"debug","time":"2022-11-03T20:52:39.986","sender":"connection_failed",'
     b'"client_ip":"192.168.1.144","username":"testing002","login_type":"publickey",'
     b'"protocol":"SSH","error":"invalid credentials"}',
     ("login_failed", "testing002", "192.168.1.144", "SSH", None, None, "publickey",
      "invalid credentials")),
    # the pre-2.7 text logins: method, IP and protocol from the message and the sender
    (b'{"level":"info","time":"2024-09-18T04:00:01.940","sender":"SSH","connection_id":"371e",'
     b'"message":"User \\"speed-camera\\" logged in with \\"publickey: SHA256:tv81:ecdsa-key\\", '
     b'from ip \\"69.125.113.95\\", client version \\"SSH-2.0-rclone\\""}',
     ("login", "speed-camera", "69.125.113.95", "SSH", None, "371e", "publickey", None)),
    (b'{"level":"info","time":"2025-09-14T16:57:19.173","sender":"FTP","connection_id":"FTP_0_13",'
     b'"message":"User \\"bob\\" logged in with \\"password\\" from ip \\"1.2.3.4\\", TLS enabled? false"}',
     ("login", "bob", "1.2.3.4", "FTP", None, "FTP_0_13", "password", None)),
    (b'{"level":"debug","time":"2022-01-01T00:00:00.000","sender":"SSH","message":"User \\"u\\", '
     b'logged in with: \\"password\\", from ip: \\"[2001:db8::1]:22\\", client version \\"x\\""}',
     ("login", "u", "2001:db8::1", "SSH", None, None, "password", None)),
    (b'{"level":"info","time":"2021-08-09T13:33:02.731","sender":"sftpd","message":"User id: 405, '
     b'logged in with: \\"password\\", username: \\"R\\", home_dir: \\"/h\\" remote addr: '
     b'\\"10.9.8.7:53037\\""}', ("login", "R", "10.9.8.7", "SSH", None, None, "password", None)),
    (b'{"level":"info","time":"2021-04-19T09:13:34.085","sender":"FTP","connection_id":"FTP_0_9",'
     b'"message":"User id: 163, logged in with FTP, username: \\"x\\", home_dir: \\"/home/x\\" '
     b'remote addr: \\"x\\""}', ("login", "x", "x", "FTP", None, "FTP_0_9", None, None)),
])
def test_classify_the_analysis_columns(line, fields):
    ev = parse.classify(line)
    assert type(ev) is tuple and len(ev) == 16
    assert (ev[2], ev[3], ev[7], ev[8], *ev[10:14]) == fields


@pytest.mark.parametrize("line, result", [
    (BAN.replace(b'"banned"', b'"LoginFailed"'), None),            # a score line
    (BAN.replace(b'"sender":"defender"', b'"sender":"Defender"'), None),
    (b'{"level":"debug","time":"2024-09-18T03:17:11.943","sender":"SFTP","message":"transfer added"}', None),
    (b'{"level":"info","time":"2024-09-18T03:17:11.943","sender":"Upload","username":"a"}', None),
    (b'{"level":"info","time":"2024-09-18T03:17:11.943","sender":"Mkdir","username":"a"}', None),
    (b'{"level":"info","time":"2024-09-18T03:17:11.943","sender":"httpd","resp_status":200}', None),
    (b'sftpgo    | {"level":"info"}', parse.NOT_JSON),
    (b'[1, 2]', parse.NOT_OBJECT),
    (b'', parse.EMPTY),
    (b'\x00\x00\x00', parse.NUL_RUN),
    (b'{"level":"info","ti', parse.NOT_JSON),
    (b'{"sender":"connection_failed","username":"x"}', parse.BAD_TIME),
    (b'{"time":"2024-02-30T00:00:00.000","sender":"login","username":"x"}', parse.BAD_TIME),
    (b'{"time":"2024-09-18T00:00:00.000","sender":["login"],"username":"x"}', None),
    (b'{"time":"2024-09-18T00:00:00.000","sender":"Upload","size_bytes":1e30}', parse.BAD_SIZE),
    (b'{"time":"2024-09-18T00:00:00.000","sender":"Upload","size_bytes":"many"}', parse.BAD_SIZE),
    (b'{"time":"2024-09-18T00:00:00.000","sender":"Upload","size_bytes":true}', parse.BAD_SIZE),
])
def test_classify_non_events_and_malformed(line, result):
    assert parse.classify(line) == result


@pytest.mark.parametrize("value, expected", [
    ("2024-09-18T03:17:12.034", "2024-09-18 03:17:12.034"),
    ("2019-11-10T15:04.05.000", "2019-11-10 15:04:05.000"),
    ("2024-09-18T03:17:12", "2024-09-18 03:17:12.000"),
    ("yesterday", None), (12, None), ("0000-01-01T00:00:00.000", None),
])
def test_normalize_time(value, expected):
    assert parse.normalize_time(value) == expected


@pytest.mark.parametrize("obj, ip", [
    ({"remote_addr": "10.0.0.1:2222"}, "10.0.0.1"), ({"remote_addr": "[::1]:1234"}, "::1"),
    ({"remote_addr": "10.0.0.9"}, "10.0.0.9"), ({"ip": "1.2.3.4"}, "1.2.3.4"),
    ({"client_ip": "fe80::1"}, "fe80::1"), ({}, None),
])
def test_client_ip(obj, ip):
    assert parse.client_ip(obj) == ip


@pytest.mark.parametrize("sample", ["msda-excerpt.log", "public-lines.jsonl"])
def test_real_samples_ingest_with_the_contract_counts(engine, log_dir, sample):
    data = (SAMPLES / sample).read_bytes()
    (log_dir / "sftpgo.log").write_bytes(data)
    run_all(engine, log_dir)
    lines = reference.physical_lines(data)
    facts = ("remote_ip", "protocol", "file_path", "elapsed_ms", "connection_id", "method",
             "error")
    want = Counter((e["kind"], e["username"], e["size_bytes"], e["failed"],
                    *(e[k] for k in facts)) for e in map(reference.event_of, lines) if e)
    with engine.connect() as conn:
        got = Counter((r[0], r[1], r[2], int(r[3]), *r[4:]) for r in conn.execute(sa.text(
            "SELECT kind, username, size_bytes, failed, " + ", ".join(facts) + " FROM events")))
    assert got == want and sum(want.values()) > 10
    assert scalar(engine, "SELECT SUM(line_count) FROM checkpoints") == len(lines)
    malformed = sum(1 for x in lines if reference.is_malformed(x))
    assert scalar(engine, "SELECT SUM(malformed_count) FROM checkpoints") == malformed
    assert scalar(engine, "SELECT COALESCE(SUM(line_count), 0) FROM malformed_lines"
                  " WHERE reason <> 'bad_time'") \
        == malformed


# --- bounds: values checked at the door (issue 13) --------------------------------------

def _up(size=b"1024", time=b'"2024-09-18T04:00:06.777"', user=b'"alice"', extra=b""):
    return (b'{"level":"info","time":' + time + b',"sender":"Upload","size_bytes":' + size
            + b',"username":' + user + b',"file_path":"/x","protocol":"SFTP"' + extra + b'}')


@pytest.mark.parametrize("size, expected", [
    (b"9223372036854775807", parse.BAD_SIZE),        # the 64-bit maximum of the issue
    (b"-4896", parse.BAD_SIZE),                      # negative ("Uploaded -4.78 KB")
    (b"-1", parse.BAD_SIZE),
    (str(2 ** 50 + 1).encode(), parse.BAD_SIZE),
    (str(2 ** 50).encode(), 2 ** 50),                # 1 PiB, the largest valid size
    (b"0", 0),
    ('"\u0661\u0662\u0663"'.encode(), parse.BAD_SIZE),   # Arabic-Indic digits
    ('"\u00b2"'.encode(), parse.BAD_SIZE),               # superscript two: int() raises
    ('"\uff11\uff12"'.encode(), parse.BAD_SIZE),         # fullwidth digits
    (b'"-12"', parse.BAD_SIZE),
    (b'"' + b"9" * 5000 + b'"', parse.BAD_SIZE),     # beyond int()'s digit limit
    (b'"1024"', 1024), (b'" 1024 "', 1024), (b"1024.0", 1024),
    (b"1e15", 10 ** 15), (b"1e16", parse.BAD_SIZE), (b"-0.0", 0), (b"1.5", parse.BAD_SIZE),
    (b"null", parse.BAD_SIZE), (b"{}", parse.BAD_SIZE), (b"[1]", parse.BAD_SIZE),
])
def test_size_bytes_bounds(size, expected, caplog):
    r = parse.classify(_up(size=size))
    assert (r[4] if type(r) is tuple else r) == expected
    assert not caplog.records                        # no stack trace, no warning


def test_two_int64_maximum_uploads_are_both_bad_size():
    line = _up(size=b"9223372036854775807")
    assert [parse.classify(line), parse.classify(line)] == [parse.BAD_SIZE] * 2


@pytest.mark.parametrize("time, max_ts, expected", [
    (b'"9999-12-31T23:59:59.999"', "2024-09-19 04:00:00.000", parse.BAD_TIME),
    (b'"2024-09-19T04:00:00.001"', "2024-09-19 04:00:00.000", parse.BAD_TIME),
    (b'"2024-09-19T04:00:00.000"', "2024-09-19 04:00:00.000", "2024-09-19 04:00:00.000"),
    (b'"9999-12-31T23:59:59.999"', None, "9999-12-31 23:59:59.999"),   # no bound given
    (b'"10000-01-01T00:00:00.000"', None, parse.BAD_TIME),              # year beyond 9999
    ('"\u0662\u0660\u0662\u0664-09-18T04:00:06.777"'.encode(), None, parse.BAD_TIME),
    ('"2024-09-18T0\u0664:00:06.777"'.encode(), None, parse.BAD_TIME),
    ('"2024-09-18T0\u0664:00:06"'.encode(), None, parse.BAD_TIME),
])
def test_time_bounds(time, max_ts, expected):
    r = parse.classify(_up(time=time), max_ts)
    assert (r[0] if type(r) is tuple else r) == expected


def test_max_ts_is_a_day_after_the_mtime_in_local_time():
    mtime = datetime(2024, 9, 18, 4, 0, 6, 777000).timestamp()
    assert parse.max_ts_for(mtime) == "2024-09-19 04:00:06.777"
    assert parse.max_ts_for(1e300) == "9999-12-31 23:59:59.999"
    assert parse.max_ts_for(0) == parse.max_ts_for(-1e300) == "9999-12-31 23:59:59.999"
    assert parse.classify(_up(), parse.max_ts_for(mtime))[0] == "2024-09-18 04:00:06.777"
    # NUL-prefixed lines (after a truncate) are checked against the same bound
    late = b"\0\0" + _up(time=b'"2024-09-21T00:00:00.000"')
    assert parse.classify(late, parse.max_ts_for(mtime)) == parse.BAD_TIME


@pytest.mark.parametrize("field, value, expected", [
    ("username", b'{"name":"alice"}', parse.BAD_VALUE),   # a JSON object (the issue)
    ("username", b'["alice"]', parse.BAD_VALUE),
    ("username", b"42", parse.BAD_VALUE),
    ("username", b"true", parse.BAD_VALUE),
    ("username", b"null", ""),                            # absent: the empty name
    ("username", '"ev\u202eil"'.encode(), "ev\u202eil"),  # RTL override: kept as text
    ("username", b'"' + b"u" * 300 + b'"', "u" * parse.MAX_USERNAME),
    ("file_path", b'{"a":1}', parse.BAD_VALUE),
    ("file_path", b"7", parse.BAD_VALUE),
    ("protocol", b'["SFTP"]', parse.BAD_VALUE),
    ("remote_addr", b'{"ip":"1.2.3.4"}', None),          # an odd address is dropped, not fatal
])
def test_text_fields_must_be_text(field, value, expected):
    line = (b'{"level":"info","time":"2024-09-18T04:00:06.777","sender":"Upload","size_bytes":1,'
            b'"' + field.encode() + b'":' + value + b'}')
    r = parse.classify(line)
    if expected == parse.BAD_VALUE:
        assert r == parse.BAD_VALUE
    else:
        col = {"username": 3, "file_path": 9, "protocol": 8, "remote_addr": 7}[field]
        assert r[col] == expected


def test_bad_values_are_kept_but_not_malformed_under_the_contract():
    assert {parse.BAD_TIME, parse.BAD_SIZE, parse.BAD_VALUE} <= parse.NOT_MALFORMED
    assert parse.classify(b'{"time":"2024-09-18T04:00:06.777","sender":"login",'
                          b'"username":{"$ne":null}}') == parse.BAD_VALUE
