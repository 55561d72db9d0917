"""The test infrastructure itself: the MariaDB server, both database backends, the schema
migration and its lock, and headless Chromium."""
from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import sqlalchemy as sa
from dash import Dash, html

import db

ROOT = Path(__file__).resolve().parent.parent
TABLES = {"events", "log_files", "checkpoints", "daily_stats", "malformed_lines", "ingest_status"}


def snapshot(engine) -> dict:
    """Tables, their columns, and the rows of the bookkeeping tables."""
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        tables = {t: [c["name"] for c in inspector.get_columns(t)]
                  for t in inspector.get_table_names()}
        rows = {t: conn.execute(sa.text(f"SELECT * FROM {t}")).all()
                for t in ("schema_version", "ingest_status")}
    return {"tables": tables, "rows": rows}


def test_mariadb_server_answers(mariadb_server, mariadb_url):
    engine = sa.create_engine(mariadb_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        assert "MariaDB" in conn.execute(sa.text("SELECT VERSION()")).scalar()
        assert conn.execute(sa.text("SELECT @@character_set_database")).scalar() == "utf8mb4"
        assert conn.execute(sa.text("SELECT DATABASE()")).scalar() == mariadb_url.split("/")[-1].split("?")[0]


def test_migrate_creates_the_tables(engine, db_url):
    assert db.dialect(engine) == ("sqlite" if db_url.startswith("sqlite") else "mysql")
    assert TABLES <= set(sa.inspect(engine).get_table_names())


def test_migrate_is_idempotent(db_url):
    engine = db.make_engine(db_url)
    first = db.migrate(engine)
    before = snapshot(engine)
    assert first == max(v for v, _ in db.migrations(db.dialect(engine)))
    assert db.migrate(engine) == first
    assert snapshot(engine) == before


def test_usernames_compare_byte_for_byte_on_mariadb(mariadb_url):
    engine = db.make_engine(mariadb_url)
    db.migrate(engine)
    names = ["admin", "Admin", "admin "]
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO daily_stats (day, kind, username, events, bytes, failed)"
                             " VALUES ('2024-01-01', 'upload', :u, 1, 10, 0)"),
                     [{"u": n} for n in names])  # the primary key includes username
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(DISTINCT username) FROM daily_stats")).scalar() == 3
        groups = conn.execute(sa.text("SELECT username, SUM(events) FROM daily_stats"
                                      " GROUP BY username")).all()
        assert sorted(g[0] for g in groups) == sorted(names)
        assert conn.execute(sa.text("SELECT COUNT(*) FROM daily_stats WHERE username = 'admin'")
                            ).scalar() == 1
        collation = conn.execute(sa.text(
            "SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
            " AND TABLE_NAME = 'events' AND COLUMN_NAME = 'username'")).scalar()
    assert collation == "utf8mb4_nopad_bin"


def test_four_byte_utf8_round_trips(engine):
    name = "jürgen😀"
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO daily_stats (day, kind, username, events, bytes, failed)"
                             " VALUES ('2024-01-01', 'upload', :u, 1, 10, 0)"), {"u": name})
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT username FROM daily_stats")).scalar() == name


def test_concurrent_migrations_in_threads_both_succeed(db_url):
    engine = db.make_engine(db_url)
    start = threading.Barrier(2)
    results, errors = [], []

    def run():
        start.wait()
        try:
            results.append(db.migrate(engine))
        except Exception as exc:  # reported below, with the other thread's result
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert len(results) == 2 and results[0] == results[1]
    assert_each_migration_applied_once(engine)


def test_concurrent_migrations_in_processes_both_succeed(db_url):
    """Two processes: here only the database-level lock (flock / GET_LOCK) can serialize them."""
    code = "import sys, db; print(db.migrate(db.make_engine(sys.argv[1])))"
    procs = [subprocess.Popen([sys.executable, "-c", code, db_url], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err
    assert outputs[0][0] == outputs[1][0]
    assert_each_migration_applied_once(db.make_engine(db_url))


def assert_each_migration_applied_once(engine):
    with engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version FROM schema_version ORDER BY version")).scalars().all()
    assert versions == [v for v, _ in db.migrations(db.dialect(engine))]


def test_headless_chromium_renders_a_dash_app(dash_duo):
    app = Dash(__name__)
    app.layout = html.Div("hello from dash", id="greeting")
    dash_duo.start_server(app)
    dash_duo.wait_for_text_to_equal("#greeting", "hello from dash")
    assert dash_duo.get_logs() == []


def _imports(path: Path) -> list[str]:
    """Returns the modules ``path`` imports (relative imports made absolute)."""
    import ast
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            out += [base] + [f"{base}.{a.name}" for a in node.names]
    return out


def test_no_test_module_imports_another_and_benchmarks_import_only_the_support_package():
    """Shared helpers live in tests/support/ (and fixtures in conftest.py): a test module
    that imports another runs that module's tests' set-up, and hides what is shared."""
    wrong = []
    for path in sorted((ROOT / "tests").rglob("*.py")) + sorted((ROOT / "bench").rglob("*.py")):
        for name in _imports(path):
            last = name.rsplit(".", 1)[-1]
            if name.startswith("tests.") and last.startswith("test_"):
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
            elif path.parts[-2] == "bench" and name.startswith("tests") and \
                    not name.startswith("tests.support"):
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []


def test_imports_run_down_the_rooms():
    """ARCHITECTURE.md: the floor (db.py, db_locks.py, db_file.py, settings.py) imports no
    room above it; ingestion/ never imports the dashboard's rooms; dashboard/ never imports
    components/ or callbacks/."""
    above_floor = ("ingestion", "dashboard", "components", "callbacks", "pages", "alerts",
                   "app", "ingest", "simulate")
    rules = {"db.py": above_floor, "db_locks.py": above_floor + ("db",),
             "db_file.py": above_floor, "settings.py": above_floor + ("db",),
             "ingestion": ("dashboard", "components", "callbacks", "pages", "app"),
             "dashboard": ("components", "callbacks", "pages", "app")}
    wrong = []
    for room, banned in rules.items():
        paths = [ROOT / room] if room.endswith(".py") else sorted((ROOT / room).glob("*.py"))
        for path in paths:
            for name in _imports(path):
                if name.split(".")[0] in banned:
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []
