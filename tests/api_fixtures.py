"""A live migstat service per database backend, for the conformance tests of the SDMX-REST API.

Each backend gets one store for the whole session, filled the way an operator
fills it: the bundled national example tables converted through their
mappings and submitted (``migstat serve --demo``), plus a generated monthly
dataset of 20,000 observations in DF_MIGR_STOCK, big enough that a response
streams. The app runs in a real HTTP server thread, so sdmx1 and pysdmx talk
HTTP to it as they would to any SDMX web service; ``service.client()`` is
Flask's test client on the same app for the tests that only look at one
response.

PostgreSQL runs when MIGSTAT_TEST_POSTGRES_URL is set (CI always sets it): the
session works in a schema of its own, dropped at the end.
"""

from __future__ import annotations

import os
import threading
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from service.app import create_app
from service.catalog import PROJECT_ROOT, Catalog, load_catalog
from service.conversion import convert_examples
from service.settings import Settings
from service.store import Store, open_store
from service.submissions import submit

POSTGRES_URL = os.environ.get("MIGSTAT_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not POSTGRES_URL, reason="set MIGSTAT_TEST_POSTGRES_URL to test PostgreSQL"))]

AGENCY = "CAMIG"
DIMENSIONS = ("FREQ", "REF_AREA", "INDICATOR", "MIGR_DEF", "DATA_SOURCE", "COUNTERPART_AREA", "CITIZENSHIP",
              "BIRTH_PLACE", "SEX", "AGE", "EDUCATION_LEV", "OCCUPATION", "ACTIVITY", "MIGR_REASON", "ETHNICITY",
              "URBANISATION")
CSV_20 = "application/vnd.sdmx.data+csv;version=2.0.0"

# The generated dataset: foreign citizens registered in Kazakhstan at the end of each month,
# by citizenship and sex: 200 citizenships x 2 sexes = 400 series of 50 months.
BIG_FLOW = "DF_MIGR_STOCK"
BIG_CITIZENSHIPS = 200
BIG_SEXES = ("F", "M")
BIG_MONTHS = tuple(f"{2019 + m // 12}-{m % 12 + 1:02d}" for m in range(50))  # 2019-01 .. 2023-02
BIG_SERIES = BIG_CITIZENSHIPS * len(BIG_SEXES)
BIG_OBSERVATIONS = BIG_SERIES * len(BIG_MONTHS)


def big_key(citizenship: str, sex: str) -> tuple[str, ...]:
    codes = dict.fromkeys(DIMENSIONS, "_T")
    codes.update(FREQ="M", REF_AREA="KZ", INDICATOR="POP_FCIT", MIGR_DEF="NAT_PERM", DATA_SOURCE="ADM_POPREG",
                 CITIZENSHIP=citizenship, SEX=sex, OCCUPATION="_Z", ACTIVITY="_Z")
    return tuple(codes[d] for d in DIMENSIONS)


def big_value(series_index: int, month_index: int) -> int:
    """The generated value of one observation: distinct per series and month, easy to recompute."""
    return series_index * 1000 + month_index


def big_citizenships(catalog: Catalog) -> list[str]:
    """The first 200 ISO 3166 alpha-2 country codes of CL_AREA other than the reporting country."""
    area = next(cl for cl in catalog.codelists if cl.ref.id == "CL_AREA")
    codes = [item.id for item in area.items if len(item.id) == 2 and item.id.isalpha() and item.id.isupper()
             and item.id != "KZ"]
    return codes[:BIG_CITIZENSHIPS]


def big_dataset_csv(catalog: Catalog) -> bytes:
    """The generated dataset as the SDMX-CSV 2.0 message a national system would push."""
    lines = [",".join(["STRUCTURE", "STRUCTURE_ID", "ACTION", *DIMENSIONS, "TIME_PERIOD", "OBS_VALUE", "OBS_STATUS",
                       "UNIT_MEASURE", "UNIT_MULT"])]
    index = 0
    for citizenship in big_citizenships(catalog):
        for sex in BIG_SEXES:
            key = ",".join(big_key(citizenship, sex))
            for m, period in enumerate(BIG_MONTHS):
                lines.append(f"dataflow,{AGENCY}:{BIG_FLOW}(1.0),I,{key},{period},{big_value(index, m)},A,PS,0")
            index += 1
    return ("\n".join(lines) + "\n").encode()


@dataclass
class LiveService:
    """One running service: its HTTP address, the app behind it, its store and catalog."""

    backend: str
    base_url: str
    app: Flask
    store: Store
    catalog: Catalog
    settings: Settings

    def client(self):
        return self.app.test_client()

    def url(self, path: str) -> str:
        return self.base_url + path

    def get(self, path: str, **headers: str) -> requests.Response:
        """A GET over HTTP (headers given as keyword arguments, '_' for '-')."""
        return requests.get(self.url(path), headers={k.replace("_", "-"): v for k, v in headers.items()},
                            timeout=60)

    def app_with(self, **overrides) -> Flask:
        """Another app on the same store and catalog with some settings changed (limits, CORS)."""
        return create_app(replace(self.settings, **overrides), store=self.store, catalog=self.catalog)


def _load(catalog: Catalog, store: Store) -> None:
    for _name, body in convert_examples(catalog, PROJECT_ROOT):
        submit(catalog, store, body, CSV_20, infer_provider=True)
    submit(catalog, store, big_dataset_csv(catalog), CSV_20, infer_provider=True)


def _postgres_schema() -> tuple[str, str]:
    """A fresh schema for this session, and the URL of the test database that uses it."""
    schema = f"migstat_api_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return schema, url.render_as_string(hide_password=False)


def _drop_postgres_schema(schema: str) -> None:
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def start_service(backend: str, folder: Path):
    """A generator: yields a LiveService, then stops the server and cleans the database."""
    schema = None
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'api.db'}"
    else:
        schema, url = _postgres_schema()
    catalog = load_catalog(PROJECT_ROOT)
    store = open_store(url)
    server = None
    try:
        _load(catalog, store)
        settings = Settings(database_url=url, root=PROJECT_ROOT)
        app = create_app(settings, store=store, catalog=catalog)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name=f"migstat-{backend}", daemon=True)
        thread.start()
        yield LiveService(backend, f"http://127.0.0.1:{server.server_port}", app, store, catalog, settings)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        store.close()
        if schema is not None:
            _drop_postgres_schema(schema)


def flow_key(**codes: str) -> str:
    """A DSD_MIGR series key for a REST path: the codes given (``+`` lists), every other dimension wildcarded."""
    unknown = set(codes) - set(DIMENSIONS)
    if unknown:
        raise ValueError(f"not dimensions of DSD_MIGR: {sorted(unknown)}")
    return ".".join(codes.get(d, "") for d in DIMENSIONS)


# Numbers the national tables publish (mappings/kz and mappings/kg examples), by
# (REF_AREA, INDICATOR, COUNTERPART_AREA, TIME_PERIOD): the totals of both countries ...
TOTALS_CODES = {"FREQ": "A", "REF_AREA": "KZ+KG", "INDICATOR": "IMM+EMI+NETM", "COUNTERPART_AREA": "_T"}
TOTALS_KEY = flow_key(**TOTALS_CODES)
TOTALS = {
    ("KZ", "IMM", "_T", "2017"): 16081, ("KZ", "EMI", "_T", "2017"): 37704, ("KZ", "NETM", "_T", "2017"): -21623,
    ("KG", "IMM", "_T", "2017"): 1974, ("KG", "EMI", "_T", "2017"): 5899, ("KG", "NETM", "_T", "2017"): -3925,
    ("KG", "IMM", "_T", "2018"): 1687, ("KG", "EMI", "_T", "2018"): 7077, ("KG", "NETM", "_T", "2018"): -5390,
}
# ... and emigration from Kyrgyzstan to Kazakhstan and Russia.
BILATERAL_CODES = {"REF_AREA": "KG", "INDICATOR": "EMI", "COUNTERPART_AREA": "KZ+RU"}
BILATERAL_KEY = flow_key(**BILATERAL_CODES)
BILATERAL = {
    ("KG", "EMI", "KZ", "2017"): 1209, ("KG", "EMI", "KZ", "2018"): 1219,
    ("KG", "EMI", "RU", "2017"): 4453, ("KG", "EMI", "RU", "2018"): 4972,
}
RECORD_DIMENSIONS = ("REF_AREA", "INDICATOR", "COUNTERPART_AREA", "TIME_PERIOD")


def record(codes, value) -> tuple[tuple[str, ...], float | None]:
    """(REF_AREA, INDICATOR, COUNTERPART_AREA, TIME_PERIOD) and the value, from any mapping of codes."""
    number = None if value is None or value != value else float(value)
    return tuple(str(codes[d]) for d in RECORD_DIMENSIONS), number


# -- reading observations back out of any data response, independently of the service's readers ----------

def _xml_observations(body: bytes) -> list[dict[str, str]]:
    """Codes and OBS_VALUE of every observation of an SDMX-ML 2.1 / 3.0 data message (generic or
    structure-specific, any dimension at the observation level)."""
    from lxml import etree

    root = etree.fromstring(body)
    structure = next(e for e in root.iter() if etree.QName(e).localname == "Structure")
    at_obs = structure.get("dimensionAtObservation")
    generic = etree.QName(root).localname.startswith("Generic")
    found = []

    def values(element, name) -> dict[str, str]:
        holder = next((c for c in element if etree.QName(c).localname == name), None)
        return {} if holder is None else {v.get("id"): v.get("value") for v in holder}

    for dataset in (e for e in root if etree.QName(e).localname == "DataSet"):
        for member in dataset:
            kind = etree.QName(member).localname
            if kind not in ("Series", "Obs"):
                continue
            base = (values(member, "SeriesKey") if generic else dict(member.attrib)) if kind == "Series" else {}
            observations = [o for o in member if etree.QName(o).localname == "Obs"] if kind == "Series" else [member]
            for obs in observations:
                codes = dict(base)
                if generic:
                    codes.update(values(obs, "ObsKey"))
                    dimension = next((c for c in obs if etree.QName(c).localname == "ObsDimension"), None)
                    if dimension is not None:
                        codes[at_obs] = dimension.get("value")
                    value = next((c for c in obs if etree.QName(c).localname == "ObsValue"), None)
                    codes["OBS_VALUE"] = value.get("value") if value is not None else None
                else:
                    codes.update(obs.attrib)
                found.append(codes)
    return found


def _json_observations(message: dict) -> list[dict[str, str]]:
    """Codes and OBS_VALUE of every observation of an SDMX-JSON 1.0 / 2.0 data message."""
    data = message["data"]
    structure = data["structure"] if "structure" in data else data["structures"][0]
    dims = structure["dimensions"]

    def resolve(components, indexes) -> dict[str, str]:
        return {c["id"]: c["values"][int(i)]["id"] for c, i in zip(components, indexes)}

    found = []
    for dataset in data["dataSets"]:
        groups = [({}, dataset.get("observations", {}))] if "observations" in dataset else [
            (resolve(dims["series"], key.split(":")), body.get("observations", {}))
            for key, body in dataset.get("series", {}).items()]
        for base, observations in groups:
            for key, row in observations.items():
                found.append({**base, **resolve(dims["observation"], key.split(":")), "OBS_VALUE": row[0]})
    return found


def observations(body: bytes, content_type: str) -> list[dict[str, str]]:
    """Every observation of a data response as {component id: code or value}, whatever its format."""
    import csv
    import io

    import orjson

    if "+csv" in content_type:
        return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    if "json" in content_type:
        return _json_observations(orjson.loads(body))
    return _xml_observations(body)


def records(body: bytes, content_type: str) -> dict[tuple[str, ...], float | None]:
    """{(REF_AREA, INDICATOR, COUNTERPART_AREA, TIME_PERIOD): value}; a key seen twice fails."""
    found = {}
    for codes in observations(body, content_type):
        key, value = record(codes, None if codes.get("OBS_VALUE") in (None, "", "NaN") else codes["OBS_VALUE"])
        assert key not in found, f"{key} written twice"
        found[key] = value
    return found
