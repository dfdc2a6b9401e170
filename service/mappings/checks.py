"""Consistency checks a mapping declares: warnings in the report, never errors.

``difference``  result = minuend - subtrahend along one dimension
                (e.g. INDICATOR NETM = IMM - EMI), for every other key and period;
``sum``         a total not below the sum of its listed parts along one dimension
                (``equal: true``: exactly the sum), e.g. COUNTERPART_AREA 172
                against the CIS countries the table lists.

Either may be limited by ``where: {DIMENSION: [codes]}`` (e.g. "not below"
makes no sense for a net balance, which can be negative).

Published aggregates stay as published; the checks only tell. Only the
observations a check needs are kept, so they run on streams too. No I/O.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from ..model.data import Origin
from ..model.report import Problem, Report
from ..model.structure import DataStructure

_Value = tuple[float, Origin | None]


def _text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


class Checks:
    """Collects the observations the declared checks need, then reports what does not add up."""

    def __init__(self, checks: Iterable[Mapping[str, Any]], structure: DataStructure):
        self.checks: list[tuple[str, int, dict]] = []
        #: (check number, key position, codes, ((position, codes the key must hold), ...))
        self.watch: list[tuple[int, int, frozenset[str], tuple]] = []
        self.values: dict[tuple[int, tuple[str, ...], str], dict[str, _Value]] = {}
        dims = structure.dimension_ids
        for check in checks:
            kind, raw = next(iter(check.items()))
            spec = {k: ([str(c) for c in v] if isinstance(v, list) else v if isinstance(v, (bool, dict)) else str(v))
                    for k, v in raw.items()}
            where = {dims.index(d): frozenset(str(c) for c in (v if isinstance(v, list) else [v]))
                     for d, v in (spec.get("where") or {}).items() if d in dims}
            if spec["dimension"] not in dims:
                continue  # reported by the mapping check
            position = dims.index(spec["dimension"])
            codes = ({spec["result"], spec["minuend"], spec["subtrahend"]} if kind == "difference"
                     else {spec["total"], *spec["parts"]})
            self.watch.append((len(self.checks), position, frozenset(codes), tuple(where.items())))
            self.checks.append((kind, position, spec))

    def __bool__(self) -> bool:
        return bool(self.checks)

    def observe(self, key: tuple[str, ...], period: str, value: float | None, origin: Origin | None) -> None:
        if value is None:
            return
        for number, position, codes, where in self.watch:
            if position < len(key) and key[position] in codes and all(key[p] in allowed for p, allowed in where):
                other = key[:position] + key[position + 1:]
                self.values.setdefault((number, other, period), {})[key[position]] = (value, origin)

    def finish(self, report: Report) -> None:
        for (number, other, period), found in self.values.items():
            kind, _, spec = self.checks[number]
            if kind == "difference":
                self._difference(spec, found, period, report)
            else:
                self._sum(spec, found, period, report)

    @staticmethod
    def _difference(spec: dict, found: dict[str, _Value], period: str, report: Report) -> None:
        names = (spec["result"], spec["minuend"], spec["subtrahend"])
        if not all(n in found for n in names):
            return
        (result, origin), (minuend, _), (subtrahend, _) = (found[n] for n in names)
        if not _close(result, minuend - subtrahend):
            report.add(Problem(
                "check-difference", f"{spec['dimension']} {names[0]} {_text(result)} is not {names[1]} "
                f"{_text(minuend)} - {names[2]} {_text(subtrahend)} = {_text(minuend - subtrahend)} ({period})",
                "warning", value=_text(result), expected=_text(minuend - subtrahend),
                **(origin.as_where() if origin else {})))

    @staticmethod
    def _sum(spec: dict, found: dict[str, _Value], period: str, report: Report) -> None:
        if spec["total"] not in found:
            return
        parts = [p for p in spec["parts"] if p in found]
        if not parts:
            return
        total, origin = found[spec["total"]]
        added = sum(found[p][0] for p in parts)
        equal = spec.get("equal", False)
        if (equal and not _close(total, added)) or (not equal and added > total and not _close(total, added)):
            relation = "is not" if equal else "is below"
            report.add(Problem(
                "check-sum", f"{spec['dimension']} {spec['total']} {_text(total)} {relation} the sum of "
                f"{', '.join(parts)} = {_text(added)} ({period})", "warning", value=_text(total),
                expected=_text(added) if equal else f"at least {_text(added)}", **(origin.as_where() if origin else {})))
