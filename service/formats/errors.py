"""SDMX error messages: the body of every failed request, in the negotiated format.

Rule: bytes out of plain values (an SDMX error code, a title, a detail); no
I/O, and nothing of the exception classes, which the API maps to these.

- SDMX-ML 2.1 and 3.0: the ``Error`` message, one ``ErrorMessage code=...``
  per error with one ``common:Text`` (SDMX-REST 1.5.0 section 4.7);
- SDMX-JSON 1.0.0 and 2.0.0: ``{"meta": ..., "errors": [{"code", "title",
  "detail"}]}`` as the data and structure schemas define ``errors``.

An error may carry a validation report (a refused submission, 422): in
SDMX-JSON the error object holds it whole as ``report`` (the schemas allow
members of their own); in SDMX-ML each problem follows as one more
``ErrorMessage`` with the same code, then one giving the totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence
from uuid import uuid4

import orjson

from .sdmx_ml_generic import escape

_ML_NAMESPACES = {
    "2.1": ("http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message",
            "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common"),
    "3.0": ("http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message",
            "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/common"),
}
_ML_NAMESPACES["3.0.0"] = _ML_NAMESPACES["3.0"]
_JSON_VERSIONS = ("1.0.0", "2.0.0")


@dataclass(frozen=True)
class ErrorEntry:
    """One error: its SDMX code (100 no results, 140 syntax, 500 internal...), a title, what went wrong."""

    code: int
    title: str
    detail: str | None = None
    #: A validation report as ``Report.to_dict()`` gives it (problems capped, totals always there).
    report: Mapping[str, Any] | None = None

    @property
    def text(self) -> str:
        if not self.detail or self.detail == self.title:
            return self.title
        return f"{self.title}: {self.detail}"


def _entries(errors: ErrorEntry | Sequence[ErrorEntry]) -> list[ErrorEntry]:
    entries = [errors] if isinstance(errors, ErrorEntry) else list(errors)
    if not entries:
        raise ValueError("an error message needs at least one error")
    return entries


def write_error_ml(errors: ErrorEntry | Sequence[ErrorEntry], version: str = "2.1",
                   language: str = "en") -> bytes:
    """An SDMX-ML ``Error`` message (2.1 or 3.0), valid against the official XSD."""
    try:
        message_ns, common_ns = _ML_NAMESPACES[version]
    except KeyError:
        raise ValueError(f"no SDMX-ML error message for version {version!r}") from None
    lang = escape(language or "en")
    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<message:Error xmlns:message="{message_ns}" xmlns:common="{common_ns}">']
    for entry in _entries(errors):
        texts = [entry.text] + (report_texts(entry.report) if entry.report else [])
        for text in texts:
            parts.append(f'<message:ErrorMessage code="{int(entry.code)}">'
                         f'<common:Text xml:lang="{lang}">{escape(text)}</common:Text>'
                         "</message:ErrorMessage>")
    parts.append("</message:Error>")
    return "".join(parts).encode()


def write_error_json(errors: ErrorEntry | Sequence[ErrorEntry], version: str = "1.0.0", *,
                     language: str = "en", sender: str = "MIGSTAT", message_id: str | None = None,
                     prepared: datetime | None = None) -> bytes:
    """An SDMX-JSON error message (1.0.0 or 2.0.0): ``meta`` and ``errors``, never ``data``."""
    if version not in _JSON_VERSIONS:
        raise ValueError(f"no SDMX-JSON error message for version {version!r}")
    moment = (prepared or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    meta = {"id": message_id or f"MIGSTAT-{uuid4().hex[:12]}", "test": False,
            "prepared": moment.strftime("%Y-%m-%dT%H:%M:%SZ"), "contentLanguages": [language],
            "sender": {"id": sender}}
    items = []
    for entry in _entries(errors):
        item: dict = {"code": int(entry.code), "title": entry.title, "titles": {language: entry.title}}
        if entry.detail and entry.detail != entry.title:
            item["detail"] = entry.detail
            item["details"] = {language: entry.detail}
        if entry.report:
            item["report"] = entry.report
        items.append(item)
    return orjson.dumps({"meta": meta, "errors": items})


def problem_text(problem: Mapping[str, Any]) -> str:
    """One problem of a report as a line: where, what, the value and what was expected."""
    where = ", ".join(str(part) for part in (
        problem.get("file"), f"sheet {problem['sheet']}" if problem.get("sheet") else None,
        f"row {problem['row']}" if problem.get("row") is not None else None,
        f"column {problem['column']}" if problem.get("column") else None, problem.get("object_id")) if part)
    text = f"{problem.get('severity', 'error')} {problem.get('code', '')}: "
    text += f"{where}: {problem.get('message', '')}" if where else str(problem.get("message", ""))
    extra = []
    if problem.get("value") is not None and str(problem["value"]) not in text:
        extra.append(f"value {problem['value']!r}")
    if problem.get("expected"):
        extra.append(f"expected {problem['expected']}")
    return text + (f" ({'; '.join(extra)})" if extra else "")


def report_texts(report: Mapping[str, Any]) -> list[str]:
    """Each listed problem of a report, then the totals (always given, even when the list is capped)."""
    problems = list(report.get("problems", ()))
    errors, warnings = int(report.get("errors", 0)), int(report.get("warnings", 0))
    total = f"{errors} error(s) and {warnings} warning(s) in total"
    if len(problems) < errors + warnings:
        total += f"; the first {len(problems)} are listed"
    return [problem_text(p) for p in problems] + [total]
