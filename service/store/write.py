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
  nothing at all, is deleted; an observation with attributes and no value
  loses those attribute values. A key with empty codes ("" or None) matches
  every code at that position (bulk delete), and a Delete dataset with no
  series deletes the whole dataflow; both touch only series the writing
  provider created. Deleting what does not exist is not an error.

Observations sent again unchanged are counted as ``unchanged`` and leave no
history. Work is done in chunks of series with bulk look-ups: existing series
and observations are read with one ``IN`` query per chunk (none at all for
series this write created), and rows go out with executemany.
"""

from __future__ import annotations

import math
from collections import Counter
from itertools import islice
from typing import Iterable, Iterator, Mapping, Sequence

import orjson
from sqlalchemy import Connection, bindparam, delete, func, insert, literal, null, select, update

from service.model.data import APPEND, DELETE, INFORMATION, MERGE, REPLACE, DataSet, Observation, Series
from service.model.period import period_bounds
from service.store import StoreError
from service.store.bulk import insert_rows
from service.store.tables import (DELETED, INSERTED, UPDATED, observation, observation_history, series,
                                  series_code, series_history, to_micros)
from service.store.submissions import DataSetSummary

CHUNK_OBSERVATIONS = 10_000
CHUNK_SERIES = 500

ACTIONS = {"append": MERGE, "a": MERGE, "information": MERGE, "i": MERGE, "merge": MERGE, "m": MERGE,
           "replace": REPLACE, "r": REPLACE, "delete": DELETE, "d": DELETE}

_OBS_UPDATE = (update(observation)
               .where(observation.c.series_id == bindparam("b_series_id"),
                      observation.c.time_period == bindparam("b_time_period"))
               .values(value=bindparam("b_value"), attributes=bindparam("b_attributes"),
                       submission_id=bindparam("b_submission_id"), updated_at=bindparam("b_updated_at")))
_OBS_DELETE = delete(observation).where(observation.c.series_id == bindparam("b_series_id"),
                                        observation.c.time_period == bindparam("b_time_period"))
_SERIES_ATTRS = (update(series).where(series.c.series_id == bindparam("b_series_id"))
                 .values(attributes=bindparam("b_attributes"), attributes_updated_at=bindparam("b_at")))


def dumps(attributes: Mapping[str, str] | None) -> str | None:
    """Attributes as stored: sorted JSON, NULL when there are none."""
    if not attributes:
        return None
    clean = {k: v for k, v in attributes.items() if v is not None and v != ""}
    return orjson.dumps(clean, option=orjson.OPT_SORT_KEYS).decode() if clean else None


def loads(text: str | None) -> dict[str, str]:
    return orjson.loads(text) if text else {}


def merge_attributes(old: str | None, new: Mapping[str, str]) -> str | None:
    if not new:
        return old
    return dumps({**loads(old), **new})


def drop_attributes(old: str | None, names: Iterable[str]) -> str | None:
    held = loads(old)
    for name in names:
        held.pop(name, None)
    return dumps(held)


def _value(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


class DataSetWriter:
    """Writes datasets of one submission inside the caller's transaction."""

    def __init__(self, conn: Connection, provider: str, submission_id: int, now: int):
        self.conn, self.provider, self.submission_id, self.now = conn, provider, submission_id, now
        self.series_cache: dict[tuple[str, str], list] = {}  # (flow, key) -> [series_id, attributes]
        self.by_id: dict[int, list] = {}  # series_id -> the same entry
        self.fresh: set[int] = set()  # series created by this write, no observation yet
        self.touched: set[int] = set()  # series whose data changed
        self.periods: dict[str, tuple[int, int]] = {}

    def write(self, dataset: DataSet) -> DataSetSummary:
        action = ACTIONS.get(str(dataset.action).lower())
        if action is None:
            raise StoreError(f"unknown dataset action {dataset.action!r} "
                             f"(expected {APPEND}, {MERGE}, {REPLACE}, {DELETE} or {INFORMATION})")
        counts: Counter = Counter()
        flow = dataset.dataflow
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
            mine = o.series_id == series.c.series_id
            self.conn.execute(update(series).where(series.c.series_id.in_(batch)).values(
                updated_at=self.now, submission_id=self.submission_id,
                obs_count=select(func.count()).select_from(observation).where(mine).scalar_subquery(),
                period_first=select(func.min(o.period_start)).where(mine).scalar_subquery(),
                period_last=select(func.max(o.period_end)).where(mine).scalar_subquery()))

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
        inserts, updates, history = [], [], []
        for (series_id, period), obs in wanted.items():
            value = _value(obs.value)
            held = existing.get((series_id, period))
            if held is None:
                attributes = dumps(obs.attributes)
                start, end = self._bounds(period, series_id)
                inserts.append((series_id, period, start, end, value, attributes))
                history.append((series_id, period, INSERTED, start, end, None, None, value, attributes))
                counts["added"] += 1
                continue
            old_value, old_attributes, start, end = held
            attributes = dumps(obs.attributes) if replace else merge_attributes(old_attributes, obs.attributes)
            if value == old_value and attributes == old_attributes:
                counts["unchanged"] += 1
                continue
            updates.append(dict(b_series_id=series_id, b_time_period=period, b_value=value,
                                b_attributes=attributes, b_submission_id=self.submission_id,
                                b_updated_at=self.now))
            history.append((series_id, period, UPDATED, start, end, old_value, old_attributes,
                            value, attributes))
            counts["replaced"] += 1
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
                changes.append(dict(b_series_id=entry[0], b_attributes=merged, b_at=self.now))
                entry[1] = merged
                self.touched.add(entry[0])
        if changes:
            self.conn.execute(_SERIES_ATTRS, changes)
            insert_rows(self.conn, series_history, history)

    def _series_change(self, series_id: int, old: str | None, new: str | None) -> dict:
        action = INSERTED if old is None else DELETED if new is None else UPDATED
        return dict(series_id=series_id, action=action, old_attributes=old, new_attributes=new,
                    submission_id=self.submission_id, recorded_at=self.now)

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
                if s.attributes:
                    entry = self._entry(flow, series_id)
                    remaining = drop_attributes(entry[1], s.attributes)
                    if remaining != entry[1]:
                        history.append(self._series_change(series_id, entry[1], remaining))
                        attribute_changes.append(dict(b_series_id=series_id, b_attributes=remaining,
                                                      b_at=self.now))
                        entry[1] = remaining
                        self.touched.add(series_id)
                elif not observations:
                    whole.append(series_id)
        if attribute_changes:
            self.conn.execute(_SERIES_ATTRS, attribute_changes)
            insert_rows(self.conn, series_history, history)
        self._delete_series(whole, counts)
        existing = self._existing(targets)
        updates, deletions, obs_history = [], [], []
        for pair, obs in targets.items():
            held = existing.get(pair)
            if held is None:
                continue
            old_value, old_attributes, start, end = held
            if obs.value is None and obs.attributes:
                attributes = drop_attributes(old_attributes, obs.attributes)
                if attributes == old_attributes:
                    continue
                updates.append(dict(b_series_id=pair[0], b_time_period=pair[1], b_value=old_value,
                                    b_attributes=attributes, b_submission_id=self.submission_id,
                                    b_updated_at=self.now))
                obs_history.append((*pair, UPDATED, start, end, old_value, old_attributes,
                                    old_value, attributes))
                counts["replaced"] += 1
            else:
                deletions.append(dict(b_series_id=pair[0], b_time_period=pair[1]))
                obs_history.append((*pair, DELETED, start, end, old_value, old_attributes, None, None))
                counts["deleted"] += 1
        self._flush([], updates, deletions, obs_history)

    def _delete_series(self, ids: Sequence[int], counts: Counter) -> None:
        """Delete every observation and series attribute of the given series."""
        ids = sorted(set(ids))
        for batch in _batches(ids, CHUNK_SERIES):
            columns = observation_history.c
            copied = select(observation.c.series_id, observation.c.time_period, literal(DELETED),
                            observation.c.period_start, observation.c.period_end, observation.c.value,
                            observation.c.attributes, null(), null(), literal(self.submission_id),
                            literal(self.now)).where(observation.c.series_id.in_(batch))
            self.conn.execute(insert(observation_history).from_select(
                [columns.series_id, columns.time_period, columns.action, columns.period_start,
                 columns.period_end, columns.old_value, columns.old_attributes, columns.new_value,
                 columns.new_attributes, columns.submission_id, columns.recorded_at], copied))
            removed = self.conn.execute(delete(observation).where(observation.c.series_id.in_(batch))).rowcount
            if removed:
                counts["deleted"] += removed
                self.touched.update(batch)
            held = self.conn.execute(select(series.c.series_id, series.c.attributes).where(
                series.c.series_id.in_(batch), series.c.attributes.is_not(None))).all()
            if held:
                self.conn.execute(_SERIES_ATTRS, [dict(b_series_id=i, b_attributes=None, b_at=self.now)
                                                  for i, _ in held])
                insert_rows(self.conn, series_history, [self._series_change(i, a, None) for i, a in held])
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
                                 .where(series.c.flow == flow, series.c.series_key.in_(keys)))
        for key, series_id, attributes in rows:
            entry = self.series_cache[(flow, key)] = [series_id, attributes]
            self.by_id[series_id] = entry

    def _entry(self, flow: str, series_id: int) -> list:
        entry = self.by_id.get(series_id)
        if entry is None:
            row = self.conn.execute(select(series.c.series_key, series.c.attributes)
                                    .where(series.c.series_id == series_id)).one()
            entry = self.series_cache[(flow, row.series_key)] = [series_id, row.attributes]
            self.by_id[series_id] = entry
        return entry

    def _create_series(self, flow: str, keys: list[str], initial: Mapping[str, str | None]) -> None:
        insert_rows(self.conn, series, [
            dict(flow=flow, series_key=k, provider=self.provider, attributes=initial.get(k),
                 created_at=self.now, updated_at=self.now, submission_id=self.submission_id,
                 attributes_updated_at=self.now, obs_count=0) for k in keys])
        for batch in _batches(keys, CHUNK_SERIES):
            self._load_series(flow, batch)
        codes, history = [], []
        for k in keys:
            series_id, attributes = self.series_cache[(flow, k)]
            self.fresh.add(series_id)
            self.touched.add(series_id)
            codes.extend(dict(flow=flow, position=i, code=c, series_id=series_id)
                         for i, c in enumerate(k.split(".")))
            if attributes is not None:
                history.append(self._series_change(series_id, None, attributes))
        insert_rows(self.conn, series_code, codes)
        insert_rows(self.conn, series_history, history)

    def _existing(self, wanted: Mapping[tuple[int, str], object]) -> dict[tuple[int, str], tuple]:
        """Held (value, attributes, start, end) of the wanted observations, in bulk."""
        ids = {series_id for series_id, _ in wanted if series_id not in self.fresh}
        found: dict[tuple[int, str], tuple] = {}
        if ids:
            periods = sorted({period for series_id, period in wanted if series_id in ids})
            o = observation.c
            for id_batch in _batches(sorted(ids), CHUNK_SERIES):
                for period_batch in _batches(periods, 5_000):
                    rows = self.conn.execute(
                        select(o.series_id, o.time_period, o.value, o.attributes, o.period_start, o.period_end)
                        .where(o.series_id.in_(id_batch), o.time_period.in_(period_batch)))
                    for series_id, period, value, attributes, start, end in rows:
                        if (series_id, period) in wanted:
                            found[(series_id, period)] = (value, attributes, start, end)
        self.fresh.difference_update(series_id for series_id, _ in wanted)
        return found

    def _bounds(self, period: str, series_id: int) -> tuple[int, int]:
        bounds = self.periods.get(period)
        if bounds is None:
            try:
                start, end = period_bounds(period)
            except ValueError as exc:
                raise StoreError(f"series {series_id}: {exc}") from None
            bounds = self.periods[period] = (to_micros(start), to_micros(end))
        return bounds

    def _flush(self, inserts: list[tuple], updates: list[dict], deletions: list[dict],
               history: list[tuple]) -> None:
        sid, now = self.submission_id, self.now
        if inserts:
            insert_rows(self.conn, observation, [
                dict(series_id=r[0], time_period=r[1], period_start=r[2], period_end=r[3], value=r[4],
                     attributes=r[5], submission_id=sid, updated_at=now) for r in inserts])
        if updates:
            self.conn.execute(_OBS_UPDATE, updates)
        if deletions:
            self.conn.execute(_OBS_DELETE, deletions)
        if history:
            insert_rows(self.conn, observation_history, [
                dict(series_id=h[0], time_period=h[1], action=h[2], period_start=h[3], period_end=h[4],
                     old_value=h[5], old_attributes=h[6], new_value=h[7], new_attributes=h[8],
                     submission_id=sid, recorded_at=now) for h in history])
            self.touched.update(h[0] for h in history)


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
