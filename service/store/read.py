"""Answering queries: streaming series, counts, availability, last change.

``SeriesCursor`` runs the query when entered (so a bad query or a database
failure surfaces before a response starts) and then yields model ``Series``
in series-key order, observations in time order. Rows come through a
server-side cursor on PostgreSQL (``yield_per``: a named cursor) and the
SQLite statement's own stepping on SQLite, grouped into series as they
arrive: memory holds one series at a time, whatever the size of the answer.

Deletions (with ``updatedAfter``) come out as observations with value None
and the attributes ``{ACTION_KEY: DELETED_MARK}``, i.e. ``{"__action__": "D"}``:
a writer puts them in a Delete dataset (SDMX-ML) or writes ACTION=D
(SDMX-CSV 2.0). ``changes="updates"`` / ``"deletions"`` select one kind only,
for writers that emit the two kinds as separate datasets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import Iterator, Mapping, Sequence

import orjson
from sqlalchemy import Connection, Engine, Select, func, select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from service.model.data import EMPTY, Observation, Series
from service.model.query import DATA_ONLY, NO_DATA, SERIES_KEYS_ONLY, DataQuery
from service.store import StoreError
from service.store.engine import translate
from service.store.select import (ALL_CHANGES, View, data_statement, observation_rows, series_condition,
                                  series_statement, version_statement)
from service.store.availability import Availability, probed, whole_flow
from service.store.tables import flow_summary, from_micros, series, series_code, submission, to_micros

ACTION_KEY = "__action__"
DELETED_MARK = "D"
DELETED_ATTRIBUTES: Mapping[str, str] = MappingProxyType({ACTION_KEY: DELETED_MARK})

ROWS_PER_FETCH = 5_000
_ATTRIBUTE_CACHE_SIZE = 4_096


@dataclass(frozen=True, slots=True)
class ObservationVersion:
    """One version of an observation: what it was from ``valid_from`` until ``valid_to``.

    ``valid_to`` None: the version is current (for the viewer, at the instant
    asked). ``ended_by``: "U" replaced by a newer version, "D" deleted.
    """

    series_key: tuple[str, ...]
    time_period: str
    value: float | None
    attributes: Mapping[str, str]
    submission_id: int
    valid_from: datetime
    valid_to: datetime | None
    ended_by: str | None


def _now() -> int:
    return int(time.time() * 1_000_000)


def view_for(conn: Connection, q: DataQuery) -> View:
    """The history instant and the embargoed submissions hidden from ``q.viewer``."""
    hidden = select(submission.c.submission_id).where(submission.c.release_at > _now())
    if q.viewer is not None:
        hidden = hidden.where(submission.c.provider != q.viewer)
    return View(as_of=to_micros(q.as_of) if q.as_of is not None else None,
                hidden=tuple(conn.execute(hidden.order_by(submission.c.submission_id)).scalars()))


class _Cursor:
    """A query run on entering a ``with`` block, streamed, closed on leaving it."""

    def __init__(self, engine: Engine, q: DataQuery):
        self.engine, self.q = engine, q
        self._conn: Connection | None = None
        self._result = None
        self._attributes: dict[str, Mapping[str, str]] = {}

    def statement(self, view: View) -> Select:
        raise NotImplementedError

    def __enter__(self):
        try:
            self._conn = self.engine.connect()
            statement = self.statement(view_for(self._conn, self.q))
            self._result = self._conn.execution_options(yield_per=ROWS_PER_FETCH).execute(statement)
        except (DBAPIError, SQLAlchemyError) as exc:
            self.close()
            raise _translated(exc) from exc
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if self._result is not None:
            self._result.close()
            self._result = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __iter__(self):
        if self._result is None:
            raise StoreError("a store cursor is iterated inside its 'with' block")
        try:
            yield from self.items()
        except (DBAPIError, SQLAlchemyError) as exc:
            raise _translated(exc) from exc

    def items(self) -> Iterator:
        raise NotImplementedError

    def _parse(self, text: str | None) -> Mapping[str, str]:
        """Attributes JSON as a read-only mapping; repeated texts share one mapping."""
        if not text:
            return EMPTY
        parsed = self._attributes.get(text)
        if parsed is None:
            if len(self._attributes) >= _ATTRIBUTE_CACHE_SIZE:
                self._attributes.clear()
            parsed = self._attributes[text] = MappingProxyType(orjson.loads(text))
        return parsed


class SeriesCursor(_Cursor):
    """``with store.query(q) as found: for series in found: ...``"""

    def __init__(self, engine: Engine, q: DataQuery, changes: str = ALL_CHANGES):
        super().__init__(engine, q)
        self.changes = changes

    def statement(self, view: View) -> Select:
        keys_only = self.q.detail in (SERIES_KEYS_ONLY, NO_DATA)
        return (series_statement if keys_only else data_statement)(self.q, view, self.changes)

    def items(self) -> Iterator[Series]:
        if self.q.detail in (SERIES_KEYS_ONLY, NO_DATA):
            return self._series_only()
        return self._series_with_observations()

    def _series_only(self) -> Iterator[Series]:
        with_attributes = self.q.detail == NO_DATA
        for key, attributes in self._result:
            yield Series(tuple(key.split(".")), (),
                         self._parse(attributes) if with_attributes else EMPTY)

    def _series_with_observations(self) -> Iterator[Series]:
        with_attributes = self.q.detail != DATA_ONLY
        parse = self._parse if with_attributes else (lambda _text: EMPTY)
        key = series_attributes = None
        observations: list[Observation] = []
        for partition in self._result.partitions():
            for series_key, series_text, period, value, attributes, deleted in partition:
                if series_key != key:
                    if key is not None:
                        yield Series(tuple(key.split(".")), observations, series_attributes)
                    key, observations = series_key, []
                    series_attributes = parse(series_text)
                if deleted:
                    observations.append(Observation(period, None, DELETED_ATTRIBUTES))
                else:
                    observations.append(Observation(period, value, parse(attributes)))
        if key is not None:
            yield Series(tuple(key.split(".")), observations, series_attributes)

class VersionCursor(_Cursor):
    """``with store.versions(q) as found: for version in found: ...`` (includeHistory)."""

    def statement(self, view: View) -> Select:
        return version_statement(self.q, view)

    def items(self) -> Iterator[ObservationVersion]:
        for key, period, value, attributes, submission_id, valid_from, valid_to, ended_by in self._result:
            yield ObservationVersion(tuple(key.split(".")), period, value, self._parse(attributes),
                                     submission_id, from_micros(valid_from), from_micros(valid_to), ended_by)


def count(engine: Engine, q: DataQuery, changes: str = ALL_CHANGES) -> int:
    """Observations answering ``q`` (deletions included with updatedAfter), whatever the detail."""
    with _reading(engine) as conn:
        rows = observation_rows(q, view_for(conn, q), changes)
        return conn.execute(select(func.count()).select_from(rows)).scalar_one()


def available(engine: Engine, q: DataQuery, dimension_ids: Sequence[str],
              mode: str = "exact") -> Availability:
    """Codes in use per dimension, period range and counts of the data ``q`` finds.

    ``mode="exact"``: codes of the matching series. ``mode="available"``: for
    each dimension, the codes it could take with the other dimensions'
    selections kept (SDMX-REST availability ``mode=available``).
    """
    with _reading(engine) as conn:
        view = view_for(conn, q)
        plain = not (q.start or q.end or q.updated_after or q.first_n or q.last_n
                     or view.replays_history)
        if plain and q.providers is None and all(codes is None for codes in q.key):
            return whole_flow(conn, q.flow, dimension_ids)
        if plain:
            return probed(conn, q, dimension_ids, mode)
        found, totals = _found_series(q, view, plain)
        series_count, obs_count, first, last = conn.execute(totals).one()
        codes = {dim: set() for dim in dimension_ids}
        rows = conn.execute(select(series_code.c.position, series_code.c.code).distinct().where(
            series_code.c.flow == q.flow, series_code.c.series_id.in_(found)))
        for position, code in rows:
            if position < len(dimension_ids):
                codes[dimension_ids[position]].add(code)
        if mode == "available":
            for position, codes_asked in enumerate(q.key[:len(dimension_ids)]):
                if codes_asked is None:
                    continue
                key = list(q.key)
                key[position] = None
                widened, _ = _found_series(replace(q, key=tuple(key)), view, plain)
                codes[dimension_ids[position]] = set(conn.execute(
                    select(series_code.c.code).distinct().where(
                        series_code.c.flow == q.flow, series_code.c.position == position,
                        series_code.c.series_id.in_(widened))).scalars())
    return Availability(codes={k: frozenset(v) for k, v in codes.items()},
                        start=from_micros(first), end=from_micros(last),
                        obs_count=int(obs_count or 0), series_count=int(series_count or 0))


def _found_series(q: DataQuery, view: View, plain: bool):
    """(ids of series with data, totals statement) from the per-series summaries when possible."""
    if plain:
        condition = [series_condition(q), series.c.obs_count > 0]
        totals = select(func.count(), func.sum(series.c.obs_count), func.min(series.c.period_first),
                        func.max(series.c.period_last)).where(*condition)
        return select(series.c.series_id).where(*condition), totals
    rows = observation_rows(q, view)
    totals = select(func.count(func.distinct(rows.c.series_id)), func.count(),
                    func.min(rows.c.period_start), func.max(rows.c.period_end))
    return select(rows.c.series_id), totals


def last_modified(engine: Engine, flow: str | None = None) -> datetime | None:
    """When the data last changed (or an embargo lifted): for ETag and Last-Modified."""
    with _reading(engine) as conn:
        changed = select(func.max(flow_summary.c.updated_at))
        if flow is not None:
            changed = changed.where(flow_summary.c.flow == flow)
        released = select(func.max(submission.c.release_at)).where(submission.c.release_at <= _now())
        instants = [v for v in (conn.execute(changed).scalar(), conn.execute(released).scalar())
                    if v is not None]
    return from_micros(max(instants)) if instants else None


class _reading:
    """A short read transaction; database errors come out as StoreError."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def __enter__(self) -> Connection:
        try:
            self.conn = self.engine.connect()
        except (DBAPIError, SQLAlchemyError) as exc:
            raise _translated(exc) from exc
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.conn.close()
        if isinstance(exc, (DBAPIError, SQLAlchemyError)):
            raise _translated(exc) from exc
        return False


def _translated(exc: SQLAlchemyError) -> StoreError:
    if isinstance(exc, DBAPIError):
        return translate(exc)
    return StoreError(f"database error: {exc}")


__all__ = ["ACTION_KEY", "DELETED_ATTRIBUTES", "DELETED_MARK", "Availability", "ObservationVersion",
           "SeriesCursor", "VersionCursor",
           "available", "count", "last_modified"]
