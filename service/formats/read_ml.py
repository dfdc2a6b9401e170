"""SDMX-ML data messages -> DataSets, streamed: 2.1 structure-specific and generic
(and their time-series variants), 3.0 structure-specific.

Rule: bytes -> model values, nothing else (see ``reading``); codes are not
checked here. Parsing is safe: the body must be UTF-8; any DOCTYPE is
refused before parsing (and again by the parser's document info), so no
entity is ever declared, expanded or fetched; lxml runs with
``resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False``
(libxml2 then refuses nesting deeper than 256 and oversized text nodes).
Elements are cleared as soon as they are read, so memory holds one series.

The Header's Structure elements give each dataset's structure (a dataflow,
or a DSD) and ``dimensionAtObservation``: TIME_PERIOD (Series holding Obs)
or AllDimensions (flat Obs, grouped into Series by consecutive key). Each
Series and Observation gets ``Origin(row=source line)``. The dataset action
comes from the DataSet's ``action`` (no action: Information, read as Merge).
In a Delete dataset an Obs without OBS_VALUE is an Observation with value
None (and no attributes: delete the observation), a Series without Obs a
Series with no observations (delete the series); a dimension left out of a
key is an empty code (a wildcard there, a missing code elsewhere).
"""

from __future__ import annotations

import re
from typing import BinaryIO, Iterator

from lxml import etree

from ..model.data import EMPTY, Observation, Series
from ..model.structure import SERIES, DataStructure, Dataflow
from .reading import (
    DSD_URN,
    DataSetStart,
    ReadError,
    SeriesGrouper,
    StructureLookup,
    Structures,
    dataset_action,
    lazy_datasets,
    new_observation,
    number_or_text,
    reference,
    reference_of_urn,
    row_origin,
)

TIME_PERIOD = "TIME_PERIOD"
ALL_DIMENSIONS = "AllDimensions"
MESSAGE_NAMESPACES = ("http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message",
                      "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message")
STRUCTURE_SPECIFIC = ("StructureSpecificData", "StructureSpecificTimeSeriesData")
GENERIC = ("GenericData", "GenericTimeSeriesData")

#: Attributes of DataSet itself (qualified in structure-specific messages; tolerated unqualified).
DATASET_PROPERTIES = frozenset({"structureRef", "setID", "action", "reportingBeginDate", "reportingEndDate",
                                "validFromDate", "validToDate", "publicationYear", "publicationPeriod", "dataScope"})

_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def read_ml(stream: BinaryIO, lookup: StructureLookup, head: bytes) -> Iterator:
    """The datasets of an SDMX-ML data message; ``head`` is the start of ``stream`` (for the prolog check)."""
    check_prolog(head)
    return lazy_datasets(_Reader(lookup).events(stream))


def check_prolog(head: bytes) -> None:
    """Refuse what must not reach the parser: other encodings than UTF-8, and any DOCTYPE."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:4]:
        raise ReadError("SDMX-ML is accepted in UTF-8 only (this body is UTF-16 or UTF-32)", row=1, unit="line")
    text = head.removeprefix(b"\xef\xbb\xbf")
    declared = _ENCODING.match(text.lstrip())
    if declared and declared.group(1).decode("ascii").lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise ReadError(f"encoding {declared.group(1).decode('ascii')} declared; SDMX-ML is accepted in UTF-8 "
                        "only", row=1, unit="line", value=declared.group(1).decode("ascii"))
    position = 0
    while True:  # the prolog: declaration, comments, processing instructions, then the root
        start = text.find(b"<", position)
        if start < 0:
            return
        if text.startswith(b"<?", start):
            end = text.find(b"?>", start)
        elif text.startswith(b"<!--", start):
            end = text.find(b"-->", start)
        elif text.startswith(b"<!", start):
            raise ReadError("DTD/entities not allowed: the message has a DOCTYPE", row=text.count(b"\n", 0, start)
                            + 1, unit="line", element="!DOCTYPE")
        else:
            return
        if end < 0:
            return
        position = end + 2


def _local(tag) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


class _Dataset:
    """What one DataSet element reads with: its flow, action and component roles."""

    def __init__(self, flow: Dataflow, dsd: DataStructure, action: str):
        self.flow, self.action = flow, action
        self.dims = dsd.dimension_ids
        self.dim_set = set(self.dims)
        self.time_id = dsd.time_dimension.id if dsd.time_dimension else TIME_PERIOD
        self.measure = dsd.measure.id if dsd.measure else "OBS_VALUE"
        self.series_level = {a.id for a in dsd.attributes if a.attachment == SERIES}
        self.attributes: dict[str, str] = {}
        self.started = False  # its DataSetStart has been given


class _Reader:
    def __init__(self, lookup: StructureLookup):
        self.structures = Structures(lookup)
        self.header: dict[str, tuple[str, int]] = {}  # structureID -> (reference, line)
        self.generic = False

    def events(self, stream: BinaryIO) -> Iterator[DataSetStart | Series]:
        parser = etree.iterparse(stream, events=("start", "end"), resolve_entities=False, no_network=True,
                                 load_dtd=False, huge_tree=False, remove_comments=True, remove_pis=True)
        try:
            yield from self._walk(parser)
        except etree.XMLSyntaxError as exc:
            line, column = exc.position if exc.position else (exc.lineno, None)
            raise ReadError(f"malformed XML: {exc.msg}", row=line, position=column, unit="line") from None

    def _walk(self, parser) -> Iterator[DataSetStart | Series]:
        dataset: _Dataset | None = None
        dataset_elem = None
        grouper = SeriesGrouper()
        observations: list[Observation] = []
        series_key: dict[str, str] = {}
        series_attrs: dict[str, str] = {}
        for event, elem in parser:
            local = _local(elem.tag)
            if event == "start":
                if dataset_elem is None:
                    if local == "DataSet":
                        dataset, dataset_elem = self._dataset(elem), elem
                    elif elem.getparent() is None:
                        self._check_document(elem)
                elif local == "Series":
                    series_key, series_attrs = {}, {}
                continue
            if local == "Obs":
                if dataset is None:
                    raise ReadError("Obs outside a DataSet", row=elem.sourceline, unit="line", element="Obs")
                if elem.getparent() is dataset_elem:  # flat: the Obs carries the whole key
                    if not dataset.started:
                        yield self._start(dataset)
                    key, attrs, obs = self._flat_obs(elem, dataset)
                    done = grouper.add(key, attrs, obs)
                    if done is not None:
                        yield done
                else:
                    observations.append(self._obs(elem, dataset))
                _forget(elem)
            elif local == "Series":
                if dataset is None:
                    raise ReadError("Series outside a DataSet", row=elem.sourceline, unit="line", element="Series")
                if not dataset.started:
                    yield self._start(dataset)
                done = grouper.flush()
                if done is not None:
                    yield done
                if not self.generic:
                    series_key = series_attrs = elem.attrib
                key = tuple(series_key.get(d, "") for d in dataset.dims)
                attrs = {name: value for name, value in series_attrs.items()
                         if name[0] != "{" and name not in dataset.dim_set}
                yield Series(key, observations, attrs or EMPTY, row_origin(elem.sourceline))
                observations = []
                _forget(elem)
            elif local == "SeriesKey":
                series_key = dict(_values(elem))
            elif local == "Attributes" and dataset is not None:
                parent = elem.getparent()
                if parent is dataset_elem:
                    dataset.attributes.update(_values(elem))
                elif _local(parent.tag) == "Series":
                    series_attrs = dict(_values(elem))
            elif local == "DataSet":
                if not dataset.started:
                    yield self._start(dataset)
                done = grouper.flush()
                if done is not None:
                    yield done
                dataset, dataset_elem = None, None
                _forget(elem)
            elif local == "Header":
                self._header(elem)
                _forget(elem)
            elif local in ("Group", "Comp"):
                raise ReadError(f"{local} elements are not supported", row=elem.sourceline, unit="line",
                                element=local, code="not-supported")

    # -- the document and its header ---------------------------------------------------------
    def _check_document(self, elem) -> None:
        tree = elem.getroottree()
        if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
            raise ReadError("DTD/entities not allowed: the message has a DOCTYPE", row=1, unit="line",
                            element="!DOCTYPE")
        root = tree.getroot()
        namespace, _, local = root.tag.rpartition("}")
        namespace = namespace.lstrip("{")
        if namespace not in MESSAGE_NAMESPACES or local not in (*STRUCTURE_SPECIFIC, *GENERIC):
            raise ReadError(f"not an SDMX-ML data message: root element {local} in namespace {namespace or 'none'}",
                            row=root.sourceline, unit="line", element=local)
        self.generic = local in GENERIC

    def _header(self, header) -> None:
        for structure in header:
            if _local(structure.tag) != "Structure":
                continue
            line = structure.sourceline
            sid = structure.get("structureID") or ""
            at_obs = structure.get("dimensionAtObservation") or TIME_PERIOD
            if at_obs not in (TIME_PERIOD, ALL_DIMENSIONS):
                raise ReadError(f"dimensionAtObservation {at_obs} is not supported (TIME_PERIOD or AllDimensions)",
                                row=line, unit="line", element="Structure", value=at_obs, code="not-supported")
            ref = None
            for child in structure:
                kind = _local(child.tag)
                if kind in ("StructureUsage", "Structure", "ProvisionAgrement", "ProvisionAgreement"):
                    ref = self._reference(child, kind, line)
            if ref is None:
                raise ReadError("the header Structure names no dataflow or data structure", row=line, unit="line",
                                element="Structure")
            self.structures(ref, row=line, unit="line", element="Structure")  # unknown: refused here
            self.header[sid] = (ref, line)

    @staticmethod
    def _reference(elem, kind: str, line: int) -> str:
        if kind.startswith("Provision"):
            raise ReadError("data for a provision agreement is not supported; refer to the dataflow", row=line,
                            unit="line", element=kind, code="not-supported")
        ref_elem = next((c for c in elem if _local(c.tag) == "Ref"), None)
        urn_elem = next((c for c in elem if _local(c.tag) == "URN"), None)
        if ref_elem is not None:
            ref = reference(ref_elem.get("agencyID"), ref_elem.get("id"), ref_elem.get("version"))
            return DSD_URN + ref if kind == "Structure" else ref
        text = (urn_elem.text if urn_elem is not None else elem.text) or ""
        if not text.strip():
            raise ReadError(f"{kind} has no reference", row=line, unit="line", element=kind)
        return reference_of_urn(text, row=line, unit="line", element=kind)

    def _dataset(self, elem) -> _Dataset:
        line = elem.sourceline
        attrs = {_local(name): value for name, value in elem.attrib.items()}
        sid = attrs.get("structureRef")
        if sid in self.header:
            ref, ref_line = self.header[sid]
        elif len(self.header) == 1 and not sid:
            ref, ref_line = next(iter(self.header.values()))
        else:
            known = ", ".join(self.header) or "none"
            raise ReadError(f"DataSet structureRef {sid!r} is not a Structure of the header (header has: {known})",
                            row=line, unit="line", element="DataSet", value=sid)
        flow, dsd = self.structures(ref, row=ref_line, unit="line", element="Structure")
        action = dataset_action(attrs.get("action") or "Information", row=line, unit="line", element="DataSet")
        dataset = _Dataset(flow, dsd, action)
        if not self.generic:  # structure-specific: unqualified attributes are dataset-level components
            dataset.attributes.update((name, value) for name, value in elem.attrib.items()
                                      if name[0] != "{" and name not in DATASET_PROPERTIES)
        return dataset

    @staticmethod
    def _start(dataset: _Dataset) -> DataSetStart:
        dataset.started = True
        return DataSetStart(str(dataset.flow.ref), dataset.action, dict(dataset.attributes))

    # -- series and observations -------------------------------------------------------------
    def _obs(self, elem, dataset: _Dataset) -> Observation:
        line = elem.sourceline
        if self.generic:
            period, value, attrs = "", None, {}
            for child in elem:
                kind = _local(child.tag)
                if kind == "ObsDimension":
                    period = child.get("value", "")
                elif kind == "ObsValue":
                    value = child.get("value")
                elif kind == "Attributes":
                    attrs = dict(_values(child))
                elif kind == "ObsKey":
                    period = dict(_values(child)).get(dataset.time_id, "")
        else:
            values = elem.attrib
            period, value = values.get(dataset.time_id, ""), values.get(dataset.measure)
            attrs = {name: text for name, text in values.items()
                     if name != dataset.time_id and name != dataset.measure and name[0] != "{"}
        return new_observation(period, number_or_text(value) if value is not None else None, attrs or EMPTY,
                               row_origin(line))

    def _flat_obs(self, elem, dataset: _Dataset) -> tuple[tuple[str, ...], dict[str, str], Observation]:
        if self.generic:
            codes = {}
            for child in elem:
                if _local(child.tag) == "ObsKey":
                    codes = dict(_values(child))
        else:
            codes = elem.attrib
        obs = self._obs(elem, dataset)
        key = tuple(codes.get(d, "") for d in dataset.dims)
        series_attrs = {k: v for k, v in obs.attributes.items() if k in dataset.series_level}
        obs_attrs = {k: v for k, v in obs.attributes.items()
                     if k not in dataset.series_level and k not in dataset.dim_set}
        if len(obs_attrs) != len(obs.attributes):
            obs = new_observation(obs.time_period, obs.value, obs_attrs or EMPTY, obs.origin)
        return key, series_attrs, obs


def _values(elem) -> Iterator[tuple[str, str]]:
    """The (id, value) pairs of a generic ``Value`` list."""
    for child in elem:
        if _local(child.tag) == "Value":
            yield child.get("id", ""), child.get("value", "")


def _forget(elem) -> None:
    """Free an element that has been read, and the siblings read before it."""
    elem.clear()
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]
