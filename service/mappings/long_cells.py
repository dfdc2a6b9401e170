"""Columns of cells of a long file -> periods, values, attributes, a column at a time.

``CellColumns.read`` reads a stretch of rows (a block, or a run of one
key) given column by column: TIME_PERIOD through the period column, values
through the table's value rules, text attributes decoded, coded attributes
through their labels. Each distinct cell text is read once and remembered.
Nothing here reports: a stretch where a cell would need a word in the
report (a period or a label that does not resolve, a value that is no
value, a byte the encoding cannot read) reads as None, and the caller goes
row by row, which reports it at its row.
"""

from __future__ import annotations

from itertools import compress
from operator import not_
from typing import Any, Callable, NamedTuple, Sequence

from .values import OBS_STATUS, BadValue

#: Distinct value cells other than plain digits whose reading (value, attributes) is remembered.
VALUE_CACHE = 4096
#: Distinct texts of a text attribute column whose decoded form is remembered.
TEXT_CACHE = 4096


class Stretch(NamedTuple):
    """What rows ``start`` to ``end`` of a block hold, a list per column."""

    periods: list[str]
    values: list[float | None]
    shared: list[dict[str, str]]  # each observation's attributes shared with others (the table's, the value's)
    columns: dict[str, list[str]]  # per-observation attributes ("" where none), only those any row has
    series_raws: set  # the distinct texts of the series attribute cells


class CellColumns:
    """How the mapped columns of one long read become observations, with the caches of the read."""

    def __init__(self, long_rows):
        rows = long_rows
        self.binary, self.text_of, self.empty = rows.binary, rows.text_of, rows.empty
        self.period_column, self.period_index, self.fixed_period = \
            rows.period_column, rows.period_index, rows.fixed_period
        self.value_index, self.parse, self.obs_fixed = rows.value_index, rows.parse, rows.obs_fixed
        self.obs_text, self.obs_coded, self.series_indexes = rows.obs_text, rows.obs_coded, rows.series_indexes
        self.plain: Callable[[Any], bool] = bytes.isdigit if self.binary else _plain_text
        self.period_cache: dict[Any, str] = {}
        self.value_cache: dict[Any, tuple[float | None, dict[str, str]]] = {}
        self.text_caches: dict[str, dict[Any, str]] = {c: {} for c, _ in self.obs_text}
        self.code_caches: dict[str, dict[Any, str]] = {c.component: {} for c in self.obs_coded}
        self.shared_attrs: dict[tuple, dict[str, str]] = {}
        self.normal = self.attrs_of({OBS_STATUS: "A"})

    def read(self, block: list[Sequence], start: int, end: int) -> Stretch | None:
        """Rows ``start`` to ``end`` of the ``block`` columns, or None when a row needs a word."""
        try:
            return self._read(block, start, end)
        except UnicodeDecodeError:
            return None

    def _read(self, block: list[Sequence], start: int, end: int) -> Stretch | None:
        if not self.series_indexes:
            series_raws: set = {()}
        elif len(self.series_indexes) == 1:
            series_raws = set(block[self.series_indexes[0]][start:end])
        else:
            series_raws = set(zip(*[block[i][start:end] for i in self.series_indexes]))
        if self.period_index >= 0:
            periods = self.periods_of(block[self.period_index][start:end])
            if periods is None:
                return None
        else:
            periods = [self.fixed_period] * (end - start)
        read = self.values_of(block[self.value_index][start:end])
        if read is None:
            return None
        columns: dict[str, list[str]] = {}
        for component, index in self.obs_text:
            raw = block[index][start:end]
            if any(raw):
                texts = self.texts_of(component, raw)
                if any(texts):
                    columns[component] = texts
        for column in self.obs_coded:
            codes = self.codes_of(column, block[column.index][start:end])
            if codes is None:
                return None
            if any(codes):
                columns[column.component] = codes
        return Stretch(periods, read[0], read[1], columns, series_raws)

    def periods_of(self, raw: Sequence) -> list[str] | None:
        cache = self.period_cache
        periods = list(map(cache.get, raw))
        if None in periods:
            for text in set(raw).difference(cache):
                period, _ = self.period_column.code(self.text_of(text))
                if period is None:
                    return None
                cache[text] = period
            periods = list(map(cache.__getitem__, raw))
        return periods

    def period(self, cell: Any) -> tuple[str | None, Any]:
        """(period, None) or (None, why) for one period cell."""
        period = self.period_cache.get(cell)
        if period is not None:
            return period, None
        period, why = self.period_column.code(self.text_of(cell))
        if period is not None:
            self.period_cache[cell] = period
        return period, why

    def values_of(self, raw: Sequence) -> tuple[list, list] | None:
        """Values and shared attributes of value cells; None for a cell that is no value."""
        n = len(raw)
        joined = self.empty.join(raw)
        if all(raw) and joined.isdigit() and (self.binary or joined.isascii()):  # the usual: counts
            return _floats(raw), [self.normal] * n
        others = list(compress(range(n), map(not_, map(self.plain, raw))))
        cells = list(raw)
        zero = b"0" if self.binary else "0"
        for i in others:
            cells[i] = zero
        values, shared = _floats(cells), [self.normal] * n
        for i in others:
            try:
                values[i], shared[i] = self.value(raw[i])
            except BadValue:
                return None
        return values, shared

    def value(self, cell: Any) -> tuple[float | None, dict[str, str]]:
        """(value, shared attributes) of one value cell; raises BadValue."""
        if self.plain(cell):
            return float(cell), self.normal
        hit = self.value_cache.get(cell)
        if hit is None:
            value, value_attrs = self.parse(self.text_of(cell))
            hit = (value, self.attrs_of(value_attrs))
            if len(self.value_cache) < VALUE_CACHE:
                self.value_cache[cell] = hit
        return hit

    def texts_of(self, component: str, raw: Sequence) -> list[str]:
        cache, text_of = self.text_caches[component], self.text_of
        out = []
        for cell in raw:
            if not cell:
                out.append("")
                continue
            text = cache.get(cell)
            if text is None:
                text = text_of(cell).strip()
                if len(cache) < TEXT_CACHE:
                    cache[cell] = text
            out.append(text)
        return out

    def codes_of(self, column, raw: Sequence) -> list[str] | None:
        cache = self.code_caches[column.component]
        codes = list(map(cache.get, raw))
        if None in codes:
            for cell in set(raw).difference(cache):
                text = self.text_of(cell).strip()
                code = column.code(text)[0] if text else ""
                if code is None:
                    return None
                cache[cell] = code
            codes = list(map(cache.__getitem__, raw))
        return codes

    def attrs_of(self, value_attrs) -> dict[str, str]:
        """The table's observation attributes with those of a value, one shared dictionary per distinct set."""
        attrs = {**self.obs_fixed, **value_attrs}
        return self.shared_attrs.setdefault(tuple(attrs.items()), attrs)


def _floats(digits: Sequence) -> list[float]:
    """The values of cells of plain digits (through int, which reads them faster than float does)."""
    try:
        return list(map(float, map(int, digits)))
    except (ValueError, OverflowError):  # thousands of digits: past int's limit, or float's
        return list(map(float, digits))


def _plain_text(cell: str) -> bool:
    return cell.isdigit() and cell.isascii()


def cut(stretch: Stretch, start: int, end: int) -> Stretch:
    """Rows ``start`` to ``end`` of a stretch (counted from its first row)."""
    columns = {}
    for name, texts in stretch.columns.items():
        part = texts[start:end]
        if any(part):
            columns[name] = part
    return Stretch(stretch.periods[start:end], stretch.values[start:end], stretch.shared[start:end], columns,
                   stretch.series_raws)

