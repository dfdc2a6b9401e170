"""SDMX-REST 1.5.0 structure queries against the running service.

Every resource type the service holds with the agency/id/version keywords,
itemID, detail and references; every standard resource it does not hold
answers 501 with an SDMX error, never 404; what is not a resource is 404.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from lxml import etree

from service.formats.schemas import validate_sdmx_ml

MES = "{http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message}"
STR = "{http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure}"
COM = "{http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common}"
ITEM_TAGS = {f"{STR}{tag}" for tag in ("Code", "Concept", "Agency", "DataProvider", "Category")}

#: Resource -> one artefact of it the catalog holds.
HELD = {
    "dataflow": "DF_MIGR_FLOW", "datastructure": "DSD_MIGR", "codelist": "CL_SEX", "conceptscheme": "CS_MIGR",
    "agencyscheme": "AGENCIES", "dataproviderscheme": "DATA_PROVIDERS", "contentconstraint": "CN_DF_MIGR_FLOW",
    "provisionagreement": "PA_KZ_BNS_DF_MIGR_FLOW",
}
ELEMENT = {"dataflow": "Dataflow", "datastructure": "DataStructure", "codelist": "Codelist",
           "conceptscheme": "ConceptScheme", "agencyscheme": "AgencyScheme", "dataproviderscheme": "DataProviderScheme",
           "contentconstraint": "ContentConstraint", "provisionagreement": "ProvisionAgreement"}
#: Standard SDMX-REST 1.5.0 structure resources this service holds nothing of.
UNHELD = ("metadatastructure", "metadataflow", "structureset", "process", "categorisation", "attachmentconstraint",
          "categoryscheme", "hierarchicalcodelist", "organisationscheme", "dataconsumerscheme",
          "organisationunitscheme", "transformationscheme", "rulesetscheme", "userdefinedoperatorscheme",
          "customtypescheme", "namepersonalisationscheme", "namealiasscheme")
DETAILS = ("full", "allstubs", "referencestubs", "allcompletestubs", "referencecompletestubs", "referencepartial")
REFERENCES = ("none", "parents", "parentsandsiblings", "children", "descendants", "all", "codelist",
              "conceptscheme", "datastructure", "dataflow", "contentconstraint", "provisionagreement",
              "dataproviderscheme")
CODELISTS = {"CL_FREQ", "CL_AREA", "CL_MIGR_INDICATOR", "CL_MIGR_DEF", "CL_MIGR_SOURCE", "CL_SEX", "CL_AGE",
             "CL_EDUCATION_LEV", "CL_OCCUPATION", "CL_ACTIVITY", "CL_MIGR_REASON", "CL_ETHNICITY", "CL_URBANISATION",
             "CL_OBS_STATUS", "CL_CONF_STATUS", "CL_UNIT_MEASURE", "CL_UNIT_MULT", "CL_DECIMALS", "CL_TIME_PER_COLLECT"}
PROVISION_AGREEMENTS = {f"PA_{p}_DF_MIGR_FLOW" for p in ("KZ_BNS", "KG_NSC", "TJ_STAT")}


@dataclass(frozen=True)
class Artefact:
    element: str  # Codelist, Dataflow, ...
    id: str
    agency: str
    version: str
    items: tuple[str, ...]
    partial: bool
    described: bool  # has a Description or Annotations (full and complete stubs)
    components: bool  # a DSD with its DataStructureComponents

    @property
    def name(self) -> str:
        return f"{self.element}:{self.id}"


def artefacts(body: bytes) -> list[Artefact]:
    """The maintainable artefacts of an SDMX-ML 2.1 structure message, in document order."""
    root = etree.fromstring(body)
    assert root.tag == f"{MES}Structure", root.tag
    found = []
    for group in root.find(f"{MES}Structures"):
        for element in group:
            found.append(Artefact(
                etree.QName(element).localname, element.get("id"), element.get("agencyID"), element.get("version"),
                tuple(child.get("id") for child in element if child.tag in ITEM_TAGS),
                element.get("isPartial") == "true",
                element.find(f"{COM}Description") is not None or element.find(f"{COM}Annotations") is not None,
                element.find(f"{STR}DataStructureComponents") is not None))
    return found


def names(found: list[Artefact]) -> set[str]:
    return {a.name for a in found}


def error_code(body: bytes) -> str:
    root = etree.fromstring(body)
    assert root.tag == f"{MES}Error", body[:300]
    return root.find(f"{MES}ErrorMessage").get("code")


@pytest.fixture(scope="module")
def get(service):
    """GET through the test client; the structure answer is checked against the XSD on the way."""
    client = service.client()

    def fetch(path: str, status: int = 200, **headers):
        response = client.get(path, headers=headers)
        assert response.status_code == status, (path, response.status_code, response.data[:500])
        if status == 200 and response.content_type.startswith("application/vnd.sdmx.structure+xml"):
            assert validate_sdmx_ml(response.data) == [], path
        return response
    return fetch


# -- resources, agency, id and version ---------------------------------------------------------------

@pytest.mark.parametrize("resource", [*HELD, "structure"])
def test_every_held_resource_answers_with_its_artefacts(get, resource):
    response = get(f"/{resource}")
    assert response.headers["Content-Type"] == "application/vnd.sdmx.structure+xml;version=2.1"
    found = artefacts(response.data)
    if resource == "structure":
        assert {a.element for a in found} == set(ELEMENT.values())
    else:
        assert {a.element for a in found} == {ELEMENT[resource]} and f"{ELEMENT[resource]}:{HELD[resource]}" \
            in names(found)


@pytest.mark.parametrize("resource", HELD)
@pytest.mark.parametrize("pattern", ["/{r}/all/all/all", "/{r}/all/{id}/latest", "/{r}/{agency}/{id}",
                                     "/{r}/{agency}/{id}/{version}", "/{r}/{agency}/{id}/latest",
                                     "/{r}/{agency}+XX/{id}+NOPE/{version}+9.9", "/{r}/all/{id}/all"])
def test_agency_id_and_version_keywords_and_lists(get, resource, pattern):
    agency = "SDMX" if resource == "agencyscheme" else "CAMIG"
    path = pattern.format(r=resource, agency=agency, id=HELD[resource], version="1.0")
    found = artefacts(get(path).data)
    assert f"{ELEMENT[resource]}:{HELD[resource]}" in names(found)
    if HELD[resource] in path:
        assert [(a.id, a.agency, a.version) for a in found] == [(HELD[resource], agency, "1.0")]


@pytest.mark.parametrize("path,expected", [
    ("/codelist/CAMIG/CL_SEX+CL_FREQ/latest", {"Codelist:CL_SEX", "Codelist:CL_FREQ"}),
    ("/codelist/CAMIG/CL_SEX,CL_AGE", {"Codelist:CL_SEX", "Codelist:CL_AGE"}),
    ("/dataflow/CAMIG/DF_MIGR_FLOW+DF_MIGR_STOCK/1.0", {"Dataflow:DF_MIGR_FLOW", "Dataflow:DF_MIGR_STOCK"}),
    ("/dataflow/all/all/latest", {f"Dataflow:DF_MIGR_{f}" for f in ("FLOW", "INTERNAL", "STOCK", "LABOUR",
                                                                    "STATUS")}),
    ("/codelist/CAMIG", {f"Codelist:{cl}" for cl in CODELISTS}),
])
def test_lists_of_ids(get, path, expected):
    assert names(artefacts(get(path).data)) == expected


@pytest.mark.parametrize("path", ["/codelist/XX", "/codelist/CAMIG/CL_NOPE", "/codelist/CAMIG/CL_SEX/9.9",
                                  "/dataflow/CAMIG/DF_NOPE/latest", "/codelist/CAMIG/CL_SEX/1.0/NOPE"])
def test_nothing_matching_is_404_with_sdmx_code_100(get, path):
    response = get(path, 404)
    assert response.content_type == "application/xml" and error_code(response.data) == "100"


# -- itemID -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path,element,items", [
    ("/codelist/CAMIG/CL_SEX/1.0/F+M", "Codelist", ("F", "M")),
    ("/codelist/CAMIG/CL_SEX/latest/F", "Codelist", ("F",)),
    ("/codelist/all/all/all/F", "Codelist", None),
    ("/conceptscheme/CAMIG/CS_MIGR/1.0/REF_AREA+SEX", "ConceptScheme", ("REF_AREA", "SEX")),
    ("/dataproviderscheme/CAMIG/DATA_PROVIDERS/1.0/KG_NSC", "DataProviderScheme", ("KG_NSC",)),
    ("/agencyscheme/SDMX/AGENCIES/1.0/CAMIG", "AgencyScheme", ("CAMIG",)),
])
def test_item_id_returns_a_partial_item_scheme(get, path, element, items):
    found = artefacts(get(path).data)
    assert found and all(a.element == element and a.partial for a in found), found
    if items is not None:
        assert [sorted(a.items) for a in found] == [sorted(items)]
    else:  # every codelist holding a code F, each with that code only
        assert {a.items for a in found} == {("F",)} and "Codelist:CL_SEX" in names(found)


def test_item_id_on_a_resource_that_is_no_item_scheme_is_a_syntax_error(get):
    assert error_code(get("/dataflow/CAMIG/DF_MIGR_FLOW/1.0/X", 400).data) == "140"


# -- detail ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("detail", DETAILS)
def test_detail_values(get, detail):
    found = {a.name: a for a in artefacts(get(f"/dataflow/CAMIG/DF_MIGR_FLOW?references=descendants&detail={detail}")
                                          .data)}
    flow, dsd, sex, concepts = (found[n] for n in ("Dataflow:DF_MIGR_FLOW", "DataStructure:DSD_MIGR",
                                                   "Codelist:CL_SEX", "ConceptScheme:CS_MIGR"))
    stubs = {"full": False, "referencepartial": False}.get(detail, True)
    assert set(found) == {"Dataflow:DF_MIGR_FLOW", "DataStructure:DSD_MIGR", "ConceptScheme:CS_MIGR",
                          *(f"Codelist:{cl}" for cl in CODELISTS)}
    # the referenced artefacts are stubs (no items, no components) in every *stubs detail
    assert (not sex.items) == stubs and (not concepts.items) == stubs and (not dsd.components) == stubs
    # complete stubs keep descriptions and annotations, plain stubs drop them
    if detail in ("allstubs", "referencestubs"):
        assert not sex.described and not dsd.described
    else:
        assert sex.described
    assert flow.described == (detail not in ("allstubs",))
    if detail == "referencepartial":  # only the codes the flow's constraint allows (and their parents)
        indicators = found["Codelist:CL_MIGR_INDICATOR"]
        assert indicators.partial and {"IMM", "EMI", "NETM"} <= set(indicators.items) \
            and "POP_FB" not in indicators.items
        assert not found["Codelist:CL_AREA"].partial  # REF_AREA is not constrained
    else:
        assert not any(a.partial for a in found.values())


def test_an_unknown_detail_is_a_syntax_error(get):
    assert error_code(get("/codelist?detail=some", 400).data) == "140"


# -- references -----------------------------------------------------------------------------------------

DESCENDANTS = {"DataStructure:DSD_MIGR", "ConceptScheme:CS_MIGR", *(f"Codelist:{cl}" for cl in CODELISTS)}
PARENTS = {"ContentConstraint:CN_DF_MIGR_FLOW", *(f"ProvisionAgreement:{pa}" for pa in PROVISION_AGREEMENTS)}


@pytest.mark.parametrize("references,added", [
    ("none", set()),
    ("children", {"DataStructure:DSD_MIGR"}),
    ("descendants", DESCENDANTS),
    ("parents", PARENTS),
    ("parentsandsiblings", PARENTS | {"DataProviderScheme:DATA_PROVIDERS"}),
    # all: also the Actual constraint computed from the data (what the .Stat Data Explorer reads)
    ("all", PARENTS | {"DataProviderScheme:DATA_PROVIDERS", "ContentConstraint:CR_A_DF_MIGR_FLOW"} | DESCENDANTS),
    ("codelist", {f"Codelist:{cl}" for cl in CODELISTS}),
    ("conceptscheme", {"ConceptScheme:CS_MIGR"}),
    ("datastructure", {"DataStructure:DSD_MIGR"}),
    ("contentconstraint", {"ContentConstraint:CN_DF_MIGR_FLOW"}),
    ("provisionagreement", {f"ProvisionAgreement:{pa}" for pa in PROVISION_AGREEMENTS}),
])
def test_references_of_a_dataflow_are_exactly_what_was_asked(get, references, added):
    found = artefacts(get(f"/dataflow/CAMIG/DF_MIGR_FLOW/latest?references={references}").data)
    assert names(found) == {"Dataflow:DF_MIGR_FLOW"} | added
    assert len(found) == len(names(found)), "an artefact is repeated"


@pytest.mark.parametrize("resource", HELD)
@pytest.mark.parametrize("references", REFERENCES)
def test_every_held_resource_answers_every_references_value(get, resource, references):
    agency = "SDMX" if resource == "agencyscheme" else "CAMIG"
    found = artefacts(get(f"/{resource}/{agency}/{HELD[resource]}/latest?references={references}").data)
    asked = f"{ELEMENT[resource]}:{HELD[resource]}"
    assert asked in names(found) and len(found) == len(names(found))
    if references not in ("none", "parents", "parentsandsiblings", "children", "descendants", "all"):
        assert {a.element for a in found if a.name != asked} <= {ELEMENT[references]}


def test_codelist_parents_are_the_structures_using_it(get):
    found = artefacts(get("/codelist/CAMIG/CL_SEX/1.0?references=parents").data)
    assert names(found) == {"Codelist:CL_SEX", "DataStructure:DSD_MIGR"}


def test_sdmx1_habit_dataflow_latest_with_all_references(get):
    found = artefacts(get("/dataflow/CAMIG/DF_MIGR_FLOW/latest?references=all").data)
    assert {"Dataflow:DF_MIGR_FLOW", "DataStructure:DSD_MIGR", "Codelist:CL_AREA"} <= names(found)
    dsd = next(a for a in found if a.element == "DataStructure")
    assert dsd.components


def test_an_unknown_references_value_is_a_syntax_error(get):
    assert error_code(get("/dataflow?references=everything", 400).data) == "140"


# -- what is not held, and what is not a resource ----------------------------------------------------------

@pytest.mark.parametrize("resource", UNHELD)
@pytest.mark.parametrize("suffix", ["", "/CAMIG/X/1.0", "/all/all/latest"])
def test_an_unheld_standard_resource_is_501_never_404(get, resource, suffix):
    response = get(f"/{resource}{suffix}", 501)
    assert response.content_type == "application/xml" and error_code(response.data) == "501"


@pytest.mark.parametrize("path", ["/nonsense", "/nonsense/CAMIG/X/1.0", "/codelists", "/data"])
def test_what_is_no_resource_is_404(get, path):
    response = get(path, 404)
    assert response.content_type == "application/xml" and error_code(response.data) == "100"


def test_unknown_query_parameters_are_a_syntax_error(get):
    assert error_code(get("/codelist?referencs=all", 400).data) == "140"
