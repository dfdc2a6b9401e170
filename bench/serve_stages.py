"""Where the time of serving a whole store goes: the data path taken apart, stage by stage.

    python bench/serve_stages.py --rows 1000000 --formats sdmx-csv-1,sdmx-json-1
    python bench/serve_stages.py --rows 1000000 --formats sdmx-json-1 --profile

Uses the store bench/serve.py generates (bench/store_gen.py). For each format,
the least CPU time of ``--repeat`` runs (CPU time, because the machine may be
shared: wall time then says more about the neighbours than about the code) of:

    count        store.count(q): the response limit check made before the first byte
    sql rows     the data statement run on the driver's cursor, rows fetched and dropped
    series       store.query(q): the same rows through SQLAlchemy, grouped into model Series
                 (streamed: each series dropped once counted, as a response does)
    writer       the format's writer alone, over those Series held in memory (the view
                 called with the store's answer replaced by the list)
    in-process   the whole view through Flask's test client, body drained (no socket)
    http         migstat serve (gunicorn, 1 worker) and curl: the worker's CPU time, and the
                 time to the last byte

``--profile`` runs the in-process stage once more under cProfile and sums
the time spent in each part of the path (driver, SQLAlchemy, store grouping,
writer, Flask/Werkzeug).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import store_gen  # noqa: E402
from serve import FORMATS, OUT, Server, fetch, load  # noqa: E402
from service.app import create_app  # noqa: E402
from service.model.query import DataQuery  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.store.read import view_for  # noqa: E402
from service.store.select import data_statement  # noqa: E402

PATH = "/data/DF_MIGR_FLOW/all"


def best(repeat: int, action) -> float:
    """The least CPU time (this process, all threads) of ``repeat`` calls: what load on a shared machine
    changes least."""
    times = []
    for _ in range(repeat):
        gc.collect()
        started = time.process_time()
        action()
        times.append(time.process_time() - started)
    return min(times)


def drain(response) -> int:
    size = 0
    for chunk in response.response:
        size += len(chunk)
    response.close()
    return size


def sql_rows(store, q: DataQuery) -> int:
    engine = store.engine
    with engine.connect() as conn:
        statement = data_statement(q, view_for(conn, q))
        compiled = statement.compile(dialect=engine.dialect)
        raw = conn.connection.dbapi_connection.cursor()
        params = compiled.construct_params()
        positional = [params[name] for name in compiled.positiontup] if compiled.positiontup else params
        raw.execute(str(compiled), positional)
        count = 0
        while True:
            rows = raw.fetchmany(5000)
            if not rows:
                break
            count += len(rows)
        raw.close()
    return count


def series_of(store, q: DataQuery) -> list:
    with store.query(q) as found:
        return list(found)


def series_streamed(store, q: DataQuery) -> int:
    with store.query(q) as found:
        return sum(len(one.observations) for one in found)


def stage_times(app, store, q: DataQuery, fmt_name: str, held: list, repeat: int) -> dict:
    accept = FORMATS[fmt_name].content_type
    client = app.test_client()
    out = {}

    def in_process():
        return drain(client.get(PATH, headers={"Accept": accept}, buffered=False))

    def writer_alone():
        with mock.patch("service.api.data.answer_rows", lambda *args: (held, lambda: None)), \
                mock.patch.object(store, "count", lambda *a, **k: 0):
            return drain(client.get(PATH, headers={"Accept": accept}, buffered=False))

    out["writer"] = best(repeat, writer_alone)
    out["in-process"] = best(repeat, in_process)
    return out


def profile(app, fmt_name: str) -> None:
    client = app.test_client()
    accept = FORMATS[fmt_name].content_type
    profiler = cProfile.Profile()
    profiler.enable()
    drain(client.get(PATH, headers={"Accept": accept}, buffered=False))
    profiler.disable()
    stats = pstats.Stats(profiler)
    parts: dict[str, float] = {}
    total = 0.0
    for (file, _line, func), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        total += tottime
        if "sqlite3" in func or "fetchmany" in func or "psycopg" in file:
            part = "driver (fetch)"
        elif "/sqlalchemy/" in file:
            part = "SQLAlchemy (result rows)"
        elif "/service/store/" in file:
            part = "store (grouping into Series)"
        elif "/service/formats/" in file:
            part = "writer"
        elif "/werkzeug/" in file or "/flask/" in file or "/service/api/" in file:
            part = "Flask / Werkzeug / view"
        elif func.startswith("<built-in method") or func.startswith("<method"):
            part = f"builtins called from the above ({func[:40]})"
        else:
            part = "other"
        parts[part] = parts.get(part, 0.0) + tottime
    print(f"  cProfile of the in-process stage, {fmt_name} (self time, profiled {total:.2f} s):")
    for part, seconds in sorted(parts.items(), key=lambda kv: -kv[1])[:12]:
        print(f"    {part:60} {seconds:7.2f} s {seconds / total:6.1%}")
    stats.sort_stats("tottime").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default="sdmx-csv-1,sdmx-ml-ss,sdmx-json-1")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--no-http", action="store_true")
    args = parser.parse_args()
    url = store_gen.ensure_store(args.rows, None)
    app = create_app(Settings(database_url=url))
    store = app.extensions["migstat.store"]
    q = DataQuery(flow=store_gen.FLOW)
    print(f"load average {load():.1f}; {args.rows:,} observations")
    common = {
        "count": best(args.repeat, lambda: store.count(q)),
        "sql rows": best(args.repeat, lambda: sql_rows(store, q)),
        "series": best(args.repeat, lambda: series_streamed(store, q)),
    }
    held = series_of(store, q)
    for name, seconds in common.items():
        print(f"  {name:12} {seconds:7.2f} s")
    server = None if args.no_http else Server(url, 1, OUT / "serve-stages.log")
    try:
        for fmt_name in args.formats.split(","):
            times = stage_times(app, store, q, fmt_name, held, args.repeat)
            if server:
                worker = server.workers[0]
                fetch(server.base + PATH, FORMATS[fmt_name].content_type)
                runs = [fetch(server.base + PATH, FORMATS[fmt_name].content_type, worker=worker)
                        for _ in range(args.repeat)]
                times["http (worker)"] = min(r["cpu_seconds"] for r in runs)
                times["http wall"] = min(r["seconds"] for r in runs)
            print(f"  {fmt_name:20} " + "  ".join(f"{k} {v:6.2f} s" for k, v in times.items())
                  + f"   load {load():.1f}")
            if args.profile:
                profile(app, fmt_name)
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    main()
