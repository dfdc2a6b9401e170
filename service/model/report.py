"""Validation problems as data, and the Report that collects them.

A Problem names what is wrong and where (file, id, row, column, value),
so the CLI, the API and the tests all read the same facts. No I/O here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Iterator

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One problem. ``code`` is a stable slug (``unknown-code``, ``missing-name``...)."""

    code: str
    message: str
    severity: str = ERROR
    file: str | None = None  # a structure or source file the problem is in
    sheet: str | None = None
    row: int | None = None  # 1-based row in the source
    column: str | None = None  # column letter, header label or component id
    object_id: str | None = None  # artefact/code/component the problem concerns
    value: str | None = None  # the raw value that was rejected
    expected: str | None = None
    suggestions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["suggestions"] = list(self.suggestions)
        return {k: v for k, v in data.items() if v not in (None, [], ())}

    def where(self) -> str:
        """A short human description of the location."""
        parts = []
        if self.file:
            parts.append(self.file)
        if self.sheet:
            parts.append(f"sheet {self.sheet}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        if self.object_id:
            parts.append(self.object_id)
        return ", ".join(parts)


@dataclass
class Report:
    """Problems of one run, with a cap on how many are kept (the total is always counted)."""

    limit: int = 1000
    problems: list[Problem] = field(default_factory=list)
    error_count: int = 0
    warning_count: int = 0
    stats: dict[str, Any] = field(default_factory=dict)

    def add(self, problem: Problem) -> None:
        if problem.severity == ERROR:
            self.error_count += 1
        else:
            self.warning_count += 1
        if len(self.problems) < self.limit:
            self.problems.append(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.add(problem)

    def error(self, code: str, message: str, **where: Any) -> None:
        self.add(Problem(code, message, ERROR, **where))

    def warning(self, code: str, message: str, **where: Any) -> None:
        self.add(Problem(code, message, WARNING, **where))

    @property
    def valid(self) -> bool:
        return self.error_count == 0

    @property
    def truncated(self) -> bool:
        return self.error_count + self.warning_count > len(self.problems)

    def errors(self) -> Iterator[Problem]:
        return (p for p in self.problems if p.severity == ERROR)

    def warnings(self) -> Iterator[Problem]:
        return (p for p in self.problems if p.severity == WARNING)

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "errors": self.error_count,
            "warnings": self.warning_count,
            "truncated": self.truncated,
            "stats": self.stats,
            "problems": [p.to_dict() for p in self.problems],
        }
