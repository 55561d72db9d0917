"""How long /api/status takes while clients hold the server: half-sent requests, and CSV
downloads of a large range.

    python -m bench.bench_slow_clients [--root CHECKOUT] [--half 0,16,64] [--events 600000]

Starts the dashboard of the checkout (this one by default; another checkout gives the
"before") both ways, `gunicorn -c gunicorn.conf.py -w 1 'app:wsgi()'` and `python app.py`,
on an SQLite database, then for each count N of --half: opens N connections that send
"GET / HTTP/1.1\\r\\nHost: x\\r\\n" and nothing more, and times 20 GETs of /api/status one
after the other (each given at most --wait seconds; one that gets no answer counts as
"held"). With --events, it fills the database with that many events and times /api/status
while 8 clients download /api/events.csv of the whole range at full speed. Prints Markdown
tables.
"""
from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(root: Path, kind: str, port: int, url: str, logs: Path) -> list[str]:
    venv = Path(sys.executable).parent
    if kind == "gunicorn":
        return [str(venv / "gunicorn"), "-c", "gunicorn.conf.py", "-w", "1", "-b",
                f"127.0.0.1:{port}", "app:wsgi()"]
    return [sys.executable, "app.py", "--port", str(port), "--db", url, "--log-dir", str(logs)]


def status(port: int, wait: float) -> float | None:
    """Returns the seconds GET /api/status took, None when no answer came within ``wait``."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=wait)
    try:
        conn.request("GET", "/api/status")
        conn.getresponse().read()
        return time.monotonic() - started
    except OSError:
        return None
    finally:
        conn.close()


def serve(root: Path, kind: str, url: str, logs: Path, work: Path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "SFTPGO_LOG_DIR": str(logs),
           "DASHBOARD_MAX_EXPORTS": "2"}
    out = (work / f"{kind}.log").open("ab")
    proc = subprocess.Popen(command(root, kind, port, url, logs), cwd=root, env=env,
                            stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while status(port, 2) is None:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{kind} did not start: see {work / f'{kind}.log'}")
        time.sleep(0.2)
    return proc, port


def stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=40)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def summary(times: list[float | None], wait: float) -> str:
    answered = [t for t in times if t is not None]
    held = len(times) - len(answered)
    if not answered:
        return f"— | — | {held}/{len(times)} (> {wait:g} s)"
    return (f"{statistics.median(answered) * 1000:.1f} | {max(answered) * 1000:.1f} | "
            f"{held}/{len(times)}")


def half_sent(root: Path, kind: str, url: str, logs: Path, work: Path, counts: list[int],
              wait: float) -> list[str]:
    rows = []
    proc, port = serve(root, kind, url, logs, work)
    try:
        for n in counts:
            socks = []
            for _ in range(n):
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
                socks.append(s)
            time.sleep(0.5)
            times = [status(port, wait) for _ in range(20)]
            rows.append(f"| {kind} | {n} | {summary(times, wait)} |")
            for s in socks:
                s.close()
            time.sleep(0.5)
    finally:
        stop(proc)
    return rows


def fill(root: Path, url: str, n: int) -> None:
    sys.path.insert(0, str(root))
    import sqlalchemy as sa

    import db
    engine = db.make_engine(url)
    db.migrate(engine)
    sql = sa.text("INSERT INTO events (file_id, start_offset, end_offset, ts, day, kind,"
                  " username, size_bytes, failed, action, remote_ip, protocol, file_path)"
                  " VALUES (1, :o, :o2, :ts, :day, 'upload', :u, 123456, 0, 'Upload',"
                  " '203.0.113.9', 'SFTP', :p)")
    for start in range(0, n, 50_000):
        rows = [{"o": i * 100, "o2": i * 100 + 99,
                 "ts": f"2024-09-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:{i * 7 % 60:02d}.000",
                 "day": f"2024-09-{1 + i % 28:02d}", "u": f"user-{i % 500}",
                 "p": f"/srv/data/folder-{i % 97}/file-{i}.bin"}
                for i in range(start, min(start + 50_000, n))]
        with engine.begin() as conn:
            conn.execute(sql, rows)
    db.dispose_engines(url)


def downloads(root: Path, kind: str, url: str, logs: Path, work: Path, wait: float) -> str:
    proc, port = serve(root, kind, url, logs, work)
    results: list[tuple[int, int, float]] = []

    def download() -> None:
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        try:
            conn.request("GET", "/api/events.csv?start=2024-09-01&end=2024-09-30")
            answer = conn.getresponse()
            size = len(answer.read())
            results.append((answer.status, size, time.monotonic() - started))
        finally:
            conn.close()
    try:
        threads = [threading.Thread(target=download) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        times = []
        while any(t.is_alive() for t in threads) and len(times) < 20:
            times.append(status(port, wait))
            time.sleep(0.5)
        for t in threads:
            t.join()
    finally:
        stop(proc)
    codes = sorted(code for code, _size, _secs in results)
    longest = max(secs for _c, _s, secs in results)
    return (f"| {kind} | {summary(times, wait)} | "
            f"{', '.join(f'{codes.count(c)}×{c}' for c in sorted(set(codes)))} | {longest:.1f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure")
    p.add_argument("--half", default="0,16,64", help="counts of half-sent requests")
    p.add_argument("--wait", type=float, default=10.0, help="seconds a status request may take")
    p.add_argument("--events", type=int, default=0, help="events for the download test (0: skip)")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-slow-"))
    logs = work / "logs"
    logs.mkdir()
    url = f"sqlite:///{work}/bench.db"
    counts = [int(c) for c in args.half.split(",") if c]
    print(f"checkout: {args.root}\n")
    if counts:
        print("| server | half-sent requests held | /api/status median ms | max ms | held |")
        print("|---|---|---|---|---|")
        for kind in ("gunicorn", "app.py"):
            for row in half_sent(args.root.resolve(), kind, url, logs, work, counts, args.wait):
                print(row, flush=True)
    if args.events:
        fill(args.root.resolve(), url, args.events)
        print(f"\n8 downloads of /api/events.csv ({args.events:,} events) at once:\n")
        print("| server | /api/status median ms | max ms | held | downloads | longest s |")
        print("|---|---|---|---|---|---|")
        for kind in ("gunicorn", "app.py"):
            print(downloads(args.root.resolve(), kind, url, logs, work, args.wait), flush=True)


if __name__ == "__main__":
    main()
