"""SDMX-CSV cells of series whose observations are held in columns (``model.data.ObservationColumns``).

The SDMX-CSV writer asks ``ColumnCells.lines`` for the lines of a series
held in columns, made a column at a time: the series' cells, and every
field that is the same on every line (an attribute the observations share,
or none has), are the fixed texts of a line; TIME_PERIOD, OBS_VALUE, the
attributes that vary, and the numbers of NumberedTexts (the SOURCE_LABEL of
a row: its prefix is fixed text) go between them. The cells are those the
writer makes an observation at a time: same caches, same quoting. No I/O
here.
"""

from __future__ import annotations

import itertools
from operator import methodcaller
from typing import Callable, Iterable, Mapping, Sequence

from ..model.data import NumberedTexts, ObservationColumns

#: Distinct sets of shared observation attributes whose cells are remembered.
SHARED_CACHE = 1024


class ColumnCells:
    """Fields of the lines of column-held series, for one layout of the writer.

    ``attr_ids`` are the attributes of the fields after OBS_VALUE, ``observed``
    those attached to observations (the others are the series' ``head``
    cells); ``caches`` holds a cache of cells per coded attribute (None for
    text), ``blanks`` the cell of an absent value; ``cell(attr_id, value)``
    makes a coded cell, ``text_cells(texts)`` quotes texts, ``value_text``
    writes a value, and ``value_texts`` is the writer's cache of them.
    """

    def __init__(self, attr_ids: list[str], observed: Iterable[str], caches: list[dict[str, str] | None],
                 blanks: list[str], cell: Callable[[str, str], str], text_cells: Callable[[list[str]], list[str]],
                 value_text: Callable[[float | None], str], value_texts: dict[float | None, str],
                 value_text_cache: int):
        observed = set(observed)
        self.positions = [(i, a, a in observed, caches[i], blanks[i]) for i, a in enumerate(attr_ids)]
        self.cell, self.text_cells = cell, text_cells
        self.value_text, self.value_texts, self.value_text_cache = value_text, value_texts, value_text_cache
        self.series_cells = not all(observed_ for _, _, observed_, _, _ in self.positions)
        self.shared: dict[int, tuple[Mapping[str, str], dict[str, str]]] = {}
        self.plans: dict[tuple, tuple[tuple, list[str], list[tuple]]] = {}

    def lines(self, observations: ObservationColumns, periods: list[str], prefix: str, head: list[str],
              tail: str) -> str:
        """Every line of a series: ``prefix``, TIME_PERIOD, OBS_VALUE, the observation cells, ``tail``."""
        gaps, variables = self.fields(observations, head)
        # [prefix, period, ",", value, gap, variable, ..., gap + tail] for each line, the texts that vary
        # put in place a column at a time
        gaps[-1] += tail + "\n"
        line = [prefix, None, ",", None]
        for gap in gaps:
            line += (gap, None)
        line.pop()
        step = len(line)
        parts = line * len(periods)
        parts[1::step] = periods
        parts[3::step] = self.values(observations.values)
        for at, texts in enumerate(variables):
            parts[5 + 2 * at::step] = texts
        return "".join(parts)

    def fields(self, observations: ObservationColumns, head: list[str]) -> tuple[list[str], list[Iterable[str]]]:
        """The texts between the attribute fields that vary (the first after OBS_VALUE), and their cells."""
        shared, columns = observations.attributes, observations.columns
        if shared and shared.count(shared[0]) == len(shared):  # one set of shared attributes (the usual)
            distinct: tuple = (shared[0],)
        else:
            distinct = tuple(dict(zip(map(id, shared), shared)).values())
        # which fields are fixed text and which vary depends only on these: remembered
        known = (tuple(map(id, distinct)), tuple((name, texts.__class__ is NumberedTexts and texts.prefix)
                                                 for name, texts in columns.items()),
                 tuple(head) if self.series_cells else ())
        held = self.plans.get(known)
        if held is None or held[0] != distinct:
            if len(self.plans) >= SHARED_CACHE:
                self.plans.clear()
            held = self.plans[known] = (distinct, *self.plan(distinct, columns, head))
        _, gaps, varying = held
        uniform = len(distinct) == 1
        variables: list[Iterable[str]] = []
        for attr_id, cache, blank in varying:
            texts = columns.get(attr_id)
            if texts.__class__ is NumberedTexts and cache is None:
                variables.append(map(str, texts.numbers))
            else:
                variables.append(self.attribute(observations, attr_id, texts, uniform, cache, blank))
        return list(gaps), variables

    def plan(self, distinct: tuple, columns: Mapping, head: list[str]) -> tuple[list[str], list[tuple]]:
        """(gaps, the fields that vary: (attribute, cache, blank)) of series with these attributes."""
        gaps = [""]
        varying: list[tuple] = []
        for i, attr_id, observed, cache, blank in self.positions:
            if not observed:
                gaps[-1] += "," + head[i]
                continue
            texts = columns.get(attr_id)
            if texts.__class__ is NumberedTexts and cache is None and self.numbered_safe(texts):
                gaps[-1] += "," + texts.prefix
            elif texts is None and all(attrs.get(attr_id) == distinct[0].get(attr_id) for attrs in distinct):
                gaps[-1] += "," + self.shared_cell(distinct[0], attr_id, cache, blank)  # the same on every line
                continue
            else:
                gaps[-1] += ","
            gaps.append("")
            varying.append((attr_id, cache, blank))
        return gaps, varying

    def numbered_safe(self, texts: NumberedTexts) -> bool:
        """Whether prefix and number are written as they are (no quotes, nothing like a formula): a
        prefix that needs neither, before any number (a bare number could be negative)."""
        if not texts.prefix:
            return False
        sample = texts.prefix + "0"
        return self.text_cells([sample]) == [sample]

    def values(self, values: list[float | None]) -> list[str]:
        known = self.value_texts
        texts = list(map(known.get, values))
        if None in texts:
            fresh = {value: self.value_text(value) for value in set(values).difference(known)}
            for value in itertools.islice(fresh, max(self.value_text_cache - len(known), 0)):
                if value == value:
                    known[value] = fresh[value]
            texts = list(map(known.get, values))
            at = -1
            for _ in range(texts.count(None)):  # NaN, or the cache is full
                at = texts.index(None, at + 1)
                texts[at] = fresh[values[at]]
        return texts

    def shared_cell(self, attrs: Mapping[str, str], attr_id: str, cache: dict[str, str] | None, blank: str) -> str:
        """The cell of ``attr_id`` for observations sharing ``attrs`` (remembered per set of attributes)."""
        held = self.shared.get(id(attrs))
        if held is None or held[0] is not attrs:
            if len(self.shared) >= SHARED_CACHE:
                self.shared.clear()
            held = self.shared[id(attrs)] = (attrs, {})
        found = held[1].get(attr_id)
        if found is None:
            found = held[1][attr_id] = self.one_cell(attr_id, attrs.get(attr_id) or "", cache, blank)
        return found

    def one_cell(self, attr_id: str, value: str, cache: dict[str, str] | None, blank: str) -> str:
        if not value:
            return blank
        if cache is None:
            return self.text_cells([value])[0]
        hit = cache.get(value)
        if hit is None:
            hit = cache[value] = self.cell(attr_id, value)
        return hit

    def attribute(self, observations: ObservationColumns, attr_id: str, texts: Sequence[str] | None,
                  uniform: bool, cache: dict[str, str] | None, blank: str) -> list[str]:
        """The cells of one observation attribute that varies from line to line."""
        shared = observations.attributes
        if texts.__class__ is NumberedTexts:  # one that needs quoting
            texts = list(texts)
        if texts is not None and not any(texts):
            texts = None
        if texts is not None and all(texts):
            given = texts
        elif uniform:
            value = shared[0].get(attr_id) or ""
            if texts is None:
                given = [value] * len(shared)
            else:
                given = [text or value for text in texts] if value else texts
        else:
            given = list(map(methodcaller("get", attr_id, ""), shared))
            if texts is not None:
                given = [text or value for text, value in zip(texts, given)]
        if cache is None:
            return self.text_cells(given)
        found = list(map(cache.get, given))
        if None in found:
            for value in set(given).difference(cache):
                cache[value] = self.one_cell(attr_id, value, cache, blank) if value else blank
            found = list(map(cache.__getitem__, given))
        return found
