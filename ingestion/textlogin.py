"""The facts of a pre-2.7 text login, which SFTPGo wrote in its ``message`` only.

docs/counting-rules.md, "What else an event keeps": the username, the method, the IP, the
protocol and (insight.md) the SSH client. Pure: no I/O.
"""
from __future__ import annotations

import re

import orjson

from .values import MAX_CLIENT, MAX_PROTOCOL, ip_of

_QUOTED_USER = re.compile(r'^User "((?:[^"\\]|\\.)*)"')
_USERNAME_FIELD = re.compile(r'username: "((?:[^"\\]|\\.)*)"')
_TEXT_METHOD = re.compile(r'logged in with:? "((?:[^"\\]|\\.)*)"')
_TEXT_IP = re.compile(r'(?:from ip:? |remote addr: )"((?:[^"\\]|\\.)*)"')
_TEXT_CLIENT = re.compile(r'client version "((?:[^"\\]|\\.)*)"')


def login_name(message: str) -> str:
    """Returns the quoted name after 'User ', else the quoted value after 'username: ', or ''."""
    m = _QUOTED_USER.match(message) or _USERNAME_FIELD.search(message)
    return unquote(m.group(1)) if m else ""


def method(message) -> str | None:
    """Returns the quoted value after 'logged in with', cut at its first ':'
    ("publickey: SHA256:..." -> "publickey"); None when unquoted."""
    if type(message) is not str:
        return None
    m = _TEXT_METHOD.search(message)
    return unquote(m.group(1)).split(":", 1)[0].strip() if m else None


def client(message) -> str | None:
    """Returns the quoted value after 'client version ' (an SSH login's; its first MAX_CLIENT
    characters); None when there is none, or it is empty."""
    if type(message) is not str or "client version " not in message:
        return None
    m = _TEXT_CLIENT.search(message)
    return (unquote(m.group(1))[:MAX_CLIENT] or None) if m else None


def origin(message, sender: str) -> tuple:
    """Returns (remote_ip, protocol): the quoted IP after 'from ip' or 'remote addr:' without
    its port, and the sender, which names the protocol (SFTPGo 1.x's 'sftpd' is SSH)."""
    ip = None
    if type(message) is str:
        m = _TEXT_IP.search(message)
        if m:
            ip = ip_of(unquote(m.group(1)))
    protocol = "SSH" if sender == "sftpd" else sender[:MAX_PROTOCOL]
    return ip, protocol or None


def unquote(raw: str) -> str:
    """Returns a Go %q-quoted value's text (its escapes undone where JSON reads them)."""
    if "\\" not in raw:
        return raw
    try:
        return orjson.loads(b'"' + raw.encode("utf-8") + b'"')
    except orjson.JSONDecodeError:
        return raw
