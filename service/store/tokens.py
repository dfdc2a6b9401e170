"""API tokens of data providers as rows: add, look up, list, revoke.

The store keeps what ``service/auth.py`` hands it: a token id (the public
part of a token), the provider, a salt and a digest. It never sees a
secret, and nothing here compares digests: checking is auth's job.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from service.store import StoreError
from service.store.engine import translate, write_transaction
from service.store.tables import api_token, from_micros


@dataclass(frozen=True)
class TokenRecord:
    """A stored token: who it speaks for, and its salted digest (never the secret)."""

    token_id: str
    provider: str
    salt: str
    digest: str
    note: str | None
    created_at: datetime
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def _now() -> int:
    return int(time.time() * 1_000_000)


def _record(row) -> TokenRecord:
    return TokenRecord(token_id=row.token_id, provider=row.provider, salt=row.salt, digest=row.digest,
                       note=row.note, created_at=from_micros(row.created_at),
                       revoked_at=from_micros(row.revoked_at))


def add_token(engine: Engine, *, token_id: str, provider: str, salt: str, digest: str,
              note: str | None = None) -> TokenRecord:
    with write_transaction(engine) as conn:
        conn.execute(insert(api_token).values(token_id=token_id, provider=provider, salt=salt, digest=digest,
                                              note=note, created_at=_now()))
        return _record(conn.execute(select(api_token).where(api_token.c.token_id == token_id)).one())


def find_token(engine: Engine, token_id: str) -> TokenRecord | None:
    try:
        with engine.connect() as conn:
            row = conn.execute(select(api_token).where(api_token.c.token_id == token_id)).first()
    except DBAPIError as exc:
        raise translate(exc) from exc
    except SQLAlchemyError as exc:
        raise StoreError(f"database error: {exc}") from exc
    return _record(row) if row is not None else None


def list_tokens(engine: Engine, provider: str | None = None) -> list[TokenRecord]:
    statement = select(api_token).order_by(api_token.c.created_at, api_token.c.token_id)
    if provider is not None:
        statement = statement.where(api_token.c.provider == provider)
    try:
        with engine.connect() as conn:
            return [_record(row) for row in conn.execute(statement)]
    except DBAPIError as exc:
        raise translate(exc) from exc


def revoke_token(engine: Engine, token_id: str) -> TokenRecord | None:
    """Mark a token revoked (once; revoking again keeps the first time). None: no such token."""
    with write_transaction(engine) as conn:
        conn.execute(update(api_token).where(api_token.c.token_id == token_id, api_token.c.revoked_at.is_(None))
                     .values(revoked_at=_now()))
        row = conn.execute(select(api_token).where(api_token.c.token_id == token_id)).first()
    return _record(row) if row is not None else None


__all__ = ["TokenRecord", "add_token", "find_token", "list_tokens", "revoke_token"]
