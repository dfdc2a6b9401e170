"""Shared fixtures: the project tree, the shared reference folder, the loaded catalog."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.catalog import PROJECT_ROOT, load_catalog

#: ../shared beside the checkout: official schemas, design notes, national tables (read-only).
SHARED = Path(os.environ.get("MIGSTAT_SHARED", PROJECT_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"the shared reference folder {SHARED} is missing (set MIGSTAT_SHARED)")
    return SHARED


@pytest.fixture(scope="session")
def catalog():
    return load_catalog(PROJECT_ROOT)


# -- the live SDMX-REST service (tests/api_fixtures.py) ------------------------------------------

@pytest.fixture(scope="session", params=__import__("api_fixtures").BACKENDS)
def service(request, tmp_path_factory):
    """A running service on one database backend, with the national examples and a 20,000-observation set."""
    from api_fixtures import start_service

    yield from start_service(request.param, tmp_path_factory.mktemp(f"api-{request.param}"))
