"""The long layout: one observation per row, columns mapped to components (national extracts).

The header is the first non-blank row not declared to skip (or the row
``header.find`` matches). Every mapped column must be there and every other
labelled column ignored by declaration. Rows stream: a label is resolved once
per distinct text (a cache per column and one per whole key), values go
through the table's value rules, and consecutive rows with the same key form
one series, so memory stays bounded whatever the length of the file. CSV
cells stay bytes until a cell is used for the first time (most repeat: a
region, a sex, an age group), so each distinct text is decoded once.
"""

from __future__ import annotations

import re
from operator import itemgetter
from typing import Any, Callable, Iterator

from ..model.data import Observation, Series
from ..model.report import Report
from .checks import Checks
from .engine import (
    OBS_VALUE,
    SOURCE_LABEL,
    TIME_PERIOD,
    Components,
    Context,
    Progress,
    Resolver,
    fixed_codes,
    label_problem,
    make_observation,
    make_origin,
    problem_at,
    source_label_prefix,
    value_parser,
)
from .labels import plain, variants
from .load import MappingSpec, as_list
from .sources import TableSource, column_letter
from .values import OBS_STATUS, BadValue

PROGRESS_EVERY = 100_000


class _Column:
    """How the text of one column becomes a code: labels/aliases/codelist, a period pattern, or as it is."""

    def __init__(self, component: str, raw: Any, ctx: Context, spec: MappingSpec):
        raw = {"column": raw} if isinstance(raw, str) else raw
        self.component = component
        self.header = raw["column"]
        self.pattern = re.compile(raw["pattern"]) if raw.get("pattern") else None
        coded = ctx.codelist_of(component) is not None or raw.get("labels")
        self.resolver = Resolver(ctx, spec, component, raw.get("labels"), raw.get("match", "codelist"),
                                 f"{component} label") if coded and component != TIME_PERIOD else None
        self.index = -1

    def code(self, text: str) -> tuple[str | None, Any]:
        """(code, None) or (None, Resolution / message) for one cell."""
        text = text.strip()
        if self.pattern is not None:
            match = self.pattern.search(text)
            if match is None:
                return None, f"{self.component} {text!r} does not match {self.pattern.pattern!r}"
            text = match.group(1) if match.groups() else match.group(0)
        if self.resolver is None:
            return (text, None) if text else (None, f"no {self.component}")
        codes, found = self.resolver.resolve(text)
        if codes is None:
            return None, found
        return codes.get(self.component, ""), None


def _header(rows: Iterator, find: re.Pattern | None, skip: list[re.Pattern],
            text_of: Callable[[Any], str]) -> tuple[int, list[str]] | None:
    for row_no, cells in rows:
        cells = [text_of(c) for c in cells]
        text = " ".join(plain(c) for c in cells if c and c.strip())
        if not text or any(p.search(text) for p in skip):
            continue
        if find is None or find.search(text):
            return row_no, cells
    return None


def read_long(spec: MappingSpec, source: TableSource, ctx: Context, report: Report,
              progress: Progress | None = None) -> Iterator[Series]:
    long = spec.data["long"]
    skip = [re.compile(p, re.IGNORECASE) for p in as_list(long.get("skip"))]
    find = re.compile(long["header"]["find"], re.IGNORECASE) if (long.get("header") or {}).get("find") else None
    byte_rows = source.byte_records()
    binary = byte_rows is not None
    rows: Iterator = byte_rows if binary else iter(source)
    encoding = source.encoding or "utf-8"
    text_of: Callable[[Any], str] = (lambda cell: cell.decode(encoding)) if binary else (lambda cell: cell)
    found = _header(rows, find, skip, text_of)
    if found is None:
        problem_at(report, "no-header", "no header row found", source, None, None)
        return
    header_row, header_cells = found
    columns = {comp: _Column(comp, raw, ctx, spec) for comp, raw in long["columns"].items()}
    if not _place(columns, header_row, header_cells, long, source, report):
        return

    components = Components(ctx.structure)
    fixed = fixed_codes(spec)
    dims = components.dimensions
    key_columns = [columns[d] for d in dims if d in columns]
    dim_slots = [dims.index(c.component) for c in key_columns]
    base_key = [fixed.get(d, "") for d in dims]
    period_column = columns.get(TIME_PERIOD)
    fixed_period = fixed.get(TIME_PERIOD, "")
    value_index = columns[OBS_VALUE].index
    value_letter = column_letter(value_index)
    series_columns = [c for c in columns.values() if c.component in components.series_attributes]
    obs_columns = [c for c in columns.values() if c.component in components.obs_attributes]
    obs_text = [(c.component, c.index) for c in obs_columns if c.resolver is None and c.pattern is None]
    obs_coded = [c for c in obs_columns if c.resolver is not None or c.pattern is not None]
    series_fixed = components.series_attrs(fixed)
    obs_fixed = components.obs_attrs(fixed)
    get_keys = itemgetter(*[c.index for c in key_columns]) if key_columns else (lambda cells: ())
    get_series_raw = itemgetter(*[c.index for c in series_columns]) if series_columns else (lambda cells: ())
    width = max(c.index for c in columns.values()) + 1
    parser = value_parser(spec)
    parse = parser.parse
    checks = Checks(spec.data.get("checks") or [], ctx.structure)
    has_checks = bool(checks)
    with_label = spec.data.get("source_label", True)
    label_prefix = source_label_prefix(source) + value_letter
    name, sheet = source.name, source.sheet
    key_cache: dict[Any, tuple[str, ...]] = {}
    period_cache: dict[str, str] = {}
    period_index = period_column.index if period_column is not None else -1

    def fail(row_no: int, column: _Column, text: str, why: Any) -> None:
        if isinstance(why, str):
            problem_at(report, "bad-code", why, source, row_no, column_letter(column.index), text)
        else:
            label_problem(report, why, source, row_no, column_letter(column.index), text)

    def resolve_key(row_no: int, raw: Any) -> tuple[str, ...] | None:
        texts = raw if isinstance(raw, tuple) else (raw,)
        key = list(base_key)
        ok = True
        for slot, column, text in zip(dim_slots, key_columns, texts):
            code, why = column.code(text_of(text))
            if code is None:
                fail(row_no, column, text_of(text), why)
                ok = False
            else:
                key[slot] = code
        return tuple(key) if ok else None

    current_key: tuple[str, ...] | None = None
    current_obs: list[Observation] = []
    current_attrs: dict[str, str] = {}
    current_series_raw: Any = None
    previous_raw: Any = None
    key: tuple[str, ...] | None = None
    for row_no, cells in rows:
        if len(cells) < width:
            if not any(c.strip() for c in cells):
                continue
            cells = cells + [""] * (width - len(cells))
        if progress is not None and not row_no % PROGRESS_EVERY:
            progress(row_no)
        raw = get_keys(cells)
        if raw != previous_raw or key is None:  # sorted extracts repeat the key row after row
            key = key_cache.get(raw)
            if key is None:
                key = resolve_key(row_no, raw)
                if key is not None:
                    key_cache[raw] = key
            previous_raw = raw
        if period_index >= 0:
            text = cells[period_index]
            period = period_cache.get(text)
            if period is None:
                period, why = period_column.code(text_of(text))
                if period is None:
                    fail(row_no, period_column, text_of(text), why)
                    continue
                period_cache[text] = period
        else:
            period = fixed_period
        text = cells[value_index]
        if text.isdigit() and (binary or text.isascii()):  # the common case, without the parser
            value = float(text)
            attrs = {**obs_fixed, OBS_STATUS: "A"} if obs_fixed else {OBS_STATUS: "A"}
        else:
            text = text_of(text)
            try:
                value, value_attrs = parse(text)
            except BadValue as exc:
                problem_at(report, "bad-value", str(exc), source, row_no, value_letter, text.strip(),
                           expected=exc.expected)
                continue
            attrs = {**obs_fixed, **value_attrs}
        if key is None:
            continue
        for component, index in obs_text:
            text = cells[index]
            if text:
                attrs[component] = text_of(text).strip()
        if obs_coded:
            attrs.update(_attrs(obs_coded, cells, row_no, fail, text_of))
        if with_label:
            attrs[SOURCE_LABEL] = label_prefix + str(row_no)
        origin = make_origin(name, sheet, row_no, value_letter)
        if key is not current_key and key != current_key:
            if current_key is not None:
                yield Series(current_key, current_obs, current_attrs, current_obs[0].origin)
            current_key, current_obs = key, []
            current_series_raw = get_series_raw(cells)
            current_attrs = {**series_fixed, **_attrs(series_columns, cells, row_no, fail, text_of)}
        elif series_columns and get_series_raw(cells) != current_series_raw:
            for column_name, text in _attrs(series_columns, cells, row_no, fail, text_of).items():
                if current_attrs.setdefault(column_name, text) != text:
                    problem_at(report, "attribute-conflict", f"{column_name} {text!r} differs from "
                               f"{current_attrs[column_name]!r} earlier in the same series", source, row_no,
                               None, text)
        current_obs.append(make_observation(period, value, attrs, origin))
        if has_checks:
            checks.observe(key, period, value, origin)
    if current_key is not None:
        yield Series(current_key, current_obs, current_attrs, current_obs[0].origin)
    if has_checks:
        checks.finish(report)


def _attrs(columns: list[_Column], cells: list, row_no: int, fail: Callable,
           text_of: Callable[[Any], str]) -> dict[str, str]:
    out = {}
    for column in columns:
        text = text_of(cells[column.index]).strip()
        if not text:
            continue
        code, why = column.code(text)
        if code is None:
            fail(row_no, column, text, why)
        else:
            out[column.component] = code
    return out


def _place(columns: dict[str, _Column], header_row: int, cells: list[str], long: dict, source: TableSource,
           report: Report) -> bool:
    """Find each mapped column in the header; every other labelled column must be ignored by declaration."""
    positions: dict[str, int] = {}
    for i, cell in enumerate(cells):
        for key in variants(cell or ""):
            positions.setdefault(key, i)
    ok = True
    used = set()
    for column in columns.values():
        index = next((positions[k] for k in variants(column.header) if k in positions), None)
        if index is None:
            problem_at(report, "missing-column", f"no column {column.header!r} for {column.component} in the header",
                       source, header_row, None, column.header)
            ok = False
        else:
            column.index = index
            used.add(index)
    ignore = [re.compile(p, re.IGNORECASE) for p in as_list(long.get("ignore_columns"))]
    for i, cell in enumerate(cells):
        label = (cell or "").strip()
        if label and i not in used and not any(p.search(label) for p in ignore):
            problem_at(report, "unknown-column", f"column {column_letter(i)} {label!r} is not mapped (map it under "
                       "long.columns or list it in long.ignore_columns)", source, header_row, column_letter(i), label)
            ok = False
    return ok
