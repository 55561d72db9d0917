"""Classify one physical line: an event row, not an event, or malformed (with a reason).

Pure: no I/O. The rules are docs/counting-rules.md, first match wins, stated once in
counting.RULES; every path here takes its decisions from there. The usual line is decoded by
msgspec (fastline.py) into typed fields; any other by orjson into a dict (classify_general).
The two paths differ only in how they read a value: each reads the fields its line's rule
names and _row makes the event of them.
"""
from __future__ import annotations

import logging

import orjson
from msgspec import UNSET

from .counting import KINDS, RULES, TRANSFER_NEEDS, TRANSFERS, rule_for
from .fastline import decode_line as _decode_line
from .textlogin import login_name, method as text_method, client as text_client, origin
from .times import BAD_TIME, HOURS, MINUTES, SECONDS, max_ts_for, normalize_time, second, timestamp
from .values import (INT64, MAX_ACTION, MAX_CLIENT, MAX_CONNECTION_ID, MAX_ERROR, MAX_IP,
                     MAX_METHOD, MAX_PATH, MAX_PROTOCOL, MAX_SIZE, MAX_USERNAME, as_size,
                     client_ip, ip_of)

# parse's public face: its own names and those of the rules and values it reads.
__all__ = ["classify", "classify_lines", "classify_general", "KINDS", "max_ts_for",
           "normalize_time", "client_ip", "MAX_SIZE", "MAX_USERNAME", "MAX_ACTION", "MAX_IP",
           "MAX_PROTOCOL", "MAX_PATH", "MAX_CONNECTION_ID", "MAX_METHOD", "MAX_ERROR",
           "MAX_CLIENT", "EMPTY", "NOT_JSON", "NOT_OBJECT", "NUL_RUN", "TOO_LONG", "TORN_TAIL",
           "PARSE_ERROR", "BAD_TIME", "BAD_SIZE", "BAD_VALUE", "NOT_MALFORMED"]

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
# BAD_TIME is times.py's.
BAD_SIZE = "bad_size"
BAD_VALUE = "bad_value"      # username, file_path or protocol that is not text
NOT_MALFORMED = frozenset({BAD_TIME, BAD_SIZE, BAD_VALUE})

_loads = orjson.loads
_JSONError = orjson.JSONDecodeError

# An event is a tuple in this column order (see store.EVENT_COLUMNS, after the position):
# ts, day, kind, username, size_bytes, failed, action, remote_ip, protocol, file_path,
# elapsed_ms, connection_id, method, error, client, encrypted


def classify(data: bytes, max_ts: str | None = None):
    """Returns an event tuple, None for a line that is not an event, or a malformed reason.

    ``data`` is the line without its newline. Leading NUL bytes (the hole a writer leaves
    after an external truncate) are skipped; a line of NULs only is malformed ``nul_run``.
    ``max_ts`` ('YYYY-MM-DD HH:MM:SS.mmm', see max_ts_for) is the latest believable time:
    an event after it is ``bad_time``. Never raises, whatever the line holds.

    Usual lines take the typed fast path (fastline.Line); every other line, and every line
    the fast path does not fully vouch for, gets classify_general's answer.
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
    ``length`` and ``sample`` (reader.TooLong). The usual transfer line (a sender of
    counting.TRANSFERS, with counting.TRANSFER_NEEDS) is turned into its row here, inline, when its
    values need no more than the checks below (those of _fast_event and _row, in the same
    order): a per-line loop around classify spent ~0.3 us a line on calls and on re-packing
    its tuple. Any other line gets classify's answer.
    """
    rows: list[tuple] = []
    append = rows.append
    decode, transfers, needs, read = _decode_line, TRANSFERS, TRANSFER_NEEDS, getattr
    hours, minutes, seconds = HOURS, MINUTES, SECONDS
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
            if kind is not None:
                size, value, user = read(line, needs), line.time, line.username
                addr, protocol, path = line.remote_addr, line.protocol, line.file_path
                if size is not UNSET and len(value) == 23 \
                        and (head := hours.get(value[:13])) is not None \
                        and value[13:16] in minutes \
                        and (value[16:] in seconds or second(value[16:])) \
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
            if line is None:
                r = classify_general(data, max_ts)
            else:                               # _classify_line, without a call
                r = rule_for(line.sender, line, read)
                if r is not None:
                    r = _fast_event(line, r, max_ts)
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


# classify_lines builds a transfer's row inline, reading its columns by name for speed: the
# fields the transfer rules name. A rule changed there must change it too.
if {(r.named, r.elapsed, r.method, r.error, r.client, r.text) for r in RULES if r.transfer} \
        != {(True, "elapsed_ms", None, True, False, False)}:
    raise ImportError("classify_lines' inline transfer row does not follow counting.RULES")


def _classify_line(line, max_ts: str | None):
    """Returns classify's answer for a line the fast path decoded (a fastline.Line)."""
    rule = rule_for(line.sender, line, getattr)
    return None if rule is None else _fast_event(line, rule, max_ts)


def _fast_event(line, rule, max_ts):
    """_event for a fastline.Line: the same reads, with the types already known (absent
    fields are UNSET or their default)."""
    ts = timestamp(line.time, max_ts)
    if ts is BAD_TIME:
        return BAD_TIME
    sender, path, conn_id = line.sender, line.file_path, line.connection_id
    error = line.error if rule.error else None
    elapsed = getattr(line, rule.elapsed) if rule.elapsed else UNSET
    method = getattr(line, rule.method) if rule.method else UNSET
    client = encrypted = None
    if rule.client:
        client, encrypted = line.client, line.encrypted
        encrypted = None if encrypted is UNSET else encrypted
    return _row(rule, sender, ts, (line.username or "") if rule.named else "",
                getattr(line, rule.needs) if rule.transfer else None,
                1 if rule.transfer and error else 0, line.protocol,
                None if path is UNSET else path,
                line.remote_addr or line.ip or line.client_ip, line.message,
                None if elapsed is UNSET else elapsed, None if conn_id is UNSET else conn_id,
                None if method is UNSET else method, error, client, encrypted)


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
    rule = rule_for(sender, obj, _get)
    if rule is None:
        return None
    size = None
    if rule.transfer:
        size = obj[rule.needs]
        if type(size) is not int or not 0 <= size <= MAX_SIZE:
            size = as_size(size)
            if size is None:
                return BAD_SIZE
    return _event(obj, rule, sender, size, max_ts)


def _get(obj: dict, field: str):
    """A field of a dict as rule_for reads it: UNSET when absent."""
    return obj.get(field, UNSET)


def _event(obj: dict, rule, sender: str, size, max_ts):
    """Returns the event of a line the general path decoded: each value the rule reads,
    checked for its type, or the reason the line is kept."""
    get = obj.get
    ts = timestamp(get("time"), max_ts)
    if ts is BAD_TIME:
        return BAD_TIME
    username = ""
    if rule.named:
        username = get("username")
        if username is None:
            username = ""
        elif type(username) is not str:
            return BAD_VALUE           # an object, list, number or boolean: not a name
    protocol, path = get("protocol"), get("file_path")
    if protocol is not None and type(protocol) is not str \
            or path is not None and type(path) is not str:
        return BAD_VALUE
    addr = get("remote_addr") or get("ip") or get("client_ip")
    elapsed = get(rule.elapsed) if rule.elapsed else None
    if type(elapsed) is not int or not -INT64 <= elapsed < INT64:
        elapsed = None
    conn_id = get("connection_id")
    method = get(rule.method) if rule.method else None
    error = get("error") if rule.error else None
    client = encrypted = None
    if rule.client:
        client, encrypted = get("client"), get("encrypted")
        client = client if type(client) is str else None
        encrypted = encrypted if type(encrypted) is bool else None
    return _row(rule, sender, ts, username, size, 1 if rule.transfer and error else 0,
                protocol, path, addr if type(addr) is str else None, get("message"), elapsed,
                conn_id if type(conn_id) is str else None,
                method if type(method) is str else None,
                error if type(error) is str else None, client, encrypted)


def _row(rule, sender: str, ts: str, username: str, size, failed: int, protocol, path, addr,
         message, elapsed, conn_id, method, error, client, encrypted) -> tuple:
    """Returns the event tuple of a line matched by ``rule``, from the values either path
    read (text or None, int or None, bool or None), cut to their columns' lengths
    (docs/counting-rules.md, "What else an event keeps"; insight.md for client and
    encrypted: a login's only, the client version of a pre-2.7 SSH text login)."""
    sender = sender[:MAX_ACTION]
    if rule.text:                                     # a pre-2.7 text login
        username = login_name(message)
        ip, protocol = origin(message, sender)
        method, client = text_method(message), text_client(message)
    else:
        ip = ip_of(addr)
    return (ts, ts[:10], rule.kind, username[:MAX_USERNAME], size, failed, sender, ip,
            None if protocol is None else protocol[:MAX_PROTOCOL],
            None if path is None else path[:MAX_PATH], elapsed,
            None if conn_id is None else conn_id[:MAX_CONNECTION_ID],
            None if method is None else method[:MAX_METHOD],
            error[:MAX_ERROR] if error else None, client[:MAX_CLIENT] if client else None,
            None if encrypted is None else 1 if encrypted else 0)


def _rescue(data: bytes, max_ts: str | None):
    if data[:1] == b"\0":
        stripped = data.lstrip(b"\0")
        return classify(stripped, max_ts) if stripped else NUL_RUN
    if not data.strip():
        return EMPTY
    return NOT_JSON
