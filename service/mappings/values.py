"""Cell text of national tables -> an observation value and the status that says what it is.

Numbers may carry thousands separators (space, no-break space, narrow
no-break space, thin space), a decimal comma, any of the minus signs in use
(hyphen-minus, en dash, em dash, U+2212) and footnote marks (``*``, ``¹``,
`` 1)``). Symbols are declared per table over the defaults of CIS statistical
practice (SDMX CL_OBS_STATUS / CL_CONF_STATUS codes):

=========  ===========  ===========================================
symbol     value        attributes
=========  ===========  ===========================================
``-``      0            OBS_STATUS A (a real zero: the phenomenon is absent), COMMENT_OBS
``...``    missing      OBS_STATUS O (not available)
``…``      missing      OBS_STATUS O
``x``      missing      OBS_STATUS Q (suppressed), CONF_STATUS C
``0,0``    0            OBS_STATUS N (not significant: less than half the unit)
blank      as declared  ``nil`` (like ``-``), ``missing`` (OBS_STATUS O) or ``error``
=========  ===========  ===========================================

Anything else is an error: no symbol becomes a silent 0. No I/O here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from .labels import strip_footnote

OBS_STATUS = "OBS_STATUS"
CONF_STATUS = "CONF_STATUS"
COMMENT_OBS = "COMMENT_OBS"

NORMAL: Mapping[str, str] = MappingProxyType({OBS_STATUS: "A"})
NIL: Mapping[str, str] = MappingProxyType({OBS_STATUS: "A", COMMENT_OBS: "nil (phenomenon absent)"})
NOT_AVAILABLE: Mapping[str, str] = MappingProxyType({OBS_STATUS: "O"})
CONFIDENTIAL: Mapping[str, str] = MappingProxyType({OBS_STATUS: "Q", CONF_STATUS: "C"})
NOT_SIGNIFICANT: Mapping[str, str] = MappingProxyType({OBS_STATUS: "N"})

#: symbol -> (value, attributes): the defaults every table starts from.
DEFAULT_SYMBOLS: dict[str, tuple[float | None, Mapping[str, str]]] = {
    "-": (0.0, NIL), "–": (0.0, NIL), "—": (0.0, NIL), "−": (0.0, NIL),
    "...": (None, NOT_AVAILABLE), "…": (None, NOT_AVAILABLE), "..": (None, NOT_AVAILABLE),
    "x": (None, CONFIDENTIAL), "х": (None, CONFIDENTIAL), "X": (None, CONFIDENTIAL), "Х": (None, CONFIDENTIAL),
    "0,0": (0.0, NOT_SIGNIFICANT), "0.0": (0.0, NOT_SIGNIFICANT), "-0,0": (0.0, NOT_SIGNIFICANT),
}

#: What a blank cell means, by the table's declaration.
BLANK_RULES = {
    "nil": (0.0, MappingProxyType({OBS_STATUS: "A", COMMENT_OBS: "blank cell: nil, as the table declares"})),
    "missing": (None, NOT_AVAILABLE),
}

_PLAIN = re.compile(r"-?\d+(?:\.\d+)?")
_SEPARATORS = " \u00a0\u202f\u2009\u2007"
_GROUPED = re.compile(r"(?P<sign>[-+]?)(?P<int>\d{1,3}(?:[" + _SEPARATORS + r"]\d{3})+|\d+)"
                      r"(?:[.,](?P<frac>\d+))?")
_MINUS = str.maketrans({"–": "-", "—": "-", "−": "-", "‒": "-"})


class BadValue(ValueError):
    """A cell that is neither a number nor a declared symbol."""

    def __init__(self, message: str, expected: str):
        super().__init__(message)
        self.expected = expected


@dataclass(frozen=True)
class ValueRules:
    """The value conventions of one table."""

    symbols: Mapping[str, tuple[float | None, Mapping[str, str]]]
    blank: str = "error"  # nil, missing or error
    decimal: str = ","
    footnotes: bool = True

    @classmethod
    def declared(cls, symbols: Mapping[str, Mapping] | None = None, blank: str = "error", decimal: str = ",",
                 footnotes: bool = True) -> "ValueRules":
        """The defaults overlaid with a table's ``symbols`` ({text: {value, OBS_STATUS, ...}})."""
        table = dict(DEFAULT_SYMBOLS)
        for text, spec in (symbols or {}).items():
            spec = dict(spec)
            value = spec.pop("value", None)
            table[str(text).strip()] = (None if value is None else float(value),
                                        MappingProxyType({k: str(v) for k, v in spec.items()}))
        return cls(MappingProxyType(table), blank, decimal, footnotes)


class ValueParser:
    """Parses cells with one table's rules; ``parse`` is called once per cell, so it is kept lean."""

    def __init__(self, rules: ValueRules):
        self.rules = rules
        self.symbols = dict(rules.symbols)
        self.expected = ("a number (e.g. 1 974, -3 925, 30,0) or one of the symbols "
                         + " ".join(repr(s) for s in sorted(self.symbols)))
        self.comma_decimal = rules.decimal == ","

    def parse(self, cell: str | float | int | None) -> tuple[float | None, Mapping[str, str]]:
        """(value, attributes) of one cell; raises BadValue."""
        if cell is None:
            return self.blank("")
        if cell.__class__ is not str:
            if isinstance(cell, (int, float)) and not isinstance(cell, bool) and cell == cell:
                return float(cell), NORMAL
            raise BadValue(f"{cell!r} is not a number", self.expected)
        if _PLAIN.fullmatch(cell):
            return float(cell), NORMAL
        text = cell.strip()
        if not text:
            return self.blank(cell)
        hit = self.symbols.get(text)
        if hit is not None:
            return hit
        return self.number(text)

    def blank(self, cell: str) -> tuple[float | None, Mapping[str, str]]:
        rule = BLANK_RULES.get(self.rules.blank)
        if rule is None:
            raise BadValue("blank cell: the table does not declare what a blank means",
                           "a number or a symbol (or declare `values: {blank: nil | missing}` in the mapping)")
        return rule

    def number(self, text: str) -> tuple[float | None, Mapping[str, str]]:
        attrs = NORMAL
        bare = text.translate(_MINUS)
        if self.rules.footnotes:
            stripped = strip_footnote(bare).strip()
            if stripped != bare:
                mark = bare[len(stripped):].strip()
                hit = self.symbols.get(stripped)
                if hit is not None:
                    return hit[0], MappingProxyType({**hit[1], COMMENT_OBS: f"footnote {mark}"})
                attrs = MappingProxyType({**NORMAL, COMMENT_OBS: f"footnote {mark}"})
                bare = stripped
        hit = self.symbols.get(bare)
        if hit is not None:
            return hit
        match = _GROUPED.fullmatch(bare)
        if match is None or (not self.comma_decimal and "," in bare and match["frac"] is not None):
            raise BadValue(f"{text!r} is not a number", self.expected)
        digits = match["int"].translate({ord(c): None for c in _SEPARATORS})
        frac = match["frac"]
        value = float(f"{match['sign']}{digits}.{frac}" if frac is not None else f"{match['sign']}{digits}")
        return value, attrs
