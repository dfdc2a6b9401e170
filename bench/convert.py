"""Benchmark of ``migstat convert`` on a long-format national extract, as ratios to pandas.read_csv.

Generates a 1,000,000-row, 12-column extract (bench/extract.py), then in the
same run and alternately, each in a fresh process:

* ``pandas.read_csv`` of the file (the reference);
* ``migstat convert`` of the file with mappings/kz/internal_migration_extract.yaml
  to SDMX-CSV 2.0: read, map labels to codes, parse values, validate against the
  DSD, write to a file.

It reports the best wall time of each (the work only: interpreter start and
imports excluded) and each process's peak resident memory, and the ratios.
Targets of issue 3: within 4x of pandas.read_csv, peak memory under 1 GiB.

    python bench/convert.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
MAPPING = ROOT / "mappings" / "kz" / "internal_migration_extract.yaml"

PANDAS = """
import json, resource, sys, time
import pandas
start, cpu = time.perf_counter(), time.process_time()
frame = pandas.read_csv(sys.argv[1], sep=";")
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu": cpu, "rows": len(frame),
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

MIGSTAT = """
import json, resource, sys, time
from service.cli import main
start, cpu = time.perf_counter(), time.process_time()
try:
    main(["convert", "-m", sys.argv[2], sys.argv[1], "-o", sys.argv[3]], standalone_mode=False)
    code = 0
except SystemExit as exc:
    code = exc.code
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu": cpu, "exit": code,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(code: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    sys.path.insert(0, str(HERE))
    from extract import write

    OUT.mkdir(exist_ok=True)
    source = OUT / f"extract_{args.rows}.csv"
    if not source.exists():
        write(source, args.rows)
    target = OUT / f"extract_{args.rows}.sdmx.csv"
    pandas_runs, migstat_runs = [], []
    for _ in range(args.repeat):
        pandas_runs.append(run(PANDAS, str(source)))
        migstat_runs.append(run(MIGSTAT, str(source), str(MAPPING), str(target)))
    if any(r["exit"] != 0 for r in migstat_runs):
        raise SystemExit(f"migstat convert failed: {migstat_runs}")
    best_pandas = min(r["seconds"] for r in pandas_runs)
    best_migstat = min(r["seconds"] for r in migstat_runs)
    cpu_pandas = min(r["cpu"] for r in pandas_runs)
    cpu_migstat = min(r["cpu"] for r in migstat_runs)
    peak_pandas = max(r["peak_mib"] for r in pandas_runs)
    peak_migstat = max(r["peak_mib"] for r in migstat_runs)
    size_mib = source.stat().st_size / 2 ** 20
    print(f"extract: {args.rows:,} rows x 12 columns, {size_mib:,.0f} MiB ({source.name})")
    print(f"{'':24}{'best time':>12}{'CPU time':>12}{'peak memory':>14}")
    print(f"{'pandas.read_csv':24}{best_pandas:>10.2f} s{cpu_pandas:>10.2f} s{peak_pandas:>10.0f} MiB")
    print(f"{'migstat convert':24}{best_migstat:>10.2f} s{cpu_migstat:>10.2f} s{peak_migstat:>10.0f} MiB")
    print(f"ratio to pandas.read_csv: time {best_migstat / best_pandas:.2f}x (CPU {cpu_migstat / cpu_pandas:.2f}x), "
          "peak memory "
          f"{peak_migstat / peak_pandas:.2f}x (targets: within 4x; under 1 GiB: "
          f"{'yes' if peak_migstat < 1024 else 'NO'})")
    print("all runs (s): pandas " + ", ".join(f"{r['seconds']:.2f}" for r in pandas_runs)
          + "; migstat " + ", ".join(f"{r['seconds']:.2f}" for r in migstat_runs))


if __name__ == "__main__":
    main()
