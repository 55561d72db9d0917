"""Shared helpers of the tests."""
from __future__ import annotations
import json
import hypothesis.strategies as st


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
