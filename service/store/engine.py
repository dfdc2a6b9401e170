"""Engines and transactions: SQLite and PostgreSQL behind the same calls.

SQLite: WAL (readers never wait for a writer), foreign keys on, a busy
timeout, full sync (an accepted submission survives a power cut). The
driver's own transaction handling is switched off so that we issue BEGIN:
``BEGIN IMMEDIATE`` for writes, so two writers queue on the busy timeout
instead of failing when a reader turns into a writer, ``BEGIN`` for reads.

PostgreSQL: writes run REPEATABLE READ, so two submissions touching the same
rows cannot silently overwrite each other: the second one fails with a
serialization error, which becomes StoreConflict (HTTP 409).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from service.store import StoreConflict, StoreError

#: SQLSTATEs that mean "another transaction got there first": retry later.
CONFLICT_STATES = {"40001", "40P01", "23505", "55P03"}

_WRITE = "migstat_write"


def create_store_engine(url: str | URL, *, busy_timeout: float = 30.0, echo: bool = False) -> Engine:
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise StoreError("the store needs a SQLite file (sqlite:///migstat.db), not an in-memory database")
        engine = create_engine(url, echo=echo,
                               connect_args={"timeout": busy_timeout, "check_same_thread": False})
        _configure_sqlite(engine, busy_timeout)
        return engine
    if url.get_backend_name() == "postgresql":
        # No server-side prepared statements: their generic plans ignore the size of
        # array parameters and ran key look-ups 10x slower.
        engine = create_engine(url, echo=echo, pool_pre_ping=True, connect_args={"prepare_threshold": None})
        _configure_postgres(engine, busy_timeout)
        return engine
    raise StoreError(f"unsupported database {url.get_backend_name()!r}: use sqlite:/// or postgresql+psycopg://")


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        dbapi_connection.isolation_level = None  # we send BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=FULL",
                       f"busy_timeout={int(busy_timeout * 1000)}", "cache_size=-65536",
                       "temp_store=MEMORY"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _configure_postgres(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        # JIT compilation spent ~1.5 s before the first row of a large answer,
        # more than it saved on queries that walk indexes.
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
            # A writer waits this long for the one before it (as SQLite's busy timeout),
            # then gives up with a conflict (SQLSTATE 55P03).
            cursor.execute(f"SET lock_timeout = '{int(busy_timeout * 1000)}ms'")
        dbapi_connection.commit()


def is_postgres(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a write transaction: committed on success, rolled back on any error.

    Database errors come out as StoreConflict (another writer holds or changed
    the same rows; SQLite still locked after the busy timeout) or StoreError.
    """
    try:
        with engine.connect() as connection:
            # READ COMMITTED (PostgreSQL's default): writers are serialised by the lock
            # below, and each statement sees what the writer before committed.
            connection.execution_options(**{_WRITE: True})
            with connection.begin():
                if engine.dialect.name == "postgresql":
                    # Every statement of a write looks rows up by key. Tables grow inside
                    # the write, beyond what the planner's statistics know, and it then
                    # chose full scans per chunk: quadratic time on a large load.
                    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
                    # Writes run one at a time, as on SQLite: each takes its timestamp after
                    # the previous one committed, so timestamps follow commit order and a
                    # client polling updatedAfter=<last change it saw> never misses a write.
                    connection.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(current_schema()))")
                yield connection
    except DBAPIError as exc:
        raise translate(exc) from exc
    except SQLAlchemyError as exc:
        raise StoreError(f"database error: {exc}") from exc


def refresh_statistics(engine: Engine, tables: Iterable[str]) -> None:
    """After a large write on PostgreSQL, let the planner know the tables' new sizes now
    rather than when autovacuum comes round (reads plan with them)."""
    if engine.dialect.name != "postgresql":
        return
    try:
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            for table in tables:
                connection.exec_driver_sql(f'ANALYZE "{table}"')
    except DBAPIError:  # statistics are an optimisation: a failure here loses nothing
        pass


def translate(exc: DBAPIError) -> StoreError:
    state = getattr(exc.orig, "sqlstate", None)
    message = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    if state in CONFLICT_STATES or "database is locked" in message:
        return StoreConflict(f"a concurrent write conflicts with this one, try again: {message}")
    return StoreError(f"database error: {message}")
