"""Rows of a long file -> series whose observations are held column by column.

``LongRows.series`` reads the data rows under the header a block at a time
(``sources``), each block turned into columns. Consecutive rows with the
same key cells form a run. A block is read at once (``long_cells``) when
nothing in it needs a word in the report: its periods and value cells read
cleanly, its attribute labels resolve, one set of series attribute cells;
each run is then a cut of it. Otherwise each run is read at once on the
same terms, and a run that still needs a word goes row by row (``row``),
exactly as the careful path always read: problems in row order, a row with
a bad value or period dropped, a series starting at its first row that is
kept. Either way a series comes out as one ObservationColumns with
RowOrigins and SOURCE_LABEL as NumberedTexts, and rows with the same key
form one series as long as they follow one another.
"""

from __future__ import annotations

from itertools import compress, islice
from operator import itemgetter, ne
from typing import Any, Callable, Iterator, Sequence

from ..model.data import NumberedTexts, ObservationColumns, Origin, RowOrigins, Series
from ..model.report import Report
from .checks import Checks
from .engine import (
    OBS_VALUE,
    SOURCE_LABEL,
    TIME_PERIOD,
    Components,
    fixed_codes,
    label_problem,
    make_origin,
    make_series,
    problem_at,
    source_label_prefix,
    value_parser,
)
from .load import MappingSpec
from .long_cells import TEXT_CACHE, CellColumns, Stretch, cut
from .sources import TableSource, column_letter
from .values import BadValue

PROGRESS_EVERY = 100_000


def _getter(indexes: list[int]) -> Callable[[list], Any]:
    """itemgetter of the indexes: a tuple for several, the cell for one, () for none."""
    return itemgetter(*indexes) if indexes else (lambda cells: ())


class LongRows:
    """The state of one long read: the mapped columns, caches, and the series being built."""

    def __init__(self, spec: MappingSpec, source: TableSource, structure, report: Report, columns: dict,
                 binary: bool, progress: Callable[[int], None] | None):
        self.report, self.source, self.binary, self.progress = report, source, binary, progress
        encoding = source.encoding or "utf-8"
        self.text_of: Callable[[Any], str] = (lambda cell: cell.decode(encoding)) if binary else (lambda cell: cell)
        self.empty: Any = b"" if binary else ""
        components = Components(structure)
        fixed = fixed_codes(spec)
        dims = components.dimensions
        self.key_columns = [columns[d] for d in dims if d in columns]
        self.dim_slots = [dims.index(c.component) for c in self.key_columns]
        self.base_key = [fixed.get(d, "") for d in dims]
        self.period_column = columns.get(TIME_PERIOD)
        self.period_index = self.period_column.index if self.period_column is not None else -1
        self.fixed_period = fixed.get(TIME_PERIOD, "")
        self.value_index = columns[OBS_VALUE].index
        self.value_letter = column_letter(self.value_index)
        self.series_columns = [c for c in columns.values() if c.component in components.series_attributes]
        self.get_series_raw = _getter([c.index for c in self.series_columns])
        obs_columns = [c for c in columns.values() if c.component in components.obs_attributes]
        self.obs_text = [(c.component, c.index) for c in obs_columns if c.resolver is None and c.pattern is None]
        self.obs_coded = [c for c in obs_columns if c.resolver is not None or c.pattern is not None]
        self.series_fixed = components.series_attrs(fixed)
        self.obs_fixed = components.obs_attrs(fixed)
        self.width = max(c.index for c in columns.values()) + 1
        self.parse = value_parser(spec).parse
        self.checks = Checks(spec.data.get("checks") or [], structure)
        self.with_label = spec.data.get("source_label", True)
        self.label_prefix = source_label_prefix(source) + self.value_letter
        #: the per-observation attribute columns, in the order they override the shared attributes (then
        #: SOURCE_LABEL, the value's place)
        self.column_order = [c for c, _ in self.obs_text] + [c.component for c in self.obs_coded]
        self.key_cache: dict[Any, tuple[str, ...]] = {}
        self.key_indexes = [c.index for c in self.key_columns]
        self.series_indexes = [c.index for c in self.series_columns]
        self.series_attr_cache: dict[Any, dict[str, str]] = {}
        self.cell_caches: list[dict[Any, tuple[str | None, Any]]] = [{} for _ in self.key_columns]
        self.cells = CellColumns(self)
        self.next_progress = PROGRESS_EVERY
        # the series being built
        self.key: tuple[str, ...] | None = None
        self.attrs: dict[str, str] = {}
        self.series_raw: Any = None
        self.periods: list[str] = []
        self.values: list[float | None] = []
        self.bases: list[dict[str, str]] = []
        self.rows: list[int] = []
        self.columns: dict[str, list[str]] = {}

    # -- the stream ------------------------------------------------------
    def series(self, blocks: Iterator[tuple[Sequence[int], list[list]]]) -> Iterator[Series]:
        """The series of blocks of (row numbers, rows of cells), in the order their rows come."""
        width, key_indexes, key_cache, read = self.width, self.key_indexes, self.key_cache, self.cells.read
        for numbers, rows in blocks:
            if not rows:
                continue
            if min(map(len, rows)) < width:
                numbers, rows = self.complete(numbers, rows)
                if not rows:
                    continue
            columns = list(zip(*rows))  # the block a column at a time (every row has ``width`` cells or more)
            if len(key_indexes) == 1:
                raws: Sequence = columns[key_indexes[0]]
            else:
                raws = list(zip(*[columns[i] for i in key_indexes])) if key_indexes else [()] * len(rows)
            # where the key cells change (sorted extracts repeat them row after row)
            ends = [*compress(range(1, len(raws)), map(ne, islice(raws, 1, None), raws)), len(raws)]
            whole = read(columns, 0, len(rows))  # the block at once, when no row in it needs a word
            if whole is not None and len(whole.series_raws) != 1:
                whole = None
            start = 0
            for end in ends:
                raw = raws[start]
                key = key_cache.get(raw)
                if key is None:
                    key = self.resolve_key(numbers[start], raw)
                    if key is None:  # every row says so, as it comes
                        for i in range(start, end):
                            if i > start:
                                self.resolve_key(numbers[i], raw)
                            self.row(numbers[i], rows[i], None)
                        start = end
                        continue
                    key_cache[raw] = key
                stretch = cut(whole, start, end) if whole is not None else read(columns, start, end)
                if stretch is not None and len(stretch.series_raws) == 1 and (
                        key != self.key or self.series_raw in stretch.series_raws):
                    if key != self.key:
                        if self.key is not None:
                            yield self.finish()
                        self.start(key, numbers[start], rows[start], stretch, numbers[start:end])
                    else:
                        self.extend(stretch, numbers[start:end])
                else:
                    for i in range(start, end):
                        done = self.row(numbers[i], rows[i], key)
                        if done is not None:
                            yield done
                start = end
            if self.progress is not None and numbers[-1] >= self.next_progress:
                self.progress(numbers[-1])
                self.next_progress = (numbers[-1] // PROGRESS_EVERY + 1) * PROGRESS_EVERY
        if self.key is not None:
            yield self.finish()
        if self.checks:
            self.checks.finish(self.report)

    def complete(self, numbers: Sequence[int], rows: list[list]) -> tuple[list[int], list[list]]:
        """The rows without blank ones, short ones filled with empty cells."""
        width, pad = self.width, self.empty
        kept_numbers, kept = [], []
        for number, cells in zip(numbers, rows):
            if len(cells) < width:
                if not any(c.strip() for c in cells):
                    continue
                cells = cells + [pad] * (width - len(cells))
            kept_numbers.append(number)
            kept.append(cells)
        return kept_numbers, kept

    # -- row by row ------------------------------------------------------
    def resolve_key(self, row_no: int, raw: Any) -> tuple[str, ...] | None:
        """The key of the key cells ``raw``; None when a cell does not resolve (said at ``row_no``)."""
        texts = raw if isinstance(raw, tuple) else (raw,)
        key = list(self.base_key)
        for slot, cache, text in zip(self.dim_slots, self.cell_caches, texts):
            found = cache.get(text)
            if found is None or found[0] is None:
                return self.resolve_key_cells(row_no, texts)
            key[slot] = found[0]
        return tuple(key)

    def resolve_key_cells(self, row_no: int, texts: tuple) -> tuple[str, ...] | None:
        key = list(self.base_key)
        ok = True
        for slot, column, cache, text in zip(self.dim_slots, self.key_columns, self.cell_caches, texts):
            found = cache.get(text)
            if found is None:
                found = cache[text] = column.code(self.text_of(text))
            code, why = found
            if code is None:
                self.fail(row_no, column, self.text_of(text), why)
                ok = False
            else:
                key[slot] = code
        return tuple(key) if ok else None

    def row(self, row_no: int, cells: list, key: tuple[str, ...] | None) -> Series | None:
        """One row read carefully; the series it ends, if it starts another."""
        text_of = self.text_of
        if self.period_index >= 0:
            period, why = self.cells.period(cells[self.period_index])
            if period is None:
                self.fail(row_no, self.period_column, text_of(cells[self.period_index]), why)
                return None
        else:
            period = self.fixed_period
        try:
            value, base = self.cells.value(cells[self.value_index])
        except BadValue as exc:
            problem_at(self.report, "bad-value", str(exc), self.source, row_no, self.value_letter,
                       text_of(cells[self.value_index]).strip(), expected=exc.expected)
            return None
        if key is None:
            return None
        columns = {}
        for component, index in self.obs_text:
            if cells[index]:
                columns[component] = [text_of(cells[index]).strip()]
        if self.obs_coded:
            columns.update((k, [v]) for k, v in self.attrs_at(self.obs_coded, cells, row_no).items())
        done = None
        if key != self.key:
            if self.key is not None:
                done = self.finish()
            self.start(key, row_no, cells)
        elif self.series_columns and self.get_series_raw(cells) != self.series_raw:
            self.attrs = dict(self.attrs)  # this series' own from now on
            for name, text in self.attrs_at(self.series_columns, cells, row_no).items():
                if self.attrs.setdefault(name, text) != text:
                    problem_at(self.report, "attribute-conflict", f"{name} {text!r} differs from "
                               f"{self.attrs[name]!r} earlier in the same series", self.source, row_no, None, text)
        self.extend(Stretch([period], [value], [base], columns, set()), [row_no])
        return done

    def attrs_at(self, columns: list, cells: list, row_no: int) -> dict[str, str]:
        out = {}
        for column in columns:
            text = self.text_of(cells[column.index]).strip()
            if not text:
                continue
            code, why = column.code(text)
            if code is None:
                self.fail(row_no, column, text, why)
            else:
                out[column.component] = code
        return out

    def fail(self, row_no: int, column, text: str, why: Any) -> None:
        if isinstance(why, str):
            problem_at(self.report, "bad-code", why, self.source, row_no, column_letter(column.index), text)
        else:
            label_problem(self.report, why, self.source, row_no, column_letter(column.index), text)

    # -- the series being built ------------------------------------------
    def start(self, key: tuple[str, ...], row_no: int, cells: list, stretch: Stretch | None = None,
              numbers: Sequence[int] = ()) -> None:
        """A new series from the row ``cells`` on, with the observations of ``stretch`` if given."""
        self.key = key
        self.series_raw = raw = self.get_series_raw(cells)
        attrs = self.series_attr_cache.get(raw)
        if attrs is None:
            errors = self.report.error_count
            attrs = {**self.series_fixed, **self.attrs_at(self.series_columns, cells, row_no)}
            if self.report.error_count == errors and len(self.series_attr_cache) < TEXT_CACHE:
                self.series_attr_cache[raw] = attrs
        self.attrs = attrs  # shared by the series with the same cells; copied before it changes
        if stretch is None:
            self.periods, self.values, self.bases, self.rows, self.columns = [], [], [], [], {}
        else:  # the lists of a stretch are its own
            self.periods, self.values, self.bases, self.columns = stretch[:4]
            self.rows = list(numbers)
            if self.checks:
                self.observe(stretch, numbers)

    def extend(self, stretch: Stretch, numbers: Sequence[int]) -> None:
        held = len(self.periods)
        for name, texts in stretch.columns.items():
            mine = self.columns.get(name)
            if mine is None:
                self.columns[name] = [""] * held + texts
            else:
                mine += texts
        if len(stretch.columns) < len(self.columns):
            blank = [""] * len(stretch.periods)
            for name, mine in self.columns.items():
                if name not in stretch.columns:
                    mine += blank
        self.periods += stretch.periods
        self.values += stretch.values
        self.bases += stretch.shared
        self.rows += numbers
        if self.checks:
            self.observe(stretch, numbers)

    def observe(self, stretch: Stretch, numbers: Sequence[int]) -> None:
        """The declared consistency checks see the observations of a stretch."""
        name, sheet, letter, key = self.source.name, self.source.sheet, self.value_letter, self.key
        for period, value, row_no in zip(stretch.periods, stretch.values, numbers):
            self.checks.observe(key, period, value, Origin(name, sheet, row_no, letter))

    def finish(self) -> Series:
        rows = self.rows
        if rows[-1] - rows[0] == len(rows) - 1:  # rows only go forward: these are consecutive
            rows = range(rows[0], rows[-1] + 1)
        name, sheet, letter = self.source.name, self.source.sheet, self.value_letter
        held = self.columns
        columns: dict[str, Sequence[str]] = {attr: held[attr] for attr in self.column_order if attr in held} \
            if held else {}
        if self.with_label:
            columns[SOURCE_LABEL] = NumberedTexts(self.label_prefix, rows)
        observations = ObservationColumns(self.periods, self.values, self.bases, columns,
                                          RowOrigins(name, sheet, letter, rows))
        return make_series(self.key, observations, self.attrs, make_origin(name, sheet, rows[0], letter))
