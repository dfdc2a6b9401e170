"""The example tables of the three countries convert with zero errors and keep their published numbers.

Totals are checked exactly as the offices published them; definitions, symbols
and provenance are checked where they matter. The command line is run on every
example and its output read back (XSD, sdmx1, pysdmx).
"""

from __future__ import annotations

import io
import json
import math

import pytest
from click.testing import CliRunner
from lxml import etree
from mappings_support import MAPPINGS, convert_file, find, kg_workbook_module
from sdmx_data_schema import data_schema

from service.cli import main
from service.formats.context import WriteContext
from service.formats.sdmx_ml_data import flow_namespace
from service.mappings import load_mapping, open_source

KZ = MAPPINGS / "kz" / "external_migration_by_country.yaml"
KANDAS = MAPPINGS / "kz" / "kandas_structure.yaml"
KZ_EXTRACT = MAPPINGS / "kz" / "internal_migration_extract.yaml"
KG = MAPPINGS / "kg" / "external_migration_by_country.yaml"
TJ_CARDS = MAPPINGS / "tj" / "migration_cards.yaml"
TJ_REGIONS = MAPPINGS / "tj" / "migration_by_region.yaml"
ALL = [KZ, KANDAS, KZ_EXTRACT, KG, TJ_CARDS, TJ_REGIONS]


def example(mapping):
    (path,) = load_mapping(mapping).examples()
    return path


@pytest.fixture(scope="module")
def converted(catalog):
    return {mapping.stem + mapping.parent.name: convert_file(catalog, mapping, example(mapping)) for mapping in ALL}


def result(converted, mapping):
    return converted[mapping.stem + mapping.parent.name]


@pytest.mark.parametrize("mapping", ALL, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_example_converts_with_zero_errors(converted, mapping):
    series, report, _ = result(converted, mapping)
    assert report.valid and report.warning_count == 0, report.to_dict()
    assert series and report.stats["observations"] == sum(len(s.observations) for s in series)
    for one in series:
        for obs in one.observations:
            origin = obs.origin
            assert origin.row and origin.column and origin.file == example(mapping).name
            sheet = f"[{origin.sheet}]" if origin.sheet else ""
            assert obs.attributes["SOURCE_LABEL"].startswith(f"{origin.file}{sheet}!{origin.column}{origin.row}")
            assert obs.attributes["OBS_STATUS"]


def test_kazakhstan_2017_published_totals(converted):
    series, _, dsd = result(converted, KZ)
    value = lambda indicator, area: find(series, dsd, "2017", INDICATOR=indicator, COUNTERPART_AREA=area).value
    assert (value("IMM", "_T"), value("EMI", "_T"), value("NETM", "_T")) == (16081, 37704, -21623)
    assert (value("IMM", "172"), value("EMI", "172"), value("NETM", "172")) == (11596, 33704, -22108)
    assert (value("IMM", "XCIS"), value("EMI", "XCIS"), value("NETM", "XCIS")) == (4485, 4000, 485)
    assert (value("IMM", "UZ"), value("IMM", "RU"), value("IMM", "CN")) == (5196, 4383, 3204)
    assert len(series) == 20 * 3
    nil = find(series, dsd, "2017", INDICATOR="EMI", COUNTERPART_AREA="MN")
    assert nil.value == 0 and nil.attributes["OBS_STATUS"] == "A" and "nil" in nil.attributes["COMMENT_OBS"]
    cis = next(s for s in series if s.key[dsd.dimension_ids.index("COUNTERPART_AREA")] == "172")
    assert "AZ AM BY KG MD RU TJ TM UZ UA" in cis.attributes["GROUP_COMPOSITION"]
    total = find(series, dsd, "2017", INDICATOR="IMM", COUNTERPART_AREA="_T")
    assert total.attributes["SOURCE_LABEL"] == ("external_migration_by_country_2017.csv!B4: "
                                                "Барлығы / Всего | Келгендер / Прибывшие")


def test_registration_counts_keep_their_national_definition(converted):
    for mapping in (KZ, KG):
        series, _, dsd = result(converted, mapping)
        codes = {(s.key[dsd.dimension_ids.index("MIGR_DEF")], s.key[dsd.dimension_ids.index("DATA_SOURCE")])
                 for s in series}
        assert codes == {("NAT_PERM", "ADM_POPREG")}
        assert all(s.attributes["UNIT_MEASURE"] == "PS" and s.attributes["UNIT_MULT"] == "0" for s in series)


def test_kyrgyzstan_two_years_published_totals(converted):
    series, _, dsd = result(converted, KG)
    value = lambda period, indicator, area="_T": find(series, dsd, period, INDICATOR=indicator,
                                                      COUNTERPART_AREA=area).value
    assert (value("2017", "IMM"), value("2017", "EMI"), value("2017", "NETM")) == (1974, 5899, -3925)
    assert (value("2018", "IMM"), value("2018", "EMI"), value("2018", "NETM")) == (1687, 7077, -5390)
    assert (value("2017", "IMM", "172"), value("2018", "EMI", "172")) == (1864, 6788)
    assert (value("2017", "EMI", "RU"), value("2018", "NETM", "KZ")) == (4453, -1043)
    blank = find(series, dsd, "2017", INDICATOR="NETM", COUNTERPART_AREA="AZ")
    assert blank.value == 0 and "blank" in blank.attributes["COMMENT_OBS"]  # this release: blank = nil
    assert len(series) == 9 * 3 and all(len(s.observations) == 2 for s in series)


def test_tajik_migration_cards_are_border_records_never_emigrants(converted):
    series, _, dsd = result(converted, TJ_CARDS)
    at = dsd.dimension_ids.index
    assert {s.key[at("INDICATOR")] for s in series} == {"CIT_DEP_WORK", "CIT_RET_WORK"}
    assert {(s.key[at("MIGR_DEF")], s.key[at("DATA_SOURCE")], s.key[at("CITIZENSHIP")]) for s in series} == {
        ("NAT_BORD", "ADM_BORDER", "NAT")}
    value = lambda indicator, sex, area="_T": find(series, dsd, "2011", INDICATOR=indicator, SEX=sex,
                                                   COUNTERPART_AREA=area)
    assert (value("CIT_DEP_WORK", "_T").value, value("CIT_DEP_WORK", "F").value) == (735031, 81774)
    assert value("CIT_DEP_WORK", "M").value == 653257
    assert [value("CIT_RET_WORK", s).value for s in ("_T", "M", "F")] == [572728, 506417, 66311]
    for area in ("RU", "KZ", "_O"):
        missing = value("CIT_DEP_WORK", "_T", area)
        assert missing.value is None and missing.attributes["OBS_STATUS"] == "O"


def test_kandas_shares_with_their_denominators(converted):
    series, _, dsd = result(converted, KANDAS)
    share = lambda **codes: find(series, dsd, "2023", **codes).value
    assert [share(AGE=a, EDUCATION_LEV="_T", COUNTERPART_AREA="_T") for a in ("WA_BELOW", "WA", "WA_ABOVE")] == [
        30.0, 61.4, 8.5]
    assert [share(EDUCATION_LEV=e) for e in ("ISCED11_6T8", "ISCED11_3T5", "ISCED11_3")] == [15.6, 34.4, 41.2]
    assert [share(COUNTERPART_AREA=c) for c in ("UZ", "CN", "MN", "RU", "TM", "_O")] == [
        53.6, 19.6, 10.9, 7.8, 5.9, 2.2]
    at = dsd.dimension_ids.index
    assert {(s.key[at("INDICATOR")], s.key[at("MIGR_DEF")]) for s in series} == {("ETHRET", "NAT_STATUS")}
    assert all(s.attributes["UNIT_MEASURE"] == "PT" for s in series)
    education = [s for s in series if s.key[at("EDUCATION_LEV")] != "_T"]
    assert all(s.key[at("AGE")] == "WA" and "working-age" in s.attributes["COMMENT_TS"] for s in education)
    detail = {o.attributes["REF_PERIOD_DETAIL"] for s in series for o in s.observations}
    assert detail == {"на 1 сентября 2023 г."}


def test_tajik_regions_with_all_moves_not_available(converted):
    series, _, dsd = result(converted, TJ_REGIONS)
    value = lambda area, indicator: find(series, dsd, "2022", REF_AREA=area, INDICATOR=indicator)
    assert (value("TJ", "IMM").value, value("TJ", "EMI").value, value("TJ", "NETM").value) == (1250, 4980, -3730)
    for indicator in ("ARR_TOT", "DEP_TOT", "NETM_TOT"):
        total = value("TJ", indicator)
        assert total.value is None and total.attributes["OBS_STATUS"] == "O"
    assert (value("TJ-DU", "ARR_TOT").value, value("TJ-GB", "IMM").value, value("TJ-RA", "NETM").value) == (
        6410, 0, -450)
    assert {s.key[dsd.dimension_ids.index("REF_AREA")] for s in series} == {
        "TJ", "TJ-DU", "TJ-SU", "TJ-KT", "TJ-GB", "TJ-RA"}


def test_long_extract_labels_matched_by_codelist_names(converted):
    series, _, dsd = result(converted, KZ_EXTRACT)
    first = series[0]
    at = dsd.dimension_ids.index
    assert (first.key[at("REF_AREA")], first.key[at("SEX")], first.key[at("AGE")], first.key[at("URBANISATION")],
            first.key[at("COUNTERPART_AREA")], first.key[at("CITIZENSHIP")]) == ("KZ-11", "M", "Y_LT5", "URB",
                                                                                 "INTRA", "NAT")
    assert first.attributes["UNIT_MULT"] == "0" and len(first.observations) == 30


# -- the command line -------------------------------------------------------

@pytest.mark.parametrize("mapping", ALL, ids=lambda p: f"{p.parent.name}/{p.stem}")
@pytest.mark.parametrize("fmt", ["sdmx-csv", "sdmx-csv-1", "sdmx-ml"])
def test_convert_command_writes_every_format(tmp_path, mapping, fmt):
    output = tmp_path / "out"
    result_ = CliRunner().invoke(main, ["convert", "-m", str(mapping), str(example(mapping)), "-o", str(output),
                                        "--format", fmt])
    assert result_.exit_code == 0, result_.output
    assert output.stat().st_size > 0 and not list(tmp_path.glob(".*part"))


def test_report_json_and_stdout(tmp_path):
    done = CliRunner().invoke(main, ["convert", "-m", str(KZ), str(example(KZ)), "--report", "json"])
    assert done.exit_code == 0
    lines = done.stdout.splitlines()
    assert lines[0].startswith("STRUCTURE,STRUCTURE_ID,FREQ,REF_AREA")
    assert len([line for line in lines if line.startswith("dataflow,")]) == 60
    report = json.loads(done.stderr)
    assert report["valid"] and report["stats"]["observations"] == 60


def test_mappings_check_command():
    done = CliRunner().invoke(main, ["mappings", "check"])
    assert done.exit_code == 0, done.output
    assert done.output.count("OK ") == len(ALL)


def sdmx1_dsd(catalog):
    import sdmx

    from service.formats.structure_ml import write_structure_message

    document = write_structure_message(list(catalog.all_artefacts()))
    return sdmx.read_sdmx(io.BytesIO(document)).structure["DSD_MIGR"]


def test_sdmx_ml_of_an_example_validates_and_reads_back(catalog, shared, tmp_path):
    import sdmx
    from pysdmx.io import read_sdmx

    output = tmp_path / "kg.xml"
    done = CliRunner().invoke(main, ["convert", "-m", str(KG), str(example(KG)), "-o", str(output), "--format",
                                     "sdmx-ml"])
    assert done.exit_code == 0, done.output
    flow = catalog.dataflow("DF_MIGR_FLOW")
    ctx = WriteContext(structure=catalog.structure_of(flow), dataflow=flow)
    schema = data_schema(ctx.structure, flow_namespace(ctx), shared / "sdmx" / "sdmx-ml-2.1", tmp_path)
    assert schema.validate(etree.parse(str(output))), schema.error_log

    (dataset,) = sdmx.read_sdmx(output, structure=sdmx1_dsd(catalog)).data
    frame = sdmx.to_pandas(dataset)
    assert len(frame) == 54
    assert frame.xs(("IMM", "_T", "2017"), level=("INDICATOR", "COUNTERPART_AREA", "TIME_PERIOD")).iloc[0] == 1974

    (pysdmx_set,) = read_sdmx(output, validate=True).data
    rows = pysdmx_set.data
    total = rows[(rows.INDICATOR == "NETM") & (rows.COUNTERPART_AREA == "_T") & (rows.TIME_PERIOD == "2018")]
    assert float(total.OBS_VALUE.iloc[0]) == -5390


def test_sdmx_csv_of_an_example_reads_back_with_pysdmx(tmp_path):
    from pysdmx.io import read_sdmx

    output = tmp_path / "tj.csv"
    done = CliRunner().invoke(main, ["convert", "-m", str(TJ_CARDS), str(example(TJ_CARDS)), "-o", str(output)])
    assert done.exit_code == 0
    (dataset,) = read_sdmx(output).data
    rows = dataset.data
    departed = rows[(rows.INDICATOR == "CIT_DEP_WORK") & (rows.SEX == "F") & (rows.COUNTERPART_AREA == "_T")]
    assert float(departed.OBS_VALUE.iloc[0]) == 81774
    missing = rows[(rows.COUNTERPART_AREA == "RU") & (rows.SEX == "_T")]
    assert math.isnan(float(missing.OBS_VALUE.iloc[0])) and missing.OBS_STATUS.iloc[0] == "O"


def test_the_xlsx_example_is_what_its_script_builds(tmp_path):
    rebuilt = kg_workbook_module().build(tmp_path / "kg.xlsx")
    cells = lambda path: [row for _, row in open_source(path)]
    assert cells(rebuilt) == cells(example(KG))
