"""Availability against the running service, checked against a brute-force count over the stored data.

Every answer of ``/availableconstraint`` (1.5.0) and ``/v2/availability`` (2.x) is compared with
what reading every stored observation of the dataflow gives: the codes per dimension (mode=exact:
of the matching data; mode=available: of the data matching the selections on the other
dimensions), the period range and the observation and series counts. Responses are validated
against the official schemas; embargoed data stays out; the whole-dataflow answer the store
reads from its summaries equals the one it computes from the observations.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from api_fixtures import DIMENSIONS
from service.app import create_app
from service.catalog import PROJECT_ROOT, load_catalog
from service.formats.schemas import validate_sdmx_json, validate_sdmx_ml
from service.model.data import DELETE, DataSet, Observation, Series
from service.model.period import parse_end_period, parse_start_period, period_bounds
from service.model.query import DataQuery
from service.settings import Settings
from service.store import SubmissionInfo, open_store
from service.submissions import submit

FLOW = "CAMIG:DF_MIGR_FLOW(1.0)"
STOCK = "CAMIG:DF_MIGR_STOCK(1.0)"
JSON_10 = "application/vnd.sdmx.structure+json;version=1.0.0"
JSON_20 = "application/vnd.sdmx.structure+json;version=2.0.0"


@dataclass
class Stored:
    """Every stored observation of one dataflow: (series key, period)."""

    observations: list[tuple[tuple[str, ...], str]]

    def matching(self, key: dict[str, set[str]], start=None, end=None, skip: str | None = None):
        for series_key, period in self.observations:
            codes = dict(zip(DIMENSIONS, series_key))
            if any(dim != skip and codes[dim] not in wanted for dim, wanted in key.items()):
                continue
            first, after = period_bounds(period)
            if (start is not None and after <= start) or (end is not None and first >= end):
                continue
            yield series_key, period

    def exact(self, key, start=None, end=None) -> dict:
        found = list(self.matching(key, start, end))
        codes = {dim: {k[i] for k, _ in found} for i, dim in enumerate(DIMENSIONS)}
        bounds = [period_bounds(p) for _, p in found]
        return {"codes": codes, "obs_count": len(found), "series_count": len({k for k, _ in found}),
                "start": min(b[0] for b in bounds) if bounds else None,
                "end": max(b[1] for b in bounds) if bounds else None}

    def available(self, key, start=None, end=None) -> dict[str, set[str]]:
        out = self.exact(key, start, end)["codes"]
        for dim in key:
            position = DIMENSIONS.index(dim)
            out[dim] = {k[position] for k, _ in self.matching(key, start, end, skip=dim)}
        return out


@pytest.fixture(scope="module")
def stored(service) -> dict[str, Stored]:
    out = {}
    for flow in (FLOW, STOCK):
        with service.store.query(DataQuery(flow=flow)) as found:
            out[flow] = Stored([(s.key, o.time_period) for s in found for o in s.observations])
    return out


def constraint_of(body: bytes, version: str = "1.0.0") -> dict:
    """The Actual constraint of an SDMX-JSON structure message: codes, time range, counts."""
    assert validate_sdmx_json(body, "structure", version) == []
    data = orjson.loads(body)["data"]
    constraint = (data["contentConstraints"] if version == "1.0.0" else data["dataConstraints"])[0]
    assert constraint["type" if version == "1.0.0" else "role"] == "Actual"
    region = constraint["cubeRegions"][0]
    codes, span = {}, None
    for kv in region["keyValues"]:
        if "timeRange" in kv:
            span = kv["timeRange"]
        else:
            codes[kv["id"]] = {v if isinstance(v, str) else v["value"] for v in kv.get("values", [])}
    metrics = {a["id"]: int(a["title"]) for a in constraint.get("annotations", [])}
    return {"codes": codes, "span": span, "obs_count": metrics.get("obs_count"),
            "series_count": metrics.get("series_count"), "data": data}


def key_path(key: dict[str, set[str]]) -> str:
    return ".".join("+".join(sorted(key.get(d, ()))) for d in DIMENSIONS)


def day_after(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc) + timedelta(days=1)


SELECTIONS = [
    {},
    {"REF_AREA": {"KZ"}},
    {"REF_AREA": {"KG"}, "INDICATOR": {"EMI"}},
    {"REF_AREA": {"KZ", "KG"}, "COUNTERPART_AREA": {"RU", "_T"}},
    {"INDICATOR": {"NETM"}, "COUNTERPART_AREA": {"KZ"}},
]


@pytest.mark.parametrize("selection", SELECTIONS, ids=lambda s: key_path(s).strip(".") or "all")
@pytest.mark.parametrize("mode", ["exact", "available"])
def test_availability_equals_a_count_of_the_stored_observations(service, stored, selection, mode):
    response = service.client().get(f"/availableconstraint/DF_MIGR_FLOW/{key_path(selection)}?mode={mode}",
                                    headers={"Accept": JSON_10})
    assert response.status_code == 200, response.data
    found = constraint_of(response.data)
    expected = stored[FLOW].exact(selection)
    wanted = stored[FLOW].available(selection) if mode == "available" else expected["codes"]
    assert found["codes"] == wanted
    assert found["obs_count"] == expected["obs_count"] and found["series_count"] == expected["series_count"]
    span = found["span"]
    assert parse_start_period(span["startPeriod"]["period"]) == expected["start"]
    assert day_after(span["endPeriod"]["period"]) == expected["end"] and span["endPeriod"]["isInclusive"]


def test_the_period_narrows_codes_and_counts(service, stored):
    start, end = parse_start_period("2023-01"), parse_end_period("2023-06")
    response = service.client().get("/availableconstraint/DF_MIGR_STOCK/all?startPeriod=2023-01&endPeriod=2023-06",
                                    headers={"Accept": JSON_10})
    found = constraint_of(response.data)
    expected = stored[STOCK].exact({}, start, end)
    assert found["codes"] == expected["codes"] and found["obs_count"] == expected["obs_count"]
    assert found["span"]["startPeriod"]["period"] == "2023-01-01"


def test_one_component_and_the_time_period_alone(service, stored):
    client = service.client()
    found = constraint_of(client.get("/availableconstraint/DF_MIGR_FLOW/all/all/REF_AREA",
                                     headers={"Accept": JSON_10}).data)
    assert found["codes"] == {"REF_AREA": stored[FLOW].exact({})["codes"]["REF_AREA"]}
    assert found["span"] is None
    found = constraint_of(client.get("/availableconstraint/DF_MIGR_FLOW/all/ALL/TIME_PERIOD",
                                     headers={"Accept": JSON_10}).data)
    assert found["codes"] == {} and found["span"]["startPeriod"]["period"] == "2017-01-01"


def test_sdmx_ml_answer_is_valid(service):
    response = service.client().get("/availableconstraint/DF_MIGR_FLOW/A.KZ..............?mode=available&"
                                    "references=all")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/vnd.sdmx.structure+xml;version=2.1"
    assert validate_sdmx_ml(response.data) == []
    assert b"<com:TimeRange>" in response.data and b'id="obs_count"' in response.data


def test_references_hold_only_what_the_region_uses(service, stored):
    response = service.client().get(f"/availableconstraint/DF_MIGR_FLOW/{key_path({'REF_AREA': {'KG'}})}"
                                    "?references=all", headers={"Accept": JSON_10})
    assert response.status_code == 200, response.data
    found = constraint_of(response.data)
    data = found["data"]
    assert [f["id"] for f in data["dataflows"]] == ["DF_MIGR_FLOW"]
    assert [d["id"] for d in data["dataStructures"]] == ["DSD_MIGR"]
    assert [p["id"] for p in data["dataProviderSchemes"][0]["dataProviders"]] == ["KG_NSC"]
    concepts = {c["id"] for c in data["conceptSchemes"][0]["concepts"]}
    dsd = load_catalog(PROJECT_ROOT).data_structures[0]
    assert concepts == {*DIMENSIONS, "TIME_PERIOD", "OBS_VALUE", *(a.id for a in dsd.attributes)}  # the DSD's too
    alone = service.client().get(f"/availableconstraint/DF_MIGR_FLOW/{key_path({'REF_AREA': {'KG'}})}"
                                 "?references=conceptscheme", headers={"Accept": JSON_10})
    scheme = orjson.loads(alone.data)["data"]["conceptSchemes"][0]
    assert {c["id"] for c in scheme["concepts"]} == {*DIMENSIONS, "TIME_PERIOD"} and scheme["isPartial"]
    areas = next(cl for cl in data["codelists"] if cl["id"] == "CL_AREA")
    catalog = load_catalog(PROJECT_ROOT)
    parents = {c.id: c.parent for c in catalog.codelist("CL_AREA").items}
    used = found["codes"]["REF_AREA"] | found["codes"]["COUNTERPART_AREA"] | found["codes"]["CITIZENSHIP"] \
        | found["codes"]["BIRTH_PLACE"]
    held = {c["id"] for c in areas["codes"]}
    assert used <= held and areas["isPartial"] is True
    for code in held - used:  # only ancestors of used codes are added
        assert any(_ancestor(code, u, parents) for u in used), code
    for code in held:
        assert parents.get(code) is None or parents[code] in held


def _ancestor(code: str, of: str, parents: dict) -> bool:
    parent = parents.get(of)
    while parent:
        if parent == code:
            return True
        parent = parents.get(parent)
    return False


def test_sdmx1_and_pysdmx_read_the_answers(service):
    import sdmx
    from pysdmx.io import read_sdmx

    client = service.client()
    ml = client.get("/availableconstraint/DF_MIGR_FLOW?references=all").data
    assert list(sdmx.read_sdmx(io.BytesIO(ml)).constraint) == ["CR_A_DF_MIGR_FLOW"]
    assert read_sdmx(ml.decode()) is not None
    json = client.get("/v2/availability/dataflow/CAMIG/DF_MIGR_FLOW/+/*?references=all").data
    assert read_sdmx(json.decode()) is not None


def test_only_codelists_asked_for(service):
    data = constraint_of(service.client().get("/availableconstraint/DF_MIGR_FLOW?references=codelist",
                                              headers={"Accept": JSON_10}).data)["data"]
    assert set(data) == {"contentConstraints", "codelists"}
    assert {c["id"] for c in next(cl for cl in data["codelists"] if cl["id"] == "CL_SEX")["codes"]} == {"_T"}


def test_no_data_is_404_in_1_5_and_204_in_2(service):
    client = service.client()
    assert client.get(f"/availableconstraint/DF_MIGR_FLOW/{key_path({'REF_AREA': {'XX'}})}").status_code == 404
    assert client.get("/availableconstraint/DF_MIGR_FLOW/all?startPeriod=1990&endPeriod=1991").status_code == 404
    assert client.get("/v2/availability/dataflow/CAMIG/DF_MIGR_FLOW/+/*.XX").status_code == 204


@pytest.mark.parametrize("path,status", [
    ("/availableconstraint/DF_MIGR_FLOW/all/all/NOPE", 400),
    ("/availableconstraint/DF_MIGR_FLOW?mode=maybe", 400),
    ("/availableconstraint/DF_MIGR_FLOW?references=parents", 400),
    ("/availableconstraint/DF_NOPE", 404),
    ("/v2/availability/dataflow/CAMIG/DF_MIGR_FLOW/+/*/NOPE", 422),
    ("/v2/availability/dataflow/CAMIG/DF_MIGR_FLOW/+/*?c[OBS_STATUS]=A", 501),
    ("/v2/availability/dataflow/CAMIG/DF_MIGR_FLOW/1.+.0/*", 501),
])
def test_bad_availability_queries(service, path, status):
    assert service.client().get(path).status_code == status


# -- 2.x ---------------------------------------------------------------------------------------------------

def test_v2_availability_with_filters_equals_the_count(service, stored):
    client = service.client()
    response = client.get("/v2/availability/dataflow/CAMIG/DF_MIGR_FLOW/+/A.KZ+KG?mode=available"
                          "&c[COUNTERPART_AREA]=sw:K&c[TIME_PERIOD]=ge:2017+le:2017")
    assert response.status_code == 200 and response.headers["Content-Type"] == JSON_20
    found = constraint_of(response.data, "2.0.0")
    areas = {c for c in load_catalog(PROJECT_ROOT).codelist("CL_AREA").by_id if c.startswith("K")}
    selection = {"FREQ": {"A"}, "REF_AREA": {"KZ", "KG"}, "COUNTERPART_AREA": areas}
    start, end = parse_start_period("2017"), parse_end_period("2017")
    assert found["codes"] == stored[FLOW].available(selection, start, end)
    assert found["obs_count"] == stored[FLOW].exact(selection, start, end)["obs_count"]


def test_v2_several_keys_and_a_whole_structure(service, stored):
    client = service.client()
    found = constraint_of(client.get("/v2/availability/dataflow/CAMIG/DF_MIGR_FLOW/~/*.KZ.IMM,*.KG.EMI").data,
                          "2.0.0")
    one = stored[FLOW].exact({"REF_AREA": {"KZ"}, "INDICATOR": {"IMM"}})
    two = stored[FLOW].exact({"REF_AREA": {"KG"}, "INDICATOR": {"EMI"}})
    assert found["obs_count"] == one["obs_count"] + two["obs_count"]
    assert found["codes"]["REF_AREA"] == {"KZ", "KG"} and found["codes"]["INDICATOR"] == {"IMM", "EMI"}
    whole = constraint_of(client.get("/v2/availability/datastructure/CAMIG/DSD_MIGR/*/*/REF_AREA").data, "2.0.0")
    counted = {k[1] for flow in (FLOW, STOCK) for k, _ in stored[flow].observations}
    assert counted <= whole["codes"]["REF_AREA"]
    constraint = whole["data"]["dataConstraints"][0]
    assert constraint["id"] == "CR_A_DSD_MIGR" and "dataStructures" in constraint["constraintAttachment"]


# -- the store ---------------------------------------------------------------------------------------------

def _flow_series(key: str, *years: str, value: float = 1.0) -> Series:
    codes = dict.fromkeys(DIMENSIONS, "_T")
    codes.update(zip(("FREQ", "REF_AREA", "INDICATOR", "MIGR_DEF", "DATA_SOURCE", "COUNTERPART_AREA"), key.split(".")))
    codes.update(OCCUPATION="_Z", ACTIVITY="_Z")
    return Series(tuple(codes[d] for d in DIMENSIONS), [Observation(y, value, {"OBS_STATUS": "A"}) for y in years],
                  {"UNIT_MEASURE": "PS", "UNIT_MULT": "0"})


def test_whole_flow_summaries_follow_writes_and_deletions(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'summary.db'}")

    def write(*datasets):
        store.write(datasets, provider="KZ_BNS", submission=SubmissionInfo(content_type="text/csv", body=b"x"))

    def both(q=DataQuery(flow=FLOW)):
        fast = store.available(q, DIMENSIONS)
        slow = store.available(DataQuery(flow=FLOW, start=datetime(1900, 1, 1, tzinfo=timezone.utc)), DIMENSIONS)
        assert fast == slow
        return fast

    write(DataSet(FLOW, [_flow_series("A.KZ.IMM.NAT_PERM.ADM_POPREG.RU", "2019", "2020"),
                         _flow_series("A.KZ.EMI.NAT_PERM.ADM_POPREG.UZ", "2020")]))
    found = both()
    assert found.obs_count == 3 and found.series_count == 2 and found.codes["COUNTERPART_AREA"] == {"RU", "UZ"}
    write(DataSet(FLOW, [Series(_flow_series("A.KZ.EMI.NAT_PERM.ADM_POPREG.UZ").key, [])], DELETE))
    found = both()
    assert found.obs_count == 2 and found.codes["COUNTERPART_AREA"] == {"RU"} and found.codes["INDICATOR"] == {"IMM"}
    assert store.last_modified(FLOW) is not None
    store.close()


def test_embargoed_data_never_shows(tmp_path):
    catalog = load_catalog(PROJECT_ROOT)
    url = f"sqlite:///{tmp_path / 'embargo.db'}"
    store = open_store(url)
    line = ",".join(_flow_series("A.KZ.IMM.NAT_PERM.ADM_POPREG.RU").key)
    public = ("STRUCTURE,STRUCTURE_ID,ACTION," + ",".join(DIMENSIONS) + ",TIME_PERIOD,OBS_VALUE,OBS_STATUS,"
              "UNIT_MEASURE,UNIT_MULT\n" + f"dataflow,{FLOW},I,{line},2019,5,A,PS,0\n")
    later = public.replace(",RU,", ",UZ,").replace(",2019,", ",2020,")
    csv = "application/vnd.sdmx.data+csv;version=2.0.0"
    submit(catalog, store, public.encode(), csv, provider="KZ_BNS")
    submit(catalog, store, later.encode(), csv, provider="KZ_BNS",
           release_at=datetime.now(timezone.utc) + timedelta(days=30))
    client = create_app(Settings(database_url=url), store=store, catalog=catalog).test_client()
    found = constraint_of(client.get("/availableconstraint/DF_MIGR_FLOW", headers={"Accept": JSON_10}).data)
    assert found["codes"]["COUNTERPART_AREA"] == {"RU"} and found["obs_count"] == 1
    assert found["span"]["endPeriod"]["period"] == "2019-12-31"
    assert client.get(f"/availableconstraint/DF_MIGR_FLOW/{key_path({'COUNTERPART_AREA': {'UZ'}})}").status_code == 404
    store.close()
