"""The current schema, as SQLAlchemy Core tables, and how values are kept in it.

The schema knows nothing of any DSD: a series is its dataflow and its key as
text (codes joined by '.'), so a DSD may gain a dimension or an attribute
without a schema change. Attributes are JSON text (``NULL`` when there are
none), sorted by id so equal attribute sets are equal strings.

Filtering by key uses ``series_code``: one row per (series, dimension
position) holding that position's code, keyed on (flow, position, code,
series_id). A key filter ``A.KZ+KG..`` becomes one indexed ``IN`` lookup per
constrained position, for any number of dimensions, and availability reads
the codes in use straight from it. (Columns k1..kN on ``series`` would cap
the number of dimensions and need an index per column to serve the same
queries.)

Every instant is an integer count of microseconds since 1970-01-01 UTC:
periods (``period_start``/``period_end``, end exclusive, so a query's
[start, end) is two integer comparisons), change times (``updated_at``,
``valid_from``/``valid_to``, ``recorded_at``), submission and release times. Integers compare, index and
sort the same way on SQLite and PostgreSQL.

There are no foreign key constraints: the store's own code is the only
writer, and it takes every series_id and submission_id it writes from rows
it read or created in the same transaction. On PostgreSQL a foreign key
check per row made a bulk COPY of observations 3.5 times slower.

This file is the schema as ``migrate.py`` leaves it at the latest version;
``migrate.py`` holds the steps that get there, and a test checks they agree.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import (BigInteger, Column, Float, Index, Integer, LargeBinary,
                        MetaData, SmallInteger, String, Table, Text, UniqueConstraint)

#: Primary keys: 64-bit on PostgreSQL, the rowid alias INTEGER on SQLite.
ID = BigInteger().with_variant(Integer(), "sqlite")

#: Text compared byte by byte, so series keys sort the same on both databases.
KEY_TEXT = Text().with_variant(Text(collation="C"), "postgresql")

metadata = MetaData()

schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", Text, nullable=False),
    Column("applied_at", BigInteger, nullable=False),
)

submission = Table(
    "submission", metadata,
    Column("submission_id", ID, primary_key=True),
    Column("provider", Text, nullable=False),
    Column("received_at", BigInteger, nullable=False),
    Column("content_type", Text),
    Column("checksum", String(64)),  # sha256 of the original bytes, hex
    Column("body", LargeBinary),  # the original bytes, zlib-compressed
    Column("body_size", BigInteger),
    Column("status", String(16), nullable=False),  # accepted / rejected
    Column("summary", Text),  # JSON: counts per dataset
    Column("report", Text),  # JSON: the validation report
    Column("release_at", BigInteger),  # embargo: invisible to others until then
    Index("ix_submission_release_at", "release_at"),
    Index("ix_submission_provider", "provider"),
)

series = Table(
    "series", metadata,
    Column("series_id", ID, primary_key=True),
    Column("flow", Text, nullable=False),  # AGENCY:ID(VERSION)
    Column("series_key", KEY_TEXT, nullable=False),  # codes joined by '.'
    Column("provider", Text, nullable=False),  # who created it
    Column("attributes", Text),  # series-level attributes, JSON
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),  # last change to it or its observations
    Column("submission_id", BigInteger),  # last change
    # version 2: when the series attributes last changed; a summary of the observations
    Column("attributes_updated_at", BigInteger),
    Column("obs_count", BigInteger, nullable=False, server_default="0"),
    Column("period_first", BigInteger),  # min(period_start)
    Column("period_last", BigInteger),  # max(period_end)
    UniqueConstraint("flow", "series_key", name="uq_series_flow_key"),
)

series_code = Table(
    "series_code", metadata,
    Column("flow", Text, primary_key=True),
    Column("position", SmallInteger, primary_key=True, autoincrement=False),  # 0-based
    Column("code", Text, primary_key=True),
    Column("series_id", BigInteger, primary_key=True, autoincrement=False),
)

observation = Table(
    "observation", metadata,
    Column("series_id", BigInteger, primary_key=True, autoincrement=False),
    Column("time_period", Text, primary_key=True),  # as written: 2019, 2019-Q1...
    Column("period_start", BigInteger, nullable=False),
    Column("period_end", BigInteger, nullable=False),
    Column("value", Float),
    Column("attributes", Text),
    Column("submission_id", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index("ix_observation_series_start", "series_id", "period_start"),
)

# Versions of observations that are no longer current (a system-versioned
# table): the observation row is the current version, valid from its
# ``updated_at``; an update or delete moves the version it ends here, valid
# [valid_from, valid_to), with how it ended (U or D) and by which submission.
# asOf reads the versions valid at an instant; updatedAfter finds deletions
# here; the embargo shows the versions hidden submissions superseded. An
# insert writes no history row, and a version that lived only inside one
# write (valid_from == valid_to) is never recorded.
observation_history = Table(
    "observation_history", metadata,
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
    Column("ended_by", String(1), nullable=False),  # U: replaced, D: deleted
    Column("ended_submission_id", BigInteger, nullable=False),
    Index("ix_observation_history_pair", "series_id", "time_period", "valid_from"),
    Index("ix_observation_history_ended_submission", "ended_submission_id"),
)

# version 2: the same for series-level attributes.
series_history = Table(
    "series_history", metadata,
    Column("history_id", ID, primary_key=True),
    Column("series_id", BigInteger, nullable=False),
    Column("action", String(1), nullable=False),
    Column("old_attributes", Text),
    Column("new_attributes", Text),
    Column("submission_id", BigInteger),
    Column("recorded_at", BigInteger, nullable=False),
    Index("ix_series_history_series", "series_id", "history_id"),
)

# version 3: API tokens of data providers. The secret is never stored: only a
# salted HMAC-SHA256 of it (``service/auth.py`` makes and checks them).
api_token = Table(
    "api_token", metadata,
    Column("token_id", String(32), primary_key=True),  # the public part of a token
    Column("provider", Text, nullable=False),
    Column("salt", String(64), nullable=False),  # hex
    Column("digest", String(64), nullable=False),  # hex HMAC-SHA256(salt, secret)
    Column("note", Text),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger),
    Index("ix_api_token_provider", "provider"),
)

# version 4: totals of the series of each dataflow and provider, refreshed at the end of every write
# for the pairs it touched: availability of a whole dataflow and its Last-Modified read a few rows
# instead of every series. One row per provider, so writes of different providers never touch the
# same row (on PostgreSQL they still run side by side).
flow_summary = Table(
    "flow_summary", metadata,
    Column("flow", Text, primary_key=True),
    Column("provider", Text, primary_key=True),
    Column("series_count", BigInteger, nullable=False),  # series with at least one observation
    Column("obs_count", BigInteger, nullable=False),
    Column("period_first", BigInteger),
    Column("period_last", BigInteger),
    Column("updated_at", BigInteger),  # last change to any series of the flow
)

INSERTED, UPDATED, DELETED = "I", "U", "D"
ACCEPTED, REJECTED = "accepted", "rejected"

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def to_micros(moment: datetime) -> int:
    """An instant as microseconds since the epoch; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int | None) -> datetime | None:
    if micros is None:
        return None
    return _EPOCH + timedelta(microseconds=micros)
