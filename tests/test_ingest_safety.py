"""Nothing half-written: a submission killed mid-write, and concurrent submissions with readers.

On SQLite (a temporary file) and on PostgreSQL when MIGSTAT_TEST_POSTGRES_URL
is set (CI sets it; each test gets its own schema).

- A process writing a large SDMX-CSV submission through ``submit`` is killed
  with SIGKILL while its write transaction holds rows; afterwards every table
  of the store holds exactly the rows it held before (same count, same
  digest), the store opens and takes the next submission.
- Three providers submit concurrently while readers count: every count a
  reader sees is made of whole submissions, and at the end every observation
  is there.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from itertools import product
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from service.catalog import PROJECT_ROOT, load_catalog
from service.model.query import DataQuery
from service.store import open_store
from service.store import write as store_write
from service.store.tables import metadata
from service.submissions import submit

POSTGRES_URL = os.environ.get("MIGSTAT_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not POSTGRES_URL, reason="set MIGSTAT_TEST_POSTGRES_URL to test PostgreSQL"))]

CSV2 = "application/vnd.sdmx.data+csv;version=2.0.0"
FLOW = "CAMIG:DF_MIGR_FLOW(1.0)"
AREAS = {"KZ_BNS": "KZ", "KG_NSC": "KG", "TJ_STAT": "TJ"}
#: Every table a submission writes to.
TABLES = ("submission", "series", "series_code", "observation", "observation_history", "series_history")

HEADER = ("STRUCTURE,STRUCTURE_ID,ACTION,FREQ,REF_AREA,INDICATOR,MIGR_DEF,DATA_SOURCE,COUNTERPART_AREA,"
          "CITIZENSHIP,BIRTH_PLACE,SEX,AGE,EDUCATION_LEV,OCCUPATION,ACTIVITY,MIGR_REASON,ETHNICITY,URBANISATION,"
          "TIME_PERIOD,OBS_VALUE,OBS_STATUS,UNIT_MEASURE,UNIT_MULT,COMMENT_OBS\n")
COUNTERPARTS = ("AF", "AM", "AZ", "BY", "CN", "DE", "GE", "IN", "IR", "KR", "LV", "MD", "MN", "PK", "PL", "RU",
                "TM", "TR", "UA", "US", "UZ")
SEXES = ("_T", "M", "F")
AGES = ("_T", "Y_LT5", "Y5T9", "Y10T14", "Y15T19", "Y20T24", "Y25T29", "Y30T34", "Y35T39", "Y40T44", "Y45T49",
        "Y50T54", "Y55T59", "Y60T64", "Y65T69", "Y70T74", "Y75T79", "Y80T84", "Y_GE85")
INDICATORS = ("IMM", "EMI", "NETM")
DEFINITIONS = ("NAT_PERM", "UN_LT", "NAT_TEMP")


def flow_csv(area: str, n: int, *, first_year: int = 1990, years: int = 30, value_offset: int = 0) -> bytes:
    """An SDMX-CSV 2.0 body of exactly ``n`` valid DF_MIGR_FLOW observations of REF_AREA ``area``.

    Series run over definition, indicator, counterpart country, sex and age, each with
    ``years`` annual observations from ``first_year``; the value of the i-th
    observation is ``i + value_offset``.
    """
    lines = [HEADER]
    i = 0
    for definition, indicator, counterpart, sex, age in product(DEFINITIONS, INDICATORS, COUNTERPARTS, SEXES, AGES):
        lead = (f"dataflow,{FLOW},I,A,{area},{indicator},{definition},ADM_POPREG,{counterpart},_T,_T,{sex},{age},"
                "_T,_Z,_Z,_T,_T,_T,")
        for year in range(first_year, first_year + years):
            if i == n:
                return "".join(lines).encode()
            lines.append(f"{lead}{year},{i + value_offset},A,PS,0,row {i}\n")
            i += 1
    if i == n:
        return "".join(lines).encode()
    raise ValueError(f"{n} observations need more series than the generator has")


# -- fixtures -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def catalog():
    return load_catalog(PROJECT_ROOT)


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A database nobody else uses: a temporary SQLite file or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    schema = f"test_ingest_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Per table: the number of rows and a digest of all of them, in a fixed order."""
    engine = create_engine(url)
    found = {}
    try:
        with engine.connect() as conn:
            for name in TABLES:
                table = metadata.tables[name]
                digest, rows = hashlib.sha256(), 0
                for row in conn.execute(select(table).order_by(*table.c)):
                    digest.update(repr(tuple(row)).encode())
                    rows += 1
                found[name] = (rows, digest.hexdigest())
    finally:
        engine.dispose()
    return found


def flow_count(store, area: str | None = None) -> int:
    key = [None] * 16
    if area is not None:
        key[1] = (area,)
    return store.count(DataQuery(FLOW, key=tuple(key)))


# -- killed in the middle of a write ------------------------------------------------------

#: The child: submit() of a file, with a hook on the observation inserts that
#: reports progress in a marker file once ``report_after`` rows are in the open
#: transaction, and that holds the write at ``hold_at`` rows so it can never
#: commit before the test kills it.
WRITER = r'''
import json, os, sys, time
from service.catalog import PROJECT_ROOT, load_catalog
from service.store import open_store
from service.store import write as store_write
from service.submissions import submit

url, body_path, marker, report_after, hold_at = sys.argv[1:6]
report_after, hold_at = int(report_after), int(hold_at)
inserted = 0
original = store_write.insert_rows

def watched(conn, table, columns, rows):
    global inserted
    original(conn, table, columns, rows)
    if table.name != "observation":
        return
    inserted += len(rows)
    if inserted >= report_after and not os.path.exists(marker):
        backend = (conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
                   if conn.dialect.name == "postgresql" else None)
        with open(marker + ".part", "w") as out:
            json.dump({"inserted": inserted, "backend": backend}, out)
        os.replace(marker + ".part", marker)
    while inserted >= hold_at:
        time.sleep(1)

store_write.insert_rows = watched
catalog = load_catalog(PROJECT_ROOT)
store = open_store(url)
with open(body_path, "rb") as body:
    data = body.read()
result = submit(catalog, store, data, "application/vnd.sdmx.data+csv;version=2.0.0", provider="KZ_BNS")
with open(marker + ".committed", "w") as out:
    out.write(result.describe())
'''

KILLED_SIZE = 300_000
BEFORE_SIZE = 3_000


def _write_under_way(url: str, progress: dict) -> None:
    """Evidence that the killed process holds an open write transaction with rows in it."""
    if url.startswith("sqlite"):
        probe = sqlite3.connect(make_url(url).database, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                probe.execute("BEGIN IMMEDIATE")
        finally:
            probe.close()
        return
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.connect() as conn:
            row = conn.execute(text("SELECT xact_start IS NOT NULL, backend_xid IS NOT NULL FROM pg_stat_activity "
                                    "WHERE pid = :pid"), {"pid": progress["backend"]}).one()
    finally:
        admin.dispose()
    assert row == (True, True), "the writer's backend has no open transaction that wrote"


def _backend_gone(pid: int, deadline: float) -> None:
    """A killed client leaves its server backend to roll back and exit: wait for that."""
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.connect() as conn:
            while conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                               {"pid": pid}).scalar():
                assert time.monotonic() < deadline, f"backend {pid} still there after its client was killed"
                time.sleep(0.05)
                conn.rollback()
    finally:
        admin.dispose()


def test_killed_submission_leaves_the_store_as_it_was(database_url, catalog, tmp_path):
    with open_store(database_url) as store:
        first = submit(catalog, store, flow_csv("KZ", BEFORE_SIZE), CSV2, provider="KZ_BNS")
        assert first.summary.added == BEFORE_SIZE
        submit(catalog, store, flow_csv("KG", 500), CSV2, provider="KG_NSC")
    before = fingerprint(database_url)
    assert before["observation"][0] == BEFORE_SIZE + 500

    # The large submission starts by changing the observations written above (updates and
    # history rows), then adds new ones.
    body = tmp_path / "large.csv"
    body.write_bytes(flow_csv("KZ", KILLED_SIZE, value_offset=1))
    marker = tmp_path / "progress.json"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    with (tmp_path / "writer.err").open("wb") as errors:
        child = subprocess.Popen([sys.executable, "-c", WRITER, database_url, str(body), str(marker), "100000",
                                  "250000"], cwd=PROJECT_ROOT, env=env, stdout=errors, stderr=errors)
        try:
            deadline = time.monotonic() + 120
            while not marker.exists():
                if child.poll() is not None:
                    pytest.fail(f"the writer ended before the kill: {(tmp_path / 'writer.err').read_text()}")
                assert time.monotonic() < deadline, "the writer never got under way"
                time.sleep(0.01)
            progress = json.loads(marker.read_text())
            _write_under_way(database_url, progress)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
    assert child.returncode == -signal.SIGKILL
    assert progress["inserted"] >= 100_000
    assert not (tmp_path / "progress.json.committed").exists()

    if progress["backend"] is not None:
        _backend_gone(progress["backend"], time.monotonic() + 60)
    if database_url.startswith("sqlite"):
        engine = create_engine(database_url)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        engine.dispose()
    assert fingerprint(database_url) == before

    with open_store(database_url) as store:
        assert flow_count(store) == BEFORE_SIZE + 500
        after = submit(catalog, store, flow_csv("TJ", 700), CSV2, provider="TJ_STAT")
        assert after.summary.added == 700
        assert flow_count(store) == BEFORE_SIZE + 500 + 700
        assert flow_count(store, "KZ") == BEFORE_SIZE
        with store.query(DataQuery(FLOW, key=(None, ("KZ",)) + (None,) * 14)) as found:
            values = sorted(o.value for s in found for o in s.observations)
        assert values == [float(v) for v in range(BEFORE_SIZE)]  # the old values, not the killed update


# -- concurrent providers and readers ----------------------------------------------------

#: Observations per submission, per provider (submitted in this order). Every state of the
#: store made of whole submissions has a count of its own modulo SMALL_CHUNK, so a count
#: that is a whole state plus some chunks of a submission is never a whole state.
SIZES = {"KZ_BNS": (3_307, 2_859, 2_279, 2_821), "KG_NSC": (1_748, 3_243, 2_973, 3_045),
         "TJ_STAT": (1_726, 1_988, 1_649, 1_966)}
#: Observations per write chunk in this test, so that every submission spans several chunks.
SMALL_CHUNK = 500
READERS = 3


def _prefix_sums(sizes: tuple[int, ...]) -> list[int]:
    sums = [0]
    for size in sizes:
        sums.append(sums[-1] + size)
    return sums


def test_concurrent_submissions_are_seen_whole(database_url, catalog, monkeypatch):
    monkeypatch.setattr(store_write, "CHUNK_OBSERVATIONS", SMALL_CHUNK)
    whole = {provider: _prefix_sums(sizes) for provider, sizes in SIZES.items()}
    totals = {a + b + c for a, b, c in product(*whole.values())}
    assert len({t % SMALL_CHUNK for t in totals}) == len(totals) == 5 ** 3
    bodies = {provider: [flow_csv(AREAS[provider], n, first_year=1700 + 40 * j, years=40)
                         for j, n in enumerate(sizes)] for provider, sizes in SIZES.items()}

    store = open_store(database_url)
    errors: list[str] = []
    seen: list[tuple[str, object]] = []
    writing = threading.Event()
    writing.set()
    reads = [0] * READERS
    progress = threading.Condition()

    def reads_done() -> int:
        with progress:
            return min(reads)

    def writer(provider: str) -> None:
        try:
            for body in bodies[provider]:
                result = submit(catalog, store, body, CSV2, provider=provider)
                assert result.summary.added == body.count(b"\n") - 1
                # Let every reader finish a read begun after this commit before the next one.
                target = reads_done() + 2
                with progress:
                    progress.wait_for(lambda: min(reads) >= target or errors, timeout=60)
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            errors.append(f"{provider}: {exc!r}")

    def reader(number: int) -> None:
        try:
            while writing.is_set():
                kind = number % READERS
                if kind == 0:
                    found = flow_count(store)
                    seen.append(("total", found))
                    if found not in totals:
                        errors.append(f"count {found} is not a sum of whole submissions")
                elif kind == 1:
                    for provider, area in AREAS.items():
                        found = flow_count(store, area)
                        seen.append((provider, found))
                        if found not in whole[provider]:
                            errors.append(f"{provider}: count {found} is not a sum of whole submissions")
                else:
                    by_area: dict[str, int] = dict.fromkeys(AREAS.values(), 0)
                    with store.query(DataQuery(FLOW)) as found:
                        for series in found:
                            by_area[series.key[1]] += len(series.observations)
                    seen.append(("query", tuple(by_area.values())))
                    for provider, area in AREAS.items():
                        if by_area[area] not in whole[provider]:
                            errors.append(f"query: {provider} has {by_area[area]} observations, not a sum of "
                                          "whole submissions")
                with progress:
                    reads[number] += 1
                    progress.notify_all()
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            errors.append(f"reader {number}: {exc!r}")
            with progress:
                progress.notify_all()

    readers = [threading.Thread(target=reader, args=(n,)) for n in range(READERS)]
    writers = [threading.Thread(target=writer, args=(p,)) for p in SIZES]
    try:
        for thread in readers + writers:
            thread.start()
        for thread in writers:
            thread.join(timeout=120)
        writing.clear()
        for thread in readers:
            thread.join(timeout=60)
        assert not errors, errors[:10]
        assert not any(t.is_alive() for t in readers + writers)

        assert flow_count(store) == max(totals)
        for provider, area in AREAS.items():
            assert flow_count(store, area) == whole[provider][-1]
        # Readers saw the store between submissions, not only empty and full.
        middle = {value for kind, value in seen if kind == "total"} - {0, max(totals)}
        assert middle, "no reader saw a state between the first and the last submission"
        fingerprinted = fingerprint(database_url)
        assert fingerprinted["submission"][0] == sum(len(s) for s in SIZES.values())
    finally:
        writing.clear()
        store.close()


# -- updatedAfter under concurrent writes --------------------------------------------------

def test_a_harvester_polling_updated_after_misses_nothing(database_url, catalog, monkeypatch, request):
    """A client that asks ``updatedAfter=<time of its last poll>`` gets every submission.

    A large submission is held in the middle of its write while a small one
    is sent. Where writes run side by side, the small one commits first and
    the harvester polls then; the large one commits afterwards and must be in
    the next poll. Where writes run one at a time, the small one waits.
    """
    store = open_store(database_url)
    held, release, small_done = threading.Event(), threading.Event(), threading.Event()
    original = store_write.insert_rows

    def holding(conn, table, columns, rows):
        original(conn, table, columns, rows)
        if table.name == "observation" and threading.current_thread().name == "large":
            held.set()
            release.wait(60)

    monkeypatch.setattr(store_write, "insert_rows", holding)
    outcome: dict = {}

    def send(name: str, area: str, provider: str, n: int) -> None:
        outcome[name] = submit(catalog, store, flow_csv(area, n), CSV2, provider=provider)
        if name == "small":
            small_done.set()

    large = threading.Thread(name="large", target=send, args=("large", "KZ", "KZ_BNS", 5_000))
    small = threading.Thread(name="small", target=send, args=("small", "KG", "KG_NSC", 100))
    poll = None
    try:
        large.start()
        assert held.wait(60), "the large submission never started writing"
        small.start()
        if small_done.wait(5):  # writes run side by side: the harvester polls between the two commits
            poll = datetime.now(timezone.utc)
            assert store.count(DataQuery(FLOW, updated_after=poll)) == 0
            assert flow_count(store) == 100
    finally:
        release.set()
        large.join(60)
        small.join(60)
        monkeypatch.setattr(store_write, "insert_rows", original)
    try:
        assert outcome["large"].summary.added == 5_000 and outcome["small"].summary.added == 100
        assert flow_count(store) == 5_100
        if poll is not None:
            assert store.count(DataQuery(FLOW, updated_after=poll)) == 5_000, "the next poll misses the large one"
    finally:
        store.close()
