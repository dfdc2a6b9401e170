"""The .Stat Suite Data Explorer's requests, replayed for DF_MIGR_FLOW, each answer checked against
what ../shared/design/dotstat-data-explorer.md says the Data Explorer reads from it.

The sequence is the one a user opening the dataflow causes: the structure with references=all
and detail=referencepartial, availability of FREQ, of TIME_PERIOD and of everything with
mode=available, a table page of data with every dimension at observation level and an x-range,
the related dataflows and the overview, and the CSV downloads; plus the CORS preflight. The key
and the period come from the dataflow's DEFAULT annotation, as the Data Explorer builds them.
"""

from __future__ import annotations

import csv
import io

import orjson
import pytest

from api_fixtures import DIMENSIONS
from service.formats.schemas import validate_sdmx_json
from service.model.query import DataQuery

WS = ""
FLOW = "CAMIG,DF_MIGR_FLOW,1.0"
STRUCTURE_ACCEPT = "application/vnd.sdmx.structure+json;version=1.0;urn=true"
DATA_ACCEPT = "application/vnd.sdmx.data+json;version=1.0.0-wd;urn=true"
HEADERS = {"Accept-Language": "ru", "Origin": "https://de.example.org"}


@pytest.fixture(scope="module")
def explorer(service):
    """The Data Explorer's state after request 1: the structure message and what it derived from it."""
    client = service.client()
    response = client.get(f"{WS}/dataflow/CAMIG/DF_MIGR_FLOW/1.0?references=all&detail=referencepartial",
                          headers={"Accept": STRUCTURE_ACCEPT, **HEADERS})
    assert response.status_code == 200
    message = orjson.loads(response.data)
    flow = message["data"]["dataflows"][0]
    annotations = {a["type"]: a.get("title") for a in flow.get("annotations", [])}
    default = dict(part.split("=", 1) for part in annotations["DEFAULT"].split(","))
    key = ".".join(default.get(d, "") for d in DIMENSIONS)
    period = f"startPeriod={default['TIME_PERIOD_START']}&endPeriod={default['TIME_PERIOD_END']}"
    with service.store.query(DataQuery(flow="CAMIG:DF_MIGR_FLOW(1.0)")) as found:
        stored = [(s.key, o.time_period) for s in found for o in s.observations]
    return {"client": client, "response": response, "message": message, "annotations": annotations,
            "default": default, "key": key, "period": period, "stored": stored}


def self_urn(artefact: dict) -> str:
    return next(link["urn"] for link in artefact["links"] if link.get("rel") == "self")


def test_1_structure_message(explorer):
    response, message = explorer["response"], explorer["message"]
    assert response.headers["Content-Type"] == "application/vnd.sdmx.structure+json;version=1.0.0"
    assert validate_sdmx_json(response.data, "structure", "1.0.0") == []
    assert set(message) == {"meta", "data"} and message["meta"]["contentLanguages"][0] == "ru"
    data = message["data"]
    flow = data["dataflows"][0]
    assert (flow["id"], flow["agencyID"], flow["version"]) == ("DF_MIGR_FLOW", "CAMIG", "1.0")
    assert flow["name"] == "Международные миграционные потоки" and flow["description"]
    assert {"DEFAULT", "LAYOUT_ROW", "LAYOUT_COLUMN", "LAYOUT_ROW_SECTION", "NOT_DISPLAYED",
            "MAX_TABLE_DATA"} <= set(explorer["annotations"])
    for kind, artefacts in data.items():  # the Data Explorer takes identities from the links
        for artefact in artefacts:
            assert self_urn(artefact).startswith("urn:sdmx:org.sdmx.infomodel."), kind
    components = data["dataStructures"][0]["dataStructureComponents"]
    dimensions = components["dimensionList"]["dimensions"]
    assert [d["id"] for d in dimensions] == list(DIMENSIONS)
    assert [d["position"] for d in dimensions] == list(range(1, len(DIMENSIONS) + 1))
    assert components["dimensionList"]["timeDimensions"][0]["id"] == "TIME_PERIOD"
    assert all("attributeRelationship" in a for a in components["attributeList"]["attributes"])
    assert components["measureList"]["primaryMeasure"]["id"] == "OBS_VALUE"
    concepts = {self_urn(c): c for scheme in data["conceptSchemes"] for c in scheme["concepts"]}
    codelists = {self_urn(cl): cl for cl in data["codelists"]}
    for dim in dimensions:  # filters are labelled by concept names and filled from codelists
        assert concepts[dim["conceptIdentity"]]["name"]
        assert dim["localRepresentation"]["enumeration"] in codelists


def test_1_actual_constraint_and_partial_codelists(explorer):
    data = explorer["message"]["data"]
    actual = [c for c in data["contentConstraints"] if c["type"] == "Actual"]
    assert len(actual) == 1
    constraint = actual[0]
    obs_count = next(a for a in constraint["annotations"] if a["id"] == "obs_count")
    assert int(obs_count["title"]) == len(explorer["stored"])
    region = constraint["cubeRegions"][0]
    assert region["isIncluded"] is True
    values = {kv["id"]: set(kv["values"]) for kv in region["keyValues"] if "values" in kv}
    for position, dim in enumerate(DIMENSIONS):
        assert values[dim] == {key[position] for key, _ in explorer["stored"]}
    time = next(kv["timeRange"] for kv in region["keyValues"] if kv["id"] == "TIME_PERIOD")
    assert time["startPeriod"]["period"] == "2017-01-01" and time["endPeriod"]["isInclusive"] is True
    structure = data["dataStructures"][0]["dataStructureComponents"]["dimensionList"]["dimensions"]
    by_urn = {self_urn(cl): cl for cl in data["codelists"]}
    for dim in structure:
        codes = {c["id"]: c for c in by_urn[dim["localRepresentation"]["enumeration"]]["codes"]}
        for code in values[dim["id"]]:
            assert code in codes and codes[code]["name"] and codes[code]["names"]
        for code in codes.values():  # only codes with data and their ancestors: the hierarchy holds
            assert "parent" not in code or code["parent"] in codes


def test_3_availability_of_freq(explorer):
    response = explorer["client"].get(
        f"{WS}/availableconstraint/{FLOW}/{explorer['key']}/ALL/FREQ?{explorer['period']}"
        "&dimensionAtObservation=AllDimensions&mode=available", headers={"Accept": STRUCTURE_ACCEPT, **HEADERS})
    assert response.status_code == 200 and validate_sdmx_json(response.data, "structure", "1.0.0") == []
    constraint = orjson.loads(response.data)["data"]["contentConstraints"][0]
    assert constraint["type"] == "Actual"
    assert [kv["id"] for kv in constraint["cubeRegions"][0]["keyValues"]] == ["FREQ"]
    assert any(a["id"] == "obs_count" for a in constraint["annotations"])


def test_4_availability_of_the_time_period(explorer):
    response = explorer["client"].get(f"{WS}/availableconstraint/{FLOW}/{explorer['key']}/ALL/TIME_PERIOD",
                                      headers={"Accept": STRUCTURE_ACCEPT, **HEADERS})
    region = orjson.loads(response.data)["data"]["contentConstraints"][0]["cubeRegions"][0]
    (time,) = region["keyValues"]
    assert time["id"] == "TIME_PERIOD" and {"startPeriod", "endPeriod"} <= set(time["timeRange"])


@pytest.mark.parametrize("key", ["all", "selection"])
def test_5_available_values_given_the_other_selections(explorer, key):
    path_key = explorer["key"] if key == "selection" else "all"
    response = explorer["client"].get(
        f"{WS}/availableconstraint/{FLOW}/{path_key}?{explorer['period']}&dimensionAtObservation=AllDimensions"
        "&mode=available", headers={"Accept": STRUCTURE_ACCEPT, "X-Range": "values=0-2999", **HEADERS})
    assert response.status_code == 200 and "Content-Range" not in response.headers  # x-range is ignored here
    region = orjson.loads(response.data)["data"]["contentConstraints"][0]["cubeRegions"][0]
    values = {kv["id"]: set(kv["values"]) for kv in region["keyValues"] if "values" in kv}
    selection = {d: set(c.split("+")) for d, c in explorer["default"].items() if d in DIMENSIONS}
    years = range(int(explorer["default"]["TIME_PERIOD_START"]), int(explorer["default"]["TIME_PERIOD_END"]) + 1)
    for position, dim in enumerate(DIMENSIONS):  # the selection on a dimension does not narrow its own values
        others = {d: s for d, s in selection.items() if d != dim} if key == "selection" else {}
        expected = {k[position] for k, period in explorer["stored"] if int(period[:4]) in years
                    and all(k[DIMENSIONS.index(d)] in s for d, s in others.items())}
        assert values[dim] == expected, dim


def data_path(explorer, extra: str = "") -> str:
    return (f"{WS}/data/{FLOW}/{explorer['key']}?{explorer['period']}&dimensionAtObservation=AllDimensions"
            + extra)


def test_6_a_table_page_of_data(explorer):
    size = int(explorer["annotations"]["MAX_TABLE_DATA"])
    response = explorer["client"].get(data_path(explorer), headers={
        "Accept": DATA_ACCEPT, "X-Range": f"values=0-{size - 1}", **HEADERS})
    assert response.status_code in (200, 206)
    assert response.headers["Content-Type"] == "application/vnd.sdmx.data+json;version=1.0.0"
    assert "Content-Range" in response.headers["Access-Control-Expose-Headers"]
    message = orjson.loads(response.data)
    assert validate_sdmx_json(response.data, "data", "1.0.0") == []
    assert set(message) == {"meta", "data"} and set(message["data"]) == {"dataSets", "structure"}
    structure, dataset = message["data"]["structure"], message["data"]["dataSets"][0]
    observation = structure["dimensions"]["observation"]
    assert [d["id"] for d in observation] == [*DIMENSIONS, "TIME_PERIOD"]
    assert [d["keyPosition"] for d in observation] == list(range(len(DIMENSIONS) + 1))
    assert structure["dimensions"]["dataSet"] == [] and structure["dimensions"]["series"] == []
    selection = {d: set(c.split("+")) for d, c in explorer["default"].items() if d in DIMENSIONS}
    for key in dataset["observations"]:
        indexes = [int(i) for i in key.split(":")]
        assert len(indexes) == len(observation)
        for dim, index in zip(observation, indexes):
            assert dim["id"] not in selection or dim["values"][index]["id"] in selection[dim["id"]]
    total = int(response.headers["Content-Range"].rsplit("/", 1)[1])
    assert response.headers["Content-Range"] == f"values 0-{min(size, total) - 1}/{total}"
    assert len(dataset["observations"]) == min(size, total)
    for dim in observation:
        ids = {v["id"] for v in dim["values"]}
        for value in dim["values"]:
            assert value["name"] and ("parent" not in value or value["parent"] in ids)
            if dim["id"] == "TIME_PERIOD":
                assert value["start"].startswith(value["id"][:4]) and value["end"]
    for level in ("dataSet", "observation"):
        for attribute in structure["attributes"][level]:
            assert set(attribute["relationship"]) <= {"none", "primaryMeasure", "dimensions"}
    kinds = {structure["annotations"][i]["type"] for i in dataset["annotations"]}
    assert {"NOT_DISPLAYED", "LAYOUT_ROW", "DEFAULT"} <= kinds


def test_6_pages_and_the_last_periods(explorer):
    client = explorer["client"]
    first = client.get(data_path(explorer), headers={"Accept": DATA_ACCEPT, "X-Range": "values=0-1", **HEADERS})
    assert first.status_code == 206
    total = int(first.headers["Content-Range"].rsplit("/", 1)[1])
    assert total > 2 and first.headers["Content-Range"] == f"values 0-1/{total}"
    assert len(orjson.loads(first.data)["data"]["dataSets"][0]["observations"]) == 2
    plain = client.get(data_path(explorer), headers={"Accept": DATA_ACCEPT, "Range": "values=2-3", **HEADERS})
    assert plain.status_code == 206 and plain.headers["Content-Range"] == f"values 2-3/{total}"
    last = client.get(data_path(explorer, "&lastNObservations=1"), headers={"Accept": DATA_ACCEPT, **HEADERS})
    times = orjson.loads(last.data)["data"]["structure"]["dimensions"]["observation"][-1]["values"]
    assert last.status_code == 200 and times


@pytest.mark.parametrize("accept", [
    "application/vnd.sdmx.data+json;version=1.0.0-wd;urn=true", "application/vnd.sdmx.data+json;version=1.0.0",
    "application/vnd.sdmx.data+json;version=1.0.0;urn=true", "application/vnd.sdmx.data+json; charset=utf-8; "
                                                              "version=1.0.0-wd"])
def test_every_data_accept_variant_means_sdmx_json_1(explorer, accept):
    response = explorer["client"].get(data_path(explorer), headers={"Accept": accept})
    assert response.headers["Content-Type"] == "application/vnd.sdmx.data+json;version=1.0.0"


def test_8_related_dataflows(explorer):
    response = explorer["client"].get(f"{WS}/datastructure/CAMIG/DSD_MIGR/1.0?references=parents"
                                      "&detail=allcompletestubs", headers={"Accept": STRUCTURE_ACCEPT, **HEADERS})
    assert response.status_code == 200 and validate_sdmx_json(response.data, "structure", "1.0.0") == []
    data = orjson.loads(response.data)["data"]
    flows = {f["id"]: f for f in data["dataflows"]}
    assert {"DF_MIGR_FLOW", "DF_MIGR_STOCK"} <= set(flows) and flows["DF_MIGR_FLOW"]["annotations"]
    assert "dataStructureComponents" not in data["dataStructures"][0]


def test_9_the_dataflow_overview(explorer):
    response = explorer["client"].get(f"{WS}/dataflow/CAMIG/DF_MIGR_FLOW/1.0",
                                      headers={"Accept": STRUCTURE_ACCEPT, **HEADERS})
    flow = orjson.loads(response.data)["data"]["dataflows"][0]
    assert flow["id"] == "DF_MIGR_FLOW" and flow["description"]


@pytest.mark.parametrize("name,labels", [("csvfile", False), ("csvfilewithlabels", True)])
def test_10_csv_download_without_custom_headers(explorer, name, labels):
    response = explorer["client"].get(data_path(explorer, f"&format={name}"))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.sdmx.data+csv")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.data.decode())))
    # With labels the field guides head each column "ID: Name" and give values as "code: name".
    column = "FREQ: Frequency" if labels else "FREQ"
    assert rows and rows[0][column] == ("A: Annual" if labels else "A")


def test_cors_preflight_and_exposed_headers(explorer):
    response = explorer["client"].options(data_path(explorer), headers={
        "Origin": "https://de.example.org", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "accept, accept-language, x-range, x-release, authorization"})
    assert response.status_code in (200, 204)
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"accept", "accept-language", "authorization", "x-range", "range", "x-release", "content-type"} <= allowed
    assert response.headers["Access-Control-Allow-Origin"]
    assert "Content-Range" in response.headers["Access-Control-Expose-Headers"]
