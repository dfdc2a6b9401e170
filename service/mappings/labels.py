"""Labels of national tables -> codes.

A label is compared after normalisation: Unicode NFC, case folded, ё as е,
footnote marks and punctuation dropped, spaces collapsed, `` / `` kept as the
separator of bilingual labels. A bilingual label ("Ресей / Россия") matches
when the whole label or any of its sides does, and every side that matches
names the same code.

Codes are looked up in tiers, first hit wins: the mapping's explicit labels,
the country's aliases, the code ids themselves, then the codelist names in
every language the codelist carries. A label that matches nothing, or two
codes within one tier, is a Resolution with a problem and the closest codes
by name (difflib), never a guess. Pure functions and objects; no I/O.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from typing import Hashable, Iterable, Mapping

from ..model.structure import Codelist

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007\u200b]+")
_FOOTNOTE_TAIL = re.compile(r"(?:\s*(?:\*+|[\u00b9\u00b2\u00b3\u2070-\u2079]+|\(\d{1,2}\)|(?<=\s)\d{1,2}\)))+$")
_PUNCTUATION = re.compile(r"[.,;:!?()\[\]{}\"'«»„“”‘’\-–—−_*#№+=<>]+")
_SLASH = re.compile(r"\s*/\s*")
_PAREN = re.compile(r"\s*\([^)]*\)")


def plain(text: str) -> str:
    """Text with every kind of space (no-break, narrow, thin) as one plain space, trimmed."""
    return _SPACES.sub(" ", text).strip()


def strip_footnote(text: str) -> str:
    """Text without trailing footnote marks (``*``, ``¹``, ``(1)``, `` 1)``)."""
    return _FOOTNOTE_TAIL.sub("", text)


def normalise(label: str) -> str:
    """The comparable form of a label."""
    text = unicodedata.normalize("NFC", str(label)).strip()
    text = strip_footnote(text).casefold().replace("ё", "е")
    text = _PUNCTUATION.sub(" ", text)
    text = _SLASH.sub(" / ", text)
    return _SPACES.sub(" ", text).strip(" /")


def variants(label: str) -> list[str]:
    """The normalised whole label, then each side of a bilingual label."""
    whole = normalise(label)
    out = [whole] if whole else []
    if " / " in whole:
        for side in whole.split(" / "):
            if side and side not in out:
                out.append(side)
    return out


@dataclass(frozen=True)
class Resolution:
    """What a label resolved to: a target (a code or an entry key), or a problem with suggestions."""

    target: Hashable | None = None
    problem: str | None = None  # "unknown-label" or "ambiguous-label"
    message: str = ""
    suggestions: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.problem is None


class LabelIndex:
    """Normalised labels -> targets, in tiers searched in order."""

    def __init__(self, what: str = "label"):
        self.what = what
        self.tiers: list[tuple[str, dict[str, set[Hashable]], bool]] = []
        self.display: dict[str, str] = {}  # normalised label -> how suggestions show it

    def add_tier(self, name: str, pairs: Iterable[tuple[str, Hashable]], show: Mapping[Hashable, str] | None = None,
                 exact: bool = False):
        """A tier of (label, target) pairs; ``exact`` tiers compare the stripped text as it is (code ids)."""
        table: dict[str, set[Hashable]] = {}
        for label, target in pairs:
            key = label.strip() if exact else normalise(label)
            if not key:
                continue
            table.setdefault(key, set()).add(target)
            shown = show.get(target, str(target)) if show is not None else str(target)
            self.display.setdefault(key, f"{shown} ({label.strip()})" if shown != label.strip() else shown)
        self.tiers.append((name, table, exact))
        return self

    def resolve(self, label: str) -> Resolution:
        keys = variants(label)
        for tier_name, table, exact in self.tiers:
            found: set[Hashable] = set()
            for key in ([label.strip()] if exact else keys):
                found |= table.get(key, set())
            if len(found) == 1:
                return Resolution(next(iter(found)))
            if len(found) > 1:
                shown = sorted(str(t) for t in found)
                return Resolution(None, "ambiguous-label",
                                  f"{self.what} {label.strip()!r} matches several codes ({', '.join(shown)}) "
                                  f"in the {tier_name}", tuple(shown))
        return Resolution(None, "unknown-label", f"{self.what} {label.strip()!r} matches no code",
                          self.suggest(keys))

    def suggest(self, keys: list[str], limit: int = 5) -> tuple[str, ...]:
        pool = list(self.display)
        out: list[str] = []
        for key in keys:
            for close in difflib.get_close_matches(key, pool, n=limit, cutoff=0.6):
                shown = self.display[close]
                if shown not in out:
                    out.append(shown)
        return tuple(out[:limit])

    def labels(self) -> list[str]:
        return [key for _, table, _ in self.tiers for key in table]


def codelist_pairs(codelist: Codelist) -> list[tuple[str, str]]:
    """(name, code) for every name of every code in every language, also without a parenthesised part."""
    pairs = []
    for item in codelist.items:
        for name in item.names.values():
            if not name:
                continue
            pairs.append((name, item.id))
            bare = _PAREN.sub("", name).strip()
            if bare and bare != name:
                pairs.append((bare, item.id))
    return pairs


def code_index(codelist: Codelist | None, aliases: Mapping[str, str] | None = None,
               explicit: Iterable[tuple[str, Hashable]] | None = None, what: str = "label",
               show: Mapping[Hashable, str] | None = None) -> LabelIndex:
    """The tiers for one coded component: explicit labels, aliases, code ids, codelist names."""
    index = LabelIndex(what)
    if explicit:
        index.add_tier("mapping's labels", explicit, show)
    if aliases:
        index.add_tier("aliases", aliases.items())
    if codelist is not None:
        index.add_tier("code ids", ((item.id, item.id) for item in codelist.items), exact=True)
        index.add_tier("codelist names", codelist_pairs(codelist))
    return index
