"""Applying datasets to the store: Merge, Replace and Delete, with history.

Semantics follow the SDMX-REST data-maintenance draft
(docs-v2-draft-data-maintenance/maintenance.md, "Maintaining related Data"):

- Merge (and the deprecated Append and Information): observations are
  inserted or updated; the value is set, the attributes given are merged into
  the attributes held. Series attributes are merged.
- Replace: the replacement level is the observation: each given observation
  is inserted or fully replaced (attributes it omits are removed).
  Observations not in the message stay. Series attributes are merged. (A
  whole series is replaced by a Delete of its key followed by a Merge, in
  one message, as the draft says.)
- Delete, at the lowest level of detail given:
  a series with neither observations nor attributes deletes all its
  observations and attributes; series attributes given are deleted (with or
  without observations beside them); an observation with a value, or with
  nothing at all, is deleted; an observation with attribute values and no
  value loses those attribute values. A key with empty codes ("" or None) matches
  every code at that position (bulk delete), and a Delete dataset with no
  series deletes the whole dataflow; both touch only series the writing
  provider created. Deleting what does not exist is not an error.

An empty attribute value is an omitted one: it neither sets nor clears
anything. Observations sent again unchanged are counted as ``unchanged`` and
change nothing. An insert writes one row; an update or a delete also moves
the version it ends to ``observation_history``.

Work is done in chunks of series with bulk look-ups: existing series and
observations are read with one query per chunk (none at all for series this
write created), and rows go out in bulk (``bulk.py``).
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import islice
from typing import Iterable, Iterator, Mapping, Sequence

import orjson
from sqlalchemy import Connection, delete, func, insert, literal, select, update

from service.model.data import APPEND, DELETE, INFORMATION, MERGE, REPLACE, DataSet, Observation, Series
from service.model.period import period_bounds
from service.store import StoreError
from service.store.bulk import delete_rows, insert_rows, one_of, update_rows
from service.store.tables import (DELETED, INSERTED, UPDATED, flow_summary, observation, observation_history,
                                  series, series_code, series_history, to_micros)
from service.store.submissions import DataSetSummary

FLOW_REFERENCE = re.compile(r"[A-Za-z0-9_@$.\-]+:[A-Za-z0-9_@$\-]+\([A-Za-z0-9_.+\-]+\)$")
CHUNK_OBSERVATIONS = 10_000
CHUNK_SERIES = 500

ACTIONS = {"append": MERGE, "a": MERGE, "information": MERGE, "i": MERGE, "merge": MERGE, "m": MERGE,
           "replace": REPLACE, "r": REPLACE, "delete": DELETE, "d": DELETE}

OBS_KEY = ("series_id", "time_period")
OBS_CHANGE = ("value", "attributes", "submission_id", "updated_at")
OBS_COLUMNS = (*OBS_KEY, "period_start", "period_end", *OBS_CHANGE)
OBS_HISTORY_COLUMNS = ("series_id", "time_period", "period_start", "period_end", "value", "attributes",
                       "submission_id", "valid_from", "valid_to", "ended_by", "ended_submission_id")
SERIES_HISTORY_COLUMNS = ("series_id", "action", "old_attributes", "new_attributes", "submission_id",
                          "recorded_at")
SERIES_COLUMNS = ("flow", "series_key", "provider", "attributes", "created_at", "updated_at",
                  "submission_id", "attributes_updated_at", "obs_count")


def dumps(attributes: Mapping[str, str] | None) -> str | None:
    """Attributes as stored: sorted JSON, NULL when there are none."""
    if not attributes:
        return None
    clean = {k: v for k, v in attributes.items() if v is not None and v != ""}
    return orjson.dumps(clean, option=orjson.OPT_SORT_KEYS).decode() if clean else None


def loads(text: str | None) -> dict[str, str]:
    return orjson.loads(text) if text else {}


def present(attributes: Mapping[str, str] | None) -> dict[str, str]:
    """The attribute values given: empty ones are omitted ones."""
    return {k: v for k, v in attributes.items() if v is not None and v != ""} if attributes else {}


def merge_attributes(old: str | None, new: Mapping[str, str]) -> str | None:
    given = present(new)
    if not given:
        return old
    return dumps({**loads(old), **given})


def drop_attributes(old: str | None, names: Iterable[str]) -> str | None:
    held = loads(old)
    for name in names:
        held.pop(name, None)
    return dumps(held)


class DataSetWriter:
    """Writes datasets of one submission inside the caller's transaction."""

    def __init__(self, conn: Connection, provider: str, submission_id: int, now: int):
        self.conn, self.provider, self.submission_id, self.now = conn, provider, submission_id, now
        self.series_cache: dict[tuple[str, str], list] = {}  # (flow, key) -> [series_id, attributes]
        self.by_id: dict[int, list] = {}  # series_id -> the same entry
        self.keys: dict[int, str] = {}  # series_id -> series key, for messages
        self.fresh: set[int] = set()  # series created by this write, no observation yet
        self.touched: set[int] = set()  # series whose data changed
        self.periods: dict[str, tuple[int, int]] = {}
        self.flows: set[str] = set()  # dataflows written, whose summary is refreshed by finish()

    def write(self, dataset: DataSet) -> DataSetSummary:
        action = ACTIONS.get(str(dataset.action).lower())
        if action is None:
            raise StoreError(f"unknown dataset action {dataset.action!r} "
                             f"(expected {APPEND}, {MERGE}, {REPLACE}, {DELETE} or {INFORMATION})")
        counts: Counter = Counter()
        flow = dataset.dataflow
        if not FLOW_REFERENCE.match(flow or ""):
            raise StoreError(f"dataflow {flow!r}: the store keeps data under full references "
                             "AGENCY:ID(VERSION), as queries name them")
        self.flows.add(flow)
        empty = True
        for chunk in _chunks(dataset.series, counts):
            empty = False
            if action == DELETE:
                self._delete_chunk(flow, chunk, counts)
            else:
                self._upsert_chunk(flow, chunk, action == REPLACE, counts)
        if action == DELETE and empty:
            ids = self.conn.execute(select(series.c.series_id).where(
                series.c.flow == flow, series.c.provider == self.provider)).scalars().all()
            self._delete_series(ids, counts)
        return DataSetSummary(dataflow=flow, action=action, **counts)

    def finish(self) -> None:
        """Stamp the changed series and refresh their observation summaries."""
        o = observation.c
        for batch in _batches(sorted(self.touched), CHUNK_SERIES):
            self.conn.execute(update(series).where(one_of(self.conn, series.c.series_id, batch)).values(
                updated_at=self.now, submission_id=self.submission_id, obs_count=0, period_first=None,
                period_last=None))
            summary = (select(o.series_id, func.count().label("n"), func.min(o.period_start).label("first"),
                              func.max(o.period_end).label("last"))
                       .where(one_of(self.conn, o.series_id, batch)).group_by(o.series_id).subquery())
            self.conn.execute(update(series).where(series.c.series_id == summary.c.series_id).values(
                obs_count=summary.c.n, period_first=summary.c.first, period_last=summary.c.last))
        self._refresh_flow_summaries()

    def _refresh_flow_summaries(self) -> None:
        """Recount the (dataflow, provider) pairs this write touched: its own, and those of series
        created by other providers that it changed."""
        s = series.c
        pairs = {(flow, self.provider) for flow in self.flows}
        for batch in _batches(sorted(self.touched), CHUNK_SERIES):
            pairs.update((flow, provider) for flow, provider in self.conn.execute(
                select(s.flow, s.provider).distinct().where(one_of(self.conn, s.series_id, batch),
                                                            s.provider != self.provider)))
        for flow, provider in sorted(pairs):
            totals = self.conn.execute(select(
                func.count().filter(s.obs_count > 0), func.coalesce(func.sum(s.obs_count), 0),
                func.min(s.period_first), func.max(s.period_last), func.max(s.updated_at)
            ).where(s.flow == flow, s.provider == provider)).one()
            self.conn.execute(delete(flow_summary).where(flow_summary.c.flow == flow,
                                                         flow_summary.c.provider == provider))
            self.conn.execute(insert(flow_summary).values(
                flow=flow, provider=provider, series_count=totals[0], obs_count=totals[1],
                period_first=totals[2], period_last=totals[3], updated_at=totals[4]))

    # -- Merge and Replace ------------------------------------------------------------

    def _upsert_chunk(self, flow: str, chunk: list[tuple[Series, Sequence[Observation]]],
                      replace: bool, counts: Counter) -> None:
        keys = {_key_text(s.key): s for s, _ in chunk}
        entries = self._series(flow, list(keys), create=True,
                               initial={k: dumps(s.attributes) for k, s in keys.items()})
        self._merge_series_attributes(flow, chunk)
        wanted: dict[tuple[int, str], Observation] = {}
        for s, observations in chunk:
            series_id = entries[_key_text(s.key)][0]
            for obs in observations:
                wanted[(series_id, obs.time_period)] = obs
        existing = self._existing(wanted)
        sid, now, periods = self.submission_id, self.now, self.periods
        inserts, updates, history = [], [], []
        added = unchanged = 0
        for pair, obs in wanted.items():  # the hot loop of a large load: kept flat
            value = obs.value
            if value.__class__ is not float and value is not None:
                value = float(value)  # ints, Decimals, numpy numbers
            if value != value:  # NaN: missing
                value = None
            held = existing.get(pair) if existing else None
            if held is None:
                attributes = dumps(obs.attributes) if obs.attributes else None
                start, end = periods.get(pair[1]) or self._bounds(pair[1], pair[0])
                inserts.append((*pair, start, end, value, attributes, sid, now))
                added += 1
                continue
            old_value, old_attributes = held[0], held[1]
            attributes = dumps(obs.attributes) if replace else merge_attributes(old_attributes, obs.attributes)
            if value == old_value and attributes == old_attributes:
                unchanged += 1
                continue
            updates.append((value, attributes, sid, now, *pair))
            self._end_version(history, *pair, held, UPDATED)
            counts["replaced"] += 1
        counts["added"] += added
        counts["unchanged"] += unchanged
        self._flush(inserts, updates, [], history)

    def _merge_series_attributes(self, flow: str, chunk: list[tuple[Series, Sequence[Observation]]]) -> None:
        changes, history = [], []
        for s, _ in chunk:
            if not s.attributes:
                continue
            entry = self.series_cache[(flow, _key_text(s.key))]
            merged = merge_attributes(entry[1], s.attributes)
            if merged != entry[1]:
                history.append(self._series_change(entry[0], entry[1], merged))
                changes.append((merged, self.now, entry[0]))
                entry[1] = merged
                self.touched.add(entry[0])
        self._set_series_attributes(changes, history)

    def _end_version(self, history: list[tuple], series_id: int, period: str, held: tuple,
                     ended_by: str) -> None:
        """Keep the version an update or delete ends, unless this very write made it."""
        value, attributes, start, end, submission_id, valid_from = held
        if valid_from < self.now:
            history.append((series_id, period, start, end, value, attributes, submission_id, valid_from,
                            self.now, ended_by, self.submission_id))

    def _series_change(self, series_id: int, old: str | None, new: str | None) -> tuple:
        action = INSERTED if old is None else DELETED if new is None else UPDATED
        return (series_id, action, old, new, self.submission_id, self.now)

    def _set_series_attributes(self, changes: list[tuple], history: list[tuple]) -> None:
        """``changes``: (attributes, now, series_id); ``history``: series_history rows."""
        update_rows(self.conn, series, ("attributes", "attributes_updated_at"), ("series_id",), changes)
        insert_rows(self.conn, series_history, SERIES_HISTORY_COLUMNS, history)

    # -- Delete -----------------------------------------------------------------------

    def _delete_chunk(self, flow: str, chunk: list[tuple[Series, Sequence[Observation]]],
                      counts: Counter) -> None:
        exact = [_key_text(s.key) for s, _ in chunk if not _is_partial(s.key)]
        entries = self._series(flow, exact, create=False)
        whole: list[int] = []
        targets: dict[tuple[int, str], Observation] = {}
        attribute_changes, history = [], []
        for s, observations in chunk:
            if _is_partial(s.key):
                ids = self._matching_series(flow, s.key)
            else:
                entry = entries.get(_key_text(s.key))
                ids = [entry[0]] if entry else []
            for series_id in ids:
                for obs in observations:
                    targets[(series_id, obs.time_period)] = obs
                if present(s.attributes):
                    entry = self._entry(flow, series_id)
                    remaining = drop_attributes(entry[1], present(s.attributes))
                    if remaining != entry[1]:
                        history.append(self._series_change(series_id, entry[1], remaining))
                        attribute_changes.append((remaining, self.now, series_id))
                        entry[1] = remaining
                        self.touched.add(series_id)
                elif not observations:
                    whole.append(series_id)
        self._set_series_attributes(attribute_changes, history)
        self._delete_series(whole, counts)
        existing = self._existing(targets)
        updates, deletions, obs_history = [], [], []
        for pair, obs in targets.items():
            held = existing.get(pair)
            if held is None:
                continue
            if obs.value is None and present(obs.attributes):
                attributes = drop_attributes(held[1], present(obs.attributes))
                if attributes == held[1]:
                    continue
                updates.append((held[0], attributes, self.submission_id, self.now, *pair))
                self._end_version(obs_history, *pair, held, UPDATED)
                counts["replaced"] += 1
            else:
                deletions.append(pair)
                self._end_version(obs_history, *pair, held, DELETED)
                counts["deleted"] += 1
        self._flush([], updates, deletions, obs_history)

    def _delete_series(self, ids: Sequence[int], counts: Counter) -> None:
        """Delete every observation and series attribute of the given series."""
        ids = sorted(set(ids))
        for batch in _batches(ids, CHUNK_SERIES):
            o = observation.c
            ended = select(o.series_id, o.time_period, o.period_start, o.period_end, o.value, o.attributes,
                           o.submission_id, o.updated_at, literal(self.now), literal(DELETED),
                           literal(self.submission_id)
                           ).where(one_of(self.conn, o.series_id, batch), o.updated_at < self.now)
            self.conn.execute(insert(observation_history).from_select(list(OBS_HISTORY_COLUMNS), ended))
            removed = self.conn.execute(delete(observation).where(
                one_of(self.conn, observation.c.series_id, batch))).rowcount
            if removed:
                counts["deleted"] += removed
                self.touched.update(batch)
            held = self.conn.execute(select(series.c.series_id, series.c.attributes).where(
                one_of(self.conn, series.c.series_id, batch), series.c.attributes.is_not(None))).all()
            if held:
                self._set_series_attributes([(None, self.now, i) for i, _ in held],
                                            [self._series_change(i, a, None) for i, a in held])
                for series_id, _ in held:
                    if series_id in self.by_id:
                        self.by_id[series_id][1] = None
                self.touched.update(i for i, _ in held)

    def _matching_series(self, flow: str, key: Sequence[str | None]) -> list[int]:
        query = select(series.c.series_id).where(series.c.flow == flow,
                                                 series.c.provider == self.provider)
        for position, code in enumerate(key):
            if code:
                query = query.where(series.c.series_id.in_(select(series_code.c.series_id).where(
                    series_code.c.flow == flow, series_code.c.position == position,
                    series_code.c.code == code)))
        return list(self.conn.execute(query).scalars())

    # -- shared -----------------------------------------------------------------------

    def _series(self, flow: str, keys: list[str], create: bool,
                initial: Mapping[str, str | None] | None = None) -> dict[str, list]:
        """Cached [series_id, attributes] per key; missing series created when ``create``."""
        missing = [k for k in keys if (flow, k) not in self.series_cache]
        for batch in _batches(missing, CHUNK_SERIES):
            self._load_series(flow, batch)
        if create:
            new = [k for k in dict.fromkeys(missing) if (flow, k) not in self.series_cache]
            if new:
                self._create_series(flow, new, initial or {})
        return {k: self.series_cache[(flow, k)] for k in keys if (flow, k) in self.series_cache}

    def _load_series(self, flow: str, keys: Sequence[str]) -> None:
        rows = self.conn.execute(select(series.c.series_key, series.c.series_id, series.c.attributes)
                                 .where(series.c.flow == flow, one_of(self.conn, series.c.series_key, keys)))
        for key, series_id, attributes in rows:
            entry = self.series_cache[(flow, key)] = [series_id, attributes]
            self.by_id[series_id] = entry
            self.keys[series_id] = key

    def _entry(self, flow: str, series_id: int) -> list:
        entry = self.by_id.get(series_id)
        if entry is None:
            row = self.conn.execute(select(series.c.series_key, series.c.attributes)
                                    .where(series.c.series_id == series_id)).one()
            entry = self.series_cache[(flow, row.series_key)] = [series_id, row.attributes]
            self.by_id[series_id] = entry
        return entry

    def _create_series(self, flow: str, keys: list[str], initial: Mapping[str, str | None]) -> None:
        insert_rows(self.conn, series, SERIES_COLUMNS, [
            (flow, k, self.provider, initial.get(k), self.now, self.now, self.submission_id, self.now, 0)
            for k in keys])
        for batch in _batches(keys, CHUNK_SERIES):
            self._load_series(flow, batch)
        codes, history = [], []
        for k in keys:
            series_id, attributes = self.series_cache[(flow, k)]
            self.fresh.add(series_id)
            self.touched.add(series_id)
            codes.extend((flow, i, c, series_id) for i, c in enumerate(k.split(".")))
            if attributes is not None:
                history.append(self._series_change(series_id, None, attributes))
        insert_rows(self.conn, series_code, ("flow", "position", "code", "series_id"), codes)
        insert_rows(self.conn, series_history, SERIES_HISTORY_COLUMNS, history)

    def _existing(self, wanted: Mapping[tuple[int, str], object]) -> dict[tuple[int, str], tuple]:
        """Held (value, attributes, start, end, submission_id, updated_at) of the wanted observations."""
        ids = {series_id for series_id, _ in wanted if series_id not in self.fresh}
        found: dict[tuple[int, str], tuple] = {}
        if ids:
            periods = sorted({period for series_id, period in wanted if series_id in ids})
            o = observation.c
            for id_batch in _batches(sorted(ids), CHUNK_SERIES):
                for period_batch in _batches(periods, 5_000):
                    rows = self.conn.execute(
                        select(o.series_id, o.time_period, o.value, o.attributes, o.period_start, o.period_end,
                               o.submission_id, o.updated_at)
                        .where(one_of(self.conn, o.series_id, id_batch),
                               one_of(self.conn, o.time_period, period_batch)))
                    for series_id, period, *held in rows:
                        if (series_id, period) in wanted:
                            found[(series_id, period)] = tuple(held)
        self.fresh.difference_update(series_id for series_id, _ in wanted)
        return found

    def _bounds(self, period: str, series_id: int) -> tuple[int, int]:
        bounds = self.periods.get(period)
        if bounds is None:
            try:
                start, end = period_bounds(period)
            except ValueError as exc:
                raise StoreError(f"series {self.keys.get(series_id, series_id)}: {exc}") from None
            bounds = self.periods[period] = (to_micros(start), to_micros(end))
        return bounds

    def _flush(self, inserts: list[tuple], updates: list[tuple], deletions: list[tuple],
               history: list[tuple]) -> None:
        """Rows in the column orders OBS_COLUMNS, OBS_CHANGE + OBS_KEY, OBS_KEY, OBS_HISTORY_COLUMNS."""
        insert_rows(self.conn, observation, OBS_COLUMNS, inserts)
        update_rows(self.conn, observation, OBS_CHANGE, OBS_KEY, updates)
        delete_rows(self.conn, observation, OBS_KEY, deletions)
        insert_rows(self.conn, observation_history, OBS_HISTORY_COLUMNS, history)
        for rows in (inserts, deletions):
            self.touched.update(row[0] for row in rows)
        self.touched.update(row[4] for row in updates)


def _key_text(key: Sequence[str]) -> str:
    for code in key:
        if not code or "." in code:
            raise StoreError(f"series key {'.'.join(map(str, key))!r}: "
                             "every dimension needs a code without '.'")
    return ".".join(key)


def _is_partial(key: Sequence[str | None]) -> bool:
    return not key or any(not code for code in key)


def _chunks(items: Iterable[Series], counts: Counter) -> Iterator[list[tuple[Series, Sequence[Observation]]]]:
    """Series cut into pieces of at most CHUNK_OBSERVATIONS observations and CHUNK_SERIES series."""
    chunk: list[tuple[Series, Sequence[Observation]]] = []
    size = 0
    for s in items:
        counts["series"] += 1
        observations = s.observations if isinstance(s.observations, Sequence) else list(s.observations)
        offset = 0
        while True:
            piece = observations[offset:offset + CHUNK_OBSERVATIONS - size]
            chunk.append((s, piece))
            size += len(piece)
            offset += len(piece)
            if size >= CHUNK_OBSERVATIONS or len(chunk) >= CHUNK_SERIES:
                yield chunk
                chunk, size = [], 0
            if offset >= len(observations):
                break
    if chunk:
        yield chunk


def _batches(items: Sequence, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
