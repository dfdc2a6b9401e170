"""Read the parts of SDMX-REST URLs: flow references, keys, provider references, query parameters.

Every function raises SyntaxProblem (400) with a message naming the bad part,
or NotImplementedYet (501) for a standard option this service does not offer.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Mapping

from ..errors import NotImplementedYet, SyntaxProblem
from ..model.period import parse_end_period, parse_start_period
from ..model.query import DETAILS

FLOW_PART_RE = re.compile(r"^[A-Za-z0-9_@$\-.]+$")
CODE_RE = re.compile(r"^[A-Za-z0-9_@$\-]+$")


def parse_flow_ref(text: str) -> tuple[str | None, str, str | None]:
    """``DF``, ``AGENCY,DF`` or ``AGENCY,DF,VERSION`` -> (agency or None, id, version or None)."""
    parts = text.split(",")
    if not 1 <= len(parts) <= 3 or not all(FLOW_PART_RE.match(p) for p in parts):
        raise SyntaxProblem(f"flowRef {text!r} is not of the form ID, AGENCY,ID or AGENCY,ID,VERSION")
    if len(parts) == 1:
        return None, parts[0], None
    agency = None if parts[0] in ("all", "*") else parts[0]
    version = None if len(parts) < 3 or parts[2] in ("latest", "~") else parts[2]
    if version in ("all", "*"):
        version = None
    return agency, parts[1], version


def parse_key(text: str | None, dimension_ids: tuple[str, ...]) -> list[tuple[str, ...] | None]:
    """A key ``A.KZ+KG..IMM`` -> one entry per dimension: None (any) or the codes asked for.

    ``all`` (or no key) means every series. The number of parts must equal the
    number of dimensions.
    """
    if text is None or text in ("", "all", "*"):
        return [None] * len(dimension_ids)
    parts = text.split(".")
    if len(parts) != len(dimension_ids):
        raise SyntaxProblem(f"the key {text!r} has {len(parts)} part(s) but the structure has {len(dimension_ids)} "
                            f"dimensions ({'.'.join(dimension_ids)})")
    key: list[tuple[str, ...] | None] = []
    for dim, part in zip(dimension_ids, parts):
        if part in ("", "*"):
            key.append(None)
            continue
        codes = tuple(dict.fromkeys(c for c in part.replace(",", "+").split("+") if c))
        bad = [c for c in codes if not CODE_RE.match(c)]
        if bad or not codes:
            raise SyntaxProblem(f"the key {text!r} has an invalid code {(bad or [part])[0]!r} for dimension {dim}")
        key.append(codes)
    return key


def parse_providers(text: str | None) -> tuple[str, ...] | None:
    """``all`` -> None; ``AG,ID`` / ``ID`` with ``+`` lists -> provider ids."""
    if text is None or text in ("", "all", "*"):
        return None
    ids = []
    for part in text.split("+"):
        pieces = part.split(",")
        if not 1 <= len(pieces) <= 2 or not all(CODE_RE.match(p) for p in pieces):
            raise SyntaxProblem(f"providerRef {text!r} is not of the form ID or AGENCY,ID (joined by +)")
        ids.append(pieces[-1])
    return tuple(ids)


def parse_instant(name: str, text: str) -> datetime:
    """An ISO 8601 date-time (``updatedAfter``, ``asOf``, ``If-Modified-Since``) or an HTTP date."""
    value = text.strip().replace(" ", "+") if "T" in text else text.strip()
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            instant = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            raise SyntaxProblem(f"{name}={text!r} is not an ISO 8601 date-time (e.g. 2024-01-31T00:00:00Z)") from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(timezone.utc)


def parse_count(name: str, text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit() or int(text) < 1:
        raise SyntaxProblem(f"{name}={text!r} must be a positive integer")
    return int(text)


def parse_period(name: str, text: str | None, *, end: bool) -> datetime | None:
    if text is None or text == "":
        return None
    try:
        return parse_end_period(text) if end else parse_start_period(text)
    except ValueError as exc:
        raise SyntaxProblem(f"{name}={text!r}: {exc}") from None


def parse_detail(text: str | None, allowed: tuple[str, ...] = DETAILS) -> str:
    value = text or allowed[0]
    if value not in allowed:
        raise SyntaxProblem(f"detail={value!r} is not one of {', '.join(allowed)}")
    return value


def check_known(args: Mapping[str, str], known: set[str]) -> None:
    """Unknown query parameters are a syntax error (a typo should not silently return everything)."""
    for name in args:
        if name not in known and not name.startswith("c["):
            raise SyntaxProblem(f"unknown query parameter {name!r}; this resource accepts: {', '.join(sorted(known))}")


def unsupported(what: str) -> NotImplementedYet:
    return NotImplementedYet(f"{what} is not implemented by this service")
