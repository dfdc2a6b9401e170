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
