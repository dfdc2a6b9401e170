"""A DataQuery as SQL: which series, which observations, in what state.

The observations a query sees come from one of three sources:

- now, no embargo hiding anything: the ``observation`` table itself;
- ``asOf``: the history, replayed: for each observation the latest history
  row recorded at or before the instant, unless that row is a deletion;
- now, with embargoed submissions the viewer may not see: current rows not
  written by those submissions, plus, for observations they did write or
  delete, the latest history row written by anyone else.

``updatedAfter`` adds deletions: observations whose latest (visible)
history row is a deletion recorded after the instant. They come with
``deleted = 1`` and no value or attributes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (ColumnElement, Select, and_, exists, func, literal, null, or_, select, tuple_,
                        union_all)
from sqlalchemy.sql import Subquery

from service.model.query import DataQuery
from service.store.tables import (DELETED, observation, observation_history, series, series_code,
                                  series_history, to_micros)

#: ``changes`` for updatedAfter: everything, only inserts and updates, only deletions.
ALL_CHANGES, UPDATES, DELETIONS = "all", "updates", "deletions"


@dataclass(frozen=True)
class View:
    """Whose eyes and when: the instant asked for and the submissions hidden from the viewer."""

    as_of: int | None = None
    hidden: tuple[int, ...] = ()

    @property
    def replays_history(self) -> bool:
        return self.as_of is not None or bool(self.hidden)


def series_condition(q: DataQuery, skip_position: int | None = None) -> ColumnElement[bool]:
    """The series of the query's flow whose key matches and whose provider is asked for."""
    conditions = [series.c.flow == q.flow]
    for position, codes in enumerate(q.key):
        if codes is None or position == skip_position:
            continue
        conditions.append(series.c.series_id.in_(
            select(series_code.c.series_id).where(series_code.c.flow == q.flow,
                                                  series_code.c.position == position,
                                                  series_code.c.code.in_(list(codes)))))
    if q.providers is not None:
        conditions.append(series.c.provider.in_(list(q.providers)))
    return and_(*conditions)


def matching_series(q: DataQuery, skip_position: int | None = None) -> Select:
    return select(series.c.series_id).where(series_condition(q, skip_position))


def _latest(view: View, h) -> ColumnElement[bool]:
    """``h`` is the latest history row of its observation that the view can see."""
    later = observation_history.alias("later")
    conditions = [later.c.series_id == h.c.series_id, later.c.time_period == h.c.time_period,
                  later.c.history_id > h.c.history_id]
    conditions.extend(_visible_history(view, later))
    return ~exists().where(*conditions)


def _visible_history(view: View, h) -> list[ColumnElement[bool]]:
    conditions = []
    if view.as_of is not None:
        conditions.append(h.c.recorded_at <= view.as_of)
    if view.hidden:
        conditions.append(h.c.submission_id.not_in(view.hidden))
    return conditions


def _history_rows(view: View, ids: Select, h) -> Select:
    return (select(h.c.series_id, h.c.time_period, h.c.period_start, h.c.period_end,
                   h.c.new_value.label("value"), h.c.new_attributes.label("attributes"),
                   h.c.recorded_at.label("updated_at"), literal(0).label("deleted"))
            .where(h.c.series_id.in_(ids), h.c.action != DELETED, _latest(view, h),
                   *_visible_history(view, h)))


def visible_observations(q: DataQuery, view: View) -> Select:
    """(series_id, time_period, period_start, period_end, value, attributes, updated_at, deleted)."""
    ids = matching_series(q)
    o = observation.c
    current = select(o.series_id, o.time_period, o.period_start, o.period_end, o.value, o.attributes,
                     o.updated_at, literal(0).label("deleted")).where(o.series_id.in_(ids))
    if not view.replays_history:
        return current
    h = observation_history.alias("h")
    if view.as_of is not None:
        return _history_rows(view, ids, h)
    # Embargo now: current rows of visible submissions, history for what hidden ones touched.
    touched = observation_history.alias("touched")
    mine = observation.alias("mine")
    replayed = _history_rows(view, ids, h).where(
        tuple_(h.c.series_id, h.c.time_period).in_(
            select(touched.c.series_id, touched.c.time_period)
            .where(touched.c.submission_id.in_(view.hidden))),
        ~exists().where(mine.c.series_id == h.c.series_id, mine.c.time_period == h.c.time_period,
                        mine.c.submission_id.not_in(view.hidden)))
    return union_all(current.where(o.submission_id.not_in(view.hidden)), replayed)


def deleted_observations(q: DataQuery, view: View, after: int) -> Select:
    """Observations whose latest visible history row is a deletion recorded after ``after``."""
    h = observation_history.alias("h")
    return (select(h.c.series_id, h.c.time_period, h.c.period_start, h.c.period_end,
                   null().label("value"), null().label("attributes"),
                   h.c.recorded_at.label("updated_at"), literal(1).label("deleted"))
            .where(h.c.series_id.in_(matching_series(q)), h.c.action == DELETED,
                   h.c.recorded_at > after, _latest(view, h), *_visible_history(view, h)))


def series_attributes(view: View) -> Subquery | None:
    """(series_id, attributes) as the view sees them, or None to read ``series.attributes``."""
    if not view.replays_history:
        return None
    h = series_history.alias("sh")
    later = series_history.alias("sh_later")
    newer = ~exists().where(later.c.series_id == h.c.series_id, later.c.history_id > h.c.history_id,
                            *_visible_history(view, later))
    return (select(h.c.series_id, h.c.new_attributes.label("attributes"))
            .where(newer, *_visible_history(view, h)).subquery("series_attributes"))


def observation_rows(q: DataQuery, view: View, changes: str = ALL_CHANGES) -> Subquery:
    """The observations answering ``q``: period, updatedAfter and first/last N applied."""
    rows = visible_observations(q, view).subquery("visible")
    if q.updated_after is not None:
        after = to_micros(q.updated_after)
        parts = []
        if changes != DELETIONS:
            changed_series = select(series.c.series_id).where(
                series_condition(q), series.c.attributes_updated_at > after)
            parts.append(select(*rows.c).where(
                or_(rows.c.updated_at > after, rows.c.series_id.in_(changed_series))))
        if changes != UPDATES:
            parts.append(deleted_observations(q, view, after))
        rows = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("changed")
    selected = select(*rows.c)
    if q.start is not None:
        selected = selected.where(rows.c.period_end > to_micros(q.start))
    if q.end is not None:
        selected = selected.where(rows.c.period_start < to_micros(q.end))
    if not (q.first_n or q.last_n):
        return selected.subquery("answer")
    by_series = dict(partition_by=rows.c.series_id)
    ranked = selected.add_columns(
        func.row_number().over(order_by=(rows.c.period_start, rows.c.time_period), **by_series)
        .label("rank_first"),
        func.row_number().over(order_by=(rows.c.period_start.desc(), rows.c.time_period.desc()),
                               **by_series).label("rank_last")).subquery("ranked")
    keep = []
    if q.first_n:
        keep.append(ranked.c.rank_first <= q.first_n)
    if q.last_n:
        keep.append(ranked.c.rank_last <= q.last_n)
    columns = [c for c in ranked.c if c.name not in ("rank_first", "rank_last")]
    return select(*columns).where(or_(*keep)).subquery("answer")


def series_statement(q: DataQuery, view: View, changes: str = ALL_CHANGES) -> Select:
    """Series keys (and attributes) that have at least one answering observation, in key order."""
    rows = observation_rows(q, view, changes)
    attributes = series_attributes(view)
    attribute_column = series.c.attributes if attributes is None else attributes.c.attributes
    statement = select(series.c.series_key, attribute_column).where(
        series.c.series_id.in_(select(rows.c.series_id)))
    if attributes is not None:
        statement = statement.outerjoin_from(series, attributes, attributes.c.series_id == series.c.series_id)
    return statement.order_by(series.c.series_key)


def data_statement(q: DataQuery, view: View, changes: str = ALL_CHANGES) -> Select:
    """(series_key, series attributes, time_period, value, attributes, deleted) in key and time order."""
    rows = observation_rows(q, view, changes)
    attributes = series_attributes(view)
    attribute_column = series.c.attributes if attributes is None else attributes.c.attributes
    statement = (select(series.c.series_key, attribute_column, rows.c.time_period, rows.c.value,
                        rows.c.attributes, rows.c.deleted)
                 .join_from(rows, series, series.c.series_id == rows.c.series_id))
    if attributes is not None:
        statement = statement.outerjoin(attributes, attributes.c.series_id == series.c.series_id)
    return statement.order_by(series.c.series_key, rows.c.period_start, rows.c.time_period)
