"""Helpers of the mapping tests: convert a national file with a mapping against the real catalog,
find observations by their codes, and write variants of the example inputs."""

from __future__ import annotations

import csv
import importlib.util
import io
from pathlib import Path
from typing import Any, Iterable

import yaml

from service.catalog import PROJECT_ROOT
from service.mappings import Context, SourceError, check_mapping, convert, load_mapping, open_source
from service.model.data import Observation, Series
from service.model.report import Report
from service.model.validate import validate_series

MAPPINGS = PROJECT_ROOT / "mappings"


def convert_file(catalog, mapping: Path, source: Path) -> tuple[list[Series], Report, Any]:
    """Series, report and DSD of one conversion, exactly as `migstat convert` runs it."""
    spec = load_mapping(mapping)
    flow = catalog.dataflow(spec.dataflow)
    dsd = catalog.structure_of(flow)
    codelists = {ref: catalog.codelist(ref) for ref in dsd.codelist_refs()}
    constraint = catalog.constraint_of(flow)
    report = Report()
    context = Context(dsd, codelists)
    check_mapping(spec, context, constraint, report)
    try:
        opened = open_source(source, spec.source)
    except SourceError as exc:
        report.error(exc.code, str(exc), file=source.name, row=exc.row, column=exc.column, value=exc.value)
        return [], report, dsd
    converted = convert(spec, opened, context, report)
    series = list(validate_series(converted, dsd, codelists, constraint, report))
    return series, report, dsd


def find(series: Iterable[Series], dsd, period: str, **codes: str) -> Observation:
    """The one observation of ``period`` whose key holds ``codes`` (other dimensions at any code)."""
    positions = {dsd.dimension_ids.index(d): c for d, c in codes.items()}
    found = [o for s in series if all(s.key[p] == c for p, c in positions.items())
             for o in s.observations if o.time_period == period]
    assert len(found) == 1, f"{len(found)} observations for {codes} {period}"
    return found[0]


def errors(report: Report) -> list[tuple[str, int | None, str | None]]:
    return [(p.code, p.row, p.column) for p in report.errors()]


def read_csv_rows(path: Path, encoding: str = "utf-8-sig", delimiter: str = ",") -> list[list[str]]:
    with open(path, encoding=encoding, newline="") as handle:
        return list(csv.reader(handle, delimiter=delimiter))


def write_csv_rows(path: Path, rows: list[list[str]], encoding: str = "utf-8", delimiter: str = ",") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def variant_mapping(mapping: Path, folder: Path, **changes: Any) -> Path:
    """A copy of a mapping with top-level keys changed, its aliases still those of its country."""
    data = yaml.safe_load(mapping.read_text(encoding="utf-8"))
    data.update(changes)
    data.setdefault("aliases", str(mapping.parent / "aliases.yaml"))
    target = folder / mapping.name
    target.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def kg_workbook_module():
    """mappings/kg/examples/make_xlsx.py, which builds the Kyrgyz XLSX example."""
    path = MAPPINGS / "kg" / "examples" / "make_xlsx.py"
    spec = importlib.util.spec_from_file_location("kg_make_xlsx", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
