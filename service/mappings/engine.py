"""The converter: a mapping and a national file -> series of the common DSD, problems in a Report.

``convert`` reads the source through the layout of the mapping (``table``:
labelled rows under a header; ``long``: one observation per row) and yields
model Series whose observations carry their Origin (file, sheet, row,
column) and a SOURCE_LABEL. Unknown labels, unreadable values and malformed
headers become errors at their row and column; declared consistency checks
become warnings. Everything here takes the structures as arguments: the
catalog is the caller's business.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from types import MemberDescriptorType
from typing import Any, Callable, Iterator, Mapping

from ..model.data import Origin, Series
from ..model.report import Problem, Report
from ..model.structure import OBSERVATION, Codelist, DataStructure, MaintainableRef
from .labels import LabelIndex, Resolution, code_index
from .load import MappingSpec
from .sources import SourceError, TableSource
from .values import ValueParser, ValueRules

TIME_PERIOD = "TIME_PERIOD"
OBS_VALUE = "OBS_VALUE"
SOURCE_LABEL = "SOURCE_LABEL"

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Context:
    """The structures a conversion needs: the DSD and its codelists by reference."""

    structure: DataStructure
    codelists: Mapping[MaintainableRef, Codelist]

    def codelist_of(self, component_id: str) -> Codelist | None:
        comp = (self.structure.dimension_by_id.get(component_id)
                or self.structure.attribute_by_id.get(component_id))
        ref = comp.representation.codelist if comp is not None else None
        return self.codelists.get(ref) if ref is not None else None


class Components:
    """Splits {component: code} into the series key, series attributes and observation attributes."""

    def __init__(self, structure: DataStructure):
        self.dimensions = structure.dimension_ids
        self.series_attributes = {a.id for a in structure.attributes if a.attachment != OBSERVATION}
        self.obs_attributes = {a.id for a in structure.attributes_at(OBSERVATION)}

    def key(self, codes: Mapping[str, str]) -> tuple[str, ...]:
        return tuple(codes.get(d, "") for d in self.dimensions)

    def series_attrs(self, codes: Mapping[str, str]) -> dict[str, str]:
        return {k: v for k, v in codes.items() if k in self.series_attributes and v != ""}

    def obs_attrs(self, codes: Mapping[str, str]) -> dict[str, str]:
        return {k: v for k, v in codes.items() if k in self.obs_attributes and v != ""}


def codes_of(entry: Any, dimension: str | None) -> dict[str, str]:
    """A label map entry (a code of ``dimension``, or {component: code}) as {component: code}."""
    if isinstance(entry, dict):
        return {k: str(v) for k, v in entry.items()}
    if dimension is None:
        return {}
    return {dimension: str(entry)}


class Resolver:
    """Labels -> {component: code} for one context (rows, a section, a header level, a long column)."""

    def __init__(self, ctx: Context, spec: MappingSpec, dimension: str | None, labels: Mapping[str, Any] | None,
                 match: str = "codelist", what: str = "label"):
        self.dimension = dimension
        self.entries: list[dict[str, str]] = []
        explicit = []
        for label, entry in (labels or {}).items():
            self.entries.append(codes_of(entry, dimension))
            explicit.append((label, len(self.entries) - 1))
        show = {i: ",".join(entry.values()) for i, entry in enumerate(self.entries)}
        codelist = ctx.codelist_of(dimension) if dimension else None
        aliases = spec.aliases.get(codelist.ref.id, {}) if codelist is not None else {}
        if match == "labels" or codelist is None:
            self.index = LabelIndex(what).add_tier("mapping's labels", explicit, show)
            if aliases:
                self.index.add_tier("aliases", aliases.items())
        else:
            self.index = code_index(codelist, aliases, explicit, what, show)
        self.cache: dict[str, tuple[dict[str, str] | None, Resolution]] = {}

    def resolve(self, label: str) -> tuple[dict[str, str] | None, Resolution]:
        hit = self.cache.get(label)
        if hit is None:
            found = self.index.resolve(label)
            if not found.ok:
                hit = (None, found)
            elif isinstance(found.target, int):
                hit = (self.entries[found.target], found)
            else:
                hit = ({self.dimension: str(found.target)} if self.dimension else {}, found)
            self.cache[label] = hit
        return hit


def _slot_filler(cls: type) -> Callable[..., Any]:
    """A constructor for a frozen slotted dataclass that fills its slots directly.

    A frozen dataclass sets every field through ``object.__setattr__``; for the
    hundreds of thousands of series of a long extract, filling the slots costs
    half as much. The result is equal to ``cls(*values)``; this is for the four-field
    Series and Origin (any other class gets its own constructor back).
    """
    names = [f.name for f in fields(cls)]
    if len(names) != 4 or not all(isinstance(getattr(cls, n, None), MemberDescriptorType) for n in names):
        return cls
    set0, set1, set2, set3 = (getattr(cls, n).__set__ for n in names)
    new = object.__new__

    def make(v0: Any, v1: Any, v2: Any, v3: Any) -> Any:
        obj = new(cls)
        set0(obj, v0)
        set1(obj, v1)
        set2(obj, v2)
        set3(obj, v3)
        return obj
    return make


#: make_series(key, observations, attributes, origin), make_origin(file, sheet, row, column)
make_series = _slot_filler(Series)
make_origin = _slot_filler(Origin)


def value_parser(spec: MappingSpec) -> ValueParser:
    raw = spec.data.get("values") or {}
    return ValueParser(ValueRules.declared(raw.get("symbols"), raw.get("blank", "error"), raw.get("decimal", ","),
                                           raw.get("footnotes", True)))


def fixed_codes(spec: MappingSpec) -> dict[str, str]:
    """Constants and attributes of the whole table, as text (YAML may have read `0` as a number)."""
    out = {k: str(v) for k, v in (spec.data.get("constants") or {}).items()}
    out.update({k: str(v) for k, v in (spec.data.get("attributes") or {}).items()})
    if isinstance(spec.data.get("time_period"), (str, int)):
        out[TIME_PERIOD] = str(spec.data["time_period"])
    return out


def source_label_prefix(source: TableSource) -> str:
    return source.name + (f"[{source.sheet}]" if source.sheet else "") + "!"


def problem_at(report: Report, code: str, message: str, source: TableSource, row: int | None,
               column: str | None, value: str | None = None, severity: str = "error", **extra: Any) -> None:
    report.add(Problem(code, message, severity, file=source.name, sheet=source.sheet, row=row, column=column,
                       value=value, **extra))


def label_problem(report: Report, found: Resolution, source: TableSource, row: int | None, column: str | None,
                  label: str) -> None:
    problem_at(report, found.problem or "unknown-label", found.message, source, row, column, label,
               suggestions=found.suggestions)


class SeriesCollector:
    """Observations grouped by series key in first-seen order; series attributes must agree."""

    def __init__(self, report: Report, source: TableSource):
        self.report, self.source = report, source
        self.series: dict[tuple[str, ...], tuple[dict[str, str], list]] = {}

    def add(self, key: tuple[str, ...], series_attrs: Mapping[str, str], observation) -> None:
        held = self.series.get(key)
        if held is None:
            self.series[key] = (dict(series_attrs), [observation])
            return
        attrs, observations = held
        for name, value in series_attrs.items():
            if attrs.setdefault(name, value) != value:
                origin = observation.origin or Origin()
                problem_at(self.report, "attribute-conflict", f"series {'.'.join(key)} gets {name} {value!r} here "
                           f"and {attrs[name]!r} elsewhere", self.source, origin.row, origin.column, value)
        observations.append(observation)

    def __iter__(self) -> Iterator[Series]:
        for key, (attrs, observations) in self.series.items():
            yield Series(key, observations, attrs, observations[0].origin if observations else None)


def convert(spec: MappingSpec, source: TableSource, ctx: Context, report: Report,
            progress: Progress | None = None) -> Iterator[Series]:
    """Series of the source under the mapping; problems (with row and column) go to ``report``."""
    if spec.layout == "long":
        from .long import read_long as reader
    else:
        from .table import read_table as reader
    try:
        yield from reader(spec, source, ctx, report, progress)
    except UnicodeDecodeError as exc:
        error = source.decode_error(exc)
        problem_at(report, error.code, str(error), source, error.row, error.column, error.value)
    except SourceError as exc:
        problem_at(report, exc.code, str(exc), source, exc.row, exc.column, exc.value)
    finally:
        source.close()

