"""A DataQuery as SQL: which series, which observations, in what state.

An observation's versions are its current row in ``observation`` (valid
from ``updated_at``) and its past versions in ``observation_history``
(valid [valid_from, valid_to), ended by an update or a deletion). What a
query sees:

- now, nothing hidden: the ``observation`` table itself;
- ``asOf`` T: the version valid at T, current or past;
- with embargoed submissions the viewer may not see (the set E): the view
  is that of a world where E's changes have not happened yet. A version
  written by a visible submission is shown when it is valid (now or at T);
  a version written by a visible submission but ended by E stays shown,
  unless a visible submission has since written a newer version or deleted
  the observation.

``updatedAfter`` t adds deletions: observations whose latest visible event
is a deletion after t. They come with ``deleted = 1`` and no value or
attributes. Every write has its own instant, and versions that lived only
inside one write are never recorded, so "later" is a plain comparison of
instants.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (ColumnElement, Select, and_, case, exists, func, literal, null, or_, select, true,
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

    def shown(self, submission_id) -> list[ColumnElement[bool]]:
        """Conditions: ``submission_id`` is a submission the viewer may see."""
        return [submission_id.not_in(self.hidden)] if self.hidden else []

    def by(self, instant) -> list[ColumnElement[bool]]:
        """Conditions: ``instant`` is no later than the instant asked for."""
        return [instant <= self.as_of] if self.as_of is not None else []


#: A key naming a code (or a few) at every position is looked up by its series keys, up to this many.
MAX_KEYS_LOOKED_UP = 1000


def full_keys(q: DataQuery, skip_position: int | None = None) -> list[str] | None:
    """The series keys a key with codes at every position stands for (None: a position is open, or too many)."""
    if not q.key or skip_position is not None or any(codes is None for codes in q.key):
        return None
    keys = [""]
    for position, codes in enumerate(q.key):
        if len(keys) * len(codes) > MAX_KEYS_LOOKED_UP:
            return None
        keys = [f"{k}.{c}" if position else c for k in keys for c in codes]
    return keys


def series_condition(q: DataQuery, skip_position: int | None = None) -> ColumnElement[bool]:
    """The series of the query's flow whose key matches and whose provider is asked for.

    A key with codes at every position (``DataQuery.key`` has one entry per dimension) is
    looked up on the unique (flow, series_key) index; otherwise each constrained position is
    one indexed lookup in ``series_code``.
    """
    conditions = [series.c.flow == q.flow]
    keys = full_keys(q, skip_position)
    if keys is not None:
        conditions.append(series.c.series_key.in_(keys))
    for position, codes in enumerate(q.key if keys is None else ()):
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


def _same(table, h) -> list[ColumnElement[bool]]:
    return [table.c.series_id == h.c.series_id, table.c.time_period == h.c.time_period]


def _created_since(view: View, h, instant, inclusive: bool = False) -> ColumnElement[bool]:
    """A version the viewer sees was written after ``instant`` (by the view's time)."""
    later = observation_history.alias("later")
    current = observation.alias("now_row")
    after_history = later.c.valid_from >= instant if inclusive else later.c.valid_from > instant
    after_current = current.c.updated_at >= instant if inclusive else current.c.updated_at > instant
    return or_(
        exists().where(*_same(later, h), after_history, *view.shown(later.c.submission_id),
                       *view.by(later.c.valid_from)),
        exists().where(*_same(current, h), after_current, *view.shown(current.c.submission_id),
                       *view.by(current.c.updated_at)))


def _deleted_since(view: View, h, instant) -> ColumnElement[bool]:
    """The viewer sees a deletion of the observation after ``instant`` (by the view's time)."""
    later = observation_history.alias("later_deletion")
    return exists().where(*_same(later, h), later.c.ended_by == DELETED, later.c.valid_to > instant,
                          *view.shown(later.c.ended_submission_id), *view.by(later.c.valid_to))


def _columns(table, updated_at):
    return (table.c.series_id, table.c.time_period, table.c.period_start, table.c.period_end,
            table.c.value, table.c.attributes, updated_at.label("updated_at"), literal(0).label("deleted"))


def visible_observations(q: DataQuery, view: View) -> Select:
    """(series_id, time_period, period_start, period_end, value, attributes, updated_at, deleted)."""
    ids = matching_series(q)
    o = observation
    parts = [select(*_columns(o, o.c.updated_at)).where(
        o.c.series_id.in_(ids), *view.by(o.c.updated_at), *view.shown(o.c.submission_id))]
    if not view.replays_history:
        return parts[0]
    h = observation_history.alias("h")
    if view.as_of is not None:  # the past version valid at the instant
        parts.append(select(*_columns(h, h.c.valid_from)).where(
            h.c.series_id.in_(ids), h.c.valid_from <= view.as_of, h.c.valid_to > view.as_of,
            *view.shown(h.c.submission_id)))
    if view.hidden:  # visible versions that hidden submissions ended, still shown
        ended = observation_history.alias("ended")
        parts.append(select(*_columns(ended, ended.c.valid_from)).where(
            ended.c.series_id.in_(ids), ended.c.ended_submission_id.in_(view.hidden),
            ended.c.submission_id.not_in(view.hidden), *view.by(ended.c.valid_to),
            ~_created_since(view, ended, ended.c.valid_from),
            ~_deleted_since(view, ended, ended.c.valid_from)))
    return union_all(*parts)


def deleted_observations(q: DataQuery, view: View, after: int) -> Select:
    """Observations whose latest visible event is a deletion after ``after``."""
    h = observation_history.alias("h")
    return (select(h.c.series_id, h.c.time_period, h.c.period_start, h.c.period_end,
                   null().label("value"), null().label("attributes"),
                   h.c.valid_to.label("updated_at"), literal(1).label("deleted"))
            .where(h.c.series_id.in_(matching_series(q)), h.c.ended_by == DELETED, h.c.valid_to > after,
                   *view.shown(h.c.ended_submission_id), *view.by(h.c.valid_to),
                   ~_created_since(view, h, h.c.valid_to, inclusive=True),
                   ~_deleted_since(view, h, h.c.valid_to)))


def series_attributes(view: View) -> Subquery | None:
    """(series_id, attributes) as the view sees them, or None to read ``series.attributes``."""
    if not view.replays_history:
        return None
    h = series_history.alias("sh")
    later = series_history.alias("sh_later")
    newer = ~exists().where(later.c.series_id == h.c.series_id, later.c.history_id > h.c.history_id,
                            *view.by(later.c.recorded_at), *view.shown(later.c.submission_id))
    return (select(h.c.series_id, h.c.new_attributes.label("attributes"))
            .where(newer, *view.by(h.c.recorded_at), *view.shown(h.c.submission_id))
            .subquery("series_attributes"))


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
    # The series condition repeats what ``rows`` already holds. It lets the planner walk the matching
    # series in key order on the (flow, series_key) index, and each one's observations on theirs, so
    # the answer comes out in order as it is read: the first row at once and memory that does not grow
    # with the answer. Without it SQLite sorted the whole answer before the first row (in memory, as
    # temp_store=MEMORY): ~250 bytes per observation, 450 MB for 1,000,000, held to the response's end.
    # (The flow alone would do that too, but then a full key walked every series of the flow.
    # Answers built from a union or window, updatedAfter and first/lastNObservations, are still sorted.)
    statement = (select(series.c.series_key, attribute_column, rows.c.time_period, rows.c.value,
                        rows.c.attributes, rows.c.deleted)
                 .join_from(rows, series, series.c.series_id == rows.c.series_id)
                 .where(series_condition(q)))
    if attributes is not None:
        statement = statement.outerjoin(attributes, attributes.c.series_id == series.c.series_id)
    return statement.order_by(series.c.series_key, rows.c.period_start, rows.c.time_period)


def version_statement(q: DataQuery, view: View) -> Select:
    """Every version of the matching observations, current and past, for includeHistory.

    (series_key, time_period, value, attributes, submission_id, valid_from,
    valid_to, ended_by) in key, time and version order. A version the viewer
    may not see is left out; one that a hidden submission ended shows as still
    valid; ``asOf`` keeps the versions that had begun by then, as they stood then.
    """
    ids = matching_series(q)
    o, h = observation, observation_history
    current = select(o.c.series_id, o.c.time_period, o.c.period_start, o.c.period_end, o.c.value,
                     o.c.attributes, o.c.submission_id, o.c.updated_at.label("valid_from"),
                     null().label("valid_to"), null().label("ended_by")
                     ).where(o.c.series_id.in_(ids), *view.shown(o.c.submission_id))
    ended_visibly = and_(true(), *view.shown(h.c.ended_submission_id), *view.by(h.c.valid_to))
    past = select(h.c.series_id, h.c.time_period, h.c.period_start, h.c.period_end, h.c.value,
                  h.c.attributes, h.c.submission_id, h.c.valid_from,
                  case((ended_visibly, h.c.valid_to), else_=null()).label("valid_to"),
                  case((ended_visibly, h.c.ended_by), else_=null()).label("ended_by")
                  ).where(h.c.series_id.in_(ids), *view.shown(h.c.submission_id))
    rows = union_all(current, past).subquery("versions")
    conditions = list(view.by(rows.c.valid_from))
    if q.start is not None:
        conditions.append(rows.c.period_end > to_micros(q.start))
    if q.end is not None:
        conditions.append(rows.c.period_start < to_micros(q.end))
    if q.updated_after is not None:
        after = to_micros(q.updated_after)
        conditions.append(or_(rows.c.valid_from > after, rows.c.valid_to > after))
    return (select(series.c.series_key, rows.c.time_period, rows.c.value, rows.c.attributes,
                   rows.c.submission_id, rows.c.valid_from, rows.c.valid_to, rows.c.ended_by)
            .join_from(rows, series, series.c.series_id == rows.c.series_id).where(*conditions)
            .order_by(series.c.series_key, rows.c.period_start, rows.c.time_period, rows.c.valid_from))
