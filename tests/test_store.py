"""The store on SQLite, and on PostgreSQL when MIGSTAT_TEST_POSTGRES_URL is set (CI sets it)."""

from __future__ import annotations

import os
import threading
import time
import tracemalloc
import uuid
from datetime import datetime, timedelta, timezone
from itertools import count as counter

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from service.model.data import DELETE, MERGE, REPLACE, DataSet, Observation, Series
from service.model.period import parse_end_period, parse_start_period
from service.model.query import DATA_ONLY, NO_DATA, SERIES_KEYS_ONLY, DataQuery
from service.store import (DELETED_ATTRIBUTES, DELETIONS, UPDATES, Store, StoreConflict, StoreError,
                           SubmissionInfo, open_store, upgrade)
from service.store.engine import create_store_engine
from service.store.migrate import LATEST, current_version
from service.store.tables import metadata

FLOW = "OSCE:DF_MIGR(1.0)"
OTHER_FLOW = "OSCE:DF_STOCK(1.0)"
DIMENSIONS = ("FREQ", "REF_AREA", "FLOW", "SEX")
POSTGRES_URL = os.environ.get("MIGSTAT_TEST_POSTGRES_URL")

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not POSTGRES_URL, reason="set MIGSTAT_TEST_POSTGRES_URL to test PostgreSQL"))]


# -- fixtures -----------------------------------------------------------------------------

@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A database nobody else uses: a temporary SQLite file or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    schema = f"test_store_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def store(database_url):
    with open_store(database_url) as opened:
        yield opened


def obs(period: str, value: float | None, **attributes: str) -> Observation:
    return Observation(period, value, attributes)


def series(key: str, *observations: Observation, **attributes: str) -> Series:
    return Series(tuple(key.split(".")), list(observations), attributes)


def dataset(*items: Series, action: str = MERGE, flow: str = FLOW) -> DataSet:
    return DataSet(flow, items, action)


_bodies = counter()


def write(store: Store, *datasets: DataSet, provider: str = "KZ", **info):
    info.setdefault("content_type", "application/vnd.sdmx.data+csv;version=2.0.0")
    info.setdefault("body", f"submission {next(_bodies)}".encode())
    return store.write(datasets, provider=provider, submission=SubmissionInfo(**info))


def query(**fields) -> DataQuery:
    fields.setdefault("flow", FLOW)
    key = fields.pop("key", None)
    if isinstance(key, str):  # "A.KZ+KG.." as in a REST path
        fields["key"] = tuple(tuple(part.split("+")) if part else None for part in key.split("."))
    return DataQuery(**fields)


def answer(store: Store, q: DataQuery | None = None, **options) -> dict:
    """{series key: {period: value or (value, attributes)}} in the order the store gave."""
    found = {}
    with store.query(q or query(), **options) as cursor:
        for s in cursor:
            found[".".join(s.key)] = {
                o.time_period: (o.value, dict(o.attributes)) if o.attributes else o.value
                for o in s.observations}
    return found


def sample(store: Store, **info):
    return write(store, dataset(
        series("A.KZ.IMM.F", obs("2019", 10), obs("2018", 9, OBS_STATUS="E"), obs("2020", 11), UNIT="PS"),
        series("A.KZ.EMI.F", obs("2019", 20), obs("2020", 21)),
        series("A.KG.IMM.F", obs("2019", 30), obs("2020", None, OBS_STATUS="M")),
        series("Q.KZ.IMM.F", obs("2019-Q1", 1), obs("2019-Q2", 2), obs("2019-Q3", 3)),
    ), **info)


# -- writing and reading back ---------------------------------------------------------------

def test_round_trip_keeps_values_attributes_and_order(store):
    summary = sample(store)
    assert (summary.added, summary.replaced, summary.deleted) == (10, 0, 0)
    assert summary.datasets[0].series == 4
    with store.query(query()) as cursor:
        found = list(cursor)
    assert [".".join(s.key) for s in found] == ["A.KG.IMM.F", "A.KZ.EMI.F", "A.KZ.IMM.F", "Q.KZ.IMM.F"]
    imm = found[2]
    assert dict(imm.attributes) == {"UNIT": "PS"}
    assert [o.time_period for o in imm.observations] == ["2018", "2019", "2020"]
    assert imm.observations[0] == Observation("2018", 9.0, {"OBS_STATUS": "E"})
    assert found[0].observations[1] == Observation("2020", None, {"OBS_STATUS": "M"})


def test_details(store):
    sample(store)
    q = query(key="A.KZ.IMM.F")
    with store.query(query(key="A.KZ..", detail=SERIES_KEYS_ONLY)) as cursor:
        keys = [(s.key, s.observations, dict(s.attributes)) for s in cursor]
    assert keys == [(("A", "KZ", "EMI", "F"), (), {}), (("A", "KZ", "IMM", "F"), (), {})]
    with store.query(DataQuery(**{**q.__dict__, "detail": NO_DATA})) as cursor:
        assert [(dict(s.attributes), len(s.observations)) for s in cursor] == [({"UNIT": "PS"}, 0)]
    with store.query(DataQuery(**{**q.__dict__, "detail": DATA_ONLY})) as cursor:
        (only,) = list(cursor)
    assert dict(only.attributes) == {} and all(not o.attributes for o in only.observations)


def test_key_filters_with_or_lists_wildcards_and_providers(store):
    sample(store)
    write(store, dataset(series("A.TJ.IMM.F", obs("2019", 40))), provider="TJ")
    assert list(answer(store, query(key="A.KZ+KG.IMM."))) == ["A.KG.IMM.F", "A.KZ.IMM.F"]
    assert list(answer(store, query(key=".KZ..F"))) == ["A.KZ.EMI.F", "A.KZ.IMM.F", "Q.KZ.IMM.F"]
    assert list(answer(store, query(key="A.XX.IMM.F"))) == []
    assert list(answer(store, query(key="A.TJ+KZ+XX.IMM."))) == ["A.KZ.IMM.F", "A.TJ.IMM.F"]
    assert list(answer(store, query(providers=("TJ",)))) == ["A.TJ.IMM.F"]
    assert answer(store, query(flow=OTHER_FLOW)) == {}


def test_period_filters_select_overlapping_periods(store):
    sample(store)
    start, end = parse_start_period("2019-Q2"), parse_end_period("2019-Q2")
    found = answer(store, query(start=start, end=end))
    assert found["A.KZ.EMI.F"] == {"2019": 20}  # the year overlaps its second quarter
    assert found["Q.KZ.IMM.F"] == {"2019-Q2": 2}
    assert answer(store, query(key="A.KZ.IMM.F", start=parse_start_period("2020"))) == {"A.KZ.IMM.F": {"2020": 11}}
    assert answer(store, query(key="A.KZ.IMM.F", end=parse_end_period("2018"))) == {
        "A.KZ.IMM.F": {"2018": (9, {"OBS_STATUS": "E"})}}
    assert answer(store, query(start=parse_start_period("2030"))) == {}


def test_first_and_last_n_observations_per_series(store):
    sample(store)
    assert answer(store, query(key="A.KZ..", first_n=1)) == {
        "A.KZ.EMI.F": {"2019": 20}, "A.KZ.IMM.F": {"2018": (9, {"OBS_STATUS": "E"})}}
    assert answer(store, query(key="A.KZ..", last_n=1)) == {
        "A.KZ.EMI.F": {"2020": 21}, "A.KZ.IMM.F": {"2020": 11}}
    assert list(answer(store, query(key="Q...", first_n=1, last_n=1))["Q.KZ.IMM.F"]) == ["2019-Q1", "2019-Q3"]
    assert store.count(query(key="A.KZ..", last_n=2)) == 4


def test_merge_updates_values_and_merges_attributes(store):
    sample(store)
    summary = write(store, dataset(
        series("A.KZ.IMM.F", obs("2018", 9, CONF_STATUS="F"), obs("2019", 10), obs("2021", 12), UNIT_MULT="0"),
        series("A.KG.IMM.F", obs("2019", 31))))
    part = summary.datasets[0]
    assert (part.added, part.replaced, part.unchanged, part.deleted) == (1, 2, 1, 0)
    found = answer(store, query(key=".KZ+KG.IMM."))
    assert found["A.KZ.IMM.F"]["2018"] == (9, {"OBS_STATUS": "E", "CONF_STATUS": "F"})
    assert found["A.KZ.IMM.F"]["2021"] == 12
    assert found["A.KG.IMM.F"]["2019"] == 31
    with store.query(query(key="A.KZ.IMM.F", detail=NO_DATA)) as cursor:
        assert dict(next(iter(cursor)).attributes) == {"UNIT": "PS", "UNIT_MULT": "0"}


def test_empty_attribute_values_are_omitted_values(store):
    sample(store)
    write(store, dataset(series("A.KZ.IMM.F", obs("2018", 9, OBS_STATUS=""), UNIT="")))
    assert answer(store, query(key="A.KZ.IMM.F"))["A.KZ.IMM.F"]["2018"] == (9, {"OBS_STATUS": "E"})
    with store.query(query(key="A.KZ.IMM.F", detail=NO_DATA)) as cursor:
        assert dict(next(iter(cursor)).attributes) == {"UNIT": "PS"}


def test_replace_replaces_given_observations_wholesale(store):
    sample(store)
    summary = write(store, dataset(series("A.KZ.IMM.F", obs("2018", 8), obs("2022", 13), UNIT_MULT="3"),
                                   action=REPLACE))
    assert (summary.added, summary.replaced, summary.deleted) == (1, 1, 0)
    found = answer(store, query(key="A.KZ.IMM.F"))["A.KZ.IMM.F"]
    assert found == {"2018": 8, "2019": 10, "2020": 11, "2022": 13}  # OBS_STATUS went with the old 2018
    with store.query(query(key="A.KZ.IMM.F", detail=NO_DATA)) as cursor:
        assert dict(next(iter(cursor)).attributes) == {"UNIT": "PS", "UNIT_MULT": "3"}


def test_delete_at_the_level_of_detail_given(store):
    sample(store)
    summary = write(store, dataset(
        series("A.KZ.EMI.F"),  # the whole series
        series("A.KZ.IMM.F", obs("2019", 0), obs("2018", None, OBS_STATUS="E"), UNIT="PS"),
        series("A.KG.IMM.F", obs("1999", 1), obs("2020", None, OBS_STATUS="")),  # "": omitted
        series("A.XX.IMM.F"),  # does not exist: not an error
        action=DELETE))
    assert (summary.deleted, summary.replaced) == (4, 1)
    found = answer(store)
    assert "A.KZ.EMI.F" not in found
    assert found["A.KZ.IMM.F"] == {"2018": 9, "2020": 11}
    assert found["A.KG.IMM.F"] == {"2019": 30}
    with store.query(query(key="A.KZ.IMM.F", detail=NO_DATA)) as cursor:
        assert dict(next(iter(cursor)).attributes) == {}


def test_bulk_delete_by_partial_key_and_empty_dataset(store):
    sample(store)
    write(store, dataset(series("A.TJ.IMM.F", obs("2019", 40))), provider="TJ")
    summary = write(store, dataset(Series(("Q", "", "", ""), ()), action=DELETE))
    assert summary.deleted == 3
    summary = write(store, dataset(Series(("A", None, "IMM", None), [obs("2019", None)]), action=DELETE))
    assert summary.deleted == 2  # 2019 of A.KZ.IMM.F and A.KG.IMM.F
    # An empty Delete dataset clears the flow, but only of the writer's own series.
    summary = write(store, dataset(action=DELETE))
    assert summary.deleted == 5
    assert answer(store) == {"A.TJ.IMM.F": {"2019": 40}}


def test_replace_a_whole_series_by_delete_then_merge_in_one_message(store):
    sample(store)
    summary = write(store, dataset(series("A.KZ.IMM.F"), action=DELETE),
                    dataset(series("A.KZ.IMM.F", obs("2021", 1))))
    assert [(d.action, d.deleted, d.added) for d in summary.datasets] == [("Delete", 3, 0), ("Merge", 0, 1)]
    assert answer(store, query(key="A.KZ.IMM.F")) == {"A.KZ.IMM.F": {"2021": 1}}


def test_updated_after_returns_changes_and_deletions(store):
    sample(store)
    time.sleep(0.002)
    between = datetime.now(timezone.utc)
    write(store, dataset(series("A.KZ.IMM.F", obs("2019", 100))))
    write(store, dataset(series("A.KZ.EMI.F", obs("2020", 0)), series("Q.KZ.IMM.F"), action=DELETE))
    found = answer(store, query(updated_after=between))
    assert found == {
        "A.KZ.EMI.F": {"2020": (None, dict(DELETED_ATTRIBUTES))},
        "A.KZ.IMM.F": {"2019": 100},
        "Q.KZ.IMM.F": {p: (None, {"__action__": "D"}) for p in ("2019-Q1", "2019-Q2", "2019-Q3")},
    }
    assert list(answer(store, query(updated_after=between), changes=UPDATES)) == ["A.KZ.IMM.F"]
    assert list(answer(store, query(updated_after=between), changes=DELETIONS)) == ["A.KZ.EMI.F", "Q.KZ.IMM.F"]
    assert store.count(query(updated_after=between)) == 5
    # Deleted, then written again: an update, not a deletion.
    write(store, dataset(series("A.KZ.EMI.F", obs("2020", 5))))
    assert answer(store, query(key="A.KZ.EMI.F", updated_after=between)) == {"A.KZ.EMI.F": {"2020": 5}}
    assert answer(store, query(updated_after=datetime.now(timezone.utc))) == {}


def test_as_of_reconstructs_an_earlier_state(store):
    first = sample(store)
    time.sleep(0.002)
    write(store, dataset(series("A.KZ.IMM.F", obs("2019", 100, OBS_STATUS="P"), UNIT="XX")))
    write(store, dataset(series("A.KZ.EMI.F"), action=DELETE))
    before = answer(store, query(as_of=first.received_at))
    assert before["A.KZ.IMM.F"]["2019"] == 10
    assert before["A.KZ.EMI.F"] == {"2019": 20, "2020": 21}
    with store.query(query(key="A.KZ.IMM.F", as_of=first.received_at, detail=NO_DATA)) as cursor:
        assert dict(next(iter(cursor)).attributes) == {"UNIT": "PS"}
    assert answer(store, query(as_of=first.received_at - timedelta(seconds=1))) == {}
    now = answer(store, query(as_of=datetime.now(timezone.utc)))
    assert now == answer(store) and now["A.KZ.IMM.F"]["2019"] == (100, {"OBS_STATUS": "P"})


def test_all_or_nothing(store):
    sample(store)
    before = answer(store)
    bad = dataset(series("A.KZ.IMM.F", obs("2019-13", 1)))
    with pytest.raises(StoreError, match=r"A\.KZ\.IMM\.F: '2019-13'"):
        write(store, dataset(series("A.TJ.IMM.F", obs("2019", 1)), series("A.KZ.IMM.F", obs("2019", 0))), bad)
    assert answer(store) == before

    def failing_parser():
        yield dataset(series("A.TJ.IMM.F", obs("2019", 1)))
        raise ValueError("truncated document")

    with pytest.raises(ValueError, match="truncated"):
        store.write(failing_parser(), provider="KZ", submission=SubmissionInfo(body=b"x"))
    assert answer(store) == before
    assert store.submission(2) is None  # no audit row for what was not written


def test_readers_never_see_half_a_write(store):
    sample(store)
    seen = []

    def datasets():
        yield dataset(series("A.TJ.IMM.F", *[obs(str(y), y) for y in range(1990, 2020)]))
        seen.append(store.count(query()))  # another connection, mid-write
        yield dataset(series("A.KZ.IMM.F"), action=DELETE)
        seen.append(store.count(query()))

    store.write(datasets(), provider="TJ", submission=SubmissionInfo(body=b"x"))
    assert seen == [10, 10]
    assert store.count(query()) == 10 + 30 - 3


def test_submissions_keep_the_original_bytes(store):
    body = b"STRUCTURE,STRUCTURE_ID,ACTION\n" * 1000
    summary = sample(store, body=body, content_type="text/csv", report={"warnings": 1})
    record = store.submission(summary.submission_id)
    assert record.body == body and record.body_size == len(body)
    assert len(record.compressed_body) < len(body) / 10
    assert record.status == "accepted" and record.provider == "KZ" and record.content_type == "text/csv"
    assert record.summary["added"] == 10 and record.summary["datasets"][0]["series"] == 4
    assert record.report == {"warnings": 1}
    assert len(record.checksum) == 64
    rejected = store.record_rejected(provider="KG", submission=SubmissionInfo(body=b"bad"),
                                     report={"errors": [{"code": "unknown-code"}]})
    record = store.submission(rejected)
    assert (record.status, record.body, record.report["errors"][0]["code"]) == ("rejected", b"bad", "unknown-code")


def test_embargo_hides_a_submission_from_everyone_but_its_provider(store):
    sample(store)
    release = datetime.now(timezone.utc) + timedelta(hours=1)
    write(store, dataset(series("A.KZ.IMM.F", obs("2019", 99), obs("2030", 1)),
                         series("A.KZ.EMI.F", obs("2019", 0)), action=MERGE),
          dataset(series("A.KZ.EMI.F", obs("2020", 0)), action=DELETE), release_at=release)
    public = answer(store)
    assert public["A.KZ.IMM.F"] == {"2018": (9, {"OBS_STATUS": "E"}), "2019": 10, "2020": 11}
    assert public["A.KZ.EMI.F"] == {"2019": 20, "2020": 21}
    assert store.count(query()) == 10
    assert store.available(query(), DIMENSIONS).obs_count == 10
    mine = answer(store, query(viewer="KZ"))
    assert mine["A.KZ.IMM.F"]["2019"] == 99 and mine["A.KZ.IMM.F"]["2030"] == 1
    assert mine["A.KZ.EMI.F"] == {"2019": 0}
    assert answer(store, query(viewer="KG")) == public
    # A later public write over an embargoed observation is public.
    write(store, dataset(series("A.KZ.IMM.F", obs("2030", 2))))
    assert answer(store)["A.KZ.IMM.F"]["2030"] == 2


def test_an_embargo_lifts_at_its_release_time(store):
    sample(store)
    released = datetime.now(timezone.utc) + timedelta(seconds=1)
    write(store, dataset(series("A.KZ.IMM.F", obs("2019", 99))), release_at=released)
    assert answer(store, query(key="A.KZ.IMM.F"))["A.KZ.IMM.F"]["2019"] == 10
    time.sleep(max(0.0, (released - datetime.now(timezone.utc)).total_seconds()) + 0.05)
    assert answer(store, query(key="A.KZ.IMM.F"))["A.KZ.IMM.F"]["2019"] == 99
    assert store.last_modified() >= released


def test_an_embargo_does_not_undo_later_public_changes(store):
    sample(store)
    release = datetime.now(timezone.utc) + timedelta(hours=1)
    write(store, dataset(series("A.KZ.IMM.F", obs("2019", 99), obs("2020", 98))), release_at=release)
    write(store, dataset(series("A.KZ.IMM.F", obs("2019", 0)), action=DELETE))  # public, after the embargoed one
    assert answer(store, query(key="A.KZ.IMM.F")) == {
        "A.KZ.IMM.F": {"2018": (9, {"OBS_STATUS": "E"}), "2020": 11}}
    assert answer(store, query(key="A.KZ.IMM.F", viewer="KZ")) == {
        "A.KZ.IMM.F": {"2018": (9, {"OBS_STATUS": "E"}), "2020": 98}}


def test_embargo_with_as_of_and_updated_after(store):
    first = sample(store)
    time.sleep(0.002)
    between = datetime.now(timezone.utc)
    release = datetime.now(timezone.utc) + timedelta(hours=1)
    write(store, dataset(series("A.KZ.IMM.F", obs("2019", 99))),
          dataset(series("A.KZ.EMI.F"), action=DELETE), release_at=release)
    # The public sees no change since `between`, neither as updates nor as deletions.
    assert answer(store, query(updated_after=between)) == {}
    assert answer(store, query(updated_after=between, viewer="KZ")) == {
        "A.KZ.EMI.F": {"2019": (None, dict(DELETED_ATTRIBUTES)), "2020": (None, dict(DELETED_ATTRIBUTES))},
        "A.KZ.IMM.F": {"2019": 99}}
    later = datetime.now(timezone.utc)
    assert answer(store, query(as_of=later)) == answer(store, query(as_of=first.received_at)) == answer(store)
    assert answer(store, query(as_of=later, viewer="KZ")) == answer(store, query(viewer="KZ"))


def test_large_writes_take_the_bulk_paths(store):
    """Enough rows for COPY and staged updates on PostgreSQL; the same answers as small ones."""
    years = [str(y) for y in range(1900, 2000)]
    keys = [f"A.C{i}.IMM.F" for i in range(10)]
    assert write(store, dataset(*[series(k, *[obs(y, 1) for y in years]) for k in keys])).added == 1000
    changed = write(store, dataset(*[series(k, *[obs(y, 2, OBS_STATUS="E") for y in years]) for k in keys],
                                   action=REPLACE))
    assert (changed.replaced, changed.unchanged) == (1000, 0)
    stripped = write(store, dataset(*[series(k, *[obs(y, None, OBS_STATUS="x") for y in years]) for k in keys],
                                    action=DELETE))
    assert stripped.replaced == 1000
    removed = write(store, dataset(*[series(k, *[obs(y, 0) for y in years[:50]]) for k in keys], action=DELETE))
    assert removed.deleted == 500
    found = answer(store)
    assert len(found) == 10 and all(v == {y: 2 for y in years[50:]} for v in found.values())
    assert store.count(query(as_of=changed.received_at)) == 1000
    with store.query(query(key="A.C3.IMM.F", as_of=changed.received_at)) as cursor:
        (s,) = list(cursor)
    assert {o.time_period: (o.value, dict(o.attributes)) for o in s.observations} == {
        y: (2, {"OBS_STATUS": "E"}) for y in years}
    assert store.count(query(updated_after=stripped.received_at, key="A.C3..")) == 50


def test_versions_for_include_history(store):
    first = sample(store)
    second = write(store, dataset(series("A.KZ.IMM.F", obs("2019", 100, OBS_STATUS="P"))))
    third = write(store, dataset(series("A.KZ.IMM.F", obs("2019", 0)), action=DELETE))
    with store.versions(query(key="A.KZ.IMM.F", start=parse_start_period("2019"),
                              end=parse_end_period("2019"))) as cursor:
        found = [(v.value, dict(v.attributes), v.submission_id, v.valid_from, v.valid_to, v.ended_by)
                 for v in cursor]
    assert found == [
        (10, {}, first.submission_id, first.received_at, second.received_at, "U"),
        (100, {"OBS_STATUS": "P"}, second.submission_id, second.received_at, third.received_at, "D")]
    with store.versions(query(key="A.KZ.IMM.F", as_of=second.received_at)) as cursor:
        found = [(v.time_period, v.value, v.valid_to) for v in cursor]
    assert found == [("2018", 9, None), ("2019", 10, second.received_at), ("2019", 100, None), ("2020", 11, None)]
    with store.versions(query(updated_after=second.received_at)) as cursor:
        assert [(v.series_key, v.time_period, v.ended_by) for v in cursor] == [
            (("A", "KZ", "IMM", "F"), "2019", "D")]


def test_data_is_kept_under_full_flow_references(store):
    with pytest.raises(StoreError, match="AGENCY:ID"):
        write(store, dataset(series("A.KZ.IMM.F", obs("2019", 1)), flow="DF_MIGR"))


# -- counts, availability, last change -----------------------------------------------------

def test_availability_from_the_key_index(store):
    sample(store)
    found = store.available(query(key="A.KZ.."), DIMENSIONS)
    assert found.codes == {"FREQ": {"A"}, "REF_AREA": {"KZ"}, "FLOW": {"IMM", "EMI"}, "SEX": {"F"}}
    assert (found.series_count, found.obs_count) == (2, 5)
    assert (found.start, found.end) == (parse_start_period("2018"), parse_end_period("2020"))
    widened = store.available(query(key="A.KZ.."), DIMENSIONS, mode="available")
    assert widened.codes["REF_AREA"] == {"KZ", "KG"} and widened.codes["FREQ"] == {"A", "Q"}
    dated = store.available(query(start=parse_start_period("2020")), DIMENSIONS)
    assert dated.codes["FREQ"] == {"A"} and dated.obs_count == 3
    assert store.available(query(key="X..."), DIMENSIONS).codes["FREQ"] == frozenset()


def test_last_modified_moves_with_every_write(store):
    assert store.last_modified() is None
    first = sample(store)
    assert store.last_modified() == first.received_at == store.last_modified(FLOW)
    assert store.last_modified(OTHER_FLOW) is None
    second = write(store, dataset(series("A.KZ.IMM.F"), action=DELETE))
    assert store.last_modified(FLOW) == second.received_at > first.received_at


# -- schema -----------------------------------------------------------------------------------

def test_a_database_from_the_first_version_is_upgraded_with_its_data(database_url):
    engine = create_store_engine(database_url)
    assert upgrade(engine, target=1) == 1  # rows below are written as version 1 laid them out
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO submission (provider, received_at, status) VALUES ('KZ', 1000, 'accepted')"))
        conn.execute(text("INSERT INTO series (flow, series_key, provider, attributes, created_at, updated_at,"
                          " submission_id) VALUES (:f, 'A.KZ.IMM.F', 'KZ', '{\"UNIT\":\"PS\"}', 1000, 1000, 1)"),
                     {"f": FLOW})
        for position, code in enumerate(("A", "KZ", "IMM", "F")):
            conn.execute(text("INSERT INTO series_code VALUES (:f, :p, :c, 1)"), {"f": FLOW, "p": position, "c": code})
        conn.execute(text("INSERT INTO observation VALUES (1, '2019', :s, :e, 7.0, NULL, 1, 1000)"),
                     {"s": 1546300800000000, "e": 1577836800000000})
    engine.dispose()
    with open_store(database_url) as store:
        assert store.schema_version() == LATEST
        assert answer(store) == {"A.KZ.IMM.F": {"2019": 7.0}}
        assert store.available(query(), DIMENSIONS).obs_count == 1  # summaries backfilled
        with store.query(query(as_of=datetime(2000, 1, 1))) as cursor:
            (found,) = list(cursor)
        assert found.observations == [Observation("2019", 7.0)]
        assert dict(found.attributes) == {"UNIT": "PS"}  # series attribute history backfilled
        assert answer(store, query(as_of=datetime(1970, 1, 1))) == {}
        write(store, dataset(series("A.KZ.IMM.F", obs("2020", 8))))
        assert answer(store) == {"A.KZ.IMM.F": {"2019": 7.0, "2020": 8}}


def test_migrations_build_the_schema_the_code_declares(database_url):
    with open_store(database_url) as store:
        actual = inspect(store.engine)
        for table in metadata.sorted_tables:
            assert {c["name"] for c in actual.get_columns(table.name)} == {c.name for c in table.columns}, table.name
            declared = {tuple(i.columns.keys()) for i in table.indexes}
            assert declared <= {tuple(i["column_names"]) for i in actual.get_indexes(table.name)}, table.name
        with store.engine.connect() as conn:
            assert current_version(conn) == LATEST
    with open_store(database_url) as store:  # opening again changes nothing
        assert store.schema_version() == LATEST


def test_a_newer_database_is_refused(database_url):
    with open_store(database_url) as store:
        with store.engine.begin() as conn:
            conn.execute(text("INSERT INTO schema_version VALUES (:v, 'from the future', 0)"), {"v": LATEST + 1})
    with pytest.raises(StoreError, match="newer"):
        open_store(database_url)


# -- concurrency -------------------------------------------------------------------------------

def test_a_write_that_cannot_get_the_database_is_a_conflict(database_url):
    with open_store(database_url, busy_timeout=0.2) as store:
        sample(store)
        if store.dialect == "sqlite":
            blocker = store.engine.raw_connection()
            blocker.execute("BEGIN IMMEDIATE")
            try:
                with pytest.raises(StoreConflict):
                    write(store, dataset(series("A.KZ.IMM.F", obs("2019", 1))))
            finally:
                blocker.rollback()
                blocker.close()
            return
        # PostgreSQL: writers take turns; one still writing after the busy timeout makes the next a conflict.
        blocker = store.engine.connect()
        blocker.begin()
        blocker.execute(text("SELECT pg_advisory_xact_lock(hashtext(current_schema()))"))
        try:
            with pytest.raises(StoreConflict):
                write(store, dataset(series("A.KZ.IMM.F", obs("2019", 1))))
        finally:
            blocker.rollback()
            blocker.close()
        write(store, dataset(series("A.KZ.IMM.F", obs("2019", 1))))  # the turn is free again


def test_concurrent_writers_and_readers(database_url):
    with open_store(database_url) as store:
        errors, counts = [], []

        def writer(area: str):
            for year in range(2000, 2010):
                try:
                    write(store, dataset(*[series(f"A.{area}.{flow}.F", obs(str(year), year))
                                           for flow in ("IMM", "EMI")]), provider=area)
                except Exception as exc:  # noqa: BLE001
                    errors.append(exc)

        def reader():
            for _ in range(20):
                counts.append(store.count(query()))

        threads = [threading.Thread(target=writer, args=(a,)) for a in ("KZ", "KG", "TJ")]
        threads.append(threading.Thread(target=reader))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        assert all(c % 2 == 0 for c in counts)  # each write adds two observations at once
        assert store.count(query()) == 3 * 10 * 2


# -- scale ---------------------------------------------------------------------------------------

def test_queries_stream_in_bounded_memory(store):
    years = [str(y) for y in range(1900, 2000)]
    write(store, dataset(*[series(f"A.C{i:04d}.IMM.F", *[obs(y, i) for y in years]) for i in range(2000)]))
    tracemalloc.start()
    try:
        total, series_seen = 0, 0
        with store.query(query()) as cursor:
            baseline = tracemalloc.get_traced_memory()[0]
            for s in cursor:
                series_seen += 1
                total += len(s.observations)
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert (series_seen, total) == (2000, 200_000)
    # All 200,000 observations held at once would take tens of MB.
    assert peak < 8_000_000, f"streaming peaked at {peak / 1e6:.1f} MB"
