"""classify() never raises, and every event it returns is within bounds, whatever a line holds.

Random JSON values (huge and negative integers, floats, nested objects and lists, unicode
digits, NUL, bidi controls, very long strings) go into every field of every event kind.
"""
from __future__ import annotations

import json
import re

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from ingestion import parse

REASONS = {parse.EMPTY, parse.NOT_JSON, parse.NOT_OBJECT, parse.NUL_RUN, parse.BAD_TIME,
           parse.BAD_SIZE, parse.BAD_VALUE}
TS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}", re.ASCII)
ODD_CHARS = "0123456789\u0661\u0662\u0663\u00b2\uff11\u0000\u202a\u202e\u2066\u2069\"\\ -:.T"

odd_text = st.one_of(
    st.text(alphabet=ODD_CHARS, max_size=30),
    st.text(max_size=40),
    st.builds(lambda c, n: c * n, st.sampled_from("x\u202e\u0000\u0661"),
              st.integers(200, 20_000)),                      # very long strings
    st.sampled_from(["2024-09-18T04:00:06.777", "9999-12-31T23:59:59.999",
                     "\u0662\u0660\u0662\u0664-09-18T04:00:06.777", "2024-09-18T04:00:06",
                     "2019-11-10T15:04.05.000", "10000-01-01T00:00:00.000", "1024", "-1",
                     "\u0661\u0662\u0663", "\u00b2", "9" * 5000, "1e5", " 12 ", ""]),
)
numbers = st.one_of(
    st.integers(),
    st.sampled_from([2 ** 63 - 1, -2 ** 63, 2 ** 64, 2 ** 50, 2 ** 50 + 1, -1, 0, 10 ** 400]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e308, -0.0, 1024.0, 2.0 ** 50, 2.0 ** 63]),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, odd_text),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)

SENDERS = ["Upload", "Download"] * 4 + ["Rename", "Rmdir", "Mkdir", "Symlink", "Remove", "Chmod",
           "Chown", "Chtimes", "Truncate", "Copy", "SSHCommand", "login", "connection_failed",
           "SSH", "FTP", "defender"]
FIELDS = ["time", "size_bytes", "username", "file_path", "protocol", "remote_addr", "ip",
          "client_ip", "error", "message", "sender", "elapsed_ms", "elapsed", "connection_id",
          "method", "login_type", "event", "client", "encrypted"]


@st.composite
def lines(draw) -> bytes:
    sender = draw(st.sampled_from(SENDERS))
    obj = {"level": "info", "time": "2024-09-18T04:00:06.777", "sender": sender,
           "size_bytes": 1024, "username": "alice", "file_path": "/srv/x",
           "protocol": "SFTP", "remote_addr": "10.0.0.1:2222"}
    if sender == "defender":
        obj["event"] = draw(st.sampled_from(["banned", "LoginFailed"]))
    if sender in ("SSH", "FTP"):          # the free-text login of SFTPGo before 2.7
        name = draw(st.one_of(st.just("bob"), odd_text))
        obj["message"] = draw(st.sampled_from([
            f'User {json.dumps(name)} logged in with "password" from ip "1.2.3.4"',
            f'User {json.dumps(name)} logged in with "password", from ip "1.2.3.4", '
            f'client version {json.dumps(draw(odd_text))}, negotiated algorithms: {{}}',
            f'User id: 6, logged in with: "password", username: {json.dumps(name)}, home']))
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=4, unique=True)):
        if draw(st.booleans()):
            obj.pop(field, None)
        else:
            obj[field] = draw(json_values)
    return json.dumps(obj, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


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
