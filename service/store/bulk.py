"""Many rows at once, inside the caller's transaction: COPY on PostgreSQL, executemany on SQLite.

Rows are plain tuples in the order of the columns named, handed to the
driver as they are: building SQLAlchemy parameter dicts for a million rows
costs more than the database work. On PostgreSQL, large updates and deletes
go through a temporary table filled by COPY and one UPDATE ... FROM (DELETE
... USING), and long lists of values are one array parameter (``= ANY``),
because an ``IN`` of hundreds of parameters costs ~100 ms to plan there.
A failure anywhere rolls back the rows sent here with everything else in the
transaction.
"""

from __future__ import annotations

from itertools import count
from typing import Iterable, Sequence

from sqlalchemy import ARRAY, Column, ColumnElement, Connection, Table, any_, bindparam

COPY_THRESHOLD = 200  # below this, plain statements cost less than a COPY
_stages = count()


def one_of(conn: Connection, column: Column, values: Iterable) -> ColumnElement[bool]:
    """``column IN values``, written the way the database plans fastest."""
    values = list(values)
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(f"{column.name}_any", values, type_=ARRAY(column.type), unique=True))
    return column.in_(values)


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_THRESHOLD:
        _copy(conn, table.name, columns, rows)
        return
    _many(conn, f'INSERT INTO "{table.name}" ({_names(columns)}) VALUES ({", ".join("?" * len(columns))})',
          rows)


def update_rows(conn: Connection, table: Table, columns: Sequence[str], keys: Sequence[str],
                rows: Sequence[tuple]) -> None:
    """Set ``columns`` where ``keys`` equal: each row holds the new values, then the key values."""
    if not rows:
        return
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_THRESHOLD:
        stage = _stage(conn, table, (*columns, *keys), rows)
        assignments = ", ".join(f'"{name}" = s."{name}"' for name in columns)
        conn.exec_driver_sql(f'UPDATE "{table.name}" AS t SET {assignments} FROM "{stage}" AS s WHERE '
                             + " AND ".join(f't."{k}" = s."{k}"' for k in keys))
        conn.exec_driver_sql(f'DROP TABLE "{stage}"')
        return
    assignments = ", ".join(f'"{name}" = ?' for name in columns)
    _many(conn, f'UPDATE "{table.name}" SET {assignments} WHERE {_where(keys)}', rows)


def delete_rows(conn: Connection, table: Table, keys: Sequence[str], rows: Sequence[tuple]) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_THRESHOLD:
        stage = _stage(conn, table, keys, rows)
        conn.exec_driver_sql(f'DELETE FROM "{table.name}" AS t USING "{stage}" AS s WHERE '
                             + " AND ".join(f't."{k}" = s."{k}"' for k in keys))
        conn.exec_driver_sql(f'DROP TABLE "{stage}"')
        return
    _many(conn, f'DELETE FROM "{table.name}" WHERE {_where(keys)}', rows)


def _stage(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple]) -> str:
    """A temporary table with ``columns`` typed as in ``table``, filled with ``rows``."""
    name = f"stage_{table.name}_{next(_stages)}"
    conn.exec_driver_sql(f'CREATE TEMPORARY TABLE "{name}" ON COMMIT DROP AS '
                         f'SELECT {_names(columns)} FROM "{table.name}" WITH NO DATA')
    _copy(conn, name, columns, rows)
    return name


def _copy(conn: Connection, table_name: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        with cursor.copy(f'COPY "{table_name}" ({_names(columns)}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
    finally:
        cursor.close()


def _names(columns: Sequence[str]) -> str:
    return ", ".join(f'"{name}"' for name in columns)


def _where(keys: Sequence[str]) -> str:
    return " AND ".join(f'"{name}" = ?' for name in keys)


def _many(conn: Connection, sql: str, rows: Sequence[tuple]) -> None:
    if conn.dialect.name == "postgresql":
        sql = sql.replace("?", "%s")
    conn.exec_driver_sql(sql, list(rows))
