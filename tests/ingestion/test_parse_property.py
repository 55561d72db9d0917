"""classify() never raises, and every event it returns is within bounds, whatever a line holds.

Random JSON values (huge and negative integers, floats, nested objects and lists, unicode
digits, NUL, bidi controls, very long strings) go into every field of every event kind.
"""
from __future__ import annotations

import re

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from ingestion import parse
from tests.support.strategies import lines

REASONS = {parse.EMPTY, parse.NOT_JSON, parse.NOT_OBJECT, parse.NUL_RUN, parse.BAD_TIME,
           parse.BAD_SIZE, parse.BAD_VALUE}
TS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}", re.ASCII)


def check(line: bytes, max_ts: str | None) -> None:
    r = parse.classify(line, max_ts)
    if r is None or type(r) is str:
        assert r is None or r in REASONS
        return
    ts, day, kind, username, size, failed, action, ip, protocol, path, *extras = r
    elapsed, conn_id, method, error, client, encrypted = extras
    assert elapsed is None or (type(elapsed) is int and -2**63 <= elapsed < 2**63)
    assert conn_id is None or (type(conn_id) is str and len(conn_id) <= parse.MAX_CONNECTION_ID)
    assert method is None or (type(method) is str and len(method) <= parse.MAX_METHOD)
    assert error is None or (type(error) is str and 0 < len(error) <= parse.MAX_ERROR)
    assert client is None or (type(client) is str and 0 < len(client) <= parse.MAX_CLIENT)
    assert encrypted in (None, 0, 1)
    assert kind == "login" or client is encrypted is None           # the logins' only
    assert type(ts) is str and len(ts) == 23 and TS.fullmatch(ts) and day == ts[:10]
    assert max_ts is None or ts <= max_ts
    assert kind in parse.KINDS and failed in (0, 1) and type(action) is str
    assert type(username) is str and len(username) <= parse.MAX_USERNAME
    if kind in ("upload", "download"):
        assert type(size) is int and 0 <= size <= parse.MAX_SIZE
    else:
        assert size is None
    assert ip is None or (type(ip) is str and len(ip) <= parse.MAX_IP)
    assert protocol is None or (type(protocol) is str and len(protocol) <= parse.MAX_PROTOCOL)
    assert path is None or (type(path) is str and len(path) <= parse.MAX_PATH)


@settings(max_examples=1500, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(lines(), st.sampled_from([None, "2024-09-19 04:00:06.777"]))
def test_any_values_in_any_field_never_raise_and_stay_in_bounds(line, max_ts):
    check(line, max_ts)
    check(b"\0\0" + line, max_ts)              # after a truncate's hole


@settings(max_examples=500, derandomize=True, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_never_raise(data):
    check(data, None)
    check(b'{"sender":"Upload","size_bytes":1,"time":' + data + b"}", None)
