"""classify(): the counting rules, line by line, and the real samples end to end."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from ingestion import parse
from tests import reference
from tests.ingestion.support import run_all, scalar

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"

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


@pytest.mark.parametrize("line, result", [
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
    want = Counter((e["kind"], e["username"], e["size_bytes"], e["failed"])
                   for e in map(reference.event_of, lines) if e)
    with engine.connect() as conn:
        got = Counter((r[0], r[1], r[2], int(r[3])) for r in conn.execute(sa.text(
            "SELECT kind, username, size_bytes, failed FROM events")))
    assert got == want and sum(want.values()) > 10
    assert scalar(engine, "SELECT SUM(line_count) FROM checkpoints") == len(lines)
    malformed = sum(1 for x in lines if reference.is_malformed(x))
    assert scalar(engine, "SELECT SUM(malformed_count) FROM checkpoints") == malformed
    assert scalar(engine, "SELECT COUNT(*) FROM malformed_lines WHERE reason <> 'bad_time'") \
        == malformed
