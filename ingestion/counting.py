"""The counting rules' kinds of event (docs/counting-rules.md, "Kinds of event"), stated once.

RULES says which sender makes which kind, what else the line must hold to be that event, and
which of its fields feed the event's columns; first match wins. Every path of parse.py takes
its decisions from here: classify_general (orjson dicts), the typed fast path (msgspec
structs) and classify_lines' inline transfer path (TRANSFERS, TRANSFER_NEEDS). Only
tests/reference.py reads the rules a second time, on purpose apart.

Pure: no I/O.
"""
from __future__ import annotations

from typing import NamedTuple

from msgspec import UNSET

KINDS = ("upload", "download", "file_op", "login", "login_failed", "ban")
FILE_OPS = frozenset({"Rename", "Rmdir", "Mkdir", "Symlink", "Remove", "Chmod", "Chown",
                      "Chtimes", "Truncate", "Copy", "SSHCommand"})


class _Present:
    def __repr__(self) -> str:
        return "PRESENT"


PRESENT = _Present()    # a Rule.test: its field is in the line, whatever its value


class Rule(NamedTuple):
    kind: str
    senders: frozenset      # the senders it is for; empty: any sender no other rule names
    needs: str | None       # the field its test reads (None: the sender is enough)
    test: object = PRESENT  # PRESENT; a text the field must equal; or (start, inside): text
                            # that starts with start and holds inside
    named: bool = True      # the username is the `username` field (else none, or the text's)
    transfer: bool = False  # its `needs` field is its size, a non-empty error makes it failed
    elapsed: str | None = None   # the field of elapsed_ms
    method: str | None = None    # the field of method
    error: bool = False     # keeps `error`
    client: bool = False    # keeps `client` and `encrypted` (SFTPGo 2.7's login)
    text: bool = False      # its facts are in `message` (a pre-2.7 text login)


RULES = (
    Rule("ban", frozenset({"defender"}), "event", "banned", named=False),
    Rule("upload", frozenset({"Upload"}), "size_bytes", transfer=True, elapsed="elapsed_ms",
         error=True),
    Rule("download", frozenset({"Download"}), "size_bytes", transfer=True,
         elapsed="elapsed_ms", error=True),
    Rule("file_op", FILE_OPS, "file_path", elapsed="elapsed"),
    Rule("login", frozenset({"login"}), None, method="method", client=True),
    Rule("login_failed", frozenset({"connection_failed"}), None, method="login_type",
         error=True),
    Rule("login", frozenset(), "message", ("User ", " logged in with"), named=False,
         text=True),                                  # the text logins of SFTPGo before 2.7
)

# A line's sender picks its rule: the first that names it, else the one for any other sender.
# A line whose rule's test fails is not an event (no later rule is tried for its sender).
BY_SENDER: dict[str, Rule] = {}
for _rule in RULES:
    for _sender in _rule.senders:
        BY_SENDER.setdefault(_sender, _rule)
ANY_SENDER = next(r for r in RULES if not r.senders)

# classify_lines' inline path: the senders that make transfers, and the field they need.
TRANSFERS = {s: r.kind for s, r in BY_SENDER.items() if r.transfer}
(TRANSFER_NEEDS,) = {r.needs for r in RULES if r.transfer}


def rule_for(sender: str, line, read) -> Rule | None:
    """Returns the rule that makes ``line`` an event, or None when it is not one.

    ``read(line, field)`` returns the field's value, UNSET when the line has none: getattr
    for parse's msgspec struct, a dict's get for the general path.
    """
    rule = BY_SENDER.get(sender, ANY_SENDER)
    needs = rule.needs
    if needs is None:
        return rule
    value, test = read(line, needs), rule.test
    if test is PRESENT:
        return rule if value is not UNSET else None
    if type(test) is str:
        return rule if value == test else None
    start, inside = test
    return rule if type(value) is str and value.startswith(start) and inside in value else None
