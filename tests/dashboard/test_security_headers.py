"""Every answer carries X-Content-Type-Options: nosniff, a Content-Security-Policy (framing
from DASHBOARD_FRAME_ANCESTORS) and a Referrer-Policy: pages, assets, the API, errors, the
401 of basic auth and the 413 of the body limit; and the pages work under that policy in
headless Chromium (no violation in the console, the graphs drawn)."""
from __future__ import annotations

import contextlib
import http.server
import re
import threading
import time

import pytest
from werkzeug.test import EnvironBuilder

from app import create_app
from components import ids
from settings import ConfigError, Settings, from_env

from tests.support.browser import GRAPHS, graph, history, until

PATHS = ("/", "/security", "/users", "/users/alice", "/audit", "/nowhere", "/_dash-layout",
         "/_dash-dependencies", "/vendor/bootstrap-slate.min.css", "/assets/wall.js",
         "/api/status", "/api/stats", "/api/nowhere", "/api/events?start=garbage",
         "/api/events.csv?start=2024-09-01", "/api/users.csv?start=2024-09-01")


def assert_secured(headers, frame_ancestors: str = "'self'") -> None:
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    csp = headers["Content-Security-Policy"]
    directives = dict(d.split(" ", 1) for d in csp.split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == frame_ancestors
    assert directives["object-src"] == "'none'"
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]


def client(sqlite_url, log_dir, **changes):
    return create_app(Settings(db_url=sqlite_url, log_dir=str(log_dir), **changes)).server.test_client()


def test_every_kind_of_answer_carries_the_headers(sqlite_url, log_dir):
    c = client(sqlite_url, log_dir)
    for path in PATHS:
        answer = c.get(path)
        assert answer.status_code in (200, 400, 404), (path, answer.status_code)
        assert_secured(answer.headers)
        answer.close()
    forged = c.post("/_dash-update-component", json={"output": 1})
    assert forged.status_code == 400
    assert_secured(forged.headers)
    too_large = c.post("/api/status", data=b"x" * (1024 * 1024 + 1))
    assert too_large.status_code == 413
    assert_secured(too_large.headers)


def test_the_401_and_the_answers_made_before_routing_carry_them(sqlite_url, log_dir):
    c = client(sqlite_url, log_dir, auth_user="ops", auth_password="pw")
    assert_secured(c.get("/").headers)
    assert c.get("/").status_code == 401
    assert_secured(c.get("/api/status").headers)
    server = create_app(Settings(db_url=sqlite_url, log_dir=str(log_dir))).server
    environ = EnvironBuilder(path="/api/status", method="POST").get_environ()
    environ["CONTENT_LENGTH"] = "x"                        # refused by the WSGI middleware
    started = []
    b"".join(server.wsgi_app(environ, lambda status, headers: started.append((status, headers))))
    status, headers = started[0]
    assert status == "400 Bad Request"
    assert_secured(dict(headers))


def test_the_page_scripts_are_allowed_by_hash_and_no_other_inline_script():
    """Every inline script of the page is allowed by its hash (the renderer, the clientside
    callbacks, the pages' title callback added on the first request), none by a blanket."""
    import base64
    import hashlib
    import tempfile
    tmp = tempfile.mkdtemp()
    c = create_app(Settings(db_url=f"sqlite:///{tmp}/t.db", log_dir=tmp)).server.test_client()
    page = c.get("/")
    html = re.sub(r"<!--.*?-->", "", page.get_data(as_text=True), flags=re.S)  # IE's alert
    inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>(.*?)</script>",
                        html, re.S)
    assert len(inline) >= 2
    csp = page.headers["Content-Security-Policy"]
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp, script[:80]


def test_frame_ancestors_is_a_setting(sqlite_url, log_dir):
    assert from_env({"DASHBOARD_FRAME_ANCESTORS": "'self' https://wall.example.org"}) \
        .frame_ancestors == "'self' https://wall.example.org"
    wall = client(sqlite_url, log_dir, frame_ancestors="'self' https://wall.example.org")
    assert_secured(wall.get("/").headers, "'self' https://wall.example.org")
    assert_secured(client(sqlite_url, log_dir, frame_ancestors="'none'").get("/").headers,
                   "'none'")
    for bad in ("'self'; script-src *", "https://a,https://b", "x\r\nSet-Cookie: a=b",
                "'none' 'self'", "\"https://a\""):
        with pytest.raises(ConfigError, match="DASHBOARD_FRAME_ANCESTORS"):
            client(sqlite_url, log_dir, frame_ancestors=bad)


# --- in headless Chromium -----------------------------------------------------------------

def csp_problems(duo) -> list[str]:
    """Returns the browser console's messages about the Content-Security-Policy, and every
    error (a blocked script or style is an error)."""
    return [e["message"] for e in duo.driver.get_log("browser")
            if "Content Security Policy" in e["message"] or e["level"] == "SEVERE"]


def drawn(duo, graph_id: str) -> bool:
    traces = graph(duo, graph_id)
    return bool(traces) and any(len(t["y"]) for t in traces) and bool(
        duo.driver.find_elements("css selector", f"#{graph_id} .main-svg"))


def test_every_page_works_under_the_policy(start, log_dir):
    """Overview, security, users, a user and audit: drawn and filled, with nothing refused
    by the policy (Chromium logs each refusal to the console)."""
    (log_dir / "sftpgo.log").write_bytes(history())
    duo = start()
    policy = duo.driver.execute_script(
        "return fetch('/').then(r => r.headers.get('Content-Security-Policy'))")
    assert "frame-ancestors 'self'" in policy
    for graph_id in GRAPHS:
        until(lambda: drawn(duo, graph_id), 20, msg=lambda: f"{graph_id} not drawn")
    assert csp_problems(duo) == []
    pages = [("/security", [ids.SECURITY_DAYS], f"#{ids.SECURITY_TOP_IPS} td"),
             ("/users", [], f"#{ids.USER_PICKER}"),
             ("/users/alice", [ids.USER_DAYS, ids.USER_BYTES], f"#{ids.USER_RECENT} td"),
             ("/audit", [], f"#{ids.AUDIT_TABLE} td")]
    for path, graphs, filled in pages:
        duo.driver.get(duo.server_url + path)
        for graph_id in graphs:
            until(lambda: drawn(duo, graph_id), 20, msg=lambda: f"{path}: {graph_id} not drawn")
        until(lambda: duo.driver.find_elements("css selector", filled), 20,
              msg=lambda: f"{path}: nothing at {filled}")
        time.sleep(0.5)                       # what the page loads after it shows
        assert csp_problems(duo) == [], path
        duo.driver.save_screenshot(str(log_dir.parent / f"csp{path.replace('/', '-')}.png"))


@contextlib.contextmanager
def wall_page():
    """Serves, on a port of its own (another origin), a page that frames what ``target["url"]``
    names; yields (its origin, target)."""
    target: dict = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = 2                   # a connection Chromium opens and leaves idle ends too

        def do_GET(self):
            page = (f"<html><body><iframe id='wall' width='1200' height='800' "
                    f"src='{target['url']}'></iframe></body></html>").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *_args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = False     # server_close() waits for its threads
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}", target
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def framed_page_drawn(duo) -> bool:
    """Whether the dashboard inside the wall's frame has drawn its first graph."""
    duo.driver.switch_to.frame("wall")
    try:
        return bool(duo.driver.find_elements("css selector", f"#{GRAPHS[0]} .main-svg"))
    finally:
        duo.driver.switch_to.default_content()


@pytest.mark.parametrize("allowed", [False, True], ids=["self", "wall-allowed"])
def test_framing_follows_the_setting(start, log_dir, allowed):
    """By default a page of another origin cannot frame the dashboard (Chromium blocks it
    and says why); named in DASHBOARD_FRAME_ANCESTORS, that wall page shows it."""
    (log_dir / "sftpgo.log").write_bytes(history())
    with wall_page() as (origin, target):
        duo = start(frame_ancestors=f"'self' {origin}") if allowed else start()
        target["url"] = duo.server_url + "/"
        duo.driver.get(origin + "/wall.html")
        if allowed:
            until(lambda: framed_page_drawn(duo), 20, msg=lambda: str(csp_problems(duo)))
            assert [m for m in csp_problems(duo) if "favicon" not in m] == []
        else:
            until(lambda: any("frame-ancestors 'self'" in m for m in csp_problems(duo)), 10)
            assert not framed_page_drawn(duo)
