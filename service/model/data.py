"""Data as plain values: series of observations keyed by the DSD's dimensions.

Readers produce these, writers consume them, validation checks them.
Series keys are tuples of codes in the DSD's dimension order (time excluded).
No I/O here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Iterable, Mapping, Sequence

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
