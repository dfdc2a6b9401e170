"""A data query as plain values: what the REST layer parses and the store answers.

No I/O here: the API builds a DataQuery from a URL, the store turns it into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Sequence

# What a data response carries (SDMX-REST ``detail``).
FULL = "full"
DATA_ONLY = "dataonly"
SERIES_KEYS_ONLY = "serieskeysonly"
NO_DATA = "nodata"
DETAILS = (FULL, DATA_ONLY, SERIES_KEYS_ONLY, NO_DATA)


@dataclass(frozen=True)
class DataQuery:
    """Which observations of one dataflow to return.

    ``key`` has one entry per DSD dimension, in DSD order: ``None`` means any
    code, a tuple means any of those codes (SDMX-REST ``A.KZ+KG..`` syntax).
    ``start``/``end`` are instants: an observation matches when its period
    overlaps [start, end).
    """

    flow: str  # "AGENCY:ID(VERSION)"
    key: Sequence[tuple[str, ...] | None] = ()
    providers: tuple[str, ...] | None = None
    start: datetime | None = None
    end: datetime | None = None
    updated_after: datetime | None = None
    first_n: int | None = None
    last_n: int | None = None
    detail: str = FULL
    as_of: datetime | None = None
    include_history: bool = False
    # Who asks: a provider id sees its own embargoed data; None is the public.
    viewer: str | None = None
    extra: dict = field(default_factory=dict)

    def key_matches(self, series_key: Sequence[str]) -> bool:
        return all(want is None or code in want for want, code in zip(self.key, series_key))
