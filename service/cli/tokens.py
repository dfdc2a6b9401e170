"""``migstat tokens``: API tokens of data providers, made, listed and revoked by the operator.

A token is printed once, on standard output, when it is made; the store
keeps only a salted digest of its secret (``service/auth.py``), so a lost
token is revoked and replaced, never recovered. ``list`` shows ids, never
secrets.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..auth import create_token
from ..catalog import load_catalog
from ..store import open_store
from .serve import database_option, root_option


def _providers(root: Path) -> list[str]:
    catalog = load_catalog(root)
    return [item.id for scheme in catalog.provider_schemes for item in scheme.items]


@click.group()
def tokens() -> None:
    """API tokens of data providers (Authorization: Bearer <token>)."""


@tokens.command("create")
@click.argument("provider")
@click.option("--note", help="What the token is for (shown by `tokens list`).")
@database_option
@root_option
def create(provider: str, note: str | None, database_url: str, root: Path) -> None:
    """Make a token for PROVIDER (a data provider of dsd/organisations.yaml) and print it once."""
    known = _providers(root)
    if provider not in known:
        click.echo(f"unknown data provider {provider!r}; the providers are: {', '.join(known)}", err=True)
        sys.exit(2)
    with open_store(database_url) as store:
        issued = create_token(store, provider, note)
    click.echo(issued.token)
    click.echo(f"token {issued.record.token_id} for {provider}: keep it now, it is not shown again "
               f"(revoke with `migstat tokens revoke {issued.record.token_id}`)", err=True)


@tokens.command("revoke")
@click.argument("token_id")
@database_option
def revoke(token_id: str, database_url: str) -> None:
    """Revoke the token TOKEN_ID (the part after migstat_); it is refused from now on."""
    with open_store(database_url) as store:
        record = store.revoke_token(token_id)
    if record is None:
        click.echo(f"there is no token {token_id!r} (`migstat tokens list` shows them)", err=True)
        sys.exit(1)
    click.echo(f"token {token_id} of {record.provider} revoked at {record.revoked_at.isoformat()}")


@tokens.command("list")
@click.option("--provider", help="Only the tokens of this provider.")
@database_option
def list_(provider: str | None, database_url: str) -> None:
    """Tokens: id, provider, when made, when revoked, note (never the secrets)."""
    with open_store(database_url) as store:
        records = store.tokens(provider)
    click.echo(f"{'id':<14}{'provider':<12}{'created':<27}{'revoked':<27}note")
    for record in records:
        revoked = record.revoked_at.isoformat(timespec="seconds") if record.revoked_at else "-"
        click.echo(f"{record.token_id:<14}{record.provider:<12}{record.created_at.isoformat(timespec='seconds'):<27}"
                   f"{revoked:<27}{record.note or ''}")


def register(group: click.Group) -> None:
    group.add_command(tokens)
