"""The rules file (TOML): rules, notification channels and digests, checked once at start.

``load(settings)`` returns a ``Config`` or raises ``RulesError`` (a ConfigError: app.py and
ingest.py print its one line and exit 2), naming the rule (or channel, digest) and the field.
Without a file, DEFAULT_RULES apply and nothing is sent. Pure apart from reading the file.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from urllib.parse import urlsplit

from settings import ConfigError, Settings

NAME = re.compile(r"[a-z0-9_-]{1,64}")
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(s|m|h|d)")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_BYTES = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(B|KB|MB|GB|TB|PB|KiB|MiB|GiB|TiB|PiB)?")
_BYTE_UNITS = {None: 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
               "PB": 10**15, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
               "PiB": 2**50}
_EMAIL = re.compile(r"[^@\s<>,;\"']{1,64}@[A-Za-z0-9.-]{1,253}")
MAX_DURATION_S = 366 * 86400
MAX_BYTES = 1 << 62
EVENT_KINDS = ("upload", "download", "file_op", "login")

# when -> (per default, per allowed, fields it takes (besides name, when, per), defaults)
KINDS = {
    "login_failures": ("ip", ("ip", "username", "ip,username"), ("over", "within"), {}),
    "ban": ("ip", ("ip",), (), {"over": 1}),
    "login_after_failures": ("ip", ("ip",), ("over", "within"), {}),
    "transfer_failures": ("user", ("user",), ("over", "within"), {}),
    "bytes": ("user", ("user",), ("over", "within", "kind"), {}),
    "new_ip": ("user", ("user",), ("min_days",), {"min_days": 7}),
    "quiet": ("user", ("user",), ("users", "kind", "min", "for"), {"min": 1}),
    "stale_node": ("node", ("node",), (), {}),
}
EVENT_RULES = ("login_failures", "ban", "login_after_failures", "transfer_failures", "bytes",
               "new_ip")
CLOCK_RULES = ("quiet", "stale_node")


class RulesError(ConfigError):
    """The rules file cannot be used; the message names the rule (or table) and field."""


@dataclass(frozen=True)
class Rule:
    name: str
    when: str
    per: str
    over: int = 1                  # events (bytes: bytes) that make it fire
    within_s: float | None = None
    kinds: tuple = ()              # bytes: upload/download; quiet: the kinds counted
    users: tuple = ()              # quiet: the users watched
    min: int = 1                   # quiet
    for_s: float | None = None     # quiet
    min_days: float = 7            # new_ip

    def describe(self) -> dict:
        """Returns the rule as /api/alerts lists it (no secret is in a rule)."""
        def whole(v):
            return int(v) if v is not None and float(v).is_integer() else v
        out = {"name": self.name, "when": self.when, "per": self.per}
        if self.when in ("login_failures", "login_after_failures", "transfer_failures", "bytes"):
            out.update(over=self.over, within_s=whole(self.within_s))
        if self.when == "bytes":
            out["kind"] = list(self.kinds)
        if self.when == "new_ip":
            out["min_days"] = self.min_days
        if self.when == "quiet":
            out.update(users=list(self.users), kind=list(self.kinds), min=self.min,
                       for_s=whole(self.for_s))
        return out


@dataclass(frozen=True)
class Channel:
    """Where alerts (or a digest) go: a webhook (JSON or Slack-style text) or an address."""
    kind: str                      # "webhook" | "email"
    target: str                    # the URL or the address: never shown (may hold a secret)
    format: str = "json"           # webhook: "json" | "slack"
    name: str = ""                 # what pages and answers show: no password, no query

    @property
    def key(self) -> str:
        return self.name


@dataclass(frozen=True)
class Digest:
    every_s: int
    channel: Channel

    @property
    def name(self) -> str:
        return f"{format_duration(self.every_s)} to {self.channel.name}"


@dataclass(frozen=True)
class Config:
    rules: tuple
    channels: tuple = ()
    digests: tuple = ()
    max_age_s: float = 3600.0
    smtp_url: str = ""
    smtp_from: str = ""
    dashboard_url: str = "http://127.0.0.1:8050"
    source: str = ""               # the file, or "" for the default rules

    def rule(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)

    @property
    def event_rules(self) -> tuple:
        return tuple(r for r in self.rules if r.when in EVENT_RULES)

    @property
    def clock_rules(self) -> tuple:
        return tuple(r for r in self.rules if r.when in CLOCK_RULES)


DEFAULT_RULES = (
    Rule("brute-force", "login_failures", "ip", over=20, within_s=600.0),
    Rule("ban", "ban", "ip"),
    Rule("break-in", "login_after_failures", "ip", over=5, within_s=3600.0),
    Rule("stale-node", "stale_node", "node"),
)


# --- values ------------------------------------------------------------------------------

def parse_duration(value, where: str) -> float:
    """Returns the seconds of '30s', '10m', '1h', '2d' (or a number of seconds); raises
    RulesError naming ``where``."""
    if isinstance(value, bool):
        raise RulesError(f"{where}: {value!r} is not a duration: write 30s, 10m, 1h or 2d")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        m = _DURATION.fullmatch(str(value).strip()) if isinstance(value, str) else None
        if m is None:
            raise RulesError(f"{where}: {str(value)[:40]!r} is not a duration: write 30s, "
                             "10m, 1h or 2d")
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if not 1 <= seconds <= MAX_DURATION_S:
        raise RulesError(f"{where}: {str(value)[:40]!r} is out of range: from 1s to 366d")
    return seconds


def format_duration(seconds: float) -> str:
    """Returns a duration in the largest unit that divides it: 600 -> '10m'."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def parse_bytes(value, where: str) -> int:
    """Returns a byte count from 1000, '50GB', '1.5TiB'; raises RulesError."""
    if isinstance(value, bool):
        raise RulesError(f"{where}: {value!r} is not a size: write 50GB or 1.5TiB")
    if isinstance(value, (int, float)):
        n = value
    else:
        m = _BYTES.fullmatch(str(value).strip()) if isinstance(value, str) else None
        if m is None:
            raise RulesError(f"{where}: {str(value)[:40]!r} is not a size: write 50GB or 1.5TiB")
        n = float(m.group(1)) * _BYTE_UNITS[m.group(2)]
    if not 1 <= n <= MAX_BYTES:
        raise RulesError(f"{where}: {str(value)[:40]!r} is out of range: from 1 byte to 4 EiB")
    return int(n)


def _count(value, where: str, low: int = 1, high: int = 10**9) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RulesError(f"{where}: {str(value)[:40]!r} is not a whole number from {low} to {high:,}")
    return value


def safe_url_name(url: str) -> str:
    """Returns how a webhook is shown: its scheme and host, the rest elided (a path or a query
    can be the secret: a Slack hook's is)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    rest = "…" if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{host}/{rest}"


# --- the file ----------------------------------------------------------------------------

def load(settings: Settings) -> Config:
    """Returns the configuration of ``settings``: its rules file (ALERT_RULES) or the default
    rules, ALERT_MAX_AGE, SMTP_URL, SMTP_FROM, DASHBOARD_URL. Raises RulesError."""
    max_age = parse_duration(settings.alert_max_age, "ALERT_MAX_AGE")
    base = settings.dashboard_url or f"http://{settings.host}:{settings.port}"
    if not re.fullmatch(r"https?://[^\s]+", base):
        raise RulesError(f"DASHBOARD_URL={base[:80]!r} is not an http:// or https:// address")
    common = {"max_age_s": max_age, "smtp_url": settings.smtp_url,
              "smtp_from": settings.smtp_from, "dashboard_url": base.rstrip("/")}
    if settings.smtp_url:
        check_smtp_url(settings.smtp_url)
    if not settings.alert_rules:
        return Config(rules=DEFAULT_RULES, **common)
    path = settings.alert_rules
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise RulesError(f"alert rules {path}: cannot read it: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"alert rules {path}: not TOML: {exc}") from None
    except UnicodeDecodeError:
        raise RulesError(f"alert rules {path}: not TOML: not UTF-8 text") from None
    try:
        return parse(data, source=path, **common)
    except RulesError as exc:
        raise RulesError(f"alert rules {path}: {exc}") from None


def parse(data: dict, source: str = "", **common) -> Config:
    """Returns the Config of a parsed TOML document; raises RulesError (rule and field)."""
    unknown = set(data) - {"rule", "notify", "digest"}
    if unknown:
        raise RulesError(f"unknown table {sorted(unknown)[0]!r}: use [[rule]], [[notify]] "
                         "and [[digest]]")
    rules = [_rule(r, i) for i, r in enumerate(_tables(data, "rule"))]
    names = [r.name for r in rules]
    for name in names:
        if names.count(name) > 1:
            raise RulesError(f"rule {name!r}: name: two rules have this name")
    channels = _name_channels([_channel(c, f"notify #{i + 1}")
                               for i, c in enumerate(_tables(data, "notify"))])
    digests = []
    for i, d in enumerate(_tables(data, "digest")):
        where = f"digest #{i + 1}"
        _only(d, where, ("every", "email", "webhook", "format"))
        if "every" not in d:
            raise RulesError(f"{where}: every: missing (a period: 1d, 7d)")
        every = parse_duration(d["every"], f"{where}: every")
        if every < 60 or every % 60:
            raise RulesError(f"{where}: every: {d['every']!r} must be whole minutes, at least 1m")
        digests.append(Digest(int(every), _channel(
            {k: v for k, v in d.items() if k != "every"}, where)))
    named = _name_channels([d.channel for d in digests], taken=[c.name for c in channels])
    digests = [Digest(d.every_s, c) for d, c in zip(digests, named)]
    for i, d in enumerate(digests):
        if any((d.every_s, d.channel.target) == (e.every_s, e.channel.target)
               for e in digests[:i]):
            raise RulesError(f"digest #{i + 1}: every: the same digest is listed twice")
    return Config(rules=tuple(rules), channels=tuple(channels), digests=tuple(digests),
                  source=source, **common)


def _tables(data: dict, name: str) -> list:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise RulesError(f"{name}: write each as a [[{name}]] table")
    return value


def _only(table: dict, where: str, allowed) -> None:
    for k in table:
        if k not in allowed:
            raise RulesError(f"{where}: {k}: not a field here (allowed: {', '.join(allowed)})")


def _rule(t: dict, i: int) -> Rule:
    name = t.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise RulesError(f"rule #{i + 1}: name: {str(name)[:40]!r} must be 1-64 of a-z 0-9 _ -")
    where = f"rule {name!r}"
    when = t.get("when")
    if when not in KINDS:
        raise RulesError(f"{where}: when: {str(when)[:40]!r} is not one of {', '.join(KINDS)}")
    per_default, per_allowed, fields, defaults = KINDS[when]
    _only(t, where, ("name", "when", "per", *fields))
    per = t.get("per", per_default)
    if isinstance(per, list) and all(isinstance(p, str) for p in per):
        per = ",".join(per)                 # per = ["ip", "username"]: both
    if per not in per_allowed:
        raise RulesError(f"{where}: per: {str(per)[:40]!r} is not allowed for {when} "
                         f"(use {' or '.join(repr(p) for p in per_allowed)})")
    values: dict = dict(defaults)
    for f in fields:
        if f not in t and f not in ("kind", "min", "min_days"):
            raise RulesError(f"{where}: {f}: missing (a {when} rule needs {', '.join(fields)})")
    if "over" in t:
        values["over"] = parse_bytes(t["over"], f"{where}: over") if when == "bytes" \
            else _count(t["over"], f"{where}: over")
    if "within" in t:
        values["within_s"] = parse_duration(t["within"], f"{where}: within")
    if "for" in t:
        values["for_s"] = parse_duration(t["for"], f"{where}: for")
    if "min" in t:
        values["min"] = _count(t["min"], f"{where}: min")
    if "min_days" in t:
        v = t["min_days"]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 3660:
            raise RulesError(f"{where}: min_days: {str(v)[:40]!r} is not a number of days "
                             "from 0 to 3660")
        values["min_days"] = float(v)
    if when == "bytes":
        values["kinds"] = _kinds(t.get("kind"), ("upload", "download"), where)
    if when == "quiet":
        values["kinds"] = _kinds(t.get("kind"), EVENT_KINDS, where)
        users = t["users"]
        if isinstance(users, str):
            users = [users]
        if not isinstance(users, list) or not users or not all(
                isinstance(u, str) and 0 < len(u) <= 255 for u in users):
            raise RulesError(f"{where}: users: give a list of user names, e.g. [\"acme\"]")
        values["users"] = tuple(dict.fromkeys(users))
    return Rule(name=name, when=when, per=per, **values)


def _kinds(value, allowed: tuple, where: str) -> tuple:
    if value is None:
        return allowed
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or any(k not in allowed for k in items):
        raise RulesError(f"{where}: kind: {str(value)[:40]!r} is not one or more of "
                         f"{', '.join(allowed)}")
    return tuple(dict.fromkeys(items))


def _channel(t: dict, where: str) -> Channel:
    _only(t, where, ("webhook", "email", "format"))
    if ("webhook" in t) == ("email" in t):
        raise RulesError(f"{where}: webhook: give either webhook = \"https://...\" or "
                         "email = \"ops@example.com\"")
    if "webhook" in t:
        url = t["webhook"]
        fmt = t.get("format", "json")
        if fmt not in ("json", "slack"):
            raise RulesError(f"{where}: format: {str(fmt)[:40]!r} is not json or slack")
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname \
                or any(c.isspace() for c in url):
            raise RulesError(f"{where}: webhook: not an http:// or https:// address")
        return Channel("webhook", url, fmt, f"webhook:{safe_url_name(url)}")
    if "format" in t:
        raise RulesError(f"{where}: format: only for a webhook")
    address = t["email"]
    if not isinstance(address, str) or not _EMAIL.fullmatch(address):
        raise RulesError(f"{where}: email: {str(address)[:60]!r} is not an e-mail address")
    return Channel("email", address, "text", f"email:{address}")


def _name_channels(channels: list, taken=()) -> list:
    """Returns the channels with names unique among themselves and ``taken`` (two webhooks on
    one host are 'webhook:https://host/…' and '... #2')."""
    out, seen = [], list(taken)
    for c in channels:
        name, n = c.name, 1
        while name in seen:
            n += 1
            name = f"{c.name} #{n}"
        seen.append(name)
        out.append(Channel(c.kind, c.target, c.format, name))
    return out


def check_smtp_url(url: str) -> None:
    """Raises RulesError when SMTP_URL is not smtp://[user:password@]host[:port][?starttls=1]
    or smtps://...; the message never repeats the URL (it may hold a password)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise RulesError("SMTP_URL: not smtp://[user:password@]host[:port] or smtps://...") from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise RulesError("SMTP_URL: not smtp://[user:password@]host[:port] or smtps://...")
    if parts.query and parts.query not in ("starttls=1", "starttls=0"):
        raise RulesError("SMTP_URL: the only option is ?starttls=1")
    del port


def check(config: Config) -> None:
    """Raises RulesError for a configuration that cannot send what it lists: an e-mail
    channel without SMTP_URL and SMTP_FROM."""
    emails = [c for c in config.channels if c.kind == "email"] + \
        [d.channel for d in config.digests if d.channel.kind == "email"]
    if emails and not config.smtp_url:
        raise RulesError(f"alert rules {config.source}: {emails[0].name}: e-mail needs "
                         "SMTP_URL (smtp://host:25 or smtps://user:password@host)")
    if emails and not _EMAIL.fullmatch(config.smtp_from or ""):
        raise RulesError(f"alert rules {config.source}: {emails[0].name}: e-mail needs "
                         "SMTP_FROM, the sender's address")


def load_checked(settings: Settings) -> Config:
    """Returns load(settings) after check(): what the two programs call at start."""
    config = load(settings)
    check(config)
    return config
