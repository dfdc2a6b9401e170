"""SDMX-JSON structure messages, version 1.0 (SDMX 2.1 model) and 2.0.0 (SDMX 3.0 model).

Rule: model -> bytes, no I/O beyond the returned bytes. Output validates against
the official schemas (sdmx-json/1.0 and 2.0.0 sdmx-json-structure-schema.json).

Localised texts follow the schemas: ``name`` is the best match for the request's
languages and ``names`` holds every language kept (see ``select_names``). Every
artefact, item and component carries ``links: [{rel: "self", urn}]``, which is
how the .Stat Data Explorer learns artefact identities.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Collection, Iterable, Mapping

import orjson

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
    ProvisionAgreement,
    Representation,
    TimeRange,
    urn,
)
from .structure_ml import (
    component_urn,
    group_by_kind,
    is_final,
    new_message_id,
    parents_first,
    prepared_text,
    select_names,
    stub_mode,
)

MEDIA_TYPES = {
    "1.0.0": "application/vnd.sdmx.structure+json;version=1.0.0",
    "2.0.0": "application/vnd.sdmx.structure+json;version=2.0.0",
}
_SCHEMA_BASE = "https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/structure-message/tools/schemas/"
SCHEMA_URLS = {
    "1.0.0": _SCHEMA_BASE + "1.0/sdmx-json-structure-schema.json",
    "2.0.0": _SCHEMA_BASE + "2.0.0/sdmx-json-structure-schema.json",
}
_VERSIONS = {"1.0": "1.0.0", "1.0.0": "1.0.0", "2.0": "2.0.0", "2.0.0": "2.0.0"}

# Kind -> (member of "data", member of an item scheme holding its items), in SDMX-ML section order.
_MEMBERS = {
    "agencyscheme": ("agencySchemes", "agencies"),
    "dataproviderscheme": ("dataProviderSchemes", "dataProviders"),
    "dataflow": ("dataflows", None),
    "categoryscheme": ("categorySchemes", "categories"),
    "categorisation": ("categorisations", None),
    "codelist": ("codelists", "codes"),
    "conceptscheme": ("conceptSchemes", "concepts"),
    "datastructure": ("dataStructures", None),
    "contentconstraint": ("contentConstraints", None),  # "dataConstraints" in 2.0.0
    "provisionagreement": ("provisionAgreements", None),
}


def write_structure_json(artefacts: Iterable[Maintainable], *, version: str = "1.0.0",
                         languages: tuple[str, ...] | None = None, detail: str = "full",
                         stubs: Collection[object] = (), prepared: datetime | None = None,
                         sender: str = "MIGSTAT", message_id: str | None = None) -> bytes:
    """An SDMX-JSON structure message (``version`` 1.0.0 or 2.0.0) holding ``artefacts``.

    ``languages``, ``detail`` and ``stubs`` mean what they mean for
    ``structure_ml.write_structure_message``.
    """
    try:
        version = _VERSIONS[version]
    except KeyError:
        raise ValueError(f"unknown SDMX-JSON version {version!r}; expected 1.0.0 or 2.0.0") from None
    builder = _Builder(version == "2.0.0", languages)
    data: dict[str, list[dict[str, Any]]] = {}
    for kind, members in group_by_kind(artefacts).items():
        key = _MEMBERS[kind][0]
        if kind == "contentconstraint" and builder.v2:
            key = "dataConstraints"
        data[key] = [builder.artefact(a, stub_mode(a, detail, stubs)) for a in members]
    meta = {
        "schema": SCHEMA_URLS[version],
        "id": message_id or new_message_id(),
        "test": False,
        "prepared": prepared_text(prepared),
        "contentLanguages": builder.content_languages(),
        "sender": {"id": sender},
    }
    return orjson.dumps({"meta": meta, "data": data})


class _Builder:
    """Turns artefacts into the dicts of one SDMX-JSON version, noting the languages it writes."""

    def __init__(self, v2: bool, languages: tuple[str, ...] | None):
        self.v2 = v2
        self.languages = languages
        self.used: set[str] = set()

    def content_languages(self) -> list[str]:
        first = [lang for lang in (*(self.languages or ()), "en") if lang in self.used]
        ordered = list(dict.fromkeys(first + sorted(self.used)))
        return ordered or [(self.languages or ("en",))[0]]

    # -- localised text and common members ---------------------------------
    def texts(self, target: dict[str, Any], names: Mapping[str, str], one: str, many: str,
              fallback: str | None = None) -> None:
        chosen = select_names(names, self.languages)
        if not chosen and fallback is not None:
            chosen = {"en": fallback}
        if not chosen:
            return
        self.used.update(chosen)
        best = next(iter(chosen.values())) if self.languages else chosen.get("en", next(iter(chosen.values())))
        target[one] = best
        target[many] = chosen

    def annotations(self, annotations: tuple[Annotation, ...]) -> list[dict[str, Any]]:
        out = []
        for ann in annotations:
            entry: dict[str, Any] = {}
            if ann.id:
                entry["id"] = ann.id
            if ann.title is not None:
                entry["title"] = ann.title
            entry["type"] = ann.type
            self.texts(entry, ann.text, "text", "texts")
            if ann.url:
                entry["links"] = [{"href": ann.url, "rel": "external"}]
            out.append(entry)
        return out

    def nameable(self, obj: Item | Maintainable, self_urn: str, mode: str | None = None) -> dict[str, Any]:
        is_item = isinstance(obj, Item)
        entry: dict[str, Any] = {"id": obj.id if is_item else obj.ref.id}
        if not is_item:
            entry["version"] = obj.ref.version
            entry["agencyID"] = obj.ref.agency
            if not self.v2:
                entry["isFinal"] = is_final(obj)
        self.texts(entry, obj.names, "name", "names", fallback=entry["id"])
        if mode != "stub":
            self.texts(entry, obj.descriptions, "description", "descriptions")
            if obj.annotations:
                entry["annotations"] = self.annotations(obj.annotations)
        entry["links"] = [{"rel": "self", "urn": self_urn}]
        return entry

    # -- artefacts ----------------------------------------------------------
    def artefact(self, artefact: Maintainable, mode: str | None) -> dict[str, Any]:
        self_urn = artefact.urn
        if isinstance(artefact, ContentConstraint) and self.v2:
            self_urn = self_urn.replace("registry.ContentConstraint=", "registry.DataConstraint=")
        entry = self.nameable(artefact, self_urn, mode)
        if isinstance(artefact, ItemScheme):
            if artefact.is_partial:
                entry["isPartial"] = True
            items = self.items(artefact, parents_first(artefact.items)) if mode is None else []
            if items:
                entry[_MEMBERS[artefact.kind][1]] = items
        elif isinstance(artefact, DataStructure):
            if mode is None:
                entry["dataStructureComponents"] = self.components(artefact)
        elif isinstance(artefact, Dataflow):
            if artefact.structure is not None:
                entry["structure"] = urn("datastructure", artefact.structure)
        elif isinstance(artefact, ContentConstraint):
            self.constraint(entry, artefact, mode)
        elif isinstance(artefact, ProvisionAgreement):
            if artefact.dataflow is not None:
                entry["dataflow" if self.v2 else "structureUsage"] = urn("dataflow", artefact.dataflow)
            if artefact.provider_scheme is not None and artefact.provider is not None:
                entry["dataProvider"] = urn("dataproviderscheme", artefact.provider_scheme, artefact.provider)
        elif isinstance(artefact, Categorisation):
            if artefact.source is not None:
                entry["source"] = urn(artefact.source_kind, artefact.source)
            if artefact.target_scheme is not None and artefact.target_category is not None:
                entry["target"] = urn("categoryscheme", artefact.target_scheme, artefact.target_category)
        return entry

    def items(self, scheme: ItemScheme, items: Iterable[Item], path: str = "") -> list[dict[str, Any]]:
        out = []
        for item in items:
            entry = self.nameable(item, scheme.item_urn(path + item.id))
            if isinstance(scheme, CategoryScheme):
                children = self.items(scheme, getattr(item, "children", ()), f"{path}{item.id}.")
                if children:
                    entry["categories"] = children
            elif item.parent and scheme.kind == "codelist":
                entry["parent"] = item.parent
            elif item.parent and scheme.kind == "conceptscheme":
                entry["parent"] = item.parent if self.v2 else scheme.item_urn(item.parent)
            representation = getattr(item, "representation", None)
            if representation is not None:
                entry["coreRepresentation"] = self.representation(representation)
            out.append(entry)
        return out

    def representation(self, rep: Representation) -> dict[str, Any]:
        if rep.codelist is not None:
            return {"enumeration": urn("codelist", rep.codelist)}
        text_format: dict[str, Any] = {"dataType" if self.v2 else "textType": rep.text_type or "String"}
        if rep.max_length:
            text_format["maxLength"] = rep.max_length
        return {"format" if self.v2 else "textFormat": text_format}

    def component(self, dsd: DataStructure, cls: str, comp) -> dict[str, Any]:
        entry: dict[str, Any] = {"id": comp.id}
        annotations = getattr(comp, "annotations", ())
        if annotations:
            entry["annotations"] = self.annotations(annotations)
        entry["links"] = [{"rel": "self", "urn": component_urn(dsd.ref, cls, comp.id)}]
        entry["conceptIdentity"] = urn("conceptscheme", comp.concept.scheme, comp.concept.id)
        entry["localRepresentation"] = self.representation(comp.representation)
        return entry

    def components(self, dsd: DataStructure) -> dict[str, Any]:
        ref = dsd.ref
        dims = []
        for dim in dsd.dimensions:
            entry = self.component(dsd, "Dimension", dim)
            entry["position"] = dim.position
            if not self.v2:
                entry["type"] = "Dimension"
            dims.append(entry)
        dim_list: dict[str, Any] = {"id": "DimensionDescriptor",
                                    "links": [{"rel": "self", "urn": component_urn(ref, "DimensionDescriptor",
                                                                                  "DimensionDescriptor")}]}
        if dims:
            dim_list["dimensions"] = dims
        if dsd.time_dimension is not None:
            time = self.component(dsd, "TimeDimension", dsd.time_dimension)
            if self.v2:
                dim_list["timeDimension"] = time
            else:
                time.update(position=len(dsd.dimensions) + 1, type="TimeDimension")
                dim_list["timeDimensions"] = [time]
        result: dict[str, Any] = {"dimensionList": dim_list}
        if dsd.attributes:
            result["attributeList"] = {
                "id": "AttributeDescriptor",
                "links": [{"rel": "self", "urn": component_urn(ref, "AttributeDescriptor", "AttributeDescriptor")}],
                "attributes": [self.attribute(dsd, attr) for attr in dsd.attributes],
            }
        if dsd.measure is not None:
            measure_list: dict[str, Any] = {
                "id": "MeasureDescriptor",
                "links": [{"rel": "self", "urn": component_urn(ref, "MeasureDescriptor", "MeasureDescriptor")}]}
            if self.v2:
                measure_list["measures"] = [self.component(dsd, "Measure", dsd.measure)]
            else:
                measure_list["primaryMeasure"] = self.component(dsd, "PrimaryMeasure", dsd.measure)
            result["measureList"] = measure_list
        return result

    def attribute(self, dsd: DataStructure, attr: Attribute) -> dict[str, Any]:
        entry = self.component(dsd, "DataAttribute", attr)
        if self.v2:
            entry["usage"] = "mandatory" if attr.mandatory else "optional"
        else:
            entry["assignmentStatus"] = "Mandatory" if attr.mandatory else "Conditional"
        if attr.attachment == OBSERVATION and dsd.measure is not None:
            relation: dict[str, Any] = {"observation": {}} if self.v2 else {"primaryMeasure": dsd.measure.id}
        elif attr.attachment == DATASET or not dsd.dimensions:
            relation = {"dataflow": {}} if self.v2 else {"none": {}}
        else:  # series: every dimension but time
            relation = {"dimensions": list(dsd.dimension_ids)}
        entry["attributeRelationship"] = relation
        return entry

    def constraint(self, entry: dict[str, Any], cons: ContentConstraint, mode: str | None) -> None:
        entry["role" if self.v2 else "type"] = cons.role
        if cons.attachment is not None:
            key = {"dataflow": "dataflows", "provisionagreement": "provisionAgreements",
                   "datastructure": "dataStructures"}[cons.attachment.kind]
            entry["constraintAttachment"] = {key: [urn(cons.attachment.kind, cons.attachment.ref)]}
        if mode is not None or not cons.regions:
            return
        regions = []
        for region in cons.regions:
            key_values = []
            for component_id, values in region.members.items():
                key_value: dict[str, Any] = {"id": component_id}
                if not self.v2:
                    key_value["values"] = list(values)
                elif values:  # 2.0.0: at least one value; objects, which pysdmx requires (the schema allows both)
                    key_value["values"] = [{"value": value} for value in values]
                key_values.append(key_value)
            for component_id, span in region.time_ranges.items():
                key_values.append({"id": component_id, "timeRange": _time_range(span)})
            cube: dict[str, Any] = {"include" if self.v2 else "isIncluded": region.include}
            if key_values:
                cube["keyValues"] = key_values
            regions.append(cube)
        entry["cubeRegions"] = regions


def _time_range(span: TimeRange) -> dict[str, Any]:
    """startPeriod and endPeriod, or afterPeriod / beforePeriod when one end is open."""
    def end(period: str, inclusive: bool) -> dict[str, Any]:
        return {"period": period, "isInclusive": inclusive}

    if span.start is not None and span.end is not None:
        return {"startPeriod": end(span.start, span.start_inclusive), "endPeriod": end(span.end, span.end_inclusive)}
    if span.start is not None:
        return {"afterPeriod": end(span.start, span.start_inclusive)}
    return {"beforePeriod": end(span.end or "", span.end_inclusive)}


def media_type(version: str) -> str:
    """The media type of a structure message in one SDMX-JSON version."""
    return MEDIA_TYPES[_VERSIONS[version]]

