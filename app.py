"""The dashboard: python app.py [--log-dir DIR] [--db URL] [--host H] [--port P] [--interval S]
[--kiosk] [--demo]

``create_app(settings)`` builds the Dash app; ``wsgi()`` (or the lazy module attribute
``server``) is the WSGI entry for gunicorn: ``gunicorn -w 4 'app:wsgi()'``. Settings come
from flags, else the environment (settings.from_env), else the defaults.
"""
from __future__ import annotations

import argparse
import atexit
import errno
import hmac
import logging
import os
import shutil
import socket
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

import flask
from dash import Dash
from flask_compress import Compress

import callbacks
import db
import settings as settings_mod
from components.layout import page
from components import ids
from dashboard import (answers, api, callback_guard, exports, geo, headers, limits, metrics,
                       serving, users_csv)
from dashboard.context import AppContext, Freshener
from settings import ConfigError, Settings

log = logging.getLogger("app")
ROOT = Path(__file__).resolve().parent
EXIT_USAGE = 2

# Bootstrap 5 + the dark Bootswatch "slate" theme, from the installed bootstrap-flask
# package: no CDN, so the page looks right offline. (slate imports no web fonts.)
THEME_FILE = (Path(flask.__file__).resolve().parents[1] / "flask_bootstrap" / "static"
              / "bootstrap5" / "css" / "bootswatch" / "slate" / "bootstrap.min.css")
THEME_URL = "/vendor/bootstrap-slate.min.css"
# The callbacks whose answers are kept per data version (dashboard/answers.py), by an output
# of each: the overview's redraw and node panel, the security page's, the users' pages'.
KEPT_CALLBACKS = [f"{ids.GRAPH_TRANSFERS}.figure", f"{ids.OVERVIEW_NODES}.children",
                  f"{ids.SECURITY_DAYS}.figure", f"{ids.USER_DAYS}.figure"]


def create_app(settings: Settings, kiosk: bool = False) -> Dash:
    """Returns the Dash app for ``settings`` (``kiosk``: the wall display is the default view).

    Nothing here touches the database: the page comes up, with a banner, while it is down.
    ``start_freshener(app.server)`` then keeps the data fresh with no page open.
    """
    _check(settings)
    context = AppContext(settings, kiosk=kiosk)
    app = Dash(__name__, title="SFTPGo activity", update_title=None,
               assets_folder=str(ROOT / "assets"), external_stylesheets=[THEME_URL],
               serve_locally=True, use_pages=True, pages_folder=str(ROOT / "pages"))
    _Compress(app.server)
    app.server.extensions["sftpgo_context"] = context
    app.layout = lambda: _layout(context)
    _serve_theme(app.server)
    callbacks.register(app, context)
    api.register_api(app.server, context)
    users_csv.register(app.server, context)
    exports.install(app.server, settings.max_exports)
    callback_guard.install(app)
    answers.install(app, context, KEPT_CALLBACKS, volatile_ids=(ids.LIVE_VERSION,))
    metrics.register(app.server, context)
    if settings.auth_user:
        _require_basic_auth(app.server, settings.auth_user, settings.auth_password)
    limits.install(app.server, settings.max_request_bytes)   # before auth
    headers.install(app, settings.frame_ancestors)           # outermost: on every answer
    # Dash sets itself up on its first request (the scripts it serves, the callback map),
    # marking that done before it is: a second request arriving meanwhile was answered with
    # a trace ("dash" is not a registered library) or a callback unknown. Done here instead,
    # before any request can come.
    with app.server.test_request_context("/"):
        app._setup_server()
    return app


class _Compress(Compress):
    """flask-compress, closing what it replaces: a compressed file response (an asset) left
    its open file to the garbage collector (a ResourceWarning). Closed with the response."""

    def after_request(self, response):
        original = response.response
        response = super().after_request(response)
        close = getattr(original, "close", None)
        if response.response is not original and close is not None:
            response.call_on_close(close)
        return response


def _check(settings: Settings) -> None:
    try:
        date.fromisoformat(settings.default_start)
    except ValueError:
        raise ConfigError(f"DASHBOARD_DEFAULT_START={settings.default_start!r} is not a "
                          "YYYY-MM-DD date") from None
    if bool(settings.auth_user) != bool(settings.auth_password):
        raise ConfigError("set both DASHBOARD_USER and DASHBOARD_PASSWORD, or neither")
    if settings.interval_s <= 0:
        raise ConfigError(f"the refresh interval must be positive, not {settings.interval_s}")
    headers.check_frame_ancestors(settings.frame_ancestors)
    if settings.server_workers < 0:
        raise ConfigError(f"server_workers must be 0 (one per core) or more, not "
                          f"{settings.server_workers}")
    try:                                   # a GEOIP_DB that cannot be read: say so at start
        geo.locator(settings.geoip_db)
    except geo.GeoDataError as exc:
        raise ConfigError(str(exc)) from None
    for name in ("max_request_bytes", "server_threads", "server_connections",
                 "request_timeout_s", "max_exports", "queue_wait_s"):
        if getattr(settings, name) <= 0:
            raise ConfigError(f"{name} must be positive, not {getattr(settings, name)}")
    from alerts.rules import load_checked
    load_checked(settings)               # a rules file that cannot be used: one line, exit 2
    import alerts.evaluate  # noqa: F401  numpy, in this thread: not first in two request threads


def _layout(context: AppContext):
    """Returns a fresh shell around the pages: the picker shows the configured default range
    (the kiosk's last 30 days) until the URL's range is read (layout functions run per load)."""
    today = date.today()
    start = today - timedelta(days=29) if context.kiosk else context.default_start()
    return page(min(start, today), today, context.settings.tick_s, context.kiosk)


def _serve_theme(server: flask.Flask) -> None:
    css = THEME_FILE.read_bytes()       # 240 KB, read once per app

    @server.get(THEME_URL)
    def _theme():
        return flask.Response(css, mimetype="text/css",
                              headers={"Cache-Control": "public, max-age=86400"})


def _require_basic_auth(server: flask.Flask, user: str, password: str) -> None:
    expected = (user.encode("utf-8"), password.encode("utf-8"))

    @server.before_request
    def _check_credentials():
        auth = flask.request.authorization
        if auth is not None and auth.type == "basic":
            given = ((auth.username or "").encode("utf-8"), (auth.password or "").encode("utf-8"))
            if hmac.compare_digest(given[0], expected[0]) & hmac.compare_digest(given[1], expected[1]):
                return None
        return flask.Response("Authentication required.\n", 401,
                              {"WWW-Authenticate": 'Basic realm="SFTPGo dashboard"'})


# --- WSGI --------------------------------------------------------------------------------

def wsgi() -> flask.Flask:
    """Returns the Flask server of an app built from the environment (gunicorn 'app:wsgi()'),
    with its freshener running (gunicorn calls this in each worker, after the fork)."""
    server = create_app(settings_mod.from_env()).server
    start_freshener(server)
    return server


def start_freshener(server: flask.Flask) -> Freshener:
    """Starts this process's freshener: a bounded pass whenever no tick came for an interval."""
    return Freshener(server.extensions["sftpgo_context"]).start()


def __getattr__(name: str):
    """Builds ``app.server`` on first access, so `gunicorn app:server` works too."""
    if name == "server":
        server = wsgi()
        globals()["server"] = server
        return server
    raise AttributeError(name)


# --- command line ------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="app.py", description="SFTPGo activity dashboard.")
    settings_mod.add_flags(p, "node", "log_dir", "db_url", "host", "port", "interval_s")
    p.add_argument("--kiosk", action="store_true",
                   help="wall display by default: no controls, large type, last 30 days")
    p.add_argument("--demo", action="store_true",
                   help="run the built-in SFTPGo log simulator and show its activity")
    p.add_argument("--verbose", action="store_true", help="log every tick")
    settings_mod.add_flags(p, "events_retention_days")   # the ticks prune as they ingest
    settings_mod.add_flags(p, "alert_rules")             # and judge the alert rules
    return p


def parse_args(argv: list[str]) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def build_settings(args: argparse.Namespace, environ=None) -> Settings:
    """Returns the settings: flags over the environment over the defaults."""
    return settings_mod.from_flags(args, environ)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        cfg = build_settings(args)
        _check_port(cfg.host, cfg.port)      # before the demo makes its folders
        if args.demo:
            cfg = _start_demo(cfg)
        app = create_app(cfg, kiosk=args.kiosk)
        db.make_engine(cfg.db_url)           # a malformed URL stops here, with its reason
    except (ConfigError, db.DatabaseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    _say_where(cfg)
    serve(app.server, cfg)
    return 0


def serve(server: flask.Flask, cfg: Settings) -> None:
    """Serves ``server`` until SIGINT/SIGTERM, with bounded threads and connections.

    gunicorn (the production server), one worker process per core by default
    (``server_workers``), rather than Flask's development server, which starts one thread
    per connection: under a flood of requests each worker serves ``server_threads`` at a
    time, holds at most ``server_connections``, and answers 503 at once to a request that
    would wait for a thread more than ``queue_wait_s``, so its memory and its answers' delay
    stay bounded. Its worker (dashboard/serving.py) reads each request before a thread takes
    it, so slow or silent clients hold no thread, and answers 408 to a request not sent
    within ``request_timeout_s``. The request body limit is the app's own (limits.py), so it
    answers the same here as under gunicorn 'app:wsgi()'. The workers share the data's
    answers through its version in the database (dashboard/answers.py) and one ingestion
    lock.
    """
    from gunicorn.app.base import BaseApplication

    options = {"bind": f"{cfg.host}:{cfg.port}", "workers": serving.worker_count(cfg.server_workers),
               "worker_class": serving.configured(cfg.request_timeout_s, cfg.queue_wait_s),
               "threads": cfg.server_threads, "worker_connections": cfg.server_connections,
               "backlog": 256, "timeout": 60, "keepalive": 5, "loglevel": "warning"}

    # The freshener's thread must live in the worker, which gunicorn forks from this process.
    options["post_worker_init"] = lambda worker: start_freshener(server)

    class _Server(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return server

    db.dispose_engines(cfg.db_url)       # the worker is forked: it opens its own connections
    _Server().run()


def _check_port(host: str, port: int) -> None:
    """Raises ConfigError naming --port and DASHBOARD_PORT when ``port`` is taken on
    ``host`` (gunicorn would retry it and log an error a second, then give up)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"cannot listen on {host}: {exc.strerror}: give another --host or "
                          "DASHBOARD_HOST") from None
    for family, kind, proto, _name, address in infos[:1]:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as gunicorn binds
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise ConfigError(f"port {port} on {host} is already in use (another "
                                      "dashboard?): choose a free one with --port N or "
                                      "DASHBOARD_PORT=N") from None
                raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}: give "
                                  "another --port / DASHBOARD_PORT or --host / "
                                  "DASHBOARD_HOST") from None


def _start_demo(cfg: Settings) -> Settings:
    from simulate.demo import start_demo

    handle = start_demo()            # in a temporary folder of its own
    folders = []
    changes = {"log_dir": str(handle.log_dir)}
    if cfg.db_url == Settings().db_url:      # keep simulated events out of the real database
        folders.append(tempfile.mkdtemp(prefix="sftpgo-demo-db-"))
        changes["db_url"] = f"sqlite:///{folders[-1]}/demo.db"
    atexit.register(_end_demo, handle, folders, changes.get("db_url"), os.getpid())
    log.info("Demo mode. log_dir=%s db=%s", changes["log_dir"], changes.get("db_url", cfg.db_url))
    return cfg.replace(**changes)


def _end_demo(handle, folders: list[str], db_url: str | None, owner: int) -> None:
    """Stops the demo's writer and removes its temporary folders (the log's and the
    database's), in the process that made them: a gunicorn worker, forked from it, exits
    with a copy of this handler and must leave them be."""
    if os.getpid() != owner:
        return
    handle.remove()
    if db_url:
        db.dispose_engines(db_url)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def _say_where(cfg: Settings) -> None:
    try:
        db.connect_checked(cfg.db_url, cfg.node)
    except db.DatabaseError as exc:
        log.warning("%s. The dashboard starts anyway and shows a banner until it answers.", exc)
    url = f"http://{cfg.host}:{cfg.port}/"
    log.info("Dashboard at %s (wall display: %s?kiosk=1). log_dir=%s db=%s", url, url,
             cfg.log_dir, db.describe_url(cfg.db_url))


if __name__ == "__main__":
    sys.exit(main())
