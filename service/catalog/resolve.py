"""Answer a structure query against the catalog: which artefacts, with which references.

Implements the matching rules of SDMX-REST structure queries (agency, id and
version with ``all``/``latest``/``+`` lists and the 2.x ``*``/``~``), ``itemID``
filtering of item schemes and the ``references`` graph. No HTTP here: the API
translates the URL into a call and the result into a message.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable

from ..model.structure import (
    Codelist,
    ContentConstraint,
    DataStructure,
    Dataflow,
    ItemScheme,
    Maintainable,
    MaintainableRef,
    ProvisionAgreement,
)
from . import Catalog, _version_key

HELD = ("codelist", "conceptscheme", "datastructure", "dataflow", "contentconstraint", "agencyscheme",
        "dataproviderscheme", "provisionagreement")
#: Every structural resource of SDMX-REST 1.5.0 (and the 2.x additions); those not HELD answer 501.
STANDARD = HELD + ("metadatastructure", "metadataflow", "categoryscheme", "categorisation", "hierarchicalcodelist",
                   "organisationscheme", "dataconsumerscheme", "organisationunitscheme", "reportingtaxonomy",
                   "structureset", "process", "attachmentconstraint", "actualconstraint", "allowedconstraint",
                   "transformationscheme", "rulesetscheme", "userdefinedoperatorscheme", "customtypescheme",
                   "namepersonalisationscheme", "vtlmappingscheme", "conceptschemeitem", "codelistitem",
                   "structure", "valuelist", "hierarchy", "hierarchyassociation", "representationmap",
                   "structuremap", "categoryschememap", "conceptschememap", "organisationschememap",
                   "reportingtaxonomymap", "metadataconstraint", "dataconstraint", "metadataproviderscheme",
                   "metadataprovisionagreement", "namealiasscheme")
REFERENCES = ("none", "parents", "parentsandsiblings", "children", "descendants", "all")


class QueryError(ValueError):
    """The structure query cannot be answered as asked (the message says why)."""


def _split(value: str) -> list[str]:
    return [v for v in value.split("+") if v] if value else []


def _version_matches(candidates: list[Maintainable], version: str) -> list[Maintainable]:
    if version in ("all", "*", ""):
        return candidates
    if version in ("latest", "~"):
        best: dict[tuple[str, str], Maintainable] = {}
        for art in candidates:
            key = (art.ref.agency, art.ref.id)
            if key not in best or _version_key(art.ref.version) > _version_key(best[key].ref.version):
                best[key] = art
        return list(best.values())
    wanted = set(_split(version) if "+" in version else version.split(","))
    for v in wanted:
        if any(ch in v for ch in "~*") or v.endswith("+"):
            raise NotImplementedError(f"version wildcards such as {v!r} are not supported; use a version, "
                                      "'latest' or 'all'")
    return [a for a in candidates if a.ref.version in wanted]


def match(catalog: Catalog, kind: str, agency: str = "all", art_id: str = "all",
          version: str = "latest") -> list[Maintainable]:
    """Artefacts of one resource type matching agency, id and version (each may be a ``+`` or ``,`` list)."""
    kinds = ("contentconstraint",) if kind in ("actualconstraint", "allowedconstraint", "dataconstraint") else (
        HELD if kind == "structure" else (kind,))
    out: list[Maintainable] = []
    for k in kinds:
        candidates = list(catalog.artefacts(k))
        if agency not in ("all", "*", ""):
            agencies = set(agency.replace(",", "+").split("+"))
            candidates = [a for a in candidates if a.ref.agency in agencies]
        if art_id not in ("all", "*", ""):
            ids = set(art_id.replace(",", "+").split("+"))
            candidates = [a for a in candidates if a.ref.id in ids]
        if kind == "actualconstraint":
            candidates = [a for a in candidates if a.role == "Actual"]
        elif kind == "allowedconstraint":
            candidates = [a for a in candidates if a.role == "Allowed"]
        out.extend(_version_matches(candidates, version))
    return out


def filter_items(artefact: Maintainable, item_ids: str) -> Maintainable | None:
    """An item scheme holding only the requested items (None when none of them exists)."""
    if not isinstance(artefact, ItemScheme) or item_ids in ("all", "*", ""):
        return artefact
    wanted = set(item_ids.replace(",", "+").split("+"))
    items = tuple(i for i in artefact.items if i.id in wanted)
    if not items:
        return None
    return dataclasses.replace(artefact, items=items, is_partial=True)


# -- the reference graph ----------------------------------------------------

def children_of(catalog: Catalog, art: Maintainable) -> list[Maintainable]:
    """Artefacts that ``art`` refers to directly."""
    refs: list[tuple[str, MaintainableRef]] = []
    if isinstance(art, DataStructure):
        refs += [("conceptscheme", r) for r in art.concept_scheme_refs()]
        refs += [("codelist", r) for r in art.codelist_refs()]
    elif isinstance(art, Dataflow) and art.structure:
        refs.append(("datastructure", art.structure))
    elif isinstance(art, ContentConstraint) and art.attachment:
        refs.append((art.attachment.kind, art.attachment.ref))
    elif isinstance(art, ProvisionAgreement):
        if art.dataflow:
            refs.append(("dataflow", art.dataflow))
        if art.provider_scheme:
            refs.append(("dataproviderscheme", art.provider_scheme))
    out = []
    for kind, ref in refs:
        found = catalog.get(kind, ref)
        if found is not None and found not in out:
            out.append(found)
    return out


def parents_of(catalog: Catalog, art: Maintainable) -> list[Maintainable]:
    """Artefacts that refer to ``art`` directly."""
    return [other for other in catalog.all_artefacts() if any(c is art for c in children_of(catalog, other))]


def descendants_of(catalog: Catalog, art: Maintainable) -> list[Maintainable]:
    out: list[Maintainable] = []
    stack = list(children_of(catalog, art))
    while stack:
        node = stack.pop(0)
        if all(node is not o for o in out):
            out.append(node)
            stack.extend(children_of(catalog, node))
    return out


def referenced(catalog: Catalog, matched: Iterable[Maintainable], references: str) -> list[Maintainable]:
    """The artefacts a ``references=`` value adds to the matched ones (without repeating them)."""
    matched = list(matched)
    if references == "none":
        return []
    related: list[Maintainable] = []
    for art in matched:
        if references == "parents":
            related += parents_of(catalog, art)
        elif references == "parentsandsiblings":
            parents = parents_of(catalog, art)
            related += parents + [c for p in parents for c in children_of(catalog, p)]
        elif references == "children":
            related += children_of(catalog, art)
        elif references == "descendants":
            related += descendants_of(catalog, art)
        elif references == "all":
            parents = parents_of(catalog, art)
            related += parents + [c for p in parents for c in children_of(catalog, p)]
            related += descendants_of(catalog, art)
        elif references in STANDARD:
            everything = parents_of(catalog, art) + descendants_of(catalog, art)
            related += [a for a in everything if a.kind == references]
        else:
            raise QueryError(f"references={references!r} is not a valid value; use one of {', '.join(REFERENCES)} "
                             "or a structure type")
    out: list[Maintainable] = []
    for art in related:
        if all(art is not m for m in matched) and all(art is not o for o in out):
            out.append(art)
    return out


def partial_codelists(catalog: Catalog, matched: Iterable[Maintainable],
                      artefacts: list[Maintainable]) -> list[Maintainable]:
    """detail=referencepartial: codelists keep only the codes allowed for the matched dataflows (and their parents)."""
    allowed: dict[str, set[str]] = {}
    unrestricted: set[str] = set()
    for flow in (m for m in matched if isinstance(m, Dataflow)):
        dsd = catalog.structure_of(flow)
        cons = catalog.constraint_of(flow)
        if dsd is None:
            continue
        for comp in (*dsd.dimensions, *dsd.attributes):
            ref = comp.representation.codelist
            if ref is None:
                continue
            codes = cons.allowed(comp.id) if cons else None
            if codes is None:
                unrestricted.add(ref.id)
            else:
                allowed.setdefault(ref.id, set()).update(codes)
    out = []
    for art in artefacts:
        if isinstance(art, Codelist) and art.ref.id in allowed and art.ref.id not in unrestricted:
            keep = set(allowed[art.ref.id])
            for code in list(keep):  # keep the ancestors so the hierarchy stays whole
                parent = art.by_id.get(code).parent if code in art.by_id else None
                while parent and parent not in keep:
                    keep.add(parent)
                    parent = art.by_id[parent].parent if parent in art.by_id else None
            art = dataclasses.replace(art, items=tuple(i for i in art.items if i.id in keep), is_partial=True)
        out.append(art)
    return out
