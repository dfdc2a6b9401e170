"""The Flask application factory: settings, catalog, store, blueprints and error handling."""

from __future__ import annotations

import logging

from flask import Flask, jsonify

from .catalog import load_catalog
from .settings import Settings


def create_app(settings: Settings | None = None, *, store=None, catalog=None) -> Flask:
    """A configured app. ``store``/``catalog`` may be given (tests, the demo loader) or are opened here."""
    from .api import availability, data, http, schema, structure, submit, v2, v2_structure
    from .store import open_store

    settings = settings or Settings.from_env()
    app = Flask("migstat", static_folder=None)
    app.config["MIGSTAT"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.url_map.strict_slashes = False

    catalog = catalog or load_catalog(settings.root)
    if not catalog.report.valid:
        problems = "; ".join(f"{p.where()}: {p.message}" for p in catalog.report.errors())
        raise RuntimeError(f"the structures in {settings.root} have errors (run `migstat check`): {problems}")
    app.extensions["migstat.catalog"] = catalog
    app.extensions["migstat.store"] = store or open_store(settings.database_url)

    http.install(app)
    app.register_blueprint(structure.blueprint)
    app.register_blueprint(data.blueprint)
    app.register_blueprint(submit.blueprint)
    app.register_blueprint(availability.blueprint)
    app.register_blueprint(v2.blueprint)
    app.register_blueprint(v2_structure.blueprint)
    app.register_blueprint(schema.blueprint)

    @app.get("/health")
    def health():
        app.extensions["migstat.store"].last_modified()
        return jsonify(status="ok")

    @app.get("/")
    def index():
        return jsonify(
            service="migstat",
            description="SDMX-REST service for harmonised migration statistics of Kazakhstan, Kyrgyzstan and "
                        "Tajikistan",
            api={"sdmx-rest": "1.5.0", "structure": "/{resource}/{agencyID}/{resourceID}/{version}/{itemID}",
                 "data": "/data/{flowRef}/{key}/{providerRef}",
                 "availability": "/availableconstraint/{flowRef}/{key}/{providerRef}/{componentID}",
                 "schema": "/schema/{context}/{agencyID}/{resourceID}/{version}"},
            api_v2={"sdmx-rest": "2.2.2", "structure": "/v2/structure/{structureType}/{agencyID}/{resourceID}/{version}",
                    "data": "/v2/data/{context}/{agencyID}/{resourceID}/{version}/{key}",
                    "availability": "/v2/availability/{context}/{agencyID}/{resourceID}/{version}/{key}/{componentID}",
                    "schema": "/v2/schema/{context}/{agencyID}/{resourceID}/{version}"},
            dataflows=[str(f.ref) for f in catalog.dataflows],
        )

    logging.getLogger("migstat").setLevel(logging.INFO)
    return app
