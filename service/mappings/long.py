"""The long layout: one observation per row, columns mapped to components (national extracts).

The header is the first non-blank row not declared to skip (or the row
``header.find`` matches). Every mapped column must be there and every other
labelled column ignored by declaration. Rows stream: a label is resolved once
per distinct text (a cache per column and one per whole key), values go
through the table's value rules, and consecutive rows with the same key form
one series, so memory stays bounded whatever the length of the file. CSV
cells stay bytes until a cell is used for the first time (most repeat: a
region, a sex, an age group), so each distinct text is decoded once. Rows
come in blocks; ``long_rows`` turns them into series held column by column.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, Callable, Iterator

from ..model.data import Series
from ..model.report import Report
from .engine import TIME_PERIOD, Context, Progress, Resolver, problem_at
from .labels import plain, variants
from .load import MappingSpec, as_list
from .long_rows import LongRows
from .sources import TableSource, column_letter, record_blocks


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


def _header(blocks: Iterator, find: re.Pattern | None, skip: list[re.Pattern],
            text_of: Callable[[Any], str]) -> tuple[int, list[str], Iterator] | None:
    """(row, cells) of the header and the blocks of the rows under it."""
    for numbers, rows in blocks:
        for i, (row_no, cells) in enumerate(zip(numbers, rows)):
            cells = [text_of(c) for c in cells]
            text = " ".join(plain(c) for c in cells if c and c.strip())
            if not text or any(p.search(text) for p in skip):
                continue
            if find is None or find.search(text):
                return row_no, cells, itertools.chain([(numbers[i + 1:], rows[i + 1:])], blocks)
    return None


def read_long(spec: MappingSpec, source: TableSource, ctx: Context, report: Report,
              progress: Progress | None = None) -> Iterator[Series]:
    long = spec.data["long"]
    skip = [re.compile(p, re.IGNORECASE) for p in as_list(long.get("skip"))]
    find = re.compile(long["header"]["find"], re.IGNORECASE) if (long.get("header") or {}).get("find") else None
    byte_blocks = source.byte_blocks()
    binary = byte_blocks is not None
    blocks: Iterator = byte_blocks if binary else record_blocks(iter(source))
    encoding = source.encoding or "utf-8"
    text_of: Callable[[Any], str] = (lambda cell: cell.decode(encoding)) if binary else (lambda cell: cell)
    found = _header(blocks, find, skip, text_of)
    if found is None:
        problem_at(report, "no-header", "no header row found", source, None, None)
        return
    header_row, header_cells, blocks = found
    columns = {comp: _Column(comp, raw, ctx, spec) for comp, raw in long["columns"].items()}
    if not _place(columns, header_row, header_cells, long, source, report):
        return
    yield from LongRows(spec, source, ctx.structure, report, columns, binary, progress).series(blocks)


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
