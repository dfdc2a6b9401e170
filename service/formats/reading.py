"""Reading data messages: bytes -> DataSets, whatever the format.

Rule: readers turn bytes into model values (``DataSet``, ``Series``,
``Observation`` with an ``Origin`` naming the source row or line) and do
nothing else. They parse safely (no DTDs or entities, capped fields, strict
UTF-8) and they do not check codes, periods or attributes against the
structure: ``model.validate`` does that, and its problems name the row each
reader recorded. What a reader cannot parse is a ``ReadError`` naming the
problem and where (row or line, column or element); the API answers it 400.

Conventions every reader follows:

- the structure reference found in the message goes to a ``StructureLookup``
  as ``AGENCY:ID(VERSION)`` (or ``AGENCY:ID``, a bare id) for a dataflow, and
  as the DataStructure URN (``DSD_URN``) when the message points at a DSD;
  ``None`` back is a ReadError with code ``unknown-structure``;
- dataset actions come out as ``MERGE`` (Information, Append, Merge; CSV
  I/A/M), ``REPLACE`` or ``DELETE``;
- an OBS_VALUE that is not a number is kept as its text in
  ``Observation.value`` (a ``str``) so validation reports it (``bad-value``)
  with its row; an empty value or ``NaN`` is ``None``;
- in a Delete dataset an Observation with value None and no attributes
  deletes that observation; a Series with no observations deletes the
  series (with attributes: only those attribute values); any other value
  present names what to delete (its text kept, e.g. ``-``); an empty code in
  a key is a wildcard. Validation of Delete datasets is the caller's choice.
"""

from __future__ import annotations

import dataclasses
import gc
import io
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import BinaryIO, Callable, Iterable, Iterator, Mapping

from ..model.data import DELETE, EMPTY, MERGE, REPLACE, DataSet, Observation, Origin, Series
from ..model.report import Problem
from ..model.structure import DataStructure, Dataflow

#: Looks a structure reference up: (Dataflow, DataStructure) or None when unknown.
StructureLookup = Callable[[str], "tuple[Dataflow, DataStructure] | None"]

#: How a DSD reference is handed to the lookup (then ``AGENCY:ID(VERSION)``).
DSD_URN = "urn:sdmx:org.sdmx.infomodel.datastructure.DataStructure="

#: Dataset action words and SDMX-CSV letters -> the action a write applies.
ACTIONS = {"information": MERGE, "append": MERGE, "merge": MERGE, "replace": REPLACE, "delete": DELETE,
           "i": MERGE, "a": MERGE, "m": MERGE, "r": REPLACE, "d": DELETE, "": MERGE}

CSV_TYPES = ("application/vnd.sdmx.data+csv", "text/csv", "application/csv")
XML_TYPES = ("application/vnd.sdmx.structurespecificdata+xml", "application/vnd.sdmx.genericdata+xml",
             "application/vnd.sdmx.generictimeseriesdata+xml",
             "application/vnd.sdmx.structurespecifictimeseriesdata+xml", "application/vnd.sdmx.data+xml",
             "application/xml", "text/xml")
JSON_TYPES = ("application/vnd.sdmx.data+json", "application/json")
JSON_VERSIONS = ("1.0.0", "2.0.0")
#: Types that say nothing about the body: the first bytes decide.
SNIFFED_TYPES = ("", "application/octet-stream", "*/*")

#: Bytes looked at to choose a reader (and, for XML, to check the prolog).
HEAD_BYTES = 64 * 1024


class ReadError(ValueError):
    """A message that cannot be read: what is wrong and where, for a 400 answer.

    ``code`` is a slug: ``bad-message`` (syntax, encoding, layout),
    ``unknown-structure`` (the lookup did not know the reference; 404 per the
    data-maintenance draft), ``unsupported-media-type`` (415),
    ``not-supported`` (a valid SDMX feature this service does not take).
    """

    def __init__(self, message: str, *, row: int | None = None, position: int | None = None,
                 column: str | None = None, element: str | None = None, path: str | None = None,
                 value: str | None = None, code: str = "bad-message", unit: str = "row"):
        self.message = message
        self.row, self.position, self.unit = row, position, unit  # a CSV row, or an XML/JSON line and column
        self.column, self.element, self.path = column, element, path  # CSV column, XML element, JSON path
        self.value, self.code = value, code
        super().__init__(self.__str__())

    def where(self) -> str:
        parts = []
        if self.row is not None:
            parts.append(f"{self.unit} {self.row}")
        if self.position is not None:
            parts.append(f"column {self.position}")
        if self.column:
            parts.append(f"column {self.column}")
        if self.element:
            parts.append(f"element {self.element}")
        if self.path:
            parts.append(self.path)
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message

    def problem(self) -> Problem:
        return Problem(self.code, str(self), row=self.row, column=self.column or self.path,
                       object_id=self.element, value=self.value)


@dataclass(frozen=True)
class DataSetStart:
    """A reader's marker: the series that follow belong to a new dataset."""

    dataflow: str
    action: str
    attributes: Mapping[str, str] = field(default_factory=dict)


# -- references and actions --------------------------------------------------------------------

def dataset_action(text: str | None, **where) -> str:
    action = ACTIONS.get((text or "").strip().lower())
    if action is None:
        raise ReadError(f"unknown action {text!r} (expected Information, Append, Merge, Replace, Delete; "
                        "in SDMX-CSV I, A, M, R, D)", value=text, **where)
    return action


_URN = re.compile(r"^urn:sdmx:org\.sdmx\.infomodel\.[a-z]+\.([A-Za-z]+)=(.+)$")


def reference_of_urn(urn: str, **where) -> str:
    """A dataflow URN as ``AGENCY:ID(VERSION)``; a DSD URN unchanged; anything else a ReadError."""
    match = _URN.match(urn.strip())
    if match is None:
        raise ReadError(f"{urn!r} is not an SDMX URN", value=urn, **where)
    cls, ref = match.groups()
    if cls == "Dataflow":
        return ref
    if cls == "DataStructure":
        return DSD_URN + ref
    raise ReadError(f"data for a {cls} is not supported; refer to a dataflow or a data structure",
                    value=urn, code="not-supported", **where)


def reference(agency: str | None, art_id: str | None, version: str | None) -> str:
    """``AGENCY:ID(VERSION)`` from its parts, leaving out what is missing."""
    ref = art_id or ""
    if agency:
        ref = f"{agency}:{ref}"
    if version:
        ref = f"{ref}({version})"
    return ref


class Structures:
    """A lookup with a memory for one read; an unknown reference is a ReadError naming it."""

    def __init__(self, lookup: StructureLookup):
        self.lookup = lookup
        self.found: dict[str, tuple[Dataflow, DataStructure]] = {}

    def __call__(self, ref: str, **where) -> tuple[Dataflow, DataStructure]:
        hit = self.found.get(ref)
        if hit is None:
            hit = self.lookup(ref)
            if hit is None:
                what = "data structure" if ref.startswith(DSD_URN) else "dataflow"
                raise ReadError(f"unknown {what} {ref.removeprefix(DSD_URN)}", value=ref,
                                code="unknown-structure", **where)
            self.found[ref] = hit
        return hit


def catalog_lookup(catalog, dataflow: str | None = None) -> StructureLookup:
    """A lookup over an object with ``dataflow(ref)``, ``structure_of(flow)`` and ``dataflows``.

    A DSD reference resolves to ``dataflow`` (the flow of a per-dataflow
    request) when that flow uses it, else to the only dataflow using it.
    """

    def lookup(ref: str) -> tuple[Dataflow, DataStructure] | None:
        if ref.startswith(DSD_URN):
            dsd_ref = ref.removeprefix(DSD_URN)
            flows = [catalog.dataflow(dataflow)] if dataflow else list(catalog.dataflows)
            flows = [f for f in flows if f is not None and f.structure is not None
                     and (str(f.structure) == dsd_ref or reference(f.structure.agency, f.structure.id, None)
                          == dsd_ref or f.structure.id == dsd_ref)]
            flow = flows[0] if len(flows) == 1 else None
        else:
            flow = catalog.dataflow(ref)
        structure = catalog.structure_of(flow) if flow is not None else None
        return (flow, structure) if structure is not None else None

    return lookup


# -- values ------------------------------------------------------------------------------------

def _slot_built(cls: type, names: tuple[str, ...]):
    """``f(*values)`` -> a ``cls`` with those fields (in ``names`` order), not through its ``__init__``.

    A frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``; setting the slots directly makes the same value
    in half the time, a third of reading a large SDMX-CSV body. If the model
    ever stops being a plain four-field slots dataclass, this is the class
    itself, called with keywords (a test checks both give equal objects).
    """
    descriptors = [cls.__dict__.get(name) for name in names]
    if ({f.name for f in dataclasses.fields(cls)} != set(names) or len(names) != 4
            or hasattr(cls, "__post_init__") or any(type(d).__name__ != "member_descriptor" for d in descriptors)):
        return lambda *values: cls(**dict(zip(names, values)))
    new = object.__new__
    set_0, set_1, set_2, set_3 = (d.__set__ for d in descriptors)

    def built(v0, v1, v2, v3):
        obj = new(cls)
        set_0(obj, v0)
        set_1(obj, v1)
        set_2(obj, v2)
        set_3(obj, v3)
        return obj
    return built


#: ``new_observation(time_period, value, attributes, origin)``, equal to ``Observation(...)``.
new_observation = _slot_built(Observation, ("time_period", "value", "attributes", "origin"))
#: ``row_origin(row)``, equal to ``Origin(row=row)``.
row_origin = partial(_slot_built(Origin, ("file", "sheet", "column", "row")), None, None, None)


@contextmanager
def gc_paused():
    """No cyclic garbage collection while millions of new, long-lived objects are made.

    Collections triggered by allocation would walk every observation read so
    far again and again (a third of the time of a large read); nothing read
    forms cycles, so nothing is lost by waiting.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def number_or_text(text: str) -> float | str | None:
    """OBS_VALUE text as a float; empty or NaN is None; anything else is kept as text for validation."""
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    return None if value != value else value


def strip_label(text: str) -> str:
    """The id of an SDMX-CSV ``labels=both`` cell (``ID: Name``)."""
    return text.partition(": ")[0] if ": " in text else text


class SeriesGrouper:
    """Consecutive observations with the same key and series attributes become one Series.

    A key that comes back later starts another Series object with the same
    key (validation reports duplicate observations across them).
    """

    def __init__(self) -> None:
        self.key: tuple[str, ...] | None = None
        self.attributes: Mapping[str, str] = EMPTY
        self.observations: list[Observation] = []
        self.origin: Origin | None = None

    def add(self, key: tuple[str, ...], attributes: Mapping[str, str], obs: Observation) -> Series | None:
        done = None
        if key != self.key or attributes != self.attributes:
            done = self.flush()
            self.key, self.attributes, self.origin = key, attributes, obs.origin
        self.observations.append(obs)
        return done

    def flush(self) -> Series | None:
        if self.key is None:
            return None
        done = Series(self.key, self.observations, self.attributes, self.origin)
        self.key, self.attributes, self.observations, self.origin = None, EMPTY, [], None
        return done


class SeriesStream:
    """The series of one streamed dataset; reading them after they were skipped is an error, not silence."""

    def __init__(self, series: Iterator[Series]):
        self.series = series
        self.skipped = False

    def __iter__(self) -> SeriesStream:
        return self

    def __next__(self) -> Series:
        if self.skipped:
            raise RuntimeError("these series were skipped when the next dataset was read; read each dataset's "
                               "series before asking for the next dataset (or use read_data)")
        return next(self.series)

    def skip(self) -> None:
        for _ in self.series:
            self.skipped = True


def lazy_datasets(events: Iterable[DataSetStart | Series]) -> Iterator[DataSet]:
    """DataSets whose ``series`` (a SeriesStream) are read as they are iterated, like itertools.groupby.

    Each dataset's series are read before the next dataset is asked for;
    whatever is left then is skipped. A ReadError may come from either loop.
    """
    items = iter(events)
    start = next(items, None)
    if start is None:
        return
    if not isinstance(start, DataSetStart):
        raise TypeError("a reader produced series before any dataset")
    state: dict[str, DataSetStart | None] = {}

    def series() -> Iterator[Series]:
        for item in items:
            if item.__class__ is DataSetStart:
                state["next"] = item
                return
            yield item

    while start is not None:
        state["next"] = None
        stream = SeriesStream(series())
        yield DataSet(start.dataflow, stream, start.action, start.attributes)
        stream.skip()
        start = state["next"]


# -- choosing a reader -------------------------------------------------------------------------

class Prefixed(io.RawIOBase):
    """A binary stream that gives ``head`` again before the rest of ``stream``."""

    def __init__(self, head: bytes, stream: BinaryIO):
        self.head, self.stream = memoryview(head), stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.head[:len(buffer)] if self.head else self.stream.read(len(buffer))
        self.head = self.head[len(data):]
        buffer[:len(data)] = data
        return len(data)


def media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """``type/subtype`` in lower case and the parameters of a Content-Type."""
    if not content_type:
        return "", {}
    pieces = [p.strip() for p in content_type.split(";")]
    params = {}
    for piece in pieces[1:]:
        name, _, value = piece.partition("=")
        params[name.strip().lower()] = value.strip().strip('"')
    return pieces[0].lower(), params


def sniff(head: bytes) -> str:
    """``xml``, ``json`` or ``csv`` from the first bytes of a body."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<") or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "xml"
    if text.startswith((b"{", b"[")):
        return "json"
    return "csv"


def choose_reader(content_type: str | None, head: bytes) -> str:
    mtype, params = media_type(content_type)
    if mtype in CSV_TYPES:
        return "csv"
    if mtype in XML_TYPES:
        return "xml"
    if mtype in JSON_TYPES:
        version = params.get("version")
        if version and version not in JSON_VERSIONS:
            raise ReadError(f"SDMX-JSON data version {version} is not accepted (accepted: "
                            f"{', '.join(JSON_VERSIONS)})", value=content_type, code="unsupported-media-type")
        return "json"
    if mtype in SNIFFED_TYPES:
        return sniff(head)
    raise ReadError(f"media type {content_type!r} is not a data format this service reads (SDMX-CSV 1.0/2.0, "
                    "SDMX-ML 2.1/3.0 data, SDMX-JSON 2.0 data)", value=content_type, code="unsupported-media-type")


def iter_data(body: bytes | BinaryIO, content_type: str | None, lookup: StructureLookup) -> Iterator[DataSet]:
    """The datasets of a message, streamed (see ``lazy_datasets``); JSON is read whole."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        data = bytes(body)
        head, stream = data[:HEAD_BYTES], io.BytesIO(data)
    else:
        head = _read_head(body)
        stream = io.BufferedReader(Prefixed(head, body), 1 << 16)
        data = None
    if not head.strip():
        raise ReadError("the message is empty")
    kind = choose_reader(content_type, head)
    # The readers import this module, so they are imported here.
    if kind == "json":
        from .read_json import read_json
        return read_json(data if data is not None else stream.read(), lookup)
    if kind == "xml":
        from .read_ml import read_ml
        return read_ml(stream, lookup, head)
    from .read_csv import read_csv
    return read_csv(stream, lookup)


def read_data(body: bytes | BinaryIO, content_type: str | None, lookup: StructureLookup) -> list[DataSet]:
    """Every dataset of a message with its series in lists; any ReadError comes before the return."""
    with gc_paused():
        return [DataSet(ds.dataflow, list(ds.series), ds.action, ds.attributes)
                for ds in iter_data(body, content_type, lookup)]


def _read_head(stream: BinaryIO) -> bytes:
    parts: list[bytes] = []
    while (size := sum(map(len, parts))) < HEAD_BYTES and (chunk := stream.read(HEAD_BYTES - size)):
        parts.append(chunk)
    return b"".join(parts)
