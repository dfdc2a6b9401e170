"""SDMX-REST 2.x data and structure queries against the running service.

Every filter form (each operator on a dimension, an observation attribute, a series attribute,
TIME_PERIOD and OBS_VALUE; ',' OR and '+' AND; several keys) is checked against a brute-force
filter over every stored observation; then contexts, versions, formats (validated against the
official schemas), attributes/measures, paging, sorting, the time parameters and the errors.
"""

from __future__ import annotations

import csv
import io

import orjson
import pytest

from api_fixtures import DIMENSIONS
from service.auth import create_token
from service.formats.schemas import validate_sdmx_json, validate_sdmx_ml
from service.model.period import period_bounds
from service.model.query import DataQuery

FLOW = "CAMIG:DF_MIGR_FLOW(1.0)"
STOCK = "CAMIG:DF_MIGR_STOCK(1.0)"
CSV = "application/vnd.sdmx.data+csv;version=2.0.0"
BASE = "/v2/data/dataflow/CAMIG"


@pytest.fixture(scope="module")
def stored(service) -> dict[str, list[dict]]:
    """Every stored observation of two dataflows as {component: text}, attributes merged in."""
    out = {}
    for flow in (FLOW, STOCK):
        rows = []
        with service.store.query(DataQuery(flow=flow)) as found:
            for s in found:
                for o in s.observations:
                    rows.append({**dict(zip(DIMENSIONS, s.key)), **s.attributes, **o.attributes,
                                 "TIME_PERIOD": o.time_period, "OBS_VALUE": o.value})
        out[flow] = rows
    return out


def csv_rows(response) -> list[dict]:
    assert response.status_code in (200, 206), response.data[:500]
    assert response.headers["Content-Type"] == CSV
    return list(csv.DictReader(io.StringIO(response.data.decode())))


def identity(row: dict) -> tuple:
    value = row["OBS_VALUE"]
    number = None if value in (None, "", "NaN") else float(value)
    return (*(row[d] for d in DIMENSIONS), row["TIME_PERIOD"], number)


def get_csv(service, path: str, **headers):
    return service.client().get(path, headers={"Accept": CSV, **headers})


def year(row) -> int:
    return period_bounds(row["TIME_PERIOD"])[0].year


# (path under /v2/data/dataflow/CAMIG, stored flow, brute-force predicate)
CASES = [
    ("DF_MIGR_FLOW/+/A.KZ.*.*?c[TIME_PERIOD]=ge:2015+le:2020&c[SEX]=_T,F", FLOW,
     lambda r: r["FREQ"] == "A" and r["REF_AREA"] == "KZ" and 2015 <= year(r) <= 2020 and r["SEX"] in ("_T", "F")),
    ("DF_MIGR_FLOW/+/*?c[COUNTERPART_AREA]=ne:RU", FLOW, lambda r: r["COUNTERPART_AREA"] != "RU"),
    ("DF_MIGR_FLOW/+/*?c[COUNTERPART_AREA]=co:Z", FLOW, lambda r: "Z" in r["COUNTERPART_AREA"]),
    ("DF_MIGR_FLOW/+/*?c[COUNTERPART_AREA]=nc:K", FLOW, lambda r: "K" not in r["COUNTERPART_AREA"]),
    ("DF_MIGR_FLOW/+/*?c[COUNTERPART_AREA]=sw:T", FLOW, lambda r: r["COUNTERPART_AREA"].startswith("T")),
    ("DF_MIGR_FLOW/+/*?c[COUNTERPART_AREA]=ew:Z", FLOW, lambda r: r["COUNTERPART_AREA"].endswith("Z")),
    ("DF_MIGR_FLOW/+/*?c[COUNTERPART_AREA]=lt:C", FLOW, lambda r: r["COUNTERPART_AREA"] < "C"),
    ("DF_MIGR_FLOW/+/*?c[COUNTERPART_AREA]=le:BY", FLOW, lambda r: r["COUNTERPART_AREA"] <= "BY"),
    ("DF_MIGR_FLOW/+/*?c[COUNTERPART_AREA]=gt:TR", FLOW, lambda r: r["COUNTERPART_AREA"] > "TR"),
    ("DF_MIGR_FLOW/+/*?c[COUNTERPART_AREA]=ge:UA+le:UZ", FLOW, lambda r: "UA" <= r["COUNTERPART_AREA"] <= "UZ"),
    ("DF_MIGR_FLOW/+/*?c[COUNTERPART_AREA]=ne:RU%2Bne:KZ", FLOW, lambda r: r["COUNTERPART_AREA"] not in ("RU", "KZ")),
    ("DF_MIGR_FLOW/+/*?c[COUNTERPART_AREA]=RU,sw:K%2Bne:KZ", FLOW,
     lambda r: r["COUNTERPART_AREA"] == "RU" or (r["COUNTERPART_AREA"].startswith("K") and r["COUNTERPART_AREA"] != "KZ")),
    ("DF_MIGR_FLOW/+/*?c[OBS_VALUE]=gt:1000", FLOW, lambda r: r["OBS_VALUE"] is not None and r["OBS_VALUE"] > 1000),
    ("DF_MIGR_FLOW/+/*?c[OBS_VALUE]=ge:-100+le:100", FLOW,
     lambda r: r["OBS_VALUE"] is not None and -100 <= r["OBS_VALUE"] <= 100),
    ("DF_MIGR_FLOW/+/*?c[OBS_STATUS]=A", FLOW, lambda r: r.get("OBS_STATUS") == "A"),
    ("DF_MIGR_FLOW/+/*?c[OBS_STATUS]=ne:A", FLOW, lambda r: r.get("OBS_STATUS") != "A"),
    ("DF_MIGR_FLOW/+/*?c[UNIT_MEASURE]=PS", FLOW, lambda r: r.get("UNIT_MEASURE") == "PS"),
    ("DF_MIGR_FLOW/+/*?c[TIME_PERIOD]=2017,2018", FLOW, lambda r: r["TIME_PERIOD"] in ("2017", "2018")),
    ("DF_MIGR_FLOW/+/*?c[TIME_PERIOD]=ne:2017", FLOW, lambda r: r["TIME_PERIOD"] != "2017"),
    ("DF_MIGR_STOCK/+/*?c[TIME_PERIOD]=gt:2022-06+lt:2022-09", STOCK,
     lambda r: r["TIME_PERIOD"] in ("2022-07", "2022-08")),
    ("DF_MIGR_STOCK/+/*?c[TIME_PERIOD]=sw:2019", STOCK, lambda r: r["TIME_PERIOD"].startswith("2019")),
    ("DF_MIGR_STOCK/+/*?c[TIME_PERIOD]=ge:2019-01+le:2019-02,ge:2023-02", STOCK,
     lambda r: r["TIME_PERIOD"] in ("2019-01", "2019-02", "2023-02")),
    ("DF_MIGR_STOCK/+/M.KZ.POP_FCIT.*.*.*.FR+DE", STOCK, lambda r: r["CITIZENSHIP"] in ("FR", "DE")),
    ("DF_MIGR_FLOW/+/A.KZ.IMM,A.KG.EMI", FLOW,
     lambda r: (r["REF_AREA"], r["INDICATOR"]) in (("KZ", "IMM"), ("KG", "EMI"))),
    ("DF_MIGR_FLOW/*/A.KZ.IMM,*.KZ?c[COUNTERPART_AREA]=RU", FLOW,
     lambda r: r["REF_AREA"] == "KZ" and r["COUNTERPART_AREA"] == "RU"),
]


@pytest.mark.parametrize("path,flow,predicate", CASES, ids=[c[0] for c in CASES])
def test_filters_equal_a_brute_force_filter(service, stored, path, flow, predicate):
    expected = {identity({**r, "OBS_VALUE": r["OBS_VALUE"]}) for r in stored[flow] if predicate(r)}
    response = get_csv(service, f"{BASE}/{path}")
    if not expected:
        assert response.status_code == 204
        return
    found = [identity(r) for r in csv_rows(response)]
    assert len(found) == len(set(found)) and set(found) == expected


def test_the_issue_example_answers_exactly_the_observations_asked(service, stored):
    response = get_csv(service, f"{BASE}/DF_MIGR_FLOW/+/A.KZ.*.*?c[TIME_PERIOD]=ge:2015+le:2020&c[SEX]=F,M")
    expected = [r for r in stored[FLOW] if r["REF_AREA"] == "KZ" and r["SEX"] in ("F", "M")]
    assert (response.status_code == 204) == (not expected)


# -- contexts, versions, formats ------------------------------------------------------------------

@pytest.mark.parametrize("path,status", [
    ("/v2/data/dataflow/CAMIG/DF_MIGR_FLOW/+/A.KG", 200),
    ("/v2/data/dataflow/*/DF_MIGR_FLOW/~/A.KG", 200),
    ("/v2/data/dataflow/CAMIG/DF_MIGR_FLOW,DF_MIGR_STOCK/*/A.KG.EMI", 200),
    ("/v2/data/dataflow/CAMIG/DF_MIGR_FLOW/1.0/A.KG", 200),
    ("/v2/data/datastructure/CAMIG/DSD_MIGR/+/A.KG.EMI", 200),
    ("/v2/data/provisionagreement/CAMIG/PA_KG_NSC_DF_MIGR_FLOW/+/*", 200),
    ("/v2/data/datastructure/CAMIG/DSD_MIGR/+/*", 501),
    ("/v2/data/dataflow/CAMIG/DF_MIGR_FLOW/1.+.0/*", 501),
    ("/v2/data/dataflow/CAMIG/DF_MIGR_FLOW/2.0/*", 404),
    ("/v2/data/dataflow/CAMIG/DF_NOPE/+/*", 404),
    ("/v2/data/somecontext/CAMIG/DF_MIGR_FLOW/+/*", 400),
    ("/v2/data/dataflow/CAMIG/DF_MIGR_FLOW/+/A.XX", 204),
    ("/v2/data/dataflow/CAMIG/DF_MIGR_FLOW/+/*?c[NOPE]=A", 422),
    ("/v2/data/dataflow/CAMIG/DF_MIGR_FLOW/+/*?attributes=NOPE", 422),
    ("/v2/data/dataflow/CAMIG/DF_MIGR_FLOW/+/*?measures=NOPE", 422),
    ("/v2/data/dataflow/CAMIG/DF_MIGR_FLOW/+/*?c[OBS_VALUE]=gt:many", 422),
    ("/v2/data/dataflow/CAMIG/DF_MIGR_FLOW/+/*?sort=SEX", 501),
    ("/v2/data/dataflow/CAMIG/DF_MIGR_FLOW/+/*?reportingYearStartDay=--07-01", 501),
    ("/v2/data/dataflow/CAMIG/DF_MIGR_FLOW/+/*?updatedAfter=2100-01-01T00:00:00Z", 204),
    ("/v2/data/dataflow/CAMIG/DF_MIGR_FLOW/+/*?asOf=2000-01-01T00:00:00Z", 204),
    ("/v2/data/dataflow/CAMIG/DF_MIGR_FLOW/+/*?asOf=2000-01-01T00:00:00Z&updatedAfter=2001-01-01T00:00:00Z", 422),
    ("/v2/data/dataflow/CAMIG/DF_MIGR_FLOW/+/A.KZ.IMM.*.*.*.*.*.*.*.*.*.*.*.*.*.*", 400),
    ("/v2/data/dataflow/CAMIG/DF_MIGR_FLOW/+/*?bogus=1", 400),
])
def test_paths_and_parameters(service, path, status):
    assert service.client().get(path).status_code == status


def test_a_provision_agreement_answers_its_provider_only(service, stored):
    rows = csv_rows(get_csv(service, "/v2/data/provisionagreement/CAMIG/PA_KG_NSC_DF_MIGR_FLOW/+/*"))
    assert {r["REF_AREA"] for r in rows} == {"KG"}
    assert len(rows) == sum(1 for r in stored[FLOW] if r["REF_AREA"] == "KG")


def test_default_and_requested_formats_are_valid(service):
    client = service.client()
    path = f"{BASE}/DF_MIGR_FLOW/+/A.KG"
    response = client.get(path)
    assert response.headers["Content-Type"] == "application/vnd.sdmx.data+json;version=2.0.0"
    assert validate_sdmx_json(response.data, "data", "2.0.0") == []
    response = client.get(path, headers={"Accept": "application/vnd.sdmx.data+xml;version=3.0.0"})
    assert response.headers["Content-Type"] == "application/vnd.sdmx.data+xml;version=3.0.0"
    # Structure-specific data types its data set by the dataflow's own schema: apart from that, valid.
    problems = validate_sdmx_ml(response.data, "3.0")
    assert all("DataSetType" in p or "is abstract" in p for p in problems), problems
    response = client.get(path, headers={"Accept": "application/vnd.sdmx.data+json;version=1.0.0"})
    assert validate_sdmx_json(response.data, "data", "1.0.0") == []
    assert client.get(path, headers={"Accept": "application/vnd.sdmx.data+xml;version=3.1.0"}).status_code == 406
    flat = client.get(f"{path}?dimensionAtObservation=AllDimensions")
    assert "observations" in orjson.loads(flat.data)["data"]["dataSets"][0]
    cross = client.get(f"{path}?dimensionAtObservation=COUNTERPART_AREA")
    observation = orjson.loads(cross.data)["data"]["structures"][0]["dimensions"]["observation"]
    assert [d["id"] for d in observation] == ["COUNTERPART_AREA"]


def test_attributes_and_measures(service):
    path = f"{BASE}/DF_MIGR_FLOW/+/A.KG"
    every = csv_rows(get_csv(service, path))
    assert any(r["OBS_STATUS"] for r in every) and any(r["UNIT_MEASURE"] for r in every)
    for value, kept in (("none", set()), ("obs", {"OBS_STATUS", "SOURCE_LABEL"}), ("series", {"UNIT_MEASURE", "UNIT_MULT"}),
                        ("OBS_STATUS,UNIT_MULT", {"OBS_STATUS", "UNIT_MULT"}), ("dsd", None), ("all", None)):
        rows = csv_rows(get_csv(service, f"{path}?attributes={value}"))
        assert [identity(r) for r in rows] == [identity(r) for r in every]
        for column in ("OBS_STATUS", "UNIT_MEASURE", "UNIT_MULT", "SOURCE_LABEL"):
            if column not in rows[0]:
                continue
            if kept is None or column in kept:
                assert [r[column] for r in rows] == [r[column] for r in every], (value, column)
            else:
                assert not any(r[column] for r in rows), (value, column)
    keys = orjson.loads(service.client().get(f"{path}?measures=none&attributes=none").data)
    series = keys["data"]["dataSets"][0]["series"]
    assert series and all("observations" not in s for s in series.values())
    with_value = csv_rows(get_csv(service, f"{path}?measures=OBS_VALUE"))
    assert [identity(r) for r in with_value] == [identity(r) for r in every]


# -- paging, sorting, time -------------------------------------------------------------------------

def test_offset_limit_and_range_pages(service, stored):
    path = f"{BASE}/DF_MIGR_STOCK/+/*"
    total = len(stored[STOCK])
    whole = [identity(r) for r in csv_rows(get_csv(service, path))]
    pages = []
    for offset in range(0, total, 7000):
        response = get_csv(service, f"{path}?offset={offset}&limit=7000")
        assert response.status_code == 206
        assert response.headers["Content-Range"] == f"values {offset}-{min(offset + 6999, total - 1)}/{total}"
        pages += [identity(r) for r in csv_rows(response)]
    assert pages == whole
    ranged = get_csv(service, path, Range="values=100-149")
    assert ranged.status_code == 206 and ranged.headers["Content-Range"] == f"values 100-149/{total}"
    assert [identity(r) for r in csv_rows(ranged)] == whole[100:150]
    past = get_csv(service, f"{path}?offset={total}")
    assert past.status_code == 416 and past.headers["Content-Range"] == f"values */{total}"
    filtered = get_csv(service, f"{path}?c[OBS_STATUS]=A&limit=5")
    assert filtered.status_code == 206 and filtered.headers["Content-Range"].endswith("/*")


def test_the_size_limit_applies_to_the_page(service):
    app = service.app_with(max_response_observations=1000)
    client = app.test_client()
    path = f"{BASE}/DF_MIGR_STOCK/+/*"
    refused = client.get(path, headers={"Accept": "application/json"})
    assert refused.status_code == 413
    assert orjson.loads(refused.data)["errors"][0]["code"] == 510
    assert b"offset/limit" in refused.data or b"Range" in refused.data
    assert client.get(f"{path}?limit=1000", headers={"Accept": CSV}).status_code == 206
    assert client.get(f"{path}?limit=1001", headers={"Accept": CSV}).status_code == 413


def test_sort_by_time_descending(service):
    rows = csv_rows(get_csv(service, f"{BASE}/DF_MIGR_STOCK/+/M.KZ.POP_FCIT.*.*.*.FR?sort=series_key+TIME_PERIOD:desc"))
    by_series: dict[tuple, list[str]] = {}
    for r in rows:
        by_series.setdefault(tuple(r[d] for d in DIMENSIONS), []).append(r["TIME_PERIOD"])
    assert by_series and all(periods == sorted(periods, reverse=True) for periods in by_series.values())
    assert list(by_series) == sorted(by_series, key=".".join)


def test_first_and_last_observations(service):
    path = f"{BASE}/DF_MIGR_STOCK/+/M.KZ.POP_FCIT.*.*.*.FR+DE"
    last = csv_rows(get_csv(service, f"{path}?lastNObservations=2"))
    assert len(last) == 8 and {r["TIME_PERIOD"] for r in last} == {"2023-01", "2023-02"}
    first = csv_rows(get_csv(service, f"{path}?firstNObservations=1"))
    assert {r["TIME_PERIOD"] for r in first} == {"2019-01"}


def test_history_and_as_of(service):
    client = service.client()
    history = client.get(f"{BASE}/DF_MIGR_FLOW/+/A.KG?includeHistory=true")
    assert history.status_code == 200
    assert validate_sdmx_json(history.data, "data", "2.0.0") == []
    now = client.get(f"{BASE}/DF_MIGR_FLOW/+/A.KG?asOf=2999-01-01T00:00:00Z", headers={"Accept": CSV})
    assert [identity(r) for r in csv_rows(now)] == [identity(r) for r in csv_rows(get_csv(service, f"{BASE}/"
                                                                                          "DF_MIGR_FLOW/+/A.KG"))]


def test_a_preview_of_embargoed_data_needs_a_provider_of_the_dataflow(service):
    client = service.client()
    path = f"{BASE}/DF_MIGR_FLOW/+/A.KG"
    assert client.get(path, headers={"X-Release": "PIT"}).status_code == 401
    token = create_token(service.store, "TJ_STAT").token
    assert client.get(path, headers={"X-Release": "PIT", "Authorization": f"Bearer {token}"}).status_code == 200
    stock_only = "/v2/data/dataflow/CAMIG/DF_MIGR_STATUS/+/*"
    response = client.get(stock_only, headers={"X-Release": "PIT", "Authorization": f"Bearer {token}"})
    assert response.status_code in (200, 204)
    outsider = create_token(service.store, "KZ_BNS").token
    assert client.get("/v2/data/provisionagreement/CAMIG/PA_TJ_STAT_DF_MIGR_FLOW/+/*",
                      headers={"X-Release": "PIT", "Authorization": f"Bearer {outsider}"}).status_code == 403
    assert client.get("/v2/data/provisionagreement/CAMIG/PA_KZ_BNS_DF_MIGR_FLOW/+/*",
                      headers={"X-Release": "PIT", "Authorization": f"Bearer {outsider}"}).status_code == 200


# -- structures --------------------------------------------------------------------------------------

def artefact_ids(response) -> dict[str, set[str]]:
    assert response.status_code == 200, response.data[:300]
    assert validate_sdmx_json(response.data, "structure", "2.0.0") == []
    return {kind: {a["id"] for a in items} for kind, items in orjson.loads(response.data)["data"].items()}


def test_v2_structure_queries(service):
    client = service.client()
    assert artefact_ids(client.get("/v2/structure/dataflow/CAMIG/DF_MIGR_FLOW/+")) == {"dataflows": {"DF_MIGR_FLOW"}}
    found = artefact_ids(client.get("/v2/structure/dataflow/CAMIG/DF_MIGR_FLOW/~?references=children"))
    assert found == {"dataflows": {"DF_MIGR_FLOW"}, "dataStructures": {"DSD_MIGR"}}
    found = artefact_ids(client.get("/v2/structure/datastructure/*/DSD_MIGR/*?references=dataflow,conceptscheme"))
    assert found["dataflows"] >= {"DF_MIGR_FLOW", "DF_MIGR_STOCK"} and found["conceptSchemes"] == {"CS_MIGR"}
    found = artefact_ids(client.get("/v2/structure/codelist/CAMIG/CL_SEX,CL_FREQ/1.0/F,A"))
    assert found == {"codelists": {"CL_SEX", "CL_FREQ"}}
    assert "dataConstraints" in artefact_ids(client.get("/v2/structure/dataconstraint/CAMIG/CN_DF_MIGR_FLOW/+"))
    found = artefact_ids(client.get("/v2/structure/codelist/CAMIG/CL_SEX/+?references=ancestors"))
    assert "dataflows" in found and "DSD_MIGR" in found["dataStructures"]
    stubs = orjson.loads(client.get("/v2/structure/codelist/CAMIG/CL_SEX/+?detail=allstubs").data)
    assert "codes" not in stubs["data"]["codelists"][0]
    everything = artefact_ids(client.get("/v2/structure/*/CAMIG/*/*?detail=allstubs"))
    assert {"codelists", "dataflows", "dataStructures"} <= set(everything)
    ml = client.get("/v2/structure/codelist/CAMIG/CL_SEX/+", headers={"Accept": "application/vnd.sdmx.structure+xml;"
                                                                                "version=2.1"})
    assert validate_sdmx_ml(ml.data) == []
    assert client.get("/v2/structure/codelist/CAMIG/CL_SEX/+",
                      headers={"Accept": "application/vnd.sdmx.structure+xml;version=3.0.0"}).status_code == 406
    assert client.get("/v2/structure/codelist/CAMIG/CL_SEX/1.+.0").status_code == 501
    assert client.get("/v2/structure/metadataflow/*/*/*").status_code == 501
    assert client.get("/v2/structure/nonsense/*/*/*").status_code == 400
    assert client.get("/v2/structure/codelist/CAMIG/CL_SEX/+?asOf=2020-01-01T00:00:00Z").status_code == 501
