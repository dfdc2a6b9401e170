"""Data answers about change: updatedAfter, includeHistory and asOf, as the data endpoints give them.

Rule: turn a DataQuery into what a writer takes (series, or ``DataSets``),
with the store cursors it opened and how to close them; no HTTP here
beyond raising the service's errors, and everything that can fail fails
before the first byte.

- ``updatedAfter``: a Replace data set of the observations inserted or
  changed since, then a Delete data set of those deleted since (the first
  approach of the draft's "recommended returned dataset actions", with the
  store read twice: ``changes="updates"`` then ``"deletions"``). SDMX-ML and
  SDMX-JSON write two data sets, SDMX-CSV 2.0 rows with ACTION R and D.
  SDMX-CSV 1.0 has no ACTION column: it is refused (406) when deletions
  would be lost.
- ``includeHistory=true``: one data set per write that changed the
  matching data, in time order: a Replace data set (``validFromDate`` = the
  write's instant) with the versions that write made, preceded by a Delete
  data set (``validToDate`` = the same instant) for the observations it
  deleted. Replaying them in order rebuilds the data at any instant (data
  maintenance draft, data.md: includeHistory). With ``updatedAfter`` too,
  only the versions written and the deletions made since then. Series-level attributes are
  not part of the versions and are left out. The versions are gathered
  before the answer starts, at most the response limit of them; SDMX-CSV,
  which cannot say when a data set was valid, is refused (406), and so are
  firstNObservations/lastNObservations with history (501).
- ``asOf``: the store answers as it stood then (``DataQuery.as_of``); an
  ``updatedAfter`` later than ``asOf`` is a client error (400).
"""

from __future__ import annotations

from itertools import chain
from typing import Callable, Iterable, Iterator

from ..errors import NoResults, NotAcceptable, NotImplementedYet, ResponseTooLarge, SyntaxProblem
from ..formats.context import DataSetPart, DataSets
from ..formats.negotiate import MediaFormat
from ..model.data import Observation, Series
from ..model.query import DataQuery
from ..store import DELETED_ATTRIBUTES, DELETIONS, UPDATES

REPLACE, DELETE = "Replace", "Delete"


def check_query(query: DataQuery, fmt: MediaFormat, store) -> None:
    """Refuse what cannot be answered faithfully, before anything is read."""
    if query.as_of is not None and query.updated_after is not None and query.updated_after > query.as_of:
        raise SyntaxProblem("updatedAfter is later than asOf: ask for changes before the instant asked for")
    csv = fmt.media_type.endswith("+csv")
    if query.include_history:
        if csv:
            raise NotAcceptable("SDMX-CSV cannot say when a data set was valid; ask for includeHistory in SDMX-ML "
                                "or SDMX-JSON")
        if query.first_n or query.last_n:
            raise NotImplementedYet("includeHistory with firstNObservations or lastNObservations")
    elif query.updated_after is not None and csv and fmt.version and fmt.version.startswith("1.") \
            and store.count(query, changes=DELETIONS):
        raise NotAcceptable("observations were deleted since updatedAfter and SDMX-CSV 1.0 has no ACTION column to "
                            "say so; ask for SDMX-CSV 2.0 (application/vnd.sdmx.data+csv;version=2.0.0)")


def answer_rows(store, query: DataQuery, limit: int,
                regroup: Callable[[Iterable[Series]], Iterable[Series]]) -> tuple[object, Callable[[], None]]:
    """(what the writer takes, a function closing the cursors); NoResults when nothing matches."""
    if query.include_history:
        parts = tuple(DataSetPart(p.action, regroup(p.series), p.valid_from, p.valid_to, p.keys_only)
                      for p in history_datasets(store, query, limit))
        if not parts:
            raise NoResults("no data with the given parameters")
        return DataSets(parts), lambda: None
    if query.updated_after is None:
        cursor, rows = _opened(store, query, "all")
        if rows is None:
            raise NoResults("no data with the given parameters")
        return regroup(rows), cursor.close
    opened, parts = [], []
    try:
        for changes, action in ((UPDATES, REPLACE), (DELETIONS, DELETE)):
            cursor, rows = _opened(store, query, changes)
            opened.append(cursor)
            if rows is not None:
                parts.append(DataSetPart(action, regroup(rows), keys_only=action == DELETE))
    except BaseException:
        for cursor in opened:
            cursor.close()
        raise

    def close() -> None:
        for one in opened:
            one.close()

    if not parts:
        close()
        raise NoResults("nothing changed after updatedAfter with the given parameters")
    return DataSets(parts), close


def _opened(store, query: DataQuery, changes: str):
    """An entered cursor and its series (None when empty), the first one already read."""
    cursor = store.query(query, changes=changes).__enter__()
    try:
        series = iter(cursor)
        first = next(series, None)
    except BaseException:
        cursor.close()
        raise
    if first is None:
        cursor.close()
        return cursor, None
    return cursor, chain([first], series)


def history_datasets(store, query: DataQuery, limit: int) -> list[DataSetPart]:
    """The data sets of an includeHistory answer, in time order (deletions first at one instant)."""
    buckets: dict[tuple, list[tuple[tuple[str, ...], Observation]]] = {}
    count = 0
    after = query.updated_after
    with store.versions(query) as versions:
        for version in versions:
            count += 1
            if count > limit:
                raise ResponseTooLarge(f"the history of this query holds more than {limit:,} versions; narrow it by "
                                       "key, startPeriod/endPeriod or updatedAfter")
            if after is None or version.valid_from > after:  # with updatedAfter: what began since
                buckets.setdefault((version.valid_from, 1), []).append(
                    (version.series_key, Observation(version.time_period, version.value, version.attributes)))
            if version.ended_by == "D" and version.valid_to is not None:
                buckets.setdefault((version.valid_to, 0), []).append(
                    (version.series_key, Observation(version.time_period, None, DELETED_ATTRIBUTES)))
    parts = []
    for instant, kind in sorted(buckets):
        series = list(_grouped(buckets[(instant, kind)]))
        parts.append(DataSetPart(DELETE, series, valid_to=instant, keys_only=True) if kind == 0
                     else DataSetPart(REPLACE, series, valid_from=instant))
    return parts


def _grouped(pairs: list[tuple[tuple[str, ...], Observation]]) -> Iterator[Series]:
    """Consecutive observations of one key as a Series (the versions come in key and time order)."""
    key, observations = None, []
    for series_key, observation in pairs:
        if series_key != key:
            if key is not None:
                yield Series(key, observations)
            key, observations = series_key, []
        observations.append(observation)
    if key is not None:
        yield Series(key, observations)
