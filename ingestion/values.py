"""An event's values: the column bounds, a transfer's size, a client's IP.

docs/counting-rules.md, "Bounds on values" and "What else an event keeps". Pure: no I/O.
"""
from __future__ import annotations

# The valid range of size_bytes: 0 to 1 PiB per transfer. With it, a daily_stats cell
# (saturating at rollup_tables.BYTES_CAP = 2**62) needs 4096 maximal transfers to fill, and the
# events table never holds a value whose sum over 8191 rows could leave int64.
MAX_SIZE = 1 << 50
_MAX_SIZE_DIGITS = len(str(MAX_SIZE))

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
INT64 = 1 << 63


def as_size(value) -> int | None:
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


def client_ip(obj: dict):
    """Returns the client IP without port, from remote_addr, ip or client_ip."""
    addr = obj.get("remote_addr") or obj.get("ip") or obj.get("client_ip")
    return ip_of(addr) if type(addr) is str else None


def ip_of(addr: str) -> str | None:
    """Returns the IP of a client address ('host:port', '[v6]:port', or bare), None for ''."""
    if not addr:
        return None
    if addr[0] == "[":
        end = addr.find("]")
        addr = addr[1:end] if end > 0 else addr[1:]
    elif addr.count(":") == 1:
        addr = addr[:addr.index(":")]                # "host:port", the usual remote_addr
    return addr[:MAX_IP]
