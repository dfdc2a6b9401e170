"""Checks of the structural artefacts: what ``migstat check`` runs.

Every problem is a Problem in a Report, naming the file and the id it
concerns. Reading problems (bad YAML, bad CSV rows) come from the loader;
the checks here look at the loaded artefacts as a whole.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable

from ..model.report import Report
from ..model.structure import Codelist, DataStructure, ItemScheme, Maintainable
from . import Catalog

REQUIRED_LANGUAGES = ("en", "ru")
ANNOTATION_TYPE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def source_file(artefact: Maintainable) -> str:
    """The source file an artefact is read from (for problem locations)."""
    kind, art_id = artefact.kind, artefact.ref.id
    if kind == "codelist":
        return f"codelists/{art_id}.csv"
    return {
        "conceptscheme": "dsd/concepts.yaml",
        "datastructure": f"dsd/{art_id}.yaml",
        "dataflow": "dsd/dataflows.yaml",
        "agencyscheme": "dsd/organisations.yaml",
        "dataproviderscheme": "dsd/organisations.yaml",
        "provisionagreement": "dsd/organisations.yaml",
    }.get(kind, "dsd/dataflows.yaml" if art_id.startswith("CN_DF") else "dsd/organisations.yaml")


def metadata_file(artefact: Maintainable) -> str:
    return "codelists/index.yaml" if artefact.kind == "codelist" else source_file(artefact)


def check_catalog(catalog: Catalog, *, xsd: bool = True) -> Report:
    """All problems of the catalog: those found while reading and those of the checks below."""
    report = Report(limit=10_000)
    report.extend(catalog.report.problems)
    check_duplicates(catalog, report)
    check_names(catalog, report)
    check_parents(catalog, report)
    check_annotations(catalog, report)
    check_references(catalog, report)
    check_constraints(catalog, report)
    if xsd:
        check_xsd(catalog, report)
    report.stats = {kind: len(catalog.artefacts(kind)) for kind in (
        "codelist", "conceptscheme", "datastructure", "dataflow", "contentconstraint",
        "agencyscheme", "dataproviderscheme", "provisionagreement")}
    report.stats["codes"] = sum(len(cl.items) for cl in catalog.codelists)
    return report


def _duplicates(ids: Iterable[str]) -> list[str]:
    return [item for item, count in Counter(ids).items() if count > 1]


def check_duplicates(catalog: Catalog, report: Report) -> None:
    for kind in ("codelist", "conceptscheme", "datastructure", "dataflow", "contentconstraint",
                 "provisionagreement"):
        for dup in _duplicates(str(a.ref) for a in catalog.artefacts(kind)):
            report.error("duplicate-id", f"{kind} {dup} is defined more than once", object_id=dup,
                         file=metadata_file(catalog.artefacts(kind)[0]))
    for scheme in _item_schemes(catalog):
        for dup in _duplicates(item.id for item in scheme.items):
            report.error("duplicate-id", f"{scheme.ref.id} holds {dup} more than once",
                         file=source_file(scheme), object_id=f"{scheme.ref.id}.{dup}", value=dup)
    for dsd in catalog.data_structures:
        comps = [*dsd.dimension_ids, *(a.id for a in dsd.attributes)]
        comps += [c.id for c in (dsd.time_dimension, dsd.measure) if c is not None]
        for dup in _duplicates(comps):
            report.error("duplicate-id", f"{dsd.ref.id} has two components with id {dup}",
                         file=source_file(dsd), object_id=f"{dsd.ref.id}.{dup}", value=dup)


def _item_schemes(catalog: Catalog) -> list[ItemScheme]:
    return [*catalog.codelists, *catalog.concept_schemes, *catalog.agency_schemes, *catalog.provider_schemes]


def _missing_languages(names: dict) -> list[str]:
    return [lang for lang in REQUIRED_LANGUAGES if not names.get(lang)]


def check_names(catalog: Catalog, report: Report) -> None:
    """Every artefact, code and concept has an English and a Russian name."""
    for artefact in catalog.all_artefacts():
        if artefact.kind in ("contentconstraint", "provisionagreement", "agencyscheme"):
            continue  # named by the loader from their parts
        for lang in _missing_languages(artefact.names):
            report.error("missing-name", f"{artefact.kind} {artefact.ref.id} has no name in '{lang}'",
                         file=metadata_file(artefact), object_id=artefact.ref.id, expected=lang)
        if isinstance(artefact, ItemScheme):
            for item in artefact.items:
                for lang in _missing_languages(item.names):
                    report.error("missing-name", f"{artefact.ref.id}.{item.id} has no name in '{lang}'",
                                 file=source_file(artefact), object_id=f"{artefact.ref.id}.{item.id}",
                                 expected=lang)


def check_parents(catalog: Catalog, report: Report) -> None:
    """Parents exist in the same scheme, and no code is its own ancestor."""
    for scheme in _item_schemes(catalog):
        by_id = scheme.by_id
        for item in scheme.items:
            if item.parent is None:
                continue
            if item.parent not in by_id:
                report.error("unknown-parent", f"{scheme.ref.id}.{item.id} has parent {item.parent!r}, "
                             f"which is not in {scheme.ref.id}", file=source_file(scheme),
                             object_id=f"{scheme.ref.id}.{item.id}", value=item.parent)
                continue
            seen, current = {item.id}, item
            while current.parent is not None and current.parent in by_id:
                if current.parent in seen:
                    report.error("parent-cycle", f"{scheme.ref.id}.{item.id} is its own ancestor",
                                 file=source_file(scheme), object_id=f"{scheme.ref.id}.{item.id}")
                    break
                seen.add(current.parent)
                current = by_id[current.parent]


def check_annotations(catalog: Catalog, report: Report) -> None:
    def check(owner: Maintainable, where: str, annotations) -> None:
        for ann in annotations:
            if not ANNOTATION_TYPE_RE.match(ann.type or ""):
                report.error("bad-annotation", f"{where}: annotation type {ann.type!r} is not a valid name",
                             file=source_file(owner), object_id=where, value=ann.type)
            elif ann.title is None and not ann.text and ann.url is None:
                report.error("bad-annotation", f"{where}: annotation {ann.type} carries no value",
                             file=source_file(owner), object_id=where, value=ann.type)

    for artefact in catalog.all_artefacts():
        check(artefact, artefact.ref.id, artefact.annotations)
        if isinstance(artefact, ItemScheme):
            for item in artefact.items:
                check(artefact, f"{artefact.ref.id}.{item.id}", item.annotations)


def check_references(catalog: Catalog, report: Report) -> None:
    """Every codelist, concept and structure a DSD or dataflow names exists."""
    for dsd in catalog.data_structures:
        file = source_file(dsd)
        for scheme_ref in dsd.concept_scheme_refs():
            if catalog.get("conceptscheme", scheme_ref) is None:
                report.error("unknown-reference", f"{dsd.ref.id} uses concept scheme {scheme_ref}, which does not "
                             "exist", file=file, object_id=dsd.ref.id, value=str(scheme_ref))
        comps = [*dsd.dimensions, *dsd.attributes, *(c for c in (dsd.time_dimension, dsd.measure) if c)]
        for comp in comps:
            scheme = catalog.get("conceptscheme", comp.concept.scheme)
            if scheme is not None and comp.concept.id not in scheme:
                report.error("unknown-reference", f"{dsd.ref.id}.{comp.id}: concept {comp.concept.id} is not in "
                             f"{scheme.ref.id}", file=file, object_id=f"{dsd.ref.id}.{comp.id}",
                             value=comp.concept.id)
            ref = getattr(comp, "representation", None) and comp.representation.codelist
            if ref and catalog.codelist(ref) is None:
                report.error("unknown-reference", f"{dsd.ref.id}.{comp.id}: codelist {ref} does not exist",
                             file=file, object_id=f"{dsd.ref.id}.{comp.id}", value=str(ref))
    for flow in catalog.dataflows:
        if flow.structure is None or catalog.get("datastructure", flow.structure) is None:
            report.error("unknown-reference", f"dataflow {flow.ref.id}: structure {flow.structure} does not exist",
                         file=source_file(flow), object_id=flow.ref.id, value=str(flow.structure))


def check_constraints(catalog: Catalog, report: Report) -> None:
    """Constraint components exist in the DSD and their codes in the component's codelist."""
    for cons in catalog.constraints:
        if cons.attachment is None:
            continue
        flow = None
        if cons.attachment.kind == "dataflow":
            flow = catalog.get("dataflow", cons.attachment.ref)
        elif cons.attachment.kind == "provisionagreement":
            pa = catalog.get("provisionagreement", cons.attachment.ref)
            flow = pa and catalog.get("dataflow", pa.dataflow)
        dsd = flow and catalog.structure_of(flow)
        if not isinstance(dsd, DataStructure):
            continue
        for region in cons.regions:
            for comp_id, codes in region.members.items():
                _check_constraint_codes(catalog, report, cons.ref.id, source_file(cons), dsd, comp_id, codes)


def _check_constraint_codes(catalog: Catalog, report: Report, cons_id: str, file: str, dsd: DataStructure,
                            comp_id: str, codes: Iterable[str]) -> None:
    comp = dsd.dimension_by_id.get(comp_id) or dsd.attribute_by_id.get(comp_id)
    if comp is None:
        report.error("unknown-component", f"{cons_id}: {comp_id} is not a component of {dsd.ref.id}",
                     file=file, object_id=cons_id, value=comp_id)
        return
    ref = comp.representation.codelist
    codelist: Codelist | None = catalog.codelist(ref) if ref else None
    if codelist is None:
        return
    for code in codes:
        if code not in codelist:
            report.error("unknown-code", f"{cons_id}: {comp_id}={code} is not in {codelist.ref.id}",
                         file=file, object_id=f"{cons_id}.{comp_id}", value=code, expected=codelist.ref.id)


def check_xsd(catalog: Catalog, report: Report) -> None:
    """The SDMX-ML 2.1 structure message of the whole catalog validates against the official XSD."""
    from ..formats.schemas import validate_sdmx_ml
    from ..formats.structure_ml import write_structure_message

    try:
        document = write_structure_message(list(catalog.all_artefacts()))
    except Exception as exc:  # a writer failure is a finding, reported like any other
        report.error("export-failed", f"the SDMX-ML structure message could not be written: {exc}")
        return
    for message in validate_sdmx_ml(document)[:50]:
        report.error("xsd-invalid", f"generated SDMX-ML is not valid against SDMXMessage.xsd: {message}")

