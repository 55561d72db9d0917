"""The fast path's decoder: a usual SFTPGo line straight into the typed fields the rules read.

Pure: no I/O. parse.classify decodes with it and hands whatever it refuses to
parse.classify_general.
"""
from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from .values import MAX_SIZE

# msgspec decodes a line straight into the fields the rules read, and validates the value of
# every other key SFTPGo writes (so no part of the line goes unchecked). A line with a key not
# listed here, or a value of another type (an object where a name belongs, a float size, an
# integer outside int64, a size out of bounds), fails to decode and goes to
# classify_general. So a line the fast path accepts is one orjson accepts with the same values,
# and both paths answer the same: tests/ingestion/test_parse_fast.py checks it.

_Int = Annotated[int, msgspec.Meta(ge=-(1 << 63), le=(1 << 63) - 1)]
_Size = Annotated[int, msgspec.Meta(ge=0, le=MAX_SIZE)]


class Line(msgspec.Struct, forbid_unknown_fields=True, gc=False):
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


decode_line = msgspec.json.Decoder(Line).decode
