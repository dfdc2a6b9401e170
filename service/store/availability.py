"""Availability from the indexes: which codes have data, the period range and the counts.

Rule: nothing here reads an observation. A query with no period, updatedAfter, first/last N,
asOf or embargo to honour is answered from the per-series summaries (``series.obs_count``,
``period_first``, ``period_last``), the per-flow summaries (``flow_summary``) and the key index
(``series_code``, keyed on flow, position, code, series):

- the codes in use at each key position are found by walking the key index from one distinct
  code to the next (a seek per code), each kept when a series with that code holds data and
  matches the query's selections: all of them (``mode=exact``) or all but the ones on the
  code's own position (``mode=available``, the values still selectable);
- the counts and the period range come from the series matching every selection, read by
  starting from the position whose selection keeps the smallest share of its codes and checking
  the others by index look-ups (never one list per position of every matching series);
- a query with no selection at all reads ``flow_summary``.

Other queries are answered in ``read.available`` from the observations they select.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from sqlalchemy import Connection, bindparam, func, select, text

from service.model.query import DataQuery
from service.store.tables import flow_summary, from_micros


@dataclass(frozen=True)
class Availability:
    """What data a query would find: codes per dimension, period range, counts."""

    codes: dict[str, frozenset[str]]
    start: datetime | None
    end: datetime | None  # exclusive
    obs_count: int
    series_count: int


#: Every (position, code) of a flow's key index in order, one seek per step.
_WALK = """
WITH RECURSIVE walk(position, code) AS (
  SELECT 0, (SELECT min(s.code) FROM series_code s WHERE s.flow = :flow AND s.position = 0)
  UNION ALL
  SELECT CASE WHEN (SELECT min(s.code) FROM series_code s
                    WHERE s.flow = :flow AND s.position = w.position AND s.code > w.code) IS NULL
              THEN w.position + 1 ELSE w.position END,
         COALESCE((SELECT min(s.code) FROM series_code s
                   WHERE s.flow = :flow AND s.position = w.position AND s.code > w.code),
                  (SELECT min(s.code) FROM series_code s
                   WHERE s.flow = :flow AND s.position = w.position + 1))
  FROM walk w WHERE w.position < :positions
)
SELECT position, code FROM walk
WHERE code IS NOT NULL AND position < :positions"""


def _selection(position: int, name: str, series_id: str) -> str:
    """SQL: the series ``series_id`` has one of the codes ``:name`` at ``position``."""
    return (f"EXISTS (SELECT 1 FROM series_code y{position} WHERE y{position}.flow = :flow AND "
            f"y{position}.position = {position} AND y{position}.code IN :{name} AND "
            f"y{position}.series_id = {series_id})")


def whole_flow(conn: Connection, flow: str, dimension_ids: Sequence[str]) -> Availability:
    """Availability of a whole dataflow: a few rows of flow_summary and a walk of the key index."""
    fs = flow_summary.c
    series_count, obs_count, first, last = conn.execute(
        select(func.sum(fs.series_count), func.sum(fs.obs_count), func.min(fs.period_first),
               func.max(fs.period_last)).where(fs.flow == flow)).one()
    codes: dict[str, set[str]] = {dim: set() for dim in dimension_ids}
    if obs_count:
        for position, code in _codes(conn, flow, len(dimension_ids), {}, None, "exact"):
            codes[dimension_ids[position]].add(code)
    return Availability(codes={k: frozenset(v) for k, v in codes.items()}, start=from_micros(first),
                        end=from_micros(last), obs_count=int(obs_count or 0), series_count=int(series_count or 0))


def probed(conn: Connection, q: DataQuery, dimension_ids: Sequence[str], mode: str) -> Availability:
    """Availability of a query with key selections (and maybe providers), from the indexes only."""
    n = len(dimension_ids)
    selections = {p: tuple(codes) for p, codes in enumerate(q.key[:n]) if codes is not None}
    present: dict[int, set[str]] = {}
    for position, code in conn.execute(text(_WALK), {"flow": q.flow, "positions": n}):
        present.setdefault(position, set()).add(code)
    empty = Availability({dim: frozenset() for dim in dimension_ids}, None, None, 0, 0)
    if any(not set(codes) & present.get(p, set()) for p, codes in selections.items()):
        return empty
    # a selection of every code in use at its position selects nothing
    selections = {p: codes for p, codes in selections.items() if not present.get(p, set()) <= set(codes)}
    if not selections and q.providers is None:
        return whole_flow(conn, q.flow, dimension_ids)
    totals = _totals(conn, q.flow, selections, q.providers, present)
    if not totals[1]:
        return empty
    codes: dict[str, set[str]] = {dim: set() for dim in dimension_ids}
    for position, code in _codes(conn, q.flow, n, selections, q.providers, mode):
        codes[dimension_ids[position]].add(code)
    series_count, obs_count, first, last = totals
    return Availability(codes={k: frozenset(v) for k, v in codes.items()}, start=from_micros(first),
                        end=from_micros(last), obs_count=int(obs_count or 0), series_count=int(series_count or 0))


def _totals(conn: Connection, flow: str, selections: dict[int, tuple[str, ...]],
            providers: tuple[str, ...] | None, present: dict[int, set[str]]):
    """(series, observations, first period start, last period end) of the series matching every selection."""
    params: dict[str, object] = {"flow": flow}
    expanding = []
    if selections:
        driver = min(selections, key=lambda p: len(set(selections[p]) & present[p]) / max(len(present[p]), 1))
        source = (f"series_code d JOIN series t ON t.series_id = d.series_id "
                  f"WHERE d.flow = :flow AND d.position = {driver} AND d.code IN :c{driver}")
    else:
        driver = None
        source = "series t WHERE t.flow = :flow"
    conditions = [source, "t.obs_count > 0"]
    for position, codes in selections.items():
        params[f"c{position}"] = list(codes)
        expanding.append(f"c{position}")
        if position != driver:
            conditions.append(_selection(position, f"c{position}", "t.series_id"))
    if providers is not None:
        params["providers"] = list(providers)
        expanding.append("providers")
        conditions.append("t.provider IN :providers")
    statement = text("SELECT count(*), sum(t.obs_count), min(t.period_first), max(t.period_last) FROM "
                     + " AND ".join(conditions)).bindparams(*(bindparam(name, expanding=True) for name in expanding))
    return conn.execute(statement, params).one()


def _codes(conn: Connection, flow: str, positions: int, selections: dict[int, tuple[str, ...]],
           providers: tuple[str, ...] | None, mode: str):
    """(position, code) of every code with data given the selections (see the module docstring)."""
    params: dict[str, object] = {"flow": flow, "positions": positions}
    expanding = []
    checks = ["x.flow = :flow", "x.position = walk.position", "x.code = walk.code", "t.obs_count > 0"]
    candidates = []  # exact: a code a selection excludes is not looked at
    for position, codes in selections.items():
        params[f"c{position}"] = list(codes)
        expanding.append(f"c{position}")
        # a code's own position is not checked: mode=available widens it, and exact only looks at the
        # codes the selection names
        checks.append(f"(walk.position = {position} OR {_selection(position, f'c{position}', 'x.series_id')})")
        if mode != "available":
            candidates.append(f" AND (walk.position != {position} OR walk.code IN :c{position})")
    if providers is not None:
        params["providers"] = list(providers)
        expanding.append("providers")
        checks.append("t.provider IN :providers")
    statement = text(_WALK + "".join(candidates)
                     + " AND EXISTS (SELECT 1 FROM series_code x JOIN series t ON t.series_id = x.series_id "
                     "WHERE " + " AND ".join(checks) + ")"
                     ).bindparams(*(bindparam(name, expanding=True) for name in expanding))
    return conn.execute(statement, params)
