"""app: the page shell, settings and flags, the theme served locally, the WSGI entry."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import dash
import pytest
from plotly.io.json import to_json_plotly

import app as app_module
from app import build_settings, create_app, parse_args
from components import ids
from settings import ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]


def layout(client) -> dict:
    return json.loads(client.get("/_dash-layout").get_data())


def find(node, component_id: str):
    """Returns the props of the component with ``component_id`` in a layout tree."""
    if isinstance(node, dict):
        props = node.get("props", {})
        if props.get("id") == component_id:
            return props
        for value in props.values():
            found = find(value, component_id)
            if found is not None:
                return found
    elif isinstance(node, list):
        for item in node:
            found = find(item, component_id)
            if found is not None:
                return found
    return None


def test_the_default_range_runs_from_2022_to_today(sqlite_url):
    client = create_app(Settings(db_url=sqlite_url)).server.test_client()
    picker = find(layout(client), ids.RANGE_PICKER)
    assert (picker["start_date"], picker["end_date"]) == ("2022-01-01", date.today().isoformat())
    assert "kiosk" not in find(layout(client), ids.ROOT)["className"]


def test_the_kiosk_flag_makes_the_wall_display_the_default(sqlite_url):
    client = create_app(Settings(db_url=sqlite_url), kiosk=True).server.test_client()
    tree = layout(client)
    assert find(tree, ids.ROOT)["className"] == "dashboard kiosk"
    picker = find(tree, ids.RANGE_PICKER)
    assert picker["start_date"] == (date.today() - timedelta(days=29)).isoformat()
    assert find(tree, ids.LIVE_INTERVAL)["interval"] == 5_000     # two looks per interval


def test_every_component_id_is_in_the_shell_or_one_page(sqlite_url):
    tree = layout(create_app(Settings(db_url=sqlite_url)).server.test_client())
    pages = [json.loads(to_json_plotly(page["layout"]())) for page in dash.page_registry.values()]
    assert [page["path"] for page in dash.page_registry.values()] == \
        ["/", "/security", "/users", "/audit", "/alerts", "/404"]
    where = {v: [t for t in [tree] + pages if find(t, v) is not None] for k, v in vars(ids).items()
             if k.isupper() and not k.startswith("RANGE_PICKER")
             and v not in (ids.LIVE_PROGRESS, ids.LIVE_WAITING)}   # drawn by the tick
    assert [v for v, found in where.items() if not found] == []
    assert [v for v, found in where.items() if len(found) > 1] == []     # no id twice


def test_the_page_loads_nothing_from_the_internet(sqlite_url):
    client = create_app(Settings(db_url=sqlite_url)).server.test_client()
    index = client.get("/").get_data(as_text=True)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", index)
    assert app_module.THEME_URL in index
    theme = client.get(app_module.THEME_URL)
    assert theme.status_code == 200 and theme.mimetype == "text/css"
    assert b"Theme: slate" in theme.data and b"@import" not in theme.data


@pytest.mark.parametrize("changes, message", [
    ({"auth_user": "ops"}, "set both DASHBOARD_USER and DASHBOARD_PASSWORD, or neither"),
    ({"default_start": "2022-13-01"},
     "DASHBOARD_DEFAULT_START='2022-13-01' is not a YYYY-MM-DD date"),
    ({"interval_s": 0.0}, "the refresh interval must be positive, not 0.0"),
])
def test_unusable_settings_are_refused_with_a_reason(changes, message):
    with pytest.raises(ConfigError) as err:
        create_app(Settings(**changes))
    assert str(err.value) == message


def test_flags_beat_the_environment_which_beats_the_defaults():
    env = {"DATABASE_URL": "sqlite:///env.db", "DASHBOARD_PORT": "9000",
           "DASHBOARD_INTERVAL": "30", "SFTPGO_LOG_DIR": "/env/logs"}
    cfg = build_settings(parse_args(["--port", "8123", "--log-dir", "/flag/logs"]), env)
    assert (cfg.db_url, cfg.port, cfg.interval_s, cfg.log_dir, cfg.host) == \
        ("sqlite:///env.db", 8123, 30.0, "/flag/logs", "127.0.0.1")


def test_wsgi_entry_points(monkeypatch, sqlite_url):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    server = app_module.wsgi()
    assert server.test_client().get("/api/status").status_code == 200
    monkeypatch.delitem(vars(app_module), "server", raising=False)
    assert app_module.server.test_client().get("/").status_code == 200   # gunicorn app:server


def test_the_command_line_says_what_is_wrong_and_exits_2():
    done = subprocess.run([sys.executable, "app.py", "--db", "postgres://x/y"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == ("error: unsupported database 'postgres': use sqlite:/// "
                                   "or mysql+pymysql://")
    help_text = subprocess.run([sys.executable, "app.py", "--help"], cwd=ROOT,
                               capture_output=True, text=True, timeout=60).stdout
    for flag in ("--log-dir", "--db", "--host", "--port", "--interval", "--kiosk", "--demo"):
        assert flag in help_text


def test_a_taken_port_is_one_clear_line_and_exit_2(tmp_path):
    """A second dashboard on the port of a first: one line naming --port and DASHBOARD_PORT,
    exit 2, before the demo makes any folder (gunicorn alone logged an error a second)."""
    import os
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "TMPDIR": str(tmp_path), "DASHBOARD_PORT": str(port)}
        for argv in (["--port", str(port), "--db", f"sqlite:///{tmp_path}/a.db"], ["--demo"]):
            done = subprocess.run([sys.executable, "app.py", *argv], cwd=ROOT, env=env,
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == 2, done.stderr
            assert done.stderr.strip() == (
                f"error: port {port} on 127.0.0.1 is already in use (another dashboard?): "
                "choose a free one with --port N or DASHBOARD_PORT=N")
    assert list(tmp_path.glob("sftpgo-demo*")) == []


def test_the_demo_removes_its_temporary_folders_when_it_stops(tmp_path):
    import os
    import signal

    from tests.support.dashboard import closed_port, wait_until_serving
    port = closed_port()
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "app.py", "--demo", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_until_serving(proc, port)
        made = sorted(p.name.rsplit("-", 1)[0] for p in tmp_path.glob("sftpgo-demo*"))
        assert made == ["sftpgo-demo", "sftpgo-demo-db"]     # the log's and the database's
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert list(tmp_path.glob("sftpgo-demo*")) == []


@pytest.mark.parametrize("kind", ["app.py", "gunicorn"])
def test_the_first_requests_at_once_are_all_answered(kind, sqlite_url, log_dir):
    """Twenty-four requests the moment the server listens (a wall's browser opening the page:
    scripts and the callbacks' map at once). Dash sets itself up on its first request and
    said so before it was done: the others got a trace ("dash" is not a registered library)
    or an empty callback map. Now it is set up before the server listens."""
    import socket
    import threading
    import time
    import urllib.request
    from tests.support.dashboard import ROOT, closed_port, server_command
    port = closed_port()
    env = {**__import__("os").environ, "DATABASE_URL": sqlite_url, "SFTPGO_LOG_DIR": str(log_dir),
           "DASHBOARD_THREADS": "8"}
    proc = subprocess.Popen(server_command(kind, port, sqlite_url, log_dir), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:                   # listening: a TCP connect, no request (that would set up)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "no server"
                time.sleep(0.05)
        paths = ["/_dash-component-suites/dash/deps/polyfill@7.12.1.min.js",
                 "/_dash-component-suites/dash/dcc/dash_core_components.js",
                 "/_dash-dependencies", "/_dash-layout"] * 6
        answers: list = [None] * len(paths)

        def get(i: int) -> None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{paths[i]}", timeout=30) as r:
                    answers[i] = (r.status, r.read())
            except urllib.error.HTTPError as exc:
                answers[i] = (exc.code, exc.read())
        threads = [threading.Thread(target=get, args=(i,)) for i in range(len(paths))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [a[0] for a in answers] == [200] * len(paths), answers
        callbacks = json.loads(answers[2][1])
        assert any(c["output"].startswith("..graph-user-transfers") or "graph-user-transfers" in
                   c["output"] for c in callbacks)
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
    assert "Traceback" not in err, err
