"""SDMX-REST 2.x component filters ``c[COMPONENT]=...`` and keys with several parts: parsed, then split
between what the store answers and what the API applies while the answer streams.

Rule: a filter is an OR (``,``) of ANDs (``+``) of terms ``op:value`` (``eq`` when no operator is
given). Where it is answered:

- a coded dimension: every operator is resolved against the codelist into a set of codes, which
  goes to the store as part of ``DataQuery.key`` (its key index answers it);
- TIME_PERIOD: one AND group of ``ge``/``gt``/``le``/``lt``/``eq`` becomes the query's start and
  end (the same overlap rule as startPeriod/endPeriod: ``ge:2015`` keeps periods ending after
  2015 starts); anything else (``ne``, ``co``... or several OR groups) narrows the store query to
  the hull of the groups and is applied to each observation's period while streaming;
- attributes and OBS_VALUE: applied while streaming, an observation attribute on the
  observation (falling back to its series), a series attribute on the series. OBS_VALUE compares
  as a number, everything else as text (codes by their ids, as SDMX-REST says).

Several keys (``A.KZ.*,A.KG.IMM``) go to the store as their hull (the codes of each position
joined) and series outside every key are dropped while streaming.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable, Iterator, Mapping, Sequence

from ..errors import SemanticProblem, SyntaxProblem
from ..model.data import Observation, Series
from ..model.period import parse_end_period, parse_start_period, period_bounds
from ..model.structure import Codelist, DataStructure

OPERATORS = ("eq", "ne", "lt", "le", "gt", "ge", "co", "nc", "sw", "ew")
RANGE_OPERATORS = ("eq", "lt", "le", "gt", "ge")
TIME_PERIOD = "TIME_PERIOD"

Key = tuple[tuple[str, ...] | None, ...]


@dataclass(frozen=True)
class Term:
    op: str
    value: str


#: An OR of AND groups of terms.
Filter = tuple[tuple[Term, ...], ...]


def parse_filters(args: Mapping[str, str] | object) -> dict[str, Filter]:
    """Every ``c[ID]`` query parameter (once per component) as a Filter."""
    filters: dict[str, Filter] = {}
    for name in args:  # type: ignore[union-attr]
        if not name.startswith("c["):
            continue
        if not name.endswith("]") or len(name) < 4:
            raise SyntaxProblem(f"query parameter {name!r} is not of the form c[COMPONENT_ID]")
        values = args.getlist(name) if hasattr(args, "getlist") else [args[name]]  # type: ignore[index]
        if len(values) != 1:
            raise SyntaxProblem(f"{name} is given {len(values)} times; give it once, with ',' between values")
        filters[name[2:-1]] = parse_filter(name, values[0])
    return filters


def parse_filter(name: str, text: str) -> Filter:
    groups = []
    for alternative in text.split(","):
        terms = []
        for part in alternative.replace(" ", "+").split("+"):  # an unencoded '+' arrives as a space
            op, sep, value = part.partition(":")
            if not sep or op not in OPERATORS:
                op, value = "eq", part
            if value == "":
                raise SyntaxProblem(f"{name}={text!r} has an empty value")
            terms.append(Term(op, value))
        groups.append(tuple(terms))
    return tuple(groups)


def compare(op: str, actual, wanted) -> bool:
    """``actual op wanted`` for two texts or two numbers (co/nc/sw/ew on texts)."""
    if op == "eq":
        return actual == wanted
    if op == "ne":
        return actual != wanted
    if op in ("lt", "le", "gt", "ge"):
        return {"lt": actual < wanted, "le": actual <= wanted, "gt": actual > wanted, "ge": actual >= wanted}[op]
    actual, wanted = str(actual), str(wanted)
    if op == "co":
        return wanted in actual
    if op == "nc":
        return wanted not in actual
    if op == "sw":
        return actual.startswith(wanted)
    return actual.endswith(wanted)  # ew


def text_matches(flt: Filter, value: str | None) -> bool:
    """A text (a code, an attribute value) against a filter; a missing value only passes ne and nc."""
    if value is None:
        return any(all(t.op in ("ne", "nc") for t in group) for group in flt)
    return any(all(compare(t.op, value, t.value) for t in group) for group in flt)


def number_matches(flt: Filter, value: float | None) -> bool:
    """OBS_VALUE against a filter: numeric comparison (co/nc/sw/ew on the number's text)."""
    if value is None or value != value:  # missing or NaN
        return text_matches(flt, None)
    for group in flt:
        ok = True
        for t in group:
            if t.op in ("co", "nc", "sw", "ew"):
                ok = compare(t.op, _number_text(value), t.value)
            else:
                try:
                    ok = compare(t.op, value, float(t.value))
                except ValueError:
                    raise SemanticProblem(f"c[OBS_VALUE]: {t.value!r} is not a number") from None
            if not ok:
                break
        if ok:
            return True
    return False


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


# -- time -----------------------------------------------------------------------

def _bounds(text: str) -> tuple[datetime, datetime]:
    try:
        return parse_start_period(text), parse_end_period(text)
    except ValueError as exc:
        raise SyntaxProblem(f"c[TIME_PERIOD]: {text!r} is not a time period: {exc}") from None


def _group_range(group: Sequence[Term]) -> tuple[datetime | None, datetime | None]:
    """[start, end) of the periods an AND group of range terms keeps (overlap rule)."""
    start = end = None
    for t in group:
        first, after = _bounds(t.value)
        low = {"ge": first, "gt": after, "eq": first}.get(t.op)
        high = {"le": after, "lt": first, "eq": after}.get(t.op)
        if low is not None:
            start = low if start is None else max(start, low)
        if high is not None:
            end = high if end is None else min(end, high)
    return start, end


def time_window(flt: Filter) -> tuple[datetime | None, datetime | None, bool]:
    """(start, end, exact): the store's period window for a TIME_PERIOD filter; exact when nothing is left."""
    simple = all(t.op in RANGE_OPERATORS for group in flt for t in group)
    if simple and len(flt) == 1:
        start, end = _group_range(flt[0])
        return start, end, True
    if not simple:
        return None, None, False
    ranges = [_group_range(group) for group in flt]
    starts, ends = [r[0] for r in ranges], [r[1] for r in ranges]
    return (None if None in starts else min(starts)), (None if None in ends else max(ends)), False


def period_matches(flt: Filter, period: str) -> bool:
    try:
        first, after = period_bounds(period)
    except ValueError:
        first = after = None
    for group in flt:
        ok = True
        for t in group:
            if t.op in RANGE_OPERATORS and first is not None:
                low, high = _group_range((t,))
                ok = (low is None or after > low) and (high is None or first < high)
            elif t.op == "ne" and first is not None:
                low, high = _group_range((Term("eq", t.value),))
                ok = not (after > low and first < high)
            else:
                ok = compare(t.op, period, t.value)
            if not ok:
                break
        if ok:
            return True
    return False


# -- the split ----------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """What the store is asked (key hull, period window) and what streaming still has to check."""

    key: Key
    start: datetime | None
    end: datetime | None
    keys: tuple[Key, ...] = ()  # several keys: a series must match one of them
    time_filter: Filter | None = None
    series_filters: tuple[tuple[str, Filter], ...] = ()  # series attributes
    obs_filters: tuple[tuple[str, Filter], ...] = ()  # observation attributes and OBS_VALUE
    empty: bool = False  # a filter no code satisfies: nothing can match

    @property
    def streaming(self) -> bool:
        """True when the store's answer is a superset that streaming narrows (counts are then upper bounds)."""
        return bool(len(self.keys) > 1 or self.time_filter or self.series_filters or self.obs_filters)


def plan(dsd: DataStructure, keys: Sequence[Key], filters: Mapping[str, Filter],
         codelist_of: Callable[[str], Codelist | None], measure: str = "OBS_VALUE") -> Plan:
    """Split keys and filters between the store and the stream (see the module docstring)."""
    dims = dsd.dimension_ids
    known = {*dims, TIME_PERIOD, measure, *(a.id for a in dsd.attributes)}
    for component in filters:
        if component not in known:
            raise SemanticProblem(f"c[{component}]: {dsd.ref.id} has no component {component!r}; its components "
                                  f"are {', '.join(sorted(known))}")
    narrowed: list[Key] = []
    empty = False
    for key in keys or [tuple([None] * len(dims))]:
        entries = list(key)
        for position, dim in enumerate(dims):
            if dim not in filters:
                continue
            codes = _codes(filters[dim], codelist_of(dim), dim)
            entries[position] = codes if entries[position] is None else tuple(
                c for c in entries[position] if c in codes)
            if not entries[position]:
                empty = True
        narrowed.append(tuple(entries))
    hull = tuple(_union([k[p] for k in narrowed]) for p in range(len(dims)))
    start = end = None
    time_filter = None
    if TIME_PERIOD in filters:
        start, end, exact = time_window(filters[TIME_PERIOD])
        if not exact:
            time_filter = filters[TIME_PERIOD]
        if start is not None and end is not None and start >= end:
            empty = True
    series_level = {a.id for a in dsd.attributes if a.attachment in ("series", "dataset")}
    series_filters = tuple((c, f) for c, f in filters.items() if c in series_level)
    obs_filters = tuple((c, f) for c, f in filters.items() if c not in dims and c != TIME_PERIOD
                        and c not in series_level)
    return Plan(hull, start, end, tuple(narrowed) if len(narrowed) > 1 else (), time_filter, series_filters,
                obs_filters, empty)


def _codes(flt: Filter, codelist: Codelist | None, dim: str) -> tuple[str, ...]:
    if codelist is None:
        raise SemanticProblem(f"c[{dim}]: the dimension has no codelist to resolve the filter against")
    return tuple(item.id for item in codelist.items if text_matches(flt, item.id))


def _union(entries: Sequence[tuple[str, ...] | None]) -> tuple[str, ...] | None:
    if any(e is None for e in entries):
        return None
    return tuple(dict.fromkeys(code for e in entries for code in e))  # type: ignore[union-attr]


def apply(series: Iterable[Series], how: Plan) -> Iterator[Series]:
    """The series and observations of ``series`` that pass the streaming part of ``how``."""
    keys = how.keys
    for one in series:
        if keys and not any(all(w is None or c in w for w, c in zip(k, one.key)) for k in keys):
            continue
        if how.series_filters and not all(text_matches(f, one.attributes.get(c)) for c, f in how.series_filters):
            continue
        if how.time_filter is None and not how.obs_filters:
            yield one
            continue
        kept = [o for o in one.observations if _obs_passes(o, one, how)]
        if kept:
            yield Series(one.key, kept, one.attributes)


def _obs_passes(obs: Observation, one: Series, how: Plan) -> bool:
    if how.time_filter is not None and not period_matches(how.time_filter, obs.time_period):
        return False
    for component, flt in how.obs_filters:
        if component == "OBS_VALUE":
            if not number_matches(flt, obs.value):
                return False
        elif not text_matches(flt, obs.attributes.get(component, one.attributes.get(component))):
            return False
    return True
