"""API tokens: shown once, stored as salted digests only, revocable; repeated failures slowed down and logged.

SQLite always; PostgreSQL with MIGSTAT_TEST_POSTGRES_URL.
"""

from __future__ import annotations

import logging
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from service.auth import FailureLimiter, check_token, create_token, digest, parse_token
from service.cli import main
from service.store import open_store
from service.store.tables import metadata
from submit_support import BACKENDS, CSV_20, database, make_api


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    yield from database(request.param, tmp_path)


def everything_stored(store) -> str:
    """Every value of every table, as text."""
    with store.engine.connect() as conn:
        return "\n".join(repr(tuple(row)) for table in metadata.sorted_tables
                         for row in conn.execute(text(f"SELECT * FROM {table.name}")))


def test_a_token_is_stored_as_a_salted_digest_only(database_url, tmp_path):
    with open_store(database_url) as store:
        issued = create_token(store, "KG_NSC", "the Kyrgyz office's loader")
        token_id, secret = parse_token(issued.token)
        assert re.fullmatch(r"migstat_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", issued.token)
        assert token_id == issued.record.token_id and issued.record.provider == "KG_NSC"
        record = store.token(token_id)
        assert record.digest == digest(record.salt, secret) != secret and len(record.salt) == 32
        assert secret not in everything_stored(store)
        other = create_token(store, "KG_NSC")
        assert other.record.salt != record.salt  # a salt per token
        if database_url.startswith("sqlite"):
            raw = b"".join(p.read_bytes() for p in tmp_path.glob("store.db*"))
            assert secret.encode() not in raw and token_id.encode() in raw


def test_checking_and_revoking(database_url):
    with open_store(database_url) as store:
        issued = create_token(store, "TJ_STAT")
        token_id, secret = parse_token(issued.token)
        assert check_token(store, issued.token)[0].provider == "TJ_STAT"
        assert check_token(store, f"migstat_{token_id}_{'A' * 43}") == (None, f"wrong secret for token {token_id}")
        assert check_token(store, f"migstat_{'0' * 12}_{secret}") == (None, f"unknown token id {'0' * 12}")
        assert check_token(store, "Bearer something")[0] is None
        first = store.revoke_token(token_id)
        assert first.revoked and store.revoke_token(token_id).revoked_at == first.revoked_at
        assert check_token(store, issued.token) == (None, f"token {token_id} is revoked")
        assert store.revoke_token("nope") is None


def test_failures_from_one_address_block_it_for_growing_delays():
    now = [1000.0]
    limiter = FailureLimiter(limit=5, window=60.0, clock=lambda: now[0])
    for _ in range(4):
        assert limiter.failed("10.0.0.1")[1] == 0
    assert limiter.failed("10.0.0.1") == (5, 10.0)
    assert limiter.blocked_for("10.0.0.1") == 10.0 and limiter.blocked_for("10.0.0.2") == 0
    now[0] += 11
    assert limiter.blocked_for("10.0.0.1") == 0
    for _ in range(4):
        limiter.failed("10.0.0.1")
    assert limiter.failed("10.0.0.1")[1] == 20.0  # the next block is twice as long
    now[0] += 21
    limiter.succeeded("10.0.0.1")  # a success forgets the past
    for _ in range(4):
        limiter.failed("10.0.0.1")
    assert limiter.failed("10.0.0.1")[1] == 10.0
    now[0] += 100  # failures spread over more than the window never block
    for _ in range(10):
        now[0] += 15
        assert limiter.failed("10.0.0.3")[1] == 0


def test_the_api_slows_down_repeated_failures_and_logs_them_without_secrets(database_url, catalog, caplog):
    api = make_api(database_url, catalog)
    good = api.tokens["KG_NSC"]
    guess = good[:-6] + "AAAAAA"
    caplog.set_level(logging.INFO)
    client = api.client
    attacker = {"REMOTE_ADDR": "192.0.2.7"}
    for _ in range(5):
        answer = client.get("/data/DF_MIGR_FLOW", headers={"Authorization": f"Bearer {guess}"},
                            environ_base=attacker)
        assert answer.status_code == 401
    blocked = client.post("/v2/data/", data=b"x", headers={"Authorization": f"Bearer {good}", "Content-Type": CSV_20},
                          environ_base=attacker)
    assert blocked.status_code == 429 and 1 <= int(blocked.headers["Retry-After"]) <= 10
    # the public and other clients are not affected
    assert client.get("/data/DF_MIGR_FLOW", environ_base=attacker).status_code == 404
    other = client.get("/submissions/1", headers={"Authorization": f"Bearer {good}"},
                       environ_base={"REMOTE_ADDR": "198.51.100.1"})
    assert other.status_code == 404
    logged = caplog.text
    assert logged.count("authentication failed from 192.0.2.7") == 5 and "blocked for 10 s" in logged
    token_id, secret = parse_token(good)
    assert f"wrong secret for token {token_id}" in logged
    assert secret not in logged and parse_token(guess)[1] not in logged


def test_the_tokens_commands(database_url):
    runner = CliRunner()  # click >= 8.2 keeps stdout and stderr apart
    made = runner.invoke(main, ["tokens", "create", "KZ_BNS", "--note", "nightly loader", "--database", database_url])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    token_id, secret = parse_token(token)
    assert "not shown again" in made.stderr
    listed = runner.invoke(main, ["tokens", "list", "--database", database_url])
    assert listed.exit_code == 0 and token_id in listed.stdout and "nightly loader" in listed.stdout
    assert secret not in listed.output
    assert runner.invoke(main, ["tokens", "create", "XX_NOBODY", "--database", database_url]).exit_code == 2
    revoked = runner.invoke(main, ["tokens", "revoke", token_id, "--database", database_url])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert runner.invoke(main, ["tokens", "revoke", "nope", "--database", database_url]).exit_code == 1
    with open_store(database_url) as store:
        assert check_token(store, token)[0] is None
        assert store.tokens("KZ_BNS")[0].revoked
