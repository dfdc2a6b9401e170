"""Benchmark of a push end to end, as a ratio to pandas.read_csv + DataFrame.to_sql of the same file.

Generates a 1,000,000-observation SDMX-CSV 2.0 submission for DF_MIGR_FLOW,
the way the Kazakh office's system would send it: Kazakhstan and its 20
regions (a provider writes only its own REF_AREA, so one submission is one
country's), immigrants and emigrants by country of previous or next
residence, sex and five-year age band, years 2008-2023, OBS_STATUS, unit
and multiplier; every key valid against the catalog. Then, for each
database (a new SQLite file; PostgreSQL when --postgres or
MIGSTAT_TEST_POSTGRES_URL names one, in a schema of its own), alternately
and each in a fresh process:

* the reference: ``pandas.read_csv`` of the file and ``DataFrame.to_sql``
  of the frame into a table of the same database (pandas' defaults);
* migstat: ``submissions.submit`` of the file's bytes as provider KZ_BNS:
  read, check permission, validate against DSD, codelists and constraint,
  store with history and the audit row, one transaction.

Each is timed on its work only (interpreter start, imports, the catalog and
opening the store excluded), with the process's CPU time and peak resident
memory (ru_maxrss). Targets of issue 6: within 3x of the reference, peak
memory under 1 GiB. The machine's load average is printed with the figures.

    python bench/ingest.py [--rows 1000000] [--repeat 1] [--postgres URL] [--sqlite-only] [--profile]

``--profile`` runs migstat once more under cProfile and prints where the
time goes: reading, validation, the store, the database driver.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid
import zlib
from itertools import product
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
FLOW = "CAMIG:DF_MIGR_FLOW(1.0)"
CSV2 = "application/vnd.sdmx.data+csv;version=2.0.0"

DIMENSIONS = ("FREQ", "REF_AREA", "INDICATOR", "MIGR_DEF", "DATA_SOURCE", "COUNTERPART_AREA", "CITIZENSHIP",
              "BIRTH_PLACE", "SEX", "AGE", "EDUCATION_LEV", "OCCUPATION", "ACTIVITY", "MIGR_REASON", "ETHNICITY",
              "URBANISATION")
REGIONS = ("KZ", "KZ-10", "KZ-11", "KZ-15", "KZ-19", "KZ-23", "KZ-27", "KZ-31", "KZ-33", "KZ-35", "KZ-39", "KZ-43",
           "KZ-47", "KZ-55", "KZ-59", "KZ-61", "KZ-62", "KZ-63", "KZ-71", "KZ-75", "KZ-79")
COUNTERPARTS = ("_T", "RU", "UZ", "KG", "TJ", "CN", "DE", "TR", "UA", "BY", "AZ", "AM", "GE", "TM", "MN", "KR",
                "US", "IN", "AF", "PK", "IR", "IL", "PL", "LT", "MD")
SEXES = ("_T", "M", "F")
AGES = ("_T", "Y_LT5", "Y5T9", "Y10T14", "Y15T19", "Y20T24", "Y25T29", "Y30T34", "Y35T39", "Y40T44", "Y45T49",
        "Y50T54", "Y55T59", "Y60T64", "Y65T69", "Y70T74", "Y75T79", "Y80T84", "Y_GE85")
YEARS = tuple(range(2008, 2024))
INDICATORS = ("IMM", "EMI")


def write_submission(path: Path, rows: int) -> None:
    """The SDMX-CSV 2.0 submission of ``rows`` observations (at most 1,915,200: two definitions, 21
    areas, 2 indicators, 25 counterparts, 3 sexes, 19 ages, 16 years); the same file every time."""
    header = ["STRUCTURE", "STRUCTURE_ID", "ACTION", *DIMENSIONS, "TIME_PERIOD", "OBS_VALUE", "OBS_STATUS",
              "UNIT_MEASURE", "UNIT_MULT"]
    written = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(header) + "\n")
        for definition in ("NAT_PERM", "UN_LT"):
            for area, indicator, counterpart, sex, age in product(REGIONS, INDICATORS, COUNTERPARTS, SEXES, AGES):
                source = "ADM_POPREG" if definition == "NAT_PERM" else "EST"
                lead = (f"dataflow,{FLOW},I,A,{area},{indicator},{definition},{source},{counterpart},_T,_T,{sex},"
                        f"{age},_T,_Z,_Z,_T,_T,_T,")
                seed = zlib.crc32(lead.encode()) & 0xFFFF
                lines = []
                for year in YEARS:
                    if written == rows:
                        break
                    status = "P" if year == YEARS[-1] else "A"
                    lines.append(f"{lead}{year},{(seed * 7 + year * 13) % 5000},{status},PS,0\n")
                    written += 1
                out.write("".join(lines))
                if written == rows:
                    return
    raise SystemExit(f"the generator makes at most {written:,} observations")


REFERENCE = """
import json, resource, sys, time
import pandas
from sqlalchemy import create_engine
path, url = sys.argv[1], sys.argv[2]
engine = create_engine(url)
start, cpu = time.perf_counter(), time.process_time()
frame = pandas.read_csv(path, dtype={"TIME_PERIOD": str})
frame.to_sql("pandas_reference", engine, index=False, if_exists="replace")
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu": cpu, "rows": len(frame),
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

MIGSTAT = """
import json, resource, sys, time
from service.catalog import PROJECT_ROOT, load_catalog
from service.store import open_store
from service.submissions import submit
path, url, profile = sys.argv[1], sys.argv[2], sys.argv[3]
catalog = load_catalog(PROJECT_ROOT)
store = open_store(url)
with open(path, "rb") as source:
    body = source.read()
start, cpu = time.perf_counter(), time.process_time()
if profile:
    import cProfile
    profiler = cProfile.Profile()
    result = profiler.runcall(submit, catalog, store, body, "%s", provider="KZ_BNS")
    profiler.dump_stats(profile)
else:
    result = submit(catalog, store, body, "%s", provider="KZ_BNS")
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu": cpu, "added": result.summary.added,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""" % (CSV2, CSV2)


def run(code: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if done.returncode != 0:
        raise SystemExit(f"a measurement failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class Databases:
    """A new, empty database per measurement: a SQLite file, or a PostgreSQL schema dropped afterwards."""

    def __init__(self, postgres: str | None, folder: Path):
        self.postgres, self.folder = postgres, folder

    def fresh(self, kind: str) -> str:
        if kind == "sqlite":
            path = self.folder / f"ingest_{uuid.uuid4().hex[:8]}.db"
            return f"sqlite:///{path}"
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url
        schema = f"bench_ingest_{uuid.uuid4().hex[:8]}"
        engine = create_engine(self.postgres, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        return make_url(self.postgres).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)

    def drop(self, url: str) -> None:
        if url.startswith("sqlite"):
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
            return
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url
        schema = make_url(url).query["options"].removeprefix("-csearch_path=")
        engine = create_engine(self.postgres, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def profile(source: Path, databases: Databases, kind: str) -> None:
    import pstats

    url = databases.fresh(kind)
    stats_path = databases.folder / "ingest.prof"
    try:
        run(MIGSTAT, str(source), url, str(stats_path))
    finally:
        databases.drop(url)
    stats = pstats.Stats(str(stats_path))
    total = max(entry[3] for entry in stats.stats.values())
    # Own time per part of the house.
    parts = {"reader (formats/)": 0.0, "validation (model/)": 0.0, "store (store/)": 0.0,
             "submissions.py": 0.0, "database driver": 0.0, "other": 0.0}
    for (filename, _, _), (_, _, own, _, _) in stats.stats.items():
        if "/service/formats/" in filename:
            parts["reader (formats/)"] += own
        elif "/service/model/" in filename:
            parts["validation (model/)"] += own
        elif "/service/store/" in filename:
            parts["store (store/)"] += own
        elif filename.endswith("submissions.py"):
            parts["submissions.py"] += own
        elif "sqlite3" in filename or "psycopg" in filename or filename == "~" or "sqlalchemy" in filename:
            parts["database driver"] += own
        else:
            parts["other"] += own
    print(f"\nprofile of submit() on {kind} (own time, cProfile inflates Python-heavy parts), total {total:.1f} s:")
    for name, seconds in sorted(parts.items(), key=lambda item: -item[1]):
        print(f"  {name:24}{seconds:8.1f} s")
    print()
    stats.sort_stats("tottime").print_stats(18)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--postgres", default=os.environ.get("MIGSTAT_TEST_POSTGRES_URL"))
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    OUT.mkdir(exist_ok=True)
    source = OUT / f"ingest_{args.rows}.sdmx.csv"
    if not source.exists():
        write_submission(source, args.rows)
    kinds = ["sqlite"] + ([] if args.sqlite_only or not args.postgres else ["postgresql"])
    results: dict[tuple[str, str], list[dict]] = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="migstat-bench-") as folder:
        databases = Databases(args.postgres, Path(folder))
        for _ in range(args.repeat):
            for kind in kinds:
                for name, code, extra in (("pandas", REFERENCE, ()), ("migstat", MIGSTAT, ("",))):
                    url = databases.fresh(kind)
                    try:
                        results.setdefault((kind, name), []).append(run(code, str(source), url, *extra))
                    finally:
                        databases.drop(url)
        load_after = os.getloadavg()
        if args.profile:
            for kind in kinds:
                profile(source, databases, kind)

    for (kind, name), runs in results.items():
        if name == "migstat" and any(r["added"] != args.rows for r in runs):
            raise SystemExit(f"migstat stored {runs[0]['added']:,} observations, not {args.rows:,}")
    size_mib = source.stat().st_size / 2 ** 20
    print(f"submission: {args.rows:,} observations of {FLOW}, SDMX-CSV 2.0, {size_mib:,.0f} MiB ({source.name})")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} on {os.cpu_count()} CPUs "
          f"(best of {args.repeat})")
    print(f"{'database':12}{'':38}{'time':>9}{'CPU':>9}{'peak memory':>14}{'time ratio':>12}{'CPU ratio':>11}")
    for kind in kinds:
        reference = results[(kind, "pandas")]
        ours = results[(kind, "migstat")]
        ref_time, ref_cpu = min(r["seconds"] for r in reference), min(r["cpu"] for r in reference)
        for label, runs in (("pandas read_csv + to_sql", reference), ("migstat submit (read+validate+store)", ours)):
            best, cpu = min(r["seconds"] for r in runs), min(r["cpu"] for r in runs)
            peak = max(r["peak_mib"] for r in runs)
            print(f"{kind:12}{label:38}{best:>7.1f} s{cpu:>7.1f} s{peak:>10.0f} MiB"
                  f"{best / ref_time:>11.2f}x{cpu / ref_cpu:>10.2f}x")
    print("targets: within 3x of the reference, peak memory under 1 GiB "
          f"(migstat peak {max(r['peak_mib'] for k in kinds for r in results[(k, 'migstat')]):.0f} MiB)")


if __name__ == "__main__":
    main()
