"""SDMX-CSV data messages 2.0 and 1.0, written as a stream.

Rule: model series -> bytes, as a generator; nothing here reads files or
buffers the whole message. One line per observation: the structure columns,
the dimensions in DSD order, TIME_PERIOD, OBS_VALUE (``NaN`` for a missing
value; OBS_STATUS says why), then every attribute of the DSD in its order,
series attributes repeated on each line. Options come from the WriteContext:
labels (id, both, name), keys (SERIES_KEY / OBS_KEY columns, 2.0), the
ACTION column (2.0), detail, and the time format (1.0).

Several data sets (``context.DataSets``: the changes then the deletions of
an updatedAfter answer) follow one another under one header, each row's
ACTION saying which (2.0); a Delete row gives the key and period with
OBS_VALUE and every attribute empty. SDMX-CSV has no column for the
validity of a data set.

Text attribute values are data sent by others: one that begins like a
spreadsheet formula (``=``, ``+``, ``-``, ``@``, tab, carriage return) is
written after a ``'``, so a spreadsheet opening the file shows it and runs
nothing (``formula_safe``); ``read_csv`` takes the ``'`` away again
(``formula_restored``), so a file written here reads back to the same text.
Codes and numbers are written as they are.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Iterable, Iterator

from ..model.data import EMPTY, Observation, ObservationColumns, Series
from ..model.period import period_bounds
from ..model.structure import DATASET, OBSERVATION, SERIES
from .csv_columns import ColumnCells
from .context import ALL_DIMENSIONS, TIME_PERIOD, WriteContext, dataset_parts

MEDIA_TYPE_2 = "application/vnd.sdmx.data+csv;version=2.0.0"
MEDIA_TYPE_1 = "application/vnd.sdmx.data+csv;version=1.0.0"

#: SDMX-CSV 2.0 ACTION letters of the dataset actions.
ACTION_LETTERS = {"Information": "I", "Append": "A", "Replace": "R", "Delete": "D", "Merge": "M"}

#: Lines gathered before a chunk is yielded.
CHUNK_LINES = 4000
#: Distinct values whose text is remembered (counts repeat a lot).
VALUE_TEXT_CACHE = 65536
#: Distinct sets of series attributes whose cells are remembered.
TEMPLATE_CACHE = 4096
#: Series held in columns are written a column at a time from this many observations on (fewer go one by one).
COLUMNS_FROM = 4


def quote(text: str) -> str:
    """One CSV field (RFC 4180): quoted only when it holds a comma, a quote or a line break."""
    if '"' in text:
        return '"' + text.replace('"', '""') + '"'
    if "," in text or "\n" in text or "\r" in text:
        return '"' + text + '"'
    return text


#: First characters that make a spreadsheet take a cell for a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(text: str) -> str:
    """Text a spreadsheet will not run: a ``'`` before text that begins like a formula.

    Text that already begins with ``'`` characters before such a character gets
    one more, so that ``formula_restored`` gives back exactly the text given.
    """
    if text and (text[0] in FORMULA_START or (text[0] == "'" and text.lstrip("'")[:1] in FORMULA_START)):
        return "'" + text
    return text


def formula_restored(text: str) -> str:
    """The text ``formula_safe`` was given."""
    if text[:1] == "'" and text.lstrip("'")[:1] in FORMULA_START:
        return text[1:]
    return text


#: What ``quote`` or ``formula_safe`` would act on, in texts joined each after a NUL.
_NEEDS_CARE = ('"', ",", "\n", "\r", *("\x00" + c for c in (*FORMULA_START, "'")))


def text_cells(texts: list[str]) -> list[str]:
    """``quote(formula_safe(text))`` of each text: most need neither, which a few searches tell."""
    joined = "\x00" + "\x00".join(texts)
    for mark in _NEEDS_CARE:
        if mark in joined:
            return [quote(formula_safe(text)) for text in texts]
    return texts


def value_text(value: float | None) -> str:
    """OBS_VALUE as text: integers without a decimal point, others shortest round-trip, NaN for missing."""
    if value is None or value != value:
        return "NaN"
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and -1e15 < value < 1e15:
        return str(int(value))
    return repr(value)


def write_sdmx_csv(series: Iterable[Series], ctx: WriteContext) -> Iterator[bytes]:
    """SDMX-CSV 2.0.0: STRUCTURE, STRUCTURE_ID, [ACTION], [SERIES_KEY], [OBS_KEY], components."""
    return _write(series, ctx, version=2)


def write_sdmx_csv_1(series: Iterable[Series], ctx: WriteContext) -> Iterator[bytes]:
    """SDMX-CSV 1.0.0: DATAFLOW first, then dimensions, TIME_PERIOD, OBS_VALUE, attributes."""
    return _write(series, ctx, version=1)


class _Cells:
    """Component value -> cell text for one labels option (id, both, name); coded values cached."""

    def __init__(self, ctx: WriteContext):
        self.ctx = ctx
        self.mode = ctx.labels if ctx.labels in ("both", "name") else "id"
        self.cache: dict[tuple[str, str], str] = {}
        self.key_caches: dict[tuple[str, ...], list[dict[str, str]]] = {}

    def name(self, comp_id: str, code: str) -> str:
        codelist = self.ctx.codelist_of(comp_id)
        item = codelist.by_id.get(code) if codelist is not None else None
        return (self.ctx.name(item.names) or "") if item is not None else ""

    def key_cells(self, dims: tuple[str, ...], key: tuple[str, ...]) -> str:
        """The cells of a key's codes, joined (remembered per dimension: keys share most codes)."""
        caches = self.key_caches.get(dims)
        if caches is None:
            caches = self.key_caches[dims] = [{} for _ in dims]
        found = list(map(dict.get, caches, key))
        if None in found:
            for i, (dim, code) in enumerate(zip(dims, key)):
                if found[i] is None and i < len(caches):
                    found[i] = caches[i][code] = self(dim, code, True)
        return ",".join(found)

    def __call__(self, comp_id: str, value: str, coded: bool) -> str:
        if not coded:
            return quote(formula_safe(value))
        hit = self.cache.get((comp_id, value))
        if hit is None:
            if self.mode == "both" and value:
                name = self.name(comp_id, value)
                hit = quote(f"{value}: {name}" if name else value)
            elif self.mode == "name":
                hit = quote(value) + "," + quote(self.name(comp_id, value) if value else "")
            else:
                hit = quote(value)
            self.cache[(comp_id, value)] = hit
        return hit


def _write(series: Iterable[Series], ctx: WriteContext, version: int) -> Iterator[bytes]:
    parts = dataset_parts(series, ctx)
    with_action = version == 2 and (ctx.with_action or any(p.action != "Information" for p in parts))
    for index, part in enumerate(parts):
        part_ctx = replace(ctx, action=part.action, with_action=with_action)
        rows = _bare(part.series) if part.keys_only else part.series
        yield from _write_part(rows, part_ctx, version, with_header=index == 0, deleting=part.keys_only)


def _bare(series: Iterable[Series]) -> Iterator[Series]:
    """Deletions: keys and periods, no value, no attribute."""
    for one in series:
        yield Series(one.key, [Observation(o.time_period, None) for o in one.observations], EMPTY)


def _write_part(series: Iterable[Series], ctx: WriteContext, version: int, *, with_header: bool = True,
                deleting: bool = False) -> Iterator[bytes]:
    dsd = ctx.structure
    dims = dsd.dimension_ids
    with_obs = ctx.detail not in ("serieskeysonly", "nodata")
    attrs = [] if ctx.detail in ("dataonly", "serieskeysonly") else [
        a for a in dsd.attributes if with_obs or a.attachment in (SERIES, DATASET)]
    coded = {c.id: c.representation.codelist is not None for c in (*dsd.dimensions, *dsd.attributes)}
    cells = _Cells(ctx)
    name_cols = cells.mode == "name"
    keys = ctx.keys if version == 2 and ctx.keys in ("series", "obs", "both") else "none"
    series_key_col, obs_key_col = keys in ("series", "both"), keys in ("obs", "both") and with_obs

    header = _header(ctx, version, dims, with_obs, attrs, coded, name_cols, series_key_col, obs_key_col)
    lead = _lead(ctx, version, cells.mode)
    attr_ids = [a.id for a in attrs]
    obs_pos = {a.id: i for i, a in enumerate(attrs) if a.attachment == OBSERVATION}
    # per observation-attribute position: a cache of coded cells, or None for text (quoted as it comes)
    coded_caches: list[dict[str, str] | None] = [({} if coded[a] else None) for a in attr_ids]
    blank = ["," if name_cols and coded[a] else "" for a in attr_ids]
    # The DSD lists observation attributes first (ours does): their cells, then the series' cells as one tail.
    n_obs = len(obs_pos) if all(i < len(obs_pos) for i in obs_pos.values()) else len(attr_ids)
    normalized = version == 1 and ctx.time_format == "normalized"
    period_text = _period_formatter("normalized" if normalized else "original")
    at_obs = ctx.dimension_at_observation
    pivot_pos = dims.index(at_obs) if at_obs not in (TIME_PERIOD, ALL_DIMENSIONS) and at_obs in dims else -1

    lines: list[str] = [header] if with_header else []
    append = lines.append
    value_texts: dict[float | None, str] = {None: ""} if deleting else {}
    # series whose observations come in columns are written a column at a time
    columns = ColumnCells(attr_ids[:n_obs], obs_pos, coded_caches, blank, lambda a, v: cells(a, v, True),
                          text_cells, value_text, value_texts, VALUE_TEXT_CACHE) if (
        pivot_pos < 0 and not obs_key_col and not deleting and n_obs > 0) else None
    extra_lines = 0  # lines beyond one in the items of ``lines``
    templates: dict[tuple, list[str]] = {}  # series attributes -> the attribute cells of their lines
    last_attributes, last_template = None, None  # consecutive series often share their attributes
    for one in series:
        template = last_template if one.attributes is last_attributes else templates.get(
            tuple(one.attributes.items()))
        if template is None:
            values = {**ctx.dataset_attributes, **one.attributes}
            template = [blank[i] if a in obs_pos else cells(a, values.get(a, ""), coded[a])
                        for i, a in enumerate(attr_ids)]
            if len(templates) < TEMPLATE_CACHE:
                templates[tuple(one.attributes.items())] = template
        last_attributes, last_template = one.attributes, template
        if not with_obs:
            tail = "," + ",".join(template) if attr_ids else ""
            if pivot_pos < 0:
                append(_prefix(lead, one.key, dims, cells, series_key_col, False)[:-1] + tail + "\n")
            else:
                for obs in one.observations:
                    full = (*one.key[:pivot_pos], obs.time_period, *one.key[pivot_pos:-1])
                    append(_prefix(lead, full, dims, cells, series_key_col, False)[:-1] + tail + "\n")
            continue
        if pivot_pos < 0:
            prefix = _prefix(lead, one.key, dims, cells, series_key_col, obs_key_col)
        head = template[:n_obs]
        tail = "," + ",".join(template[n_obs:]) if n_obs < len(attr_ids) else ""
        if columns is not None and one.observations.__class__ is ObservationColumns and \
                len(one.observations) >= COLUMNS_FROM:
            observations = one.observations
            periods = list(map(period_text, observations.periods)) if normalized else observations.periods
            append(columns.lines(observations, periods, prefix, head, tail))
            extra_lines += len(observations) - 1
            if len(lines) + extra_lines >= CHUNK_LINES:
                yield "".join(lines).encode("utf-8")
                lines.clear()
                extra_lines = 0
            continue
        for obs in one.observations:
            if pivot_pos >= 0:  # regrouped series: key = other dimensions + TIME_PERIOD
                key = (*one.key[:pivot_pos], obs.time_period, *one.key[pivot_pos:-1])
                prefix, period = _prefix(lead, key, dims, cells, series_key_col, obs_key_col), one.key[-1]
            else:
                period, key = obs.time_period, one.key
            value = obs.value
            text = value_texts.get(value)
            if text is None:
                text = value_text(value)
                if len(value_texts) < VALUE_TEXT_CACHE and value == value:
                    value_texts[value] = text
            start = prefix.replace("\x00", ".".join(key) + "." + period, 1) if obs_key_col else prefix
            if normalized:
                period = period_text(period)
            if not attr_ids:
                append(f"{start}{period},{text}\n")
                continue
            row = head.copy()
            for name, given in obs.attributes.items():
                i = obs_pos.get(name)
                if i is None or not given:
                    continue
                cache = coded_caches[i]
                if cache is None:
                    row[i] = quote(formula_safe(given))
                else:
                    cell = cache.get(given)
                    if cell is None:
                        cell = cache[given] = cells(name, given, True)
                    row[i] = cell
            append(f"{start}{period},{text},{','.join(row)}{tail}\n")
        if len(lines) + extra_lines >= CHUNK_LINES:
            yield "".join(lines).encode("utf-8")
            lines.clear()
            extra_lines = 0
    if lines:
        yield "".join(lines).encode("utf-8")


def _header(ctx: WriteContext, version: int, dims: tuple[str, ...], with_obs: bool, attrs: list,
            coded: dict[str, bool], name_cols: bool, series_key_col: bool, obs_key_col: bool) -> str:
    mode = ctx.labels

    def col(comp_id: str) -> str:
        # The field guides: labels=both heads a column "ID: Name"; labels=name adds, after a
        # coded component's column, one headed by the component's name.
        name = ctx.name(ctx.component_names.get(comp_id, {}))
        if mode == "both":
            return quote(f"{comp_id}: {name}") if name else comp_id
        return f"{comp_id},{quote(name or comp_id + ' name')}" if name_cols and coded.get(comp_id) else comp_id

    header: list[str] = []
    if version == 2:
        header += ["STRUCTURE", "STRUCTURE_ID"] + (["STRUCTURE_NAME"] if name_cols else [])
        if ctx.with_action or ctx.action != "Information":
            header.append("ACTION")
        header += (["SERIES_KEY"] if series_key_col else []) + (["OBS_KEY"] if obs_key_col else [])
    else:
        header.append("DATAFLOW")
    header += [col(d) for d in dims]
    if with_obs:
        header += [TIME_PERIOD, "OBS_VALUE"]
    header += [col(a.id) for a in attrs]
    return ",".join(header) + "\n"


def _lead(ctx: WriteContext, version: int, mode: str) -> str:
    """The structure columns every line starts with (and ACTION for 2.0)."""
    flow_name = ctx.name(ctx.dataflow.names) or ""
    ref = ctx.flow_ref + (f": {flow_name}" if mode == "both" and flow_name else "")
    if version == 1:
        return quote(ref) + ","
    lead = ["dataflow", quote(ref)] + ([quote(flow_name)] if mode == "name" else [])
    if ctx.with_action or ctx.action != "Information":
        lead.append(ACTION_LETTERS.get(ctx.action, "I"))
    return ",".join(lead) + ","


def _prefix(lead: str, key: tuple[str, ...], dims: tuple[str, ...], cells: _Cells, series_key_col: bool,
            obs_key_col: bool) -> str:
    """Everything of a line before TIME_PERIOD; ``\\x00`` stands for the OBS_KEY filled per observation."""
    parts = [lead]
    if series_key_col:
        parts.append(".".join(key) + ",")
    if obs_key_col:
        parts.append("\x00,")
    parts.append(cells.key_cells(dims, key))
    return "".join(parts) + ","


def _period_formatter(time_format: str) -> Callable[[str], str]:
    if time_format != "normalized":
        return str
    cache: dict[str, str] = {}

    def normalized(period: str) -> str:
        hit = cache.get(period)
        if hit is None:
            try:
                hit = period_bounds(period)[0].date().isoformat()
            except ValueError:
                hit = quote(period)
            cache[period] = hit
        return hit
    return normalized
