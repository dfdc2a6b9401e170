"""Minimal reference writers of the same rows from memory, for bench/serve.py.

Each is the plainest way to get the format's bytes with the usual fast tool,
without SDMX knowledge beyond the layout:

- SDMX-CSV: ``pandas.DataFrame.to_csv(index=False)`` of a frame holding
  exactly the columns migstat writes (SDMX-CSV 1.0 or 2.0), built beforehand;
- SDMX-ML: an lxml incremental writer (``etree.xmlfile``): Series elements
  carrying the key and series attributes, one Obs element per observation,
  structure-specific (2.1 or 3.0 namespaces) or generic;
- SDMX-JSON: the series-keyed message as a dict (codes as positions), then
  ``orjson.dumps``.

The rows are model ``Series`` as the store hands them over (not timed: they
are "in memory"); only the writing is timed by the caller.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import orjson
from lxml import etree

from service.model.data import Series
from service.model.structure import OBSERVATION

V21 = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/"
V30 = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


@dataclass(frozen=True)
class Layout:
    """What the references need of the structure: component ids in DSD order and the flow."""

    flow: str  # AGENCY:ID(VERSION)
    dimensions: tuple[str, ...]
    attributes: tuple[str, ...]  # DSD order, as SDMX-CSV columns
    observation_attributes: tuple[str, ...]
    series_attributes: tuple[str, ...]

    @classmethod
    def of(cls, dsd, flow_ref: str) -> "Layout":
        return cls(flow_ref, tuple(dsd.dimension_ids), tuple(a.id for a in dsd.attributes),
                   tuple(a.id for a in dsd.attributes if a.attachment == OBSERVATION),
                   tuple(a.id for a in dsd.attributes if a.attachment != OBSERVATION))


def number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "NaN"
    return str(int(value)) if value.is_integer() else repr(value)


def table(series: list[Series], layout: Layout):
    """The rows as a pandas DataFrame, one observation a row: dimensions, TIME_PERIOD, OBS_VALUE, attributes."""
    import pandas as pd

    attributes = layout.attributes
    columns: dict[str, list] = {d: [] for d in layout.dimensions}
    columns["TIME_PERIOD"], columns["OBS_VALUE"] = [], []
    for a in attributes:
        columns[a] = []
    for one in series:
        for obs in one.observations:
            for d, code in zip(layout.dimensions, one.key):
                columns[d].append(code)
            columns["TIME_PERIOD"].append(obs.time_period)
            columns["OBS_VALUE"].append(math.nan if obs.value is None else obs.value)
            for a in attributes:
                columns[a].append(obs.attributes.get(a) or one.attributes.get(a))
    return pd.DataFrame(columns)


def csv_frame(rows, layout: Layout, version: int):
    """``rows`` (from ``table``) with the leading columns of SDMX-CSV ``version`` (1 or 2), as migstat writes them."""
    out = rows.copy()
    if version == 1:
        out.insert(0, "DATAFLOW", layout.flow)
    else:
        out.insert(0, "STRUCTURE", "dataflow")
        out.insert(1, "STRUCTURE_ID", layout.flow)
        out.insert(2, "ACTION", "I")
    return out


def csv_pandas(frame) -> int:
    return len(frame.to_csv(index=False))


def ml_structure_specific(series: list[Series], layout: Layout, version: str = "2.1") -> int:
    base = V21 if version == "2.1" else V30
    mes, ss = base + "message", base + "data/structurespecific"
    sink = io.BytesIO()
    with etree.xmlfile(sink, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element(f"{{{mes}}}StructureSpecificData", nsmap={"message": mes, "ss": ss, "xsi": XSI}):
            _header(xf, mes, layout)
            with xf.element(f"{{{mes}}}DataSet", {f"{{{ss}}}structureRef": "STR", f"{{{XSI}}}type": "DataSetType"}):
                for one in series:
                    attrib = dict(zip(layout.dimensions, one.key))
                    attrib.update((a, v) for a, v in one.attributes.items() if v)
                    with xf.element("Series", attrib):
                        for obs in one.observations:
                            xf.write(etree.Element("Obs", TIME_PERIOD=obs.time_period, OBS_VALUE=number(obs.value),
                                                   **obs.attributes))
    return len(sink.getvalue())


def ml_generic(series: list[Series], layout: Layout) -> int:
    mes, gen = V21 + "message", V21 + "data/generic"
    g = f"{{{gen}}}"
    sink = io.BytesIO()
    with etree.xmlfile(sink, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element(f"{{{mes}}}GenericData", nsmap={"message": mes, "generic": gen}):
            _header(xf, mes, layout)
            with xf.element(f"{{{mes}}}DataSet", structureRef="STR"):
                for one in series:
                    with xf.element(g + "Series"):
                        key = etree.Element(g + "SeriesKey")
                        for d, code in zip(layout.dimensions, one.key):
                            etree.SubElement(key, g + "Value", id=d, value=code)
                        xf.write(key)
                        if one.attributes:
                            attrs = etree.Element(g + "Attributes")
                            for a, v in one.attributes.items():
                                etree.SubElement(attrs, g + "Value", id=a, value=v)
                            xf.write(attrs)
                        for obs in one.observations:
                            element = etree.Element(g + "Obs")
                            etree.SubElement(element, g + "ObsDimension", value=obs.time_period)
                            etree.SubElement(element, g + "ObsValue", value=number(obs.value))
                            if obs.attributes:
                                attrs = etree.SubElement(element, g + "Attributes")
                                for a, v in obs.attributes.items():
                                    etree.SubElement(attrs, g + "Value", id=a, value=v)
                            xf.write(element)
    return len(sink.getvalue())


def _header(xf, mes: str, layout: Layout) -> None:
    header = etree.Element(f"{{{mes}}}Header")
    etree.SubElement(header, f"{{{mes}}}ID").text = "REFERENCE"
    etree.SubElement(header, f"{{{mes}}}Test").text = "false"
    etree.SubElement(header, f"{{{mes}}}Prepared").text = "2024-01-01T00:00:00"
    etree.SubElement(header, f"{{{mes}}}Sender", id="REFERENCE")
    etree.SubElement(header, f"{{{mes}}}Structure", structureID="STR", dimensionAtObservation="TIME_PERIOD")
    xf.write(header)


def json_orjson(series: list[Series], layout: Layout) -> int:
    """An SDMX-JSON-shaped message (series keyed by code positions) as a dict, dumped by orjson."""
    positions: list[dict[str, int]] = [{} for _ in layout.dimensions]
    times: dict[str, int] = {}
    obs_attrs: list[dict[str, int]] = [{} for _ in layout.observation_attributes]
    set_attrs: list[dict[str, int]] = [{} for _ in layout.series_attributes]
    out = {}
    for one in series:
        key = ":".join(str(p.setdefault(code, len(p))) for p, code in zip(positions, one.key))
        observations = {}
        for obs in one.observations:
            t = times.setdefault(obs.time_period, len(times))
            values = [obs.value]
            for table, a in zip(obs_attrs, layout.observation_attributes):
                v = obs.attributes.get(a)
                values.append(None if v is None else table.setdefault(v, len(table)))
            observations[str(t)] = values
        attributes = []
        for table, a in zip(set_attrs, layout.series_attributes):
            v = one.attributes.get(a)
            attributes.append(None if v is None else table.setdefault(v, len(table)))
        out[key] = {"attributes": attributes, "observations": observations}

    def component(ids, tables):
        return [{"id": i, "values": [{"id": code} for code in table]} for i, table in zip(ids, tables)]

    message = {
        "meta": {"id": "REFERENCE", "test": False, "prepared": "2024-01-01T00:00:00Z", "sender": {"id": "REFERENCE"}},
        "data": {
            "dataSets": [{"action": "Information", "series": out}],
            "structure": {
                "dimensions": {"series": component(layout.dimensions, positions),
                               "observation": component(("TIME_PERIOD",), (times,))},
                "attributes": {"series": component(layout.series_attributes, set_attrs),
                               "observation": component(layout.observation_attributes, obs_attrs)},
            },
        },
    }
    return len(orjson.dumps(message))
