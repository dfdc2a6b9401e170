"""SDMX-ML 2.1 structure messages, written with lxml from the model of structures.

Rule: model -> bytes, no I/O beyond the returned bytes. The element order is the
one the official XSD (SDMXStructure*.xsd) prescribes; every message this module
writes for the catalog validates against it (tests/test_structure_formats.py).

Also home of the few rules every structure format shares: which names a
request keeps (``select_names``), which artefacts are written as stubs
(``stub_mode``) and the grouping of artefacts by kind (``group_by_kind``).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Collection, Iterable, Mapping

from lxml import etree

from ..model.structure import (
    DATASET,
    OBSERVATION,
    Annotation,
    Attribute,
    Categorisation,
    CategoryScheme,
    ContentConstraint,
    DataStructure,
    Dataflow,
    Item,
    ItemScheme,
    Maintainable,
    MaintainableRef,
    ProvisionAgreement,
    Representation,
    URN_CLASSES,
)

MEDIA_TYPE = "application/vnd.sdmx.structure+xml;version=2.1"

_V21 = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/"
_MES = "{" + _V21 + "message}"
_STR = "{" + _V21 + "structure}"
_COM = "{" + _V21 + "common}"
_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NSMAP = {"mes": _V21 + "message", "str": _V21 + "structure", "com": _V21 + "common"}

#: Values of the SDMX-REST ``detail`` parameter this writer understands.
DETAILS = ("full", "allstubs", "allcompletestubs", "referencestubs", "referencecompletestubs", "referencepartial")

#: Children of structure:Structures in XSD order, each with the artefact kinds it holds.
SECTIONS = (
    ("OrganisationSchemes", ("agencyscheme", "dataproviderscheme")),
    ("Dataflows", ("dataflow",)),
    ("CategorySchemes", ("categoryscheme",)),
    ("Categorisations", ("categorisation",)),
    ("Codelists", ("codelist",)),
    ("Concepts", ("conceptscheme",)),
    ("DataStructures", ("datastructure",)),
    ("Constraints", ("contentconstraint",)),
    ("ProvisionAgreements", ("provisionagreement",)),
)

_ELEMENT = {
    "agencyscheme": ("AgencyScheme", "Agency"),
    "dataproviderscheme": ("DataProviderScheme", "DataProvider"),
    "dataflow": ("Dataflow", None),
    "categoryscheme": ("CategoryScheme", "Category"),
    "categorisation": ("Categorisation", None),
    "codelist": ("Codelist", "Code"),
    "conceptscheme": ("ConceptScheme", "Concept"),
    "datastructure": ("DataStructure", None),
    "contentconstraint": ("ContentConstraint", None),
    "provisionagreement": ("ProvisionAgreement", None),
}


# -- rules shared by every structure format ---------------------------------
def select_names(names: Mapping[str, str], languages: tuple[str, ...] | None) -> dict[str, str]:
    """The names a request keeps: all (``languages`` None), else the asked ones, else English, else any one.

    A tag such as ``ru-RU`` also matches a name kept as ``ru``.
    """
    if languages is None:
        return {lang: text for lang, text in names.items() if text}
    kept: dict[str, str] = {}
    for tag in languages:
        for lang in (tag, tag.split("-")[0]):
            if names.get(lang) and lang not in kept:
                kept[lang] = names[lang]
                break
    if kept:
        return kept
    if names.get("en"):
        return {"en": names["en"]}
    return next(({lang: text} for lang, text in names.items() if text), {})


def stub_mode(artefact: Maintainable, detail: str, stubs: Collection[object] = ()) -> str | None:
    """None (write in full), ``"stub"`` (names only) or ``"complete"`` (also descriptions and annotations).

    ``stubs`` holds the artefacts a ``reference*stubs`` request writes as stubs, by URN or MaintainableRef.
    """
    if detail not in DETAILS:
        raise ValueError(f"unknown detail {detail!r}; expected one of {', '.join(DETAILS)}")
    complete = "complete" if detail.endswith("completestubs") else "stub"
    if detail.startswith("all"):
        return complete
    if stubs and (artefact.urn in stubs or artefact.ref in stubs):
        return complete
    return None


def group_by_kind(artefacts: Iterable[Maintainable]) -> dict[str, list[Maintainable]]:
    """Artefacts bucketed by kind, each bucket in the order given; unknown kinds are refused."""
    groups: dict[str, list[Maintainable]] = {}
    for artefact in artefacts:
        if getattr(artefact, "kind", None) not in _ELEMENT:
            raise TypeError(f"cannot write {type(artefact).__name__} as a structure")
        groups.setdefault(artefact.kind, []).append(artefact)
    return groups


def is_final(artefact: Maintainable) -> bool:
    """Organisation schemes are never final in SDMX 2.1 (the XSD fixes isFinal="false")."""
    return artefact.is_final and artefact.kind not in ("agencyscheme", "dataproviderscheme")


def parents_first(items: tuple[Item, ...]) -> list[Item]:
    """Items in their order, but each parent moved just ahead of its first child when listed after it.

    sdmx1 turns a Parent reference to a code not read yet into a phantom codelist of
    its own, so every format writes hierarchies top-down; siblings keep their order.
    """
    by_id = {item.id: item for item in items}
    emitted: set[str] = set()
    ordered: list[Item] = []
    for item in items:
        chain: list[Item] = []
        in_chain: set[str] = set()
        node: Item | None = item
        while node is not None and node.id not in emitted and node.id not in in_chain:
            chain.append(node)
            in_chain.add(node.id)
            node = by_id.get(node.parent) if node.parent else None
        for node in reversed(chain):
            emitted.add(node.id)
            ordered.append(node)
    return ordered


def component_urn(dsd: MaintainableRef, cls: str, component_id: str) -> str:
    """URN of a component or component list of a data structure (``Dimension``, ``DataAttribute``...)."""
    return f"urn:sdmx:org.sdmx.infomodel.datastructure.{cls}={dsd.agency}:{dsd.id}({dsd.version}).{component_id}"


def new_message_id() -> str:
    return "IREF" + uuid.uuid4().hex[:20].upper()


def prepared_text(prepared: datetime | None) -> str:
    """An ISO 8601 timestamp with its offset (UTC now when none is given)."""
    when = prepared or datetime.now(timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.isoformat(timespec="seconds")


# -- the writer -------------------------------------------------------------
def write_structure_message(artefacts: Iterable[Maintainable], *, languages: tuple[str, ...] | None = None,
                            detail: str = "full", stubs: Collection[object] = (),
                            prepared: datetime | None = None, sender: str = "MIGSTAT",
                            message_id: str | None = None) -> bytes:
    """An SDMX-ML 2.1 Structure message holding ``artefacts`` (any mix of kinds).

    ``languages`` None keeps every name, else the names in those languages
    (English when a name has none of them). ``detail`` follows SDMX-REST:
    stubs carry identification, references and names only (complete stubs
    also descriptions and annotations), never items, components or regions.
    """
    groups = group_by_kind(artefacts)
    root = etree.Element(_MES + "Structure", nsmap=NSMAP)
    header = _sub(root, _MES + "Header")
    _sub(header, _MES + "ID", message_id or new_message_id())
    _sub(header, _MES + "Test", "false")
    _sub(header, _MES + "Prepared", prepared_text(prepared))
    _sub(header, _MES + "Sender", id=sender)
    writer = _Writer(languages)
    if groups:
        structures = _sub(root, _MES + "Structures")
        for section, kinds in SECTIONS:
            members = [a for kind in kinds for a in groups.get(kind, ())]
            if not members:
                continue
            container = _sub(structures, _STR + section)
            for artefact in members:
                writer.artefact(container, artefact, stub_mode(artefact, detail, stubs))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    element = etree.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = text
    return element


def _bool(flag: bool) -> str:
    return "true" if flag else "false"


def _ref(parent: etree._Element, tag: str, **attrib: str) -> etree._Element:
    """A reference element holding an (unqualified) Ref with ``attrib``."""
    holder = _sub(parent, tag)
    _sub(holder, "Ref", **attrib)
    return holder


def _maintainable_ref(ref: MaintainableRef, kind: str) -> dict[str, str]:
    package, cls = URN_CLASSES[kind]
    return {"id": ref.id, "agencyID": ref.agency, "version": ref.version, "package": package, "class": cls}


class _Writer:
    """Writes artefacts under their section element, names filtered to the chosen languages."""

    def __init__(self, languages: tuple[str, ...] | None):
        self.languages = languages

    # -- pieces ------------------------------------------------------------
    def names(self, element: etree._Element, names: Mapping[str, str], tag: str, fallback: str | None) -> None:
        chosen = select_names(names, self.languages)
        if not chosen and fallback is not None:
            chosen = {"en": fallback}
        for lang, text in chosen.items():
            _sub(element, _COM + tag, text, **{_LANG: lang})

    def annotations(self, element: etree._Element, annotations: tuple[Annotation, ...]) -> None:
        if not annotations:
            return
        holder = _sub(element, _COM + "Annotations")
        for ann in annotations:
            node = _sub(holder, _COM + "Annotation", **({"id": ann.id} if ann.id else {}))
            if ann.title is not None:
                _sub(node, _COM + "AnnotationTitle", ann.title)
            _sub(node, _COM + "AnnotationType", ann.type)
            if ann.url:
                _sub(node, _COM + "AnnotationURL", ann.url)
            for lang, text in select_names(ann.text, self.languages).items():
                _sub(node, _COM + "AnnotationText", text, **{_LANG: lang})

    def nameable(self, element: etree._Element, obj: Item | Maintainable, mode: str | None = None) -> None:
        """Annotations, Name+, Description* of an item or maintainable, in XSD order."""
        if mode != "stub":
            self.annotations(element, obj.annotations)
        fallback = obj.id if isinstance(obj, Item) else obj.ref.id
        self.names(element, obj.names, "Name", fallback)
        if mode != "stub":
            self.names(element, obj.descriptions, "Description", None)

    # -- artefacts -----------------------------------------------------------
    def artefact(self, container: etree._Element, artefact: Maintainable, mode: str | None) -> None:
        ref = artefact.ref
        tag, _ = _ELEMENT[artefact.kind]
        attrib = {"id": ref.id, "urn": artefact.urn, "agencyID": ref.agency, "version": ref.version,
                  "isFinal": "true" if is_final(artefact) else "false"}
        if isinstance(artefact, ContentConstraint):
            attrib["type"] = artefact.role
        if isinstance(artefact, ItemScheme) and artefact.is_partial:
            attrib["isPartial"] = "true"
        element = _sub(container, _STR + tag, **attrib)
        self.nameable(element, artefact, mode)
        if isinstance(artefact, ItemScheme):
            if mode is None:
                self.items(element, artefact, parents_first(artefact.items))
        elif isinstance(artefact, DataStructure):
            if mode is None:
                self.components(element, artefact)
        elif isinstance(artefact, Dataflow):
            if artefact.structure is not None:
                _ref(element, _STR + "Structure", **_maintainable_ref(artefact.structure, "datastructure"))
        elif isinstance(artefact, ContentConstraint):
            self.constraint(element, artefact, mode)
        elif isinstance(artefact, ProvisionAgreement):
            self.provision_agreement(element, artefact)
        elif isinstance(artefact, Categorisation):
            self.categorisation(element, artefact)

    def items(self, parent: etree._Element, scheme: ItemScheme, items: Iterable[Item], path: str = "") -> None:
        _, tag = _ELEMENT[scheme.kind]
        for item in items:
            element = _sub(parent, _STR + tag, id=item.id, urn=scheme.item_urn(path + item.id))
            self.nameable(element, item)
            if isinstance(scheme, CategoryScheme):
                self.items(element, scheme, getattr(item, "children", ()), f"{path}{item.id}.")
                continue
            if item.parent and scheme.kind in ("codelist", "conceptscheme"):
                _ref(element, _STR + "Parent", id=item.parent)
            representation = getattr(item, "representation", None)
            if representation is not None:
                self.representation(element, representation, "CoreRepresentation")

    def representation(self, parent: etree._Element, rep: Representation, tag: str = "LocalRepresentation") -> None:
        holder = _sub(parent, _STR + tag)
        if rep.codelist is not None:
            _ref(holder, _STR + "Enumeration", **_maintainable_ref(rep.codelist, "codelist"))
            return
        attrib = {"textType": rep.text_type or "String"}
        if rep.max_length:
            attrib["maxLength"] = str(rep.max_length)
        _sub(holder, _STR + "TextFormat", **attrib)

    def concept_identity(self, parent: etree._Element, component) -> None:
        scheme = component.concept.scheme
        _ref(parent, _STR + "ConceptIdentity", id=component.concept.id, maintainableParentID=scheme.id,
             maintainableParentVersion=scheme.version, agencyID=scheme.agency, package="conceptscheme",
             **{"class": "Concept"})

    def components(self, element: etree._Element, dsd: DataStructure) -> None:
        ref = dsd.ref
        holder = _sub(element, _STR + "DataStructureComponents")
        dims = _sub(holder, _STR + "DimensionList", id="DimensionDescriptor",
                    urn=component_urn(ref, "DimensionDescriptor", "DimensionDescriptor"))
        for dim in dsd.dimensions:
            node = _sub(dims, _STR + "Dimension", id=dim.id, urn=component_urn(ref, "Dimension", dim.id),
                        position=str(dim.position))
            self.concept_identity(node, dim)
            self.representation(node, dim.representation)
        if dsd.time_dimension is not None:
            time = dsd.time_dimension
            node = _sub(dims, _STR + "TimeDimension", id=time.id, urn=component_urn(ref, "TimeDimension", time.id),
                        position=str(len(dsd.dimensions) + 1))
            self.concept_identity(node, time)
            self.representation(node, time.representation)
        if dsd.attributes:
            attrs = _sub(holder, _STR + "AttributeList", id="AttributeDescriptor",
                         urn=component_urn(ref, "AttributeDescriptor", "AttributeDescriptor"))
            for attr in dsd.attributes:
                self.attribute(attrs, dsd, attr)
        if dsd.measure is not None:
            measures = _sub(holder, _STR + "MeasureList", id="MeasureDescriptor",
                            urn=component_urn(ref, "MeasureDescriptor", "MeasureDescriptor"))
            node = _sub(measures, _STR + "PrimaryMeasure", id=dsd.measure.id,
                        urn=component_urn(ref, "PrimaryMeasure", dsd.measure.id))
            self.concept_identity(node, dsd.measure)
            self.representation(node, dsd.measure.representation)

    def attribute(self, parent: etree._Element, dsd: DataStructure, attr: Attribute) -> None:
        node = _sub(parent, _STR + "Attribute", id=attr.id, urn=component_urn(dsd.ref, "DataAttribute", attr.id),
                    assignmentStatus="Mandatory" if attr.mandatory else "Conditional")
        self.annotations(node, attr.annotations)
        self.concept_identity(node, attr)
        self.representation(node, attr.representation)
        relation = _sub(node, _STR + "AttributeRelationship")
        if attr.attachment == OBSERVATION and dsd.measure is not None:
            _ref(relation, _STR + "PrimaryMeasure", id=dsd.measure.id)
        elif attr.attachment == DATASET or not dsd.dimensions:
            _sub(relation, _STR + "None")
        else:  # series: every dimension but time
            for dim in dsd.dimensions:
                _ref(relation, _STR + "Dimension", id=dim.id)

    def constraint(self, element: etree._Element, cons: ContentConstraint, mode: str | None) -> None:
        if cons.attachment is not None:
            holder = _sub(element, _STR + "ConstraintAttachment")
            tag = {"dataflow": "Dataflow", "provisionagreement": "ProvisionAgreement",
                   "datastructure": "DataStructure"}[cons.attachment.kind]
            _ref(holder, _STR + tag, **_maintainable_ref(cons.attachment.ref, cons.attachment.kind))
        if mode is not None:
            return
        for region in cons.regions:
            node = _sub(element, _STR + "CubeRegion", include="true" if region.include else "false")
            for component_id, values in region.members.items():
                key = _sub(node, _COM + "KeyValue", id=component_id)
                for value in values:
                    _sub(key, _COM + "Value", value)
            for component_id, span in region.time_ranges.items():
                holder = _sub(_sub(node, _COM + "KeyValue", id=component_id), _COM + "TimeRange")
                if span.start is not None and span.end is not None:
                    _sub(holder, _COM + "StartPeriod", span.start, isInclusive=_bool(span.start_inclusive))
                    _sub(holder, _COM + "EndPeriod", span.end, isInclusive=_bool(span.end_inclusive))
                elif span.start is not None:
                    _sub(holder, _COM + "AfterPeriod", span.start, isInclusive=_bool(span.start_inclusive))
                elif span.end is not None:
                    _sub(holder, _COM + "BeforePeriod", span.end, isInclusive=_bool(span.end_inclusive))

    def provision_agreement(self, element: etree._Element, pa: ProvisionAgreement) -> None:
        if pa.dataflow is not None:
            _ref(element, _STR + "StructureUsage", **_maintainable_ref(pa.dataflow, "dataflow"))
        if pa.provider_scheme is not None and pa.provider is not None:
            scheme = pa.provider_scheme
            _ref(element, _STR + "DataProvider", id=pa.provider, maintainableParentID=scheme.id,
                 maintainableParentVersion=scheme.version, agencyID=scheme.agency, package="base",
                 **{"class": "DataProvider"})

    def categorisation(self, element: etree._Element, cat: Categorisation) -> None:
        if cat.source is None or cat.target_scheme is None or cat.target_category is None:
            return
        _ref(element, _STR + "Source", **_maintainable_ref(cat.source, cat.source_kind))
        scheme = cat.target_scheme
        _ref(element, _STR + "Target", id=cat.target_category, maintainableParentID=scheme.id,
             maintainableParentVersion=scheme.version, agencyID=scheme.agency, package="categoryscheme",
             **{"class": "Category"})

