"""The store: series, observations, their history and the submissions behind them.

This is the only package that imports sqlalchemy; nothing outside it sees
SQL, a connection or a row. It takes and gives model values (DataSet,
Series, Observation, DataQuery) and the small records defined here.

The same SQLAlchemy Core code runs on SQLite (the embedded default, a file
in the working directory) and PostgreSQL. The schema does not depend on any
DSD, and is created and upgraded when a store opens (``migrate.py``).

    store = open_store("sqlite:///migstat.db")
    summary = store.write(datasets, provider="KG_NSC", submission=SubmissionInfo(...))
    with store.query(DataQuery(flow="OSCE:DF_MIGR_FLOW(1.0)", key=(("A",), None))) as found:
        for series in found:
            ...

A write applies all its datasets in one transaction, with the submission's
audit row: all or nothing. Readers see a write whole or not at all.
Concurrent writers: SQLite queues them (busy timeout); PostgreSQL lets
disjoint ones run and fails the second of two that touch the same rows with
StoreConflict (HTTP 409 for the API).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import Engine
from sqlalchemy.engine import URL


class StoreError(Exception):
    """The store could not do what was asked; nothing was written."""


class StoreConflict(StoreError):
    """A concurrent write holds or changed the same data; nothing was written, try again."""


# Imported after the exceptions, which the modules below raise.
from service.model.data import DataSet  # noqa: E402
from service.model.query import DataQuery  # noqa: E402
from service.store.engine import create_store_engine, refresh_statistics, write_transaction  # noqa: E402
from service.store.migrate import LATEST, current_version, upgrade  # noqa: E402
from service.store.read import (ACTION_KEY, DELETED_ATTRIBUTES, DELETED_MARK, Availability,  # noqa: E402
                                ObservationVersion, SeriesCursor, VersionCursor, available, count,
                                last_modified)
from service.store.select import ALL_CHANGES, DELETIONS, UPDATES  # noqa: E402
from service.store.submissions import (DataSetSummary, SubmissionInfo, SubmissionRecord,  # noqa: E402
                                       WriteSummary, fetch_submission, insert_submission, next_instant,
                                       set_summary)
from service.store.tables import ACCEPTED, REJECTED, from_micros, to_micros  # noqa: E402
from service.store.tokens import TokenRecord, add_token, find_token, list_tokens, revoke_token  # noqa: E402
from service.store.write import DataSetWriter  # noqa: E402

DEFAULT_URL = "sqlite:///migstat.db"
ANALYZE_AFTER = 50_000  # observations changed by one write that refresh the planner's statistics


class Store:
    """A database of series and observations; thread-safe, one per process."""

    def __init__(self, engine: Engine):
        self.engine = engine

    @classmethod
    def open(cls, url: str | URL = DEFAULT_URL, *, migrate: bool = True,
             busy_timeout: float = 30.0) -> Store:
        """Connect, and create or upgrade the schema unless ``migrate`` is False."""
        store = cls(create_store_engine(url, busy_timeout=busy_timeout))
        if migrate:
            upgrade(store.engine)
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return current_version(conn)

    # -- writing ----------------------------------------------------------------------

    def write(self, datasets: Iterable[DataSet], *, provider: str,
              submission: SubmissionInfo) -> WriteSummary:
        """Apply each dataset's action in order, all in one transaction with the audit row.

        Raises StoreConflict when a concurrent write got in the way and
        StoreError for anything else the database refused; either way nothing
        is written. An exception raised while iterating ``datasets`` (a parser
        failing mid-file) rolls back the same way and propagates unchanged.
        ``submission.report`` is stored again with the summary, so a report
        completed while the datasets streamed is kept whole.
        """
        clock = to_micros(submission.received_at) if submission.received_at else _clock()
        with write_transaction(self.engine) as conn:
            now = next_instant(conn, clock)
            submission_id = insert_submission(conn, provider, submission, ACCEPTED, now)
            writer = DataSetWriter(conn, provider, submission_id, now)
            summaries = tuple(writer.write(dataset) for dataset in datasets)
            writer.finish()
            summary = WriteSummary(submission_id, from_micros(now), summaries)
            set_summary(conn, submission_id, summary, submission.report)
        if summary.added + summary.replaced + summary.deleted >= ANALYZE_AFTER:
            refresh_statistics(self.engine, ("observation", "observation_history", "series", "series_code"))
        return summary

    def record_rejected(self, *, provider: str, submission: SubmissionInfo,
                        report: Mapping[str, Any]) -> int:
        """Keep a refused submission (bytes and report) in the audit trail; returns its id."""
        info = SubmissionInfo(content_type=submission.content_type, body=submission.body,
                              release_at=submission.release_at, report=report,
                              received_at=submission.received_at)
        clock = to_micros(submission.received_at) if submission.received_at else _clock()
        with write_transaction(self.engine) as conn:
            return insert_submission(conn, provider, info, REJECTED, next_instant(conn, clock))

    def submission(self, submission_id: int) -> SubmissionRecord | None:
        with self.engine.connect() as conn:
            return fetch_submission(conn, submission_id)

    # -- API tokens (salted digests; service/auth.py makes and checks them) -------------

    def add_token(self, *, token_id: str, provider: str, salt: str, digest: str,
                  note: str | None = None) -> TokenRecord:
        return add_token(self.engine, token_id=token_id, provider=provider, salt=salt, digest=digest, note=note)

    def token(self, token_id: str) -> TokenRecord | None:
        return find_token(self.engine, token_id)

    def tokens(self, provider: str | None = None) -> list[TokenRecord]:
        return list_tokens(self.engine, provider)

    def revoke_token(self, token_id: str) -> TokenRecord | None:
        return revoke_token(self.engine, token_id)

    # -- reading ----------------------------------------------------------------------

    def query(self, q: DataQuery, *, changes: str = ALL_CHANGES) -> SeriesCursor:
        """A context manager yielding the answer as model Series, streamed.

        ``changes`` ("all", "updates", "deletions") narrows an updatedAfter
        answer to one kind of change. Deleted observations come with value
        None and attributes ``{"__action__": "D"}`` (DELETED_ATTRIBUTES).
        """
        return SeriesCursor(self.engine, q, changes)

    def versions(self, q: DataQuery) -> VersionCursor:
        """A context manager yielding every version of the matching observations
        (ObservationVersion, in key, time and version order): for includeHistory.
        Honours the key, providers, periods, updatedAfter (versions begun or ended
        since), asOf and the embargo; first/last N and detail are the caller's."""
        return VersionCursor(self.engine, q)

    def count(self, q: DataQuery, *, changes: str = ALL_CHANGES) -> int:
        """How many observations ``q`` answers with (before any detail narrows them)."""
        return count(self.engine, q, changes)

    def available(self, q: DataQuery, dimension_ids: Sequence[str], *, mode: str = "exact") -> Availability:
        """Codes per dimension (ids in DSD order), period range and counts for availability."""
        return available(self.engine, q, dimension_ids, mode)

    def last_modified(self, flow: str | None = None) -> datetime | None:
        return last_modified(self.engine, flow)


def open_store(url: str | URL = DEFAULT_URL, **options: Any) -> Store:
    return Store.open(url, **options)


def _clock() -> int:
    return int(time.time() * 1_000_000)


__all__ = ["ACTION_KEY", "ALL_CHANGES", "DEFAULT_URL", "DELETED_ATTRIBUTES", "DELETED_MARK", "DELETIONS",
           "LATEST", "UPDATES", "Availability", "DataSetSummary", "ObservationVersion", "SeriesCursor", "Store",
           "StoreConflict", "StoreError", "SubmissionInfo", "SubmissionRecord", "TokenRecord", "VersionCursor", "WriteSummary",
           "open_store", "upgrade"]
