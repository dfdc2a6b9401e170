"""``migstat push`` against a live service (werkzeug's server in a thread): tables converted and checked
locally, SDMX files sent as they are, and the exit status telling accepted (0), refused (1) or
unreachable (2)."""

from __future__ import annotations

import socket
import threading

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from service.catalog import PROJECT_ROOT
from service.cli import main
from service.conversion import convert_examples
from submit_support import BACKENDS, database, make_api

KG_MAPPING = PROJECT_ROOT / "mappings/kg/external_migration_by_country.yaml"
KG_TABLE = PROJECT_ROOT / "mappings/kg/examples/external_migration_by_country_2017_2018.xlsx"
KZ_MAPPING = PROJECT_ROOT / "mappings/kz/external_migration_by_country.yaml"
KZ_TABLE = PROJECT_ROOT / "mappings/kz/examples/external_migration_by_country_2017.csv"


@pytest.fixture(params=BACKENDS)
def live(request, tmp_path, catalog):
    for url in database(request.param, tmp_path):
        api = make_api(url, catalog)
        server = make_server("127.0.0.1", 0, api.app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield api, f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            thread.join(5)


def push(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, ["push", *map(str, args)], env=env)


def test_a_national_table_is_converted_checked_and_pushed(live):
    api, url = live
    done = push("--mapping", KG_MAPPING, KG_TABLE, "--to", url, "--token", api.tokens["KG_NSC"])
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("accepted: 54 observations added, 0 replaced, 0 deleted, submission ")
    assert "converted with external_migration_by_country.yaml and valid" in done.stderr
    assert api.rows("observation") == 54
    again = push("--mapping", KG_MAPPING, KG_TABLE, "--to", url + "/", env={"MIGSTAT_TOKEN": api.tokens["KG_NSC"]})
    assert again.exit_code == 0 and "0 observations added" in again.stdout


def test_an_invalid_table_is_not_sent(live, tmp_path):
    api, url = live
    broken = tmp_path / "external_migration_by_country_2017.csv"
    broken.write_bytes(KZ_TABLE.read_bytes().replace(b";470;", b";abc;", 1))
    refused = push("--mapping", KZ_MAPPING, broken, "--to", url, "--token", api.tokens["KZ_BNS"])
    assert refused.exit_code == 1
    assert "abc" in refused.stdout and "not sent" in refused.stderr
    assert api.rows("submission") == 0


def test_sdmx_files_go_as_they_are_and_refusals_are_shown(live, tmp_path, catalog):
    api, url = live
    examples = dict(convert_examples(catalog, PROJECT_ROOT))
    kz = tmp_path / "kz.csv"
    kz.write_bytes(examples["kz/external_migration_by_country_2017.csv"])
    wrong = push(kz, "--to", url, "--token", api.tokens["KG_NSC"])
    assert wrong.exit_code == 1 and "refused (403" in wrong.stderr and "may not write REF_AREA KZ" in wrong.stderr
    accepted = push(kz, "--to", url, "--token", api.tokens["KZ_BNS"], "--release-at", "2999-01-01T00:00:00Z")
    assert accepted.exit_code == 0 and "accepted: 60 observations added" in accepted.stdout
    assert api.get("/data/DF_MIGR_FLOW").status_code == 404  # under embargo
    assert push(kz, "--to", url, "--token", "migstat_000000000000_" + "a" * 43).exit_code == 1


def test_usage_and_connection_problems_exit_2(live):
    api, url = live
    assert push(KG_TABLE, "--to", url).exit_code == 2  # no token
    assert push(KG_TABLE, "--to", "ftp://host", "--token", "t").exit_code == 2
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    unreachable = push(KG_TABLE, "--to", f"http://127.0.0.1:{port}", "--token", api.tokens["KG_NSC"],
                       "--timeout", "5")
    assert unreachable.exit_code == 2 and "cannot reach" in unreachable.stderr
