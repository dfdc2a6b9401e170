"""Availability for a whole 5,000,000-observation store against a single-series data query.

    python bench/availability.py                       # builds bench/out/availability.db once, then measures
    python bench/availability.py --observations 500000 --database sqlite:///bench/out/small.db
    python bench/availability.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

The store holds DF_MIGR_FLOW as a national office would fill it: annual series
2004-2023 over the real DSD_MIGR key (16 dimensions) and the real codes:
regions of Kazakhstan, Kyrgyzstan and Tajikistan, immigration / emigration /
net migration under two definitions and two sources, about 40 partner
countries, sex and 5-year age groups, urban / rural; an OBS_STATUS now and then.

Both requests go through the app (Flask test client, no network): the median
latency of ``GET /data/DF_MIGR_FLOW/<one series key>`` over different series
(SDMX-JSON 1.0, the .Stat format), and of ``GET /availableconstraint/DF_MIGR_FLOW``
(the whole store), each answer computed afresh (nothing is cached between requests), and of
the same with a partial key and mode=available (what the Data Explorer asks after a
selection). The figure is their ratio;
the target is 3x or less. The load average is printed: the machine may be shared.
PostgreSQL runs in a scratch schema dropped at the end (``--keep`` keeps it).

Measured (2 shared cores, load average 6-7 from other work; medians):

    store        single series   whole store         A.KZ.IMM mode=available
    SQLite        19.3 ms        12.3 ms  (0.64x)    177 ms  (9.2x)
    PostgreSQL    32.1 ms        27.6 ms  (0.86x)    495 ms  (15.4x)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
import zlib
from itertools import islice, product
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from service.model.data import MERGE, DataSet, Observation, Series  # noqa: E402
from service.store import SubmissionInfo, open_store  # noqa: E402

FLOW = "CAMIG:DF_MIGR_FLOW(1.0)"
YEARS = [str(y) for y in range(2004, 2024)]
REGIONS = {
    "KZ": ["KZ", "KZ-10", "KZ-11", "KZ-15", "KZ-19", "KZ-23", "KZ-27", "KZ-31", "KZ-35", "KZ-39", "KZ-43",
           "KZ-47", "KZ-55", "KZ-59", "KZ-61", "KZ-63", "KZ-71", "KZ-75", "KZ-79"],
    "KG": ["KG", "KG-B", "KG-C", "KG-GB", "KG-GO", "KG-J", "KG-N", "KG-O", "KG-T", "KG-Y"],
    "TJ": ["TJ", "TJ-DU", "TJ-GB", "TJ-KT", "TJ-RA", "TJ-SU"],
}
PROVIDERS = {"KZ": "KZ_BNS", "KG": "KG_NSC", "TJ": "TJ_STAT"}
INDICATORS = ["IMM", "EMI", "NETM"]
DEFINITIONS = [("NAT_PERM", "ADM_POPREG"), ("UN_LT", "EST")]
PARTNERS = ["_T", "172", "XCIS", "RU", "UZ", "KZ", "KG", "TJ", "BY", "UA", "AM", "AZ", "GE", "MD", "TM",
            "CN", "DE", "US", "TR", "KR", "IL", "PL", "LT", "LV", "EE", "IN", "PK", "AF", "IR", "MN",
            "GB", "FR", "IT", "ES", "CA", "AE", "JP", "CZ", "FI", "SE"]
SEXES = ["_T", "F", "M"]
AGES = ["_T", "Y_LT5", "Y5T9", "Y10T14", "Y15T19", "Y20T24", "Y25T29", "Y30T34", "Y35T39", "Y40T44",
        "Y45T49", "Y50T54", "Y55T59", "Y60T64", "Y65T69", "Y70T74", "Y75T79", "Y80T84", "Y_GE85"]
URBANISATION = ["_T", "URB", "RUR"]
SERIES_ATTRIBUTES = {"UNIT_MEASURE": "PS", "UNIT_MULT": "0"}
BATCH_OBSERVATIONS = 500_000


def series_keys(country: str):
    """Keys of one country's series in DSD order (FREQ ... URBANISATION)."""
    for area, indicator, (definition, source), partner, sex, age, urban in product(
            REGIONS[country], INDICATORS, DEFINITIONS, PARTNERS, SEXES, AGES, URBANISATION):
        yield ("A", area, indicator, definition, source, partner, "_T", "_T", sex, age, "_T", "_Z", "_Z", "_T",
               "_T", urban)


def all_series(observations: int):
    """Series of 20 annual observations, countries in turn, until ``observations`` are made."""
    made = 0
    sources = {c: series_keys(c) for c in REGIONS}
    while made < observations and sources:
        for country in list(sources):
            key = next(sources[country], None)
            if key is None:
                del sources[country]
                continue
            seed = zlib.crc32(".".join(key).encode()) & 0xFFFF
            years = YEARS[:observations - made]
            obs = [Observation(y, float((seed * (i + 3)) % 5000), {"OBS_STATUS": "E" if (seed + i) % 11 == 0 else "A"})
                   for i, y in enumerate(years)]
            made += len(obs)
            yield country, Series(key, obs, SERIES_ATTRIBUTES)
            if made >= observations:
                return


def build(url: str, observations: int) -> None:
    store = open_store(url)
    started = time.perf_counter()
    stream = all_series(observations)
    written = 0
    try:
        while True:
            batch = list(islice(stream, BATCH_OBSERVATIONS // len(YEARS)))
            if not batch:
                break
            by_country: dict[str, list[Series]] = {}
            for country, one in batch:
                by_country.setdefault(country, []).append(one)
            for country, items in by_country.items():
                store.write([DataSet(FLOW, items, MERGE)], provider=PROVIDERS[country],
                            submission=SubmissionInfo(content_type="application/vnd.sdmx.data+csv;version=2.0.0",
                                                      body=b"generated by bench/availability.py"))
                written += sum(len(s.observations) for s in items)
            print(f"  {written:>10,} observations written ({time.perf_counter() - started:.0f} s)", flush=True)
    finally:
        store.close()


def prepare(args) -> tuple[str, callable]:
    """The store URL to measure and a cleanup; builds the store when it is missing or too small."""
    if args.postgres:
        schema = f"bench_availability_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(args.postgres).update_query_dict({"options": f"-csearch_path={schema}"}) \
            .render_as_string(hide_password=False)
        print(f"building {args.observations:,} observations in PostgreSQL schema {schema}", flush=True)
        build(url, args.observations)

        def cleanup():
            if args.keep:
                print(f"kept schema {schema}")
                return
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        return url, cleanup
    url = args.database
    store = open_store(url)
    try:
        held = store.count(_query())
    finally:
        store.close()
    if held != args.observations:
        if held:
            raise SystemExit(f"{url} holds {held:,} observations, not {args.observations:,}: remove it first")
        print(f"building {args.observations:,} observations in {url} (once; kept for later runs)", flush=True)
        build(url, args.observations)
    return url, lambda: None


def _query():
    from service.model.query import DataQuery
    return DataQuery(flow=FLOW)


def timed(client, path: str, headers: dict[str, str], expect: int = 200) -> float:
    started = time.perf_counter()
    response = client.get(path, headers=headers)
    body = response.get_data()
    seconds = time.perf_counter() - started
    if response.status_code != expect or not body:
        raise SystemExit(f"GET {path}: {response.status_code} {body[:300]!r}")
    return seconds


def measure(url: str, repeat: int) -> None:
    from service.app import create_app
    from service.settings import Settings

    app = create_app(Settings.from_env(database_url=url))
    client = app.test_client()
    json10 = {"Accept": "application/vnd.sdmx.data+json;version=1.0.0"}
    structure_json = {"Accept": "application/vnd.sdmx.structure+json;version=1.0.0"}
    keys = [".".join(key) for key in islice(series_keys("KZ"), 0, 20_000, 20_000 // repeat)][:repeat]
    timed(client, f"/data/DF_MIGR_FLOW/{keys[0]}", json10)  # warm: catalog, statement caches, pages
    single = [timed(client, f"/data/DF_MIGR_FLOW/{key}", json10) for key in keys]
    whole = [timed(client, "/availableconstraint/DF_MIGR_FLOW", structure_json) for _ in range(repeat)]
    partial = "A.KZ.IMM" + "." * 13
    available = [timed(client, f"/availableconstraint/DF_MIGR_FLOW/{partial}?mode=available", structure_json)
                 for _ in range(max(3, repeat // 5))]
    one_series = statistics.median(single)
    print(f"single-series data query (SDMX-JSON 1.0), median of {len(single)}: {one_series * 1000:8.1f} ms")
    for label, times in (("availability, whole store (exact)", whole),
                         ("availability, A.KZ.IMM mode=available", available)):
        median = statistics.median(times)
        print(f"{label + ', median of ' + str(len(times)) + ':':<52} {median * 1000:8.1f} ms   "
              f"ratio {median / one_series:5.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=f"sqlite:///{Path(__file__).parent / 'out' / 'availability.db'}")
    parser.add_argument("--postgres", help="measure on PostgreSQL instead (a scratch schema in this database)")
    parser.add_argument("--observations", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema")
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    url, cleanup = prepare(args)
    try:
        if not args.build_only:
            measure(url, args.repeat)
    finally:
        cleanup()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
