"""SDMX-ML 2.1 structure-specific data messages, written as a stream.

Rule: model series -> bytes, as a generator; the text is written directly
(no tree in memory), escaped for XML attribute values. The message is a
``StructureSpecificData`` whose Header points at the dataflow and whose
DataSet is typed ``ns1:DataSetType`` in the dataflow's namespace
(``urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=AGENCY:ID(VERSION):ObsLevelDim:TIME_PERIOD``):
Series elements carry the dimensions and series attributes, Obs elements
TIME_PERIOD, OBS_VALUE (``NaN`` when missing) and observation attributes.
With ``dimension_at_observation`` = AllDimensions the observations are flat.
Several data sets (``context.DataSets``) follow one another, each with its
``ss:action`` and ``ss:validFromDate`` / ``ss:validToDate``; a Delete data
set names observations by key and period only.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from ..model.data import Series
from ..model.structure import DATASET, OBSERVATION, SERIES
from .context import ALL_DIMENSIONS, TIME_PERIOD, WriteContext, dataset_parts, instant_text
from .sdmx_csv import value_text

MEDIA_TYPE = "application/vnd.sdmx.structurespecificdata+xml;version=2.1"

_V21 = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/"
NAMESPACES = {
    "message": _V21 + "message",
    "common": _V21 + "common",
    "ss": _V21 + "data/structurespecific",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}

#: Observations written before a chunk is yielded.
CHUNK_OBSERVATIONS = 4000

# XML attribute value escaping; characters XML 1.0 forbids are dropped.
_ESCAPES = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;",
            ord("\n"): "&#10;", ord("\r"): "&#13;", ord("\t"): "&#9;"}
_ESCAPES.update({c: None for c in range(0x20) if c not in (9, 10, 13)})
_ESCAPES.update({0xFFFE: None, 0xFFFF: None})


def escape(text: str) -> str:
    return text.translate(_ESCAPES)


def flow_namespace(ctx: WriteContext) -> str:
    """The dataset namespace SDMX derives from the dataflow and the observation dimension."""
    ref = ctx.dataflow.ref
    return (f"urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow={ref.agency}:{ref.id}({ref.version})"
            f":ObsLevelDim:{ctx.dimension_at_observation}")


def structure_id(ctx: WriteContext) -> str:
    ref = ctx.dataflow.ref
    return "_".join((ref.agency, ref.id, ref.version)).replace(".", "_").replace("-", "_")


def header(ctx: WriteContext, root: str = "StructureSpecificData") -> str:
    """The XML declaration, the root start tag and the whole Header element."""
    ref = ctx.dataflow.ref
    ns = " ".join(f'xmlns:{p}="{u}"' for p, u in NAMESPACES.items())
    prepared = ctx.prepared.strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if ctx.prepared.utcoffset() is not None else "")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<message:{root} {ns} xmlns:ns1="{escape(flow_namespace(ctx))}">\n'
        "<message:Header>\n"
        f"<message:ID>{escape(ctx.message_id)}</message:ID>\n"
        "<message:Test>false</message:Test>\n"
        f"<message:Prepared>{prepared}</message:Prepared>\n"
        f'<message:Sender id="{escape(ctx.sender)}"/>\n'
        f'<message:Structure structureID="{structure_id(ctx)}" namespace="{escape(flow_namespace(ctx))}" '
        f'dimensionAtObservation="{escape(ctx.dimension_at_observation)}">\n'
        f'<common:StructureUsage><Ref agencyID="{escape(ref.agency)}" id="{escape(ref.id)}" '
        f'version="{escape(ref.version)}"/></common:StructureUsage>\n'
        "</message:Structure>\n"
        "</message:Header>\n"
    )


def write_structure_specific(series: Iterable[Series], ctx: WriteContext) -> Iterator[bytes]:
    """The whole message in chunks: header, one DataSet, its Series (or flat Obs), the closing tags."""
    return _write(series, ctx, "StructureSpecificData", "DataSetType")


def write_structure_specific_timeseries(series: Iterable[Series], ctx: WriteContext) -> Iterator[bytes]:
    """The time-series variant (StructureSpecificTimeSeriesData): TIME_PERIOD must be at observation."""
    if ctx.dimension_at_observation != TIME_PERIOD:
        raise ValueError("structure-specific time series data carry TIME_PERIOD at observation only")
    return _write(series, ctx, "StructureSpecificTimeSeriesData", "TimeSeriesDataSetType")


def _write(series: Iterable[Series], ctx: WriteContext, root: str, dataset_type: str) -> Iterator[bytes]:
    dsd = ctx.structure
    dims = dsd.dimension_ids
    at_obs = ctx.dimension_at_observation
    flat = at_obs == ALL_DIMENSIONS
    detail = ctx.detail
    with_obs = detail not in ("serieskeysonly", "nodata")
    with_attrs = detail not in ("dataonly", "serieskeysonly")
    obs_attr_ids = [a.id for a in dsd.attributes if a.attachment == OBSERVATION] if with_attrs else []
    set_attr_ids = [a.id for a in dsd.attributes if a.attachment in (SERIES, DATASET)] if with_attrs else []
    if at_obs in (TIME_PERIOD, ALL_DIMENSIONS):
        series_dims = dims
    else:  # series regrouped by the caller: key = other dimensions + TIME_PERIOD
        series_dims = tuple(d for d in dims if d != at_obs) + (TIME_PERIOD,)

    dataset_attrs = "".join(f' {k}="{escape(v)}"' for k, v in ctx.dataset_attributes.items() if v)
    yield header(ctx, root).encode("utf-8")
    for part in dataset_parts(series, ctx):
        validity = "".join(f' ss:{name}="{instant_text(moment)}"' for name, moment in (
            ("validFromDate", part.valid_from), ("validToDate", part.valid_to)) if moment is not None)
        head = (f'<message:DataSet ss:structureRef="{structure_id(ctx)}" xsi:type="ns1:{dataset_type}" '
                f'ss:dataScope="DataStructure" ss:action="{escape(part.action)}"{validity}')
        if part.keys_only:
            yield from _deletions(part.series, series_dims, flat, with_obs, TIME_PERIOD if at_obs == TIME_PERIOD
                                  else at_obs, head + ">\n")
        else:
            yield from _dataset(part.series, ctx, series_dims, flat, with_obs, obs_attr_ids, set_attr_ids,
                                head + dataset_attrs + ">\n")
    yield f"</message:{root}>\n".encode("utf-8")


def _deletions(series: Iterable[Series], series_dims, flat: bool, with_obs: bool, obs_dim: str,
               head: str) -> Iterator[bytes]:
    """A Delete data set: keys and periods only."""
    parts = [head]
    for one in series:
        key_attrs = "".join(f' {d}="{escape(c)}"' for d, c in zip(series_dims, one.key))
        if flat and with_obs:
            parts.extend(f'<Obs{key_attrs} {TIME_PERIOD}="{escape(o.time_period)}"/>\n' for o in one.observations)
        elif with_obs and one.observations:
            parts.append(f"<Series{key_attrs}>" + "".join(f'<Obs {obs_dim}="{escape(o.time_period)}"/>'
                                                          for o in one.observations) + "</Series>\n")
        else:
            parts.append(f"<Series{key_attrs}/>\n")
        if len(parts) >= CHUNK_OBSERVATIONS:
            yield "".join(parts).encode("utf-8")
            parts.clear()
    parts.append("</message:DataSet>\n")
    yield "".join(parts).encode("utf-8")


def _dataset(series: Iterable[Series], ctx: WriteContext, series_dims, flat: bool, with_obs: bool,
             obs_attr_ids: list[str], set_attr_ids: list[str], head: str) -> Iterator[bytes]:
    at_obs = ctx.dimension_at_observation
    parts = [head]
    count = 0
    for one in series:
        key_attrs = "".join(f' {d}="{escape(c)}"' for d, c in zip(series_dims, one.key))
        set_attrs = "".join(f' {a}="{escape(one.attributes[a])}"' for a in set_attr_ids
                            if one.attributes.get(a) and a not in ctx.dataset_attributes)
        if flat:
            for obs in one.observations if with_obs else ():
                parts.append(f"<Obs{key_attrs}{set_attrs}{_obs_attrs(obs, TIME_PERIOD, obs_attr_ids)}/>\n")
                count += 1
        elif not with_obs or not one.observations:
            parts.append(f"<Series{key_attrs}{set_attrs}/>\n")
            count += 1
        else:
            parts.append(f"<Series{key_attrs}{set_attrs}>\n")
            obs_dim = TIME_PERIOD if at_obs == TIME_PERIOD else at_obs
            for obs in one.observations:
                parts.append(f"<Obs{_obs_attrs(obs, obs_dim, obs_attr_ids)}/>\n")
            count += len(one.observations)
            parts.append("</Series>\n")
        if count >= CHUNK_OBSERVATIONS:
            yield "".join(parts).encode("utf-8")
            parts.clear()
            count = 0
    parts.append("</message:DataSet>\n")
    yield "".join(parts).encode("utf-8")


def _obs_attrs(obs, obs_dim: str, attr_ids: list[str]) -> str:
    value = obs.value
    if value.__class__ is float and value.is_integer() and -1e15 < value < 1e15:
        text = str(int(value))
    else:
        text = value_text(value)
    out = f' {obs_dim}="{escape(obs.time_period)}" OBS_VALUE="{text}"'
    if attr_ids:
        attrs = obs.attributes
        out += "".join(f' {a}="{escape(attrs[a])}"' for a in attr_ids if attrs.get(a))
    return out
