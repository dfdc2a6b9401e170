"""What every data writer needs besides the series: the structure, the flow and the options.

Every data writer has the same shape::

    def write_xxx(series: Iterable[Series], ctx: WriteContext) -> Iterator[bytes]

a generator that yields the message in chunks as it reads the series, so a
response of any size is written in bounded memory.

``series`` is usually one dataset's series (its action is ``ctx.action``).
A message of several datasets (updatedAfter: the changes, then a Delete
dataset; includeHistory: one dataset per write, each valid from or to an
instant) is a ``DataSets`` of ``DataSetPart``: the SDMX-ML and SDMX-JSON
writers write one data set each, SDMX-CSV 2.0 one ACTION per row. A part
marked ``keys_only`` (deletions) is written with keys and periods only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable, Mapping
from uuid import uuid4

from ..model.data import Series
from ..model.query import FULL
from ..model.structure import Codelist, DataStructure, Dataflow, pick_name

TIME_PERIOD = "TIME_PERIOD"
ALL_DIMENSIONS = "AllDimensions"


@dataclass(frozen=True)
class DataSetPart:
    """One data set of a message: its action, its series and when its content was valid."""

    action: str
    series: Iterable[Series]
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    #: Observations named by key and period only, no value and no attribute: the deletions the
    #: store reports (a Delete naming a value or an attribute would delete only that).
    keys_only: bool = False


class DataSets(tuple):
    """The data sets of one message, in order (a tuple of DataSetPart)."""


def dataset_parts(series: Iterable[Series] | DataSets, ctx: "WriteContext") -> tuple[DataSetPart, ...]:
    """What a writer was given, as data sets: one of ``ctx.action`` unless it was given DataSets."""
    return tuple(series) if isinstance(series, DataSets) else (DataSetPart(ctx.action, series),)


def instant_text(moment: datetime) -> str:
    """An xs:dateTime, in UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat()


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


@dataclass(frozen=True)
class WriteContext:
    structure: DataStructure
    dataflow: Dataflow
    #: Codelists by id, for writers that show names (SDMX-JSON, SDMX-CSV labels).
    codelists: Mapping[str, Codelist] = field(default_factory=dict)
    dimension_at_observation: str = TIME_PERIOD
    detail: str = FULL
    languages: tuple[str, ...] = ("en",)
    action: str = "Information"
    prepared: datetime = field(default_factory=_now)
    message_id: str = field(default_factory=lambda: f"MIGSTAT-{uuid4().hex[:12]}")
    sender: str = "MIGSTAT"
    #: SDMX-CSV: "id", "name" or "both" (1.0 knows "id" and "both").
    labels: str = "id"
    #: SDMX-CSV 1.0: "original" or "normalized" TIME_PERIOD.
    time_format: str = "original"
    #: SDMX-CSV 2.0: "none", "obs", "series" or "both" extra key columns.
    keys: str = "none"
    #: Add the ACTION column (SDMX-CSV 2.0) even for Information.
    with_action: bool = False
    #: Dataset-level attributes (dataset attachment).
    dataset_attributes: Mapping[str, str] = field(default_factory=dict)
    #: Names of the components (concept names), for formats that show them.
    component_names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: Links (SDMX-JSON meta.links) to put in the message, e.g. the request URL.
    self_link: str | None = None

    @property
    def flow_ref(self) -> str:
        ref = self.dataflow.ref
        return f"{ref.agency}:{ref.id}({ref.version})"

    def name(self, names: Mapping[str, str]) -> str | None:
        return pick_name(names, self.languages)

    def codelist_of(self, component_id: str) -> Codelist | None:
        comp = self.structure.dimension_by_id.get(component_id) or self.structure.attribute_by_id.get(component_id)
        ref = comp.representation.codelist if comp is not None else None
        return self.codelists.get(ref.id) if ref is not None else None
