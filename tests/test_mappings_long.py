"""The long layout (one observation per row): labels, codes, symbols, errors at their row and column,
series formed from consecutive rows, and the command line's exit codes."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from mappings_support import MAPPINGS, convert_file, errors, find, write_csv_rows

from service.cli import main

MAPPING = MAPPINGS / "kz" / "internal_migration_extract.yaml"
HEADER = ["Год", "Код КАТО", "Регион", "Показатель", "Направление", "Пол", "Возраст", "Местность", "Гражданство",
          "Значение", "Единица", "Примечание"]


def row(year="2023", region="г. Алматы", indicator="прибывшие", sex="женщины", age="20-24 года", value="15",
        note="", unit="человек"):
    return [year, "750000000", region, indicator, "между регионами", sex, age, "городская местность", "все",
            value, unit, note]


def extract(tmp_path, *rows, header=HEADER, delimiter=";", encoding="utf-8"):
    return write_csv_rows(tmp_path / "extract.csv", [header, *rows], encoding=encoding, delimiter=delimiter)


def test_rows_become_series_with_symbols_and_notes(catalog, tmp_path):
    source = extract(tmp_path, row("2022", value="1 204"), row("2023", value="-", note="оперативные данные"),
                     row("2023", sex="мужчины", value="..."), row("2023", indicator="выбывшие", value="x"))
    series, report, dsd = convert_file(catalog, MAPPING, source)
    assert report.valid, report.to_dict()
    assert [len(s.observations) for s in series] == [2, 1, 1]
    women = find(series, dsd, "2022", SEX="F", INDICATOR="ARR_INT")
    assert women.value == 1204 and women.attributes["SOURCE_LABEL"] == "extract.csv!J2"
    nil = find(series, dsd, "2023", SEX="F", INDICATOR="ARR_INT")
    assert nil.value == 0 and nil.attributes["COMMENT_OBS"] == "оперативные данные"
    assert find(series, dsd, "2023", SEX="M").attributes["OBS_STATUS"] == "O"
    secret = find(series, dsd, "2023", INDICATOR="DEP_INT").attributes
    assert (secret["OBS_STATUS"], secret["CONF_STATUS"]) == ("Q", "C")
    key = dict(zip(dsd.dimension_ids, series[0].key))
    assert (key["REF_AREA"], key["AGE"], key["COUNTERPART_AREA"], key["URBANISATION"]) == ("KZ-75", "Y20T24",
                                                                                          "INTER", "URB")


def test_errors_at_row_and_column(catalog, tmp_path):
    source = extract(tmp_path, row(), row("2024", region="Алматинская обл"), row("2025", value="12 5"),
                     row("20X6"), row("2027", sex="оба пола"), row("2023"))
    _, report, _ = convert_file(catalog, MAPPING, source)
    assert errors(report) == [("unknown-label", 3, "C"), ("bad-value", 4, "J"), ("bad-code", 5, "A"),
                              ("unknown-label", 6, "F"), ("duplicate-observation", 7, "J")]
    region = next(p for p in report.errors() if p.row == 3)
    assert any(s.startswith("KZ-19") for s in region.suggestions)


def test_header_must_hold_every_mapped_column_and_nothing_unmapped(catalog, tmp_path):
    header = [h for h in HEADER if h != "Пол"] + ["Лишняя колонка"]
    _, report, _ = convert_file(catalog, MAPPING, extract(tmp_path, row()[:5] + row()[6:] + ["?"], header=header))
    assert errors(report) == [("missing-column", 1, None), ("unknown-column", 1, "L")]


def test_quoted_cells_other_delimiters_and_windows_1251(catalog, tmp_path):
    source = extract(tmp_path, row(note="уточнено; см. сноску"), row("2022", value="7"), delimiter=",",
                     encoding="cp1251")
    series, report, dsd = convert_file(catalog, MAPPING, source)
    assert report.valid, report.to_dict()
    assert find(series, dsd, "2023").attributes["COMMENT_OBS"] == "уточнено; см. сноску"


def test_a_series_attribute_must_not_change_within_a_series(catalog, tmp_path):
    _, report, _ = convert_file(catalog, MAPPING, extract(tmp_path, row("2022"), row("2023", unit="тыс. человек")))
    assert errors(report) == [("attribute-conflict", 3, None)]


def test_unsorted_extract_still_finds_duplicates(catalog, tmp_path):
    source = extract(tmp_path, row("2022"), row("2022", sex="мужчины"), row("2022"))
    _, report, _ = convert_file(catalog, MAPPING, source)
    assert errors(report) == [("duplicate-observation", 4, "J")]


# -- exit codes of `migstat convert` ------------------------------------------

def invoke(*args):
    return CliRunner().invoke(main, ["convert", *map(str, args)])


def test_exit_2_for_a_mapping_file_error(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: X\ncountry: KZ\nlayout: long\n", encoding="utf-8")
    done = invoke("-m", broken, MAPPINGS / "kz" / "examples" / "internal_migration_extract.csv")
    assert done.exit_code == 2 and "schema" in done.output


def test_exit_2_for_a_missing_table_or_mapping(tmp_path):
    assert invoke("-m", MAPPING, tmp_path / "nope.csv").exit_code == 2
    assert invoke("-m", tmp_path / "nope.yaml", tmp_path / "nope.csv").exit_code == 2
    assert invoke(MAPPING).exit_code == 2  # click: missing option


def test_exit_2_when_the_mapping_names_an_unknown_dataflow(tmp_path):
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.read_text(encoding="utf-8").replace("DF_MIGR_INTERNAL", "DF_NOPE"), encoding="utf-8")
    (tmp_path / "aliases.yaml").write_text((MAPPINGS / "kz" / "aliases.yaml").read_text(encoding="utf-8"),
                                           encoding="utf-8")
    done = invoke("-m", mapping, MAPPINGS / "kz" / "examples" / "internal_migration_extract.csv")
    assert done.exit_code == 2 and "unknown-dataflow" in done.output


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_exit_1_invalid_data_writes_nothing(tmp_path, fmt):
    output = tmp_path / "out.csv"
    output.write_text("previous content", encoding="utf-8")
    done = invoke("-m", MAPPING, extract(tmp_path, row(), row(value="n/a")), "-o", output, "--report", fmt)
    assert done.exit_code == 1
    assert output.read_text(encoding="utf-8") == "previous content"
    assert "bad-value" in done.output and sorted(p.name for p in tmp_path.iterdir()) == ["extract.csv", "out.csv"]
