"""Broken national files fail with exactly the expected errors at the right row and column, and next
year's tables convert with this year's mapping untouched (tests/fixtures/mappings/variants.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from mappings_support import convert_file, errors, find, variant_mapping

from service.cli import main

_spec = importlib.util.spec_from_file_location("mapping_variants",
                                               Path(__file__).parent / "fixtures" / "mappings" / "variants.py")
variants = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = variants
_spec.loader.exec_module(variants)


def mapping_for(variant, folder: Path) -> Path:
    return variant_mapping(variant.mapping, folder, **variant.mapping_changes) if variant.mapping_changes \
        else variant.mapping


@pytest.mark.parametrize("variant", variants.BROKEN, ids=lambda v: v.name)
def test_broken_variant_gives_exactly_the_expected_errors(catalog, tmp_path, variant):
    source = variant.build(tmp_path)
    _, report, _ = convert_file(catalog, mapping_for(variant, tmp_path), source)
    assert errors(report) == variant.errors, report.to_dict()
    assert all(p.file == source.name and p.value is not None for p in report.errors())


@pytest.mark.parametrize("variant", variants.BROKEN, ids=lambda v: v.name)
def test_broken_variant_exits_1_and_writes_nothing(tmp_path, variant):
    source = variant.build(tmp_path)
    output = tmp_path / "out.csv"
    done = CliRunner().invoke(main, ["convert", "-m", str(mapping_for(variant, tmp_path)), str(source),
                                     "-o", str(output)])
    assert done.exit_code == 1, done.output
    assert not output.exists() and not list(tmp_path.glob(".out.csv*"))
    assert f"{variant.errors[0][0]}" in done.output and f"row {variant.errors[0][1]}" in done.output


def test_unknown_country_suggests_the_closest_codes(catalog, tmp_path):
    _, report, _ = convert_file(catalog, variants.KZ / "external_migration_by_country.yaml",
                                variants.kz_unknown_country(tmp_path))
    (problem,) = report.errors()
    assert problem.value == "Рессей / Росия" and problem.suggestions[0].startswith("RU")


def test_changed_header_names_the_declared_columns(catalog, tmp_path):
    _, report, _ = convert_file(catalog, variants.KZ / "external_migration_by_country.yaml",
                                variants.kz_changed_header(tmp_path))
    (problem,) = report.errors()
    assert problem.value == "Кеткендер саны / Число выбывших"
    assert any("Выбывшие" in s for s in problem.suggestions)
    assert [p.code for p in report.warnings()] == ["missing-column"]


@pytest.mark.parametrize("variant", variants.NEXT_YEAR, ids=lambda v: v.name)
def test_next_year_converts_with_the_same_mapping(catalog, tmp_path, variant):
    series, report, _ = convert_file(catalog, variant.mapping, variant.build(tmp_path))
    assert report.valid, report.to_dict()
    assert series


def test_kazakhstan_next_year_content(catalog, tmp_path):
    series, report, dsd = convert_file(catalog, variants.KZ / "external_migration_by_country.yaml",
                                       variants.kz_next_year(tmp_path))
    assert {o.time_period for s in series for o in s.observations} == {"2018"}
    at = dsd.dimension_ids.index
    areas = {s.key[at("COUNTERPART_AREA")] for s in series}
    assert {"IN", "GE"} <= areas and "MD" not in areas
    assert find(series, dsd, "2018", INDICATOR="IMM", COUNTERPART_AREA="_T").value == 16081
    russia = find(series, dsd, "2018", INDICATOR="IMM", COUNTERPART_AREA="RU")
    assert russia.value == 4383 and russia.attributes["COMMENT_OBS"] == "footnote *"
    assert find(series, dsd, "2018", INDICATOR="EMI", COUNTERPART_AREA="GE").value == 0


@pytest.mark.parametrize("build", [variants.kg_next_year, variants.kg_next_year_csv])
def test_kyrgyzstan_next_years_from_the_header(catalog, tmp_path, build):
    series, report, dsd = convert_file(catalog, variants.KG / "external_migration_by_country.yaml",
                                       build(tmp_path))
    assert report.valid
    assert {o.time_period for s in series for o in s.observations} == {"2018", "2019"}
    if build is variants.kg_next_year:
        assert find(series, dsd, "2019", INDICATOR="EMI", COUNTERPART_AREA="UZ").value == 21
        assert "AM" not in {s.key[dsd.dimension_ids.index("COUNTERPART_AREA")] for s in series}


def test_tajik_cards_next_year_keeps_departures_and_returns_apart(catalog, tmp_path):
    series, report, dsd = convert_file(catalog, variants.TJ / "migration_cards.yaml",
                                       variants.tj_cards_next_year(tmp_path))
    assert report.valid
    kyrgyzstan = find(series, dsd, "2012", COUNTERPART_AREA="KG", SEX="_T")
    assert kyrgyzstan.attributes["OBS_STATUS"] == "O"
    at = dsd.dimension_ids.index
    by_area = {s.key[at("COUNTERPART_AREA")]: s.key[at("INDICATOR")] for s in series}
    assert by_area["KG"] == by_area["RU"] == by_area["_O"] == "CIT_DEP_WORK"
    assert find(series, dsd, "2012", INDICATOR="CIT_RET_WORK", SEX="F").value == 66311


def test_kandas_next_year_period_and_detail(catalog, tmp_path):
    series, report, dsd = convert_file(catalog, variants.KZ / "kandas_structure.yaml",
                                       variants.kandas_next_year(tmp_path))
    assert report.valid
    turkey = find(series, dsd, "2024", COUNTERPART_AREA="TR")
    assert turkey.value == 1.1 and turkey.attributes["REF_PERIOD_DETAIL"] == "на 1 октября 2024 г."
