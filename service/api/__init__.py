"""Flask blueprints of the SDMX-REST API: translate HTTP into calls on the layers below, nothing else."""

from __future__ import annotations

from flask import current_app

from ..catalog import Catalog


def catalog() -> Catalog:
    return current_app.extensions["migstat.catalog"]


def store():
    return current_app.extensions["migstat.store"]


def settings():
    return current_app.config["MIGSTAT"]
