"""Write (and read back) N observations through the store; prints observations per second.

    python bench/store_write.py --url sqlite:///bench.db --observations 1000000
    python bench/store_write.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test

The data looks like a migration dataflow: annual series over 20 years, keyed
by FREQ.REF_AREA.FLOW.SEX.AGE.CITIZENSHIP, an OBS_STATUS on some observations.
Runs: a first load (all inserts), the same data again (all unchanged), a
Merge changing every value (all updates), then one full streaming read.
On PostgreSQL the tables are created in a scratch schema dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from service.model.data import MERGE, DataSet, Observation, Series  # noqa: E402
from service.model.query import DataQuery  # noqa: E402
from service.store import SubmissionInfo, open_store  # noqa: E402

FLOW = "OSCE:DF_MIGR_FLOW(1.0)"
YEARS = [str(y) for y in range(2000, 2020)]


def make_series(observations: int, bump: float = 0.0):
    areas = [f"A{i:03d}" for i in range(250)]
    made = 0
    for area in areas:
        for flow in ("IMM", "EMI", "NET"):
            for sex in ("F", "M", "_T"):
                for age in [f"Y{a}" for a in range(0, 100, 5)]:
                    for citizenship in ("NAT", "FOR", "_T"):
                        if made >= observations:
                            return
                        obs = [Observation(y, float(i) + bump, {"OBS_STATUS": "E"} if i % 7 == 0 else {})
                               for i, y in enumerate(YEARS[:observations - made])]
                        made += len(obs)
                        yield Series(("A", area, flow, sex, age, citizenship), obs, {"UNIT_MEASURE": "PS"})


def timed(label: str, observations: int, action):
    started = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - started
    print(f"{label:<28} {seconds:8.2f} s  {observations / seconds:>10,.0f} obs/s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="sqlite:///bench-store.db")
    parser.add_argument("--observations", type=int, default=1_000_000)
    args = parser.parse_args()
    url, cleanup = args.url, None
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        cleanup = lambda: [Path(f"{path}{s}").unlink(missing_ok=True) for s in ("", "-wal", "-shm")]  # noqa: E731
    elif url.startswith("postgresql"):
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)

        def cleanup():
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    n = args.observations
    store = open_store(url)
    try:
        def load(bump: float = 0.0):
            return store.write([DataSet(FLOW, make_series(n, bump), MERGE)], provider="KZ",
                               submission=SubmissionInfo(content_type="text/csv", body=b"x" * 1000))

        first = timed("first load (inserts)", n, load)
        assert first.added == n, first
        again = timed("same data again (unchanged)", n, load)
        assert again.unchanged == n, again
        changed = timed("every value changed (updates)", n, lambda: load(1.0))
        assert changed.replaced == n, changed

        def read():
            total = 0
            with store.query(DataQuery(flow=FLOW)) as found:
                for s in found:
                    total += len(s.observations)
            return total

        assert timed("stream all back", n, read) == n
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
              f"({store.dialect}, pid {os.getpid()})")
    finally:
        store.close()
        if cleanup:
            cleanup()


if __name__ == "__main__":
    main()
