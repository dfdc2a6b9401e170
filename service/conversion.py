"""National tables through their mappings, with the structures of the catalog.

The command line (``migstat convert``, ``mappings check``), the demo loader
and the upload endpoint for national tables share this: a mapping prepared
against the catalog, then series converted and validated from a source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from .catalog import Catalog
from .formats.context import WriteContext
from .formats.sdmx_csv import write_sdmx_csv
from .mappings import Context, MappingSpec, check_mapping, convert, load_mapping, open_source
from .model.report import Report
from .model.validate import validate_series


class Prepared:
    """A mapping with the structures it needs, or the report saying why not."""

    def __init__(self, spec: MappingSpec, catalog: Catalog, report: Report):
        self.spec = spec
        self.flow = catalog.dataflow(spec.dataflow)
        self.structure = catalog.structure_of(self.flow) if self.flow is not None else None
        if self.structure is None:
            report.error("unknown-dataflow", f"dataflow {spec.dataflow!r} (or its structure) is not in the catalog",
                         file=str(spec.path), object_id="dataflow", row=spec.lines(["dataflow"]))
            return
        self.codelists = {ref: cl for ref in self.structure.codelist_refs() if (cl := catalog.codelist(ref))}
        self.constraint = catalog.constraint_of(self.flow)
        self.context = Context(self.structure, self.codelists)
        check_mapping(spec, self.context, self.constraint, report)

    def series(self, source, report: Report, progress=None):
        """Converted and validated series of one source (problems in ``report``)."""
        converted = convert(self.spec, source, self.context, report, progress)
        return validate_series(converted, self.structure, self.codelists, self.constraint, report)

    def write_context(self) -> WriteContext:
        return WriteContext(structure=self.structure, dataflow=self.flow,
                            codelists={ref.id: cl for ref, cl in self.codelists.items()})


def convert_to_csv(catalog: Catalog, mapping: Path, table: Path) -> tuple[bytes | None, Report]:
    """One national table as SDMX-CSV 2.0 bytes (None when the report has errors)."""
    report = Report()
    prepared = Prepared(load_mapping(mapping), catalog, report)
    if not report.valid:
        return None, report
    source = open_source(table, prepared.spec.source)
    body = b"".join(write_sdmx_csv(prepared.series(source, report), prepared.write_context()))
    return (body if report.valid else None), report


def convert_examples(catalog: Catalog, root: Path) -> Iterator[tuple[str, bytes]]:
    """Every example table of every mapping under ``root/mappings``, converted (a failure raises)."""
    for mapping in sorted((root / "mappings").rglob("*.yaml")):
        if mapping.name == "aliases.yaml":
            continue
        spec = load_mapping(mapping)
        for example in spec.examples():
            body, report = convert_to_csv(catalog, mapping, example)
            if body is None:
                problems = "; ".join(f"{p.where()}: {p.message}" for p in report.errors())
                raise ValueError(f"the example {example} does not convert with {mapping}: {problems}")
            yield f"{mapping.parent.name}/{example.name}", body
