"""sdmx1 and pysdmx as ordinary clients of the running service, over HTTP.

Each reads the national example tables back through the API, in every data
format it can read, and must find the numbers the national offices published.
"""

from __future__ import annotations

import io

import pytest
import requests
import sdmx
import sdmx.reader.xml.v30  # noqa: F401  sdmx1 2.28 cannot import its 3.0 reader after it has read 2.1
                            # structure-specific data (it parses the data set namespace as a known prefix)
from pysdmx.io import get_datasets, read_sdmx

from api_fixtures import (AGENCY, BILATERAL, BILATERAL_CODES, BILATERAL_KEY, DIMENSIONS, TOTALS, TOTALS_CODES,
                          TOTALS_KEY, record)

GENERIC_21 = "application/vnd.sdmx.genericdata+xml;version=2.1"
GENERIC_TS_21 = "application/vnd.sdmx.generictimeseriesdata+xml;version=2.1"
SS_21 = "application/vnd.sdmx.structurespecificdata+xml;version=2.1"
SS_TS_21 = "application/vnd.sdmx.structurespecifictimeseriesdata+xml;version=2.1"
ML_30 = "application/vnd.sdmx.data+xml;version=3.0.0"
CSV_10 = "application/vnd.sdmx.data+csv;version=1.0.0"
CSV_20 = "application/vnd.sdmx.data+csv;version=2.0.0"
JSON_10 = "application/vnd.sdmx.data+json;version=1.0.0"
JSON_20 = "application/vnd.sdmx.data+json;version=2.0.0"

#: What sdmx1 2.28 reads of what the service writes. It cannot read SDMX-JSON data as the
#: standard writes it (it knows the 1.0 draft layout {header, structure, dataSets} and stops on the
#: list of ``data.structures`` of 2.0), nor SDMX-CSV 1.0 (it reads SDMX-CSV 2.0 only).
SDMX1_FORMATS = [GENERIC_21, GENERIC_TS_21, SS_21, SS_TS_21, ML_30, CSV_20]
PYSDMX_FORMATS = [GENERIC_21, GENERIC_TS_21, SS_21, SS_TS_21, ML_30, CSV_10, CSV_20]


@pytest.fixture
def client(service):
    """sdmx1's Client on the service; the source id is the agency, which sdmx1 puts in structure paths."""
    sdmx.add_source({"id": AGENCY, "url": service.base_url, "name": "migstat"}, override=True)
    return sdmx.Client(AGENCY)


@pytest.fixture
def dsd(client):
    return client.datastructure("DSD_MIGR", params={"references": "children"}).structure["DSD_MIGR"]


def sdmx1_key(codes: dict[str, str]) -> dict[str, list[str]]:
    """A key as sdmx1 takes it to keep the structure for reading (with a string key it drops ``dsd``)."""
    return {dim: value.split("+") for dim, value in codes.items()}


def sdmx1_records(message) -> dict:
    """{(REF_AREA, INDICATOR, COUNTERPART_AREA, TIME_PERIOD): value} of every observation sdmx1 read."""
    found = {}
    for dataset in message.data:
        for obs in dataset.obs:
            codes = {k: v.value for k, v in obs.key.values.items()}
            if obs.series_key is not None:
                codes.update({k: v.value for k, v in obs.series_key.values.items()})
            key, value = record(codes, obs.value)
            assert key not in found, f"{key} read twice"
            found[key] = value
    return found


def pandas_records(series) -> dict:
    frame = series.reset_index()
    return dict(record(row, row["value"]) for row in frame.to_dict("records"))


def pysdmx_records(datasets) -> dict:
    found = {}
    for dataset in datasets:
        for row in dataset.data.to_dict("records"):
            key, value = record(row, row["OBS_VALUE"])
            assert key not in found, f"{key} read twice"
            found[key] = value
    return found


# -- sdmx1 ----------------------------------------------------------------------------------------

def test_sdmx1_lists_the_five_dataflows_with_their_names(client):
    flows = client.dataflow().dataflow
    assert sorted(flows) == ["DF_MIGR_FLOW", "DF_MIGR_INTERNAL", "DF_MIGR_LABOUR", "DF_MIGR_STATUS",
                             "DF_MIGR_STOCK"]
    assert str(flows["DF_MIGR_FLOW"].name) == "International migration flows"
    assert all(f.maintainer.id == AGENCY for f in flows.values())


def test_sdmx1_reads_the_structure_with_its_codelists(client):
    message = client.datastructure("DSD_MIGR", params={"references": "children"})
    dsd = message.structure["DSD_MIGR"]
    dimensions = [d.id for d in dsd.dimensions]
    assert dimensions == [*DIMENSIONS, "TIME_PERIOD"]  # 16 dimensions and the time dimension
    assert dsd.measures[0].id == "OBS_VALUE"
    assert {"OBS_STATUS", "UNIT_MEASURE", "UNIT_MULT"} <= {a.id for a in dsd.attributes}
    assert len(message.codelist) == 19 and "CS_MIGR" in message.concept_scheme
    sex = message.codelist["CL_SEX"]
    assert {"_T", "F", "M"} <= set(sex.items) and str(sex["F"].name) == "Female"
    area = dsd.dimensions.get("REF_AREA").local_representation.enumerated
    assert area is message.codelist["CL_AREA"] and "KZ" in area


def test_sdmx1_follows_its_own_habit_of_fetching_the_flow_with_all_references(client):
    # sdmx1 validates a key given as a dict against the structure it fetches itself with
    # /dataflow/CAMIG/DF_MIGR_FLOW/latest?references=all
    series = sdmx.to_pandas(client.data("DF_MIGR_FLOW", key=sdmx1_key(TOTALS_CODES)))
    assert pandas_records(series) == TOTALS


@pytest.mark.parametrize("accept", [None, *SDMX1_FORMATS])
def test_sdmx1_reads_the_national_numbers_in_each_format_it_reads(client, dsd, accept):
    headers = {"Accept": accept} if accept else {}
    for codes, expected in ((TOTALS_CODES, TOTALS), (BILATERAL_CODES, BILATERAL)):
        message = client.data("DF_MIGR_FLOW", key=sdmx1_key(codes), dsd=dsd, headers=headers)
        assert sdmx1_records(message) == expected


def test_sdmx1_gives_the_national_numbers_as_a_pandas_series(client, dsd):
    series = sdmx.to_pandas(client.data("DF_MIGR_FLOW", key=sdmx1_key(TOTALS_CODES), dsd=dsd))
    assert series.index.names == [*DIMENSIONS, "TIME_PERIOD"]
    assert pandas_records(series) == TOTALS
    assert series.xs(("KZ", "NETM"), level=("REF_AREA", "INDICATOR")).item() == -21623


def test_sdmx1_reads_the_data_with_a_period_filter(client, dsd):
    message = client.data("DF_MIGR_FLOW", key=sdmx1_key(TOTALS_CODES), dsd=dsd, params={"startPeriod": "2018"})
    assert sdmx1_records(message) == {k: v for k, v in TOTALS.items() if k[3] == "2018"}


def test_sdmx1_reads_an_error_as_an_http_error(client, dsd):
    with pytest.raises(requests.HTTPError) as failure:
        client.data("DF_MIGR_FLOW", key=sdmx1_key(TOTALS_CODES), dsd=dsd, params={"startPeriod": "2030"})
    assert failure.value.response.status_code == 404


# -- pysdmx ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("accept", PYSDMX_FORMATS)
def test_pysdmx_reads_the_national_numbers_in_each_format(service, accept):
    for key, expected in ((TOTALS_KEY, TOTALS), (BILATERAL_KEY, BILATERAL)):
        response = service.get(f"/data/DF_MIGR_FLOW/{key}", Accept=accept)
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"] == accept
        message = read_sdmx(response.text)
        assert pysdmx_records(message.data) == expected
        assert all(str(d.short_urn).endswith(f"={AGENCY}:DF_MIGR_FLOW(1.0)") for d in message.data)


@pytest.mark.parametrize("query", ["format=csv&formatVersion=2.0.0", "format=genericdata",
                                   "format=structurespecificdata&formatVersion=3.0.0"])
def test_pysdmx_fetches_data_and_structure_by_url(service, query):
    datasets = get_datasets(service.url(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}?{query}"),
                            service.url(f"/dataflow/{AGENCY}/DF_MIGR_FLOW/1.0?references=all"))
    assert pysdmx_records(datasets) == TOTALS
    structure = datasets[0].structure
    assert [d.id for d in structure.components.dimensions] == [*DIMENSIONS, "TIME_PERIOD"]


@pytest.mark.parametrize("accept", ["application/vnd.sdmx.structure+xml;version=2.1",
                                    "application/vnd.sdmx.structure+json;version=2.0.0"])
def test_pysdmx_reads_the_structures(service, accept):
    response = service.get(f"/dataflow/{AGENCY}/DF_MIGR_FLOW/latest?references=all", Accept=accept)
    assert response.status_code == 200 and response.headers["Content-Type"] == accept
    message = read_sdmx(response.text)
    kinds = {type(s).__name__ for s in message.structures}
    assert {"Dataflow", "DataStructureDefinition", "Codelist", "ConceptScheme"} <= kinds
    sex = next(s for s in message.structures if type(s).__name__ == "Codelist" and s.id == "CL_SEX")
    assert {"_T", "F", "M"} <= {code.id for code in sex.codes}


def test_pysdmx_reads_the_error_message(service):
    from pysdmx.errors import Invalid
    response = service.get(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}?startPeriod=2030")
    assert response.status_code == 404
    with pytest.raises(Invalid, match="100"):
        read_sdmx(io.StringIO(response.text).read())
