"""The reading side alone, per batch: our rows against bare decoders and a columnar reader.

    python -m bench.bench_reader [--only dense,real-days,mixed] [--rounds 5]

For the first 4 MiB batch of each benchmark folder (bench/workloads.py; the size of
Settings.batch_bytes), in one process, best of ``--rounds``, milliseconds a batch:

- ``ours``: batch.build, what a pass does with a batch (msgspec decode, the counting rules,
  the rows, the malformed lines);
- ``msgspec decode``: parse._decode_line over every line, nothing else (the floor of our
  per-line decoding);
- ``orjson.loads``: the same with orjson into dicts;
- ``pyarrow read_json``: Apache Arrow's C++ JSON reader, the batch at once into columns
  (an explicit schema of the seventeen fields the counting rules read, other keys ignored
  where msgspec checks each one's type; one thread),
  and ``+ to_pylist``: its columns turned into the Python values a DB-API driver binds.

pyarrow is not a dependency of the program; its rows are printed when it is installed
(``pip install pyarrow``).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from bench import bench_ingest, workloads  # noqa: E402
from ingestion import batch, parse  # noqa: E402
from settings import Settings  # noqa: E402

# What parse._classify_line and _fast_event read of a line.
_TEXT = ("time", "sender", "remote_addr", "ip", "client_ip", "username", "file_path",
         "connection_id", "protocol", "error", "message", "event", "login_type", "method")
_INTS = ("size_bytes", "elapsed_ms", "elapsed")


def first_batch(log_dir: Path) -> bytes:
    """Returns the complete lines of the first batch_bytes of the folder's oldest file."""
    with open(workloads.log_files(log_dir)[0], "rb") as f:
        data = f.read(Settings(log_dir=".").batch_bytes)
    return data[:data.rfind(b"\n") + 1]


def _each(decode, lines: list) -> list:
    """Decodes every line as the pass does: a line refused is None, not the end."""
    out = []
    for x in lines:
        try:
            out.append(decode(x))
        except Exception:
            out.append(None)
    return out


def measure(data: bytes, rounds: int) -> dict[str, float]:
    lines = data[:-1].split(b"\n")
    ways = {
        "ours (batch.build)": lambda: batch.build(1, 0, lines, None, False),
        "msgspec decode only": lambda: _each(parse._decode_line, lines),
        "orjson.loads only": lambda: _each(orjson.loads, lines),
    }
    try:
        import pyarrow as pa
        import pyarrow.json as pj
    except ImportError:
        pa = None
    if pa is not None:
        schema = pa.schema([(n, pa.string()) for n in _TEXT] + [(n, pa.int64()) for n in _INTS])
        options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
        read = pj.ReadOptions(use_threads=False, block_size=len(data) + 1)

        def arrow():
            return pj.read_json(pa.py_buffer(data), read_options=read, parse_options=options)

        def arrow_rows():
            table = arrow()
            return list(zip(*(c.to_pylist() for c in table.columns)))
        ways["pyarrow read_json"] = arrow
        ways["pyarrow read_json + to_pylist"] = arrow_rows
    best = {}
    for _ in range(rounds):
        for name, way in ways.items():
            started = time.perf_counter()
            way()
            best[name] = min(time.perf_counter() - started, best.get(name, float("inf")))
    best["lines"] = len(lines)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", default="dense,real-days,mixed")
    args = ap.parse_args()
    try:
        started = time.perf_counter()
        import pyarrow
        import pyarrow.json  # noqa: F401
        arrow = (f", pyarrow {pyarrow.__version__} (its import took "
                 f"{time.perf_counter() - started:.2f} s)")
    except ImportError:
        arrow = ", pyarrow not installed"
    print(f"Machine: {bench_ingest.machine()}{arrow}; one 4 MiB batch, best of {args.rounds}.\n")
    print("| workload | lines | way | ms a batch | us a line |")
    print("|---|---|---|---|---|")
    for w in args.only.split(","):
        res = measure(first_batch(workloads.folder(w, bench_ingest.SIZES_MB[w])), args.rounds)
        n = res.pop("lines")
        for name, s in res.items():
            print(f"| {bench_ingest.TITLES[w]} | {n:,} | {name} | {s * 1e3:.1f} | {s / n * 1e6:.2f} |")


if __name__ == "__main__":
    main()
