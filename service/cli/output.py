"""How the command line shows a Report: a readable table, or JSON with ``--report json``."""

from __future__ import annotations

import json
import sys
from typing import TextIO

import click

from ..model.report import Report

COLUMNS = (("severity", 8), ("code", 18), ("where", 40))


def print_report(report: Report, fmt: str = "table", stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    if fmt == "json":
        stream.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
        return
    for problem in report.problems:
        where = problem.where()
        line = f"{problem.severity.upper():<8} {problem.code:<18} {where}: {problem.message}"
        extra = []
        if problem.value is not None and problem.value not in problem.message:
            extra.append(f"value {problem.value!r}")
        if problem.expected:
            extra.append(f"expected {problem.expected}")
        if problem.suggestions:
            extra.append("closest: " + ", ".join(problem.suggestions))
        if extra:
            line += " (" + "; ".join(extra) + ")"
        stream.write(line + "\n")
    shown = len(report.problems)
    total = report.error_count + report.warning_count
    summary = f"{report.error_count} error(s), {report.warning_count} warning(s)"
    if shown < total:
        summary += f"; the first {shown} are listed"
    stream.write(summary + "\n")


report_option = click.option("--report", "report_format", type=click.Choice(["table", "json"]), default="table",
                             show_default=True, help="How to print problems.")
