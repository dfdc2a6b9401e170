"""A realistic DF_MIGR_FLOW store of N observations, built once and kept under bench/out/.

    python bench/store_gen.py --rows 1000000                 # bench/out/serve-store-1000000.db
    python bench/store_gen.py --rows 500000 --database postgresql+psycopg://postgres@127.0.0.1:5432/test

The data look like what the three national offices push: annual series
1990-2024 over the real DSD_MIGR key (16 dimensions) with codes of the
project's codelists, keys spread over the whole space rather than its first
corner:

- REF_AREA: Kazakhstan, Kyrgyzstan, Tajikistan and their regions (regions
  formed in 2018 and 2022 start then; South Kazakhstan Region ends in 2017);
- INDICATOR: immigration, emigration, net migration (IMM, EMI, NETM), each
  under the national registration definition (NAT_PERM, ADM_POPREG) and the
  UN long-term estimate (UN_LT, EST);
- COUNTERPART_AREA: the world total, CIS / non-CIS and about 40 partner countries;
- SEX (total, female, male), AGE (all ages and 18 five-year bands), URBANISATION
  (total, urban, rural); the other breakdowns are _T, OCCUPATION and ACTIVITY _Z
  (the dataflow's constraint);
- OBS_STATUS on every observation (A, E now and then, P for 2024, M with no
  value rarely), a COMMENT_OBS on a few, UNIT_MEASURE / UNIT_MULT / DECIMALS on
  every series.

Every series goes through the project's validator (DSD, codelists, dataflow
constraint, the provider's REF_AREA) before it is written, each country by its
own provider. A series is kept when a hash of its key falls under a fraction
chosen for N, so a small store and a large one both cover every dimension;
the last series is cut so the store holds exactly N observations.

A SQLite store is built as ``<name>.partial`` and renamed when complete, so an
interrupted build is never taken for a finished one. A PostgreSQL store lives
in the schema ``bench_serve_<N>`` and is kept; it is rebuilt when it does not
hold exactly N observations.
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from itertools import islice, product
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.catalog import load_catalog  # noqa: E402
from service.model.data import MERGE, DataSet, Observation, Series  # noqa: E402
from service.model.query import DataQuery  # noqa: E402
from service.model.report import Report  # noqa: E402
from service.model.validate import validate_series  # noqa: E402
from service.store import SubmissionInfo, open_store  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
FLOW = "CAMIG:DF_MIGR_FLOW(1.0)"
FLOW_ID = "DF_MIGR_FLOW"
YEARS = list(range(1990, 2025))

REGIONS = {
    "KZ": ["KZ", "KZ-10", "KZ-11", "KZ-15", "KZ-19", "KZ-23", "KZ-27", "KZ-31", "KZ-33", "KZ-35", "KZ-39",
           "KZ-43", "KZ-47", "KZ-55", "KZ-59", "KZ-61", "KZ-62", "KZ-63", "KZ-71", "KZ-75", "KZ-79", "KZ-YUZ"],
    "KG": ["KG", "KG-B", "KG-C", "KG-GB", "KG-GO", "KG-J", "KG-N", "KG-O", "KG-T", "KG-Y"],
    "TJ": ["TJ", "TJ-DU", "TJ-GB", "TJ-KT", "TJ-RA", "TJ-SU"],
}
PROVIDERS = {"KZ": "KZ_BNS", "KG": "KG_NSC", "TJ": "TJ_STAT"}
#: First and last year of units that did not exist over the whole period.
AREA_YEARS = {"KZ-10": (2022, 2024), "KZ-33": (2022, 2024), "KZ-62": (2022, 2024), "KZ-61": (2018, 2024),
              "KZ-79": (2018, 2024), "KZ-YUZ": (1990, 2017)}
INDICATORS = ["IMM", "EMI", "NETM"]
DEFINITIONS = [("NAT_PERM", "ADM_POPREG"), ("UN_LT", "EST")]
PARTNERS = ["_T", "172", "XCIS", "RU", "UZ", "KZ", "KG", "TJ", "BY", "UA", "AM", "AZ", "GE", "MD", "TM",
            "CN", "DE", "US", "TR", "KR", "IL", "PL", "LT", "LV", "EE", "IN", "PK", "AF", "IR", "MN",
            "GB", "FR", "IT", "ES", "CA", "AE", "JP", "CZ", "FI", "SE"]
SEXES = ["_T", "F", "M"]
AGES = ["_T", "Y_LT5", "Y5T9", "Y10T14", "Y15T19", "Y20T24", "Y25T29", "Y30T34", "Y35T39", "Y40T44",
        "Y45T49", "Y50T54", "Y55T59", "Y60T64", "Y65T69", "Y70T74", "Y75T79", "Y80T84", "Y_GE85"]
URBANISATION = ["_T", "URB", "RUR"]
SERIES_ATTRIBUTES = {"UNIT_MEASURE": "PS", "UNIT_MULT": "0", "DECIMALS": "0"}
BATCH_OBSERVATIONS = 250_000


def _years(area: str) -> list[str]:
    first, last = AREA_YEARS.get(area, (1990, 2024))
    return [str(y) for y in YEARS if first <= y <= last]


_YEARS_OF = {area: _years(area) for areas in REGIONS.values() for area in areas}


def _keys(country: str) -> Iterator[tuple[str, ...]]:
    """Every key of one country in DSD order (FREQ ... URBANISATION), the areas varying slowest."""
    for area, indicator, (definition, source), partner, sex, age, urban in product(
            REGIONS[country], INDICATORS, DEFINITIONS, PARTNERS, SEXES, AGES, URBANISATION):
        if partner == country:
            continue
        yield ("A", area, indicator, definition, source, partner, "_T", "_T", sex, age, "_T", "_Z", "_Z", "_T",
               "_T", urban)


def _observations_in_space() -> int:
    per_area = len(INDICATORS) * len(DEFINITIONS) * len(SEXES) * len(AGES) * len(URBANISATION)
    partners = {c: len([p for p in PARTNERS if p != c]) for c in REGIONS}
    return sum(len(_YEARS_OF[area]) * per_area * partners[c] for c, areas in REGIONS.items() for area in areas)


def _hash(key: tuple[str, ...]) -> int:
    return zlib.crc32(".".join(key).encode())


def _observations(key: tuple[str, ...], years: list[str]) -> list[Observation]:
    seed = _hash(key)
    base = 20 + seed % 4000
    net = key[2] == "NETM"
    out = []
    for i, year in enumerate(years):
        roll = (seed >> 3) + i * 7919
        value: float | None = float(base + (roll % 97) - 48 if not net else (base % 800) - 400 + roll % 61)
        attributes = {"OBS_STATUS": "A"}
        if year == "2024":
            attributes = {"OBS_STATUS": "P"}
        elif roll % 211 == 0:
            value, attributes = None, {"OBS_STATUS": "M"}
        elif roll % 37 == 0:
            attributes = {"OBS_STATUS": "E"}
        if roll % 997 == 0:
            attributes = {**attributes, "COMMENT_OBS": "Revised after the 2021 census; see the national note"}
        out.append(Observation(year, value, attributes))
    return out


def generate(rows: int) -> Iterator[tuple[str, Series]]:
    """(country, series) until exactly ``rows`` observations; countries take turns."""
    keep = min(1.0, rows * 1.05 / _observations_in_space())
    threshold = int(keep * 0xFFFFFFFF)
    sources = {c: (k for k in _keys(c) if _hash(k) <= threshold) for c in REGIONS}
    made = 0
    while sources:
        for country in list(sources):
            key = next(sources[country], None)
            if key is None:
                del sources[country]
                continue
            observations = _observations(key, _YEARS_OF[key[1]])[:rows - made]
            made += len(observations)
            yield country, Series(key, observations, SERIES_ATTRIBUTES)
            if made >= rows:
                return
    if made < rows:
        raise SystemExit(f"the key space holds only {made:,} observations, fewer than {rows:,}")


def _validated(catalog, country: str, items: list[Series]) -> list[Series]:
    flow = catalog.dataflow(FLOW)
    dsd = catalog.structure_of(flow)
    codelists = {ref: cl for ref in dsd.codelist_refs() if (cl := catalog.codelist(ref))}
    report = Report()
    checked = list(validate_series(items, dsd, codelists, catalog.constraint_of(flow), report))
    allowed = catalog.allowed_ref_areas(PROVIDERS[country], flow)
    outside = {s.key[1] for s in items} - set(allowed)
    if not report.valid or outside:
        problems = "; ".join(f"{p.object_id}={p.value}: {p.message}" for p in islice(report.errors(), 5))
        raise SystemExit(f"generated data are not valid against the catalog: {problems} {sorted(outside)}")
    return checked


def build(url: str, rows: int, say=print) -> None:
    """Write ``rows`` generated observations into the (empty) store at ``url``."""
    catalog = load_catalog()
    store = open_store(url)
    started = time.perf_counter()
    stream = generate(rows)
    written = 0
    try:
        while True:
            batch = list(islice(stream, BATCH_OBSERVATIONS // 30))
            if not batch:
                break
            by_country: dict[str, list[Series]] = {}
            for country, one in batch:
                by_country.setdefault(country, []).append(one)
            for country, items in by_country.items():
                store.write([DataSet(FLOW, _validated(catalog, country, items), MERGE)],
                            provider=PROVIDERS[country],
                            submission=SubmissionInfo(content_type="application/vnd.sdmx.data+csv;version=2.0.0",
                                                      body=b"generated by bench/store_gen.py"))
                written += sum(len(s.observations) for s in items)
            say(f"  {written:>10,} observations written ({time.perf_counter() - started:.0f} s)")
    finally:
        store.close()


def held(url: str) -> int:
    store = open_store(url)
    try:
        return store.count(DataQuery(flow=FLOW))
    finally:
        store.close()


def sqlite_path(rows: int) -> Path:
    return OUT / f"serve-store-{rows}.db"


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def ensure_store(rows: int, database: str | None = None, say=print) -> str:
    """The URL of a store holding exactly ``rows`` generated observations, built when missing."""
    if database and database.startswith("postgresql"):
        return _ensure_postgres(database, rows, say)
    path = Path(database[len("sqlite:///"):]) if database else sqlite_path(rows)
    url = f"sqlite:///{path}"
    if path.exists():
        found = held(url)
        if found == rows:
            return url
        say(f"{path} holds {found:,} observations, not {rows:,}: building it again")
        _remove(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    _remove(partial)
    say(f"building a store of {rows:,} observations in {path} (kept for later runs)")
    build(f"sqlite:///{partial}", rows, say)
    for suffix in ("-wal", "-shm"):  # normally gone once the last connection closed
        if Path(f"{partial}{suffix}").exists():
            Path(f"{partial}{suffix}").rename(f"{path}{suffix}")
    partial.rename(path)
    return url


def _ensure_postgres(database: str, rows: int, say) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"bench_serve_{rows}"
    url = make_url(database).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)
    admin = create_engine(database, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :s"),
                                  {"s": schema}).first()
        if exists:
            found = held(url)
            if found == rows:
                return url
            say(f"schema {schema} holds {found:,} observations, not {rows:,}: building it again")
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        admin.dispose()
    say(f"building a store of {rows:,} observations in PostgreSQL schema {schema} (kept for later runs)")
    build(url, rows, say)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database", help="a postgresql+psycopg:// URL, or sqlite:///FILE (default: bench/out/)")
    args = parser.parse_args()
    print(ensure_store(args.rows, args.database, say=lambda m: print(m, flush=True)))


if __name__ == "__main__":
    main()
