"""A data-structure-specific XSD for SDMX-ML 2.1 structure-specific data, built by code for the tests.

SDMX defines the structure-specific format with abstract base types; an instance
is checked against a schema derived from its DSD, in the dataflow's namespace,
that restricts those types (as SDMX registries generate them). This one names
every dimension and attribute of the DSD (dimensions required) and imports the
official SDMXMessage.xsd, so a validation checks the Header as well as the data.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from service.model.structure import OBSERVATION, DataStructure

XS = "http://www.w3.org/2001/XMLSchema"
V21 = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/"


def dsd_schema_text(dsd: DataStructure, namespace: str, xsd_folder: Path) -> str:
    dims = "".join(f'<xs:attribute name="{d}" type="common:IDType" use="required"/>' for d in dsd.dimension_ids)
    series_attrs = "".join(f'<xs:attribute name="{a.id}" type="xs:string" use="optional"/>'
                           for a in dsd.attributes if a.attachment != OBSERVATION)
    obs_attrs = "".join(f'<xs:attribute name="{a.id}" type="xs:string" use="optional"/>'
                        for a in dsd.attributes if a.attachment == OBSERVATION)
    folder = xsd_folder.resolve().as_uri()
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="{XS}" xmlns="{namespace}" targetNamespace="{namespace}"
    xmlns:common="{V21}common" xmlns:dsd="{V21}data/structurespecific"
    xmlns:message="{V21}message" elementFormDefault="unqualified" attributeFormDefault="unqualified">
  <xs:import namespace="{V21}message" schemaLocation="{folder}/SDMXMessage.xsd"/>
  <xs:import namespace="{V21}common" schemaLocation="{folder}/SDMXCommon.xsd"/>
  <xs:import namespace="{V21}data/structurespecific" schemaLocation="{folder}/SDMXDataStructureSpecific.xsd"/>
  <xs:complexType name="DataSetType">
    <xs:complexContent>
      <xs:restriction base="dsd:DataSetType">
        <xs:sequence>
          <xs:element ref="common:Annotations" minOccurs="0"/>
          <xs:element name="DataProvider" type="common:DataProviderReferenceType" form="unqualified" minOccurs="0"/>
          <xs:element name="Series" type="SeriesType" form="unqualified" minOccurs="0" maxOccurs="unbounded"/>
        </xs:sequence>
      </xs:restriction>
    </xs:complexContent>
  </xs:complexType>
  <xs:complexType name="SeriesType">
    <xs:complexContent>
      <xs:restriction base="dsd:SeriesType">
        <xs:sequence>
          <xs:element ref="common:Annotations" minOccurs="0"/>
          <xs:element name="Obs" type="ObsType" form="unqualified" minOccurs="0" maxOccurs="unbounded"/>
        </xs:sequence>
        <xs:attribute name="TIME_PERIOD" use="prohibited"/>
        <xs:attribute name="REPORTING_YEAR_START_DAY" use="prohibited"/>
        {dims}{series_attrs}
      </xs:restriction>
    </xs:complexContent>
  </xs:complexType>
  <xs:complexType name="ObsType">
    <xs:complexContent>
      <xs:restriction base="dsd:ObsType">
        <xs:sequence>
          <xs:element ref="common:Annotations" minOccurs="0"/>
        </xs:sequence>
        <xs:attribute name="type" use="prohibited"/>
        <xs:attribute name="REPORTING_YEAR_START_DAY" use="prohibited"/>
        <xs:attribute name="TIME_PERIOD" type="common:ObservationalTimePeriodType" use="required"/>
        <xs:attribute name="OBS_VALUE" type="xs:double" use="optional"/>
        {obs_attrs}
      </xs:restriction>
    </xs:complexContent>
  </xs:complexType>
</xs:schema>
"""


def data_schema(dsd: DataStructure, namespace: str, xsd_folder: Path, workdir: Path) -> etree.XMLSchema:
    """The compiled schema: the DSD-specific types plus, through their imports, the official message schema."""
    path = workdir / "dsd_specific.xsd"
    path.write_text(dsd_schema_text(dsd, namespace, xsd_folder), encoding="utf-8")
    return etree.XMLSchema(etree.parse(str(path)))
