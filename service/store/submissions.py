"""The audit trail: one row per submission, accepted or rejected, with its original bytes.

An accepted submission's row is written in the same transaction as its data;
a rejected one is recorded on its own, with the report that says why.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

import orjson
from sqlalchemy import Connection, func, insert, select, update

from service.store.tables import ACCEPTED, from_micros, submission, to_micros


@dataclass(frozen=True)
class SubmissionInfo:
    """What came in, besides the data: the bytes as received and how to publish them."""

    content_type: str | None = None
    body: bytes = b""
    release_at: datetime | None = None  # embargo: hidden from other viewers until then
    report: Mapping[str, Any] | None = None  # validation report (warnings) to keep with it
    received_at: datetime | None = None  # default: the time of the write


@dataclass(frozen=True)
class DataSetSummary:
    """What one dataset of a submission changed."""

    dataflow: str
    action: str
    series: int = 0
    added: int = 0
    replaced: int = 0  # observations updated, including attribute values deleted
    deleted: int = 0
    unchanged: int = 0  # sent again with the same value and attributes

    def as_dict(self) -> dict[str, Any]:
        return dict(dataflow=self.dataflow, action=self.action, series=self.series,
                    added=self.added, replaced=self.replaced, deleted=self.deleted,
                    unchanged=self.unchanged)


@dataclass(frozen=True)
class WriteSummary:
    submission_id: int
    received_at: datetime
    datasets: tuple[DataSetSummary, ...] = ()

    @property
    def added(self) -> int:
        return sum(d.added for d in self.datasets)

    @property
    def replaced(self) -> int:
        return sum(d.replaced for d in self.datasets)

    @property
    def deleted(self) -> int:
        return sum(d.deleted for d in self.datasets)

    @property
    def unchanged(self) -> int:
        return sum(d.unchanged for d in self.datasets)

    def as_dict(self) -> dict[str, Any]:
        return dict(submission_id=self.submission_id, received_at=self.received_at.isoformat(),
                    added=self.added, replaced=self.replaced, deleted=self.deleted,
                    unchanged=self.unchanged, datasets=[d.as_dict() for d in self.datasets])


@dataclass(frozen=True)
class SubmissionRecord:
    """A stored submission, as ``GET /submissions/{id}`` shows it to its provider."""

    submission_id: int
    provider: str
    received_at: datetime
    status: str
    content_type: str | None
    checksum: str | None
    body_size: int | None
    release_at: datetime | None
    summary: Mapping[str, Any] | None
    report: Mapping[str, Any] | None
    compressed_body: bytes | None = field(default=None, repr=False)

    @property
    def body(self) -> bytes:
        """The original bytes as received."""
        return zlib.decompress(self.compressed_body) if self.compressed_body else b""


def insert_submission(conn: Connection, provider: str, info: SubmissionInfo, status: str,
                      received_at: int) -> int:
    """Record a submission; returns its id."""
    row = dict(provider=provider, received_at=received_at, content_type=info.content_type,
               checksum=hashlib.sha256(info.body).hexdigest(),
               body=zlib.compress(info.body, 6), body_size=len(info.body), status=status,
               report=_json(info.report),
               release_at=to_micros(info.release_at) if info.release_at else None)
    return conn.execute(insert(submission).returning(submission.c.submission_id), row).scalar_one()


def set_summary(conn: Connection, submission_id: int, summary: WriteSummary,
                report: Mapping[str, Any] | None = None) -> None:
    """The summary (and the report, when it was only complete at the end of the write)."""
    values = {"summary": _json(summary.as_dict())}
    if report:
        values["report"] = _json(report)
    conn.execute(update(submission).where(submission.c.submission_id == submission_id).values(**values))


def next_instant(conn: Connection, clock: int) -> int:
    """The time of a write: now, but never before the last recorded submission."""
    last = conn.execute(select(func.max(submission.c.received_at))).scalar()
    return clock if last is None or clock > last else last + 1


def fetch_submission(conn: Connection, submission_id: int) -> SubmissionRecord | None:
    row = conn.execute(select(submission).where(submission.c.submission_id == submission_id)).first()
    if row is None:
        return None
    return SubmissionRecord(
        submission_id=row.submission_id, provider=row.provider,
        received_at=from_micros(row.received_at), status=row.status,
        content_type=row.content_type, checksum=row.checksum, body_size=row.body_size,
        release_at=from_micros(row.release_at),
        summary=orjson.loads(row.summary) if row.summary else None,
        report=orjson.loads(row.report) if row.report else None,
        compressed_body=row.body)


def _json(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else orjson.dumps(value, default=str).decode()


__all__ = ["ACCEPTED", "DataSetSummary", "SubmissionInfo", "SubmissionRecord", "WriteSummary",
           "fetch_submission", "insert_submission", "next_instant", "set_summary"]
