"""Streaming data writers and error messages: schema validity, read-back by independent clients, memory.

Every writer, layout (dimensionAtObservation) and detail is validated against the
official schemas; what was written is read back (pysdmx, sdmx1, and for SDMX-JSON
a plain decoder of the indexes) and compared with the series that went in.
"""

from __future__ import annotations

import io
import math
import tracemalloc
from pathlib import Path

import orjson
import pytest
from lxml import etree

from service.formats.context import WriteContext
from service.formats.errors import ErrorEntry, write_error_json, write_error_ml
from service.formats.schemas import sdmx_ml_schema_path, validate_sdmx_json, validate_sdmx_ml
from service.formats.sdmx_json_data import write_sdmx_json_data_10, write_sdmx_json_data_20
from service.formats.sdmx_ml30_data import dsd_namespace, write_sdmx_ml30_data
from service.formats.sdmx_ml_generic import number as number_text
from service.formats.sdmx_ml_generic import write_generic_data, write_generic_timeseries_data
from service.model.data import Observation, Series, format_value
from service.model.structure import (
    DATASET, OBSERVATION, SERIES, Attribute, Codelist, ConceptRef, DataStructure, Dataflow, Dimension, Item,
    MaintainableRef, PrimaryMeasure, Representation, TimeDimension)

DETAILS = ("full", "dataonly", "serieskeysonly", "nodata")
LAYOUTS = ("TIME_PERIOD", "AllDimensions", "REF_AREA")
DIMS = ("FREQ", "REF_AREA", "SEX")


# -- a small structure, built by code -------------------------------------------------------------

def _codelist(cl_id: str, codes: list[str], parents: dict[str, str] | None = None) -> Codelist:
    return Codelist(ref=MaintainableRef("CAMIG", cl_id, "1.0"), names={"en": cl_id}, items=tuple(
        Item(id=c, names={"en": f"{c} (en)", "ru": f"{c} (ru)"}, parent=(parents or {}).get(c)) for c in codes))


CODELISTS = {cl.ref.id: cl for cl in (
    _codelist("CL_FREQ", ["A", "M"]),
    _codelist("CL_AREA", ["CIS", "KZ", "KG", "TJ"], {"KZ": "CIS", "KG": "CIS"}),
    _codelist("CL_SEX", ["_T", "M", "F"]),
    _codelist("CL_UNIT", ["PS", "PC"]),
    _codelist("CL_OBS_STATUS", ["A", "M", "E"]),
    _codelist("CL_UNIT_MULT", ["0", "3"]))}


def _coded(cl_id: str) -> Representation:
    return Representation(codelist=MaintainableRef("CAMIG", cl_id, "1.0"))


def _concept(concept_id: str) -> ConceptRef:
    return ConceptRef(MaintainableRef("CAMIG", "CS_TEST", "1.0"), concept_id)


TEXT = Representation(text_type="String")
DSD = DataStructure(
    ref=MaintainableRef("CAMIG", "DSD_TEST", "1.0"), names={"en": "Test"},
    dimensions=tuple(Dimension(d, _concept(d), _coded(cl), i + 1)
                     for i, (d, cl) in enumerate(zip(DIMS, ("CL_FREQ", "CL_AREA", "CL_SEX")))),
    time_dimension=TimeDimension("TIME_PERIOD", _concept("TIME_PERIOD")),
    attributes=(Attribute("OBS_STATUS", _concept("OBS_STATUS"), _coded("CL_OBS_STATUS"), OBSERVATION),
                Attribute("COMMENT_OBS", _concept("COMMENT_OBS"), TEXT, OBSERVATION),
                Attribute("UNIT_MEASURE", _concept("UNIT_MEASURE"), _coded("CL_UNIT"), SERIES),
                Attribute("COMMENT_TS", _concept("COMMENT_TS"), TEXT, SERIES),
                Attribute("UNIT_MULT", _concept("UNIT_MULT"), _coded("CL_UNIT_MULT"), DATASET)),
    measure=PrimaryMeasure("OBS_VALUE", _concept("OBS_VALUE")))
FLOW = Dataflow(ref=MaintainableRef("CAMIG", "DF_TEST", "1.0"), names={"en": "Test flow", "ru": "Тест"},
                structure=DSD.ref)

# Several series; a missing value; attributes at every level; text that needs escaping;
# attributes the DSD does not define or attaches elsewhere (never written).
SERIES_IN = [
    Series(("A", "KZ", "_T"), [Observation("2020", 1500.0, {"OBS_STATUS": "A"}),
                               Observation("2021", None, {"OBS_STATUS": "M", "COMMENT_OBS": 'not "yet" <&>'}),
                               Observation("2022", 12.25)],
           {"UNIT_MEASURE": "PS", "COMMENT_TS": "line 1\nline 2", "NOT_IN_DSD": "x"}),
    Series(("A", "KG", "F"), [Observation("2020", 7.0, {"OBS_STATUS": "E", "UNIT_MEASURE": "PC"}),
                              Observation("2021", -3.5e-07)], {"UNIT_MEASURE": "PC", "OBS_STATUS": "A"}),
    Series(("A", "TJ", "M"), [Observation("2021", 0.0)]),
]


def cross_sections(series: list[Series], dim: str) -> list[Series]:
    """The writers' convention for a non-time dimension at observation: group by the other
    dimensions and the period; the key holds those codes (DSD order, period last), each
    observation's ``time_period`` the code of ``dim``, and series attributes ride on it."""
    at = DIMS.index(dim)
    series_level = {a.id for a in DSD.attributes if a.attachment == SERIES}
    groups: dict[tuple, list[Observation]] = {}
    for s in series:
        riding = {k: v for k, v in s.attributes.items() if k in series_level}
        for o in s.observations:
            key = s.key[:at] + s.key[at + 1:] + (o.time_period,)
            groups.setdefault(key, []).append(Observation(s.key[at], o.value, {**riding, **o.attributes}))
    return [Series(key, obs) for key, obs in groups.items()]


def make_ctx(**options) -> WriteContext:
    options.setdefault("dataset_attributes", {"UNIT_MULT": "3"})
    return WriteContext(structure=DSD, dataflow=FLOW, codelists=CODELISTS, **options)


def series_for(layout: str) -> list[Series]:
    return cross_sections(SERIES_IN, layout) if layout in DIMS else SERIES_IN


def expected(detail: str) -> dict[tuple, tuple]:
    """(sorted key items) -> (value, attributes) of every observation, as the DSD places attributes."""
    series_level = {a.id for a in DSD.attributes if a.attachment == SERIES}
    obs_level = {a.id for a in DSD.attributes if a.attachment == OBSERVATION}
    out = {}
    for s in SERIES_IN:
        for o in s.observations:
            key = tuple(sorted({**dict(zip(DIMS, s.key)), "TIME_PERIOD": o.time_period}.items()))
            attrs = {} if detail != "full" else {
                **{k: v for k, v in s.attributes.items() if k in series_level},
                **{k: v for k, v in o.attributes.items() if k in obs_level}}
            out[key] = (o.value, attrs)
    return out


def same(got: dict[tuple, tuple], want: dict[tuple, tuple], attributes: str = "all") -> None:
    assert set(got) == set(want)
    for key, (value, attrs) in want.items():
        got_value, got_attrs = got[key]
        assert (got_value is None and value is None) or math.isclose(got_value, value), key
        if attributes == "all":
            assert got_attrs == attrs, key
        elif attributes == "observation":
            level = {a.id for a in DSD.attributes if a.attachment == OBSERVATION}
            assert {k: v for k, v in got_attrs.items() if k in level} == \
                   {k: v for k, v in attrs.items() if k in level}, key


def number(value) -> float | None:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    number_ = float(value)
    return None if math.isnan(number_) else number_


def text(value) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or str(value) in ("", "<NA>", "nan"):
        return None
    return str(value)


# -- SDMX-ML 2.1 generic -------------------------------------------------------------------------

@pytest.mark.parametrize("detail", DETAILS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_generic_data_is_valid(layout, detail):
    message = b"".join(write_generic_data(series_for(layout), make_ctx(dimension_at_observation=layout,
                                                                            detail=detail)))
    assert validate_sdmx_ml(message, "2.1") == []


@pytest.mark.parametrize("detail", DETAILS)
def test_generic_timeseries_data_is_valid(detail):
    message = b"".join(write_generic_timeseries_data(SERIES_IN, make_ctx(detail=detail, action="Merge")))
    assert validate_sdmx_ml(message, "2.1") == []
    assert b'action="Replace"' in message


def test_generic_timeseries_refuses_other_observation_dimensions_before_writing():
    with pytest.raises(ValueError, match="GenericData"):
        write_generic_timeseries_data(SERIES_IN, make_ctx(dimension_at_observation="AllDimensions"))
    with pytest.raises(ValueError, match="not a dimension"):
        write_generic_data(SERIES_IN, make_ctx(dimension_at_observation="NOPE"))


def _pysdmx_records(message: bytes) -> tuple[dict, dict]:
    from pysdmx.io import read_sdmx

    dataset = read_sdmx(io.BytesIO(message)).data[0]
    attribute_ids = [a.id for a in DSD.attributes if a.attachment != DATASET]
    records = {}
    for row in dataset.data.to_dict("records"):
        key = tuple(sorted((d, row[d]) for d in (*DIMS, "TIME_PERIOD")))
        attrs = {a: text(row.get(a)) for a in attribute_ids if text(row.get(a)) is not None}
        records[key] = (number(row.get("OBS_VALUE")), attrs)
    return records, dict(dataset.attributes)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_generic_data_reads_back_in_pysdmx(layout):
    message = b"".join(write_generic_data(series_for(layout), make_ctx(dimension_at_observation=layout)))
    records, dataset_attributes = _pysdmx_records(message)
    same(records, expected("full"))
    assert dataset_attributes == {"UNIT_MULT": "3"}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_generic_data_reads_back_in_sdmx1(layout):
    import sdmx
    message = b"".join(write_generic_data(series_for(layout), make_ctx(dimension_at_observation=layout)))
    dataset = sdmx.read_sdmx(io.BytesIO(message)).data[0]
    records = {tuple(sorted((k, str(v.value)) for k, v in obs.key.values.items())):
               (number(obs.value), {k: str(v.value) for k, v in obs.attrib.items()}) for obs in dataset.obs}
    # sdmx1 2.28 hands data-set Attributes to the next series without its own: compare observation level only.
    same(records, expected("full"), attributes="observation")


# -- SDMX-ML 3.0 structure-specific --------------------------------------------------------------

def _ss30_schema_text(layout: str, xsd_folder: Path) -> str:
    """A DSD-specific schema for SDMX-ML 3.0 structure-specific data, as SDMX registries derive them."""
    v30 = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/"
    flat, cross = layout == "AllDimensions", layout in DIMS

    def attrs(ids, use):
        return "".join(f'<xs:attribute name="{i}" type="xs:string" use="{use}"/>' for i in ids)

    series_dims = [d for d in DIMS if d != layout]
    at = {level: [a.id for a in DSD.attributes if a.attachment == level] for level in (SERIES, OBSERVATION)}
    obs_attrs = at[SERIES] + at[OBSERVATION] if (flat or cross) else at[OBSERVATION]
    obs_key = DIMS if flat else ([layout] if cross else [])
    time_on_obs, time_on_series = ("prohibited", "required") if cross else ("required", "prohibited")
    member = "Obs" if flat else "Series"
    series_type = "" if flat else f"""
  <xs:complexType name="SeriesType"><xs:complexContent><xs:restriction base="ss:SeriesType"><xs:sequence>
    <xs:element ref="common:Annotations" minOccurs="0"/>
    <xs:element name="Obs" type="ObsType" form="unqualified" minOccurs="0" maxOccurs="unbounded"/>
  </xs:sequence>
  <xs:attribute name="TIME_PERIOD" type="common:ObservationalTimePeriodType" use="{time_on_series}"/>
  {attrs(series_dims, "required")}{attrs([] if cross else at[SERIES], "optional")}
  </xs:restriction></xs:complexContent></xs:complexType>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{dsd_namespace(make_ctx(), layout)}"
    xmlns="{dsd_namespace(make_ctx(), layout)}" xmlns:ss="{v30}data/structurespecific" xmlns:common="{v30}common"
    elementFormDefault="unqualified" attributeFormDefault="unqualified">
  <xs:import namespace="{v30}message" schemaLocation="{xsd_folder.as_uri()}/SDMXMessage.xsd"/>
  <xs:import namespace="{v30}common" schemaLocation="{xsd_folder.as_uri()}/SDMXCommon.xsd"/>
  <xs:import namespace="{v30}data/structurespecific"
             schemaLocation="{xsd_folder.as_uri()}/SDMXDataStructureSpecific.xsd"/>
  <xs:complexType name="DataSetType"><xs:complexContent><xs:restriction base="ss:DataSetType"><xs:sequence>
    <xs:element ref="common:Annotations" minOccurs="0"/>
    <xs:element name="DataProvider" type="common:DataProviderReferenceType" form="unqualified" minOccurs="0"/>
    <xs:choice minOccurs="0" maxOccurs="unbounded">
      <xs:element name="{member}" type="{member}Type" form="unqualified"/>
    </xs:choice>
  </xs:sequence>{attrs([a.id for a in DSD.attributes if a.attachment == DATASET], "optional")}
  </xs:restriction></xs:complexContent></xs:complexType>{series_type}
  <xs:complexType name="ObsType"><xs:complexContent><xs:restriction base="ss:ObsType"><xs:sequence>
    <xs:element ref="common:Annotations" minOccurs="0"/>
  </xs:sequence>
  <xs:attribute name="type" use="prohibited"/>
  <xs:attribute name="TIME_PERIOD" type="common:ObservationalTimePeriodType" use="{time_on_obs}"/>
  {attrs(obs_key, "required")}<xs:attribute name="OBS_VALUE" type="xs:double" use="optional"/>
  {attrs(obs_attrs, "optional")}
  </xs:restriction></xs:complexContent></xs:complexType>
</xs:schema>"""


@pytest.mark.parametrize("detail", DETAILS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_sdmx_ml30_data_is_valid_against_the_official_and_a_dsd_specific_schema(layout, detail, tmp_path):
    ctx = make_ctx(dimension_at_observation=layout, detail=detail)
    message = b"".join(write_sdmx_ml30_data(series_for(layout), ctx))
    # The official schema alone cannot know the DSD's types: only these two complaints are expected.
    problems = validate_sdmx_ml(message, "3.0")
    assert all("xsi:type" in p or "abstract" in p for p in problems), problems
    written_layout = "TIME_PERIOD" if layout == "AllDimensions" and detail in ("serieskeysonly", "nodata") \
        else layout
    path = tmp_path / "dsd.xsd"
    path.write_text(_ss30_schema_text(written_layout, sdmx_ml_schema_path("3.0").parent))
    schema = etree.XMLSchema(etree.parse(str(path)))
    document = etree.fromstring(message)
    assert schema.validate(document), [e.message for e in schema.error_log]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_sdmx_ml30_data_reads_back_in_pysdmx(layout):
    message = b"".join(write_sdmx_ml30_data(series_for(layout), make_ctx(dimension_at_observation=layout)))
    records, dataset_attributes = _pysdmx_records(message)
    same(records, expected("full"))
    assert dataset_attributes == {"UNIT_MULT": "3"}


def _sdmx1_dsd():
    import sdmx
    from sdmx.model import common, v30

    dsd = v30.DataStructureDefinition(id=DSD.ref.id, maintainer=common.Agency(id="CAMIG"), version="1.0")
    for dim in DIMS:
        dsd.dimensions.getdefault(dim)
    dsd.dimensions.getdefault("TIME_PERIOD", cls=common.TimeDimension)
    for attr in DSD.attributes:
        concept = common.Concept(id=attr.id)
        concept.core_representation = common.Representation()
        dsd.attributes.getdefault(attr.id, local_representation=common.Representation(), concept_identity=concept)
    dsd.measures.getdefault("OBS_VALUE")
    return sdmx, dsd


@pytest.mark.parametrize("layout", ("TIME_PERIOD", "AllDimensions"))
def test_sdmx_ml30_data_reads_back_in_sdmx1(layout):
    sdmx, dsd = _sdmx1_dsd()
    # sdmx1 2.28 fails on data-set attributes of a 3.0 data set (it has no ``attrib``): none here.
    ctx = make_ctx(dimension_at_observation=layout, dataset_attributes={})
    message = b"".join(write_sdmx_ml30_data(SERIES_IN, ctx))
    dataset = sdmx.read_sdmx(io.BytesIO(message), structure=dsd).data[0]
    records = {}
    for obs in dataset.obs:
        key = tuple(sorted((k, str(v.value)) for k, v in obs.key.values.items()))
        records[key] = (number(obs.value), {k: str(v.value) for k, v in obs.attrib.items()})
    same(records, expected("full"), attributes="observation")


# -- SDMX-JSON -----------------------------------------------------------------------------------

JSON_WRITERS = {"1.0.0": write_sdmx_json_data_10, "2.0.0": write_sdmx_json_data_20}


def decode_json(message: dict, version: str) -> tuple[dict, dict]:
    """Observations of an SDMX-JSON data message, every index resolved through its structure."""
    data = message["data"]
    structure = data["structure"] if version == "1.0.0" else data["structures"][0]
    dims, attrs = structure["dimensions"], structure["attributes"]

    def value(component, index):
        item = component["values"][index]
        return item.get("id", item.get("value", item.get("name")))

    def resolve(components, indexes):
        return {c["id"]: value(c, i) for c, i in zip(components, indexes) if i is not None}

    dataset = data["dataSets"][0]
    records = {}
    groups = [({}, {}, {"observations": dataset["observations"]})] if "observations" in dataset else [
        (resolve(dims["series"], map(int, key.split(":"))), resolve(attrs["series"], body.get("attributes", [])),
         body) for key, body in dataset["series"].items()]
    for base, series_attrs, body in groups:
        for key, row in body.get("observations", {}).items():
            full = {**base, **resolve(dims["observation"], map(int, key.split(":")))}
            records[tuple(sorted(full.items()))] = (row[0], {**series_attrs, **resolve(attrs["observation"],
                                                                                           row[1:])})
    return records, resolve(attrs["dataSet"], dataset.get("attributes", []))


@pytest.mark.parametrize("detail", DETAILS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("version", JSON_WRITERS)
def test_sdmx_json_data_is_valid_and_decodes_to_what_went_in(version, layout, detail):
    chunks = list(JSON_WRITERS[version](series_for(layout), make_ctx(dimension_at_observation=layout,
                                                                      detail=detail)))
    assert validate_sdmx_json(b"".join(chunks), "data", version) == []
    records, dataset_attributes = decode_json(orjson.loads(b"".join(chunks)), version)
    if detail in ("full", "dataonly"):
        same(records, expected(detail))
    else:
        assert records == {}
    assert dataset_attributes == ({"UNIT_MULT": "3"} if detail in ("full", "nodata") else {})


@pytest.mark.parametrize("version", JSON_WRITERS)
def test_sdmx_json_structure_lists_the_values_seen_with_names_order_parent_and_time_bounds(version):
    message = orjson.loads(b"".join(JSON_WRITERS[version](SERIES_IN, make_ctx(languages=("ru", "en")))))
    structure = message["data"]["structure"] if version == "1.0.0" else message["data"]["structures"][0]
    area = next(d for d in structure["dimensions"]["series"] if d["id"] == "REF_AREA")
    assert [v["id"] for v in area["values"]] == ["KZ", "KG", "TJ"]  # as seen, not the whole codelist
    assert area["values"][0] == {"id": "KZ", "name": "KZ (ru)", "names": {"ru": "KZ (ru)", "en": "KZ (en)"},
                                 "order": 1}  # its parent CIS is not in the message
    time = structure["dimensions"]["observation"][0]
    assert time["id"] == "TIME_PERIOD" and time["keyPosition"] == 3 and time["roles"] == ["TIME_PERIOD"]
    assert time["values"][0] == {"id": "2020", "name": "2020", "start": "2020-01-01T00:00:00Z",
                                 "end": "2020-12-31T23:59:59Z"}
    assert structure["links"][0] == {"rel": "dataflow", "urn": FLOW.urn}
    assert message["data"]["dataSets"][0]["links"] == [{"rel": "dataflow", "urn": FLOW.urn}]
    assert structure["name"] == "Тест"
    assert message["meta"]["contentLanguages"] == ["ru", "en"]


def test_sdmx_json_values_seed_the_index_order():
    seeded = {"REF_AREA": ["CIS", "TJ", "KG", "KZ"]}
    message = orjson.loads(b"".join(write_sdmx_json_data_10(SERIES_IN, make_ctx(), seeded)))
    area = message["data"]["structure"]["dimensions"]["series"][1]
    assert [v["id"] for v in area["values"]] == ["CIS", "TJ", "KG", "KZ"]
    assert area["values"][3]["parent"] == "CIS"
    assert list(message["data"]["dataSets"][0]["series"]) == ["0:3:0", "0:2:1", "0:1:2"]


def test_sdmx_json_10_all_dimensions_is_the_layout_the_data_explorer_reads():
    message = orjson.loads(b"".join(write_sdmx_json_data_10(SERIES_IN, make_ctx(
        dimension_at_observation="AllDimensions"))))
    structure, dataset = message["data"]["structure"], message["data"]["dataSets"][0]
    assert structure["dimensions"]["dataSet"] == [] and structure["dimensions"]["series"] == []
    assert [(d["id"], d["keyPosition"]) for d in structure["dimensions"]["observation"]] == \
        [("FREQ", 0), ("REF_AREA", 1), ("SEX", 2), ("TIME_PERIOD", 3)]
    assert structure["attributes"]["series"] == []
    assert [a["id"] for a in structure["attributes"]["observation"]] == \
        ["OBS_STATUS", "COMMENT_OBS", "UNIT_MEASURE", "COMMENT_TS"]
    assert "series" not in dataset and dataset["observations"]["0:0:0:1"] == [None, 1, 0, 0, 0]


def test_sdmx_json_cross_sections_put_time_in_the_series_key():
    message = orjson.loads(b"".join(write_sdmx_json_data_20(series_for("REF_AREA"), make_ctx(
        dimension_at_observation="REF_AREA"))))
    dimensions = message["data"]["structures"][0]["dimensions"]
    assert [(d["id"], d["keyPosition"]) for d in dimensions["series"]] == \
        [("FREQ", 0), ("SEX", 2), ("TIME_PERIOD", 3)]
    assert [(d["id"], d["keyPosition"]) for d in dimensions["observation"]] == [("REF_AREA", 1)]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_sdmx_json_10_reads_back_in_sdmx1(layout):
    """sdmx1 2.28 reads the SDMX-JSON 1.0 draft layout {header, structure, dataSets} only, and no
    ``names`` on attribute values: the same content is handed to it in that shape."""
    import sdmx
    message = orjson.loads(b"".join(write_sdmx_json_data_10(series_for(layout),
                                                            make_ctx(dimension_at_observation=layout))))
    structure = message["data"]["structure"]
    for level in structure["attributes"].values():
        for attribute in level:
            for value in attribute["values"]:
                value.pop("names", None), value.pop("order", None)
    draft = {"header": message["meta"], "structure": structure, "dataSets": message["data"]["dataSets"]}
    dataset = sdmx.read_sdmx(io.BytesIO(orjson.dumps(draft)), format="JSON").data[0]
    records = {tuple(sorted((k, str(v.value)) for k, v in obs.key.values.items())):
               (obs.value, {k: str(getattr(v.value, "id", v.value)) for k, v in obs.attrib.items()})
               for obs in dataset.obs}
    same(records, expected("full"), attributes="observation")


# -- streaming -----------------------------------------------------------------------------------

ALL_WRITERS = [write_generic_data, write_generic_timeseries_data, write_sdmx_ml30_data,
               write_sdmx_json_data_10, write_sdmx_json_data_20]


def _many_series(n_series: int, years: int):
    for i in range(n_series):
        yield Series(("A", ("KZ", "KG", "TJ")[i % 3], ("_T", "M", "F")[i % 3 // 1]),
                     [Observation(str(1900 + y), float(i * y) if y % 7 else None, {"OBS_STATUS": "A"})
                      for y in range(years)], {"UNIT_MEASURE": "PS"})


@pytest.mark.parametrize("writer", ALL_WRITERS, ids=lambda w: w.__name__)
def test_writers_stream_200000_observations_in_bounded_memory(writer):
    chunks = writer(_many_series(10_000, 20), make_ctx())
    next(chunks)  # caches and the header are in place; measure the stream itself
    tracemalloc.start()
    total, largest = 0, 0
    for chunk in chunks:
        total += len(chunk)
        largest = max(largest, len(chunk))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{writer.__name__}: peak {peak:,} bytes while writing {total:,}")
    assert total > 3_000_000 and largest < 1_000_000
    assert peak < min(2_000_000, total // 4), f"peak {peak:,} bytes for {total:,} bytes written"


@pytest.mark.parametrize("writer", ALL_WRITERS, ids=lambda w: w.__name__)
def test_a_very_long_series_is_written_in_chunks(writer):
    long_series = Series(("A", "KZ", "_T"), (Observation(f"{1 + d // 366:04d}-D{1 + d % 366:03d}", float(d))
                                             for d in range(200_000)))
    chunks = writer([long_series], make_ctx(detail="dataonly"))
    sizes = [len(chunk) for chunk in chunks]
    assert len(sizes) > 20 and max(sizes) < 1_000_000


@pytest.mark.parametrize("writer", ALL_WRITERS, ids=lambda w: w.__name__)
def test_a_key_of_the_wrong_length_is_refused(writer):
    with pytest.raises(ValueError, match="codes"):
        b"".join(writer([Series(("A", "KZ"), [Observation("2020", 1.0)])], make_ctx()))


def test_obs_value_text_is_the_projects_format_value():
    for value in (None, float("nan"), 0.0, 1500.0, -3.5e-07, 12.25, 1e20, 123456789012.0):
        assert number_text(value) == format_value(value)
    assert (number_text(float("inf")), number_text(float("-inf"))) == ("INF", "-INF")


# -- error messages ------------------------------------------------------------------------------

ERRORS = [ErrorEntry(100, "No results found", 'no data for A.KZ <&> "F"'), ErrorEntry(140, "Syntax error")]


@pytest.mark.parametrize("version", ("2.1", "3.0"))
def test_error_message_in_sdmx_ml_is_valid(version):
    assert validate_sdmx_ml(write_error_ml(ERRORS, version), version) == []
    assert validate_sdmx_ml(write_error_ml(ERRORS[1], version), version) == []


@pytest.mark.parametrize("kind", ("data", "structure"))
@pytest.mark.parametrize("version", ("1.0.0", "2.0.0"))
def test_error_message_in_sdmx_json_is_valid(version, kind):
    body = write_error_json(ERRORS, version)
    assert validate_sdmx_json(body, kind, version) == []
    assert [e["code"] for e in orjson.loads(body)["errors"]] == [100, 140]
    assert "data" not in orjson.loads(body)


def test_pysdmx_reads_the_sdmx_ml_error_message():
    from pysdmx.errors import Invalid
    from pysdmx.io import read_sdmx

    with pytest.raises(Invalid, match="100"):
        read_sdmx(io.BytesIO(write_error_ml(ERRORS[0])))


# -- the project's own structure -----------------------------------------------------------------

def test_writers_on_the_project_dsd(catalog):
    flow = catalog.dataflows[0]
    dsd = next(d for d in catalog.data_structures if d.ref == flow.structure)
    codelists = {cl.ref.id: cl for cl in catalog.codelists}
    key = tuple("_T" if d.id != "FREQ" else "A" for d in dsd.dimensions)
    series = [Series(key, [Observation("2019", 10.0, {"OBS_STATUS": "A"}), Observation("2020", None)],
                     {"UNIT_MEASURE": "PS"})]
    ctx = WriteContext(structure=dsd, dataflow=flow, codelists=codelists)
    assert validate_sdmx_ml(b"".join(write_generic_data(series, ctx)), "2.1") == []
    for version, writer in JSON_WRITERS.items():
        assert validate_sdmx_json(b"".join(writer(series, ctx)), "data", version) == []
