"""Schema queries: the XSD the service gives for a dataflow, DSD or provision agreement is a valid
schema (it compiles with the official SDMX 2.1 XSDs it imports), data the service itself emits
(structure-specific SDMX-ML 2.1 from /data) validates against it, and a wrong code does not.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest
from lxml import etree

from service.formats.schemas import SCHEMA_ROOT, validate_sdmx_json, validate_sdmx_ml

XSD = "application/vnd.sdmx.schema+xml;version=2.1"
SS = "application/vnd.sdmx.structurespecificdata+xml;version=2.1"
FLOW_NS = "urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=CAMIG:DF_MIGR_FLOW(1.0):ObsLevelDim:"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """The official SDMX-ML 2.1 schemas, where a generated schema imports them from (beside it)."""
    target = tmp_path_factory.mktemp("xsd")
    for path in (SCHEMA_ROOT / "xml" / "sdmx21").glob("*.xsd"):
        shutil.copy(path, target / path.name)
    return target


def compiled(folder: Path, name: str, body: bytes) -> etree.XMLSchema:
    """The generated schema alone (the imports resolved beside it): compiling proves it is valid."""
    (folder / f"{name}.xsd").write_bytes(body)
    return etree.XMLSchema(etree.parse(str(folder / f"{name}.xsd")))


def message_schema(folder: Path, name: str, namespace: str) -> etree.XMLSchema:
    """The official message schema together with the generated one: validates whole data messages."""
    (folder / f"{name}-driver.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:migstat:test-driver">'
        '<xs:import namespace="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message" '
        'schemaLocation="SDMXMessage.xsd"/>'
        f'<xs:import namespace="{namespace}" schemaLocation="{name}.xsd"/></xs:schema>', encoding="utf-8")
    return etree.XMLSchema(etree.parse(str(folder / f"{name}-driver.xsd")))


def fetch_schema(client, path: str) -> bytes:
    response = client.get(path)
    assert response.status_code == 200, response.data[:300]
    assert response.headers["Content-Type"] == XSD
    return response.data


def problems(schema: etree.XMLSchema, body: bytes) -> list[str]:
    schema.validate(etree.fromstring(body))
    return [e.message for e in schema.error_log]


@pytest.mark.parametrize("at_obs", ["TIME_PERIOD", "AllDimensions", "COUNTERPART_AREA"])
@pytest.mark.parametrize("api", ["/schema/dataflow/CAMIG/DF_MIGR_FLOW/1.0", "/v2/schema/dataflow/CAMIG/DF_MIGR_FLOW/+"])
def test_data_the_service_emits_validates_and_a_wrong_code_fails(service, folder, api, at_obs):
    client = service.client()
    name = f"flow-{at_obs}-{'v2' if api.startswith('/v2') else 'v1'}"
    body = fetch_schema(client, f"{api}?dimensionAtObservation={at_obs}")
    compiled(folder, name, body)
    schema = message_schema(folder, name, FLOW_NS + at_obs)
    data = client.get(f"/data/DF_MIGR_FLOW/all?dimensionAtObservation={at_obs}", headers={"Accept": SS})
    assert data.status_code == 200
    assert problems(schema, data.data) == []
    assert data.data.count(b'SEX="_T"') > 1
    wrong = problems(schema, data.data.replace(b'SEX="_T"', b'SEX="ZZ"', 1))
    assert len(wrong) == 1 and "'ZZ'" in wrong[0]
    outside = problems(schema, data.data.replace(b'INDICATOR="IMM"', b'INDICATOR="ARR_INT"', 1))
    assert len(outside) == 1 and "ARR_INT" in outside[0], "the dataflow's constraint narrows INDICATOR"
    missing = problems(schema, data.data.replace(b' REF_AREA="KZ"', b"", 1))
    assert missing and "REF_AREA" in missing[0]


def test_a_data_structure_allows_every_code_of_its_codelists(service, folder):
    client = service.client()
    body = fetch_schema(client, "/schema/datastructure/CAMIG/DSD_MIGR")
    compiled(folder, "dsd", body)
    namespace = "urn:sdmx:org.sdmx.infomodel.datastructure.DataStructure=CAMIG:DSD_MIGR(1.0):ObsLevelDim:TIME_PERIOD"
    schema = message_schema(folder, "dsd", namespace)
    data = client.get("/data/DF_MIGR_FLOW/all", headers={"Accept": SS}).data.replace(
        (FLOW_NS + "TIME_PERIOD").encode(), namespace.encode())
    assert problems(schema, data) == []
    assert problems(schema, data.replace(b'INDICATOR="IMM"', b'INDICATOR="ARR_INT"', 1)) == []


def test_a_provision_agreement_allows_its_provider_areas_only(service, folder):
    client = service.client()
    body = fetch_schema(client, "/schema/provisionagreement/CAMIG/PA_KG_NSC_DF_MIGR_FLOW/1.0")
    compiled(folder, "pa", body)
    namespace = ("urn:sdmx:org.sdmx.infomodel.registry.ProvisionAgreement=CAMIG:PA_KG_NSC_DF_MIGR_FLOW(1.0)"
                 ":ObsLevelDim:TIME_PERIOD")
    schema = message_schema(folder, "pa", namespace)

    def data(key: str) -> bytes:
        response = client.get(f"/data/DF_MIGR_FLOW/{key}", headers={"Accept": SS})
        return response.data.replace((FLOW_NS + "TIME_PERIOD").encode(), namespace.encode())

    assert problems(schema, data("A.KG..............")) == []
    kazakh = problems(schema, data("A.KZ.............."))
    assert kazakh and all("REF_AREA" in p for p in kazakh)


def test_the_schema_types_what_the_structure_defines(service):
    body = fetch_schema(service.client(), "/schema/dataflow/CAMIG/DF_MIGR_FLOW")
    root = etree.fromstring(body)
    xs = "{http://www.w3.org/2001/XMLSchema}"
    types = {t.get("name"): t for t in root.iter(f"{xs}complexType")}
    assert set(types) == {"DataSetType", "SeriesType", "ObsType"}
    series = {a.get("name"): a.get("use") for a in types["SeriesType"].iter(f"{xs}attribute")}
    assert series["REF_AREA"] == "required" and series["UNIT_MEASURE"] == "optional"
    assert series["TIME_PERIOD"] == "prohibited"
    obs = {a.get("name"): a.get("type") for a in types["ObsType"].iter(f"{xs}attribute")}
    assert obs["OBS_VALUE"] == "xs:double" and obs["TIME_PERIOD"] == "common:ObservationalTimePeriodType"
    simple = {t.get("name"): [e.get("value") for e in t.iter(f"{xs}enumeration")] for t in root.iter(f"{xs}simpleType")}
    assert simple["CL_MIGR_INDICATOR.INDICATOR"] == ["IMM", "EMI", "NETM", "IMM_RT", "EMI_RT", "NETM_RT", "ARR_TOT",
                                                      "DEP_TOT", "NETM_TOT"]
    assert "_T" in simple["CL_SEX"] and "CL_SEX.SEX" not in simple


def test_the_structure_formats_give_the_structures_cut_to_the_allowed_codes(service):
    client = service.client()
    response = client.get("/v2/schema/dataflow/CAMIG/DF_MIGR_FLOW/+",
                          headers={"Accept": "application/vnd.sdmx.structure+json;version=2.0.0"})
    assert validate_sdmx_json(response.data, "structure", "2.0.0") == []
    data = orjson.loads(response.data)["data"]
    assert set(data) == {"dataStructures", "codelists", "conceptSchemes", "agencySchemes"}
    indicators = next(cl for cl in data["codelists"] if cl["id"] == "CL_MIGR_INDICATOR")
    assert {c["id"] for c in indicators["codes"]} == {"IMM", "EMI", "NETM", "IMM_RT", "EMI_RT", "NETM_RT", "ARR_TOT",
                                                       "DEP_TOT", "NETM_TOT"}
    ml = client.get("/schema/dataflow/CAMIG/DF_MIGR_FLOW", headers={"Accept": "application/vnd.sdmx.structure+xml;"
                                                                               "version=2.1"})
    assert validate_sdmx_ml(ml.data) == []


@pytest.mark.parametrize("path,status,accept", [
    ("/schema/dataflow/all/DF_MIGR_FLOW/latest", 400, None),
    ("/schema/dataflow/CAMIG/DF_NOPE", 404, None),
    ("/schema/dataflow/CAMIG/DF_MIGR_FLOW/9.9", 404, None),
    ("/schema/metadataflow/CAMIG/MDF", 501, None),
    ("/schema/nonsense/CAMIG/DF_MIGR_FLOW", 400, None),
    ("/schema/dataflow/CAMIG/DF_MIGR_FLOW?dimensionAtObservation=NOPE", 400, None),
    ("/schema/dataflow/CAMIG/DF_MIGR_FLOW?explicitMeasure=true", 200, None),
    ("/v2/schema/dataflow/CAMIG/DF_MIGR_FLOW/1.+.0", 501, None),
    ("/v2/schema/dataflow/CAMIG/DF_MIGR_FLOW/+?asOf=2020-01-01T00:00:00Z", 501, None),
    ("/v2/schema/dataflow/CAMIG/DF_MIGR_FLOW/+?deletion=true", 200, None),
    ("/v2/schema/dataflow/CAMIG/DF_MIGR_FLOW/+", 406, "application/vnd.sdmx.schema+xml;version=3.0.0"),
    ("/v2/schema/dataflow/CAMIG/DF_MIGR_FLOW/+", 406, "application/vnd.sdmx.schema+json;version=2.0.0"),
    ("/schema/dataflow/CAMIG/DF_MIGR_FLOW", 200, "application/xml"),
])
def test_schema_query_forms(service, path, status, accept):
    response = service.client().get(path, headers={"Accept": accept} if accept else {})
    assert response.status_code == status, response.data[:300]
