"""SDMX-CSV 1.0 and 2.0 data messages -> DataSets, streamed.

Rule: bytes -> model values, nothing else (see ``reading``); codes are not
checked here. The body is read as a stream of strict UTF-8 (a BOM is
allowed) through the csv module with a capped field size; nothing is held
twice. Columns are matched by component id (a ``labels=both`` header or cell
``ID: Name`` gives its id); a dimension without a column, a column that is
no component of the structure, and multi-valued (``X[]``) columns are
ReadErrors. SERIES_KEY, OBS_KEY, STRUCTURE_NAME and ``labels=name`` columns
(``ID name``) are ignored. A text attribute value the SDMX-CSV writer kept
from spreadsheets by a leading ``'`` gets its text back (``formula_restored``).

Rows become datasets, series and observations:

- a dataset per run of consecutive rows with the same structure and ACTION
  (2.0: I, A, M are Merge, R Replace, D Delete; no column: Merge; 1.0: Merge);
  its dataset-level attributes are those of its first row;
- a Series per run of consecutive rows with the same key and series
  attributes (a key seen again later becomes another Series object with
  the same key; validation reports duplicate observations across them);
- each Observation has ``Origin(row=record number)`` (the line number when
  no field spans lines; the header is row 1); empty OBS_VALUE or NaN is
  None, a non-number is kept as its text for validation to report;
- a row with no TIME_PERIOD, no OBS_VALUE and no observation attribute is a
  series-level row: a Series with no observations carrying its series
  attributes (in a Delete dataset: delete the series or those attributes).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from itertools import chain
from operator import itemgetter
from types import MappingProxyType
from typing import BinaryIO, Iterator

from ..model.data import DELETE, EMPTY, MERGE, Observation, Series
from ..model.structure import DATASET, OBSERVATION, SERIES, DataStructure
from .reading import (
    DSD_URN,
    DataSetStart,
    ReadError,
    StructureLookup,
    Structures,
    dataset_action,
    lazy_datasets,
    new_observation,
    row_origin,
    strip_label,
)
from .sdmx_csv import formula_restored

#: The largest field accepted (csv.field_size_limit is process-wide; this is its value here).
FIELD_LIMIT = 1 << 20
#: Distinct observation-attribute combinations kept as shared mappings.
ATTRIBUTE_CACHE = 4096
#: Columns that are not components.
LEAD_COLUMNS = ("STRUCTURE", "STRUCTURE_ID", "STRUCTURE_NAME", "ACTION", "SERIES_KEY", "OBS_KEY", "DATAFLOW")
TIME_PERIOD = "TIME_PERIOD"

_FIRST = re.compile(r'^\ufeff?"?(STRUCTURE(?:\[[^\]]*\])?|DATAFLOW)"?([,;\t|])')


def read_csv(stream: BinaryIO, lookup: StructureLookup) -> Iterator:
    """The datasets of an SDMX-CSV message (``reading.lazy_datasets``)."""
    return lazy_datasets(_events(stream, lookup))


class Utf8Checked(io.RawIOBase):
    """Passes bytes through, raising ReadError at the first byte that is not UTF-8."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.offset = 0  # bytes passed on
        self.lines = 0  # line breaks passed on

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.stream.read(len(buffer))
        pending = len(self.decoder.getstate()[0])
        try:
            self.decoder.decode(data, not data)
        except UnicodeDecodeError as exc:
            start = exc.start - pending  # offset in ``data`` (negative: inside bytes held back)
            line = self.lines + data[:max(start, 0)].count(b"\n") + 1
            raise ReadError(f"not UTF-8 at byte {self.offset + start} (SDMX-CSV is read as UTF-8)",
                            row=line) from None
        n = len(data)
        buffer[:n] = data
        self.offset += n
        self.lines += data.count(b"\n")
        return n


_ID = re.compile(r"^[A-Za-z0-9_@$\-]+$")


class _Header:
    """The header row: column names, the lead columns, and per structure the component columns."""

    def __init__(self, cells: list[str]):
        names = []
        for position, cell in enumerate(cells):
            name = cell.strip().lstrip("\ufeff")
            if position == 0:
                name = re.sub(r"\[[^\]]*\]$", "", name)
            name = strip_label(name)
            if name.endswith("]"):
                raise ReadError(f"column {name}: multi-valued and multilingual components are not supported",
                                row=1, column=name, code="not-supported")
            names.append(name)
        if not names or names[0] not in ("STRUCTURE", "DATAFLOW"):
            raise ReadError("not SDMX-CSV: the first column must be STRUCTURE (2.0) or DATAFLOW (1.0), found "
                            f"{names[0] if names else 'nothing'!r}", row=1, column=names[0] if names else None)
        self.names = names
        self.version = 2 if names[0] == "STRUCTURE" else 1
        # labels=name (STRUCTURE_NAME present): a coded component's column is followed by one
        # headed by the component's name; which those are is known per structure (_Layout).
        self.name_mode = "STRUCTURE_NAME" in names
        seen: dict[str, int] = {}
        for position, name in enumerate(names):
            if not name:
                raise ReadError(f"column {position + 1} has no name in the header", row=1)
            if name in seen and not (self.name_mode and not _ID.match(name)):
                raise ReadError(f"column {name} appears twice", row=1, column=name)
            seen.setdefault(name, position)
        self.position = seen
        if self.version == 2 and "STRUCTURE_ID" not in seen:
            raise ReadError("no STRUCTURE_ID column", row=1)
        # Columns named "<ID> name" right after a column <ID> (labels=name) carry names only.
        self.ignored = {p for p, n in enumerate(names) if n in LEAD_COLUMNS or
                        (p > 0 and n == f"{names[p - 1]} name")}
        if self.version == 2:
            lead = [seen["STRUCTURE"], seen["STRUCTURE_ID"]] + ([seen["ACTION"]] if "ACTION" in seen else [])
        else:
            lead = [0]
        self.lead_columns = lead[:2]
        self.lead = _getter(lead)

    def layout(self, dsd: DataStructure, row: int) -> _Layout:
        return _Layout(self, dsd, row)


class _Layout:
    """Where each component of one structure is in the rows."""

    def __init__(self, header: _Header, dsd: DataStructure, row: int):
        pos = header.position
        time_id = dsd.time_dimension.id if dsd.time_dimension else TIME_PERIOD
        measure = dsd.measure.id if dsd.measure else "OBS_VALUE"
        ignored = set(header.ignored)
        if header.name_mode:
            ids = {*dsd.dimension_ids, time_id, measure, *dsd.attribute_by_id}
            coded_ids = {c.id for c in (*dsd.dimensions, *dsd.attributes) if c.representation.codelist is not None}
            names = header.names
            ignored |= {p for p in range(1, len(names)) if names[p - 1] in coded_ids and names[p] not in ids}
        columns = {n: p for n, p in pos.items() if p not in ignored}
        for dim in (*dsd.dimension_ids, time_id):
            if dim not in columns:
                raise ReadError(f"no column for dimension {dim} of {dsd.ref}", row=row, column=dim)
        known = {*dsd.dimension_ids, time_id, measure, *dsd.attribute_by_id}
        for name in columns:
            if name not in known:
                raise ReadError(f"column {name!r} is not a component of {dsd.ref}", row=row, column=name, value=name)
        self.key_positions = [columns[d] for d in dsd.dimension_ids]
        self.time = columns[time_id]
        self.value = columns.get(measure)
        coded = {a.id for a in dsd.attributes if a.representation.codelist is not None}
        by_level = {level: [(a.id, columns[a.id], a.id in coded) for a in dsd.attributes
                            if a.attachment == level and a.id in columns]
                    for level in (OBSERVATION, SERIES, DATASET)}
        self.obs_attrs = by_level[OBSERVATION]
        self.series_attrs = by_level[SERIES]
        self.dataset_attrs = by_level[DATASET]
        self.key = _getter(self.key_positions, hashable=False)
        self.obs_get = _getter([p for _, p, _ in self.obs_attrs]) if self.obs_attrs else None
        self.series_get = _getter([p for _, p, _ in self.series_attrs], False) if self.series_attrs else None
        self.cache: dict[tuple[str, ...], object] = {}

    def attributes(self, specs: list, cells: tuple[str, ...]) -> MappingProxyType | dict:
        values = {aid: (strip_label(text) if coded else formula_restored(text))
                  for (aid, _, coded), text in zip(specs, cells) if text}
        return MappingProxyType(values) if values else EMPTY

    def obs_attributes(self, cells: tuple[str, ...]):
        attrs = self.attributes(self.obs_attrs, cells)
        if len(self.cache) < ATTRIBUTE_CACHE:
            self.cache[cells] = attrs
        return attrs

    def series_row(self, row: list[str]) -> bool:
        """No TIME_PERIOD, OBS_VALUE or observation attribute: a row about the series only."""
        if self.value is not None and row[self.value].strip():
            return False
        return not any(row[p] for _, p, _ in self.obs_attrs)


def _getter(positions: list[int], hashable: bool = True):
    """A function row -> the cells at ``positions`` (a tuple; a list slice when allowed and contiguous)."""
    if not hashable and len(positions) > 1 and positions == list(range(positions[0], positions[-1] + 1)):
        return itemgetter(slice(positions[0], positions[-1] + 1))
    if len(positions) == 1:
        only = positions[0]
        return lambda row: (row[only],)
    return itemgetter(*positions)


def _delimiter(first_line: str) -> str:
    match = _FIRST.match(first_line.lstrip())
    return match.group(2) if match else ","


def _number(text: str, delimiter: str) -> float | str | None:
    """A value float() refused: a decimal comma when the separator is not a comma, else the text."""
    stripped = text.strip()
    if not stripped:
        return None
    if delimiter != "," and "," in stripped:
        try:
            return float(stripped.replace(",", "."))
        except ValueError:
            pass
    return text


def _structure(header: _Header, lead: tuple[str, ...], row_no: int) -> tuple[str, str]:
    """The lookup reference and the action of a row's lead cells."""
    if header.version == 1:
        ref = strip_label(lead[0].strip())
        if not ref:
            raise ReadError("no dataflow in the DATAFLOW column", row=row_no, column="DATAFLOW")
        return ref, MERGE
    kind, ref = lead[0].strip().lower(), strip_label(lead[1].strip())
    action = dataset_action(lead[2] if len(lead) > 2 else "", row=row_no, column="ACTION")
    if not ref:
        raise ReadError("no structure in the STRUCTURE_ID column", row=row_no, column="STRUCTURE_ID")
    if kind == "dataflow":
        return ref, action
    if kind == "datastructure":
        return DSD_URN + ref, action
    if kind == "dataprovision":
        raise ReadError("data for a provision agreement is not supported; use STRUCTURE dataflow", row=row_no,
                        column="STRUCTURE", value=lead[0], code="not-supported")
    raise ReadError(f"STRUCTURE {lead[0]!r} is not dataflow, datastructure or dataprovision", row=row_no,
                    column="STRUCTURE", value=lead[0])


def _events(stream: BinaryIO, lookup: StructureLookup) -> Iterator[DataSetStart | Series]:
    csv.field_size_limit(FIELD_LIMIT)
    text = io.TextIOWrapper(io.BufferedReader(Utf8Checked(stream), 1 << 16), encoding="utf-8-sig", newline="")
    first = text.readline(FIELD_LIMIT)
    if not first.strip():
        raise ReadError("no header row", row=1)
    if len(first) >= FIELD_LIMIT and not first.endswith(("\n", "\r")):
        raise ReadError(f"header row longer than {FIELD_LIMIT} characters", row=1)
    delimiter = _delimiter(first)
    reader = csv.reader(chain((first,), text), delimiter=delimiter, strict=True)
    try:
        header = _Header(next(reader))
    except csv.Error as exc:
        raise ReadError(f"malformed CSV: {exc}", row=1) from None
    width = len(header.names)
    lead_get = header.lead
    structures = Structures(lookup)
    layouts: dict[str, _Layout] = {}
    periods: dict[str, str] = {}

    lead: tuple | None = None
    current: tuple[str, str] | None = None
    layout: _Layout | None = None
    key_get = obs_get = series_get = None
    time_i = value_i = 0
    has_value = True
    cache: dict = {}
    last_cells = None
    attrs = EMPTY
    key_raw: tuple | None = None
    series_raw: tuple = ()
    key: tuple[str, ...] = ()
    series_attrs = EMPTY
    observations: list[Observation] = []
    append = observations.append
    row_no = 1
    try:
        for row_no, row in enumerate(reader, 2):
            if len(row) != width:
                if not row or not any(row):
                    continue
                raise ReadError(f"{len(row)} fields where the header has {width}", row=row_no)
            here = lead_get(row)
            if here != lead:
                if not any(row):
                    continue
                lead = here
                ref, action = _structure(header, here, row_no)
                if (ref, action) != current:  # a new dataset (I, A and M rows are all Merge: one dataset)
                    current = (ref, action)
                    if observations:
                        yield Series(key, observations, series_attrs, observations[0].origin)
                    flow, dsd = structures(ref, row=row_no, column=header.names[header.lead_columns[-1]])
                    layout = layouts.get(ref)
                    if layout is None:
                        layout = layouts[ref] = header.layout(dsd, row_no)
                    has_value = layout.value is not None
                    if not has_value and action != DELETE:
                        raise ReadError(f"no {dsd.measure.id if dsd.measure else 'OBS_VALUE'} column: only "
                                        "Delete rows may leave it out", row=row_no)
                    yield DataSetStart(str(flow.ref), action, layout.attributes(
                        layout.dataset_attrs, tuple(row[p] for _, p, _ in layout.dataset_attrs)))
                    key_get, obs_get, series_get = layout.key, layout.obs_get, layout.series_get
                    time_i, value_i, cache = layout.time, layout.value or 0, layout.cache
                    key_raw, observations = None, []
                    append = observations.append
                    last_cells = None
            period = row[time_i]
            if not period and layout.series_row(row):
                if observations:
                    yield Series(key, observations, series_attrs, observations[0].origin)
                cells = series_get(row) if series_get is not None else ()
                yield Series(tuple(map(strip_label, key_get(row))), [],
                             layout.attributes(layout.series_attrs, cells), row_origin(row_no))
                key_raw, observations = None, []
                append = observations.append
                continue
            raw = key_get(row)
            if raw != key_raw or (series_get is not None and series_get(row) != series_raw):
                if observations:
                    yield Series(key, observations, series_attrs, observations[0].origin)
                    observations = []
                    append = observations.append
                key_raw = raw
                key = tuple(map(strip_label, raw))
                series_raw = series_get(row) if series_get is not None else ()
                series_attrs = layout.attributes(layout.series_attrs, series_raw)
            time_period = periods.get(period)
            if time_period is None:
                time_period = strip_label(period)
                if len(periods) < ATTRIBUTE_CACHE:
                    periods[period] = time_period
            if has_value:
                text = row[value_i]
                if text:
                    try:
                        value = float(text)
                        if value != value:
                            value = None
                    except ValueError:
                        value = _number(text, delimiter)
                else:
                    value = None
            else:
                value = None
            if obs_get is not None:
                cells = obs_get(row)
                if cells != last_cells:  # most rows repeat the attributes of the row before
                    last_cells = cells
                    attrs = cache.get(cells)
                    if attrs is None:
                        attrs = layout.obs_attributes(cells)
            else:
                attrs = EMPTY
            append(new_observation(time_period, value, attrs, row_origin(row_no)))
    except csv.Error as exc:
        raise ReadError(f"malformed CSV: {exc}", row=reader.line_num or row_no) from None
    if observations:
        yield Series(key, observations, series_attrs, observations[0].origin)
