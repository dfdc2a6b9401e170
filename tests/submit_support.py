"""What the tests of submissions and tokens share: a store per backend, an app with a token per provider,
and plain decoders of each data format (independent of the service's own readers).

PostgreSQL runs when MIGSTAT_TEST_POSTGRES_URL is set: each test works in a
fresh schema of its own, dropped afterwards (as tests/test_store.py does).
"""

from __future__ import annotations

import csv
import io
import math
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import orjson
import pytest
from lxml import etree
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service.app import create_app
from service.auth import create_token
from service.catalog import PROJECT_ROOT
from service.settings import Settings

POSTGRES_URL = os.environ.get("MIGSTAT_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not POSTGRES_URL, reason="set MIGSTAT_TEST_POSTGRES_URL to test PostgreSQL"))]

CSV_20 = "application/vnd.sdmx.data+csv;version=2.0.0"
CSV_10 = "application/vnd.sdmx.data+csv;version=1.0.0"
GENERIC = "application/vnd.sdmx.genericdata+xml;version=2.1"
SS_21 = "application/vnd.sdmx.structurespecificdata+xml;version=2.1"
JSON_20 = "application/vnd.sdmx.data+json;version=2.0.0"
PROVIDERS = {"KZ": "KZ_BNS", "KG": "KG_NSC", "TJ": "TJ_STAT"}


def database(backend: str, folder: Path) -> Iterator[str]:
    """A database nobody else uses: a SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'store.db'}"
        return
    schema = f"test_submit_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@dataclass
class Api:
    """An app on its own database, a test client and one token per data provider."""

    app: object
    store: object
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def client(self):
        return self.app.test_client()

    def auth(self, provider: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[provider]}"} if provider else {}

    def post(self, body: bytes, provider: str | None = "KG_NSC", content_type: str = CSV_20,
             path: str = "/v2/data/", method: str = "POST", **headers: str):
        return self.client.open(path, method=method, data=body,
                                headers={"Content-Type": content_type, **self.auth(provider), **headers})

    def get(self, path: str, accept: str | None = None, provider: str | None = None, **headers: str):
        return self.client.get(path, headers={**({"Accept": accept} if accept else {}), **self.auth(provider),
                                              **headers})

    def rows(self, table: str, where: str = "") -> int:
        with self.store.engine.connect() as conn:
            return conn.execute(text(f"SELECT count(*) FROM {table} {where}")).scalar_one()


def make_api(url: str, catalog, **settings) -> Api:
    app = create_app(Settings(database_url=url, root=PROJECT_ROOT, **settings), catalog=catalog)
    store = app.extensions["migstat.store"]
    api = Api(app, store)
    for provider in PROVIDERS.values():
        api.tokens[provider] = create_token(store, provider, "tests").token
    return api


# -- plain decoders: {(series key, period): value} ---------------------------------------------------

Cells = dict[tuple[tuple[str, ...], str], float | None]


def number(text: str | None) -> float | None:
    if text in (None, "", "NaN"):
        return None
    value = float(text)
    return None if math.isnan(value) else value


def from_csv(body: bytes, dims: tuple[str, ...], action: str | None = None) -> Cells:
    """SDMX-CSV 1.0 or 2.0; ``action`` keeps the rows of one ACTION only."""
    cells: Cells = {}
    for row in csv.DictReader(io.StringIO(body.decode("utf-8-sig"))):
        if action is not None and row.get("ACTION") != action:
            continue
        cells[(tuple(row[d] for d in dims), row["TIME_PERIOD"])] = number(row.get("OBS_VALUE"))
    return cells


def from_generic(body: bytes, dims: tuple[str, ...], action: str | None = None) -> Cells:
    ns = {"g": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/generic",
          "m": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"}
    cells: Cells = {}
    for dataset in etree.fromstring(body).iterfind("m:DataSet", ns):
        if action is not None and dataset.get("action") != action:
            continue
        for series in dataset.iterfind("g:Series", ns):
            key = {v.get("id"): v.get("value") for v in series.iterfind("g:SeriesKey/g:Value", ns)}
            for obs in series.iterfind("g:Obs", ns):
                value = obs.find("g:ObsValue", ns)
                cells[(tuple(key[d] for d in dims), obs.find("g:ObsDimension", ns).get("value"))] = \
                    number(value.get("value") if value is not None else None)
    return cells


def from_structure_specific(body: bytes, dims: tuple[str, ...]) -> Cells:
    ns = {"m": "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"}
    cells: Cells = {}
    for dataset in etree.fromstring(body).iterfind("m:DataSet", ns):
        for series in dataset.iterfind("Series"):
            key = tuple(series.get(d) for d in dims)
            for obs in series.iterfind("Obs"):
                cells[(key, obs.get("TIME_PERIOD"))] = number(obs.get("OBS_VALUE"))
    return cells


def from_json(body: bytes, dims: tuple[str, ...]) -> Cells:
    message = orjson.loads(body)
    structure = message["data"]["structures"][0]
    series_dims = structure["dimensions"]["series"]
    time_values = structure["dimensions"]["observation"][0]["values"]
    cells: Cells = {}
    for dataset in message["data"]["dataSets"]:
        for series_key, series in dataset["series"].items():
            codes = {dim["id"]: dim["values"][int(i)]["id"] for dim, i in zip(series_dims, series_key.split(":"))}
            for time_index, observation in series["observations"].items():
                value = observation[0] if observation else None
                cells[(tuple(codes[d] for d in dims), time_values[int(time_index)]["id"])] = value
    return cells
