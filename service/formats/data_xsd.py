"""XML schemas (XSD) for SDMX-ML 2.1 structure-specific data of one dataflow, DSD or provision agreement.

Rule: model -> bytes; no I/O. The schema follows the SDMX 2.1 rules for structure-specific
schemas: its target namespace is the one data messages name in their header
(``urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=AGENCY:ID(VERSION):ObsLevelDim:TIME_PERIOD``,
``...DataStructure=...`` or ``...registry.ProvisionAgreement=...``), and it types the data set:

- ``DataSetType`` restricts ``ss:DataSetType`` (Series, or flat Obs with AllDimensions);
- ``SeriesType`` restricts ``ss:SeriesType``: the dimensions not at observation level (required)
  and the series attributes;
- ``ObsType`` restricts ``ss:ObsType``: the observation dimension (required), OBS_VALUE as
  xs:double and the observation attributes (series attributes too when the observation carries
  the whole key or a cross-section);
- a simple type per codelist enumerating its codes; where the context's constraints (the
  dataflow's, the provision agreement's) narrow a component, a type of its own for that
  component (``CODELIST.COMPONENT``) lists only the allowed codes.

Attributes are optional, as in SDMX-generated schemas (a message may carry attribute values
separately); dimensions are required. The schema imports the official SDMXCommon.xsd and
SDMXDataStructureSpecific.xsd from ``schema_location`` (by default beside it, as SDMX schemas
are distributed).
"""

from __future__ import annotations

from typing import Mapping

from lxml import etree

from ..model.structure import DATASET, OBSERVATION, SERIES, Codelist, DataStructure, Representation

XS = "http://www.w3.org/2001/XMLSchema"
COMMON = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common"
SS = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/structurespecific"
MEDIA_TYPE = "application/vnd.sdmx.schema+xml;version=2.1"
TIME_PERIOD = "TIME_PERIOD"
ALL_DIMENSIONS = "AllDimensions"

#: SDMX text types -> XML Schema types (others are strings).
TEXT_TYPES = {"String": "xs:string", "Double": "xs:double", "Float": "xs:float", "Decimal": "xs:decimal",
              "Integer": "xs:integer", "Long": "xs:long", "Short": "xs:short", "Boolean": "xs:boolean",
              "ObservationalTimePeriod": "common:ObservationalTimePeriodType", "DateTime": "xs:dateTime",
              "Date": "xs:date", "GregorianYear": "xs:gYear", "URI": "xs:anyURI"}


def data_namespace(kind: str, agency: str, artefact_id: str, version: str, dimension_at_observation: str) -> str:
    """The namespace of structure-specific data for a dataflow, data structure or provision agreement."""
    package, cls = {"dataflow": ("datastructure", "Dataflow"), "datastructure": ("datastructure", "DataStructure"),
                    "provisionagreement": ("registry", "ProvisionAgreement")}[kind]
    return (f"urn:sdmx:org.sdmx.infomodel.{package}.{cls}={agency}:{artefact_id}({version})"
            f":ObsLevelDim:{dimension_at_observation}")


def write_data_xsd(dsd: DataStructure, *, namespace: str, codelists: Mapping[str, Codelist],
                   allowed: Mapping[str, frozenset[str]] | None = None,
                   dimension_at_observation: str = TIME_PERIOD, schema_location: str = "") -> bytes:
    """The XSD of structure-specific data of ``dsd`` in ``namespace``.

    ``codelists`` by id; ``allowed`` the codes the context's constraints leave per component;
    ``dimension_at_observation`` TIME_PERIOD, AllDimensions or a dimension id.
    """
    return _Schema(dsd, namespace, codelists, allowed or {}, dimension_at_observation, schema_location).bytes()


def _x(tag: str) -> str:
    return f"{{{XS}}}{tag}"


class _Schema:
    def __init__(self, dsd, namespace, codelists, allowed, at_obs, schema_location):
        self.dsd, self.codelists, self.allowed, self.at_obs = dsd, codelists, allowed, at_obs
        self.root = etree.Element(_x("schema"), nsmap={"xs": XS, "common": COMMON, "ss": SS, None: namespace},
                                  targetNamespace=namespace, elementFormDefault="unqualified",
                                  attributeFormDefault="unqualified")
        base = schema_location.rstrip("/") + "/" if schema_location else ""
        etree.SubElement(self.root, _x("import"), namespace=COMMON, schemaLocation=base + "SDMXCommon.xsd")
        etree.SubElement(self.root, _x("import"), namespace=SS,
                         schemaLocation=base + "SDMXDataStructureSpecific.xsd")
        self.simple_types: dict[str, tuple[str, ...]] = {}
        self.time_id = dsd.time_dimension.id if dsd.time_dimension else TIME_PERIOD

    def bytes(self) -> bytes:
        dsd, at_obs = self.dsd, self.at_obs
        flat = at_obs == ALL_DIMENSIONS
        dims = list(dsd.dimensions)
        series_attrs = [a for a in dsd.attributes if a.attachment == SERIES]
        obs_attrs = [a for a in dsd.attributes if a.attachment == OBSERVATION]
        set_attrs = [a for a in dsd.attributes if a.attachment == DATASET]
        self.data_set(flat, set_attrs)
        if flat:
            self.obs([(d.id, self.type_of(d.id, d.representation), True) for d in dims]
                     + [(self.time_id, "common:ObservationalTimePeriodType", True)], series_attrs + obs_attrs)
        else:
            if at_obs == TIME_PERIOD:
                series_keys = [(d.id, self.type_of(d.id, d.representation), True) for d in dims]
                obs_key = (self.time_id, "common:ObservationalTimePeriodType", True)
                extra_obs = []
            else:
                series_keys = [(d.id, self.type_of(d.id, d.representation), True) for d in dims if d.id != at_obs]
                series_keys.append((self.time_id, "common:ObservationalTimePeriodType", True))
                dim = dsd.dimension_by_id[at_obs]
                obs_key = (dim.id, self.type_of(dim.id, dim.representation), True)
                extra_obs = series_attrs
            self.series(series_keys, series_attrs)
            self.obs([obs_key], extra_obs + obs_attrs)
        for name, codes in self.simple_types.items():
            simple = etree.SubElement(self.root, _x("simpleType"), name=name)
            restriction = etree.SubElement(simple, _x("restriction"), base="xs:string")
            for code in codes:
                etree.SubElement(restriction, _x("enumeration"), value=code)
        return etree.tostring(self.root, xml_declaration=True, encoding="UTF-8", pretty_print=True)

    # -- types ------------------------------------------------------------------------
    def type_of(self, component_id: str, rep: Representation) -> str:
        if rep.codelist is None:
            return TEXT_TYPES.get(rep.text_type or "String", "xs:string")
        codelist = self.codelists.get(rep.codelist.id)
        if codelist is None:
            return "common:IDType"
        codes = tuple(item.id for item in codelist.items)
        name = codelist.ref.id
        allowed = self.allowed.get(component_id)
        if allowed is not None and set(codes) - allowed:
            codes = tuple(c for c in codes if c in allowed)
            name = f"{codelist.ref.id}.{component_id}"
        self.simple_types[name] = codes
        return name

    def attribute(self, parent, name: str, type_name: str, required: bool) -> None:
        etree.SubElement(parent, _x("attribute"), name=name, type=type_name,
                         use="required" if required else "optional")

    def data_attributes(self, parent, attributes) -> None:
        for attr in attributes:
            self.attribute(parent, attr.id, self.type_of(attr.id, attr.representation), False)

    def restriction(self, name: str, base: str):
        complex_type = etree.SubElement(self.root, _x("complexType"), name=name)
        content = etree.SubElement(complex_type, _x("complexContent"))
        restriction = etree.SubElement(content, _x("restriction"), base=base)
        sequence = etree.SubElement(restriction, _x("sequence"))
        etree.SubElement(sequence, _x("element"), ref="common:Annotations", minOccurs="0")
        return restriction, sequence

    # -- the data set, its series and observations --------------------------------------
    def data_set(self, flat: bool, set_attrs) -> None:
        restriction, sequence = self.restriction("DataSetType", "ss:DataSetType")
        etree.SubElement(sequence, _x("element"), name="DataProvider", type="common:DataProviderReferenceType",
                         form="unqualified", minOccurs="0")
        choice = etree.SubElement(sequence, _x("choice"), minOccurs="0")
        member = "Obs" if flat else "Series"
        etree.SubElement(choice, _x("element"), name=member, type=f"{member}Type", form="unqualified",
                         maxOccurs="unbounded")
        self.data_attributes(restriction, set_attrs)

    def series(self, keys, attributes) -> None:
        restriction, sequence = self.restriction("SeriesType", "ss:SeriesType")
        etree.SubElement(sequence, _x("element"), name="Obs", type="ObsType", form="unqualified", minOccurs="0",
                         maxOccurs="unbounded")
        declared = set()
        for name, type_name, required in keys:
            self.attribute(restriction, name, type_name, required)
            declared.add(name)
        self.data_attributes(restriction, attributes)
        if self.time_id not in declared:
            etree.SubElement(restriction, _x("attribute"), name=self.time_id, use="prohibited")

    def obs(self, keys, attributes) -> None:
        restriction, _ = self.restriction("ObsType", "ss:ObsType")
        for name, type_name, required in keys:
            self.attribute(restriction, name, type_name, required)
        if self.time_id not in {k[0] for k in keys}:
            etree.SubElement(restriction, _x("attribute"), name=self.time_id, use="prohibited")
        measure = self.dsd.measure
        measure_type = TEXT_TYPES.get(measure.representation.text_type or "Double", "xs:double") if measure \
            else "xs:double"
        self.attribute(restriction, measure.id if measure else "OBS_VALUE", measure_type, False)
        self.data_attributes(restriction, attributes)
