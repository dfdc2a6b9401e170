"""Pages of a data answer: ``Range: values=a-b`` (``X-Range`` as the .Stat Data Explorer sends it) and
the SDMX-REST 2.x ``offset``/``limit``, counted in observations.

Rule: a page is cut while the store's series stream, with no store change: series wholly before
the page are skipped, observations outside it dropped, and the stream stops after the page's
last observation (closing the store cursor). Positions are 0-based and follow the store's order
(series key, then time). The answer says which page it is in ``Content-Range: values a-b/total``
(status 206), the total being ``Store.count`` or ``*`` when filters applied while streaming make
it unknown in advance. A page that starts at or after the total is unsatisfiable (416). The
configured maximum response size applies to the page, not to the whole answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping

from ..errors import RangeNotSatisfiable, ResponseTooLarge, SyntaxProblem
from ..model.data import Series

RANGE_RE = re.compile(r"^\s*values\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Page:
    """Observations ``first`` to ``last`` (inclusive; ``last`` None: to the end)."""

    first: int = 0
    last: int | None = None

    def size(self, total: int | None) -> int | None:
        end = self.last if total is None or self.last is not None and self.last < total else (
            None if total is None else total - 1)
        return None if end is None else end - self.first + 1

    def content_range(self, total: int | None, delivered: int | None = None) -> str:
        """``values a-b/total``; ``b`` is the last observation the page holds."""
        if total is not None:
            last = total - 1 if self.last is None else min(self.last, total - 1)
        elif delivered is not None:
            last = self.first + delivered - 1
        else:
            last = self.last if self.last is not None else self.first
        return f"values {self.first}-{last}/{'*' if total is None else total}"


def requested_page(headers: Mapping[str, str]) -> Page | None:
    """The page a ``Range`` or ``X-Range`` header asks for (other units and forms are ignored, as HTTP says)."""
    text = headers.get("X-Range") or headers.get("Range")
    if not text:
        return None
    match = RANGE_RE.match(text)
    if not match or not (match.group(1) or match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if not first:  # "values=-500": the last 500 observations: not offered, the whole answer is sent
        return None
    page = Page(int(first), int(last) if last else None)
    if page.last is not None and page.last < page.first:
        raise SyntaxProblem(f"the range {text!r} ends before it starts")
    return page


def offset_limit_page(offset: str | None, limit: str | None) -> Page | None:
    """The page of the 2.x ``offset`` (default 0) and ``limit`` parameters."""
    if offset in (None, "") and limit in (None, ""):
        return None
    try:
        first = int(offset) if offset not in (None, "") else 0
        size = int(limit) if limit not in (None, "") else None
    except ValueError:
        raise SyntaxProblem(f"offset={offset!r} and limit={limit!r} must be integers") from None
    if first < 0 or (size is not None and size < 1):
        raise SyntaxProblem("offset must be 0 or more and limit 1 or more")
    return Page(first, None if size is None else first + size - 1)


def check_page(page: Page | None, total: int | None, limit: int) -> None:
    """416 for a page past the end; 413 (SDMX 510) when the page (or the whole answer) exceeds ``limit``."""
    if page is not None and total is not None and page.first >= max(total, 1):
        raise RangeNotSatisfiable(f"the answer holds {total:,} observations; the range starts at {page.first:,}",
                                  headers={"Content-Range": f"values */{total}"})
    size = total if page is None else page.size(total)
    if size is not None and size > limit:
        what = f"the query matches {total:,} observations" if page is None else \
            f"the requested page holds {size:,} observations"
        raise ResponseTooLarge(f"{what}; the limit is {limit:,}. Narrow it by key, period (startPeriod/endPeriod or "
                               "c[TIME_PERIOD]) or lastNObservations, or ask for a page of at most "
                               f"{limit:,} observations with a Range: values=0-{limit - 1} header (offset/limit "
                               "in SDMX-REST 2.x)")


def cut(series: Iterable[Series], page: Page, counter: list[int] | None = None) -> Iterator[Series]:
    """The part of ``series`` inside ``page``; ``counter[0]`` counts the observations passed on."""
    position = 0
    first, last = page.first, page.last
    for one in series:
        n = len(one.observations)
        if position + n <= first:
            position += n
            continue
        start = max(first - position, 0)
        stop = n if last is None else min(n, last - position + 1)
        kept = one.observations if (start == 0 and stop == n) else one.observations[start:stop]
        if kept:
            if counter is not None:
                counter[0] += len(kept)
            yield Series(one.key, kept, one.attributes)
        position += n
        if last is not None and position > last:
            return
