"""Data readers: round trips through every writer, the CSV and ML conventions, hostile input, memory.

What the writers produce reads back to the same keys, periods, values and
attributes; each hostile body is refused with a ReadError naming the
problem and where; large bodies are read in bounded memory.
"""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import orjson
import pytest

from service.formats.context import WriteContext
from service.formats.read_csv import FIELD_LIMIT
from service.formats.reading import (
    HEAD_BYTES, ReadError, catalog_lookup, choose_reader, iter_data, new_observation, read_data,
    row_origin)
from service.formats.sdmx_csv import write_sdmx_csv, write_sdmx_csv_1
from service.formats.sdmx_ml30_data import write_sdmx_ml30_data
from service.formats.sdmx_ml_data import write_structure_specific
from service.formats.sdmx_ml_generic import write_generic_data, write_generic_timeseries_data
from service.model.data import DELETE, MERGE, REPLACE, Observation, Origin, Series
from service.model.validate import check_series

try:
    from service.formats.sdmx_json_data import write_sdmx_json_data_10, write_sdmx_json_data_20
except ImportError:  # written by another part of the project
    write_sdmx_json_data_10 = write_sdmx_json_data_20 = None

CSV2 = "application/vnd.sdmx.data+csv;version=2.0.0"
FLOW_REF = "CAMIG:DF_MIGR_FLOW(1.0)"
KZ = ("A", "KZ", "IMM", "UN_LT", "ADMIN", "W", "_T", "_T", "_T", "_T", "_T", "_T", "_T", "_T", "_T", "_T")
KG = ("A", "KG", "EMI", "UN_LT", "ADMIN", "RU", "_T", "_T", "F", "_T", "_T", "_T", "_T", "_T", "_T", "_T")

SERIES_IN = [
    Series(KZ, [Observation("2019", 1500.0, {"OBS_STATUS": "A"}),
                Observation("2020", None, {"OBS_STATUS": "M", "COMMENT_OBS": 'not "yet", <&> ещё'}),
                Observation("2021", 12.25, {"OBS_STATUS": "E", "COMMENT_OBS": "=SUM(A1:A9)"})],
           {"UNIT_MEASURE": "PS", "UNIT_MULT": "0", "COMMENT_TS": "registrations; перепись"}),
    Series(KG, [Observation("2020", 7.0, {"OBS_STATUS": "A"})], {"UNIT_MEASURE": "PS", "UNIT_MULT": "3"}),
]


@pytest.fixture(scope="module")
def flow(catalog):
    return catalog.dataflow("DF_MIGR_FLOW")


@pytest.fixture(scope="module")
def dsd(catalog, flow):
    return catalog.structure_of(flow)


@pytest.fixture(scope="module")
def lookup(catalog):
    return catalog_lookup(catalog)


def content(datasets) -> list:
    """What a round trip must keep: per series its key, attributes and observations."""
    return [(s.key, dict(s.attributes), [(o.time_period, o.value, dict(o.attributes)) for o in s.observations])
            for d in datasets for s in d.series]


EXPECTED = content([type("D", (), {"series": SERIES_IN})])

WRITERS = {
    "csv-2.0": (write_sdmx_csv, {}),
    "csv-2.0-labels-both-keys": (write_sdmx_csv, {"labels": "both", "keys": "both"}),
    "csv-2.0-labels-name": (write_sdmx_csv, {"labels": "name"}),
    "csv-1.0": (write_sdmx_csv_1, {}),
    "csv-1.0-labels-both": (write_sdmx_csv_1, {"labels": "both"}),
    "ml-2.1-structure-specific": (write_structure_specific, {}),
    "ml-2.1-structure-specific-flat": (write_structure_specific, {"dimension_at_observation": "AllDimensions"}),
    "ml-2.1-generic": (write_generic_data, {}),
    "ml-2.1-generic-flat": (write_generic_data, {"dimension_at_observation": "AllDimensions"}),
    "ml-2.1-generic-timeseries": (write_generic_timeseries_data, {}),
    "ml-3.0": (write_sdmx_ml30_data, {}),
    "ml-3.0-flat": (write_sdmx_ml30_data, {"dimension_at_observation": "AllDimensions"}),
    "json-2.0": (write_sdmx_json_data_20, {}),
    "json-2.0-flat": (write_sdmx_json_data_20, {"dimension_at_observation": "AllDimensions"}),
    "json-1.0": (write_sdmx_json_data_10, {}),
}


def write(writer, series, catalog, flow, dsd, **options) -> bytes:
    codelists = {cl.ref.id: cl for cl in catalog.codelists}
    return b"".join(writer(series, WriteContext(dsd, flow, codelists=codelists, **options)))


# -- round trips -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", WRITERS)
@pytest.mark.parametrize("action", ["Replace", "Information"])
def test_round_trip(name, action, catalog, flow, dsd, lookup):
    writer, options = WRITERS[name]
    if writer is None:
        pytest.skip("service.formats.sdmx_json_data is not there")
    body = write(writer, SERIES_IN, catalog, flow, dsd, action=action, **options)
    for given in (body, io.BytesIO(body)):  # bytes, or a stream whose type is sniffed
        datasets = read_data(given, None, lookup)
        replace = action == "Replace" and not name.startswith("csv-1.0")  # SDMX-CSV 1.0 has no action
        assert [(d.dataflow, d.action) for d in datasets] == [(FLOW_REF, REPLACE if replace else MERGE)]
        assert content(datasets) == EXPECTED
    if name.startswith("csv-1.0"):
        return
    # Every observation knows its row (CSV) or line (structure-specific XML, one element per line).
    lines = body.decode().splitlines()
    rows = [o.origin.row for s in datasets[0].series for o in s.observations]
    if name == "csv-2.0":
        assert rows == [2, 3, 4, 5]
    if name == "ml-2.1-structure-specific":
        assert [lines[r - 1].lstrip()[:4] for r in rows] == ["<Obs"] * 4


def test_round_trip_many_series_streamed(catalog, flow, dsd, lookup):
    series = [Series(KZ[:1] + (area,) + KZ[2:], [Observation(str(y), float(y), {"OBS_STATUS": "A"})
                                                  for y in range(2000, 2020)], {"UNIT_MEASURE": "PS",
                                                                                 "UNIT_MULT": "0"})
              for area in ("KZ", "KG", "TJ", "RU", "UZ")]
    for writer in (write_sdmx_csv, write_structure_specific, write_generic_data, write_sdmx_ml30_data):
        body = write(writer, series, catalog, flow, dsd)
        datasets = iter_data(io.BytesIO(body), None, lookup)
        dataset = next(datasets)  # series are read as they are iterated, before the next dataset
        assert [(s.key, len(s.observations)) for s in dataset.series] == [(s.key, 20) for s in series]
        assert next(datasets, None) is None


def test_fast_constructors_equal_the_model():
    origin = row_origin(7)
    assert origin == Origin(row=7) and type(origin) is Origin
    obs = new_observation("2020", 1.5, {"OBS_STATUS": "A"}, origin)
    assert obs == Observation("2020", 1.5, {"OBS_STATUS": "A"}, Origin(row=7)) and type(obs) is Observation
    with pytest.raises(AttributeError):
        obs.value = 2.0  # still frozen


# -- SDMX-CSV ----------------------------------------------------------------------------------

HEADER = ("STRUCTURE,STRUCTURE_ID,ACTION,FREQ,REF_AREA,INDICATOR,MIGR_DEF,DATA_SOURCE,COUNTERPART_AREA,CITIZENSHIP,"
          "BIRTH_PLACE,SEX,AGE,EDUCATION_LEV,OCCUPATION,ACTIVITY,MIGR_REASON,ETHNICITY,URBANISATION,TIME_PERIOD,"
          "OBS_VALUE,OBS_STATUS,COMMENT_OBS,UNIT_MEASURE,UNIT_MULT")


def row(action="I", key=KZ, period="2020", value="1", status="A", comment="", unit="PS", mult="0",
        flow=FLOW_REF, structure="dataflow") -> str:
    return ",".join([structure, flow, action, *key, period, value, status, comment, unit, mult])


def csv_body(*rows: str, header: str = HEADER, newline: str = "\n") -> bytes:
    return (newline.join([header, *rows]) + newline).encode()


def test_csv_bom_and_crlf(lookup):
    plain = read_data(csv_body(row(), row(period="2021")), CSV2, lookup)
    crlf = read_data(b"\xef\xbb\xbf" + csv_body(row(), row(period="2021"), newline="\r\n"), CSV2, lookup)
    assert content(crlf) == content(plain) and len(content(plain)[0][2]) == 2
    assert [o.origin.row for o in crlf[0].series[0].observations] == [2, 3]


def test_csv_action_column(lookup):
    body = csv_body(row("I"), row("A", period="2021"), row("M", period="2022"), row("R", period="2023"),
                    row("R", period="2024"), row("D", period="2019", value="", status=""), row("", period="2025"))
    datasets = read_data(body, CSV2, lookup)
    assert [(d.action, [o.time_period for s in d.series for o in s.observations]) for d in datasets] == [
        (MERGE, ["2020", "2021", "2022"]), (REPLACE, ["2023", "2024"]), (DELETE, ["2019"]), (MERGE, ["2025"])]
    deleted = datasets[2].series[0].observations[0]
    assert (deleted.value, dict(deleted.attributes)) == (None, {})  # delete the observation
    with pytest.raises(ReadError, match="row 2, column ACTION: unknown action 'X'"):
        read_data(csv_body(row("X")), CSV2, lookup)


def test_csv_delete_rows(lookup):
    body = csv_body(row("D", period="", value="", status="", unit="", mult=""),  # the whole series
                    row("D", key=KG, period="2020", value="-", status="", unit="", mult=""),  # the value only
                    row("D", key=KG, period="2021", value="", status="-", unit="", mult=""))  # one attribute
    (dataset,) = read_data(body, CSV2, lookup)
    series = list(dataset.series)
    assert (series[0].key, series[0].observations, series[0].origin.row) == (KZ, [], 2)
    assert [(o.time_period, o.value, dict(o.attributes)) for o in series[1].observations] == [
        ("2020", "-", {}), ("2021", None, {"OBS_STATUS": "-"})]


def test_csv_series_grouping(lookup):
    body = csv_body(row(period="2019"), row(period="2020"), row(key=KG), row(period="2021"),
                    row(period="2022", mult="3"))
    (dataset,) = read_data(body, CSV2, lookup)
    assert [(s.key, [o.time_period for o in s.observations], s.attributes["UNIT_MULT"]) for s in dataset.series] == [
        (KZ, ["2019", "2020"], "0"), (KG, ["2020"], "0"), (KZ, ["2021"], "0"), (KZ, ["2022"], "3")]


def test_csv_values(lookup, catalog, dsd):
    body = csv_body(row(period="2015", value=""), row(period="2016", value="NaN"), row(period="2017", value="1e3"),
                    row(period="2018", value="abc"), row(period="2019", value='"12,5"'),
                    row(period="2020", value="-3", comment="'=cmd|' /C calc'!A0"), row(period="2021", value="+4"),
                    row(period="2022", comment="@SUM(1+1)"))
    (dataset,) = read_data(body, CSV2, lookup)
    observations = dataset.series[0].observations
    assert [o.value for o in observations] == [None, None, 1000.0, "abc", "12,5", -3.0, 4.0, 1.0]
    assert [o.attributes.get("COMMENT_OBS") for o in observations][5:] == ["=cmd|' /C calc'!A0", None, "@SUM(1+1)"]
    # A value that is not a number reaches validation, which names its row and text.
    codelists = {cl.ref: cl for cl in catalog.codelists}
    report = check_series(dataset.series, dsd, codelists)
    bad = [(p.row, p.value) for p in report.problems if p.code == "bad-value"]
    assert bad == [(5, "abc"), (6, "12,5")]


def test_csv_semicolons_and_decimal_comma(lookup):
    header = HEADER.replace(",", ";").replace("STRUCTURE;", "STRUCTURE[|];", 1)
    body = csv_body(row(value="12,5").replace(",", ";").replace(";5;", ",5;"), header=header)
    (dataset,) = read_data(body, CSV2, lookup)
    assert dataset.series[0].observations[0].value == 12.5


def test_csv_columns_by_id_in_any_order(lookup):
    header = "STRUCTURE,STRUCTURE_ID,OBS_VALUE,TIME_PERIOD," + ",".join(
        f"{d}: a name" for d in ("FREQ", "REF_AREA", "INDICATOR", "MIGR_DEF", "DATA_SOURCE", "COUNTERPART_AREA",
                                 "CITIZENSHIP", "BIRTH_PLACE", "SEX", "AGE", "EDUCATION_LEV", "OCCUPATION",
                                 "ACTIVITY", "MIGR_REASON", "ETHNICITY", "URBANISATION")) + ",SERIES_KEY"
    line = f"dataflow,{FLOW_REF}: Flows,5,2020: 2020," + ",".join(f"{c}: name, with comma" if "," not in c else c
                                                                  for c in KZ)
    body = (header + "\n" + line.replace(": name, with comma", ": name") + ",A.KZ\n").encode()
    (dataset,) = read_data(body, CSV2, lookup)
    assert content([dataset]) == [(KZ, {}, [("2020", 5.0, {})])]


def test_csv_1_0(lookup):
    header = "DATAFLOW" + HEADER[len("STRUCTURE,STRUCTURE_ID,ACTION"):]
    body = csv_body(",".join([FLOW_REF, *KZ, "2020", "3", "A", "", "PS", "0"]), header=header)
    (dataset,) = read_data(body, "application/vnd.sdmx.data+csv;version=1.0.0", lookup)
    assert (dataset.action, content([dataset])) == (MERGE, [(KZ, {"UNIT_MEASURE": "PS", "UNIT_MULT": "0"},
                                                             [("2020", 3.0, {"OBS_STATUS": "A"})])])


def test_csv_datastructure_reference(catalog):
    body = csv_body(row(structure="datastructure", flow="CAMIG:DSD_MIGR(1.0)"))
    (dataset,) = read_data(body, CSV2, catalog_lookup(catalog, dataflow="DF_MIGR_FLOW"))
    assert dataset.dataflow == FLOW_REF
    with pytest.raises(ReadError, match="unknown data structure CAMIG:DSD_MIGR") as err:
        read_data(body, CSV2, catalog_lookup(catalog))  # several flows use it: no way to choose
    assert err.value.code == "unknown-structure"


@pytest.mark.parametrize("body, message", [
    (csv_body(row() + ",2024-01-01", header=HEADER + ",UPDATED"),
     "row 2, column UPDATED: column 'UPDATED' is not a component"),
    (csv_body(row(), header=HEADER.replace("OBS_STATUS", "OBS_STATS")), "column 'OBS_STATS' is not a component"),
    (csv_body(row(), header=HEADER.replace(",SEX,", ",SEXX,")), "row 2, column SEX: no column for dimension SEX"),
    (csv_body(row(), header=HEADER.replace("TIME_PERIOD", "PERIOD")), "no column for dimension TIME_PERIOD"),
    (csv_body(row(flow="CAMIG:DF_NOPE(1.0)")), "row 2, column STRUCTURE_ID: unknown dataflow CAMIG:DF_NOPE"),
    (csv_body(row() + ",extra"), "row 2: 26 fields where the header has 25"),
    (csv_body(row(), header=HEADER + ",OBS_VALUE"), "row 1, column OBS_VALUE: column OBS_VALUE appears twice"),
    (csv_body(row(), header=HEADER.replace("COMMENT_OBS", "COMMENT_OBS[en;ru]")), "not supported"),
    (b"FREQ,REF_AREA\nA,KZ\n", "row 1, column FREQ: not SDMX-CSV"),
    (csv_body(row() + ",", header=HEADER + ","), "row 1: column 26 has no name in the header"),
    (csv_body(row(structure="dataprovision")), "provision agreement is not supported"),
    (csv_body(row(comment='"unterminated')), "malformed CSV"),
    (b"", "the message is empty"),
])
def test_csv_refused(body, message, lookup):
    with pytest.raises(ReadError, match=message.replace("(", r"\(").replace("[", r"\[")):
        read_data(body, CSV2, lookup)


def test_csv_not_utf8(lookup):
    body = csv_body(row(), row(period="2021", comment="caf\xe9".encode("latin-1").decode("latin-1")))
    body = body.replace("café".encode(), "caf\xe9".encode("latin-1"))
    offset = body.index(b"\xe9")
    with pytest.raises(ReadError, match=f"row 3: not UTF-8 at byte {offset}"):
        read_data(io.BytesIO(body), CSV2, lookup)


def test_csv_utf8_across_chunks_and_truncated(lookup):
    comment = "Переселение из села в город; " * 3000  # multi-byte characters across read chunks
    body = csv_body(*(row(period=str(2000 + n), comment=comment) for n in range(3)))
    (dataset,) = read_data(io.BytesIO(body), CSV2, lookup)
    assert [o.attributes["COMMENT_OBS"] for o in dataset.series[0].observations] == [comment] * 3
    cut = csv_body(row(comment="ё")).rstrip(b"\n")
    cut = cut[:cut.rindex("ё".encode()) + 1]  # ends inside a character
    with pytest.raises(ReadError, match=f"row 2: not UTF-8 at byte {len(cut) - 1}"):
        read_data(cut, CSV2, lookup)


def test_csv_enormous_field(lookup):
    body = csv_body(row(), row(period="2021", comment='"' + "x" * (FIELD_LIMIT + 10) + '"'))
    with pytest.raises(ReadError, match="row 3: malformed CSV: field larger than field limit"):
        read_data(io.BytesIO(body), CSV2, lookup)
    with pytest.raises(ReadError, match="row 1: header row longer than"):
        read_data(b"STRUCTURE," + b"X" * (FIELD_LIMIT + 10), CSV2, lookup)


def test_csv_large_body_bounded_memory(tmp_path: Path, lookup):
    rows, kept_rows = 200_000, 50_000
    header = "STRUCTURE,STRUCTURE_ID,FREQ,REF_AREA,INDICATOR,MIGR_DEF,DATA_SOURCE,COUNTERPART_AREA,CITIZENSHIP," \
             "BIRTH_PLACE,SEX,AGE,EDUCATION_LEV,OCCUPATION,ACTIVITY,MIGR_REASON,ETHNICITY,URBANISATION," \
             "TIME_PERIOD,OBS_VALUE,OBS_STATUS\n"
    lead, tail = f"dataflow,{FLOW_REF},{','.join(KZ[:9])},", ",".join(KZ[10:])
    lines = [f"{lead}Y{n // 20},{tail},{2000 + n % 20},{n}.5,A\n" for n in range(rows)]
    large, small = tmp_path / "large.csv", tmp_path / "small.csv"
    large.write_text(header + "".join(lines))
    small.write_text(header + "".join(lines[:kept_rows]))
    del lines
    tracemalloc.start()
    try:
        count = 0
        with large.open("rb") as body:
            for dataset in iter_data(body, CSV2, lookup):
                for one in dataset.series:
                    count += len(one.observations)
        streamed_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        with small.open("rb") as body:
            datasets = read_data(body, CSV2, lookup)
        kept_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == rows and sum(len(s.observations) for s in datasets[0].series) == kept_rows
    size = large.stat().st_size
    assert streamed_peak < 4_000_000, f"streaming {size:,} bytes peaked at {streamed_peak:,} bytes"
    # Materialised: the model objects only (Observation, Origin, value, row number: 256 bytes), no text besides.
    assert kept_peak < 300 * kept_rows, f"{kept_peak:,} bytes for {kept_rows:,} observations"


# -- SDMX-ML -----------------------------------------------------------------------------------

SS_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<message:StructureSpecificData xmlns:message="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
 xmlns:ss="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/structurespecific"
 xmlns:common="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common">
<message:Header><message:ID>T</message:ID><message:Test>false</message:Test>
<message:Prepared>2024-01-01T00:00:00</message:Prepared><message:Sender id="KG"/>
<message:Structure structureID="S1" dimensionAtObservation="{at_obs}">
<common:StructureUsage><Ref agencyID="CAMIG" id="{flow}" version="1.0"/></common:StructureUsage>
</message:Structure></message:Header>
"""
KEY_ATTRS = " ".join(f'{d}="{c}"' for d, c in zip(
    ("FREQ", "REF_AREA", "INDICATOR", "MIGR_DEF", "DATA_SOURCE", "COUNTERPART_AREA", "CITIZENSHIP", "BIRTH_PLACE",
     "SEX", "AGE", "EDUCATION_LEV", "OCCUPATION", "ACTIVITY", "MIGR_REASON", "ETHNICITY", "URBANISATION"), KZ))


def ss_message(body: str, at_obs: str = "TIME_PERIOD", flow: str = "DF_MIGR_FLOW") -> bytes:
    return (SS_HEAD.format(at_obs=at_obs, flow=flow) + body + "</message:StructureSpecificData>\n").encode()


def test_ml_delete_dataset(lookup):
    body = ss_message(f"""<message:DataSet ss:structureRef="S1" ss:action="Delete">
<Series {KEY_ATTRS}/>
<Series {KEY_ATTRS.replace('"KZ"', '"KG"')}>
<Obs TIME_PERIOD="2020"/>
<Obs TIME_PERIOD="2021" OBS_STATUS="A"/>
</Series>
</message:DataSet>
<message:DataSet ss:structureRef="S1" ss:action="Delete"/>
""")
    first, everything = read_data(body, None, lookup)
    assert first.action == DELETE and everything.action == DELETE and list(everything.series) == []
    whole, some = first.series
    assert (whole.key, whole.observations, whole.origin.row) == (KZ, [], 11)
    assert [(o.time_period, o.value, dict(o.attributes), o.origin.row) for o in some.observations] == [
        ("2020", None, {}, 13), ("2021", None, {"OBS_STATUS": "A"}, 14)]


@pytest.mark.parametrize("action, expected", [("Append", MERGE), ("Information", MERGE), ("Merge", MERGE),
                                              ("Replace", REPLACE)])
def test_ml_actions(action, expected, lookup):
    body = ss_message(f'<message:DataSet ss:structureRef="S1" ss:action="{action}">'
                      f'<Series {KEY_ATTRS}><Obs TIME_PERIOD="2020" OBS_VALUE="x1"/></Series></message:DataSet>')
    (dataset,) = read_data(body, None, lookup)
    assert dataset.action == expected and dataset.series[0].observations[0].value == "x1"


def test_ml_timeseries_root_and_dsd_reference(catalog):
    body = ss_message(f'<message:DataSet ss:structureRef="S1"><Series {KEY_ATTRS}><Obs TIME_PERIOD="2020" '
                      'OBS_VALUE="NaN" OBS_STATUS="M"/></Series></message:DataSet>')
    body = body.replace(b"StructureSpecificData", b"StructureSpecificTimeSeriesData")
    body = body.replace(b'<common:StructureUsage><Ref agencyID="CAMIG" id="DF_MIGR_FLOW" version="1.0"/>'
                        b'</common:StructureUsage>',
                        b'<common:Structure><Ref agencyID="CAMIG" id="DSD_MIGR" version="1.0"/></common:Structure>')
    (dataset,) = read_data(body, None, catalog_lookup(catalog, dataflow="DF_MIGR_FLOW"))
    assert (dataset.dataflow, dataset.action) == (FLOW_REF, MERGE)
    assert content([dataset]) == [(KZ, {}, [("2020", None, {"OBS_STATUS": "M"})])]


def test_ml_generic_delete(lookup):
    key = "".join(f'<generic:Value id="{d}" value="{c}"/>' for d, c in (
        pair.split("=") for pair in KEY_ATTRS.replace('"', "").split()))
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<m:GenericData xmlns:m="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
 xmlns:generic="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/generic"
 xmlns:common="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common">
<m:Header><m:ID>T</m:ID><m:Test>false</m:Test><m:Prepared>2024-01-01T00:00:00</m:Prepared><m:Sender id="KZ"/>
<m:Structure structureID="S1" dimensionAtObservation="TIME_PERIOD">
<common:StructureUsage><common:URN>urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=CAMIG:DF_MIGR_FLOW(1.0)
</common:URN></common:StructureUsage></m:Structure></m:Header>
<m:DataSet structureRef="S1" action="Delete">
<generic:Series><generic:SeriesKey>{key}</generic:SeriesKey>
<generic:Obs><generic:ObsDimension value="2020"/></generic:Obs>
<generic:Obs><generic:ObsDimension value="2021"/><generic:Attributes><generic:Value id="OBS_STATUS" value="A"/>
</generic:Attributes></generic:Obs>
</generic:Series>
<generic:Series><generic:SeriesKey>{key}</generic:SeriesKey></generic:Series>
</m:DataSet></m:GenericData>""".encode()
    (dataset,) = read_data(body, "application/vnd.sdmx.genericdata+xml;version=2.1", lookup)
    assert dataset.action == DELETE
    assert content([dataset]) == [(KZ, {}, [("2020", None, {}), ("2021", None, {"OBS_STATUS": "A"})]),
                                  (KZ, {}, [])]
    assert [o.origin.row for o in dataset.series[0].observations] == [11, 12]


def _refused(body: bytes, lookup, message: str, **where) -> list[str]:
    """Check ``body`` is refused with ``message``; the structure references looked up before that."""
    asked: list[str] = []

    def watching(ref):
        asked.append(ref)
        return lookup(ref)

    with pytest.raises(ReadError, match=message) as err:
        read_data(body, "application/xml", watching)
    for name, value in where.items():
        assert getattr(err.value, name) == value, (name, str(err.value))
    return asked


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<message:StructureSpecificData xmlns:message="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message">
<message:Header><message:ID>&lol3;</message:ID></message:Header></message:StructureSpecificData>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE m [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<message:StructureSpecificData xmlns:message="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message">
<message:Header><message:ID>&secret;</message:ID></message:Header></message:StructureSpecificData>"""


def test_ml_entities_refused(lookup):
    for body in (BILLION_LAUGHS, EXTERNAL_ENTITY):
        assert _refused(body, lookup, "line 2, element !DOCTYPE: DTD/entities not allowed", row=2) == []
    # A DOCTYPE beyond the first bytes looked at is refused by the parser's document info, before any element.
    late = EXTERNAL_ENTITY.replace(b"<!DOCTYPE", b"<!--" + b"x" * HEAD_BYTES + b"-->\n<!DOCTYPE")
    assert _refused(late, lookup, "DTD/entities not allowed") == []


def test_ml_depth_truncation_and_encodings(lookup):
    deep = ss_message("<a>" * 10_000 + "</a>" * 10_000)
    _refused(deep, lookup, "line 10, column .*: malformed XML: Excessive depth", row=10)
    whole = ss_message(f'<message:DataSet ss:structureRef="S1"><Series {KEY_ATTRS}><Obs TIME_PERIOD="2020" '
                       'OBS_VALUE="1"/></Series></message:DataSet>')
    _refused(whole[:-60], lookup, "malformed XML: Premature end of data", row=10)
    _refused(whole.replace(b"UTF-8", b"ISO-8859-1"), lookup, "encoding ISO-8859-1 declared", row=1)
    _refused(whole.replace(b'"2020"', '"2020\xe9"'.encode("latin-1")), lookup, "malformed XML", row=10)
    _refused(whole.decode().encode("utf-16"), lookup, "UTF-8 only")


@pytest.mark.parametrize("body, message", [
    (ss_message("", at_obs="REF_AREA"), "line 7, element Structure: dimensionAtObservation REF_AREA is not supp"),
    (ss_message("", flow="DF_NOPE"), "line 7, element Structure: unknown dataflow CAMIG:DF_NOPE"),
    (ss_message('<message:DataSet ss:structureRef="S2"/>'), "line 10, element DataSet: DataSet structureRef 'S2'"),
    (ss_message('<message:DataSet ss:structureRef="S1" ss:action="Upsert"/>'), "unknown action 'Upsert'"),
    (ss_message('<message:DataSet ss:structureRef="S1"><Group/></message:DataSet>'), "Group elements are not"),
    (b'<?xml version="1.0"?><Structure xmlns="urn:x"/>', "not an SDMX-ML data message: root element Structure"),
])
def test_ml_refused(body, message, lookup):
    _refused(body, lookup, message.replace("(", r"\("))


def test_ml_large_body_bounded_memory(catalog, flow, dsd, lookup, tmp_path: Path):
    series = (Series(KZ[:9] + (f"Y{n}",) + KZ[10:], [Observation(str(y), 1.0, {"OBS_STATUS": "A"})
                                                       for y in range(2000, 2020)], {"UNIT_MEASURE": "PS"})
              for n in range(2_500))
    path = tmp_path / "large.xml"
    with path.open("wb") as out:
        for chunk in write_structure_specific(series, WriteContext(dsd, flow)):
            out.write(chunk)
    tracemalloc.start()
    try:
        with path.open("rb") as body:
            count = sum(len(s.observations) for d in iter_data(body, None, lookup) for s in d.series)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 50_000 and peak < 3_000_000, peak


# -- SDMX-JSON ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def json_body(catalog, flow, dsd) -> bytes:
    if write_sdmx_json_data_20 is None:
        pytest.skip("service.formats.sdmx_json_data is not there")
    return write(write_sdmx_json_data_20, SERIES_IN, catalog, flow, dsd, action="Delete")


def test_json_action_and_origins(json_body, lookup):
    (dataset,) = read_data(json_body, "application/vnd.sdmx.data+json;version=2.0.0", lookup)
    assert dataset.action == DELETE and content([dataset]) == EXPECTED
    assert dataset.series[0].observations[1].origin.column.startswith("dataSets[0].series[0:")


def test_json_refused(json_body, lookup):
    def refused(body, message, content_type="application/json"):
        with pytest.raises(ReadError, match=message.replace("[", r"\[")):
            read_data(body, content_type, lookup)

    refused(json_body[:-10], "line 1, column .*: malformed JSON")
    refused(b"[" * 5000 + b"]" * 5000, "malformed JSON: depth limit exceeded")
    refused(b'{"a": "\xff"}', "malformed JSON")
    refused(json_body, "version 2.1.0 is not accepted", "application/vnd.sdmx.data+json;version=2.1.0")
    message = orjson.loads(json_body)
    links = message["data"]["dataSets"][0].pop("links")
    message["data"]["structures"][0]["links"] = []
    refused(orjson.dumps(message), "dataSets[0].links: no dataflow")
    message["data"]["dataSets"][0]["links"] = [{**links[0], "urn": links[0]["urn"].replace("FLOW", "NOPE")}]
    refused(orjson.dumps(message), "unknown dataflow CAMIG:DF_MIGR_NOPE")
    message["data"]["dataSets"][0]["links"] = links
    first = next(iter(message["data"]["dataSets"][0]["series"]))
    message["data"]["dataSets"][0]["series"]["9:" + first[2:]] = {}
    refused(orjson.dumps(message), "FREQ has no value '9'")


# -- choosing a reader -------------------------------------------------------------------------

@pytest.mark.parametrize("content_type, head, kind", [
    ("application/vnd.sdmx.data+csv; version=2.0.0", b"<", "csv"),
    ("text/csv", b"", "csv"),
    ("application/vnd.sdmx.structurespecificdata+xml;version=2.1", b"", "xml"),
    ("application/vnd.sdmx.genericdata+xml;version=2.1", b"", "xml"),
    ("application/vnd.sdmx.data+xml;version=3.0.0", b"", "xml"),
    ("application/vnd.sdmx.data+json;version=2.0.0", b"", "json"),
    (None, b"\xef\xbb\xbf <?xml", "xml"),
    ("application/octet-stream", b"\n{", "json"),
    ("", b"STRUCTURE,", "csv"),
])
def test_choose_reader(content_type, head, kind):
    assert choose_reader(content_type, head) == kind


def test_unsupported_media_type():
    with pytest.raises(ReadError, match="media type 'application/pdf' is not a data format") as err:
        choose_reader("application/pdf", b"%PDF")
    assert err.value.code == "unsupported-media-type"


def test_read_error_as_problem():
    problem = ReadError("no column for dimension SEX", row=1, column="SEX").problem()
    assert (problem.code, problem.row, problem.column, problem.message) == (
        "bad-message", 1, "SEX", "row 1, column SEX: no column for dimension SEX")


def test_unconsumed_dataset_is_skipped(lookup):
    body = csv_body(row("R"), row("R", period="2021"), row("D", period="2019", value="", status=""))
    datasets = iter_data(body, CSV2, lookup)
    first = next(datasets)
    second = next(datasets)  # the first one's series were never asked for
    assert (first.action, second.action) == (REPLACE, DELETE)
    assert [o.time_period for s in second.series for o in s.observations] == ["2019"]
    with pytest.raises(RuntimeError, match="these series were skipped"):
        list(first.series)
    assert list(second.series) == []  # read to the end: nothing more, no error
