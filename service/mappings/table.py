"""The table layout: labelled rows under one or more header rows, as national offices publish.

Above the header: title rows (the period and title attributes are read from
them), unit rows (declared patterns giving UNIT_MULT and the like) and rows
declared to skip. The header starts at the row ``header.find`` matches, or at
the first row with an empty stub and text to its right; its upper rows are
filled rightwards over merged cells. Every labelled column must resolve
(through ``columns`` or the level rules) or be ignored by declaration.

Body rows, whatever their order: blank rows and declared ``skip`` rows pass;
an "in which" row (a ``groups`` pattern, no values) starts a group and gives
no observation; a section heading sets what the rows below mean; any other
row must resolve its label, and each of its value cells becomes one
observation (a symbol with its status, a blank as the table declares).
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from ..model.data import Observation, Origin, Series
from ..model.report import Report
from .checks import Checks
from .engine import (
    SOURCE_LABEL,
    TIME_PERIOD,
    Components,
    Context,
    Progress,
    Resolver,
    SeriesCollector,
    fixed_codes,
    label_problem,
    problem_at,
    source_label_prefix,
    value_parser,
)
from .labels import LabelIndex, plain
from .load import MappingSpec, as_list
from .sources import TableSource, column_index, column_letter
from .values import COMMENT_OBS, BadValue


def _regexes(value: Any) -> list[re.Pattern]:
    return [re.compile(p, re.IGNORECASE) for p in as_list(value)]


def _column(ref: str | int) -> int:
    return ref - 1 if isinstance(ref, int) else column_index(ref)


def _text(cells: list[str], index: int) -> str:
    """A cell's text with every kind of space as one plain space, trimmed ('' beyond the row)."""
    return plain(cells[index]) if index < len(cells) and cells[index] else ""


class _Level:
    """The rule of one header row: the period pattern, or labels of a dimension."""

    def __init__(self, rule: dict, spec: MappingSpec, ctx: Context):
        self.dimension = rule["dimension"]
        self.pattern = re.compile(rule["pattern"]) if rule.get("pattern") else None
        self.resolver = None if self.dimension == TIME_PERIOD else Resolver(
            ctx, spec, self.dimension, rule.get("labels"), rule.get("match", "codelist"), "header label")

    def resolve(self, text: str):
        if self.resolver is not None:
            return self.resolver.resolve(text)
        match = self.pattern.search(text) if self.pattern else None
        if self.pattern is None:
            return ({TIME_PERIOD: text} if text else None), None
        if match is None:
            return None, None
        return {TIME_PERIOD: match.group(1) if match.groups() else match.group(0)}, None


class _Section:
    def __init__(self, raw: dict, rows: dict, spec: MappingSpec, ctx: Context):
        self.codes = {k: str(v) for k, v in (raw.get("set") or {}).items()}
        labels = {**(rows.get("labels") or {}), **(raw.get("labels") or {})}
        self.resolver = Resolver(ctx, spec, raw.get("dimension") or rows.get("dimension"), labels,
                                 raw.get("match", rows.get("match", "codelist")), "row label")


def read_table(spec: MappingSpec, source: TableSource, ctx: Context, report: Report,
               progress: Progress | None = None) -> Iterator[Series]:
    table = spec.data["table"]
    rows_spec = table.get("rows") or {}
    stub = [_column(c) for c in (table["stub"] if isinstance(table.get("stub"), list) else [table.get("stub", "A")])]
    header_spec = table.get("header") or {}
    find = re.compile(header_spec["find"], re.IGNORECASE) if header_spec.get("find") else None
    skip = _regexes(table.get("skip"))
    rows = iter(source)

    # -- above the header ------------------------------------------------
    preamble: list[tuple[int, str]] = []
    header: list[tuple[int, list[str]]] = []
    for row_no, cells in rows:
        texts = [plain(c) for c in cells if c and c.strip()]
        if not texts:
            continue
        is_header = find.search(" ".join(texts)) if find else (
            not any(_text(cells, i) for i in stub) and any(_text(cells, i) for i in range(len(cells)) if i not in stub))
        if is_header:
            header.append((row_no, cells))
            break
        preamble.append((row_no, " ".join(texts)))
    if not header:
        problem_at(report, "no-header", "no header row found" + (f" matching {find.pattern!r}" if find else
                   " (a row with an empty stub column and labels to its right)"), source, None, None)
        return
    while len(header) < header_spec.get("rows", 1):
        following = next(rows, None)
        if following is None:
            break
        header.append(following)

    fixed = fixed_codes(spec)
    if not _read_preamble(spec, table, preamble, fixed, skip, source, report):
        return
    components = Components(ctx.structure)
    columns = _Columns(spec, table, header, stub, ctx, source, report)
    if not columns.ok:
        return

    # -- the body --------------------------------------------------------
    groups = _regexes(rows_spec.get("groups"))
    carry = set(rows_spec.get("carry") or [])
    row_resolver = Resolver(ctx, spec, rows_spec.get("dimension"), rows_spec.get("labels"),
                            rows_spec.get("match", "codelist"), "row label")
    sections = {i: _Section(raw, rows_spec, spec, ctx) for i, raw in enumerate((rows_spec.get("sections") or {}).values())}
    section_index = LabelIndex("section").add_tier("sections", (
        (label, i) for i, label in enumerate(rows_spec.get("sections") or {})))
    parser = value_parser(spec)
    collector = SeriesCollector(report, source)
    checks = Checks(spec.data.get("checks") or [], ctx.structure)
    with_label = spec.data.get("source_label", True)
    prefix = source_label_prefix(source)
    section: _Section | None = None
    carried: dict[str, str] = {}
    flagged_unlabelled: set[int] = set()

    for row_no, cells in rows:
        if progress is not None and row_no % 10000 == 0:
            progress(row_no)
        stub_texts = [_text(cells, i) for i in stub]
        label = stub_texts[-1]
        has_values = any(_text(cells, c) for c in columns.codes)
        for c in columns.unlabelled:
            if _text(cells, c) and c not in flagged_unlabelled:
                flagged_unlabelled.add(c)
                problem_at(report, "unlabelled-column", "a column with values but no header label", source, row_no,
                           column_letter(c), _text(cells, c))
        if not any(stub_texts) and not has_values:
            continue
        if any(p.search(label or " ".join(t for t in stub_texts if t)) for p in skip):
            continue
        if len(stub) > 1 and stub_texts[0]:
            found = section_index.resolve(stub_texts[0])
            if not found.ok:
                label_problem(report, found, source, row_no, column_letter(stub[0]), stub_texts[0])
                section = None
                continue
            section = sections[found.target]
        if not label:
            if has_values:
                problem_at(report, "unlabelled-row", "a row with values but no label", source, row_no,
                           column_letter(stub[-1]))
            continue
        if not has_values and any(p.search(label) for p in groups):
            continue  # "in which": starts a group, no observation
        if not has_values and len(stub) == 1 and section_index.tiers[0][1]:
            found = section_index.resolve(label)
            if found.ok:
                section = sections[found.target]
                continue
        resolver = section.resolver if section is not None else row_resolver
        row_codes, found = resolver.resolve(label)
        if row_codes is None:
            label_problem(report, found, source, row_no, column_letter(stub[-1]), label)
            continue
        for name in carry:
            if name in row_codes:
                carried[name] = row_codes[name]
        base = {**fixed, **(section.codes if section else {}), **{k: v for k, v in carried.items()}}
        row_label = " | ".join(t for t in stub_texts if t)
        for c, col_codes in columns.codes.items():
            letter = column_letter(c)
            text = cells[c] if c < len(cells) and cells[c] is not None else ""
            try:
                value, value_attrs = parser.parse(text)
            except BadValue as exc:
                problem_at(report, "bad-value", str(exc), source, row_no, letter, text.strip(), expected=exc.expected)
                continue
            codes = {**base, **col_codes, **row_codes}
            period = codes.get(TIME_PERIOD, "")
            key = components.key(codes)
            obs_attrs = components.obs_attrs(codes)
            for name, text_value in value_attrs.items():
                if name == COMMENT_OBS and obs_attrs.get(COMMENT_OBS):
                    obs_attrs[COMMENT_OBS] = f"{obs_attrs[COMMENT_OBS]}; {text_value}"
                else:
                    obs_attrs[name] = text_value
            origin = Origin(source.name, source.sheet, row_no, letter)
            if with_label:
                obs_attrs[SOURCE_LABEL] = f"{prefix}{letter}{row_no}: {row_label} | {columns.labels[c]}"
            collector.add(key, components.series_attrs(codes), Observation(period, value, obs_attrs, origin))
            if checks:
                checks.observe(key, period, value, origin)
    yield from collector
    if checks:
        checks.finish(report)


def _read_preamble(spec: MappingSpec, table: dict, preamble: list[tuple[int, str]], fixed: dict[str, str],
                   skip: list[re.Pattern], source: TableSource, report: Report) -> bool:
    """Unit attributes, the period and title attributes from the rows above the header."""
    units = [(re.compile(p, re.IGNORECASE), codes) for p, codes in (table.get("units") or {}).items()]
    title_res = _regexes(table.get("title"))
    titles = []
    for row_no, text in preamble:
        unit = next((codes for pattern, codes in units if pattern.search(text)), None)
        if unit is not None:
            fixed.update({k: str(v) for k, v in unit.items()})
        elif not any(p.search(text) for p in skip) and (not title_res or any(p.search(text) for p in title_res)):
            titles.append((row_no, text))
    wanted = spec.data.get("time_period")
    searches = [(TIME_PERIOD, wanted["title"])] if isinstance(wanted, dict) else []
    searches += list((spec.data.get("title_attributes") or {}).items())
    for name, pattern in searches:
        regex = re.compile(pattern, re.IGNORECASE)
        match = next((m for _, text in titles if (m := regex.search(text))), None)
        if match is None:
            where = titles[0][0] if titles else None
            problem_at(report, "no-time-period" if name == TIME_PERIOD else "no-title-attribute",
                       f"no title row matches {pattern!r} for {name}", source, where, "A" if where else None,
                       titles[0][1] if titles else None, severity="error" if name == TIME_PERIOD else "warning")
            if name == TIME_PERIOD:
                return False
            continue
        fixed[name] = (match.group(1) if match.groups() else match.group(0)).strip()
    return True


class _Columns:
    """The value columns under the header: index -> codes and label, or errors at the header cell."""

    def __init__(self, spec: MappingSpec, table: dict, header: list[tuple[int, list[str]]], stub: list[int],
                 ctx: Context, source: TableSource, report: Report):
        self.codes: dict[int, dict[str, str]] = {}
        self.labels: dict[int, str] = {}
        self.unlabelled: list[int] = []
        self.ok = True
        width = max(len(cells) for _, cells in header)
        grid = [[_text(cells, c) for c in range(width)] for _, cells in header]
        for level in grid[:-1]:  # merged cells: a label covers the empty cells to its right
            current = ""
            for c in range(width):
                if c in stub:
                    continue
                current = level[c] or current
                level[c] = current
        levels = [_Level(rule, spec, ctx) for rule in (table.get("header") or {}).get("levels") or []]
        declared = table.get("columns") or {}
        entries = [{k: str(v) for k, v in codes.items()} for codes in declared.values()]
        index = LabelIndex("column label").add_tier("columns", ((label, i) for i, label in enumerate(declared)))
        ignore = _regexes(table.get("ignore_columns"))
        seen: set[int] = set()
        for c in range(width):
            if c in stub:
                continue
            path = [level[c] for level in grid]
            parts: list[str] = []
            for part in path:
                if part and (not parts or parts[-1] != part):
                    parts.append(part)
            label = " | ".join(parts)
            if not label:
                self.unlabelled.append(c)
                continue
            if any(p.search(label) for p in ignore):
                continue
            codes: dict[str, str] = {}
            found = index.resolve(label) if declared else None
            if found is not None and found.ok:
                seen.add(found.target)
                codes.update(entries[found.target])
            failed = None
            for depth, rule in enumerate(levels[:len(grid)]):
                level_codes, level_found = rule.resolve(path[depth])
                if level_codes is None:
                    failed = (depth, level_found)
                    break
                codes = {**level_codes, **codes}
            if failed is not None:
                depth, level_found = failed
                row_no = header[depth][0]
                message = f"header label {path[depth]!r} (column {column_letter(c)}) matches no rule for " \
                          f"{levels[depth].dimension}"
                problem_at(report, "unknown-column", message, source, row_no, column_letter(c), path[depth],
                           suggestions=level_found.suggestions if level_found else ())
                self.ok = False
            elif (found is None or not found.ok) and not levels:
                suggestions = found.suggestions if found is not None else ()
                problem_at(report, "unknown-column", f"column {column_letter(c)} {label!r} is not in the mapping's "
                           "columns", source, header[-1][0], column_letter(c), label, suggestions=suggestions)
                self.ok = False
            else:
                self.codes[c] = codes
                self.labels[c] = label
        for i, label in enumerate(declared):
            if i not in seen and not levels:
                problem_at(report, "missing-column", f"the mapping's column {label!r} is not in the header", source,
                           header[-1][0], None, label, severity="warning")
        if not self.codes and self.ok:
            problem_at(report, "no-columns", "the header has no value columns", source, header[-1][0], None)
            self.ok = False

