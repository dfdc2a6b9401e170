"""SDMX-ML 3.0 structure-specific data (application/vnd.sdmx.data+xml;version=3.0.0), streamed.

Rule: bytes out of model values; no I/O beyond yielding bytes. Same layouts
and conventions as the SDMX-ML 2.1 generic writer (see ``sdmx_ml_generic``):
``TIME_PERIOD`` writes ``Series`` holding ``Obs``; ``AllDimensions`` writes
flat ``Obs`` carrying every dimension, TIME_PERIOD and all attributes; a
dimension id writes cross-sections, where ``Series.key`` holds the other
dimensions' codes in DSD order then the period and ``Observation.time_period``
holds the observation dimension's code.

Several data sets (``context.DataSets``) follow one another, each with its
``ss:action`` and ``ss:validFromDate`` / ``ss:validToDate``; a Delete data
set names observations by key and period only.

Components are unqualified XML attributes named by their ids; data-set
attributes sit on ``DataSet``. The data set's ``xsi:type`` names the
DSD-specific schema type in the namespace the header declares:
``urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=AG:ID(1.0):ObsLevelDim:DIM``.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from ..model.data import Series
from ..model.query import NO_DATA, SERIES_KEYS_ONLY
from ..model.structure import SERIES
from .context import ALL_DIMENSIONS, TIME_PERIOD, WriteContext, dataset_parts
from .sdmx_ml_generic import (
    attribute_levels,
    attributes_xml,
    check_actions,
    check_key,
    dataset_action,
    dataset_attribute_values,
    effective_dimension_at_observation,
    escape,
    number,
    series_dimension_ids,
    structure_id,
    validity,
)

MESSAGE_NS = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message"
SS_NS = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/data/structurespecific"
COMMON_NS = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/common"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

#: Pieces buffered before a chunk is yielded (about 64 KiB of structure-specific XML).
FLUSH_PIECES = 1200


def dsd_namespace(ctx: WriteContext, dim_at_obs: str) -> str:
    """The namespace of the structure-specific schema for this flow and observation dimension."""
    return f"{ctx.dataflow.urn}:ObsLevelDim:{dim_at_obs}"


def write_sdmx_ml30_data(series: Iterable[Series], ctx: WriteContext) -> Iterator[bytes]:
    """SDMX-ML 3.0 ``StructureSpecificData`` of one dataflow."""
    dim_at_obs = effective_dimension_at_observation(ctx)
    check_actions(series, ctx)
    return _generate(series, ctx, dim_at_obs)


def _header(ctx: WriteContext, dim_at_obs: str, namespace: str) -> str:
    sid = structure_id(ctx)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<message:StructureSpecificData xmlns:message="{MESSAGE_NS}" xmlns:ss="{SS_NS}" '
        f'xmlns:common="{COMMON_NS}" xmlns:xsi="{XSI_NS}" xmlns:ns1="{escape(namespace)}">'
        f"<message:Header><message:ID>{escape(ctx.message_id)}</message:ID><message:Test>false</message:Test>"
        f"<message:Prepared>{ctx.prepared.isoformat()}</message:Prepared>"
        f'<message:Sender id="{escape(ctx.sender)}"/>'
        f'<message:Structure structureID="{sid}" namespace="{escape(namespace)}" '
        f'dimensionAtObservation="{dim_at_obs}">'
        f"<common:StructureUsage>{escape(ctx.dataflow.urn)}</common:StructureUsage>"
        "</message:Structure></message:Header>"
    )


def _generate(series, ctx: WriteContext, dim_at_obs: str) -> Iterator[bytes]:
    namespace = dsd_namespace(ctx, dim_at_obs)
    yield _header(ctx, dim_at_obs, namespace).encode()
    for part in dataset_parts(series, ctx):
        head = (f'<message:DataSet ss:structureRef="{structure_id(ctx)}" xsi:type="ns1:DataSetType" '
                f'ss:action="{dataset_action(part.action)}"{validity(part, "ss:")}')
        if part.keys_only:
            yield from _deletions(part.series, ctx, dim_at_obs, head + ">")
        else:
            yield from _dataset(part.series, ctx, dim_at_obs, head)
    yield b"</message:StructureSpecificData>"


def _deletions(series: Iterable[Series], ctx: WriteContext, dim_at_obs: str, head: str) -> Iterator[bytes]:
    """A Delete data set: keys and periods only."""
    with_obs = ctx.detail not in (SERIES_KEYS_ONLY, NO_DATA)
    key_ids = series_dimension_ids(ctx, dim_at_obs)
    time_id = ctx.structure.time_dimension.id if ctx.structure.time_dimension else TIME_PERIOD
    obs_dim = time_id if dim_at_obs in (TIME_PERIOD, ALL_DIMENSIONS) else dim_at_obs
    buf = [head]
    for s in series:
        check_key(s, len(key_ids))
        key_xml = "".join(f' {kid}="{escape(code)}"' for kid, code in zip(key_ids, s.key))
        if dim_at_obs == ALL_DIMENSIONS and with_obs:
            buf.extend(f'<Obs{key_xml} {time_id}="{escape(o.time_period)}"/>' for o in s.observations)
        elif with_obs and s.observations:
            buf.append(f"<Series{key_xml}>" + "".join(f'<Obs {obs_dim}="{escape(o.time_period)}"/>'
                                                      for o in s.observations) + "</Series>")
        else:
            buf.append(f"<Series{key_xml}/>")
        if len(buf) >= FLUSH_PIECES:
            yield "".join(buf).encode()
            buf.clear()
    buf.append("</message:DataSet>")
    yield "".join(buf).encode()


def _dataset(series: Iterable[Series], ctx: WriteContext, dim_at_obs: str, dataset_head: str) -> Iterator[bytes]:
    flat = dim_at_obs == ALL_DIMENSIONS
    cross = not flat and dim_at_obs != TIME_PERIOD
    with_obs = ctx.detail not in (SERIES_KEYS_ONLY, NO_DATA)
    series_attrs, obs_attrs = attribute_levels(ctx, dim_at_obs)
    key_ids = series_dimension_ids(ctx, dim_at_obs)
    measure = ctx.structure.measure.id if ctx.structure.measure else "OBS_VALUE"
    time_id = ctx.structure.time_dimension.id if ctx.structure.time_dimension else TIME_PERIOD
    obs_dim = time_id if dim_at_obs in (TIME_PERIOD, ALL_DIMENSIONS) else dim_at_obs

    ds_attrs = "".join(f' {aid}="{escape(value)}"' for aid, value in dataset_attribute_values(ctx))
    yield f"{dataset_head}{ds_attrs}>".encode()

    # ' DIM="code"' per key position and code, built once.
    key_parts: list[dict[str, str]] = [{} for _ in key_ids]
    key_prefixes = [f' {kid}="' for kid in key_ids]
    time_cache: dict[str, str] = {}
    of_series = {a.id for a in ctx.structure.attributes if a.attachment == SERIES}
    obs_attr_prefixes = [(aid, f' {aid}="', aid in of_series) for aid in obs_attrs]
    series_attr_prefixes = [(aid, f' {aid}="') for aid in series_attrs]
    obs_open = f'<Obs {obs_dim}="'
    value_open = f'" {measure}="'

    buf: list[str] = []
    append = buf.append
    n_keys = len(key_ids)
    for s in series:
        if len(s.key) != n_keys:
            check_key(s, n_keys)
        parts = []
        for position, code in enumerate(s.key):
            cached = key_parts[position].get(code)
            if cached is None:
                cached = key_parts[position][code] = f'{key_prefixes[position]}{escape(code)}"'
            parts.append(cached)
        key_xml = "".join(parts)
        s_attrs = s.attributes

        if flat:
            for o in s.observations:
                tp = time_cache.get(o.time_period)
                if tp is None:
                    tp = time_cache[o.time_period] = escape(o.time_period)
                oa = o.attributes
                attrs = ""
                if obs_attr_prefixes and (oa or s_attrs):
                    attrs = attributes_xml(obs_attr_prefixes, oa, s_attrs, '"')
                append(f'<Obs{key_xml} {time_id}="{tp}{value_open}{number(o.value)}"{attrs}/>')
                if len(buf) >= FLUSH_PIECES:
                    yield "".join(buf).encode()
                    buf.clear()
            continue

        attrs = ""
        if series_attr_prefixes and s_attrs:
            attrs = "".join(f'{prefix}{escape(value)}"' for aid, prefix in series_attr_prefixes
                            if (value := s_attrs.get(aid)) is not None)
        if not with_obs:
            append(f"<Series{key_xml}{attrs}/>")
        else:
            append(f"<Series{key_xml}{attrs}>")
            fallback = s_attrs if cross else None
            for o in s.observations:
                tp = time_cache.get(o.time_period)
                if tp is None:
                    tp = time_cache[o.time_period] = escape(o.time_period)
                oa = o.attributes
                if obs_attr_prefixes and (oa or fallback):
                    attrs = attributes_xml(obs_attr_prefixes, oa, fallback, '"')
                    append(f'{obs_open}{tp}{value_open}{number(o.value)}"{attrs}/>')
                else:
                    append(f'{obs_open}{tp}{value_open}{number(o.value)}"/>')
                if len(buf) >= FLUSH_PIECES:
                    yield "".join(buf).encode()
                    buf.clear()
            append("</Series>")
        if len(buf) >= FLUSH_PIECES:
            yield "".join(buf).encode()
            buf.clear()

    append("</message:DataSet>")
    yield "".join(buf).encode()
