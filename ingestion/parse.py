"""Classify one physical line: an event row, not an event, or malformed (with a reason).

Pure: no I/O. The rules are docs/counting-rules.md, first match wins.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Annotated

import msgspec
import orjson
from msgspec import UNSET, UnsetType

log = logging.getLogger(__name__)

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
# (saturating at rollup_tables.BYTES_CAP = 2**62) needs 4096 maximal transfers to fill, and the
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
MAX_CLIENT = 200
_INT64 = 1 << 63

_QUOTED_USER = re.compile(r'^User "((?:[^"\\]|\\.)*)"')
_USERNAME_FIELD = re.compile(r'username: "((?:[^"\\]|\\.)*)"')
_TEXT_METHOD = re.compile(r'logged in with:? "((?:[^"\\]|\\.)*)"')
_TEXT_IP = re.compile(r'(?:from ip:? |remote addr: )"((?:[^"\\]|\\.)*)"')
_TEXT_CLIENT = re.compile(r'client version "((?:[^"\\]|\\.)*)"')

_loads = orjson.loads
_JSONError = orjson.JSONDecodeError

# An event is a tuple in this column order (see store.EVENT_COLUMNS, after the position):
# ts, day, kind, username, size_bytes, failed, action, remote_ip, protocol, file_path,
# elapsed_ms, connection_id, method, error, client, encrypted (the last six: _extras)


def classify(data: bytes, max_ts: str | None = None):
    """Returns an event tuple, None for a line that is not an event, or a malformed reason.

    ``data`` is the line without its newline. Leading NUL bytes (the hole a writer leaves
    after an external truncate) are skipped; a line of NULs only is malformed ``nul_run``.
    ``max_ts`` ('YYYY-MM-DD HH:MM:SS.mmm', see max_ts_for) is the latest believable time:
    an event after it is ``bad_time``. Never raises, whatever the line holds.

    Usual lines take the typed fast path (see _Line); every other line, and every line the
    fast path does not fully vouch for, gets classify_general's answer.
    """
    try:
        line = _decode_line(data)
    except Exception:           # not one of the usual shapes: the general path decides
        return classify_general(data, max_ts)
    return _classify_line(line, max_ts)


def classify_lines(lines: list, pos: int, fid: int, max_ts: str | None, add_reject,
                   sample_bytes: int) -> tuple[list[tuple], int]:
    """Returns the event rows of consecutive lines of file ``fid`` from offset ``pos``, and
    the offset after them.

    A row is (fid, start, end, *classify(line), 0): store.EVENT_COLUMNS with partial = 0.
    A line kept for inspection goes to ``add_reject((fid, start, end, reason, sample))``. A
    line is bytes without its newline, or a stand-in for one too long to hold, with
    ``length`` and ``sample`` (reader.TooLong). The usual transfer line is turned into its
    row here, inline (the checks of _fast_event, in the same order): a per-line loop around
    classify spent ~0.3 us a line on calls and on re-packing its tuple.
    """
    rows: list[tuple] = []
    append = rows.append
    decode, transfers, hours, minutes, seconds = _decode_line, TRANSFERS, _HOURS, _MINUTES, _SECONDS
    for data in lines:
        if type(data) is not bytes:
            end = pos + data.length + 1
            add_reject((fid, pos, end, TOO_LONG, data.sample))
            pos = end
            continue
        end = pos + len(data) + 1
        try:
            line = decode(data)
        except Exception:
            line = None
        if line is not None:
            kind = transfers.get(line.sender)
            size, value, user = line.size_bytes, line.time, line.username
            addr, protocol, path = line.remote_addr, line.protocol, line.file_path
            if kind is not None and size is not UNSET and len(value) == 23 \
                    and (head := hours.get(value[:13])) is not None and value[13:16] in minutes \
                    and (value[16:] in seconds or _second(value[16:])) \
                    and (ts := head + value[13:]) and (max_ts is None or ts <= max_ts) \
                    and user is not None and len(user) <= MAX_USERNAME \
                    and (protocol is None or len(protocol) <= MAX_PROTOCOL) \
                    and path is not UNSET and len(path) <= MAX_PATH \
                    and addr and addr[0] != "[" and addr.count(":") == 1:
                elapsed, conn_id, error = line.elapsed_ms, line.connection_id, line.error
                append((fid, pos, end, ts, ts[:10], kind, user, size, 1 if error else 0,
                        line.sender, addr[:addr.index(":")][:MAX_IP], protocol, path,
                        None if elapsed is UNSET else elapsed,
                        None if conn_id is UNSET else conn_id[:MAX_CONNECTION_ID],
                        None, error[:MAX_ERROR] or None, None, None, 0))
                pos = end
                continue
        try:
            r = classify_general(data, max_ts) if line is None else _classify_line(line, max_ts)
        except Exception:                      # a line no rule foresaw: keep it, go on
            log.exception("Line not classified. file_id=%d offset=%d", fid, pos)
            r = PARSE_ERROR
        if r is not None:
            if type(r) is tuple:
                append((fid, pos, end, *r, 0))
            else:
                add_reject((fid, pos, end, r, data[:sample_bytes]))
        pos = end
    return rows, pos


def _classify_line(line, max_ts: str | None):
    """Returns classify's answer for a line the fast path decoded."""
    sender = line.sender
    if sender == "defender":       # docs/counting-rules.md: a ban, checked before the other rules
        return _fast_event(line, "ban", sender, None, 0, max_ts, "") \
            if line.event == "banned" else None
    kind = TRANSFERS.get(sender)
    if kind is not None:
        size = line.size_bytes
        if size is UNSET:
            return None
        return _fast_event(line, kind, sender, size, 1 if line.error else 0, max_ts)
    if sender in FILE_OPS:
        if line.file_path is UNSET:
            return None
        return _fast_event(line, "file_op", sender, None, 0, max_ts)
    if sender == "login":
        return _fast_event(line, "login", sender, None, 0, max_ts)
    if sender == "connection_failed":
        return _fast_event(line, "login_failed", sender, None, 0, max_ts)
    message = line.message
    if message.startswith("User ") and " logged in with" in message:
        return _fast_event(line, "login", sender, None, 0, max_ts, _login_name(message))
    return None


def _fast_event(line, kind: str, sender: str, size, failed: int, max_ts, username=None):
    """_event for a _Line: the same checks, with the types already known."""
    ts = _timestamp(line.time, max_ts)
    if ts is BAD_TIME:
        return BAD_TIME
    if username is None:
        username = line.username
        if username is None:
            username = ""
    if len(username) > MAX_USERNAME:
        username = username[:MAX_USERNAME]
    if len(sender) > MAX_ACTION:
        sender = sender[:MAX_ACTION]
    protocol = line.protocol
    if protocol is not None and len(protocol) > MAX_PROTOCOL:
        protocol = protocol[:MAX_PROTOCOL]
    path = line.file_path
    if path is UNSET:
        path = None
    elif len(path) > MAX_PATH:
        path = path[:MAX_PATH]
    addr = line.remote_addr or line.ip or line.client_ip
    if not addr:
        ip = None
    elif addr[0] != "[" and addr.count(":") == 1:
        ip = addr[:addr.index(":")][:MAX_IP]          # "host:port", the usual remote_addr
    else:
        ip = _ip_of(addr)
    if kind == "login" and sender != "login":          # a pre-2.7 text login
        ip, protocol = _text_login_origin(line.message, sender)
    return (ts, ts[:10], kind, username, size, failed, sender, ip, protocol, path,
            *_fast_extras(line, kind, sender))


def _fast_extras(line, kind: str, sender: str) -> tuple:
    """_extras for a _Line: (elapsed_ms, connection_id, method, error, client, encrypted),
    None when absent."""
    elapsed = line.elapsed_ms if kind in ("upload", "download") else \
        line.elapsed if kind == "file_op" else UNSET
    conn_id = line.connection_id
    client = encrypted = None
    if kind == "login":
        if sender == "login":
            method = line.method
            client = line.client[:MAX_CLIENT] or None
            if line.encrypted is not UNSET:
                encrypted = 1 if line.encrypted else 0
        else:
            method = _text_login_method(line.message)
            client = _text_login_client(line.message)
    elif kind == "login_failed":
        method = line.login_type
    else:
        method = None
    error = line.error if kind in ("upload", "download", "login_failed") else ""
    return (None if elapsed is UNSET else elapsed,
            None if conn_id is UNSET else conn_id[:MAX_CONNECTION_ID],
            None if method is UNSET or method is None else method[:MAX_METHOD],
            error[:MAX_ERROR] or None, client, encrypted)


def classify_general(data: bytes, max_ts: str | None = None):
    """Returns what classify does, for any line: orjson into a dict, then the rules."""
    try:
        obj = _loads(data)
    except _JSONError:
        return _rescue(data, max_ts)
    if type(obj) is not dict:
        return NOT_OBJECT
    sender = obj.get("sender")
    if type(sender) is not str:
        sender = ""
    if sender == "defender":       # docs/counting-rules.md: a ban, checked before the other rules
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


# --- the fast path's decoder ---------------------------------------------------------------
# msgspec decodes a line straight into the fields the rules read, and validates the value of
# every other key SFTPGo writes (so no part of the line goes unchecked). A line with a key not
# listed here, or a value of another type (an object where a name belongs, a float size, an
# integer outside int64, a size out of bounds), fails to decode and goes to
# classify_general. So a line the fast path accepts is one orjson accepts with the same values,
# and both paths answer the same: tests/ingestion/test_parse_fast.py checks it.

_Int = Annotated[int, msgspec.Meta(ge=-(1 << 63), le=(1 << 63) - 1)]
_Size = Annotated[int, msgspec.Meta(ge=0, le=MAX_SIZE)]


class _Line(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    # In the order SFTPGo writes a transfer line: msgspec looks for the next key where the
    # last one was found first (0.72 -> 0.55 us a line, against the rules' fields first). Only
    # text and numbers inside, so no cycles: instances need no GC tracking (gc=False).
    level: str = ""
    time: str = ""
    sender: str = ""
    local_addr: str = ""
    remote_addr: str = ""
    elapsed_ms: _Int | UnsetType = UNSET
    size_bytes: _Size | UnsetType = UNSET
    username: str | None = None
    file_path: str | UnsetType = UNSET
    virtual_path: str = ""
    connection_id: str | UnsetType = UNSET
    protocol: str | None = None
    ftp_mode: str = ""
    error: str = ""
    message: str = ""
    ip: str = ""
    client_ip: str = ""
    target_path: str = ""
    virtual_target_path: str = ""
    filemode: str = ""
    uid: _Int = 0
    gid: _Int = 0
    access_time: str = ""
    modification_time: str = ""
    size: _Int = 0
    elapsed: _Int | UnsetType = UNSET
    ssh_command: str = ""
    login_type: str | UnsetType = UNSET
    method: str | UnsetType = UNSET
    client: str = ""
    encrypted: bool | UnsetType = UNSET
    info: str = ""
    proto: str = ""
    request_id: str = ""
    uri: str = ""
    user_agent: str = ""
    resp_status: _Int = 0
    resp_size: _Int = 0
    cipher_suite: str = ""
    content_length: str = ""
    depth: str = ""
    url: str = ""
    event: str = ""
    increase_score_by: _Int = 0
    score: _Int = 0


_decode_line = msgspec.json.Decoder(_Line).decode


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


def _timestamp(value, max_ts: str | None) -> str:
    """Returns 'YYYY-MM-DD HH:MM:SS.mmm' for an SFTPGo ``time``, or BAD_TIME when it is not
    one or is after ``max_ts``. The usual value (an hour seen before) costs no regex."""
    if type(value) is str and len(value) == 23 and (head := _HOURS.get(value[:13])) is not None \
            and value[13:16] in _MINUTES and (value[16:] in _SECONDS or _second(value[16:])):
        ts = head + value[13:]
    else:
        ts = normalize_time(value)
        if ts is None:
            return BAD_TIME
    return BAD_TIME if max_ts is not None and ts > max_ts else ts


def _event(obj: dict, kind: str, sender, size, failed: int, max_ts, username=None):
    # The hot path of ingestion: plain checks inline, helpers only for unusual values.
    get = obj.get
    ts = _timestamp(get("time"), max_ts)
    if ts is BAD_TIME:
        return BAD_TIME
    if username is None:
        username = get("username")
        if username is None:
            username = ""
    if type(username) is not str:
        return BAD_VALUE           # an object, list, number or boolean: not a name
    if len(username) > MAX_USERNAME:
        username = username[:MAX_USERNAME]
    if len(sender) > MAX_ACTION:
        sender = sender[:MAX_ACTION]
    protocol = get("protocol")
    if protocol is not None and (type(protocol) is not str or len(protocol) > MAX_PROTOCOL):
        if type(protocol) is not str:
            return BAD_VALUE
        protocol = protocol[:MAX_PROTOCOL]
    path = get("file_path")
    if path is not None and (type(path) is not str or len(path) > MAX_PATH):
        if type(path) is not str:
            return BAD_VALUE
        path = path[:MAX_PATH]
    addr = get("remote_addr")
    if type(addr) is str and addr and addr[0] != "[" and addr.count(":") == 1:
        ip = addr[:addr.index(":")]                   # "host:port", the usual remote_addr
        if len(ip) > MAX_IP:
            ip = ip[:MAX_IP]
    else:
        ip = client_ip(obj)
    if kind == "login" and sender != "login":          # a pre-2.7 text login
        ip, protocol = _text_login_origin(obj.get("message"), sender)
    return (ts, ts[:10], kind, username, size, failed, sender, ip, protocol, path,
            *_extras(obj, kind, sender))


def _extras(obj: dict, kind: str, sender: str) -> tuple:
    """Returns (elapsed_ms, connection_id, method, error, client, encrypted) of an event
    (docs/counting-rules.md, docs/insight.md).

    Each is None when absent or unusable; text is cut to its column's length. ``client``
    and ``encrypted`` are a login's only: 2.7's fields (``encrypted`` a JSON boolean as 1
    or 0), or the client version of a pre-2.7 SSH text login.
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
    client = encrypted = None
    if kind == "login":
        if sender == "login":
            client = obj.get("client")
            client = (client[:MAX_CLIENT] or None) if type(client) is str else None
            encrypted = obj.get("encrypted")
            encrypted = (1 if encrypted else 0) if type(encrypted) is bool else None
        else:
            client = _text_login_client(obj.get("message"))
    return elapsed, conn_id, method, error, client, encrypted


def _text_login_method(message) -> str | None:
    """Returns the method of a pre-2.7 text login: the quoted value after 'logged in with',
    cut at its first ':' ("publickey: SHA256:..." -> "publickey"); None when unquoted."""
    if type(message) is not str:
        return None
    m = _TEXT_METHOD.search(message)
    return _unquote(m.group(1)).split(":", 1)[0].strip() if m else None


def _text_login_client(message) -> str | None:
    """Returns the client of a pre-2.7 SSH text login: the quoted value after 'client
    version ' (its first MAX_CLIENT characters); None when there is none, or it is empty."""
    if type(message) is not str or "client version " not in message:
        return None
    m = _TEXT_CLIENT.search(message)
    return (_unquote(m.group(1))[:MAX_CLIENT] or None) if m else None


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
# A valid SFTPGo time checked in three pieces, so most lines need no regex: the hour
# ('YYYY-MM-DDTHH' -> 'YYYY-MM-DD HH', cached once _TIME and _valid_day accepted a time in
# it), the minute (':MM') and the second (':SS.mmm', cached once _SECOND accepted it; at
# most 60,000). The three patterns put together are _TIME's.
_HOURS: dict[str, str] = {}
_MINUTES = frozenset(f":{m:02d}" for m in range(60))
_SECONDS: set[str] = set()
_SECOND = re.compile(r":[0-5]\d\.\d{3}", re.ASCII).fullmatch


def _second(tail: str) -> bool:
    if _SECOND(tail) is None:
        return False
    _SECONDS.add(tail)
    return True


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
        if len(_HOURS) >= 100_000:
            _HOURS.clear()
        _HOURS[value[:13]] = value[:10] + " " + value[11:13]
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
    return _ip_of(addr)


def _ip_of(addr: str) -> str:
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
