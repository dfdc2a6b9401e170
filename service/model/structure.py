"""SDMX structural artefacts as plain frozen dataclasses.

Names follow the SDMX 2.1 information model. Nothing here reads files,
talks to a database or knows a serialisation format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterator, Mapping

#: An international string: language tag -> text ("en", "ru", "kk", "ky", "tg").
Names = Mapping[str, str]

LANGUAGES = ("en", "ru", "kk", "ky", "tg")


def pick_name(names: Names, languages: tuple[str, ...] = ("en",)) -> str | None:
    """The first of ``languages`` that ``names`` holds, else English, else any."""
    for lang in (*languages, "en"):
        if names.get(lang):
            return names[lang]
    return next(iter(names.values()), None)


@dataclass(frozen=True)
class Annotation:
    type: str
    title: str | None = None
    text: Names = field(default_factory=dict)
    id: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class MaintainableRef:
    """Agency, id and version of a maintainable artefact."""

    agency: str
    id: str
    version: str = "1.0"

    def __str__(self) -> str:
        return f"{self.agency}:{self.id}({self.version})"


# URN package and class for every artefact kind we hold.
URN_CLASSES = {
    "codelist": ("codelist", "Codelist"),
    "conceptscheme": ("conceptscheme", "ConceptScheme"),
    "datastructure": ("datastructure", "DataStructure"),
    "dataflow": ("datastructure", "Dataflow"),
    "agencyscheme": ("base", "AgencyScheme"),
    "dataproviderscheme": ("base", "DataProviderScheme"),
    "contentconstraint": ("registry", "ContentConstraint"),
    "provisionagreement": ("registry", "ProvisionAgreement"),
    "categoryscheme": ("categoryscheme", "CategoryScheme"),
    "categorisation": ("categoryscheme", "Categorisation"),
}

ITEM_URN_CLASSES = {
    "codelist": ("codelist", "Code"),
    "conceptscheme": ("conceptscheme", "Concept"),
    "agencyscheme": ("base", "Agency"),
    "dataproviderscheme": ("base", "DataProvider"),
    "categoryscheme": ("categoryscheme", "Category"),
}


def urn(kind: str, ref: MaintainableRef, item: str | None = None) -> str:
    """The SDMX URN of an artefact (or of one item in an item scheme)."""
    if item is None:
        package, cls = URN_CLASSES[kind]
        return f"urn:sdmx:org.sdmx.infomodel.{package}.{cls}={ref.agency}:{ref.id}({ref.version})"
    package, cls = ITEM_URN_CLASSES[kind]
    return f"urn:sdmx:org.sdmx.infomodel.{package}.{cls}={ref.agency}:{ref.id}({ref.version}).{item}"


@dataclass(frozen=True)
class Item:
    """One item of an item scheme: a code, a concept, an agency, a data provider."""

    id: str
    names: Names
    descriptions: Names = field(default_factory=dict)
    parent: str | None = None
    annotations: tuple[Annotation, ...] = ()

    def annotation(self, type_: str) -> Annotation | None:
        return next((a for a in self.annotations if a.type == type_), None)


Code = Item
Agency = Item
DataProvider = Item


@dataclass(frozen=True)
class Representation:
    """Either an enumeration (a codelist) or a text format."""

    codelist: MaintainableRef | None = None
    text_type: str | None = None  # String, Decimal, ObservationalTimePeriod, ...
    max_length: int | None = None


@dataclass(frozen=True)
class Concept(Item):
    representation: Representation | None = None


@dataclass(frozen=True)
class Maintainable:
    ref: MaintainableRef
    names: Names
    descriptions: Names = field(default_factory=dict)
    annotations: tuple[Annotation, ...] = ()
    is_final: bool = True

    kind = ""  # set by each subclass; a REST resource name

    @property
    def urn(self) -> str:
        return urn(self.kind, self.ref)


@dataclass(frozen=True)
class ItemScheme(Maintainable):
    items: tuple[Item, ...] = ()
    #: True when the scheme holds only some of its items (itemID queries, partial references).
    is_partial: bool = False

    @cached_property
    def by_id(self) -> dict[str, Item]:
        return {item.id: item for item in self.items}

    def __contains__(self, item_id: object) -> bool:
        return item_id in self.by_id

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

    def item_urn(self, item_id: str) -> str:
        return urn(self.kind, self.ref, item_id)


@dataclass(frozen=True)
class Codelist(ItemScheme):
    kind = "codelist"


@dataclass(frozen=True)
class ConceptScheme(ItemScheme):
    kind = "conceptscheme"


@dataclass(frozen=True)
class AgencyScheme(ItemScheme):
    kind = "agencyscheme"


@dataclass(frozen=True)
class DataProviderScheme(ItemScheme):
    kind = "dataproviderscheme"


@dataclass(frozen=True)
class ConceptRef:
    scheme: MaintainableRef
    id: str


@dataclass(frozen=True)
class Dimension:
    id: str
    concept: ConceptRef
    representation: Representation
    position: int


@dataclass(frozen=True)
class TimeDimension:
    id: str
    concept: ConceptRef
    representation: Representation = Representation(text_type="ObservationalTimePeriod")


# Attribute attachment levels as the project names them.
OBSERVATION = "observation"
SERIES = "series"
DATASET = "dataset"


@dataclass(frozen=True)
class Attribute:
    id: str
    concept: ConceptRef
    representation: Representation
    attachment: str  # OBSERVATION, SERIES or DATASET
    mandatory: bool = False
    annotations: tuple[Annotation, ...] = ()


@dataclass(frozen=True)
class PrimaryMeasure:
    id: str
    concept: ConceptRef
    representation: Representation = Representation(text_type="Double")


@dataclass(frozen=True)
class DataStructure(Maintainable):
    dimensions: tuple[Dimension, ...] = ()
    time_dimension: TimeDimension | None = None
    attributes: tuple[Attribute, ...] = ()
    measure: PrimaryMeasure | None = None

    kind = "datastructure"

    @cached_property
    def dimension_ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.dimensions)

    @cached_property
    def dimension_by_id(self) -> dict[str, Dimension]:
        return {d.id: d for d in self.dimensions}

    @cached_property
    def attribute_by_id(self) -> dict[str, Attribute]:
        return {a.id: a for a in self.attributes}

    def attributes_at(self, attachment: str) -> tuple[Attribute, ...]:
        return tuple(a for a in self.attributes if a.attachment == attachment)

    def codelist_refs(self) -> list[MaintainableRef]:
        """Every codelist the structure uses, in component order, without repeats."""
        refs: list[MaintainableRef] = []
        for comp in (*self.dimensions, *self.attributes):
            ref = comp.representation.codelist
            if ref is not None and ref not in refs:
                refs.append(ref)
        return refs

    def concept_scheme_refs(self) -> list[MaintainableRef]:
        comps = [*self.dimensions, *self.attributes]
        if self.time_dimension:
            comps.append(self.time_dimension)
        if self.measure:
            comps.append(self.measure)
        refs: list[MaintainableRef] = []
        for comp in comps:
            if comp.concept.scheme not in refs:
                refs.append(comp.concept.scheme)
        return refs


@dataclass(frozen=True)
class Dataflow(Maintainable):
    structure: MaintainableRef | None = None

    kind = "dataflow"


@dataclass(frozen=True)
class TimeRange:
    """A range of time for a time component: start and end periods (or instants), each inclusive or not.

    Either end may be None (before / after a period). Texts are SDMX
    observational time periods (``2017``, ``2017-01-01``, ``2017-01-01T00:00:00``).
    """

    start: str | None = None
    end: str | None = None
    start_inclusive: bool = True
    end_inclusive: bool = True


@dataclass(frozen=True)
class CubeRegion:
    """Allowed (include=True) or excluded values per component, and a time range per time component."""

    members: Mapping[str, tuple[str, ...]]
    include: bool = True
    #: Component id (TIME_PERIOD) -> its range of time.
    time_ranges: Mapping[str, TimeRange] = field(default_factory=dict)


@dataclass(frozen=True)
class ConstraintAttachment:
    """What a content constraint is attached to: a dataflow, a provision agreement, a DSD."""

    kind: str  # "dataflow", "provisionagreement", "datastructure"
    ref: MaintainableRef


@dataclass(frozen=True)
class ContentConstraint(Maintainable):
    role: str = "Allowed"  # Allowed or Actual
    attachment: ConstraintAttachment | None = None
    regions: tuple[CubeRegion, ...] = ()

    kind = "contentconstraint"

    def allowed(self, component_id: str) -> frozenset[str] | None:
        """Codes an included cube region allows for a component (None: no restriction)."""
        for region in self.regions:
            if region.include and component_id in region.members:
                return frozenset(region.members[component_id])
        return None


@dataclass(frozen=True)
class ProvisionAgreement(Maintainable):
    dataflow: MaintainableRef | None = None
    provider_scheme: MaintainableRef | None = None
    provider: str | None = None

    kind = "provisionagreement"


@dataclass(frozen=True)
class Category(Item):
    children: tuple["Category", ...] = ()


@dataclass(frozen=True)
class CategoryScheme(ItemScheme):
    kind = "categoryscheme"


@dataclass(frozen=True)
class Categorisation(Maintainable):
    source_kind: str = "dataflow"
    source: MaintainableRef | None = None
    target_scheme: MaintainableRef | None = None
    target_category: str | None = None

    kind = "categorisation"
