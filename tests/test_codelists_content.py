"""The codelists say what the design says: names, reserved codes, SDMX global ids, areas from pycountry."""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

import pycountry
import pytest
import yaml

from service.catalog import PROJECT_ROOT, descendants
from service.catalog import areas

RESERVED = ("_T", "_O", "_U", "_N", "_Z", "_X")
SUB_NATIONAL = re.compile(r"^(KZ|KG|TJ)-[A-Z0-9]+$")


def global_codes(shared: Path, name: str) -> dict[str, str]:
    """Code id -> English name of an SDMX global codelist as published (design/sdmx-global-codelists)."""
    with open(shared / "design" / "sdmx-global-codelists" / f"{name}.csv", encoding="utf-8", newline="") as fh:
        return {row["id"]: row["name"] for row in csv.DictReader(fh)}


def ann(code, type_: str) -> str | None:
    found = code.annotation(type_)
    return found.title if found else None


@pytest.fixture(scope="module")
def area(catalog):
    return catalog.codelist("CL_AREA")


@pytest.fixture(scope="module")
def dsd(catalog):
    return catalog.data_structures[0]


# -- the files load, and every code is named ---------------------------------------------------

def test_codelist_files_load_without_problems(catalog):
    problems = [str(p) for p in catalog.report.problems if (p.file or "").startswith("codelists/")]
    assert problems == []
    assert len(catalog.codelists) == 19


def test_every_code_has_english_and_russian_names(catalog):
    missing = [f"{cl.ref.id}.{code.id} ({lang})" for cl in catalog.codelists for code in cl.items
               for lang in ("en", "ru") if not code.names.get(lang)]
    assert missing == []
    assert all(cl.names.get("en") and cl.names.get("ru") for cl in catalog.codelists)


def test_codes_are_unique_and_parents_exist(catalog):
    for cl in catalog.codelists:
        ids = [code.id for code in cl.items]
        assert len(ids) == len(set(ids)), cl.ref.id
        for code in cl.items:
            assert code.parent is None or code.parent in cl, f"{cl.ref.id}.{code.id}: parent {code.parent}"
            seen, parent = {code.id}, code.parent
            while parent:  # no cycles
                assert parent not in seen, f"{cl.ref.id}.{code.id} is its own ancestor"
                seen.add(parent)
                parent = cl.by_id[parent].parent


def test_rows_run_totals_first_and_reserved_codes_last(catalog):
    for cl in catalog.codelists:
        ids = [code.id for code in cl.items]
        if "_T" in ids:
            assert ids[0] == "_T", cl.ref.id
        tail = [i for i in ids if i in ("_O", "_N", "_U", "_Z")]
        assert ids[len(ids) - len(tail):] == tail, f"{cl.ref.id}: reserved codes must come last"


# -- dimensions, dataflows, providers ------------------------------------------------------------

def test_every_dimension_codelist_has_total_and_not_applicable(catalog, dsd):
    for dim in dsd.dimensions:
        codelist = catalog.codelist(dim.representation.codelist)
        assert codelist is not None, dim.id
        assert "_Z" in codelist, f"{dim.id}: {codelist.ref.id} lacks _Z"
        if dim.id == "FREQ":
            assert "_T" not in codelist
        else:
            assert "_T" in codelist, f"{dim.id}: {codelist.ref.id} lacks _T"


def test_codelists_of_the_dsd_exist(catalog, dsd):
    assert [ref.id for ref in dsd.codelist_refs() if catalog.codelist(ref) is None] == []


def test_dataflow_constraint_codes_exist(catalog, dsd):
    flows = yaml.safe_load((PROJECT_ROOT / "dsd" / "dataflows.yaml").read_text(encoding="utf-8"))["dataflows"]
    missing = []
    for flow in flows:
        for dim_id, codes in (flow.get("constraint") or {}).items():
            codelist = catalog.codelist(dsd.dimension_by_id[dim_id].representation.codelist)
            missing += [f"{flow['id']}.{dim_id}={code}" for code in codes if str(code) not in codelist]
    assert missing == []


def test_providers_report_their_country_and_its_units(area):
    orgs = yaml.safe_load((PROJECT_ROOT / "dsd" / "organisations.yaml").read_text(encoding="utf-8"))
    for provider in orgs["data_providers"]["providers"]:
        country = provider["ref_area"]
        units = descendants(area, country)
        assert units[0] == country
        assert set(units[1:]) == {c.id for c in area.items if c.id.startswith(f"{country}-")}
        assert len(units) > 4


@pytest.mark.parametrize("cl_id, required", [
    ("CL_MIGR_INDICATOR", "IMM EMI NETM IMM_RT EMI_RT NETM_RT ARR_TOT DEP_TOT NETM_TOT ARR_INT DEP_INT NETM_INT "
                          "POP_FB POP_FCIT POP_CIT_ABR POP IMW IMW_RES IMW_NRES FWIM RIMW CIT_DEP_WORK "
                          "CIT_RET_WORK WP_ISS ETHRET PERM_RES REF_GRANT ASY_APP CIT_ACQ"),
    ("CL_MIGR_DEF", "UN_LT UN_R6 UN_ST NAT_PERM NAT_TEMP NAT_BORD NAT_STATUS _U _Z"),
    ("CL_MIGR_SOURCE", "ADM_POPREG ADM_BORDER ADM_PERMIT CENSUS LFS HHS MIRROR EST _U _Z"),
    ("CL_UNIT_MEASURE", "PS PT PER_1000_POP NUMBER"),
    ("CL_URBANISATION", "_T URB RUR _U _Z"),
    ("CL_AREA", "_T 001 002 009 019 142 150 143 145 030 034 035 151 154 155 039 172 XCIS EAEU "
                "NAT FOR STLS INTRA INTER _O _U _Z"),
])
def test_required_codes(catalog, cl_id, required):
    codelist = catalog.codelist(cl_id)
    assert [code for code in required.split() if code not in codelist] == []


# -- reuse of SDMX global codelists ---------------------------------------------------------------

@pytest.mark.parametrize("cl_id, global_id, whole", [
    ("CL_OBS_STATUS", "CL_OBS_STATUS", True),
    ("CL_CONF_STATUS", "CL_CONF_STATUS", True),
    ("CL_UNIT_MULT", "CL_UNIT_MULT", True),
    ("CL_DECIMALS", "CL_DECIMALS", True),
    ("CL_TIME_PER_COLLECT", "CL_TIME_PER_COLLECT", True),
    ("CL_SEX", "CL_SEX", False),
    ("CL_FREQ", "CL_FREQ", False),
    ("CL_URBANISATION", "CL_DEG_URB", False),
    ("CL_OCCUPATION", "CL_OCCUPATION", False),
    ("CL_ACTIVITY", "CL_ACTIVITY_ISIC4", False),
])
def test_global_codelist_ids_and_english_names_are_reused(catalog, shared, cl_id, global_id, whole):
    reference = global_codes(shared, global_id)
    local = catalog.codelist(cl_id)
    ids = {code.id for code in local.items}
    if whole:
        assert ids == set(reference)
    else:
        # the project's own reserved codes may be added to a list that lacks them
        assert {i for i in ids if i not in RESERVED} <= set(reference)
    renamed = [(code.id, code.names["en"], reference[code.id]) for code in local.items
               if code.id in reference and code.names["en"] != reference[code.id]]
    assert renamed == []


def test_subsets_hold_what_the_design_asks(catalog, shared):
    assert set("A S Q M W D _Z".split()) <= {c.id for c in catalog.codelist("CL_FREQ").items}
    assert {c.id for c in catalog.codelist("CL_SEX").items} == {"_T", "F", "M", "_O", "_N", "_U", "_Z"}
    majors = {i for i in global_codes(shared, "CL_OCCUPATION") if re.fullmatch(r"OC\d", i)}
    assert majors == {f"OC{d}" for d in range(10)}
    assert {c.id for c in catalog.codelist("CL_OCCUPATION").items} == majors | {"_T", "_U", "_Z"}
    sections = {i for i in global_codes(shared, "CL_ACTIVITY_ISIC4") if re.fullmatch(r"[A-Z]", i)}
    assert {c.id for c in catalog.codelist("CL_ACTIVITY").items} == sections | {"_T", "_U", "_Z"}


def test_area_regions_and_countries_exist_in_sdmx_cl_area(area, shared):
    reference = global_codes(shared, "CL_AREA")
    numeric = [code for code in area.items if code.id.isdigit()]
    assert len(numeric) >= 30
    assert [(c.id, c.names["en"]) for c in numeric if reference.get(c.id) != c.names["en"]] == []
    assert all(ann(c, "M49") == c.id for c in numeric)
    countries = [c.id for c in area.items if ann(c, "ISO_ALPHA3")]
    assert [c for c in countries if c not in reference] == []


# -- CL_AREA is what the generator builds from pycountry -----------------------------------------

def test_area_countries_are_the_iso_countries_of_pycountry(area):
    countries = {code.id for code in area.items if ann(code, "ISO_ALPHA3")}
    assert countries == {c.alpha_2 for c in pycountry.countries}
    for country in pycountry.countries:
        code = area.by_id[country.alpha_2]
        assert ann(code, "ISO_ALPHA3") == country.alpha_3
        assert ann(code, "M49") == country.numeric and len(ann(code, "M49")) == 3
        assert code.parent is None


def test_area_country_names_are_what_the_generator_builds(area):
    extras = areas.load_extras()
    drift = []
    for row in areas.country_rows(extras.get("country_names")):
        code = area.by_id[row["id"]]
        for lang in areas.LANGUAGES:
            if code.names.get(lang) != row.get(f"name:{lang}"):
                drift.append(f"{row['id']} {lang}: {code.names.get(lang)!r} != {row.get(f'name:{lang}')!r}")
    assert drift == [], "CL_AREA.csv is out of date: run python -m service.catalog.areas"


def test_area_csv_is_exactly_the_generated_file():
    committed = (PROJECT_ROOT / "codelists" / "CL_AREA.csv").read_text(encoding="utf-8")
    assert committed == areas.render_csv(areas.area_rows()), "run python -m service.catalog.areas"
    assert areas.main(["--check"]) == 0


def test_area_generator_leaves_missing_translations_blank():
    rows = {row["id"]: row for row in areas.country_rows()}
    assert rows["KZ"]["name:kk"] == "Қазақстан" and rows["KG"]["name:ky"] == "Кыргызстан"
    assert rows["US"]["name:en"] == "United States" and rows["MD"]["name:en"] == "Moldova"  # common_name
    assert all(row.get("name:ru") for row in rows.values())
    # iso-codes has no Kyrgyz name for Türkiye: blank, not the English text
    assert "name:ky" not in rows["TR"]


def test_area_overrides_fill_gaps_but_never_replace_pycountry():
    rows = {row["id"]: row for row in areas.country_rows({"TR": {"ky": "Түркия"}, "KZ": {"ru": "Другое"}})}
    assert rows["TR"]["name:ky"] == "Түркия"
    assert rows["KZ"]["name:ru"] == "Казахстан"


def test_area_extras_reject_an_unquoted_m49_id():
    with pytest.raises(ValueError, match="quoted"):
        areas.extra_row({"id": 1, "names": {"en": "World", "ru": "Мир"}}, "before_countries[0]")
    with pytest.raises(ValueError, match="ru"):
        areas.extra_row({"id": "X1", "names": {"en": "Only English"}}, "before_countries[0]")


# -- groups and sub-national units ---------------------------------------------------------------

def test_cis_lists_its_members_and_warns_that_they_change(area):
    cis = area.by_id["172"]
    members = ann(cis, "CIS_MEMBERS").split(",")
    assert {"KZ", "KG", "TJ", "RU", "UZ"} <= set(members)
    assert "GE" not in members
    assert all(ann(area.by_id[m], "ISO_ALPHA3") for m in members)
    assert "changes over time" in cis.descriptions["en"]
    assert all(ann(area.by_id[m], "ISO_ALPHA3") for m in ann(area.by_id["EAEU"], "EAEU_MEMBERS").split(","))


def test_m49_regions_form_one_tree_under_the_world(area):
    for code in area.items:
        if code.id.isdigit() and code.id not in ("001", "172"):
            assert "001" in _ancestors(area, code.id), code.id


def _ancestors(codelist, code_id: str) -> list[str]:
    out, parent = [], codelist.by_id[code_id].parent
    while parent:
        out.append(parent)
        parent = codelist.by_id[parent].parent
    return out


# SOATE codes of Kyrgyzstan's regions and cities (design, section 3.2).
SOATE = {"KG-GB": "41711000000000", "KG-GO": "41721000000000", "KG-Y": "41702000000000",
         "KG-J": "41703000000000", "KG-N": "41704000000000", "KG-B": "41705000000000",
         "KG-O": "41706000000000", "KG-T": "41707000000000", "KG-C": "41708000000000"}


def test_sub_national_units_sit_below_their_country_with_national_codes(area):
    units = [code for code in area.items if SUB_NATIONAL.match(code.id)]
    assert {u.id.split("-")[0] for u in units} == {"KZ", "KG", "TJ"}
    for unit in units:
        assert unit.parent == unit.id[:2], unit.id
    kz = {u.id: u for u in units if u.id.startswith("KZ-")}
    assert len(kz) == 21
    for unit in kz.values():
        assert ann(unit, "NATIONAL_CLASSIF") == "KATO"
        kato = ann(unit, "NATIONAL_CODE")
        assert re.fullmatch(r"\d{9}", kato) and kato.endswith("0000000"), unit.id
        if unit.id[3:].isdigit():  # ISO 3166-2:KZ numeric codes are the KATO region prefix
            assert kato[:2] == unit.id[3:]
    assert ann(kz["KZ-YUZ"], "NATIONAL_CODE") == "510000000"
    kg = {u.id: u for u in units if u.id.startswith("KG-")}
    assert {u: ann(kg[u], "NATIONAL_CODE") for u in kg} == SOATE
    assert {ann(u, "NATIONAL_CLASSIF") for u in kg.values()} == {"SOATE"}
    tj = {u.id: u for u in units if u.id.startswith("TJ-")}
    assert set(tj) == {"TJ-DU", "TJ-SU", "TJ-KT", "TJ-GB", "TJ-RA"}
    assert tj["TJ-DU"].names["ru"] == "г. Душанбе"
    assert tj["TJ-RA"].names["ru"] == "Районы республиканского подчинения"


def test_every_current_iso_subdivision_is_present(area):
    iso = {s.code for cc in ("KZ", "KG", "TJ") for s in pycountry.subdivisions.get(country_code=cc)}
    units = {code.id for code in area.items if SUB_NATIONAL.match(code.id)}
    assert iso <= units
    historic = units - iso
    assert historic == {"KZ-YUZ"}
    assert all(ann(area.by_id[u], "VALID_TO") for u in historic)


def test_territorial_changes_carry_validity_dates(area):
    def day(code_id: str, type_: str) -> date:
        return date.fromisoformat(ann(area.by_id[code_id], type_))

    assert day("KZ-YUZ", "VALID_TO") < day("KZ-61", "VALID_FROM") == day("KZ-79", "VALID_FROM")
    assert (day("KZ-61", "VALID_FROM") - day("KZ-YUZ", "VALID_TO")).days == 1
    assert {day(u, "VALID_FROM") for u in ("KZ-10", "KZ-33", "KZ-62")} == {date(2022, 6, 8)}
    for code in area.items:
        for type_ in ("VALID_FROM", "VALID_TO"):
            if ann(code, type_):
                date.fromisoformat(ann(code, type_))


# -- age ------------------------------------------------------------------------------------------

def test_age_bands_carry_bounds_and_national_groups_stay_apart(catalog):
    age = catalog.codelist("CL_AGE")
    for code in age.items:
        if code.id.startswith("Y"):
            lower, upper = ann(code, "AGE_LOWER"), ann(code, "AGE_UPPER")
            assert lower is not None and lower.isdigit(), code.id
            assert upper is None or int(lower) <= int(upper), code.id
            assert ann(code, "AGE_NATIONAL") is None
    five_year = [c for c in age.items if re.fullmatch(r"Y(_LT5|\d+T\d+|_GE85)", c.id)
                 and (ann(c, "AGE_UPPER") is None or int(ann(c, "AGE_UPPER")) - int(ann(c, "AGE_LOWER")) == 4)]
    starts = sorted(int(ann(c, "AGE_LOWER")) for c in five_year)
    assert starts == list(range(0, 90, 5))
    for code_id in ("WA_BELOW", "WA", "WA_ABOVE"):
        code = age.by_id[code_id]
        assert "never summed" in ann(code, "AGE_NATIONAL")
        assert ann(code, "AGE_LOWER") is None and code.parent is None
