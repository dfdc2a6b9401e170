"""Content negotiation: choose one entry of the format table from an Accept header or ``format=``.

Media types are compared exactly on type, subtype and ``version``; spacing,
case and q-weights are tolerated; the common aliases (application/xml,
application/json, text/csv, */*) map to a default per kind of resource.
Pure functions over the table; nothing here knows HTTP frameworks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence


@dataclass(frozen=True)
class MediaFormat:
    """One representation the service can produce."""

    name: str  # short name, e.g. "sdmx-csv-2"
    media_type: str  # exact type/subtype, e.g. application/vnd.sdmx.data+csv
    version: str | None  # the media type's version parameter ("2.1", "1.0.0") or None
    kind: str  # "data", "structure", "schema", "error"
    writer: Callable | None = None
    #: Aliases that select this format: bare types (application/xml) and format= names.
    aliases: tuple[str, ...] = ()
    format_names: tuple[str, ...] = ()  # values of the format= parameter (with formatVersion)
    extension: str = ""

    @property
    def content_type(self) -> str:
        return f"{self.media_type};version={self.version}" if self.version else self.media_type


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    params: dict[str, str] = field(default_factory=dict)
    q: float = 1.0

    @property
    def full(self) -> str:
        return f"{self.type}/{self.subtype}"


def parse_accept(header: str | None) -> list[MediaRange]:
    """Media ranges of an Accept header, best first (stable for equal q)."""
    if not header or not header.strip():
        return [MediaRange("*", "*")]
    ranges = []
    for index, part in enumerate(header.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        if not pieces[0]:
            continue
        if "/" not in pieces[0]:
            if pieces[0] == "*":
                pieces[0] = "*/*"
            else:
                continue
        mtype, _, subtype = pieces[0].lower().partition("/")
        params, q = {}, 1.0
        for piece in pieces[1:]:
            key, _, value = piece.partition("=")
            key, value = key.strip().lower(), value.strip().strip('"')
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
            elif key:
                params[key] = value
        ranges.append((-q, index, MediaRange(mtype.strip(), subtype.strip(), params, q)))
    ranges.sort(key=lambda item: (item[0], item[1]))
    return [r for _, _, r in ranges if r.q > 0]


def same_version(asked: str, offered: str | None) -> bool:
    """``1.0``, ``1.0.0`` and ``1.0.0-wd`` (the .Stat Data Explorer's) name the same format version."""
    if offered is None:
        return False

    def parts(text: str) -> list[str]:
        numbers = text.strip().split("-", 1)[0].split(".")
        while len(numbers) > 1 and numbers[-1] == "0":
            numbers.pop()
        return numbers

    return asked.strip() == offered or parts(asked) == parts(offered)


def _matches(rng: MediaRange, fmt: MediaFormat) -> bool:
    if rng.full != fmt.media_type:
        return False
    version = rng.params.get("version")
    return version is None or same_version(version, fmt.version)


def negotiate(accept: str | None, formats: Sequence[MediaFormat], default: MediaFormat) -> tuple[MediaFormat,
                                                                                                 dict[str, str]] | None:
    """The best format for an Accept header and the media-type parameters the client gave.

    An exact SDMX media type wins; a type without ``version`` takes the first
    listed format of that type (the newest, by table order); an alias or a
    wildcard takes ``default`` or the alias's format. None when nothing fits (406).
    """
    for rng in parse_accept(accept):
        if rng.full == "*/*" or rng.full in ("application/*",):
            return default, rng.params
        exact = [f for f in formats if _matches(rng, f)]
        if exact:
            return exact[0], rng.params
        for fmt in formats:
            if rng.full in fmt.aliases:
                return fmt, rng.params
        if rng.subtype == "*":
            same_type = [f for f in formats if f.media_type.startswith(rng.type + "/")
                         or any(alias.startswith(rng.type + "/") for alias in f.aliases)]
            if same_type:
                return (default if default in same_type else same_type[0]), rng.params
    return None


def by_format_name(name: str, version: str | None, formats: Sequence[MediaFormat]) -> MediaFormat | None:
    """The format named by the ``format=`` / ``formatVersion=`` parameters (SDMX-REST extension)."""
    name = name.strip().lower()
    candidates = [f for f in formats if name in f.format_names]
    if version:
        candidates = [f for f in candidates if f.version == version.strip()]
    return candidates[0] if candidates else None
