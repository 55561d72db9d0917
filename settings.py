"""Settings: every knob of the dashboard and the ingester, declared once.

A value comes from the command line, else from the environment, else from the default,
in that order. ``from_env()`` is the only place in the project that reads ``os.environ``.
"""
from __future__ import annotations

import dataclasses
import os
import re
import socket
from dataclasses import dataclass, field


class ConfigError(ValueError):
    """A setting has a value that cannot be used."""


def _setting(default, env: str, help: str, flag: str | None = None):
    return field(default=default, metadata={"env": env, "help": help, "flag": flag})


MAX_RETENTION_DAYS = 36_600      # a century: beyond it a date cut-off would overflow

MAX_ANSWER_CACHE_MB = 4096     # of kept answers per worker process

MAX_METRICS_USERS = 100_000    # series per user on /metrics: beyond, Prometheus suffers

NODE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def default_node() -> str:
    """Returns the node name used when none is set: this machine's host name (its first
    label, cut to a valid name), stable across restarts. 'node' if it has none usable."""
    name = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname().split(".")[0])[:64].strip("-._")
    return name if NODE_NAME.fullmatch(name or "") else "node"


def check_node(name: str) -> str:
    """Returns ``name`` if it can name a node (1-64 of A-Z a-z 0-9 . _ -, starting with a letter
    or digit: it goes into lock and file names); raises ConfigError otherwise."""
    if not isinstance(name, str) or not NODE_NAME.fullmatch(name):
        raise ConfigError(f"node name {str(name)[:80]!r} is not usable: use 1-64 letters, digits, "
                          "'.', '_' or '-', starting with a letter or digit")
    return name


@dataclass(frozen=True)
class Settings:
    log_dir: str = _setting("logs", "SFTPGO_LOG_DIR",
                            "folder holding sftpgo.log and its rotated backups (searched recursively)",
                            "--log-dir")
    node: str = _setting(default_node(), "SFTPGO_NODE",
                         "name of this SFTPGo node: its log folder's files, checkpoints and "
                         "lock are this node's (several nodes can share one database)",
                         "--node")
    db_url: str = _setting("sqlite:///data/dashboard.db", "DATABASE_URL",
                           "SQLAlchemy URL: sqlite:///file.db or mysql+pymysql://user:pw@host/db",
                           "--db")
    host: str = _setting("127.0.0.1", "DASHBOARD_HOST", "address the dashboard binds to", "--host")
    port: int = _setting(8050, "DASHBOARD_PORT", "port the dashboard listens on", "--port")
    interval_s: float = _setting(10.0, "DASHBOARD_INTERVAL",
                                 "seconds within which a new log line is drawn on every screen "
                                 "(each screen looks twice per interval)", "--interval")
    tick_budget_s: float = _setting(2.0, "INGEST_TICK_SECONDS",
                                    "time one dashboard tick may spend ingesting")
    tick_budget_bytes: int = _setting(64 * 1024 * 1024, "INGEST_TICK_BYTES",
                                      "bytes one dashboard tick may ingest")
    batch_bytes: int = _setting(4 * 1024 * 1024, "INGEST_BATCH_BYTES",
                                "bytes read per committed batch (one transaction)")
    backlog_bytes: int = _setting(64 * 1024 * 1024, "INGEST_BACKLOG_BYTES",
                                  "a pass that finds more than this to read, and at least as "
                                  "much as is stored already, loads it without the events "
                                  "table's secondary indexes and builds them once at its end "
                                  "(SQLite); 0 never does")
    max_line_bytes: int = _setting(8 * 1024 * 1024, "INGEST_MAX_LINE_BYTES",
                                   "longer lines are kept as malformed 'too_long' and skipped")
    log_name: str = _setting("sftpgo", "SFTPGO_LOG_NAME",
                             "base name of the log: <name>.log, <name>-<time>.log[.gz]")
    top_users: int = _setting(15, "DASHBOARD_TOP_USERS",
                              "users shown by name in the graphs; the rest are grouped as 'others'")
    default_start: str = _setting("2022-01-01", "DASHBOARD_DEFAULT_START",
                                  "first day of the default date range")
    auth_user: str = _setting("", "DASHBOARD_USER", "HTTP basic auth user (with DASHBOARD_PASSWORD)")
    auth_password: str = _setting("", "DASHBOARD_PASSWORD", "HTTP basic auth password")
    max_request_bytes: int = _setting(1024 * 1024, "DASHBOARD_MAX_REQUEST_BYTES",
                                      "largest request body accepted; a larger one gets 413 unread")
    server_workers: int = _setting(0, "DASHBOARD_WORKERS",
                                   "worker processes serving the dashboard (0: one per CPU "
                                   "core, at most 8)")
    server_threads: int = _setting(4, "DASHBOARD_THREADS",
                                   "requests each worker process serves at once (more wait "
                                   "in line)")
    queue_wait_s: float = _setting(2.0, "DASHBOARD_QUEUE_WAIT",
                                   "seconds a request may wait for a free thread; one that "
                                   "would wait longer is answered 503 with Retry-After at once")
    answer_cache_mb: int = _setting(64, "DASHBOARD_ANSWER_CACHE_MB",
                                    "megabytes of answers each worker process keeps per data "
                                    "version, so many screens asking the same cost one answer "
                                    "(0: none kept, every request computes its own)")
    server_connections: int = _setting(100, "DASHBOARD_MAX_CONNECTIONS",
                                       "open connections app.py accepts at once (more wait "
                                       "in the kernel's backlog)")
    request_timeout_s: float = _setting(10.0, "DASHBOARD_REQUEST_TIMEOUT",
                                        "seconds a client has to send a whole request (head "
                                        "and body), and the longest one write to it may wait; "
                                        "a slower client is answered 408 and closed")
    max_exports: int = _setting(2, "DASHBOARD_MAX_EXPORTS",
                                "CSV downloads (events.csv, users.csv) streamed at once per "
                                "process; more are answered 429 with Retry-After")
    frame_ancestors: str = _setting("'self'", "DASHBOARD_FRAME_ANCESTORS",
                                    "pages that may show the dashboard in a frame (the "
                                    "Content-Security-Policy frame-ancestors list), e.g. "
                                    "\"'self' https://wall.example.org\"; 'none' forbids it")
    metrics_max_users: int = _setting(1000, "METRICS_MAX_USERS",
                                      "users given series of their own on /metrics (each "
                                      "keeps its series once given); the rest are summed "
                                      "as user=\"__other__\"")
    geoip_db: str = _setting("", "GEOIP_DB",
                             "a MaxMind or DB-IP .mmdb file (country or city) that places IPs "
                             "in countries instead of the built-in data (docs/insight.md)")
    events_retention_days: int = _setting(0, "EVENTS_RETENTION_DAYS",
                                          "raw events whose day is more than this many days "
                                          "before today are dropped (the rollups are kept); "
                                          "0 keeps every event", "--events-retention-days")
    # alerts and digests (docs/alerts.md)
    alert_rules: str = _setting("", "ALERT_RULES",
                                "TOML file of alert rules, channels and digests (empty: the "
                                "default rules, shown on /alerts only)", "--alert-rules")
    alert_max_age: str = _setting("1h", "ALERT_MAX_AGE",
                                  "an alert stored more than this after its time is kept but "
                                  "not sent (a backfill sends nothing): 30s, 10m, 1h, 2d")
    smtp_url: str = _setting("", "SMTP_URL",
                             "mail server of the e-mail channels: smtp://[user:password@]host"
                             "[:port][?starttls=1] or smtps://...")
    smtp_from: str = _setting("", "SMTP_FROM", "sender address of alert and digest e-mails")
    dashboard_url: str = _setting("", "DASHBOARD_URL",
                                  "the dashboard's address as the admin opens it, the base of "
                                  "the links in alerts (default http://DASHBOARD_HOST:PORT)")

    def __post_init__(self):
        check_node(self.node)
        if not 0 <= self.events_retention_days <= MAX_RETENTION_DAYS:
            raise ConfigError(f"EVENTS_RETENTION_DAYS={self.events_retention_days} is out of range: "
                              f"use 0 (keep every event) to {MAX_RETENTION_DAYS} days")
        if not 0 <= self.metrics_max_users <= MAX_METRICS_USERS:
            raise ConfigError(f"METRICS_MAX_USERS={self.metrics_max_users} is out of range: "
                              f"use 0 (every user as __other__) to {MAX_METRICS_USERS:,}")
        if not 0 <= self.answer_cache_mb <= MAX_ANSWER_CACHE_MB:
            raise ConfigError(f"DASHBOARD_ANSWER_CACHE_MB={self.answer_cache_mb} is out of "
                              f"range: use 0 (keep no answer) to {MAX_ANSWER_CACHE_MB}")

    @property
    def tick_s(self) -> float:
        """Returns the seconds between two looks of a screen (its live tick): half an
        interval, so that a line ingested at any moment is drawn on every screen within one
        interval, whatever its tick's phase (docs/screens.md#a-new-line-on-every-screen)."""
        return self.interval_s / 2

    def replace(self, **changes) -> "Settings":
        """Returns a copy with the non-None values of ``changes`` applied."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def describe() -> list[tuple[str, str, object, str]]:
    """Returns (field, env var, default, help) for every setting, for docs and --help."""
    return [(f.name, f.metadata["env"], f.default, f.metadata["help"])
            for f in dataclasses.fields(Settings)]


def flags() -> dict[str, str]:
    """Returns {field name: command-line flag} for the settings that have one."""
    return {f.name: f.metadata["flag"] for f in dataclasses.fields(Settings) if f.metadata["flag"]}


def add_flags(parser, *names: str) -> None:
    """Adds the command-line flags of the named settings to an argparse parser.

    Name, type, environment variable, default and help all come from the field, so the two
    commands and docs/configuration.md's table describe each setting the same way.
    """
    for f in dataclasses.fields(Settings):
        if f.name in names:
            m = f.metadata
            parser.add_argument(m["flag"], dest=f.name, type=type(f.default), default=None,
                                help=f"{m['help']} [env {m['env']}, default {f.default}]")


def from_flags(args, environ=None) -> Settings:
    """Returns the settings: the flags given (attributes of ``args``) over from_env()."""
    names = [f.name for f in dataclasses.fields(Settings) if f.metadata["flag"]]
    return from_env(environ).replace(**{n: getattr(args, n, None) for n in names})


def from_env(environ=None) -> Settings:
    """Returns Settings with values from the environment over the defaults."""
    environ = os.environ if environ is None else environ
    values = {}
    for f in dataclasses.fields(Settings):
        raw = environ.get(f.metadata["env"])
        if raw is None or raw == "":
            continue
        try:
            values[f.name] = type(f.default)(raw)
        except ValueError:
            raise ConfigError(f"{f.metadata['env']}={raw!r} is not a valid {type(f.default).__name__}")
    return Settings(**values)
