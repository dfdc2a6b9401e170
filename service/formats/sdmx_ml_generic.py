"""SDMX-ML 2.1 generic data: ``GenericData`` and ``GenericTimeSeriesData``, streamed.

Rule: bytes out of model values; no I/O beyond yielding bytes. The XML is
built as text (values escaped through one translate table) and yielded in
chunks of about 64 KiB, so a message of any size takes bounded memory.

Layout by ``ctx.dimension_at_observation``:

- ``TIME_PERIOD``: ``Series`` (``SeriesKey``, series ``Attributes``) holding
  ``Obs`` (``ObsDimension`` = period, ``ObsValue``, observation ``Attributes``).
- ``AllDimensions``: flat ``Obs`` with an ``ObsKey`` of every dimension and
  TIME_PERIOD; series- and observation-level attributes go on the ``Obs``.
- a dimension id (cross-sections): the caller has already grouped the
  observations by the other dimensions and the period. ``Series.key`` then
  holds the codes of the other dimensions in DSD order followed by the time
  period, and each ``Observation.time_period`` holds the code of the
  observation dimension. Series-level attributes vary with that dimension,
  so they are written on each ``Obs`` (taken from the observation's
  attributes, else from the series').

Several data sets (``context.DataSets``: updatedAfter, includeHistory)
are written one after the other, each with its ``action`` and its
``validFromDate`` / ``validToDate``; a Delete data set names observations
by key and period only (no ObsValue, no attributes).

``detail``: ``dataonly`` drops attributes; ``serieskeysonly`` writes series
keys only; ``nodata`` writes series with their attributes and no
observations. Without observations a flat layout has nothing to carry the
keys, so ``serieskeysonly``/``nodata`` with ``AllDimensions`` are written as
time series. A missing OBS_VALUE is written ``NaN``. Only attributes the DSD
defines are written, at the level the DSD attaches them.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Mapping

from ..model.data import Series
from ..model.query import DATA_ONLY, NO_DATA, SERIES_KEYS_ONLY
from ..model.structure import DATASET, OBSERVATION, SERIES
from .context import ALL_DIMENSIONS, TIME_PERIOD, DataSetPart, WriteContext, dataset_parts, instant_text

MESSAGE_NS = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
GENERIC_NS = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/generic"
COMMON_NS = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common"

#: Pieces buffered before a chunk is yielded (about 64 KiB of generic XML).
FLUSH_PIECES = 512

# Escaping for XML attribute values; control characters XML 1.0 cannot carry are dropped.
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;",
            "\t": "&#9;"}
_ESCAPES.update({chr(c): None for c in range(32) if chr(c) not in _ESCAPES})
_ESCAPE_TABLE = str.maketrans(_ESCAPES)
_escaped: dict[str, str] = {}
_ESCAPE_CACHE_MAX = 50_000

# Dataset actions as the SDMX-ML ActionType knows them (Merge is an observation-level upsert: Replace).
_ACTIONS = {"Information": "Information", "Append": "Append", "Replace": "Replace", "Delete": "Delete",
            "Merge": "Replace"}


def escape(text: str) -> str:
    """``text`` safe inside a double-quoted XML attribute value (or element content)."""
    done = _escaped.get(text)
    if done is None:
        done = str(text).translate(_ESCAPE_TABLE)
        if len(text) <= 64 and len(_escaped) < _ESCAPE_CACHE_MAX:
            _escaped[text] = done
    return done


def number(value: float | None) -> str:
    """OBS_VALUE as SDMX-ML text: ``NaN`` when missing, integers without a decimal point.

    The same text as ``model.data.format_value``, plus ``INF``/``-INF`` (xs:double).
    """
    if value is None or value != value:
        return "NaN"
    try:
        whole = int(value)
    except OverflowError:
        return "INF" if value > 0 else "-INF"
    if whole == value and -10**15 < whole < 10**15:
        return str(whole)
    return repr(float(value))


def dataset_action(action: str) -> str:
    try:
        return _ACTIONS[action]
    except KeyError:
        raise ValueError(f"unknown dataset action {action!r}; known: {', '.join(_ACTIONS)}") from None


def structure_id(ctx: WriteContext) -> str:
    """An xs:ID naming the dataflow in the header (letters, digits, ``_``, ``-``, ``.``)."""
    ref = ctx.dataflow.ref
    text = "".join(c if c.isalnum() or c in "_-." else "_" for c in f"{ref.agency}_{ref.id}_{ref.version}")
    return text if text[:1].isalpha() or text[:1] == "_" else "_" + text


def effective_dimension_at_observation(ctx: WriteContext) -> str:
    """The observation dimension actually written (flat data needs observations to carry keys)."""
    dim = ctx.dimension_at_observation or TIME_PERIOD
    if dim == ALL_DIMENSIONS and ctx.detail in (SERIES_KEYS_ONLY, NO_DATA):
        return TIME_PERIOD
    if dim not in (TIME_PERIOD, ALL_DIMENSIONS) and dim not in ctx.structure.dimension_by_id:
        raise ValueError(f"dimensionAtObservation {dim!r} is not a dimension of {ctx.structure.ref}")
    return dim


def series_dimension_ids(ctx: WriteContext, dim_at_obs: str) -> tuple[str, ...]:
    """Ids of the codes in ``Series.key``: DSD order, time last for cross-sections."""
    dims = ctx.structure.dimension_ids
    if dim_at_obs in (TIME_PERIOD, ALL_DIMENSIONS):
        return dims
    time_id = ctx.structure.time_dimension.id if ctx.structure.time_dimension else TIME_PERIOD
    return tuple(d for d in dims if d != dim_at_obs) + (time_id,)


def attribute_levels(ctx: WriteContext, dim_at_obs: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(series-level, observation-level) attribute ids to write, in DSD order, for this layout."""
    if ctx.detail == DATA_ONLY or ctx.detail == SERIES_KEYS_ONLY:
        return (), ()
    at_series = tuple(a.id for a in ctx.structure.attributes if a.attachment == SERIES)
    at_obs = tuple(a.id for a in ctx.structure.attributes if a.attachment == OBSERVATION)
    if dim_at_obs != TIME_PERIOD:  # flat or cross-sectional: series attributes vary per observation
        return (), tuple(a.id for a in ctx.structure.attributes if a.attachment in (SERIES, OBSERVATION))
    return at_series, at_obs


def dataset_attribute_values(ctx: WriteContext) -> list[tuple[str, str]]:
    if ctx.detail in (DATA_ONLY, SERIES_KEYS_ONLY):
        return []
    wanted = [a.id for a in ctx.structure.attributes if a.attachment == DATASET]
    return [(aid, ctx.dataset_attributes[aid]) for aid in wanted if ctx.dataset_attributes.get(aid) is not None]


def check_key(series: Series, expected: int) -> None:
    if len(series.key) != expected:
        raise ValueError(f"series key {series.key!r} has {len(series.key)} codes, the layout needs {expected}")


def _values_xml(pairs: Iterable[tuple[str, str]]) -> str:
    return "".join(f'<Value id="{aid}" value="{escape(value)}"/>' for aid, value in pairs)


def _header(ctx: WriteContext, root: str, dim_at_obs: str) -> str:
    ref = ctx.dataflow.ref
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<mes:{root} xmlns:mes="{MESSAGE_NS}" xmlns:common="{COMMON_NS}">'
        f"<mes:Header><mes:ID>{escape(ctx.message_id)}</mes:ID><mes:Test>false</mes:Test>"
        f"<mes:Prepared>{ctx.prepared.isoformat()}</mes:Prepared>"
        f'<mes:Sender id="{escape(ctx.sender)}"/>'
        f'<mes:Structure structureID="{structure_id(ctx)}" dimensionAtObservation="{dim_at_obs}">'
        f'<common:StructureUsage><Ref agencyID="{escape(ref.agency)}" id="{escape(ref.id)}" '
        f'version="{escape(ref.version)}" class="Dataflow" package="datastructure"/></common:StructureUsage>'
        "</mes:Structure></mes:Header>"
    )


def validity(part: DataSetPart, prefix: str = "") -> str:
    """The ``validFromDate`` / ``validToDate`` XML attributes of a data set (``prefix`` ``ss:`` or none)."""
    out = ""
    if part.valid_from is not None:
        out += f' {prefix}validFromDate="{instant_text(part.valid_from)}"'
    if part.valid_to is not None:
        out += f' {prefix}validToDate="{instant_text(part.valid_to)}"'
    return out


def check_actions(series, ctx: WriteContext) -> None:
    for part in dataset_parts(series, ctx):
        dataset_action(part.action)


def write_generic_data(series: Iterable[Series], ctx: WriteContext) -> Iterator[bytes]:
    """SDMX-ML 2.1 ``GenericData`` (media type application/vnd.sdmx.genericdata+xml;version=2.1)."""
    dim_at_obs = effective_dimension_at_observation(ctx)
    check_actions(series, ctx)
    return _generate(series, ctx, "GenericData", dim_at_obs)


def write_generic_timeseries_data(series: Iterable[Series], ctx: WriteContext) -> Iterator[bytes]:
    """SDMX-ML 2.1 ``GenericTimeSeriesData``: time at the observation level only.

    Raises ValueError (before the first byte) for any other dimension at observation.
    """
    dim_at_obs = effective_dimension_at_observation(ctx)
    if dim_at_obs != TIME_PERIOD:
        raise ValueError("GenericTimeSeriesData has TIME_PERIOD at the observation level; "
                         f"dimensionAtObservation={ctx.dimension_at_observation} needs GenericData")
    check_actions(series, ctx)
    return _generate(series, ctx, "GenericTimeSeriesData", dim_at_obs)


def _generate(series, ctx: WriteContext, root: str, dim_at_obs: str) -> Iterator[bytes]:
    yield _header(ctx, root, dim_at_obs).encode()
    for part in dataset_parts(series, ctx):
        head = (f'<mes:DataSet xmlns="{GENERIC_NS}" structureRef="{structure_id(ctx)}" '
                f'action="{dataset_action(part.action)}"{validity(part)}>')
        if part.keys_only:
            yield from _deletions(part.series, ctx, dim_at_obs, head)
        else:
            yield from _dataset(part.series, ctx, dim_at_obs, head)
    yield f"</mes:{root}>".encode()


def _deletions(series: Iterable[Series], ctx: WriteContext, dim_at_obs: str, head: str) -> Iterator[bytes]:
    """A Delete data set: keys and periods only."""
    with_obs = ctx.detail not in (SERIES_KEYS_ONLY, NO_DATA)
    key_ids = series_dimension_ids(ctx, dim_at_obs)
    time_id = ctx.structure.time_dimension.id if ctx.structure.time_dimension else TIME_PERIOD
    buf = [head]
    for s in series:
        check_key(s, len(key_ids))
        key_xml = _values_xml(zip(key_ids, s.key))
        if dim_at_obs == ALL_DIMENSIONS and with_obs:
            buf.extend(f'<Obs><ObsKey>{key_xml}<Value id="{time_id}" value="{escape(o.time_period)}"/></ObsKey></Obs>'
                       for o in s.observations)
        elif with_obs:
            buf.append(f"<Series><SeriesKey>{key_xml}</SeriesKey>" + "".join(
                f'<Obs><ObsDimension value="{escape(o.time_period)}"/></Obs>' for o in s.observations) + "</Series>")
        else:
            buf.append(f"<Series><SeriesKey>{key_xml}</SeriesKey></Series>")
        if len(buf) >= FLUSH_PIECES:
            yield "".join(buf).encode()
            buf.clear()
    buf.append("</mes:DataSet>")
    yield "".join(buf).encode()


def _dataset(series: Iterable[Series], ctx: WriteContext, dim_at_obs: str, dataset_head: str) -> Iterator[bytes]:
    flat = dim_at_obs == ALL_DIMENSIONS
    cross = not flat and dim_at_obs != TIME_PERIOD
    with_obs = ctx.detail not in (SERIES_KEYS_ONLY, NO_DATA)
    series_attrs, obs_attrs = attribute_levels(ctx, dim_at_obs)
    of_series = {a.id for a in ctx.structure.attributes if a.attachment == SERIES}
    key_ids = series_dimension_ids(ctx, dim_at_obs)
    time_id = ctx.structure.time_dimension.id if ctx.structure.time_dimension else TIME_PERIOD

    head = [dataset_head]
    ds_attrs = dataset_attribute_values(ctx)
    if ds_attrs:
        head.append(f"<Attributes>{_values_xml(ds_attrs)}</Attributes>")
    yield "".join(head).encode()

    # '<Value id="DIM" value="code"/>' per key position and code, built once.
    key_parts: list[dict[str, str]] = [{} for _ in key_ids]
    key_prefixes = [f'<Value id="{kid}" value="' for kid in key_ids]
    time_cache: dict[str, str] = {}
    obs_attr_prefixes = [(aid, f'<Value id="{aid}" value="', aid in of_series) for aid in obs_attrs]
    series_attr_prefixes = [(aid, f'<Value id="{aid}" value="') for aid in series_attrs]
    time_key_prefix = f'<Value id="{time_id}" value="'

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
                cached = key_parts[position][code] = f'{key_prefixes[position]}{escape(code)}"/>'
            parts.append(cached)
        key_xml = "".join(parts)
        s_attrs = s.attributes

        if flat:
            # ObsKey: the series' codes then the period; every attribute on the observation.
            for o in s.observations:
                tp = time_cache.get(o.time_period)
                if tp is None:
                    tp = time_cache[o.time_period] = escape(o.time_period)
                attrs = attributes_xml(obs_attr_prefixes, o.attributes, s_attrs, '"/>')
                append(f'<Obs><ObsKey>{key_xml}{time_key_prefix}{tp}"/></ObsKey>'
                       f'<ObsValue value="{number(o.value)}"/>'
                       f'{"<Attributes>" + attrs + "</Attributes>" if attrs else ""}</Obs>')
                if len(buf) >= FLUSH_PIECES:
                    yield "".join(buf).encode()
                    buf.clear()
            continue

        head_xml = f"<Series><SeriesKey>{key_xml}</SeriesKey>"
        if series_attr_prefixes and s_attrs:
            attrs = "".join(f"{prefix}{escape(value)}\"/>" for aid, prefix in series_attr_prefixes
                            if (value := s_attrs.get(aid)) is not None)
            if attrs:
                head_xml += f"<Attributes>{attrs}</Attributes>"
        if not with_obs:
            append(head_xml + "</Series>")
        else:
            append(head_xml)
            if not obs_attr_prefixes:
                for o in s.observations:
                    tp = time_cache.get(o.time_period)
                    if tp is None:
                        tp = time_cache[o.time_period] = escape(o.time_period)
                    append(f'<Obs><ObsDimension value="{tp}"/><ObsValue value="{number(o.value)}"/></Obs>')
                    if len(buf) >= FLUSH_PIECES:
                        yield "".join(buf).encode()
                        buf.clear()
            else:
                fallback = s_attrs if cross else None
                for o in s.observations:
                    tp = time_cache.get(o.time_period)
                    if tp is None:
                        tp = time_cache[o.time_period] = escape(o.time_period)
                    oa = o.attributes
                    if oa or fallback:
                        attrs = attributes_xml(obs_attr_prefixes, oa, fallback, '"/>')
                        if attrs:
                            append(f'<Obs><ObsDimension value="{tp}"/><ObsValue value="{number(o.value)}"/>'
                                   f"<Attributes>{attrs}</Attributes></Obs>")
                        else:
                            append(f'<Obs><ObsDimension value="{tp}"/><ObsValue value="{number(o.value)}"/></Obs>')
                    else:
                        append(f'<Obs><ObsDimension value="{tp}"/><ObsValue value="{number(o.value)}"/></Obs>')
                    if len(buf) >= FLUSH_PIECES:
                        yield "".join(buf).encode()
                        buf.clear()
            append("</Series>")
        if len(buf) >= FLUSH_PIECES:
            yield "".join(buf).encode()
            buf.clear()

    append("</mes:DataSet>")
    yield "".join(buf).encode()


def attributes_xml(prefixes: list[tuple[str, str, bool]], own: Mapping[str, str],
                   fallback: Mapping[str, str] | None, close: str) -> str:
    """Each attribute as ``prefix + escaped value + close``.

    The value is the observation's; a series-level attribute (third member true)
    missing there is taken from ``fallback``, the series' attributes.
    """
    if not fallback:
        return "".join([f"{prefix}{escape(value)}{close}" for aid, prefix, _ in prefixes
                        if (value := own.get(aid)) is not None])
    out = []
    for aid, prefix, of_series in prefixes:
        value = own.get(aid)
        if value is None and of_series:
            value = fallback.get(aid)
        if value is not None:
            out.append(f"{prefix}{escape(value)}{close}")
    return "".join(out)
