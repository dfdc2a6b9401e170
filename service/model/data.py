"""Data as plain values: series of observations keyed by the DSD's dimensions.

Readers produce these, writers consume them, validation checks them.
Series keys are tuples of codes in the DSD's dimension order (time excluded).
The observations of a series may be any sequence of Observation; the
converter of long files gives ``ObservationColumns``, a sequence held column
by column that the validator and the SDMX-CSV writer read without making an
Observation each. No I/O here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Iterable, Iterator, Mapping, Sequence

#: A shared read-only empty mapping.
EMPTY: Mapping[str, str] = MappingProxyType({})

# Dataset actions (SDMX-ML ``action``; SDMX-CSV ACTION column I/A, M, R, D).
APPEND = "Append"
MERGE = "Merge"
REPLACE = "Replace"
DELETE = "Delete"
INFORMATION = "Information"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a value came from in a source file (for reports and provenance)."""

    file: str | None = None
    sheet: str | None = None
    row: int | None = None  # 1-based
    column: str | None = None  # column letter or header label

    def as_where(self) -> dict[str, object]:
        return {k: v for k, v in (("file", self.file), ("sheet", self.sheet),
                                  ("row", self.row), ("column", self.column)) if v is not None}


@dataclass(frozen=True, slots=True)
class Observation:
    time_period: str
    value: float | None
    attributes: Mapping[str, str] = field(default_factory=dict)
    origin: Origin | None = None


@dataclass(frozen=True, slots=True)
class Series:
    key: tuple[str, ...]
    observations: Sequence[Observation]
    attributes: Mapping[str, str] = field(default_factory=dict)
    origin: Origin | None = None


@dataclass(frozen=True)
class DataSet:
    """Series of one dataflow, with the action a write applies to them."""

    dataflow: str  # "AGENCY:ID(VERSION)" or a bare id
    series: Iterable[Series]
    action: str = INFORMATION
    attributes: Mapping[str, str] = field(default_factory=dict)


def format_value(value: float | None) -> str:
    """OBS_VALUE as text: integers without a decimal point, others shortest round-trip."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NaN"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


class RowOrigins(Sequence[Origin]):
    """Where each observation of a column-held series came from: one file, sheet and column, a row each.

    The rows are a list or, for consecutive rows, a ``range``; an Origin is made only when asked for.
    """

    __slots__ = ("file", "sheet", "column", "rows")

    def __init__(self, file: str | None, sheet: str | None, column: str | None, rows: Sequence[int]):
        self.file, self.sheet, self.column, self.rows = file, sheet, column, rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [Origin(self.file, self.sheet, row, self.column) for row in self.rows[index]]
        return Origin(self.file, self.sheet, self.rows[index], self.column)


class NumberedTexts(Sequence[str]):
    """Texts made of one prefix and a number each (``prefix + str(number)``), made when asked for.

    A column of texts like ``"table.csv!J17"`` for every row of a file: those
    who know the class read the prefix and the numbers instead.
    """

    __slots__ = ("prefix", "numbers")

    def __init__(self, prefix: str, numbers: Sequence[int]):
        self.prefix, self.numbers = prefix, numbers

    def __len__(self) -> int:
        return len(self.numbers)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self.prefix + str(number) for number in self.numbers[index]]
        return self.prefix + str(self.numbers[index])

    def longest(self) -> int:
        """The length of the longest text."""
        numbers = self.numbers
        if not numbers:
            return 0
        low, high = (numbers[0], numbers[-1]) if isinstance(numbers, range) else (min(numbers), max(numbers))
        return len(self.prefix) + max(len(str(low)), len(str(high)))


class ObservationColumns(Sequence[Observation]):
    """The observations of one series held column by column, for readers of very long files.

    Observation ``i`` has ``time_period`` ``periods[i]``, ``value`` ``values[i]``,
    the attributes of ``attributes[i]`` (a mapping that many observations
    share) overlaid with every non-empty ``columns[name][i]`` (texts that vary
    from observation to observation, ``""`` where an observation has none),
    and ``origins[i]`` as its origin. It is a Sequence of Observation like any
    other (each made when asked for, with a dictionary of its own); the
    validator and writers that know the columns read them without making one.
    """

    __slots__ = ("periods", "values", "attributes", "columns", "origins")

    def __init__(self, periods: Sequence[str], values: Sequence[float | None],
                 attributes: Sequence[Mapping[str, str]], columns: Mapping[str, Sequence[str]] = EMPTY,
                 origins: Sequence[Origin | None] | None = None):
        self.periods, self.values, self.attributes = periods, values, attributes
        self.columns, self.origins = columns, origins

    def __len__(self) -> int:
        return len(self.periods)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self.observation(i) for i in range(len(self.periods))[index]]
        if index < 0:
            index += len(self.periods)
        return self.observation(index)

    def __iter__(self) -> Iterator[Observation]:
        return map(self.observation, range(len(self.periods)))

    def observation(self, i: int) -> Observation:
        attrs = dict(self.attributes[i])
        for name, texts in self.columns.items():
            if texts[i]:
                attrs[name] = texts[i]
        return Observation(self.periods[i], self.values[i], attrs,
                           self.origins[i] if self.origins is not None else None)

    def attribute(self, i: int, name: str) -> str | None:
        """One attribute of observation ``i`` (None when it has none), without making the observation."""
        texts = self.columns.get(name)
        if texts is not None and texts[i]:
            return texts[i]
        return self.attributes[i].get(name)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ObservationColumns({list(self)!r})"
