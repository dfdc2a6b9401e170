"""What reads show of submissions over time: updatedAfter with deletions, includeHistory, asOf, embargo.

Writes go through the API (POST /v2/data with a provider's token); reads
through the SDMX-REST 1.5.0 data endpoint, checked against the official
schemas. SQLite always; PostgreSQL with MIGSTAT_TEST_POSTGRES_URL.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import orjson
import pytest
from lxml import etree

from service.catalog import PROJECT_ROOT
from service.conversion import convert_examples
from service.formats.schemas import validate_sdmx_json, validate_sdmx_ml
from service.model.query import DataQuery
from submit_support import (BACKENDS, CSV_10, CSV_20, GENERIC, JSON_20, SS_21, database, from_csv, from_generic,
                            make_api)
from test_submit_api import message, rows_of

KG = "kg/external_migration_by_country_2017_2018.xlsx"
FLOW = "CAMIG:DF_MIGR_FLOW(1.0)"
MESSAGE_NS = {"m": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"}


@pytest.fixture(scope="module")
def kg(catalog) -> tuple[list[str], list[dict]]:
    return rows_of(dict(convert_examples(catalog, PROJECT_ROOT))[KG])


@pytest.fixture(scope="module")
def dims(catalog) -> tuple[str, ...]:
    return catalog.structure_of(catalog.dataflow("DF_MIGR_FLOW")).dimension_ids


@pytest.fixture(params=BACKENDS)
def api(request, tmp_path, catalog):
    for url in database(request.param, tmp_path):
        yield make_api(url, catalog)


def instant(text: str) -> str:
    return quote(text, safe="")


def cell(row: dict, dims) -> tuple:
    return tuple(row[d] for d in dims), row["TIME_PERIOD"]


def datasets(body: bytes) -> list[dict]:
    return [dict(d.attrib) for d in etree.fromstring(body).iterfind("m:DataSet", MESSAGE_NS)]


def key_only(row: dict, dims) -> dict:
    return {c: row[c] for c in ("STRUCTURE", "STRUCTURE_ID", *dims, "TIME_PERIOD")}


def test_updated_after_gives_the_changes_then_the_deletions(api, kg, dims):
    header, rows = kg
    since = api.post(message(header, rows), "KG_NSC").json["receivedAt"]
    changed, removed = rows[0], rows[1]
    assert api.post(message(header, [dict(changed, OBS_VALUE="999")], action="M"), "KG_NSC").status_code == 200
    assert api.post(message(header, [key_only(removed, dims)], action="D"), "KG_NSC").json["deleted"] == 1
    path = f"/data/DF_MIGR_FLOW?updatedAfter={instant(since)}"

    generic = api.get(path, GENERIC)
    assert generic.status_code == 200 and validate_sdmx_ml(generic.data, "2.1") == []
    assert [d["action"] for d in datasets(generic.data)] == ["Replace", "Delete"]
    assert from_generic(generic.data, dims, "Replace") == {cell(changed, dims): 999.0}
    assert from_generic(generic.data, dims, "Delete") == {cell(removed, dims): None}
    assert b"<ObsValue" not in generic.data.split(b'action="Delete"')[1]  # a whole observation goes

    ss = api.get(path, SS_21)
    ss_sets = etree.fromstring(ss.data).findall("m:DataSet", MESSAGE_NS)
    ss_ns = "{http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/structurespecific}"
    assert [d.get(f"{ss_ns}action") for d in ss_sets] == ["Replace", "Delete"]
    assert all("xsi:type" in p or "abstract" in p for p in validate_sdmx_ml(ss.data, "2.1"))

    csv2 = api.get(path, CSV_20).data
    assert from_csv(csv2, dims, "R") == {cell(changed, dims): 999.0}
    assert from_csv(csv2, dims, "D") == {cell(removed, dims): None}
    deletion_line = next(line for line in csv2.decode().splitlines() if ",D," in line)
    assert deletion_line.endswith("," + removed["TIME_PERIOD"] + "," + "," * (len(header) - len(dims) - 4))

    json2 = api.get(path, JSON_20)
    assert validate_sdmx_json(json2.data, "data", "2.0.0") == []
    sets = orjson.loads(json2.data)["data"]["dataSets"]
    assert [d["action"] for d in sets] == ["Replace", "Delete"]
    assert [list(s["observations"].values()) for s in sets[1]["series"].values()] == [[[]]]

    refused = api.get(path, CSV_10)
    assert refused.status_code == 406 and "SDMX-CSV 2.0" in refused.data.decode()
    later = api.get(f"/data/DF_MIGR_FLOW?updatedAfter={instant(datetime.now(timezone.utc).isoformat())}", GENERIC)
    assert later.status_code == 404


def test_include_history_gives_a_data_set_per_write(api, kg, dims):
    header, rows = kg
    first = api.post(message(header, rows), "KG_NSC").json["receivedAt"]
    second = api.post(message(header, [dict(rows[0], OBS_VALUE="999")], action="M"), "KG_NSC").json["receivedAt"]
    third = api.post(message(header, [key_only(rows[1], dims)], action="D"), "KG_NSC").json["receivedAt"]

    history = api.get("/data/DF_MIGR_FLOW?includeHistory=true", GENERIC)
    assert history.status_code == 200 and validate_sdmx_ml(history.data, "2.1") == []
    found = datasets(history.data)
    assert [(d["action"], d.get("validFromDate"), d.get("validToDate")) for d in found] == [
        ("Replace", first, None), ("Replace", second, None), ("Delete", None, third)]
    sets = etree.fromstring(history.data).findall("m:DataSet", MESSAGE_NS)
    assert len(sets[0].findall("{*}Series/{*}Obs")) == len(rows)
    assert from_generic(history.data, dims, "Delete") == {cell(rows[1], dims): None}

    as_json = api.get("/data/DF_MIGR_FLOW?includeHistory=true", JSON_20)
    assert validate_sdmx_json(as_json.data, "data", "2.0.0") == []
    assert [(d["action"], d.get("validFrom"), d.get("validTo"))
            for d in orjson.loads(as_json.data)["data"]["dataSets"]] == [
        ("Replace", first, None), ("Replace", second, None), ("Delete", None, third)]
    since = api.get(f"/data/DF_MIGR_FLOW?includeHistory=true&updatedAfter={instant(first)}", GENERIC)
    assert [d["action"] for d in datasets(since.data)] == ["Replace", "Delete"]

    assert api.get("/data/DF_MIGR_FLOW?includeHistory=true", CSV_20).status_code == 406
    assert api.get("/data/DF_MIGR_FLOW?includeHistory=true&lastNObservations=1", GENERIC).status_code == 501
    assert api.get("/data/DF_MIGR_FLOW?includeHistory=maybe", GENERIC).status_code == 400

    # asOf: the data as they stood after each write.
    def as_of(moment: str) -> dict:
        return from_csv(api.get(f"/data/DF_MIGR_FLOW?asOf={instant(moment)}", CSV_20).data, dims)

    original = float(rows[0]["OBS_VALUE"])
    assert as_of(first)[cell(rows[0], dims)] == original and cell(rows[1], dims) in as_of(first)
    assert as_of(second)[cell(rows[0], dims)] == 999.0 and cell(rows[1], dims) in as_of(second)
    assert cell(rows[1], dims) not in as_of(third)
    assert api.get(f"/data/DF_MIGR_FLOW?asOf={instant(first)}&updatedAfter={instant(third)}",
                   CSV_20).status_code == 400


def test_embargoed_data_is_seen_by_its_provider_only_until_release(api, kg, dims):
    header, rows = kg
    assert api.post(message(header, rows[:10]), "KG_NSC").status_code == 200  # public already
    release = datetime.now(timezone.utc) + timedelta(seconds=3)
    hidden = api.post(message(header, rows[10:]), "KG_NSC", path=f"/v2/data/?releaseAt={instant(release.isoformat())}")
    assert hidden.status_code == 200 and hidden.json["releaseAt"] == release.isoformat()
    revised = api.post(message(header, [dict(rows[0], OBS_VALUE="999")]), "KG_NSC",
                       **{"X-Release-At": release.isoformat()})
    assert revised.status_code == 200

    def seen(provider: str | None) -> dict:
        answer = api.get("/data/DF_MIGR_FLOW", CSV_20, provider=provider)
        assert answer.status_code == 200
        return from_csv(answer.data, dims)

    public = seen(None)
    assert len(public) == 10 and public[cell(rows[0], dims)] == float(rows[0]["OBS_VALUE"])
    own = api.get("/data/DF_MIGR_FLOW", CSV_20, provider="KG_NSC")
    assert own.headers["Cache-Control"] == "private" and "Authorization" in own.headers["Vary"]
    assert own.headers["ETag"] != api.get("/data/DF_MIGR_FLOW", CSV_20).headers["ETag"]
    mine = from_csv(own.data, dims)
    assert len(mine) == len(rows) and mine[cell(rows[0], dims)] == 999.0
    assert seen("KZ_BNS") == public  # another provider is the public here
    query = DataQuery(flow=FLOW)
    assert api.store.available(query, dims).obs_count == 10
    assert api.store.available(DataQuery(flow=FLOW, viewer="KG_NSC"), dims).obs_count == len(rows)
    assert api.get("/data/DF_MIGR_FLOW", CSV_20, Authorization="Bearer migstat_000000000000_" + "a" * 43
                   ).status_code == 401  # a bad token is refused, not taken for the public
    record = api.get(f"/submissions/{hidden.json['submission']}", provider="KG_NSC").json
    assert record["releaseAt"].startswith(release.replace(tzinfo=None).isoformat()[:19])

    time.sleep(max(0.0, (release - datetime.now(timezone.utc)).total_seconds()) + 0.2)
    after = seen(None)
    assert len(after) == len(rows) and after[cell(rows[0], dims)] == 999.0
    assert api.store.available(query, dims).obs_count == len(rows)
