"""A mapping against the structures: every component it names exists, every code it names is in its
codelist (and the dataflow's constraint), every dimension of the DSD and the mandatory series
attributes are given by something, the aliases name real codes.

Takes the structures as arguments (no catalog, no files); problems carry the
mapping file, the path of the offending key and its line.
"""

from __future__ import annotations

import difflib
from typing import Any, Iterable

from ..model.report import Problem, Report
from ..model.structure import SERIES, ContentConstraint
from .engine import OBS_VALUE, TIME_PERIOD, Context
from .load import MappingSpec

_PROVIDERS = "constants, attributes, table.columns, table.header.levels, table.rows or long.columns"


class _Checker:
    def __init__(self, spec: MappingSpec, ctx: Context, constraint: ContentConstraint | None, report: Report):
        self.spec, self.ctx, self.constraint, self.report = spec, ctx, constraint, report
        dsd = ctx.structure
        self.dimensions = set(dsd.dimension_ids)
        self.attributes = {a.id for a in dsd.attributes}
        self.provided: set[str] = set()

    def problem(self, code: str, message: str, where: list, value: str | None = None,
                suggestions: Iterable[str] = (), severity: str = "error") -> None:
        self.report.add(Problem(code, message, severity, file=str(self.spec.path), row=self.spec.lines(where),
                                object_id=".".join(str(p) for p in where), value=value,
                                suggestions=tuple(suggestions)))

    def component(self, comp: str, where: list, also: tuple[str, ...] = ()) -> bool:
        if comp in self.dimensions or comp in self.attributes or comp in also:
            return True
        known = sorted(self.dimensions | self.attributes | set(also))
        self.problem("unknown-component", f"{self.ctx.structure.ref.id} has no component {comp!r}", where, comp,
                     difflib.get_close_matches(comp, known, n=3))
        return False

    def code(self, comp: str, value: Any, where: list, provide: bool = True) -> None:
        """One component value: the component exists, a coded value is in its codelist and the constraint."""
        if not self.component(comp, where, (TIME_PERIOD,)):
            return
        if provide:
            self.provided.add(comp)
        value = str(value)
        codelist = self.ctx.codelist_of(comp)
        if codelist is not None and value not in codelist:
            self.problem("unknown-code", f"{comp} code {value!r} is not in {codelist.ref.id}", where, value,
                         difflib.get_close_matches(value, list(codelist.by_id), n=3))
            return
        allowed = self.constraint.allowed(comp) if self.constraint is not None else None
        if allowed is not None and value not in allowed:
            self.problem("not-allowed", f"{comp} code {value!r} is outside the constraint of {self.spec.dataflow}",
                         where, value, sorted(allowed)[:8])

    def codes(self, codes: dict | None, where: list) -> None:
        for comp, value in (codes or {}).items():
            self.code(comp, value, [*where, comp])

    def labels(self, dimension: str | None, labels: dict | None, where: list) -> None:
        for label, entry in (labels or {}).items():
            if isinstance(entry, dict):
                self.codes(entry, [*where, label])
            elif dimension is None:
                self.problem("no-dimension", f"label {label!r} gives a bare code but no dimension is declared here",
                             [*where, label], str(entry))
            else:
                self.code(dimension, entry, [*where, label])

    def dimension(self, comp: str | None, where: list) -> None:
        if comp is not None and self.component(comp, where, (TIME_PERIOD,)):
            self.provided.add(comp)

    def run(self) -> None:
        data = self.spec.data
        self.codes(data.get("constants"), ["constants"])
        self.codes(data.get("attributes"), ["attributes"])
        if "time_period" in data:
            self.provided.add(TIME_PERIOD)
        for attr in data.get("title_attributes") or {}:
            if self.component(attr, ["title_attributes", attr]):
                self.provided.add(attr)
        for text, symbol in ((data.get("values") or {}).get("symbols") or {}).items():
            self.codes({k: v for k, v in symbol.items() if k != "value"}, ["values", "symbols", text])
        if data["layout"] == "table":
            self.table(data["table"])
        else:
            self.long(data["long"])
        for i, check in enumerate(data.get("checks") or []):
            kind, spec = next(iter(check.items()))
            where = ["checks", i, kind]
            dim = spec["dimension"]
            if dim not in self.dimensions:
                self.problem("unknown-component", f"check on {dim!r}, which is not a dimension", [*where, "dimension"],
                             dim)
                continue
            values = [spec[k] for k in ("result", "minuend", "subtrahend", "total") if k in spec] + spec.get("parts", [])
            for value in values:
                self.code(dim, value, where, provide=False)
            for comp, codes in (spec.get("where") or {}).items():
                for code in codes if isinstance(codes, list) else [codes]:
                    self.code(comp, code, [*where, "where", comp], provide=False)
        for cl_id, table in self.spec.aliases.items():
            codelist = next((cl for ref, cl in self.ctx.codelists.items() if ref.id == cl_id), None)
            if codelist is None:
                self.problem("unknown-codelist", f"aliases for {cl_id!r}, which the structure does not use",
                             ["aliases", cl_id], cl_id)
                continue
            for label, code in table.items():
                if code not in codelist:
                    self.problem("unknown-code", f"alias {label!r} -> {code!r}: not in {cl_id} "
                                 f"({self.spec.aliases_path})", ["aliases", cl_id, label], code,
                                 difflib.get_close_matches(code, list(codelist.by_id), n=3))
        self.coverage()

    def table(self, table: dict) -> None:
        for pattern, codes in (table.get("units") or {}).items():
            self.codes(codes, ["table", "units", pattern])
        for label, codes in (table.get("columns") or {}).items():
            self.codes(codes, ["table", "columns", label])
        for i, level in enumerate((table.get("header") or {}).get("levels") or []):
            where = ["table", "header", "levels", i]
            self.dimension(level["dimension"], [*where, "dimension"])
            self.labels(level["dimension"], level.get("labels"), [*where, "labels"])
        rows = table.get("rows") or {}
        self.dimension(rows.get("dimension"), ["table", "rows", "dimension"])
        self.labels(rows.get("dimension"), rows.get("labels"), ["table", "rows", "labels"])
        for name, section in (rows.get("sections") or {}).items():
            where = ["table", "rows", "sections", name]
            dimension = section.get("dimension") or rows.get("dimension")
            self.dimension(section.get("dimension"), [*where, "dimension"])
            self.labels(dimension, section.get("labels"), [*where, "labels"])
            self.codes(section.get("set"), [*where, "set"])
        for i, comp in enumerate(rows.get("carry") or []):
            self.component(comp, ["table", "rows", "carry", i])

    def long(self, long: dict) -> None:
        for comp, column in long["columns"].items():
            where = ["long", "columns", comp]
            if comp == OBS_VALUE or not self.component(comp, where, (TIME_PERIOD,)):
                continue
            self.provided.add(comp)
            if isinstance(column, dict):
                self.labels(comp, column.get("labels"), [*where, "labels"])

    def coverage(self) -> None:
        dsd = self.ctx.structure
        for dim in (*dsd.dimension_ids, TIME_PERIOD):
            if dim not in self.provided:
                self.problem("uncovered-dimension", f"nothing gives {dim} (use {_PROVIDERS})", ["constants"], dim)
        for attr in dsd.attributes:
            if attr.mandatory and attr.attachment == SERIES and attr.id not in self.provided:
                self.problem("missing-attribute", f"nothing gives the mandatory attribute {attr.id}", ["attributes"],
                             attr.id)


def check_mapping(spec: MappingSpec, ctx: Context, constraint: ContentConstraint | None,
                  report: Report | None = None) -> Report:
    """Problems of one (schema-valid) mapping against the structures."""
    report = report if report is not None else Report()
    _Checker(spec, ctx, constraint, report).run()
    return report
