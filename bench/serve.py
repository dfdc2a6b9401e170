"""Serving data over HTTP from the store, against references and the Python SDMX libraries, as ratios.

    python bench/serve.py                                  # 1,000,000 and 5,000,000 observations
    python bench/serve.py --rows 100000 --big-rows 500000  # a quick run
    python bench/serve.py --database postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/serve.py --formats sdmx-csv-1,sdmx-ml-ss --skip-libs

One run measures (the issue's "Streaming and speed"):

1. Speed. ``migstat serve --workers 1`` (gunicorn, a real socket) answers
   ``GET /data/DF_MIGR_FLOW/all`` with all ``--rows`` observations in each
   format; curl streams the body to /dev/null and reports the time to the last
   byte. In the same run, the same rows (read from the store beforehand, held
   in memory) are written by a minimal reference (bench/serve_refs.py:
   pandas ``to_csv`` for SDMX-CSV, an lxml ``xmlfile`` writer for SDMX-ML, a
   dict and ``orjson.dumps`` for SDMX-JSON), runs of the two alternating, and
   by the Python SDMX libraries where they write the format
   (bench/sdmx_libs.py, one process each). Times are the best of ``--repeat``
   runs (libraries: one run). Targets: SDMX-CSV 1.0x its reference, SDMX-ML
   and SDMX-JSON 1.5x; migstat ahead of every library.
2. Memory. The gunicorn worker's RSS, sampled every few milliseconds while it
   streams each format, above its RSS while answering an empty query (a key
   matching nothing) right after start. Target: under 100 MB.
3. Latency. ``migstat serve --workers N`` on the ``--big-rows`` store; wrk with
   32 connections asks for single series (a different key each request) and
   for ``/health`` of the same app, in turn, twice. Median and 99th
   percentile as ratios to /health's. Target: median within 3x.

Stores are generated once and kept (bench/store_gen.py). The load average is
printed and recorded: the machine may be shared. Results go to
bench/out/serve-results.json.

sdmxlib needs Python 3.13; the bench looks for it in ``--sdmxlib-python``
(default bench/out/venv-sdmxlib/bin/python, made with
``python3.13 -m venv bench/out/venv-sdmxlib && bench/out/venv-sdmxlib/bin/pip
install sdmxlib pandas pyarrow``) and reports it as not installed otherwise.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psutil  # noqa: E402

import serve_refs  # noqa: E402
import store_gen  # noqa: E402
from sdmx_libs import NOT_WRITTEN, SUPPORTED  # noqa: E402
from service.catalog import load_catalog  # noqa: E402
from service.formats import DATA_FORMATS  # noqa: E402
from service.model.query import DataQuery  # noqa: E402
from service.store import open_store  # noqa: E402

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
PYTHON = sys.executable
MIGSTAT = str(Path(PYTHON).with_name("migstat"))
LIBRARIES = ("sdmx1", "pysdmx", "sdmxthon", "sdmxlib")
FORMATS = {f.name: f for f in DATA_FORMATS}
#: Reference writer and target ratio per format.
REFERENCE = {
    "sdmx-csv-1": ("pandas.to_csv", 1.0), "sdmx-csv-2": ("pandas.to_csv", 1.0),
    "sdmx-ml-ss": ("lxml xmlfile (ss 2.1)", 1.5), "sdmx-ml-ss-ts": ("lxml xmlfile (ss 2.1)", 1.5),
    "sdmx-ml-3": ("lxml xmlfile (ss 3.0)", 1.5),
    "sdmx-ml-generic": ("lxml xmlfile (generic)", 1.5), "sdmx-ml-generic-ts": ("lxml xmlfile (generic)", 1.5),
    "sdmx-json-1": ("dict + orjson", 1.5), "sdmx-json-2": ("dict + orjson", 1.5),
}
DEFAULT_FORMATS = ("sdmx-csv-1", "sdmx-csv-2", "sdmx-ml-ss", "sdmx-ml-ss-ts", "sdmx-ml-generic", "sdmx-ml-3",
                   "sdmx-json-1", "sdmx-json-2")
EMPTY_KEY = "A.ZZ" + "." * 14  # a code no series has: nothing matches


def say(message: str = "") -> None:
    print(message, flush=True)


def load() -> float:
    return os.getloadavg()[0]


# -- the service -----------------------------------------------------------------------

class Server:
    """``migstat serve`` in the background: gunicorn on a free port of 127.0.0.1."""

    def __init__(self, url: str, workers: int, log: Path):
        self.port = _free_port()
        self.log = open(log, "wb")
        self.process = subprocess.Popen(
            [MIGSTAT, "serve", "--database", url, "--port", str(self.port), "--workers", str(workers)],
            stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"migstat serve did not start; see {log}")
            time.sleep(0.2)
        master = psutil.Process(self.process.pid)
        while len(master.children()) < workers:
            time.sleep(0.1)
        self.workers = master.children()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str, accept: str, sample=None, worker: psutil.Process | None = None) -> dict:
    """GET with curl, the body discarded; while it runs, ``sample()`` is called every ~5 ms.

    With ``worker``, also the CPU time (user + system) that process spent meanwhile.
    """
    cpu = sum(worker.cpu_times()[:2]) if worker else 0.0
    command = ["curl", "-s", "-o", "/dev/null", "-H", f"Accept: {accept}", "-w",
               "%{http_code} %{size_download} %{time_starttransfer} %{time_total}", url]
    process = subprocess.Popen(command, stdout=subprocess.PIPE)
    while process.poll() is None:
        if sample:
            sample()
        time.sleep(0.005)
    status, size, first, total = process.stdout.read().decode().split()
    if sample:
        sample()
    out = {"status": int(status), "bytes": int(size), "first_byte": float(first), "seconds": float(total)}
    if worker:
        out["cpu_seconds"] = sum(worker.cpu_times()[:2]) - cpu
    return out


class Peak:
    """The highest RSS of a process seen by ``sample()`` since the last ``reset()``."""

    def __init__(self, process: psutil.Process):
        self.process, self.value = process, 0

    def reset(self) -> None:
        self.value = self.process.memory_info().rss

    def sample(self) -> None:
        self.value = max(self.value, self.process.memory_info().rss)


# -- part 1 and 2: speed and memory ------------------------------------------------------

def timed(write) -> tuple[float, float, int]:
    """(seconds, CPU seconds, bytes) of one call of a reference writer."""
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    size = write()
    return time.perf_counter() - started, time.process_time() - cpu, size


def references(series, layout):
    """(the rows as a DataFrame, writers of the rows in memory by reference name); frames are built here,
    before any clock starts."""
    rows = serve_refs.table(series, layout)
    frames = {1: serve_refs.csv_frame(rows, layout, 1), 2: serve_refs.csv_frame(rows, layout, 2)}
    return rows, {
        "sdmx-csv-1": lambda: serve_refs.csv_pandas(frames[1]),
        "sdmx-csv-2": lambda: serve_refs.csv_pandas(frames[2]),
        "lxml xmlfile (ss 2.1)": lambda: serve_refs.ml_structure_specific(series, layout, "2.1"),
        "lxml xmlfile (ss 3.0)": lambda: serve_refs.ml_structure_specific(series, layout, "3.0"),
        "lxml xmlfile (generic)": lambda: serve_refs.ml_generic(series, layout),
        "dict + orjson": lambda: serve_refs.json_orjson(series, layout),
    }


def speed_and_memory(url: str, formats: list[str], series, layout, repeat: int) -> dict:
    rows, writers = references(series, layout)
    server = Server(url, 1, OUT / "serve-speed.log")
    results: dict = {"formats": {}, "load_start": load()}
    try:
        worker = server.workers[0]
        peak = Peak(worker)
        peak.reset()
        empty = fetch(f"{server.base}/data/DF_MIGR_FLOW/{EMPTY_KEY}", FORMATS["sdmx-csv-1"].content_type, peak.sample)
        if empty["status"] != 404:
            raise SystemExit(f"the empty query answered {empty['status']}, not 404")
        baseline = peak.value
        results["baseline_rss_mb"] = baseline / 2**20
        say(f"worker {worker.pid}: {baseline / 2**20:.0f} MB answering an empty query (404)")
        measured: dict[str, tuple[float, float, int]] = {}  # reference -> best (seconds, CPU seconds, bytes)
        for name in formats:
            fmt = FORMATS[name]
            ref_name = REFERENCE[name][0]
            ref_key = name if name.startswith("sdmx-csv") else ref_name
            url_all = f"{server.base}/data/DF_MIGR_FLOW/all"
            peak.reset()
            warm = fetch(url_all, fmt.content_type, peak.sample)
            if warm["status"] != 200 or not warm["bytes"]:
                raise SystemExit(f"{name}: HTTP {warm['status']}, {warm['bytes']} bytes")
            runs, ref_runs = [], []
            for _ in range(repeat):  # the two alternate, so a change of load hits both
                runs.append(fetch(url_all, fmt.content_type, peak.sample, worker))
                if ref_key not in measured:
                    ref_runs.append(timed(writers[ref_key]))
            if ref_runs:
                measured[ref_key] = (min(r[0] for r in ref_runs), min(r[1] for r in ref_runs), ref_runs[0][2])
            ref_seconds, ref_cpu, ref_bytes = measured[ref_key]
            seconds = min(r["seconds"] for r in runs)
            cpu = min(r["cpu_seconds"] for r in runs)
            r = results["formats"][name] = {
                "media_type": fmt.content_type, "seconds": seconds, "runs": [r["seconds"] for r in runs],
                "cpu_seconds": cpu, "first_byte": min(r["first_byte"] for r in runs), "bytes": runs[0]["bytes"],
                "reference": ref_name, "reference_seconds": ref_seconds, "reference_cpu_seconds": ref_cpu,
                "reference_bytes": ref_bytes, "ratio": seconds / ref_seconds, "cpu_ratio": cpu / ref_cpu,
                "target": REFERENCE[name][1],
                "peak_rss_mb": peak.value / 2**20, "rss_above_empty_mb": (peak.value - baseline) / 2**20,
                "load": load(),
            }
            say(f"  {name:20} migstat {seconds:7.2f} s (CPU {cpu:6.2f})  {ref_name} {ref_seconds:7.2f} s "
                f"(CPU {ref_cpu:6.2f})  ratio {r['ratio']:5.2f}, CPU {r['cpu_ratio']:5.2f} (target {r['target']})  "
                f"+{r['rss_above_empty_mb']:5.1f} MB  load {r['load']:.1f}")
    finally:
        server.stop()
    results["rows_frame"] = rows
    return results


def libraries(formats: list[str], rows_file: Path, structure: Path, sdmxlib_python: str | None,
              timeout: float) -> dict:
    out: dict = {}
    for name in formats:
        for lib in LIBRARIES:
            if name not in SUPPORTED[lib]:
                continue
            python = sdmxlib_python if lib == "sdmxlib" else PYTHON
            if python is None:
                out.setdefault(name, {})[lib] = {"error": "not installed: sdmxlib needs Python >= 3.13 (see --help)"}
                continue
            command = [python, str(BENCH / "sdmx_libs.py"), "--lib", lib, "--format", name, "--rows", str(rows_file),
                       "--structure", str(structure)]
            try:
                done = subprocess.run(command, capture_output=True, timeout=timeout, text=True)
                result = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else \
                    {"error": f"exit {done.returncode}: {done.stderr.strip()[-300:]}"}
            except subprocess.TimeoutExpired:
                result = {"error": f"did not finish within {timeout:.0f} s"}
            result["load"] = load()
            out.setdefault(name, {})[lib] = result
            shown = f"{result['seconds']:8.2f} s" if "seconds" in result else result["error"][:100]
            say(f"  {name:20} {lib:9} {shown}")
    return out


# -- part 3: latency under load ---------------------------------------------------------

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _seconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def wrk(url: str, connections: int, duration: int, script: Path | None = None) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "30s"]
    if script:
        command += ["-s", str(script)]
    text = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", text, re.M))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    return {"p50": _seconds(latency["50"]), "p99": _seconds(latency["99"]),
            "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
            "requests": int(re.search(r"(\d+) requests in", text).group(1)),
            "non_2xx": int(bad.group(1)) if bad else 0, "socket_errors": errors.group(1) if errors else None}


def series_keys(url: str, flow: str, count: int) -> list[str]:
    store = open_store(url)
    try:
        with store.query(DataQuery(flow=flow, detail="serieskeysonly")) as found:
            keys = [".".join(s.key) for s in found]
    finally:
        store.close()
    step = max(1, len(keys) // count)
    return keys[::step][:count]


def latency(url: str, flow: str, workers: int, connections: int, duration: int, accept: str) -> dict:
    keys = series_keys(url, flow, 500)
    script = OUT / "wrk-single-series.lua"
    paths = ",\n".join(f'  "/data/DF_MIGR_FLOW/{k}"' for k in keys)
    script.write_text(f'wrk.headers["Accept"] = "{accept}"\nlocal paths = {{\n{paths}\n}}\nlocal n = 0\n'
                      "request = function()\n  n = n + 1\n  return wrk.format(nil, paths[(n % #paths) + 1])\nend\n")
    server = Server(url, workers, OUT / "serve-latency.log")
    result: dict = {"workers": workers, "connections": connections, "duration_s": duration, "accept": accept,
                    "keys": len(keys), "rounds": [], "load_start": load()}
    try:
        wrk(server.base + "/health", connections, 3)
        wrk(server.base + "/data/DF_MIGR_FLOW", connections, 3, script)
        for _ in range(2):
            health = wrk(server.base + "/health", connections, duration)
            data = wrk(server.base + "/data/DF_MIGR_FLOW", connections, duration, script)
            if data["non_2xx"] or health["non_2xx"]:
                raise SystemExit(f"non-2xx answers under load: data {data['non_2xx']}, health {health['non_2xx']}")
            result["rounds"].append({"health": health, "single_series": data, "load": load()})
            say(f"  /health p50 {health['p50'] * 1000:7.1f} ms p99 {health['p99'] * 1000:7.1f} ms "
                f"({health['requests_per_second']:.0f}/s)   single series p50 {data['p50'] * 1000:7.1f} ms "
                f"p99 {data['p99'] * 1000:7.1f} ms ({data['requests_per_second']:.0f}/s)   load {load():.1f}")
    finally:
        server.stop()
    for stat in ("p50", "p99"):
        result[f"health_{stat}"] = statistics.mean(r["health"][stat] for r in result["rounds"])
        result[f"series_{stat}"] = statistics.mean(r["single_series"][stat] for r in result["rounds"])
        result[f"{stat}_ratio"] = result[f"series_{stat}"] / result[f"health_{stat}"]
    return result


# -- the run ------------------------------------------------------------------------------

def structure_message(url: str, path: Path) -> Path:
    from service.app import create_app
    from service.settings import Settings

    client = create_app(Settings(database_url=url)).test_client()
    answer = client.get("/dataflow/CAMIG/DF_MIGR_FLOW/1.0?references=all",
                        headers={"Accept": "application/vnd.sdmx.structure+xml;version=2.1"})
    if answer.status_code != 200:
        raise SystemExit(f"structure message: HTTP {answer.status_code}")
    path.write_bytes(answer.data)
    return path


def read_rows(url: str, flow: str) -> list:
    store = open_store(url)
    try:
        with store.query(DataQuery(flow=flow)) as found:
            return list(found)
    finally:
        store.close()


def report(results: dict) -> None:
    say()
    say(f"Serving {results['rows']:,} observations over HTTP (gunicorn, 1 worker, {results['store']}); "
        f"best of {results['repeat']}; load average {results['load_start']:.1f} at start on {os.cpu_count()} cores")
    head = f"{'format':20} {'migstat s':>9} {'MB':>5} {'reference':23} {'ref s':>6} {'ratio':>6} {'target':>6} " \
           f"{'ok':>3} {'CPU s':>6} {'ref CPU':>7} {'ratio':>6} {'+RSS MB':>8}"
    say(head)
    say("-" * len(head))
    speed = results["speed"]["formats"]
    for name, r in speed.items():
        ok = "yes" if r["ratio"] <= r["target"] else "NO"
        say(f"{name:20} {r['seconds']:9.2f} {r['bytes'] / 1e6:5.0f} {r['reference']:23} {r['reference_seconds']:6.2f} "
            f"{r['ratio']:6.2f} {r['target']:6.1f} {ok:>3} {r['cpu_seconds']:6.2f} {r['reference_cpu_seconds']:7.2f} "
            f"{r['cpu_ratio']:6.2f} {r['rss_above_empty_mb']:8.1f}")
    say(f"worker RSS answering an empty query: {results['speed']['baseline_rss_mb']:.0f} MB; "
        f"largest rise while streaming: {max(r['rss_above_empty_mb'] for r in speed.values()):.1f} MB (target < 100)")
    if results.get("libraries"):
        say()
        say("The same rows written from memory by the Python SDMX libraries (one run each); "
            "ratio to the reference, and migstat's time over the library's")
        head = f"{'format':20} {'library':9} {'seconds':>9} {'CPU s':>7} {'MB out':>7} {'RSS MB*':>11} " \
               f"{'x ref':>7} {'migstat/lib':>11} {'ahead':>5} {'CPU ahead':>9}"
        say(head)
        say("-" * len(head))
        for name, libs in results["libraries"].items():
            for lib, r in libs.items():
                if "seconds" not in r:
                    say(f"{name:20} {lib:9} {r['error'][:90]}")
                    continue
                ours = speed[name]["seconds"]
                ours_cpu = speed[name]["cpu_seconds"]
                say(f"{name:20} {lib:9} {r['seconds']:9.2f} {r['cpu_seconds']:7.2f} {r['bytes'] / 1e6:7.0f} "
                    f"{r['peak_rss_mb']:11.0f} {r['seconds'] / speed[name]['reference_seconds']:7.2f} "
                    f"{ours / r['seconds']:11.2f} {'yes' if ours < r['seconds'] else 'NO':>5} "
                    f"{'yes' if ours_cpu < r['cpu_seconds'] else 'NO':>9}")
        say("  * peak RSS of the library's process, the table read from Parquet included")
        for lib in LIBRARIES:
            say(f"  {lib}: {NOT_WRITTEN[lib]}")
    lat = results.get("latency")
    if lat:
        say()
        say(f"Single-series queries ({lat['accept']}) on {results['big_rows']:,} observations, "
            f"{lat['connections']} connections, gunicorn {lat['workers']} workers, {len(lat['rounds'])} rounds of "
            f"{lat['duration_s']} s; mean of the rounds")
        say(f"  /health        p50 {lat['health_p50'] * 1000:8.1f} ms   p99 {lat['health_p99'] * 1000:8.1f} ms")
        say(f"  single series  p50 {lat['series_p50'] * 1000:8.1f} ms   p99 {lat['series_p99'] * 1000:8.1f} ms")
        say(f"  ratio          p50 {lat['p50_ratio']:8.2f}x (target 3x: {'yes' if lat['p50_ratio'] <= 3 else 'NO'})"
            f"   p99 {lat['p99_ratio']:8.2f}x")
    say(f"load average at the end: {results['load_end']:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="observations served whole (parts 1 and 2)")
    parser.add_argument("--big-rows", type=int, default=5_000_000, help="observations in the store of part 3")
    parser.add_argument("--database", default="sqlite",
                        help="sqlite (files kept in bench/out/, the default) or a postgresql+psycopg:// URL "
                             "(a kept schema per size)")
    parser.add_argument("--formats", default=",".join(DEFAULT_FORMATS),
                        help=f"comma-separated, of: {', '.join(FORMATS)}")
    parser.add_argument("--skip-libs", action="store_true", help="leave out the Python SDMX libraries")
    parser.add_argument("--skip-latency", action="store_true", help="leave out part 3")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers for part 3")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=15, help="seconds of each wrk run in part 3")
    parser.add_argument("--latency-format", default="sdmx-json-1")
    parser.add_argument("--lib-timeout", type=float, default=1800)
    default_sdmxlib = OUT / "venv-sdmxlib" / "bin" / "python"
    parser.add_argument("--sdmxlib-python", default=str(default_sdmxlib) if default_sdmxlib.exists() else None)
    args = parser.parse_args()
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = [f for f in formats if f not in REFERENCE]
    if unknown:
        parser.error(f"unknown formats {unknown}; choose from {', '.join(REFERENCE)}")
    for tool in ("curl", "wrk"):
        if shutil.which(tool) is None and not (tool == "wrk" and args.skip_latency):
            raise SystemExit(f"{tool} is needed (apt-get install -y {tool})")
    if args.database != "sqlite" and not args.database.startswith("postgresql"):
        parser.error("--database is sqlite or a postgresql+psycopg:// URL")
    database = None if args.database == "sqlite" else args.database
    OUT.mkdir(exist_ok=True)

    results: dict = {"rows": args.rows, "big_rows": args.big_rows, "repeat": args.repeat, "load_start": load(),
                     "cpus": os.cpu_count(), "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    say(f"load average {load():.2f} on {os.cpu_count()} cores")
    url = store_gen.ensure_store(args.rows, database, say)
    results["store"] = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    catalog = load_catalog()
    flow = catalog.dataflow(store_gen.FLOW)
    layout = serve_refs.Layout.of(catalog.structure_of(flow), str(flow.ref))
    structure = structure_message(url, OUT / "structure-DF_MIGR_FLOW.xml")
    series = read_rows(url, str(flow.ref))
    held = sum(len(s.observations) for s in series)
    if held != args.rows:
        raise SystemExit(f"the store answered {held:,} observations, not {args.rows:,}")
    say(f"{held:,} observations in {len(series):,} series read into memory for the references")

    say("\n1-2. speed and memory, migstat over HTTP and the references")
    results["speed"] = speed_and_memory(url, formats, series, layout, args.repeat)
    rows = results["speed"].pop("rows_frame")
    del series
    gc.collect()
    if not args.skip_libs:
        rows_file = OUT / f"rows-{args.rows}.parquet"
        rows.to_parquet(rows_file)
        del rows
        gc.collect()
        say("\n1. the same rows by the Python SDMX libraries")
        results["libraries"] = libraries(formats, rows_file, structure, args.sdmxlib_python, args.lib_timeout)
    else:
        del rows
    if not args.skip_latency:
        big = store_gen.ensure_store(args.big_rows, database, say)
        say(f"\n3. latency under {args.connections} connections")
        results["latency"] = latency(big, str(flow.ref), args.workers, args.connections, args.duration,
                                     FORMATS[args.latency_format].content_type)
    results["load_end"] = load()
    (OUT / "serve-results.json").write_text(json.dumps(results, indent=2))
    report(results)
    say(f"\nwritten {OUT / 'serve-results.json'}")


if __name__ == "__main__":
    main()
