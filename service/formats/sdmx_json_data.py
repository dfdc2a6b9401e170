"""SDMX-JSON data messages 1.0.0 and 2.0.0, streamed.

Rule: bytes out of model values; no I/O beyond yielding bytes.

SDMX-JSON refers to dimension and attribute values by their index in the
``structure`` part, which a stream cannot know in advance. Object key order
is free in JSON, so the message is written ``dataSets`` first and the
structure last: indexes are handed out in order of first appearance while
the series stream by, and the structure then lists exactly the values seen
(each code with its ``order`` in the codelist, as SDMX-JSON provides for
streamed messages, and its ``parent`` when that is in the message too).
``values`` (dimension or attribute id -> codes) may seed the index order;
values it does not name are still appended as they appear.

Layout by ``ctx.dimension_at_observation`` (the same conventions as the
SDMX-ML writers, see ``sdmx_ml_generic``):

- ``TIME_PERIOD``: ``series`` keyed by the non-time dimensions, observations
  keyed by the TIME_PERIOD index;
- ``AllDimensions``: flat ``observations`` keyed by every dimension and
  TIME_PERIOD, all at observation level (what the .Stat Data Explorer
  reads); series-level attributes are presented at observation level;
- a dimension id: the caller has grouped by the other dimensions and the
  period; ``Series.key`` holds the other dimensions' codes in DSD order then
  the period, ``Observation.time_period`` the observation dimension's code.

Several data sets (``context.DataSets``) are several members of
``dataSets``, each with its ``action`` and ``validFrom`` / ``validTo``; the
observations of a Delete data set are empty arrays (delete the whole
observation) and it gives no attributes.

1.0.0 puts the structure in ``data.structure`` (the ``{meta, data}`` layout
of the official schema), 2.0.0 in ``data.structures[0]``. Missing values
are ``null``; trailing unset observation attributes are left out.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Iterable, Iterator, Mapping, Sequence

import orjson

from ..model.data import EMPTY, Series
from ..model.period import period_bounds
from ..model.query import DATA_ONLY, NO_DATA, SERIES_KEYS_ONLY
from ..model.structure import DATASET, LANGUAGES, SERIES, Names, urn
from .context import ALL_DIMENSIONS, TIME_PERIOD, DataSetPart, WriteContext, dataset_parts, instant_text
from .sdmx_ml_generic import (
    attribute_levels,
    check_key,
    dataset_action,
    dataset_attribute_values,
    effective_dimension_at_observation,
)

SCHEMAS = {
    "1.0.0": "https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/data-message/tools/schemas/1.0/"
             "sdmx-json-data-schema.json",
    "2.0.0": "https://raw.githubusercontent.com/sdmx-twg/sdmx-json/master/data-message/tools/schemas/2.0.0/"
             "sdmx-json-data-schema.json",
}
#: Bytes buffered before a chunk is yielded.
CHUNK_BYTES = 64 * 1024
#: Observations of one series dumped at a time (bounds memory for very long series).
OBS_BATCH = 2048
#: Component values dumped at a time in the structure.
VALUES_BATCH = 1000
#: SDMX cross-domain concepts given as component roles (clients find time, area and frequency by role).
ROLES = {"FREQ", "REF_AREA", "TIME_PERIOD", "UNIT_MEASURE", "UNIT_MULT", "DECIMALS", "OBS_STATUS",
         "CONF_STATUS", "TIME_PER_COLLECT", "COMMENT_OBS", "COMMENT_TS"}
_ID = re.compile(r"^[A-Za-z0-9_@$-]+$")
#: Code annotations copied into SDMX-JSON 1.0 data messages for display (the .Stat Data Explorer's).
DISPLAY_ANNOTATIONS = ("ORDER", "NOT_DISPLAYED", "DEFAULT")


class _Index:
    """Values of one component in order of first appearance, with each one's index."""

    __slots__ = ("values", "text", "number")

    def __init__(self, seed: Sequence[str] = ()):
        self.values: list[str] = []
        self.text: dict[str, str] = {}  # value -> index as text (observation and series keys)
        self.number: dict[str, int] = {}  # value -> index (attribute positions)
        for value in seed:
            self.of(value)

    def of(self, value: str) -> str:
        index = self.text.get(value)
        if index is None:
            self.number[value] = len(self.values)
            index = self.text[value] = str(len(self.values))
            self.values.append(value)
        return index

    def at(self, value: str) -> int:
        index = self.number.get(value)
        if index is None:
            self.of(value)
            index = self.number[value]
        return index


def write_sdmx_json_data_10(series: Iterable[Series], ctx: WriteContext,
                            values: Mapping[str, Sequence[str]] | None = None, *,
                            component_names: Mapping[str, Names] | None = None) -> Iterator[bytes]:
    """SDMX-JSON 1.0.0 data (application/vnd.sdmx.data+json;version=1.0.0)."""
    writer = _Writer(ctx, "1.0.0", values, component_names)
    return writer.generate(series)


def write_sdmx_json_data_20(series: Iterable[Series], ctx: WriteContext,
                            values: Mapping[str, Sequence[str]] | None = None, *,
                            component_names: Mapping[str, Names] | None = None) -> Iterator[bytes]:
    """SDMX-JSON 2.0.0 data (application/vnd.sdmx.data+json;version=2.0.0)."""
    writer = _Writer(ctx, "2.0.0", values, component_names)
    return writer.generate(series)


class _Writer:
    def __init__(self, ctx: WriteContext, version: str, values, component_names):
        self.ctx, self.version = ctx, version
        self.v2 = version == "2.0.0"
        self.names = component_names or {}
        self.dim_at_obs = effective_dimension_at_observation(ctx)
        dataset_action(ctx.action)
        dsd = ctx.structure
        self.time_id = dsd.time_dimension.id if dsd.time_dimension else TIME_PERIOD
        seeds = values or {}
        if self.dim_at_obs == TIME_PERIOD:
            self.series_dims, self.obs_dims = dsd.dimension_ids, (self.time_id,)
        elif self.dim_at_obs == ALL_DIMENSIONS:
            self.series_dims, self.obs_dims = (), dsd.dimension_ids + (self.time_id,)
        else:
            self.series_dims = tuple(d for d in dsd.dimension_ids if d != self.dim_at_obs) + (self.time_id,)
            self.obs_dims = (self.dim_at_obs,)
        # Dimensions in the order of the key: the series' then the observation's.
        self.key_dims = (*dsd.dimension_ids, self.time_id) if self.dim_at_obs == ALL_DIMENSIONS \
            else self.series_dims
        self.index = {d: _Index(seeds.get(d, ())) for d in (*dsd.dimension_ids, self.time_id)}
        self.series_attrs, self.obs_attrs = attribute_levels(ctx, self.dim_at_obs)
        self.of_series = {a.id for a in dsd.attributes if a.attachment == SERIES}
        self.dataset_values = dataset_attribute_values(ctx)
        self.dataset_attrs = tuple(a.id for a in dsd.attributes if a.attachment == DATASET) \
            if ctx.detail not in (DATA_ONLY, SERIES_KEYS_ONLY) else ()
        for aid in (*self.series_attrs, *self.obs_attrs, *self.dataset_attrs):
            self.index[aid] = _Index(seeds.get(aid, ()))
        self.links = [{"rel": "dataflow", "urn": ctx.dataflow.urn}]
        # 1.0: one flat list of annotations, referred to by index from the data set (the dataflow's
        # display annotations, first) and from code values (ORDER, NOT_DISPLAYED...), as the .Stat
        # Data Explorer reads them.
        self.annotations: list[dict] = []
        self.flow_annotations = [] if self.v2 else [self._annotation(a) for a in ctx.dataflow.annotations]

    # -- the stream ------------------------------------------------------
    def _opening(self, part: DataSetPart) -> bytes:
        dataset: dict = {"structure": 0} if self.v2 else {}
        dataset.update(action=dataset_action(part.action), links=self.links)
        if self.flow_annotations:
            dataset["annotations"] = self.flow_annotations
        if part.valid_from is not None:
            dataset["validFrom"] = instant_text(part.valid_from)
        if part.valid_to is not None:
            dataset["validTo"] = instant_text(part.valid_to)
        if self.dataset_attrs and not part.keys_only:
            given = dict(self.dataset_values)
            dataset["attributes"] = [self.index[a].at(given[a]) if a in given else None
                                     for a in self.dataset_attrs]
        flat = self.dim_at_obs == ALL_DIMENSIONS
        return orjson.dumps(dataset)[:-1] + (b',"observations":{' if flat else b',"series":{')

    def generate(self, series: Iterable[Series]) -> Iterator[bytes]:
        parts = dataset_parts(series, self.ctx)
        for part in parts:
            dataset_action(part.action)
        flat = self.dim_at_obs == ALL_DIMENSIONS
        buf: list[bytes] = [b'{"meta":' + orjson.dumps(self._meta()) + b',"data":{"dataSets":[']
        size = 0
        for number, part in enumerate(parts):
            buf.append((b"}}," if number else b"") + self._opening(part))
            rows, deleting = part.series, part.keys_only
            for piece in (self._flat(rows, deleting) if flat else self._series(rows, deleting)):
                buf.append(piece)
                size += len(piece)
                if size >= CHUNK_BYTES:
                    yield b"".join(buf)
                    buf.clear()
                    size = 0
        buf.append(b'}}],"structures":[' if self.v2 else b'}}],"structure":')
        for piece in self._structure_pieces():
            buf.append(piece)
            size += len(piece)
            if size >= CHUNK_BYTES:
                yield b"".join(buf)
                buf.clear()
                size = 0
        buf.append(b"]}}" if self.v2 else b"}}")
        yield b"".join(buf)

    def _series(self, series: Iterable[Series], deleting: bool = False) -> Iterator[bytes]:
        """Text of the members of ``dataSets[0].series``; a long series comes in several pieces."""
        ctx = self.ctx
        with_obs = ctx.detail not in (SERIES_KEYS_ONLY, NO_DATA)
        cross = self.dim_at_obs != TIME_PERIOD
        dim_index = [self.index[d].of for d in self.key_dims]
        time_index = self.index[self.obs_dims[0]].of
        series_specs = [(a, self.index[a].at) for a in self.series_attrs]
        obs_specs = [(a, self.index[a].at, a in self.of_series) for a in self.obs_attrs]
        dumps = orjson.dumps
        separator = b""
        n_keys = len(dim_index)
        for s in series:
            if len(s.key) != n_keys:
                check_key(s, n_keys)
            key = ":".join([of(code) for of, code in zip(dim_index, s.key)]).encode()
            s_attrs = EMPTY if deleting else s.attributes
            head: dict = {}
            if series_specs:
                head["attributes"] = [at(v) if (v := s_attrs.get(a)) is not None else None
                                      for a, at in series_specs]
            if not with_obs:
                yield separator + b'"' + key + b'":' + dumps(head)
                separator = b","
                continue
            out = [separator, b'"', key, b'":', dumps(head)[:-1], b',"observations":{' if head else b'"observations":{']
            separator = b","
            if deleting:  # the whole observation: nothing given but its key
                out.append(dumps({time_index(o.time_period): [] for o in s.observations})[1:-1] + b"}}")
                yield b"".join(out)
                continue
            fallback = s_attrs if cross else None
            batch: dict[str, list] = {}
            comma = b""
            for o in s.observations:
                if obs_specs and (o.attributes or fallback):
                    batch[time_index(o.time_period)] = _row(o.value, o.attributes, fallback, obs_specs)
                else:
                    batch[time_index(o.time_period)] = [o.value]
                if len(batch) >= OBS_BATCH:
                    out.append(comma + dumps(batch)[1:-1])
                    yield b"".join(out)
                    out, batch, comma = [], {}, b","
            if batch:
                out.append(comma + dumps(batch)[1:-1])
            out.append(b"}}")
            yield b"".join(out)

    def _flat(self, series: Iterable[Series], deleting: bool = False) -> Iterator[bytes]:
        """Text of the members of ``dataSets[0].observations``, keyed by every dimension, in batches."""
        dim_index = [self.index[d].of for d in self.ctx.structure.dimension_ids]
        time_index = self.index[self.time_id].of
        obs_specs = [(a, self.index[a].at, a in self.of_series) for a in self.obs_attrs]
        dumps = orjson.dumps
        batch: dict[str, list] = {}
        comma = b""
        n_keys = len(dim_index)
        for s in series:
            if len(s.key) != n_keys:
                check_key(s, n_keys)
            prefix = "".join([of(code) + ":" for of, code in zip(dim_index, s.key)])
            s_attrs = s.attributes
            if deleting:  # the whole observation: nothing given but its key
                batch.update((prefix + time_index(o.time_period), []) for o in s.observations)
                if len(batch) >= OBS_BATCH:
                    yield comma + dumps(batch)[1:-1]
                    batch, comma = {}, b","
                continue
            for o in s.observations:
                if obs_specs and (o.attributes or s_attrs):
                    batch[prefix + time_index(o.time_period)] = _row(o.value, o.attributes, s_attrs, obs_specs)
                else:
                    batch[prefix + time_index(o.time_period)] = [o.value]
                if len(batch) >= OBS_BATCH:
                    yield comma + dumps(batch)[1:-1]
                    batch, comma = {}, b","
        if batch:
            yield comma + dumps(batch)[1:-1]

    # -- header and structure ----------------------------------------------
    def _languages(self) -> tuple[str, ...]:
        langs = tuple(lang for lang in self.ctx.languages if lang != "*")
        return LANGUAGES if "*" in self.ctx.languages else (langs or ("en",))

    def _localised(self, names: Names, fallback: str) -> dict:
        """``name`` (best match) and ``names`` (every asked language held) of a text."""
        langs = self._languages()
        picked = self.ctx.name(names) if names else None
        out: dict = {"name": picked or fallback}
        chosen = {lang: names[lang] for lang in langs if names.get(lang)} if names else {}
        if chosen:
            out["names"] = chosen
        return out

    def _meta(self) -> dict:
        ctx = self.ctx
        meta = {"schema": SCHEMAS[self.version], "id": ctx.message_id, "test": False,
                "prepared": _instant(ctx.prepared), "contentLanguages": list(self._languages()),
                "sender": {"id": ctx.sender}}
        if ctx.self_link:
            meta["links"] = [{"href": ctx.self_link, "rel": "self"}]
        return meta

    def _structure_pieces(self) -> Iterator[bytes]:
        """The structure as JSON text; long value lists (a daily series over centuries) come in batches."""
        structure = self._structure()
        parked: list[tuple[bytes, list]] = []
        for group in ("dimensions", "attributes"):
            for components in structure[group].values():
                for component in components:
                    values = component.get("values")
                    if values is not None and len(values) > VALUES_BATCH:
                        marker = f"@@values-{len(parked)}@@"
                        parked.append((orjson.dumps(marker), values))
                        component["values"] = marker
        text = orjson.dumps(structure)
        for marker, values in parked:
            before, text = text.split(marker, 1)
            yield before + b"["
            for start in range(0, len(values), VALUES_BATCH):
                yield (b"," if start else b"") + orjson.dumps(values[start:start + VALUES_BATCH])[1:-1]
            text = b"]" + text
        yield text

    def _structure(self) -> dict:
        ctx = self.ctx
        dsd = ctx.structure
        links = [*self.links]
        if ctx.dataflow.structure is not None:
            links.append({"rel": "datastructure", "urn": urn("datastructure", ctx.dataflow.structure)})
        structure: dict = {"links": links, **self._localised(ctx.dataflow.names, ctx.dataflow.ref.id)}
        positions = {d: i for i, d in enumerate((*dsd.dimension_ids, self.time_id))}
        levels = (("dataSet", ()), ("series", self.series_dims), ("observation", self.obs_dims))
        structure["dimensions"] = {
            level: [dim for d in dims if (dim := self._dimension(d, positions[d])) is not None]
            for level, dims in levels}
        if self.v2:
            measure = dsd.measure.id if dsd.measure else "OBS_VALUE"
            structure["measures"] = {"observation": [{"id": measure, **self._localised(
                self.names.get(measure, {}), measure)}]}
        structure["attributes"] = {
            "dataSet": [self._attribute(a) for a in self.dataset_attrs],
            "series": [self._attribute(a) for a in self.series_attrs],
            "observation": [self._attribute(a) for a in self.obs_attrs]}
        if self.v2:
            structure["dataSets"] = [0]
        if self.annotations:
            structure["annotations"] = self.annotations
        return structure

    def _annotation(self, annotation) -> int:
        """The index of an annotation in ``structure.annotations``, added when first used."""
        entry: dict = {"type": annotation.type}
        if annotation.id:
            entry["id"] = annotation.id
        if annotation.title is not None:
            entry["title"] = annotation.title
        if annotation.text:
            localised = self._localised(annotation.text, "")
            if localised.get("names"):
                entry["text"], entry["texts"] = localised["name"], localised["names"]
        self.annotations.append(entry)
        return len(self.annotations) - 1

    def _dimension(self, dim_id: str, position: int) -> dict | None:
        seen = self.index[dim_id].values
        if dim_id == self.time_id:
            values = [_time_value(period, self.v2) for period in seen]
        else:
            values = self._code_values(dim_id, seen)
        if self.v2 and not values:
            return None  # 2.0.0 wants at least one value; no key refers to this dimension
        out = {"id": dim_id, **self._localised(self.names.get(dim_id, {}), dim_id), "keyPosition": position}
        if dim_id in ROLES:
            out["roles"] = [dim_id]
        out["values"] = values
        return out

    def _attribute(self, attr_id: str) -> dict:
        dsd = self.ctx.structure
        attr = dsd.attribute_by_id[attr_id]
        if attr.attachment == DATASET:
            relationship = {"dataflow": {}} if self.v2 else {"none": {}}
        elif attr.attachment == SERIES:
            relationship = {"dimensions": list(dsd.dimension_ids)}
        else:
            relationship = {"observation": {}} if self.v2 else {
                "primaryMeasure": dsd.measure.id if dsd.measure else "OBS_VALUE"}
        out = {"id": attr_id, **self._localised(self.names.get(attr_id, {}), attr_id)}
        if attr_id in ROLES:
            out["roles"] = [attr_id]
        out["relationship"] = relationship
        seen = self.index[attr_id].values
        if attr.representation.codelist is not None:
            values = self._code_values(attr_id, seen)
        else:
            values = [{"value": text} if self.v2 else {"name": text} for text in seen]
        if values or not self.v2:
            out["values"] = values
        return out

    def _code_values(self, component_id: str, seen: list[str]) -> list[dict]:
        codelist = self.ctx.codelist_of(component_id)
        items = codelist.by_id if codelist is not None else {}
        order = {item.id: i for i, item in enumerate(codelist.items)} if codelist is not None else {}
        present = set(seen)
        values = []
        for code in seen:
            item = items.get(code)
            value = {"id": code, **self._localised(item.names if item else {}, code)}
            if code in order:
                value["order"] = order[code]
            if item is not None and item.annotations and not self.v2:
                shown = [self._annotation(a) for a in item.annotations if a.type in DISPLAY_ANNOTATIONS]
                if shown:
                    value["annotations"] = shown
            if item is not None and item.parent and item.parent in present:
                value["parent"] = item.parent
            values.append(value)
        return values


def _row(value, own: Mapping[str, str], fallback: Mapping[str, str] | None, specs) -> list:
    """``[value, attribute index...]`` of one observation, without trailing unset attributes."""
    row: list = [value]
    last = 0
    for position, (aid, at, of_series) in enumerate(specs, 1):
        text = own.get(aid)
        if text is None and of_series and fallback:
            text = fallback.get(aid)
        if text is None:
            row.append(None)
        else:
            row.append(at(text))
            last = position
    del row[last + 1:]
    return row


def _instant(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment.utcoffset() in (None, timedelta(0)) \
        else moment.isoformat()


def _time_value(period: str, v2: bool) -> dict:
    value: dict = {"id": period, "name": period} if (_ID.match(period) or not v2) else {"value": period}
    try:
        start, end = period_bounds(period)
    except ValueError:
        return value
    value["start"] = _instant(start)
    value["end"] = _instant(end - timedelta(seconds=1))
    return value
