"""Streaming data writers: SDMX-CSV 2.0 / 1.0 and SDMX-ML 2.1 structure-specific data.

Golden text on small series, XSD validation (Header included) with a
DSD-specific schema over the official SDMXMessage.xsd, and read-back with
sdmx1 and pysdmx as independent clients.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import math

import pytest
from lxml import etree
from mappings_fixtures import CODELISTS, DATAFLOW, STRUCTURE, obs, sample_series, series
from sdmx_data_schema import data_schema

from service.formats.context import WriteContext
from service.formats.sdmx_csv import write_sdmx_csv, write_sdmx_csv_1
from service.formats.sdmx_ml_data import flow_namespace, write_structure_specific

CTX = WriteContext(structure=STRUCTURE, dataflow=DATAFLOW, codelists={r.id: c for r, c in CODELISTS.items()},
                   message_id="TEST-1")


def text(chunks) -> str:
    return b"".join(chunks).decode("utf-8")


def test_sdmx_csv_2_golden():
    assert text(write_sdmx_csv(sample_series(), CTX)).splitlines() == [
        "STRUCTURE,STRUCTURE_ID,FREQ,REF_AREA,INDICATOR,COUNTERPART_AREA,TIME_PERIOD,OBS_VALUE,OBS_STATUS,"
        "CONF_STATUS,COMMENT_OBS,UNIT_MULT,COMMENT_TS",
        'dataflow,CAMIG:DF_TEST(1.0),A,KZ,IMM,_T,2017,16081,A,,,0,"arrivals, ""coupons"""',
        'dataflow,CAMIG:DF_TEST(1.0),A,KZ,IMM,_T,2018,12000,A,,,0,"arrivals, ""coupons"""',
        "dataflow,CAMIG:DF_TEST(1.0),A,KZ,EMI,_T,2017,37704,A,,,0,",
        "dataflow,CAMIG:DF_TEST(1.0),A,KZ,EMI,_T,2018,NaN,O,,,0,",
        'dataflow,CAMIG:DF_TEST(1.0),A,KZ,NETM,RU,2017,-26727,A,,"net, <balance> & more",0,',
        "dataflow,CAMIG:DF_TEST(1.0),A,KZ,NETM,RU,2018,NaN,Q,C,,0,",
        "dataflow,CAMIG:DF_TEST(1.0),A,KZ,NETM,RU,2019,0.5,N,,,0,",
    ]


def test_sdmx_csv_1_golden():
    lines = text(write_sdmx_csv_1(sample_series(), CTX)).splitlines()
    assert lines[0] == ("DATAFLOW,FREQ,REF_AREA,INDICATOR,COUNTERPART_AREA,TIME_PERIOD,OBS_VALUE,OBS_STATUS,"
                        "CONF_STATUS,COMMENT_OBS,UNIT_MULT,COMMENT_TS")
    assert lines[3] == "CAMIG:DF_TEST(1.0),A,KZ,EMI,_T,2017,37704,A,,,0,"
    assert len(lines) == 8


def test_sdmx_csv_options():
    ctx = dataclasses.replace(CTX, labels="both", keys="both", action="Replace")
    lines = text(write_sdmx_csv(sample_series()[1:2], ctx)).splitlines()
    assert lines[0].startswith("STRUCTURE,STRUCTURE_ID,ACTION,SERIES_KEY,OBS_KEY,FREQ,")
    assert lines[1].startswith("dataflow,CAMIG:DF_TEST(1.0): Test flow,R,A.KZ.EMI._T,A.KZ.EMI._T.2017,A: Annual,"
                               "KZ: Kazakhstan,EMI: Emigrants,_T: Total,2017,37704,A: Normal,")
    named = text(write_sdmx_csv(sample_series()[1:2], dataclasses.replace(CTX, labels="name"))).splitlines()
    assert named[0].startswith("STRUCTURE,STRUCTURE_ID,STRUCTURE_NAME,FREQ,FREQ name,REF_AREA,REF_AREA name,")
    assert named[2].startswith("dataflow,CAMIG:DF_TEST(1.0),Test flow,A,Annual,KZ,Kazakhstan,EMI,Emigrants,_T,Total,"
                               "2018,NaN,O,Missing,,,,0,Units,")
    assert {len(row) for row in csv.reader(named)} == {named[0].count(",") + 1}


@pytest.mark.parametrize("detail, header, rows", [
    ("dataonly", "STRUCTURE,STRUCTURE_ID,FREQ,REF_AREA,INDICATOR,COUNTERPART_AREA,TIME_PERIOD,OBS_VALUE", 7),
    ("serieskeysonly", "STRUCTURE,STRUCTURE_ID,FREQ,REF_AREA,INDICATOR,COUNTERPART_AREA", 3),
    ("nodata", "STRUCTURE,STRUCTURE_ID,FREQ,REF_AREA,INDICATOR,COUNTERPART_AREA,UNIT_MULT,COMMENT_TS", 3),
])
def test_sdmx_csv_detail(detail, header, rows):
    lines = text(write_sdmx_csv(sample_series(), dataclasses.replace(CTX, detail=detail))).splitlines()
    assert lines[0] == header and len(lines) == rows + 1
    assert {len(row) for row in csv.reader(lines)} == {header.count(",") + 1}


def endless_series():
    for year in itertools.count(1000):
        yield series("A.KZ.IMM._T", obs(str(year), 1.0))


@pytest.mark.parametrize("writer", [write_sdmx_csv, write_sdmx_csv_1, write_structure_specific])
def test_writers_stream(writer):
    """The first chunk comes before the input ends: nothing waits for the whole message."""
    chunks = writer(endless_series(), CTX)
    received = b""
    for _ in range(5):  # the header may come as a chunk of its own
        chunk = next(chunks)
        assert isinstance(chunk, bytes)
        received += chunk
        if b"1000" in received:  # the first observation's period
            break
    assert b"1000" in received


def write_ml(tmp_path, data=None, **changes):
    path = tmp_path / "data.xml"
    path.write_bytes(b"".join(write_structure_specific(sample_series() if data is None else data,
                                                        dataclasses.replace(CTX, **changes))))
    return path


@pytest.fixture
def schema(shared, tmp_path):
    return data_schema(STRUCTURE, flow_namespace(CTX), shared / "sdmx" / "sdmx-ml-2.1", tmp_path)


def test_sdmx_ml_validates_against_the_xsd(tmp_path, schema):
    doc = etree.parse(str(write_ml(tmp_path)))
    assert schema.validate(doc), schema.error_log


def test_sdmx_ml_nodata_and_serieskeysonly_validate(tmp_path, schema):
    for detail in ("nodata", "serieskeysonly", "dataonly"):
        doc = etree.parse(str(write_ml(tmp_path, detail=detail)))
        assert schema.validate(doc), (detail, schema.error_log)


@pytest.mark.parametrize("breakage", [
    ("<message:ID>TEST-1</message:ID>", ""),  # the Header lacks its ID
    ("<message:Test>false</message:Test>", "<message:Test>maybe</message:Test>"),
    ('<message:Sender id="MIGSTAT"/>', ""),
    ('dimensionAtObservation="TIME_PERIOD"', ""),
    (' FREQ="A"', ""),  # a series without a dimension
    ('OBS_VALUE="37704"', 'OBS_VALUE="37 704"'),
    ('ss:action="Information"', 'ss:action="Whatever"'),
])
def test_the_schema_really_checks_header_and_data(tmp_path, schema, breakage):
    path = write_ml(tmp_path)
    broken = path.read_text(encoding="utf-8").replace(*breakage, 1)
    assert broken != path.read_text(encoding="utf-8")
    assert not schema.validate(etree.fromstring(broken.encode()).getroottree())


def sdmx1_structure():
    import sdmx  # noqa: F401
    from sdmx.model import common, v21

    dsd = v21.DataStructureDefinition(id=STRUCTURE.ref.id, maintainer=common.Agency(id="CAMIG"), version="1.0")
    for order, dim_id in enumerate(STRUCTURE.dimension_ids):
        dsd.dimensions.getdefault(dim_id, order=order)
    dsd.dimensions.getdefault("TIME_PERIOD", cls=common.TimeDimension, order=len(STRUCTURE.dimension_ids))
    dsd.measures.getdefault("OBS_VALUE")
    key_dims = [d for d in dsd.dimensions if d.id != "TIME_PERIOD"]
    for attr in STRUCTURE.attributes:
        related = (v21.PrimaryMeasureRelationship() if attr.attachment == "observation"
                   else v21.DimensionRelationship(dimensions=key_dims))
        dsd.attributes.getdefault(attr.id, related_to=related)
    return dsd


def test_sdmx1_reads_the_sdmx_ml_back(tmp_path):
    import sdmx

    message = sdmx.read_sdmx(write_ml(tmp_path), structure=sdmx1_structure())
    (dataset,) = message.data
    got = {(tuple(kv.value for kv in key.values.values()), o.dimension.values["TIME_PERIOD"].value): o
           for key, observations in dataset.series.items() for o in observations}
    assert len(got) == 7
    assert float(got[(("A", "KZ", "IMM", "_T"), "2017")].value) == 16081
    assert math.isnan(float(got[(("A", "KZ", "EMI", "_T"), "2018")].value))
    confidential = got[(("A", "KZ", "NETM", "RU"), "2018")].attached_attribute
    assert (confidential["OBS_STATUS"].value, confidential["CONF_STATUS"].value) == ("Q", "C")
    first_key = next(iter(dataset.series))
    assert first_key.attrib["COMMENT_TS"].value == 'arrivals, "coupons"'


def test_pysdmx_reads_every_format_back(tmp_path):
    from pysdmx.io import read_sdmx

    paths = [write_ml(tmp_path)]
    for name, writer in (("v2.csv", write_sdmx_csv), ("v1.csv", write_sdmx_csv_1)):
        paths.append(tmp_path / name)
        paths[-1].write_bytes(b"".join(writer(sample_series(), CTX)))
    for path in paths:
        (dataset,) = read_sdmx(path, validate=True).data
        frame = dataset.data
        assert dataset.short_urn == "Dataflow=CAMIG:DF_TEST(1.0)", path
        assert len(frame) == 7
        values = dict(zip(zip(frame["INDICATOR"], frame["TIME_PERIOD"].astype(str)), frame["OBS_VALUE"]))
        assert float(values[("NETM", "2017")]) == -26727
        assert float(values[("NETM", "2019")]) == 0.5
        assert set(frame["OBS_STATUS"]) == {"A", "O", "Q", "N"}


def test_flat_observations_with_all_dimensions(tmp_path):
    path = write_ml(tmp_path, dimension_at_observation="AllDimensions")
    root = etree.parse(str(path)).getroot()
    assert root.find(".//{*}Structure").get("namespace").endswith(":ObsLevelDim:AllDimensions")
    flat = root.findall(".//Obs")
    assert len(flat) == 7 and not root.findall(".//Series")
    assert flat[0].get("FREQ") == "A" and flat[0].get("UNIT_MULT") == "0" and flat[0].get("OBS_VALUE") == "16081"


def test_another_dimension_at_observation(tmp_path):
    """Series regrouped by the caller (key: other dimensions + TIME_PERIOD, observations over the dimension)."""
    from service.model.data import Observation, Series

    pivoted = [Series(("A", "KZ", "NETM", "2017"), [Observation("RU", -26727.0, {"OBS_STATUS": "A"}),
                                                    Observation("_T", -21623.0, {"OBS_STATUS": "A"})],
                      {"UNIT_MULT": "0"})]
    ctx = dataclasses.replace(CTX, dimension_at_observation="COUNTERPART_AREA")
    lines = text(write_sdmx_csv(pivoted, ctx)).splitlines()
    assert lines[1].startswith("dataflow,CAMIG:DF_TEST(1.0),A,KZ,NETM,RU,2017,-26727,A,")
    assert lines[2].startswith("dataflow,CAMIG:DF_TEST(1.0),A,KZ,NETM,_T,2017,-21623,A,")
    root = etree.fromstring(b"".join(write_structure_specific(pivoted, ctx)))
    series_element = root.find(".//Series")
    assert series_element.get("TIME_PERIOD") == "2017" and series_element.get("COUNTERPART_AREA") is None
    assert [o.get("COUNTERPART_AREA") for o in series_element.findall("Obs")] == ["RU", "_T"]
    assert root.find(".//{*}Structure").get("dimensionAtObservation") == "COUNTERPART_AREA"
