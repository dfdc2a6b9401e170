"""`migstat check` passes on the shipped structures and names the problem in each broken variant."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner

from service.catalog import PROJECT_ROOT, load_catalog
from service.catalog.check import check_catalog
from service.cli import main


def run_check(root: Path) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["check", "--root", str(root), "--report", "json"])
    return result.exit_code, json.loads(result.output)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A private copy of dsd/ and codelists/ to break."""
    for name in ("dsd", "codelists"):
        shutil.copytree(PROJECT_ROOT / name, tmp_path / name)
    return tmp_path


def edit(path: Path, change: Callable[[str], str]) -> None:
    text = path.read_text(encoding="utf-8")
    changed = change(text)
    assert changed != text, f"the edit did not apply to {path}"
    path.write_text(changed, encoding="utf-8")


def test_shipped_structures_pass():
    code, report = run_check(PROJECT_ROOT)
    assert report["problems"] == [] and code == 0
    assert report["stats"]["datastructure"] == 1
    assert report["stats"]["dataflow"] >= 4
    assert report["stats"]["codes"] > 400


def test_check_prints_ok_table():
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 0
    assert "OK:" in result.output and "0 error(s)" in result.output


def _codes(report: dict) -> list[tuple[str, str | None, str | None]]:
    return [(p["code"], p.get("file"), p.get("object_id")) for p in report["problems"]]


def test_broken_codelist_reference(tree: Path):
    edit(tree / "dsd" / "DSD_MIGR.yaml", lambda t: t.replace("codelist: CL_SEX}", "codelist: CL_SEXX}"))
    code, report = run_check(tree)
    assert code == 1
    assert ("unknown-reference", "dsd/DSD_MIGR.yaml", "DSD_MIGR.SEX") in _codes(report)
    assert any("CL_SEXX" in p["message"] for p in report["problems"])


def test_unknown_concept(tree: Path):
    edit(tree / "dsd" / "DSD_MIGR.yaml", lambda t: t.replace("{id: ETHNICITY,", "{id: ETHNICITY, concept: ETHNOS,"))
    code, report = run_check(tree)
    assert code == 1
    assert ("unknown-reference", "dsd/DSD_MIGR.yaml", "DSD_MIGR.ETHNICITY") in _codes(report)


def test_missing_russian_name(tree: Path):
    path = tree / "codelists" / "CL_SEX.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    ru = header.index("name:ru")
    row = next(i for i, line in enumerate(lines) if line.startswith("F,"))
    cells = lines[row].split(",")
    cells[ru] = ""
    lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, report = run_check(tree)
    assert code == 1
    problem = next(p for p in report["problems"] if p["code"] == "missing-name")
    assert problem["file"] == "codelists/CL_SEX.csv" and problem["object_id"] == "CL_SEX.F"
    assert problem["expected"] == "ru"


def test_invalid_code_id(tree: Path):
    edit(tree / "codelists" / "CL_MIGR_DEF.csv", lambda t: t.replace("\nNAT_BORD,", "\nNAT BORD,", 1))
    code, report = run_check(tree)
    assert code == 1
    problem = next(p for p in report["problems"] if p["code"] == "invalid-id")
    assert problem["file"] == "codelists/CL_MIGR_DEF.csv" and problem["value"] == "NAT BORD"
    assert problem["row"] > 1


def test_invalid_artefact_id(tree: Path):
    edit(tree / "dsd" / "dataflows.yaml", lambda t: t.replace("id: DF_MIGR_STOCK", "id: DF MIGR STOCK"))
    code, report = run_check(tree)
    assert code == 1
    assert any(p["code"] == "invalid-id" and p["file"] == "dsd/dataflows.yaml" for p in report["problems"])


def test_duplicate_code(tree: Path):
    path = tree / "codelists" / "CL_SEX.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.append(next(line for line in lines if line.startswith("M,")))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, report = run_check(tree)
    assert code == 1
    assert ("duplicate-id", "codelists/CL_SEX.csv", "CL_SEX.M") in _codes(report)


def test_unknown_parent(tree: Path):
    edit(tree / "codelists" / "CL_AREA.csv", lambda t: re.sub(r"\nKZ-75,KZ,", "\nKZ-75,KZZ,", t, count=1))
    code, report = run_check(tree)
    assert code == 1
    problem = next(p for p in report["problems"] if p["code"] == "unknown-parent")
    assert problem["object_id"] == "CL_AREA.KZ-75" and problem["value"] == "KZZ"


def test_constraint_code_not_in_codelist(tree: Path):
    edit(tree / "dsd" / "dataflows.yaml", lambda t: t.replace("[IMM, EMI, NETM,", "[IMM, EMI, NETX,", 1))
    code, report = run_check(tree)
    assert code == 1
    problem = next(p for p in report["problems"] if p["code"] == "unknown-code")
    assert problem["object_id"] == "CN_DF_MIGR_FLOW.INDICATOR" and problem["value"] == "NETX"
    assert problem["file"] == "dsd/dataflows.yaml"


def test_constraint_on_unknown_component(tree: Path):
    edit(tree / "dsd" / "dataflows.yaml", lambda t: t.replace("      OCCUPATION: [_Z]\n", "      OCCUPATON: [_Z]\n", 1))
    code, report = run_check(tree)
    assert code == 1
    assert any(p["code"] == "unknown-component" and p["value"] == "OCCUPATON" for p in report["problems"])


def test_bad_annotation(tree: Path):
    def add_untyped(text: str) -> str:  # into DF_MIGR_STOCK's own list of display annotations
        head, tail = text.split("  - id: DF_MIGR_STOCK\n", 1)
        return head + "  - id: DF_MIGR_STOCK\n" + tail.replace(
            "    annotations:\n", "    annotations:\n      - {title: no type}\n", 1)
    edit(tree / "dsd" / "dataflows.yaml", add_untyped)
    code, report = run_check(tree)
    assert code == 1
    problem = next(p for p in report["problems"] if p["code"] == "bad-annotation")
    assert problem["object_id"] == "DF_MIGR_STOCK"


def test_bad_annotation_type_in_codelist(tree: Path):
    edit(tree / "codelists" / "CL_AREA.csv", lambda t: t.replace("ann:M49", "ann:M-49", 1))
    code, report = run_check(tree)
    assert code == 1
    assert any(p["code"] == "bad-header" and p["file"] == "codelists/CL_AREA.csv" for p in report["problems"])


def test_unreadable_yaml(tree: Path):
    (tree / "dsd" / "concepts.yaml").write_text("id: CS_MIGR\nconcepts: [\n", encoding="utf-8")
    code, report = run_check(tree)
    assert code == 1
    assert ("unreadable-file", "dsd/concepts.yaml", None) in _codes(report)


def test_provider_with_unknown_area(tree: Path):
    edit(tree / "dsd" / "organisations.yaml", lambda t: t.replace("ref_area: TJ", "ref_area: TX"))
    code, report = run_check(tree)
    assert code == 1
    problem = next(p for p in report["problems"] if p["object_id"] == "TJ_STAT")
    assert problem["code"] == "unknown-code" and problem["value"] == "TX"


def test_xsd_problem_is_reported(tree: Path, monkeypatch):
    """A writer defect that makes the message XSD-invalid is caught by the XSD check."""
    from service.formats import structure_ml

    real = structure_ml.write_structure_message

    def broken(*args, **kwargs):
        return real(*args, **kwargs).replace(b"<str:Codelists>", b"<str:Codelistz>", 1)

    monkeypatch.setattr(structure_ml, "write_structure_message", broken)
    report = check_catalog(load_catalog(PROJECT_ROOT))
    assert not report.valid
    assert any(p.code == "xsd-invalid" for p in report.problems)


def test_provision_agreements_cover_each_provider(catalog):
    areas = catalog.allowed_ref_areas("KG_NSC", catalog.dataflow("DF_MIGR_FLOW"))
    assert "KG" in areas and "KG-GB" in areas and "KZ" not in areas
    assert {pa.provider for pa in catalog.provision_agreements} == {"KZ_BNS", "KG_NSC", "TJ_STAT"}
