"""Schema migrations: ordered steps, applied automatically when a store opens.

``schema_version`` holds one row per applied step. Opening a database runs
every step above its version, in one transaction (on PostgreSQL under an
advisory lock, so replicas starting together do not race; on SQLite under
BEGIN IMMEDIATE). A step never changes once released: each one defines the
tables as they were at its version, and later changes are new steps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import (BigInteger, Column, Connection, Engine, Float, Index, Integer,
                        LargeBinary, MetaData, SmallInteger, String, Table, Text, UniqueConstraint,
                        func, inspect, select, text)

from service.store import StoreError
from service.store.engine import is_postgres, write_transaction
from service.store.tables import ID, KEY_TEXT

_ADVISORY_LOCK = 0x6D696773  # "migs"


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _create_core(conn: Connection) -> None:
    """Version 1: submissions, series with their codes, observations and their past versions."""
    meta = MetaData()
    Table("schema_version", meta,
          Column("version", Integer, primary_key=True, autoincrement=False),
          Column("description", Text, nullable=False),
          Column("applied_at", BigInteger, nullable=False))
    Table("submission", meta,
          Column("submission_id", ID, primary_key=True),
          Column("provider", Text, nullable=False),
          Column("received_at", BigInteger, nullable=False),
          Column("content_type", Text),
          Column("checksum", String(64)),
          Column("body", LargeBinary),
          Column("body_size", BigInteger),
          Column("status", String(16), nullable=False),
          Column("summary", Text),
          Column("report", Text),
          Column("release_at", BigInteger),
          Index("ix_submission_release_at", "release_at"),
          Index("ix_submission_provider", "provider"))
    Table("series", meta,
          Column("series_id", ID, primary_key=True),
          Column("flow", Text, nullable=False),
          Column("series_key", KEY_TEXT, nullable=False),
          Column("provider", Text, nullable=False),
          Column("attributes", Text),
          Column("created_at", BigInteger, nullable=False),
          Column("updated_at", BigInteger, nullable=False),
          Column("submission_id", BigInteger),
          UniqueConstraint("flow", "series_key", name="uq_series_flow_key"))
    Table("series_code", meta,
          Column("flow", Text, primary_key=True),
          Column("position", SmallInteger, primary_key=True, autoincrement=False),
          Column("code", Text, primary_key=True),
          Column("series_id", BigInteger, primary_key=True, autoincrement=False))
    Table("observation", meta,
          Column("series_id", BigInteger, primary_key=True, autoincrement=False),
          Column("time_period", Text, primary_key=True),
          Column("period_start", BigInteger, nullable=False),
          Column("period_end", BigInteger, nullable=False),
          Column("value", Float),
          Column("attributes", Text),
          Column("submission_id", BigInteger, nullable=False),
          Column("updated_at", BigInteger, nullable=False),
          Index("ix_observation_series_start", "series_id", "period_start"))
    Table("observation_history", meta,
          Column("history_id", ID, primary_key=True),
          Column("series_id", BigInteger, nullable=False),
          Column("time_period", Text, nullable=False),
          Column("period_start", BigInteger, nullable=False),
          Column("period_end", BigInteger, nullable=False),
          Column("value", Float),
          Column("attributes", Text),
          Column("submission_id", BigInteger, nullable=False),
          Column("valid_from", BigInteger, nullable=False),
          Column("valid_to", BigInteger, nullable=False),
          Column("ended_by", String(1), nullable=False),
          Column("ended_submission_id", BigInteger, nullable=False),
          Index("ix_observation_history_pair", "series_id", "time_period", "valid_from"),
          Index("ix_observation_history_ended_submission", "ended_submission_id"))
    meta.create_all(conn)


def _series_history_and_summaries(conn: Connection) -> None:
    """Version 2: history of series attributes; per-series counts and period range."""
    for column in ("attributes_updated_at BIGINT", "obs_count BIGINT NOT NULL DEFAULT 0",
                   "period_first BIGINT", "period_last BIGINT"):
        conn.execute(text(f"ALTER TABLE series ADD COLUMN {column}"))
    meta = MetaData()
    Table("series_history", meta,
          Column("history_id", ID, primary_key=True),
          Column("series_id", BigInteger, nullable=False),
          Column("action", String(1), nullable=False),
          Column("old_attributes", Text),
          Column("new_attributes", Text),
          Column("submission_id", BigInteger),
          Column("recorded_at", BigInteger, nullable=False),
          Index("ix_series_history_series", "series_id", "history_id"))
    meta.tables["series_history"].create(conn)
    conn.execute(text(
        "UPDATE series SET attributes_updated_at = updated_at,"
        " obs_count = (SELECT count(*) FROM observation o WHERE o.series_id = series.series_id),"
        " period_first = (SELECT min(o.period_start) FROM observation o WHERE o.series_id = series.series_id),"
        " period_last = (SELECT max(o.period_end) FROM observation o WHERE o.series_id = series.series_id)"))
    conn.execute(text(
        "INSERT INTO series_history (series_id, action, old_attributes, new_attributes, submission_id, recorded_at)"
        " SELECT series_id, 'I', NULL, attributes, submission_id, created_at FROM series"
        " WHERE attributes IS NOT NULL ORDER BY series_id"))


def _api_tokens(conn: Connection) -> None:
    """Version 3: API tokens of data providers (salted digests only, never the secrets)."""
    meta = MetaData()
    Table("api_token", meta,
          Column("token_id", String(32), primary_key=True),
          Column("provider", Text, nullable=False),
          Column("salt", String(64), nullable=False),
          Column("digest", String(64), nullable=False),
          Column("note", Text),
          Column("created_at", BigInteger, nullable=False),
          Column("revoked_at", BigInteger),
          Index("ix_api_token_provider", "provider"))
    meta.tables["api_token"].create(conn)


def _flow_summaries(conn: Connection) -> None:
    """Version 4: totals of the series per dataflow and provider (availability and Last-Modified without a scan)."""
    meta = MetaData()
    Table("flow_summary", meta,
          Column("flow", Text, primary_key=True),
          Column("provider", Text, primary_key=True),
          Column("series_count", BigInteger, nullable=False),
          Column("obs_count", BigInteger, nullable=False),
          Column("period_first", BigInteger),
          Column("period_last", BigInteger),
          Column("updated_at", BigInteger))
    meta.tables["flow_summary"].create(conn)
    conn.execute(text(
        "INSERT INTO flow_summary (flow, provider, series_count, obs_count, period_first, period_last, updated_at)"
        " SELECT flow, provider, sum(CASE WHEN obs_count > 0 THEN 1 ELSE 0 END), sum(obs_count), min(period_first),"
        " max(period_last), max(updated_at) FROM series GROUP BY flow, provider"))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "series, observations, history, submissions", _create_core),
    Migration(2, "series attribute history; per-series summaries for availability",
              _series_history_and_summaries),
    Migration(3, "API tokens of data providers", _api_tokens),
    Migration(4, "per-dataflow summaries for availability and Last-Modified", _flow_summaries),
)

LATEST = MIGRATIONS[-1].version


def current_version(conn: Connection) -> int:
    """The schema version of the database behind ``conn`` (0: empty database)."""
    if not inspect(conn).has_table("schema_version"):
        return 0
    return conn.execute(text("SELECT max(version) FROM schema_version")).scalar() or 0


def upgrade(engine: Engine, target: int | None = None) -> int:
    """Bring the schema to ``target`` (default: the latest); returns the version reached."""
    target = LATEST if target is None else target
    with write_transaction(engine) as conn:
        if is_postgres(conn):
            conn.execute(select(func.pg_advisory_xact_lock(_ADVISORY_LOCK)))
        version = current_version(conn)
        if version > LATEST:
            raise StoreError(f"the database has schema version {version}, newer than this "
                             f"migstat knows ({LATEST}): upgrade migstat")
        for step in MIGRATIONS:
            if version < step.version <= target:
                step.apply(conn)
                conn.execute(text("INSERT INTO schema_version (version, description, applied_at)"
                                  " VALUES (:v, :d, :t)"),
                             {"v": step.version, "d": step.description, "t": int(time.time() * 1e6)})
                version = step.version
    return version
