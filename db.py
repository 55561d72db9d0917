"""Database access: engines, the schema and its upgrades, named SQL.

The only module that builds engines. SQLite (a file, WAL) and MySQL/MariaDB (PyMySQL) run
the same code; where their SQL differs, the variants sit side by side in ``sql/``. The named
locks are db_locks.py's (below this one); the watch on the SQLite file is db_file.py's.
"""
from __future__ import annotations

import functools
import logging
import re
import threading
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from db_locks import Busy, exclusive, ingest_lock

log = logging.getLogger(__name__)

SQL_DIR = Path(__file__).resolve().parent / "sql"


class DatabaseError(RuntimeError):
    """The database cannot be used: bad URL, unreachable server, unsupported backend."""


class DatabaseUnreachable(DatabaseError):
    """A database server (MySQL/MariaDB) could not be reached, or dropped the connection:
    an outage that may end, unlike a bad URL or a broken database."""


class DatabaseBroken(DatabaseError):
    """The database answers but cannot be used as it is: not a database (a corrupt or wrong
    file), or its file was deleted or replaced while in use."""


def error_reason(exc: BaseException) -> str:
    """Returns the first line of a database error, without SQL or parameters."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def dialect(engine_or_conn) -> str:
    """Returns 'sqlite' or 'mysql'."""
    name = engine_or_conn.dialect.name
    return "mysql" if name in ("mysql", "mariadb") else name


_engines: dict[tuple[str, bool], Engine] = {}
_engines_guard = threading.Lock()


def _parse(url: str):
    try:
        parsed = make_url(url)
    except Exception:  # ArgumentError for garbage; the text may hold a password: not shown
        raise DatabaseError("not a database URL: expected sqlite:///path/to/file.db or "
                            "mysql+pymysql://user:password@host:3306/database") from None
    backend = parsed.get_backend_name()
    if backend in ("mysql", "mariadb") and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    elif backend not in ("sqlite", "mysql", "mariadb"):
        raise DatabaseError(f"unsupported database {backend!r}: use sqlite:/// or mysql+pymysql://")
    return parsed


def make_engine(url: str, bulk: bool = False) -> Engine:
    """Returns the one engine of this process for ``url`` (created on first use).

    ``bulk`` (MySQL/MariaDB): connections may send LOAD DATA LOCAL files. Only the ingester's
    commits use such an engine, since the server then chooses which file the client sends.
    """
    parsed = _parse(url)
    key = (parsed.render_as_string(hide_password=False), bulk)
    with _engines_guard:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = _create_engine(parsed, bulk)
    return engine


def _create_engine(parsed, bulk: bool) -> Engine:
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": 60})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(parsed, pool_pre_ping=True, pool_recycle=3600,
                            connect_args={"connect_timeout": 5, "local_infile": bulk})


def dispose_engines(url: str) -> None:
    """Closes and forgets every engine of this process for ``url`` (tests drop databases)."""
    key = _parse(url).render_as_string(hide_password=False)
    with _engines_guard:
        engines = [_engines.pop((key, bulk), None) for bulk in (False, True)]
    for engine in engines:
        if engine is not None:
            engine.dispose()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # 16 KiB pages for a file created now (an existing file keeps its own size): fewer,
    # fuller b-tree pages for the events table and its index, ~15-20% less CPU per inserted
    # row. Must come before WAL is switched on, which writes the first page.
    cur.execute("PRAGMA page_size=16384")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=60000")
    # Up to 64 MiB of pages cached per connection (default 2 MiB): a batch's inserts land
    # all over the (day, ts) index when times repeat, and its pages stay cached between
    # batches instead of being read back and spilled mid-transaction.
    cur.execute("PRAGMA cache_size=-65536")
    cur.close()


def describe_url(url: str) -> str:
    """Returns the URL with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable URL>"


@functools.lru_cache(maxsize=None)
def load_sql(name: str, dialect_name: str | None = None) -> sa.TextClause:
    """Returns ``sql/queries/<name>.sql`` (or its ``<name>.<dialect>.sql`` variant) as text()."""
    base = SQL_DIR / "queries"
    path = base / f"{name}.{dialect_name}.sql" if dialect_name else None
    if path is None or not path.exists():
        path = base / f"{name}.sql"
    return sa.text(path.read_text(encoding="utf-8"))


# --- schema ------------------------------------------------------------------------------

_MIGRATION = re.compile(r"^(\d{3})_[a-z0-9_]+\.(sqlite|mysql)\.sql$")


def migrations(dialect_name: str) -> list[tuple[int, Path]]:
    """Returns (version, file) of every migration for the dialect, in order."""
    found = []
    for path in (SQL_DIR / "migrations").iterdir():
        m = _MIGRATION.match(path.name)
        if m and m.group(2) == dialect_name:
            found.append((int(m.group(1)), path))
    return sorted(found)


@functools.lru_cache(maxsize=2)
def latest_version(dialect_name: str) -> int:
    """Returns the highest schema version this build's migrations reach."""
    return max((v for v, _p in migrations(dialect_name)), default=0)


def refuse_newer(version: int, dialect_name: str) -> None:
    """Raises DatabaseError when a database at ``version`` was upgraded by a newer build:
    this one would store rows without what the newer schema keeps beside them (as 013's
    events_rare). migrate() checks it on start, each ingestion pass again (a node left
    running while another node is upgraded stops there)."""
    latest = latest_version(dialect_name)
    if version > latest:
        raise DatabaseError(f"the database is at schema {version}, newer than this build "
                            f"knows ({latest}): a newer version upgraded it; run that "
                            "version here too")


def check_not_newer(conn) -> None:
    """refuse_newer for the database of ``conn`` (one short query)."""
    version = conn.execute(sa.text("SELECT MAX(version) FROM schema_version")).scalar() or 0
    refuse_newer(version, dialect(conn))


def _statements(sql: str) -> list[str]:
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def schema_version(conn) -> int:
    """Returns the applied schema version (0 for an empty database)."""
    if not sa.inspect(conn).has_table("schema_version"):
        return 0
    return conn.execute(sa.text("SELECT MAX(version) FROM schema_version")).scalar() or 0


def migrate(engine: Engine, node: str | None = None) -> int:
    """Creates or upgrades the schema in place; returns the version now in force.

    ``node`` (default: settings.default_node(), the host name) is the node that the rows of
    a database from before nodes (migration 007) become: a statement of a migration that
    names the bind parameter :node gets it.
    """
    if node is None:
        from settings import default_node
        node = default_node()
    d = dialect(engine)
    with exclusive(engine, "migrate", wait=True):
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            current = schema_version(conn)
            applied = {v for (v,) in conn.execute(sa.text("SELECT version FROM schema_version"))}
        refuse_newer(current, d)
        skipped = [p.name for v, p in migrations(d) if v < current and v not in applied]
        if skipped:
            # Applying it now would run it after later ones it may predate: refuse, loudly.
            raise DatabaseError(f"the database is at schema {current} but never applied "
                                f"{', '.join(skipped)}: it was made by a build with other "
                                "migrations; restore a backup or start a new database")
        collation = None
        for version, path in migrations(d):
            if version <= current:
                continue
            if d == "mysql" and collation is None:
                collation = _mysql_bin_collation(engine)
            sql = path.read_text(encoding="utf-8").replace("{BIN}", collation or "")
            log.info("Applying schema migration. version=%d file=%s", version, path.name)
            with engine.begin() as conn:
                for stmt in _statements(sql):
                    try:
                        if ":node" in stmt:
                            conn.execute(sa.text(stmt), {"node": node})
                        else:
                            conn.exec_driver_sql(stmt)
                    except sa.exc.OperationalError as exc:
                        if not _done_before(conn, stmt, exc):
                            raise
                        log.info("Schema change already made by a stopped run of this "
                                 "migration; going on. version=%d", version)
                conn.execute(sa.text("INSERT INTO schema_version (version) VALUES (:v)"), {"v": version})
            current = version
    repair_deferred_indexes(engine)
    return current


_ADD_COLUMNS = re.compile(r"^ALTER TABLE (\w+)\s+ADD COLUMN \w+[^,]*(?:,\s*ADD COLUMN \w+[^,]*)*$",
                          re.S)
_CREATE_INDEX = re.compile(r"^CREATE INDEX (\w+) ON (\w+) \(")
_DUPLICATE_COLUMN = 1060
_DUPLICATE_KEY_NAME = 1061


def _done_before(conn, stmt: str, exc: sa.exc.OperationalError) -> bool:
    """Whether ``stmt`` failed on MySQL/MariaDB because an earlier run of its migration
    stopped after it (DDL commits on its own there, and MySQL 8 has neither ADD COLUMN nor
    CREATE INDEX ... IF NOT EXISTS): an ALTER TABLE that only adds columns, every one of
    them there; a CREATE INDEX whose index is there on its table."""
    if dialect(conn) != "mysql":
        return False
    code = (getattr(exc.orig, "args", None) or (None,))[0]
    if code == _DUPLICATE_COLUMN and (m := _ADD_COLUMNS.match(stmt)) is not None:
        wanted = set(re.findall(r"ADD COLUMN (\w+)", stmt))
        have = {c["name"] for c in sa.inspect(conn).get_columns(m.group(1))}
        return wanted <= have
    if code == _DUPLICATE_KEY_NAME and (m := _CREATE_INDEX.match(stmt)) is not None:
        return m.group(1) in {ix["name"] for ix in sa.inspect(conn).get_indexes(m.group(2))}
    return False


# --- indexes deferred by a backlog (migration 019, ingestion/backlog.py) ---------------------

_DEFERRED = sa.text("SELECT name, definition FROM deferred_indexes WHERE node = :node"
                    " ORDER BY name")


def build_deferred_indexes(engine: Engine, node: str, seam=None) -> int:
    """Builds the indexes that ``node``'s backlog dropped; returns how many. The caller holds
    ``node``'s ingestion lock. Each index is built in one transaction with the deletion of its
    row of deferred_indexes (the row first: that begins the transaction, which the CREATE INDEX
    then joins), so a kill at any instant leaves each index either built and unmarked or
    missing and marked. ``seam`` is called with "index_built" before each commit and with
    "index_committed" after it (crash tests)."""
    with engine.connect() as conn:
        rows = conn.execute(_DEFERRED, {"node": node}).all()
    for name, definition in rows:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM deferred_indexes WHERE name = :n"), {"n": name})
            if not sa.inspect(conn).has_index("events", name):
                conn.exec_driver_sql(definition)
            if seam is not None:
                seam("index_built")
        if seam is not None:
            seam("index_committed")
        log.info("Index built after a backlog. index=%s node=%s", name, node)
    return len(rows)


def repair_deferred_indexes(engine: Engine) -> int:
    """Builds the indexes a backlog dropped when no pass of its node is under way (its process
    was killed, or stopped, before it built them); returns how many. A node whose pass holds
    its lock is left to finish its own backlog."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("deferred_indexes"):
            return 0
        nodes = sorted(set(conn.execute(sa.text("SELECT node FROM deferred_indexes")).scalars()))
    built = 0
    for node in nodes:
        try:
            with exclusive(engine, ingest_lock(node), wait=False):
                built += build_deferred_indexes(engine, node)
        except Busy:
            continue
    return built


def _mysql_bin_collation(engine: Engine) -> str:
    with engine.connect() as conn:
        version = conn.exec_driver_sql("SELECT VERSION()").scalar() or ""
    return "utf8mb4_nopad_bin" if "mariadb" in version.lower() else "utf8mb4_0900_bin"


# MySQL/MariaDB errors of the connection rather than the statement: too many connections,
# shutting down, connection killed, cannot connect (socket, TCP, host), gone away, lost.
_OUTAGE_CODES = frozenset({1040, 1053, 1927, 2002, 2003, 2005, 2006, 2013, 2055})


def is_outage(exc: sa.exc.DBAPIError) -> bool:
    """Whether a MySQL/MariaDB error is the connection's (the server down, unreachable, or
    dropping it), which may pass, rather than an answer to the statement."""
    args = getattr(exc.orig, "args", None) or (None,)
    return bool(exc.connection_invalidated) or isinstance(exc, sa.exc.InterfaceError) \
        or args[0] in _OUTAGE_CODES


def connect_checked(url: str, node: str | None = None) -> Engine:
    """Returns a migrated engine, or raises DatabaseError (DatabaseUnreachable for a server
    that cannot be reached or drops the connection, DatabaseBroken for a file that is not a
    database) with a one-line reason. ``node``: see migrate()."""
    engine = make_engine(url)
    try:
        migrate(engine, node)
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        # refused, gone away, lost during a query; for SQLite: unable to open
        message = f"cannot use the database at {describe_url(url)}: {error_reason(exc)}"
        if dialect(engine) != "sqlite" and is_outage(exc):
            raise DatabaseUnreachable(message) from None
        raise DatabaseError(message) from None
    except sa.exc.DBAPIError as exc:                # it answered: e.g. "file is not a database"
        raise DatabaseBroken(f"cannot use the database at {describe_url(url)}: "
                             f"{error_reason(exc)}") from None
    return engine


# --- the SQLite file ---------------------------------------------------------------------

def sqlite_file(url: str) -> Path | None:
    """Returns the file of a SQLite URL (plain or file: URI form); None for other backends
    and in-memory databases."""
    parsed = _parse(url)
    name = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or name in ("", ":memory:"):
        return None
    if name.startswith("file:"):
        name = name[len("file:"):].split("?", 1)[0]
    return Path(name).resolve()
