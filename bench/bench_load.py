"""A room full of screens: many clients asking the dashboard the same questions at once.

    python -m bench.bench_load [--root CHECKOUT] [--mb 1600] [--seconds 15] [--screens 20]
                               [--without-cache]

Builds (or reuses, under bench/out) a year of a busy server (bench/bench_buckets.py: 30
users, about 1.8 million events for --mb 1600), copies its database to a scratch file, and
starts the dashboard as ./run.sh does (``python app.py``, this checkout's or ``--root``'s, so
that another checkout gives the "before") on a loopback port, with a live log of its own
(node ``wall``). Then, in the same run:

1. a headless Chromium loads the overview for the year and its own callback requests are
   captured (the four-graph redraw, the tick), with the requests and time of its first paint,
   and the same again with its cache warm;
2. ``ab`` (apache2-utils; keep-alive, ``Accept-Encoding`` as a browser sends it) replays the
   page shell (``/``), the captured redraw and the year's ``/api/stats`` with 20 clients and
   then 100, each for --seconds, and the time a lone request takes right after the burst;
3. --screens screens (each does what the page does: ticks as often as the page, a redraw when
   the version changes, from the captured requests) watch while 20 clients replay the
   redraw, and a line appended to the live log is timed until every screen shows it.

Prints req/s, p50, p99 and the longest request, errors (non-2xx, of which 503), and the
server's CPU (master and workers) for each, with the machine and its load. ``ab`` is
``apt-get install apache2-utils`` (test.sh's --bench installs it).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from bench.bench_buckets import build  # noqa: E402
from bench.browser import chromium  # noqa: E402

GRAPHS = ("graph-user-transfers", "graph-user-bytes", "graph-user-average",
          "graph-activities-by-day")
REDRAW_OUTPUT = "graph-user-transfers.figure"
TICK_OUTPUT = "live-freshness.children"
ACCEPT = "gzip, deflate, br"            # what Chromium sends
CAPTURE = """
window.__captured = [];
(function () {
  var fetch0 = window.fetch;
  window.fetch = function (url, opts) {
    var entry = {url: String(url), method: (opts && opts.method) || "GET",
                 body: opts && typeof opts.body === "string" ? opts.body : null,
                 start: performance.now(), end: null, status: null};
    window.__captured.push(entry);
    return fetch0.apply(this, arguments).then(function (r) {
      entry.end = performance.now(); entry.status = r.status; return r;
    });
  };
})();
"""


# --- the server ----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, method: str, path: str, body: bytes | None = None,
            timeout: float = 120) -> tuple[int, bytes, float]:
    """Returns (status, body, seconds) of one request on a new connection."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        answer = conn.getresponse()
        data = answer.read()
        return answer.status, data, time.monotonic() - started
    finally:
        conn.close()


class Server:
    """``python app.py`` of ``root`` on a scratch copy of the year's database."""

    def __init__(self, root: Path, db_file: Path, work: Path, interval: float,
                 cache: bool = True):
        self.port = free_port()
        self.logs = work / "live"
        self.logs.mkdir()
        self.live = self.logs / "sftpgo.log"
        self.live.write_bytes(line("2024-09-16T00:00:00.000", 1))
        scratch = work / "year.db"
        shutil.copy(db_file, scratch)
        env = {**os.environ, "SFTPGO_NODE": "wall", "DASHBOARD_INTERVAL": str(interval),
               "PYTHONPATH": str(root)}
        env.pop("DASHBOARD_WORKERS", None)
        env.pop("DASHBOARD_ANSWER_CACHE_MB", None)
        if not cache:
            env["DASHBOARD_ANSWER_CACHE_MB"] = "0"
        self.output = (work / "server.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "app.py", "--port", str(self.port), "--db", f"sqlite:///{scratch}",
             "--log-dir", str(self.logs)], cwd=root, env=env, stdout=self.output,
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 180
        while True:
            try:
                if request(self.port, "GET", "/api/status")[0] in (200, 503):
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: see {work / 'server.log'}")
            time.sleep(0.3)

    def pids(self) -> list[int]:
        pids, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            try:
                todo += [int(p) for p in
                         Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
            except OSError:
                pass
        return pids

    def cpu(self) -> float:
        """Returns the CPU seconds (user + system) the server's processes used so far."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.output.close()


_seq = [0]


def line(ts: str, size: int) -> bytes:
    """Returns one SFTPGo upload line of user bench-live at ``ts``."""
    _seq[0] += 1
    return json.dumps({"level": "info", "time": ts, "sender": "Upload",
                       "local_addr": "10.0.0.1:2022", "remote_addr": "10.9.9.9:40000",
                       "username": "bench-live", "connection_id": f"SFTP_live_{_seq[0]}",
                       "protocol": "SFTP", "elapsed_ms": 5, "size_bytes": size,
                       "file_path": f"/srv/live/{_seq[0]}.bin"}).encode() + b"\n"


# --- the browser ------------------------------------------------------------------------------

def first_paint(driver, url: str) -> dict:
    """Loads ``url``; returns the seconds from navigation to the four graphs drawn, the
    requests made until then (callbacks among them) and everything captured."""
    driver.get(url)
    check = ("return [%s].every(id => { var g = document.querySelector('#' + id + "
             "' .js-plotly-plot'); return g && g.data && g.data.length > 0; })"
             % ",".join(f"'{g}'" for g in GRAPHS))
    deadline = time.monotonic() + 120
    while not driver.execute_script(check):
        if time.monotonic() > deadline:
            raise RuntimeError("the graphs were not drawn within 120 s")
        time.sleep(0.02)
    drawn = driver.execute_script("return performance.now()")
    time.sleep(1.0)                       # the tick and any redraw after the first paint
    captured = driver.execute_script("return window.__captured")
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => [e.name, e.startTime, "
        "e.responseEnd, e.transferSize])")
    before = [c for c in captured if c["start"] <= drawn]
    return {"seconds": drawn / 1000, "callbacks": sum("_dash-update-component" in c["url"]
                                                      for c in before),
            "requests": 1 + sum(1 for r in resources if r[1] <= drawn),
            "captured": captured,
            "after": sum("_dash-update-component" in c["url"] for c in captured) -
            sum("_dash-update-component" in c["url"] for c in before)}


def capture(port: int, path: str) -> dict:
    """Returns the first paints (fresh, then cached) and the page's own request bodies."""
    profile = tempfile.mkdtemp(prefix="bench-load-chromium-")
    driver = chromium(profile, CAPTURE)
    try:
        cold = first_paint(driver, f"http://127.0.0.1:{port}{path}")
        warm = first_paint(driver, f"http://127.0.0.1:{port}{path}")
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    bodies = {}
    for c in cold["captured"] + warm["captured"]:
        if c["body"] and "_dash-update-component" in c["url"]:
            output = json.loads(c["body"]).get("output", "")
            for want in (REDRAW_OUTPUT, TICK_OUTPUT):
                if want in output:
                    bodies.setdefault(want, c["body"])      # the first: the page's own
    missing = {REDRAW_OUTPUT, TICK_OUTPUT} - set(bodies)
    if missing:
        raise RuntimeError(f"the page made no request for {missing}")
    return {"cold": cold, "warm": warm, "redraw": bodies[REDRAW_OUTPUT],
            "tick": bodies[TICK_OUTPUT]}


# --- ab ----------------------------------------------------------------------------------------

def ab(port: int, path: str, clients: int, seconds: float, body: str | None,
       work: Path, requests: int | None = None) -> dict:
    """Runs ab with keep-alive: ``requests`` requests (every one waited for: its longest is
    the true longest), else for ``seconds``; returns its figures."""
    cmd = ["ab", "-k", "-l", "-q", "-s", "120", "-c", str(clients),
           "-H", f"Accept-Encoding: {ACCEPT}"]
    cmd += ["-n", str(requests)] if requests else ["-t", str(seconds), "-n", "1000000"]
    if body is not None:
        post = work / f"body-{abs(hash(body))}.json"
        post.write_text(body)
        cmd += ["-p", str(post), "-T", "application/json"]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    ran = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds * 20 + 600)
    out = ran.stdout
    if "Requests per second" not in out:
        print(f"    ab gave no figures: {ran.stderr.strip()[-300:]}", flush=True)

    def number(pattern: str, default: float = 0.0) -> float:
        m = re.search(pattern, out, re.M)
        return float(m.group(1)) if m else default
    cent = dict((int(p), float(ms)) for p, ms in re.findall(r"^\s+(\d+)%\s+(\d+)", out, re.M))
    return {"rps": number(r"Requests per second:\s+([\d.]+)"),
            "done": int(number(r"Complete requests:\s+(\d+)")),
            "failed": int(number(r"Failed requests:\s+(\d+)")),
            "non2xx": int(number(r"Non-2xx responses:\s+(\d+)")),
            "p50": cent.get(50, 0.0), "p99": cent.get(99, 0.0), "max": cent.get(100, 0.0)}


def settle(server: Server, most: float = 300) -> float:
    """Waits until the server answers a lone /api/status within half a second (what a
    burst left in its queue is done); returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < most:
        try:
            if request(server.port, "GET", "/api/status")[2] < 0.5:
                break
        except OSError:
            pass
        time.sleep(0.5)
    return time.monotonic() - started


def phase(server: Server, name: str, path: str, clients: int, seconds: float,
          body: str | None, work: Path) -> dict:
    """Replays ``path`` with ``clients`` keep-alive clients: as many requests as they make in
    about ``seconds`` (a short first run tells the rate), at least 3 each, each waited for."""
    settle(server)
    probe = ab(server.port, path, clients, 3, body, work)    # then the clients leave:
    lone = request(server.port, "GET", "/api/status")        # what do they leave behind?
    settle(server)
    count = max(clients * 3, int(probe["rps"] * seconds))
    cpu, started = server.cpu(), time.monotonic()
    result = ab(server.port, path, clients, seconds, body, work, requests=count)
    result["cpu"] = (server.cpu() - cpu) / (time.monotonic() - started)   # cores busy
    result["ok_rps"] = result["rps"] * (result["done"] - result["non2xx"]) / result["done"] \
        if result["done"] else 0.0                      # answered 200, per second
    result["name"], result["clients"] = name, clients
    result["after_burst"] = (lone[0], lone[2])
    if result["non2xx"]:
        status, _b, _s = request(server.port, "POST" if body else "GET", path,
                                 body.encode() if body else None)
        result["sample_status"] = status
    return result


# --- the screens -------------------------------------------------------------------------------

class Screen(threading.Thread):
    """What a wall's page does: a tick every ``interval`` (at its own phase), and a redraw when
    the tick's version changes; keeps the transfers the headline shows."""

    def __init__(self, port: int, tick: str, redraw: str, interval: float, phase: float,
                 stop: threading.Event):
        super().__init__(daemon=True)
        self.port, self.interval, self.phase, self.stop = port, interval, phase, stop
        self.tick, self.redraw = json.loads(tick), json.loads(redraw)
        self.state: dict = {}           # (id, property) -> value, as the page holds them
        self.shown: list[tuple[float, int]] = []     # (when, transfers) after each redraw
        self.errors = 0
        self.n = 0

    @staticmethod
    def _key(cid, prop: str) -> tuple[str, str]:
        """Returns the key of a component's property: a pattern-matching id (a dict) as Dash
        writes it in its answers (JSON, keys sorted, no spaces)."""
        if isinstance(cid, dict):
            cid = json.dumps(cid, sort_keys=True, separators=(",", ":"))
        return cid, prop

    def _fill(self, body: dict) -> dict:
        for group in ("inputs", "state"):
            for value in body.get(group) or []:
                # a pattern-matching input (ids.drawn_all()) is a list of the matched items
                for item in (value if isinstance(value, list) else [value]):
                    key = self._key(item["id"], item["property"])
                    if key in self.state:
                        item["value"] = self.state[key]
        return body

    def _post(self, body: dict) -> dict | None:
        try:
            status, data, _s = request(self.port, "POST", "/_dash-update-component",
                                       json.dumps(body).encode(), timeout=60)
        except OSError:
            self.errors += 1
            return None
        if status == 204:
            return {}
        if status != 200:
            self.errors += 1
            return None
        answer = json.loads(data).get("response", {})
        for cid, props in answer.items():
            for prop, value in props.items():
                self.state[self._key(cid, prop)] = value
        return answer

    def run(self) -> None:
        if self.stop.wait(self.phase):
            return
        while not self.stop.is_set():
            self.n += 1
            body = self._fill(json.loads(json.dumps(self.tick)))
            for item in body["inputs"]:
                if item["property"] == "n_intervals":
                    item["value"] = self.n
            before = self.state.get(("live-version", "data"))
            answer = self._post(body)
            version = self.state.get(("live-version", "data"))
            if answer is not None and (version != before or not self.shown):
                redraw = json.loads(json.dumps(self.redraw))
                shell = redraw["inputs"][0]["value"]
                if isinstance(shell, dict):
                    shell["version"] = version
                answer = self._post(redraw)
                if answer and "headline-transfers" in answer:
                    text = answer["headline-transfers"]["children"]
                    self.shown.append((time.monotonic(), int(re.sub(r"\D", "", str(text)))))
            self.stop.wait(self.interval)


def tick_seconds(port: int) -> float:
    """Returns the time between two ticks of the page the server serves (its live
    dcc.Interval, in its layout): what a screen waits between two looks."""
    status, data, _s = request(port, "GET", "/_dash-layout")
    if status != 200:
        raise RuntimeError(f"/_dash-layout answered {status}")
    todo = [json.loads(data)]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            if node.get("type") == "Interval" and node.get("props", {}).get("id") == "live-interval":
                return node["props"]["interval"] / 1000
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    raise RuntimeError("the page has no live-interval")


def live_latency(server: Server, capture_: dict, screens: int, interval: float,
                 clients: int, work: Path) -> dict:
    """Appends a line while ``screens`` screens watch and ``clients`` clients replay the
    redraw; returns how long until each screen showed it. A screen ticks as the page does
    (tick_seconds), each at its own phase."""
    stop = threading.Event()
    tick = tick_seconds(server.port)
    watchers = [Screen(server.port, capture_["tick"], capture_["redraw"], tick,
                       tick * i / screens, stop) for i in range(screens)]
    for w in watchers:
        w.start()
    time.sleep(interval * 1.5)                        # every screen has drawn once
    load = threading.Thread(target=ab, args=(server.port, "/_dash-update-component", clients,
                                             interval * 4, capture_["redraw"], work),
                            daemon=True)
    load.start()
    time.sleep(interval / 2)
    known = [w.shown[-1][1] if w.shown else None for w in watchers]
    with server.live.open("ab") as f:
        f.write(line("2024-09-16T23:59:59.999", 12345))
    appended = time.monotonic()
    deadline = appended + interval * 3
    seen: dict[int, float] = {}
    while time.monotonic() < deadline and len(seen) < screens:
        for i, w in enumerate(watchers):
            if i not in seen and known[i] is not None:
                later = [t for t, v in w.shown if t >= appended and v > known[i]]
                if later:
                    seen[i] = later[0] - appended
        time.sleep(0.05)
    stop.set()
    load.join(timeout=interval * 6)
    for w in watchers:
        w.join(timeout=70)
    delays = sorted(seen.values())
    return {"screens": screens, "seen": len(delays), "interval": interval, "tick": tick,
            "median": statistics.median(delays) if delays else None,
            "max": delays[-1] if delays else None,
            "errors": sum(w.errors for w in watchers)}


# --- the run -----------------------------------------------------------------------------------

def machine() -> str:
    model = next((ln.split(":", 1)[1].strip() for ln in
                  Path("/proc/cpuinfo").read_text().splitlines() if "model name" in ln), "?")
    return f"{platform.machine()}, {os.cpu_count()} cores ({model}), Python " \
           f"{platform.python_version()}"


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(HERE), help="checkout whose app.py is measured")
    ap.add_argument("--mb", type=int, default=1600, help="size of the year of logs")
    ap.add_argument("--seconds", type=float, default=15.0, help="length of each ab run")
    ap.add_argument("--screens", type=int, default=20)
    ap.add_argument("--interval", type=float, default=10.0, help="DASHBOARD_INTERVAL")
    ap.add_argument("--without-cache", action="store_true",
                    help="serve with DASHBOARD_ANSWER_CACHE_MB=0: every request computes "
                         "its own answer (the same code, no answer kept per data version)")
    ap.add_argument("--json", help="also write the figures to this file")
    a = ap.parse_args()
    if shutil.which("ab") is None:
        sys.exit("ab is missing: apt-get install apache2-utils")
    url, last = build(a.mb)
    db_file = Path(url[len("sqlite:///"):])
    first = last - timedelta(days=364)
    year = f"start={first.isoformat()}&end={last.isoformat()}"
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    print(f"Machine: {machine()}; load average before: {load_average()}", flush=True)
    server = Server(Path(a.root), db_file, work, a.interval, cache=not a.without_cache)
    results: dict = {"root": a.root, "machine": machine(), "load_before": load_average(),
                     "answer_cache": not a.without_cache}
    print(f"answer cache: {'off (DASHBOARD_ANSWER_CACHE_MB=0)' if a.without_cache else 'on'}",
          flush=True)
    try:
        shot = capture(server.port, f"/?{year}")
        results["paint"] = {k: {"seconds": shot[k]["seconds"], "requests": shot[k]["requests"],
                                "callbacks": shot[k]["callbacks"], "after": shot[k]["after"]}
                            for k in ("cold", "warm")}
        print(f"first paint: fresh {shot['cold']['seconds']:.2f} s "
              f"({shot['cold']['requests']} requests, {shot['cold']['callbacks']} callbacks; "
              f"{shot['cold']['after']} more callbacks in the next second), cached "
              f"{shot['warm']['seconds']:.2f} s ({shot['warm']['requests']} requests, "
              f"{shot['warm']['callbacks']} callbacks)", flush=True)
        targets = [("shell /", "/", None), ("redraw (4 graphs)", "/_dash-update-component",
                                            shot["redraw"]),
                   ("/api/stats, year", f"/api/stats?{year}", None)]
        runs = []
        for clients in (20, 100):
            for name, path, body in targets:
                r = phase(server, name, path, clients, a.seconds, body, work)
                runs.append(r)
                print(f"{clients:>3} clients {name:<20} {r['rps']:8.1f} req/s "
                      f"({r['ok_rps']:.1f} answered 200)  p50 "
                      f"{r['p50']:6.0f} ms  p99 {r['p99']:6.0f} ms  max {r['max']:6.0f} ms  "
                      f"non-2xx {r['non2xx']}/{r['done']}  server CPU {r['cpu']:.2f} cores",
                      flush=True)
                print(f"    a lone /api/status right after a {clients}-client burst left: "
                      f"{r['after_burst'][0]} in {r['after_burst'][1] * 1000:.0f} ms", flush=True)
        results["runs"] = runs
        live = live_latency(server, shot, a.screens, a.interval, 20, work)
        results["live"] = live
        print(f"live line: {live['seen']}/{live['screens']} screens showed it, median "
              f"{live['median'] if live['median'] is None else round(live['median'], 1)} s, "
              f"last {live['max'] if live['max'] is None else round(live['max'], 1)} s "
              f"(interval {a.interval:g} s, a tick every {live['tick']:g} s; screen errors "
              f"{live['errors']}), with 20 clients "
              "replaying the redraw", flush=True)
    finally:
        server.stop()
        results["load_after"] = load_average()
        print(f"load average after: {results['load_after']}")
        shutil.rmtree(work, ignore_errors=True)
    report(results)
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=2, default=str))


def report(results: dict) -> None:
    print()
    print("| clients | target | req/s | of which 200/s | p50 ms | p99 ms | max ms | non-2xx "
          "(503) | server CPU (cores) | a lone request after the burst |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results.get("runs", []):
        print(f"| {r['clients']} | {r['name']} | {r['rps']:.1f} | {r['ok_rps']:.1f} | "
              f"{r['p50']:.0f} | "
              f"{r['p99']:.0f} | {r['max']:.0f} | {r['non2xx']} of {r['done']} | "
              f"{r['cpu']:.2f} | {r['after_burst'][1] * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
