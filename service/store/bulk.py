"""Inserting many rows fast: COPY on PostgreSQL, executemany on SQLite.

Both run inside the caller's transaction, so a failure anywhere rolls back
the rows sent here too.
"""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import Connection, Table, insert

COPY_THRESHOLD = 200  # below this, a plain multi-row INSERT costs less than starting a COPY


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict]) -> None:
    """Insert ``rows`` (dicts keyed by column name, all with the same keys) into ``table``."""
    if not rows:
        return
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_THRESHOLD:
        _copy(conn, table, rows)
    else:
        conn.execute(insert(table), list(rows))


def _copy(conn: Connection, table: Table, rows: Sequence[dict]) -> None:
    columns = list(rows[0])
    names = ", ".join(f'"{name}"' for name in columns)
    target = f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        with cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[name] for name in columns])
    finally:
        cursor.close()
