"""SDMX-JSON data messages (2.0.0, and 1.0) -> DataSets.

Rule: bytes -> model values, nothing else (see ``reading``); codes are not
checked here. The body is parsed whole by orjson (strict UTF-8 and JSON, a
nesting limit of 1024); the API caps the body size, so this is bounded.

2.0.0: ``data.structures[i]`` lists the dimensions and attributes with their
values, ``data.dataSets[j]`` refers to one by ``structure`` and holds
``series`` keyed ``"i:j:k"`` (series dimensions) with ``observations`` keyed
by the TIME_PERIOD index, or flat ``observations`` keyed by every dimension
(AllDimensions, grouped into Series by consecutive key). 1.0: the same with
one ``structure`` (``data.structure``, or at the top level). Observations
are ``[value, attribute index...]``; the dataset's dataflow comes from the
``links`` (rel ``dataflow``, or ``datastructure``) of the dataset or of its
structure. Attributes go where the DSD attaches them. JSON has no lines: an
Observation's Origin names its place (``dataSets[0].series[0:1:0].observations[3]``)
in ``column``.
"""

from __future__ import annotations

from typing import Any, Iterator

import orjson

from ..model.data import EMPTY, Origin, Series
from ..model.structure import DATASET, OBSERVATION, SERIES, DataStructure
from .reading import (
    DataSetStart,
    ReadError,
    SeriesGrouper,
    StructureLookup,
    Structures,
    dataset_action,
    lazy_datasets,
    new_observation,
    number_or_text,
    reference_of_urn,
)

TIME_PERIOD = "TIME_PERIOD"


def read_json(body: bytes, lookup: StructureLookup) -> Iterator:
    """The datasets of an SDMX-JSON data message."""
    try:
        message = orjson.loads(body.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError as exc:
        raise ReadError(f"malformed JSON: {exc.msg}", row=exc.lineno, position=exc.colno, unit="line") from None
    return lazy_datasets(_events(message, Structures(lookup)))


def _fail(message: str, path: str, **more) -> ReadError:
    return ReadError(message, path=path, **more)


def _events(message: Any, structures: Structures) -> Iterator[DataSetStart | Series]:
    if not isinstance(message, dict):
        raise _fail("not an SDMX-JSON data message: the body is not a JSON object", "data")
    data = message.get("data", message)
    if not isinstance(data, dict) or "dataSets" not in data:
        if "errors" in message:
            raise _fail("an SDMX-JSON error message, not data", "data")
        raise _fail("not an SDMX-JSON data message: no data.dataSets", "data")
    if "structures" in data:
        found = data["structures"]
    elif "structure" in data:
        found = [data["structure"]]
    else:
        raise _fail("no structures (2.0.0: data.structures; 1.0: data.structure)", "data")
    if not isinstance(found, list) or not all(isinstance(s, dict) for s in found):
        raise _fail("structures is not a list of objects", "data.structures")
    datasets = data["dataSets"]
    if not isinstance(datasets, list):
        raise _fail("dataSets is not a list", "data.dataSets")
    for number, dataset in enumerate(datasets):
        path = f"dataSets[{number}]"
        if not isinstance(dataset, dict):
            raise _fail("a dataset is not an object", path)
        index = dataset.get("structure", 0)
        if not isinstance(index, int) or not 0 <= index < len(found):
            raise _fail(f"structure {index!r} is not one of the {len(found)} structures", path + ".structure")
        where = f"data.structures[{index}]" if "structures" in data else "data.structure"
        yield from _dataset(dataset, found[index], path, where, structures)


def _link_reference(*holders: dict) -> tuple[str, str] | None:
    """The dataflow (or DSD) URN in ``links`` of the first holder that has one, with where it is."""
    for holder, where in holders:
        links = holder.get("links")
        for rel in ("dataflow", "datastructure"):
            for position, link in enumerate(links if isinstance(links, list) else []):
                if isinstance(link, dict) and link.get("rel") == rel and isinstance(link.get("urn"), str):
                    return link["urn"], f"{where}.links[{position}]"
    return None


class _Components:
    """The message's dimensions and attributes of one structure, tied to the DSD."""

    def __init__(self, structure: dict, dsd: DataStructure, path: str):
        dims = structure.get("dimensions")
        if not isinstance(dims, dict):
            raise _fail("no dimensions", path + ".dimensions")
        self.dataset_dims = _listed(dims, "dataSet", path + ".dimensions")
        self.series_dims = _listed(dims, "series", path + ".dimensions")
        self.obs_dims = _listed(dims, "observation", path + ".dimensions")
        attrs = structure.get("attributes") or {}
        self.dataset_attrs = _listed(attrs, "dataSet", path + ".attributes")
        self.series_attrs = _listed(attrs, "series", path + ".attributes")
        self.obs_attrs = _listed(attrs, "observation", path + ".attributes")
        time_id = dsd.time_dimension.id if dsd.time_dimension else TIME_PERIOD
        obs_ids = [d["id"] for d in self.obs_dims]
        if obs_ids == [time_id]:
            self.flat = False
        elif time_id in obs_ids and not self.series_dims:  # AllDimensions
            self.flat = True
        else:
            raise ReadError(f"dimensions at observation level {', '.join(obs_ids) or 'none'} are not supported "
                            f"(only {time_id}, or all dimensions)", path=path + ".dimensions.observation",
                            code="not-supported")
        self.time_id = time_id
        self.fixed = {d["id"]: _code(d, 0, path) for d in self.dataset_dims if d.get("values")}
        self.level = {a.id: a.attachment for a in dsd.attributes}

    def key(self, indexes: str, dims: list[dict], path: str) -> dict[str, str]:
        parts = indexes.split(":") if indexes else []
        if len(parts) != len(dims):
            raise _fail(f"key {indexes!r} has {len(parts)} positions for {len(dims)} dimensions", path)
        return {d["id"]: _code(d, part, path) for d, part in zip(dims, parts)}

    def attributes(self, indexes: Any, listed: list[dict], path: str) -> dict[str, str]:
        if indexes is None:
            return {}
        if not isinstance(indexes, list):
            raise _fail("attributes is not a list", path)
        if len(indexes) > len(listed):
            raise _fail(f"{len(indexes)} attribute values for {len(listed)} attributes", path)
        return {a["id"]: value for a, index in zip(listed, indexes)
                if (value := _attribute_value(a, index, path)) is not None}

    def split(self, attrs: dict[str, str]) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
        """Attributes by the level the DSD attaches them: (dataset, series, observation); unknown: observation."""
        levels: dict[str, dict[str, str]] = {DATASET: {}, SERIES: {}, OBSERVATION: {}}
        for aid, value in attrs.items():
            levels[self.level.get(aid, OBSERVATION)][aid] = value
        return levels[DATASET], levels[SERIES], levels[OBSERVATION]


def _listed(holder: Any, level: str, path: str) -> list[dict]:
    items = (holder.get(level) or []) if isinstance(holder, dict) else []
    if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("id"), str) for i in items):
        raise _fail(f"{level} is not a list of components with ids", f"{path}.{level}")
    return items


def _code(component: dict, index: Any, path: str) -> str:
    values = component.get("values")
    try:
        position = int(index)
        value = values[position] if position >= 0 else None
    except (TypeError, ValueError, IndexError):
        value = None
    if not isinstance(value, dict):
        raise _fail(f"{component['id']} has no value {index!r}", path, value=str(index))
    code = value.get("id", value.get("value"))
    if code is None:
        raise _fail(f"{component['id']} value {index} has neither id nor value", path)
    return str(code)


def _attribute_value(component: dict, index: Any, path: str) -> str | None:
    if index is None:
        return None
    if isinstance(index, bool) or not isinstance(index, int):
        return str(index)  # a value given directly
    values = component.get("values") or []
    if not 0 <= index < len(values) or not isinstance(values[index], dict):
        raise _fail(f"{component['id']} has no value {index}", path, value=str(index))
    value = values[index]
    text = value.get("id", value.get("value", value.get("name")))
    if isinstance(text, dict):  # a localised text: its English, else any
        text = text.get("en", next(iter(text.values()), None))
    return None if text is None else str(text)


def _value(raw: Any) -> float | str | None:
    if raw is None or isinstance(raw, bool):
        return None if raw is None else str(raw)
    if isinstance(raw, (int, float)):
        value = float(raw)
        return None if value != value else value
    return number_or_text(str(raw))


def _dataset(dataset: dict, structure: dict, path: str, structure_path: str,
             structures: Structures) -> Iterator[DataSetStart | Series]:
    found = _link_reference((dataset, path), (structure, structure_path))
    if found is None:
        raise _fail("no dataflow: neither the dataset nor its structure has a links entry with rel dataflow "
                    "and a urn", path + ".links")
    urn, where = found
    flow, dsd = structures(reference_of_urn(urn, path=where), path=where)
    components = _Components(structure, dsd, structure_path)
    action = dataset_action(dataset.get("action") or "Information", path=path + ".action")
    # Attributes presented at a higher level than the DSD attaches them apply to everything below.
    ds_attrs, ds_series, ds_obs = components.split(components.attributes(
        dataset.get("attributes"), components.dataset_attrs, path + ".attributes"))
    yield DataSetStart(str(flow.ref), action, ds_attrs)
    dims = dsd.dimension_ids
    if components.flat:
        observations = dataset.get("observations") or {}
        if not isinstance(observations, dict):
            raise _fail("observations is not an object", path + ".observations")
        grouper = SeriesGrouper()
        for obs_key, row in observations.items():
            where = f"{path}.observations[{obs_key}]"
            codes = {**components.fixed, **components.key(obs_key, components.obs_dims, where)}
            period = codes.get(components.time_id, "")
            series_attrs, obs = _observation(components, period, row, where, ds_obs)
            done = grouper.add(tuple(codes.get(d, "") for d in dims), {**ds_series, **series_attrs} or EMPTY, obs)
            if done is not None:
                yield done
        done = grouper.flush()
        if done is not None:
            yield done
        return
    series = dataset.get("series") or {}
    if not isinstance(series, dict):
        raise _fail("series is not an object", path + ".series")
    time_dim = components.obs_dims[0]
    for series_key, body in series.items():
        where = f"{path}.series[{series_key}]"
        if not isinstance(body, dict):
            raise _fail("a series is not an object", where)
        codes = {**components.fixed, **components.key(series_key, components.series_dims, where)}
        _, series_attrs, series_obs = components.split(components.attributes(
            body.get("attributes"), components.series_attrs, where + ".attributes"))
        series_attrs = {**ds_series, **series_attrs}
        obs_defaults = {**ds_obs, **series_obs}
        observations = body.get("observations") or {}
        if not isinstance(observations, dict):
            raise _fail("observations is not an object", where + ".observations")
        out = []
        for time_index, row in observations.items():
            obs_where = f"{where}.observations[{time_index}]"
            period = _code(time_dim, time_index, obs_where)
            lifted, obs = _observation(components, period, row, obs_where, obs_defaults)
            if lifted:  # series-level attributes given per observation: left there for validation to report
                obs = new_observation(obs.time_period, obs.value, {**obs.attributes, **lifted}, obs.origin)
            out.append(obs)
        yield Series(tuple(codes.get(d, "") for d in dims), out, series_attrs or EMPTY, Origin(column=where))


def _observation(components: _Components, period: str, row: Any, where: str, defaults: dict[str, str]):
    """(series-level attributes given on it, the Observation) of ``[value, attribute indexes...]``."""
    if not isinstance(row, list):
        raise _fail("an observation is not an array [value, attribute indexes...]", where)
    attrs = components.attributes(row[1:], components.obs_attrs, where) if len(row) > 1 else {}
    _, series_attrs, obs_attrs = components.split(attrs)
    if defaults:
        obs_attrs = {**defaults, **obs_attrs}
    obs = new_observation(period, _value(row[0]) if row else None, obs_attrs or EMPTY, Origin(column=where))
    return series_attrs, obs
