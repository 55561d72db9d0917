"""Classify one physical line: an event row, not an event, or malformed (with a reason).

Pure: no I/O. The rules are docs/counting-rules.md (in ../shared), first match wins.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import orjson

# Reasons a line is kept as malformed. A short, fixed vocabulary.
EMPTY = "empty"
NOT_JSON = "not_json"
NOT_OBJECT = "not_object"
NUL_RUN = "nul_run"
TOO_LONG = "too_long"
TORN_TAIL = "torn_tail"
PARSE_ERROR = "parse_error"
# JSON objects that would be events but carry an unusable value: kept for inspection like
# malformed lines, but not malformed under the contract (which reserves that for non-objects).
BAD_TIME = "bad_time"
BAD_SIZE = "bad_size"
BAD_VALUE = "bad_value"      # username, file_path or protocol that is not text
NOT_MALFORMED = frozenset({BAD_TIME, BAD_SIZE, BAD_VALUE})

# The valid range of size_bytes: 0 to 1 PiB per transfer. With it, a daily_stats cell
# (saturating at store.BYTES_CAP = 2**62) needs 4096 maximal transfers to fill, and the
# events table never holds a value whose sum over 8191 rows could leave int64.
MAX_SIZE = 1 << 50
_MAX_SIZE_DIGITS = len(str(MAX_SIZE))

TRANSFERS = {"Upload": "upload", "Download": "download"}
FILE_OPS = frozenset({"Rename", "Rmdir", "Mkdir", "Symlink", "Remove", "Chmod", "Chown",
                      "Chtimes", "Truncate", "Copy", "SSHCommand"})
KINDS = ("upload", "download", "file_op", "login", "login_failed", "ban")

# Column limits shared with the schema (MySQL VARCHAR lengths count characters).
MAX_USERNAME = 255
MAX_ACTION = 64
MAX_IP = 64
MAX_PROTOCOL = 16
MAX_PATH = 16000
MAX_CONNECTION_ID = 255
MAX_METHOD = 64
MAX_ERROR = 1000
_INT64 = 1 << 63

_QUOTED_USER = re.compile(r'^User "((?:[^"\\]|\\.)*)"')
_USERNAME_FIELD = re.compile(r'username: "((?:[^"\\]|\\.)*)"')
_TEXT_METHOD = re.compile(r'logged in with:? "((?:[^"\\]|\\.)*)"')
_TEXT_IP = re.compile(r'(?:from ip:? |remote addr: )"((?:[^"\\]|\\.)*)"')

_loads = orjson.loads
_JSONError = orjson.JSONDecodeError

# An event is a tuple in this column order (see store.EVENT_COLUMNS, after the position):
# ts, day, kind, username, size_bytes, failed, action, remote_ip, protocol, file_path,
# elapsed_ms, connection_id, method, error (the last four: _extras)


def classify(data: bytes, max_ts: str | None = None):
    """Returns an event tuple, None for a line that is not an event, or a malformed reason.

    ``data`` is the line without its newline. Leading NUL bytes (the hole a writer leaves
    after an external truncate) are skipped; a line of NULs only is malformed ``nul_run``.
    ``max_ts`` ('YYYY-MM-DD HH:MM:SS.mmm', see max_ts_for) is the latest believable time:
    an event after it is ``bad_time``. Never raises, whatever the line holds.
    """
    try:
        obj = _loads(data)
    except _JSONError:
        return _rescue(data, max_ts)
    if type(obj) is not dict:
        return NOT_OBJECT
    sender = obj.get("sender")
    if type(sender) is not str:
        sender = ""
    if sender == "defender":       # analysis-api.md: a ban, checked before the other rules
        return _event(obj, "ban", sender, None, 0, max_ts, "") \
            if obj.get("event") == "banned" else None
    kind = TRANSFERS.get(sender)
    if kind is not None:
        if "size_bytes" not in obj:
            return None
        size = obj["size_bytes"]
        if type(size) is not int or not 0 <= size <= MAX_SIZE:
            size = _as_size(size)
            if size is None:
                return BAD_SIZE
        return _event(obj, kind, sender, size, 1 if obj.get("error") else 0, max_ts)
    if sender in FILE_OPS:
        return _event(obj, "file_op", sender, None, 0, max_ts) if "file_path" in obj else None
    if sender == "login":
        return _event(obj, "login", sender, None, 0, max_ts)
    if sender == "connection_failed":
        return _event(obj, "login_failed", sender, None, 0, max_ts)
    message = obj.get("message")
    if type(message) is str and message.startswith("User ") and " logged in with" in message:
        return _event(obj, "login", sender, None, 0, max_ts, _login_name(message))
    return None


def _rescue(data: bytes, max_ts: str | None):
    if data[:1] == b"\0":
        stripped = data.lstrip(b"\0")
        return classify(stripped, max_ts) if stripped else NUL_RUN
    if not data.strip():
        return EMPTY
    return NOT_JSON


def _as_size(value) -> int | None:
    """Returns a size written oddly (1024.0, "1024") as an int in 0..MAX_SIZE, or None.

    Only ASCII digits count: "\u0661\u0662\u0663" (Arabic-Indic) and "\u00b2" are not sizes.
    """
    if type(value) is float and value.is_integer():
        value = int(value)
    elif type(value) is str:
        value = value.strip()
        if not (value.isascii() and value.isdigit() and len(value) <= _MAX_SIZE_DIGITS):
            return None
        value = int(value)
    if type(value) is int and 0 <= value <= MAX_SIZE:
        return value
    return None


def _event(obj: dict, kind: str, sender, size, failed: int, max_ts, username=None):
    # The hot path of ingestion: plain checks inline, helpers only for unusual values.
    ts = normalize_time(obj.get("time"))
    if ts is None or (max_ts is not None and ts > max_ts):
        return BAD_TIME
    if username is None:
        username = obj.get("username")
        if username is None:
            username = ""
    if type(username) is not str:
        return BAD_VALUE           # an object, list, number or boolean: not a name
    if len(username) > MAX_USERNAME:
        username = username[:MAX_USERNAME]
    if len(sender) > MAX_ACTION:
        sender = sender[:MAX_ACTION]
    protocol = obj.get("protocol")
    if protocol is not None and (type(protocol) is not str or len(protocol) > MAX_PROTOCOL):
        if type(protocol) is not str:
            return BAD_VALUE
        protocol = protocol[:MAX_PROTOCOL]
    path = obj.get("file_path")
    if path is not None and (type(path) is not str or len(path) > MAX_PATH):
        if type(path) is not str:
            return BAD_VALUE
        path = path[:MAX_PATH]
    ip = client_ip(obj)
    if kind == "login" and sender != "login":          # a pre-2.7 text login
        ip, protocol = _text_login_origin(obj.get("message"), sender)
    return (ts, ts[:10], kind, username, size, failed, sender, ip, protocol, path,
            *_extras(obj, kind, sender))


def _extras(obj: dict, kind: str, sender: str) -> tuple:
    """Returns (elapsed_ms, connection_id, method, error) of an event (analysis-api.md).

    Each is None when absent or unusable; text is cut to its column's length.
    """
    elapsed = obj.get("elapsed_ms") if kind in ("upload", "download") else \
        obj.get("elapsed") if kind == "file_op" else None
    if type(elapsed) is not int or not -_INT64 <= elapsed < _INT64:
        elapsed = None
    conn_id = obj.get("connection_id")
    conn_id = conn_id[:MAX_CONNECTION_ID] if type(conn_id) is str else None
    if kind == "login":
        method = obj.get("method") if sender == "login" else _text_login_method(obj.get("message"))
    elif kind == "login_failed":
        method = obj.get("login_type")
    else:
        method = None
    method = method[:MAX_METHOD] if type(method) is str else None
    error = obj.get("error") if kind in ("upload", "download", "login_failed") else None
    error = (error[:MAX_ERROR] or None) if type(error) is str else None
    return elapsed, conn_id, method, error


def _text_login_method(message) -> str | None:
    """Returns the method of a pre-2.7 text login: the quoted value after 'logged in with',
    cut at its first ':' ("publickey: SHA256:..." -> "publickey"); None when unquoted."""
    if type(message) is not str:
        return None
    m = _TEXT_METHOD.search(message)
    return _unquote(m.group(1)).split(":", 1)[0].strip() if m else None


def _text_login_origin(message, sender: str) -> tuple:
    """Returns (remote_ip, protocol) of a pre-2.7 text login: the quoted IP after 'from ip'
    or 'remote addr:' without its port, and the sender, which names the protocol."""
    ip = None
    if type(message) is str:
        m = _TEXT_IP.search(message)
        if m:
            ip = client_ip({"ip": _unquote(m.group(1))})
    protocol = "SSH" if sender == "sftpd" else sender[:MAX_PROTOCOL]
    return ip, protocol or None


_TIME = re.compile(r"\d{4}-\d\d-\d\dT(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}", re.ASCII).fullmatch
_DAYS: dict[str, bool] = {}


def _valid_day(day: str) -> bool:
    ok = _DAYS.get(day)
    if ok is None:
        try:
            ok = datetime.fromisoformat(day).year >= 1000
        except ValueError:
            ok = False
        if len(_DAYS) > 100_000:
            _DAYS.clear()
        _DAYS[day] = ok
    return ok


def normalize_time(value) -> str | None:
    """Returns 'YYYY-MM-DD HH:MM:SS.mmm' for an SFTPGo ``time``, or None when it is not one."""
    if type(value) is str and len(value) == 23 and _TIME(value) is not None \
            and _valid_day(value[:10]):
        return value[:10] + " " + value[11:]          # the layout of every SFTPGo 2.x line
    if type(value) is not str or len(value) < 19 or not value.isascii():
        return None               # non-ASCII digits ("\u0662\u0660\u0662\u0664") are not a time
    ts = value[:10] + " " + value[11:]
    if ts[16] == ".":                                 # pre-0.9.5 layout 15:04.05.000
        ts = ts[:16] + ":" + ts[17:]
    if len(ts) == 19:
        ts += ".000"
    ts = ts[:23]
    try:
        parsed = datetime.fromisoformat(ts)
    except ValueError:
        return None
    if parsed.year < 1000 or len(ts) != 23 or ts[19] != ".":
        return None
    return ts


def max_ts_for(mtime: float) -> str:
    """Returns the latest believable event time of a file last written at ``mtime``.

    That is a day after the mtime, in local time like SFTPGo's own ``time`` (no zone), as
    'YYYY-MM-DD HH:MM:SS.mmm'; capped at the last millisecond of year 9999. An mtime at or
    before 1970 (an archive tool that dropped it) bounds nothing.
    """
    if not mtime > 0:
        return _LAST_TS
    try:
        limit = datetime.fromtimestamp(mtime) + timedelta(days=1)
    except (OverflowError, OSError, ValueError):
        return _LAST_TS
    return limit.isoformat(sep=" ", timespec="milliseconds")


_LAST_TS = "9999-12-31 23:59:59.999"


def client_ip(obj: dict):
    """Returns the client IP without port, from remote_addr, ip or client_ip."""
    addr = obj.get("remote_addr") or obj.get("ip") or obj.get("client_ip")
    if type(addr) is not str or not addr:
        return None
    if addr[0] == "[":
        end = addr.find("]")
        addr = addr[1:end] if end > 0 else addr[1:]
    elif addr.count(":") == 1:
        addr = addr.split(":", 1)[0]
    return addr[:MAX_IP]


def _login_name(message: str) -> str:
    m = _QUOTED_USER.match(message) or _USERNAME_FIELD.search(message)
    if not m:
        return ""
    raw = m.group(1)
    if "\\" not in raw:
        return raw
    try:  # Go %q quoting is JSON-compatible for the escapes a username can carry
        return orjson.loads(b'"' + raw.encode("utf-8") + b'"')
    except _JSONError:
        return raw


def _unquote(raw: str) -> str:
    """Returns a Go %q-quoted value's text (its escapes undone where JSON reads them)."""
    if "\\" not in raw:
        return raw
    try:
        return orjson.loads(b'"' + raw.encode("utf-8") + b'"')
    except _JSONError:
        return raw
