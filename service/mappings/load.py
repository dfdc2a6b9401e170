"""Mapping files: YAML read, checked against the shipped JSON Schema, aliases attached.

Every problem of a mapping file is reported at once, each with its path in
the file (``table.rows.labels.Ресей``) and its line, in a Report carried by
MappingFileError. Nothing here knows the catalog: whether the codes exist
is for ``check``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import jsonschema
import yaml

from ..model.report import Report
from .sources import SourceSpec

SCHEMA_PATH = Path(__file__).with_name("schema.json")
#: YAML's safe loader, in C where libyaml is there (the same documents, read several times faster).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ALIASES_FILE = "aliases.yaml"
_CODE = re.compile(r"^[A-Za-z0-9_@$\-]+$")


class MappingFileError(Exception):
    """A mapping (or its aliases) cannot be used; ``report`` lists every problem."""

    def __init__(self, report: Report):
        super().__init__(f"{report.error_count} problem(s) in the mapping")
        self.report = report


@dataclass(frozen=True)
class MappingSpec:
    """One validated mapping file."""

    path: Path
    data: Mapping[str, Any]
    aliases: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # codelist id -> label -> code
    aliases_path: Path | None = None
    #: line of a path of keys in the file (for problems found later, e.g. by ``check``)
    lines: Callable[[list], int | None] = field(default=lambda where: None, compare=False, repr=False)

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def country(self) -> str:
        return self.data["country"]

    @property
    def dataflow(self) -> str:
        return self.data["dataflow"]

    @property
    def layout(self) -> str:
        return self.data["layout"]

    @property
    def source(self) -> SourceSpec:
        raw = self.data.get("source") or {}
        return SourceSpec(raw.get("format"), raw.get("encoding", "auto"), raw.get("delimiter", "auto"),
                          raw.get("sheet"))

    def examples(self) -> list[Path]:
        return [self.path.parent / name for name in self.data.get("examples") or []]


@lru_cache(maxsize=1)
def mapping_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def load_mapping(path: Path | str) -> MappingSpec:
    """Read and check one mapping file; raises MappingFileError with every problem found."""
    path = Path(path)
    report = Report()
    data, lines = _read_yaml(path, report)
    if data is None:
        raise MappingFileError(report)
    data = _string_keys(data)
    validator = jsonschema.Draft202012Validator(mapping_schema())
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        where = list(error.absolute_path)
        report.error("schema", _schema_message(error), file=str(path), object_id=_dotted(where) or "(top)",
                     row=lines(where), expected=_expected(error))
    if report.valid:
        for where, pattern in _regexes(data):
            try:
                re.compile(pattern)
            except re.error as exc:
                report.error("bad-regex", f"regular expression {pattern!r}: {exc}", file=str(path),
                             object_id=_dotted(where), row=lines(where), value=pattern)
    aliases, aliases_path = {}, None
    if report.valid:
        aliases_path = path.parent / data.get("aliases", ALIASES_FILE)
        if aliases_path.is_file():
            aliases = load_aliases(aliases_path, report)
        elif "aliases" in data:
            report.error("missing-file", f"aliases file {aliases_path} does not exist", file=str(path),
                         object_id="aliases", row=lines(["aliases"]))
        else:
            aliases_path = None
    if not report.valid:
        raise MappingFileError(report)
    return MappingSpec(path, data, aliases, aliases_path, lines)


def load_aliases(path: Path, report: Report) -> dict[str, dict[str, str]]:
    """A country's aliases: ``{codelist id: {national label: code}}``."""
    data, lines = _read_yaml(path, report)
    if data is None:
        return {}
    if not isinstance(data, dict):
        report.error("schema", "an aliases file maps codelist ids to {label: code}", file=str(path), row=1)
        return {}
    out: dict[str, dict[str, str]] = {}
    for cl_id, table in data.items():
        if not isinstance(table, dict):
            report.error("schema", f"{cl_id}: expected a mapping of labels to codes", file=str(path),
                         object_id=str(cl_id), row=lines([cl_id]))
            continue
        out[str(cl_id)] = {}
        for label, code in table.items():
            if not isinstance(code, (str, int)) or not _CODE.match(str(code)):
                report.error("schema", f"{cl_id}.{label}: {code!r} is not a code", file=str(path),
                             object_id=f"{cl_id}.{label}", row=lines([cl_id, label]), value=str(code))
                continue
            out[str(cl_id)][str(label)] = str(code)
    return out


def _read_yaml(path: Path, report: Report):
    """(data, lines) where lines(path in the data) gives the 1-based line of that node."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        report.error("missing-file", f"{path} does not exist", file=str(path))
        return None, None
    except UnicodeDecodeError as exc:
        report.error("unreadable-file", f"{path} is not UTF-8: {exc}", file=str(path))
        return None, None
    try:
        node = yaml.compose(text, Loader=SAFE_LOADER)
        data = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        report.error("bad-yaml", f"{path.name} is not valid YAML: {exc}", file=str(path),
                     row=mark.line + 1 if mark is not None else None)
        return None, None
    if not isinstance(data, dict):
        report.error("schema", f"{path.name} must hold a mapping at the top level", file=str(path), row=1)
        return None, None
    return data, lambda where: _line(node, where)


def _line(node: Any, where: Iterable[Any]) -> int | None:
    """The line of the YAML node at a path of keys and indices (the nearest existing ancestor)."""
    line = node.start_mark.line + 1 if node is not None else None
    for step in where:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if str(k.value) == str(step)), None)
            if found is None:
                break
            node = found[1]
            line = found[0].start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _string_keys(value: Any) -> Any:
    """YAML reads `2017:` or `0:` keys as numbers; labels and codes are text."""
    if isinstance(value, dict):
        return {str(k): _string_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_string_keys(v) for v in value]
    return value


def _dotted(where: list) -> str:
    return ".".join(str(p) for p in where)


def _schema_message(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        return error.message.replace("Additional properties are not allowed", "unknown key(s)")
    if error.validator == "oneOf" and error.context:
        best = min(error.context, key=lambda e: len(list(e.absolute_path)))
        return f"{best.message} (or another accepted form)"
    message = error.message
    return message if len(message) < 300 else message[:297] + "..."


def _expected(error: jsonschema.ValidationError) -> str | None:
    schema = error.schema if isinstance(error.schema, dict) else {}
    return schema.get("description") if isinstance(schema.get("description"), str) else None


def _regexes(data: Mapping[str, Any]) -> Iterable[tuple[list, str]]:
    """Every regular expression a valid mapping holds, with its path."""
    table = data.get("table") or {}
    for key in ("title", "skip", "ignore_columns"):
        yield from _listed(table.get(key), ["table", key])
    for pattern in table.get("units") or {}:
        yield ["table", "units", pattern], pattern
    header = table.get("header") or {}
    if header.get("find"):
        yield ["table", "header", "find"], header["find"]
    for i, level in enumerate(header.get("levels") or []):
        if level.get("pattern"):
            yield ["table", "header", "levels", i, "pattern"], level["pattern"]
    yield from _listed((table.get("rows") or {}).get("groups"), ["table", "rows", "groups"])
    long = data.get("long") or {}
    for key in ("skip", "ignore_columns"):
        yield from _listed(long.get(key), ["long", key])
    if (long.get("header") or {}).get("find"):
        yield ["long", "header", "find"], long["header"]["find"]
    for comp, spec in (long.get("columns") or {}).items():
        if isinstance(spec, dict) and spec.get("pattern"):
            yield ["long", "columns", comp, "pattern"], spec["pattern"]
    if isinstance(data.get("time_period"), dict):
        yield ["time_period", "title"], data["time_period"]["title"]
    for attr, pattern in (data.get("title_attributes") or {}).items():
        yield ["title_attributes", attr], pattern


def _listed(value: Any, where: list) -> Iterable[tuple[list, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield [*where, i], item


def as_list(value: Any) -> list:
    """A regexList (one string or a list) as a list."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)
