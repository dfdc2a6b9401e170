"""The parts of the converter one by one: labels, values, sources, mapping files and their check."""

from __future__ import annotations

import codecs

import pytest
import yaml
from mappings_fixtures import CODELISTS, ref
from mappings_support import MAPPINGS, kg_workbook_module, variant_mapping

from service.mappings import Context, MappingFileError, SourceError, check_mapping, load_mapping, open_source
from service.mappings import sources as sources_module
from service.mappings.labels import LabelIndex, code_index, normalise, variants
from service.mappings.sources import SourceSpec, column_index, column_letter
from service.mappings.values import BadValue, ValueParser, ValueRules

# -- labels ---------------------------------------------------------------


@pytest.mark.parametrize("label, expected", [
    ("  Ресей / Россия¹ ", "ресей / россия"),
    ("Ресей/Россия", "ресей / россия"),
    ("Бардыгы:", "бардыгы"),
    ("Учёт", "учет"),
    ("г. Душанбе", "г душанбе"),
    ("Миграционный прирост (+), убыль (-)", "миграционный прирост убыль"),
    ("оның\u00a0ішінде / в\u202fтом числе:", "оның ішінде / в том числе"),
    ("Прочие*", "прочие"),
    ("Германия 1)", "германия"),
    ("5–9 лет", "5 9 лет"),
])
def test_normalise(label, expected):
    assert normalise(label) == expected


def test_bilingual_variants():
    assert variants("Ресей / Россия") == ["ресей / россия", "ресей", "россия"]
    assert variants("Армения / Армения") == ["армения / армения", "армения"]


def test_bilingual_labels_match_on_either_side_and_must_agree():
    index = LabelIndex().add_tier("aliases", [("Ресей", "RU"), ("Россия", "RU"), ("Китай", "CN")])
    assert index.resolve("Ресей / Россия").target == "RU"
    assert index.resolve("АҚШ / Россия").target == "RU"  # one side unknown, the other decides
    clash = index.resolve("Ресей / Китай")
    assert clash.problem == "ambiguous-label" and set(clash.suggestions) == {"CN", "RU"}


def test_tiers_explicit_first_then_aliases_ids_names():
    area = CODELISTS[ref("CL_AREA")]
    index = code_index(area, {"Киргизия": "KG", "Other": "RU"}, [("Other", 0)], what="row label")
    assert index.resolve("other").target == 0  # the mapping's own label wins over the alias
    assert index.resolve("КИРГИЗИЯ").target == "KG"
    assert index.resolve("_T").target == "_T"  # a code id, exactly
    assert index.resolve("_t").problem == "unknown-label"
    assert index.resolve("Kazakhstan").target == "KZ"  # a name in any language


def test_unknown_label_comes_with_the_closest_codes():
    area = CODELISTS[ref("CL_AREA")]
    found = code_index(area, {"Россия": "RU"}).resolve("Росия")
    assert found.problem == "unknown-label" and found.suggestions[0].startswith("RU")


# -- values ---------------------------------------------------------------

PARSER = ValueParser(ValueRules.declared())


@pytest.mark.parametrize("cell, value, status", [
    ("1974", 1974, "A"), ("1 974", 1974, "A"), ("1\u00a0974", 1974, "A"), ("1\u202f974", 1974, "A"),
    ("-3925", -3925, "A"), ("–3 925", -3925, "A"), ("−3 925", -3925, "A"), ("—3 925", -3925, "A"),
    ("30,0", 30.0, "A"), ("30.0", 30.0, "A"), ("1 234,5", 1234.5, "A"), (" 12 ", 12, "A"),
    ("0,0", 0, "N"), ("-", 0, "A"), ("–", 0, "A"), ("...", None, "O"), ("…", None, "O"),
    ("x", None, "Q"), ("х", None, "Q"), (7, 7, "A"), (2.5, 2.5, "A"),
])
def test_values(cell, value, status):
    parsed, attrs = PARSER.parse(cell)
    assert parsed == value and attrs["OBS_STATUS"] == status


def test_symbols_carry_their_meaning():
    assert PARSER.parse("-")[1]["COMMENT_OBS"].startswith("nil")
    assert PARSER.parse("x")[1]["CONF_STATUS"] == "C"
    value, attrs = PARSER.parse("4 383*")
    assert value == 4383 and attrs["COMMENT_OBS"] == "footnote *"
    value, attrs = PARSER.parse("4 383¹")
    assert value == 4383 and attrs["COMMENT_OBS"] == "footnote ¹"


@pytest.mark.parametrize("cell", ["4 38З", "12 5", "n/a", "1,2,3", "1e5", "nan", "inf", "30,0%", "", "  ", True])
def test_non_numbers_are_errors_never_zero(cell):
    with pytest.raises(BadValue):
        PARSER.parse(cell)


def test_blank_as_the_table_declares():
    assert ValueParser(ValueRules.declared(blank="nil")).parse("")[0] == 0
    value, attrs = ValueParser(ValueRules.declared(blank="missing")).parse(" ")
    assert value is None and attrs["OBS_STATUS"] == "O"
    with pytest.raises(BadValue, match="blank"):
        PARSER.parse(None)


def test_declared_symbols_override_the_defaults():
    parser = ValueParser(ValueRules.declared({"н.д.": {"value": None, "OBS_STATUS": "O"},
                                              "-": {"value": None, "OBS_STATUS": "M"}}))
    assert parser.parse("н.д.") == (None, {"OBS_STATUS": "O"})
    assert parser.parse("-") == (None, {"OBS_STATUS": "M"})


# -- sources --------------------------------------------------------------

TABLE = [["Учёт мигрантов, 2011 г.", ""], ["", "Всего"], ["Вернулось", "572 728"]]


def write(path, rows, encoding="utf-8", delimiter=",", bom=b""):
    text = "\r\n".join(delimiter.join(f'"{c}"' if delimiter in c else c for c in row) for row in rows) + "\r\n"
    path.write_bytes(bom + text.encode(encoding))
    return path


def rows_of(source):
    return [cells for _, cells in source]


@pytest.mark.parametrize("encoding, bom, detected", [
    ("utf-8", b"", "utf-8"), ("utf-8", codecs.BOM_UTF8, "utf-8-sig"), ("cp1251", b"", "cp1251")])
def test_encodings_detected(tmp_path, encoding, bom, detected):
    source = open_source(write(tmp_path / "t.csv", TABLE, encoding, bom=bom))
    assert source.encoding == detected and rows_of(source) == TABLE


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_sniffed(tmp_path, delimiter):
    source = open_source(write(tmp_path / "t.csv", TABLE + [["a, b", "1"]], delimiter=delimiter))
    assert source.delimiter == delimiter and rows_of(source)[-1] == ["a, b", "1"]


@pytest.mark.parametrize("encoding", ["cp866", "koi8_r"])
def test_other_cyrillic_encodings_are_refused_with_a_place(tmp_path, encoding):
    rows = [["Учёт миграции граждан Республики Таджикистан за рубеж и возвращения"] * 2] + TABLE * 3
    with pytest.raises(SourceError) as caught:
        open_source(write(tmp_path / "t.csv", rows, encoding))
    assert (caught.value.code, caught.value.row, caught.value.column) == ("bad-encoding", 1, "A")


def test_utf16_is_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("Всего,1\r\n".encode("utf-16"))
    with pytest.raises(SourceError, match="UTF-16"):
        open_source(path)


def test_a_byte_the_declared_encoding_cannot_read_is_located(tmp_path):
    path = write(tmp_path / "t.csv", [["total", "1"], ["x", "2"], ["Всего", "3"]], "cp1251")
    source = open_source(path, SourceSpec(encoding="utf-8"))
    with pytest.raises(UnicodeDecodeError) as caught:
        rows_of(source)
    error = source.decode_error(caught.value)
    assert (error.code, error.row, error.column, error.value) == ("bad-encoding", 3, "A", "0xC2")


def test_xlsx_merged_header_cells_are_filled_and_sheets_chosen(tmp_path):
    workbook = kg_workbook_module().build(tmp_path / "kg.xlsx")
    by_index = rows_of(open_source(workbook, SourceSpec(sheet=1)))
    assert by_index[2][1:7] == ["2017", "2017", "2017", "2018", "2018", "2018"]
    assert by_index[4][:4] == ["Бардыгы:", "1974", "5899", "-3925"]
    assert by_index[7][1:4] == ["", "", ""]  # blank cells stay blank
    assert rows_of(open_source(workbook, SourceSpec(sheet="Тышкы миграция"))) == by_index
    with pytest.raises(SourceError, match="no sheet"):
        rows_of(open_source(workbook, SourceSpec(sheet=2)))


def test_big_xlsx_read_only_without_merge_filling(tmp_path, monkeypatch):
    monkeypatch.setattr(sources_module, "XLSX_READ_ONLY_BYTES", 0)
    workbook = kg_workbook_module().build(tmp_path / "kg.xlsx")
    assert rows_of(open_source(workbook))[2][1:4] == ["2017", "", ""]


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 701)] == ["A", "Z", "AA", "ZZ"]
    assert all(column_index(column_letter(i)) == i for i in range(800))


# -- mapping files --------------------------------------------------------

BROKEN = """\
id: BROKEN
country: kz
layout: tabel
tabel: {}
constants: {freq: A}
values: {blank: zero}
"""


def test_schema_errors_all_at_once_with_path_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(MappingFileError) as caught:
        load_mapping(path)
    found = {(p.object_id, p.row) for p in caught.value.report.problems}
    assert {("country", 2), ("layout", 3), ("(top)", 1), ("constants", 5), ("values.blank", 6)} <= found
    messages = " ".join(p.message for p in caught.value.report.problems)
    assert "dataflow" in messages and "tabel" in messages


def test_bad_regex_and_bad_yaml(tmp_path):
    mapping = variant_mapping(MAPPINGS / "tj" / "migration_cards.yaml", tmp_path)
    text = mapping.read_text(encoding="utf-8").replace("'^(в том числе|из них)'", "'^(в том числе'")
    mapping.write_text(text.replace("^(в том числе|из них)", "^(в том числе"), encoding="utf-8")
    with pytest.raises(MappingFileError) as caught:
        load_mapping(mapping)
    (problem,) = caught.value.report.problems
    assert problem.code == "bad-regex" and problem.object_id == "table.rows.groups.0" and problem.row
    mapping.write_text("id: X\n  country: [KZ\n", encoding="utf-8")
    with pytest.raises(MappingFileError) as caught:
        load_mapping(mapping)
    assert caught.value.report.problems[0].code == "bad-yaml"


def test_every_mapping_file_is_valid():
    files = sorted(p for p in MAPPINGS.rglob("*.yaml") if p.name != "aliases.yaml")
    assert len(files) >= 6
    for path in files:
        assert load_mapping(path).id


def prepared(catalog, spec):
    flow = catalog.dataflow(spec.dataflow)
    dsd = catalog.structure_of(flow)
    return Context(dsd, {r: catalog.codelist(r) for r in dsd.codelist_refs()}), catalog.constraint_of(flow)


def test_mapping_check_names_unknown_codes_uncovered_dimensions_and_constraint(catalog, tmp_path):
    original = yaml.safe_load((MAPPINGS / "kz" / "external_migration_by_country.yaml").read_text(encoding="utf-8"))
    constants = dict(original["constants"], OCCUPATION="_T", SEX="X")
    del constants["URBANISATION"]
    path = variant_mapping(MAPPINGS / "kz" / "external_migration_by_country.yaml", tmp_path, constants=constants,
                           attributes=dict(original["attributes"], NOT_THERE="1"))
    spec = load_mapping(path)
    report = check_mapping(spec, *prepared(catalog, spec))
    found = {(p.code, p.object_id) for p in report.problems}
    assert found == {("not-allowed", "constants.OCCUPATION"), ("unknown-code", "constants.SEX"),
                     ("uncovered-dimension", "constants"), ("unknown-component", "attributes.NOT_THERE")}
    assert all(p.row for p in report.problems)


def test_aliases_must_name_real_codes(catalog, tmp_path):
    aliases = tmp_path / "aliases.yaml"
    aliases.write_text("CL_AREA:\n  Рассея: RUS\n", encoding="utf-8")
    path = variant_mapping(MAPPINGS / "kz" / "external_migration_by_country.yaml", tmp_path, aliases=str(aliases))
    spec = load_mapping(path)
    (problem,) = check_mapping(spec, *prepared(catalog, spec)).problems
    assert problem.code == "unknown-code" and problem.value == "RUS" and "RU" in problem.suggestions


def test_all_mappings_pass_their_check(catalog):
    for path in sorted(p for p in MAPPINGS.rglob("*.yaml") if p.name != "aliases.yaml"):
        spec = load_mapping(path)
        report = check_mapping(spec, *prepared(catalog, spec))
        assert report.valid and not report.problems, (path, report.to_dict())
