"""HTTP behaviour of the running service: content negotiation, compression, caching, CORS,
languages and the limits (URL length, response size), and a failure that leaks nothing."""

from __future__ import annotations

import gzip
from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime

import orjson
import pytest
import requests
from lxml import etree

from service.formats.schemas import validate_sdmx_ml

from api_fixtures import TOTALS, TOTALS_KEY, records

DATA = f"/data/DF_MIGR_FLOW/{TOTALS_KEY}"
GENERIC = "application/vnd.sdmx.genericdata+xml;version=2.1"
CSV_10 = "application/vnd.sdmx.data+csv;version=1.0.0"
CSV_20 = "application/vnd.sdmx.data+csv;version=2.0.0"
JSON_10 = "application/vnd.sdmx.data+json;version=1.0.0"
JSON_20 = "application/vnd.sdmx.data+json;version=2.0.0"
STRUCTURE_ML = "application/vnd.sdmx.structure+xml;version=2.1"
STRUCTURE_JSON_10 = "application/vnd.sdmx.structure+json;version=1.0.0"
STRUCTURE_JSON_20 = "application/vnd.sdmx.structure+json;version=2.0.0"
DATA_TYPES = [GENERIC, "application/vnd.sdmx.generictimeseriesdata+xml;version=2.1",
              "application/vnd.sdmx.structurespecificdata+xml;version=2.1",
              "application/vnd.sdmx.structurespecifictimeseriesdata+xml;version=2.1",
              "application/vnd.sdmx.data+xml;version=3.0.0", JSON_10, JSON_20, CSV_10, CSV_20]


@pytest.fixture(scope="module")
def client(service):
    return service.client()


def sdmx_error_code(response) -> int:
    if response.content_type == "application/json":
        return orjson.loads(response.data)["errors"][0]["code"]
    return int(etree.fromstring(response.data)[0].get("code"))


# -- content negotiation ------------------------------------------------------------------------------

@pytest.mark.parametrize("accept", DATA_TYPES)
def test_every_exact_data_media_type_is_served_as_asked(client, accept):
    response = client.get(DATA, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == accept  # exactly, no charset
    assert records(response.data, accept) == TOTALS


@pytest.mark.parametrize("accept", [STRUCTURE_ML, STRUCTURE_JSON_10, STRUCTURE_JSON_20])
def test_every_exact_structure_media_type_is_served_as_asked(client, accept):
    response = client.get("/codelist/CAMIG/CL_SEX", headers={"Accept": accept})
    assert response.status_code == 200 and response.headers["Content-Type"] == accept


@pytest.mark.parametrize("accept,served", [
    ("application/vnd.sdmx.data+csv; version=1.0.0", CSV_10),
    ("application/vnd.sdmx.data+csv;  version=2.0.0 ", CSV_20),
    ("application/vnd.sdmx.data+csv; version=1.0.0; labels=both; timeFormat=normalized", CSV_10),
    ("Application/VND.SDMX.Data+CSV; Version=2.0.0", CSV_20),
    ('application/vnd.sdmx.data+json; version="1.0.0"', JSON_10),
    ("application/vnd.sdmx.data+csv;version=1.0", CSV_10),
    ("application/vnd.sdmx.genericdata+xml", GENERIC),
])
def test_spacing_case_quotes_and_parameters_are_tolerated(client, accept, served):
    response = client.get(DATA, headers={"Accept": accept})
    assert response.status_code == 200 and response.headers["Content-Type"] == served


@pytest.mark.parametrize("accept,served", [
    (f"{JSON_10};q=0.5, {CSV_10}", CSV_10),
    (f"{JSON_10};q=0.9, {CSV_10};q=0.4", JSON_10),
    (f"*/*;q=0.1, {JSON_20}", JSON_20),
    (f"{CSV_10};q=0, */*;q=0.1", GENERIC),
    (f"application/xml;q=0.5, {CSV_20};q=0.8", CSV_20),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", GENERIC),  # a browser
    (f"image/png, {CSV_20};q=0.2", CSV_20),
])
def test_q_weights_choose_the_best(client, accept, served):
    assert client.get(DATA, headers={"Accept": accept}).headers["Content-Type"] == served


@pytest.mark.parametrize("path,accept,family", [
    (DATA, None, GENERIC), (DATA, "*/*", GENERIC), (DATA, "application/*", GENERIC),
    (DATA, "application/xml", GENERIC), (DATA, "text/xml", GENERIC),
    (DATA, "application/json", "application/vnd.sdmx.data+json;version="),
    (DATA, "text/csv", "application/vnd.sdmx.data+csv;version="),
    (DATA, "application/vnd.sdmx.data+json", "application/vnd.sdmx.data+json;version="),
    (DATA, "text/*", GENERIC),  # text/xml is one of its aliases
    ("/dataflow", None, STRUCTURE_ML), ("/dataflow", "*/*", STRUCTURE_ML), ("/dataflow", "application/xml", STRUCTURE_ML),
    ("/dataflow", "application/json", "application/vnd.sdmx.structure+json;version="),
])
def test_aliases_wildcards_and_no_accept_header(client, path, accept, family):
    response = client.get(path, headers={"Accept": accept} if accept else {})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith(family)
    assert "charset" not in response.headers["Content-Type"]


@pytest.mark.parametrize("path,accept,error_type", [
    (DATA, "text/html", "application/xml"),
    (DATA, "image/png", "application/xml"),
    (DATA, "application/vnd.sdmx.genericdata+xml;version=2.0", "application/xml"),
    (DATA, "application/vnd.sdmx.data+json;version=9.9.9", "application/json"),
    (DATA, STRUCTURE_ML, "application/xml"),
    ("/dataflow", CSV_10, "application/xml"),
    ("/dataflow", "application/vnd.sdmx.structure+json;version=7.0.0", "application/json"),
])
def test_what_is_not_served_is_406_with_an_sdmx_error(client, path, accept, error_type):
    response = client.get(path, headers={"Accept": accept})
    assert response.status_code == 406 and response.headers["Content-Type"] == error_type
    assert sdmx_error_code(response) == 140 and b"<html" not in response.data.lower()


@pytest.mark.parametrize("query,served", [
    ("format=csvfile", CSV_10), ("format=csv&formatVersion=2.0.0", CSV_20), ("format=csvdata", CSV_10),
    ("format=jsondata&formatVersion=1.0.0", JSON_10), ("format=jsondata&formatVersion=2.0.0", JSON_20),
    ("format=genericdata", GENERIC),
    ("format=structurespecificdata&formatVersion=3.0.0", "application/vnd.sdmx.data+xml;version=3.0.0"),
    ("format=generictimeseriesdata", "application/vnd.sdmx.generictimeseriesdata+xml;version=2.1"),
])
def test_the_format_parameter(client, query, served):
    response = client.get(f"{DATA}?{query}", headers={"Accept": "image/png"})  # format= wins over Accept
    assert response.status_code == 200 and response.headers["Content-Type"] == served
    if query == "format=csvfile":
        assert response.headers["Content-Disposition"] == 'attachment; filename="DF_MIGR_FLOW.csv"'
    else:
        assert "Content-Disposition" not in response.headers


@pytest.mark.parametrize("query,served", [("format=jsonstructure&formatVersion=1.0.0", STRUCTURE_JSON_10),
                                          ("format=jsonstructure&formatVersion=2.0.0", STRUCTURE_JSON_20),
                                          ("format=structure", STRUCTURE_ML)])
def test_the_format_parameter_on_structures(client, query, served):
    assert client.get(f"/dataflow?{query}").headers["Content-Type"] == served


@pytest.mark.parametrize("query", ["format=nope", "format=csv&formatVersion=3.0.0", "format=structure"])
def test_an_unknown_format_parameter_is_406(client, query):
    response = client.get(f"{DATA}?{query}")
    assert response.status_code == 406 and sdmx_error_code(response) == 140


# -- compression -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("asked", [{"Accept-Encoding": "gzip"}, {"Accept-Encoding": "br;q=1.0, gzip;q=0.8"},
                                   {"Accept-Encoding": "x-gzip"}, "compression=gzip"])
def test_gzip_decompresses_to_the_same_bytes(client, asked):
    plain = client.get(DATA, headers={"Accept": CSV_20}).data
    query, headers = (f"?{asked}", {}) if isinstance(asked, str) else ("", asked)
    response = client.get(DATA + query, headers={"Accept": CSV_20, **headers})
    assert response.headers["Content-Encoding"] == "gzip" and "Content-Length" not in response.headers
    assert gzip.decompress(response.data) == plain


def test_gzip_of_structures_and_of_errors_over_http(service):
    response = service.get("/codelist/CAMIG/CL_SEX", Accept_Encoding="gzip")  # requests decompresses
    assert response.headers["Content-Encoding"] == "gzip" and validate_sdmx_ml(response.content) == []
    assert b"Female" in response.content


def test_no_gzip_when_refused(client):
    response = client.get(DATA, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in response.headers and response.data.startswith(b"<?xml")


def test_an_unknown_compression_parameter_is_406(client):
    assert client.get(f"{DATA}?compression=zstd").status_code == 406


# -- caching: ETag, Last-Modified, 304 --------------------------------------------------------------------

@pytest.fixture(scope="module")
def cached(client):
    response = client.get(DATA, headers={"Accept": CSV_20})
    return response.headers["ETag"], response.headers["Last-Modified"]


def test_data_carries_etag_and_last_modified_from_the_store(service, cached):
    etag, last_modified = cached
    assert etag.startswith('"') and etag.endswith('"')
    changed = service.store.last_modified("CAMIG:DF_MIGR_FLOW(1.0)")
    assert parsedate_to_datetime(last_modified) == changed.replace(microsecond=0)


@pytest.mark.parametrize("make", [lambda e: e, lambda e: f"W/{e}", lambda e: f'"other", {e}', lambda e: "*"])
def test_304_on_if_none_match(client, cached, make):
    response = client.get(DATA, headers={"Accept": CSV_20, "If-None-Match": make(cached[0])})
    assert response.status_code == 304 and response.data == b""
    assert response.headers["ETag"] == cached[0] and "Access-Control-Allow-Origin" in response.headers
    assert "Accept" in response.headers["Vary"]


def test_a_304_with_gzip_asked_has_no_body(service, client):
    etag = client.get(DATA, headers={"Accept-Encoding": "gzip"}).headers["ETag"]
    response = client.get(DATA, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert response.status_code == 304 and response.data == b""
    over_http = service.get(DATA, Accept_Encoding="gzip", If_None_Match=etag)
    assert over_http.status_code == 304 and over_http.content == b""


def test_another_etag_or_another_format_is_a_full_answer(client, cached):
    assert client.get(DATA, headers={"Accept": CSV_20, "If-None-Match": '"nope"'}).status_code == 200
    assert client.get(DATA, headers={"Accept": CSV_10, "If-None-Match": cached[0]}).status_code == 200


def test_304_on_if_modified_since_as_http_date_and_as_iso_8601(service, client, cached):
    changed = service.store.last_modified("CAMIG:DF_MIGR_FLOW(1.0)")
    later, earlier = changed + timedelta(seconds=5), changed - timedelta(days=1)
    for since, status in ((cached[1], 304), (format_datetime(later, usegmt=True), 304),
                          (format_datetime(earlier, usegmt=True), 200),
                          (later.isoformat(), 304), (later.strftime("%Y-%m-%dT%H:%M:%SZ"), 304),
                          (earlier.isoformat(timespec="seconds"), 200), ("not a date", 200)):
        response = client.get(DATA, headers={"Accept": CSV_20, "If-Modified-Since": since})
        assert response.status_code == status, since


def test_structures_carry_an_etag_and_answer_304(client):
    etag = client.get("/dataflow").headers["ETag"]
    assert client.get("/dataflow", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/dataflow", headers={"If-None-Match": etag, "Accept-Language": "ru"}).status_code == 200


@pytest.mark.parametrize("path", [DATA, "/dataflow", "/hierarchicalcodelist", "/nonsense"])
def test_vary_names_the_negotiated_headers(client, path):
    vary = {v.strip() for v in client.get(path).headers["Vary"].split(",")}
    assert {"Accept", "Accept-Encoding", "Accept-Language"} <= vary


# -- CORS ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path,status", [(DATA, 200), ("/dataflow", 200), (f"{DATA}?startPeriod=2099", 404),
                                         ("/data/DF_MIGR_FLOW/A.KZ", 400), ("/hierarchicalcodelist", 501),
                                         ("/nonsense", 404), (f"{DATA}?format=nope", 406)])
def test_cors_on_answers_and_on_errors(service, path, status):
    response = service.get(path, Origin="https://explorer.example.org")
    assert response.status_code == status
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]


def test_cors_preflight(service):
    response = requests.options(service.url(DATA), headers={
        "Origin": "https://explorer.example.org", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "accept, accept-language, if-none-match"}, timeout=30)
    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert all(h in allowed for h in ("accept", "accept-language", "if-none-match"))
    assert "html" not in response.headers.get("Content-Type", "") and response.content == b""


def test_cors_for_a_configured_origin_only(service):
    client = service.app_with(cors_origin="https://explorer.example.org").test_client()
    allowed = client.get("/dataflow", headers={"Origin": "https://explorer.example.org"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://explorer.example.org"
    assert "Access-Control-Allow-Origin" not in client.get("/dataflow", headers={"Origin": "https://else.example"}) \
        .headers


# -- languages -------------------------------------------------------------------------------------------

def names(body: bytes, element: str = "Codelist") -> dict[str, dict[str, str]]:
    """{id: {lang: name}} of the artefact and its items in an SDMX-ML structure message."""
    root = etree.fromstring(body)
    found = {}
    for node in root.iter():
        if node.get("id") and etree.QName(node).localname in (element, "Code"):
            found[node.get("id")] = {n.get("{http://www.w3.org/XML/1998/namespace}lang"): n.text for n in node
                                     if etree.QName(n).localname == "Name"}
    return found


@pytest.mark.parametrize("header,sex,female", [
    ("ru", {"ru": "Пол", "en": "Sex"}, {"ru": "Женщины", "en": "Female"}),
    ("ru-RU, en;q=0.5", {"ru": "Пол", "en": "Sex"}, {"ru": "Женщины", "en": "Female"}),
    ("kk", {"en": "Sex"}, {"kk": "Әйелдер", "en": "Female"}),  # no Kazakh name of the list: English
    ("de", {"en": "Sex"}, {"en": "Female"}),
    (None, {"en": "Sex"}, {"en": "Female"}),
])
def test_accept_language_chooses_names_with_english_fallback(client, header, sex, female):
    body = client.get("/codelist/CAMIG/CL_SEX", headers={"Accept-Language": header} if header else {}).data
    found = names(body)
    assert found["CL_SEX"] == sex and found["F"] == female


def test_any_language_gives_every_name(client):
    found = names(client.get("/codelist/CAMIG/CL_SEX", headers={"Accept-Language": "*"}).data)
    assert set(found["F"]) == {"en", "ru", "kk", "ky", "tg"}


def test_languages_in_sdmx_json_and_the_lang_parameter(client):
    message = orjson.loads(client.get("/codelist/CAMIG/CL_SEX?lang=ru", headers={"Accept": STRUCTURE_JSON_20}).data)
    codelist = message["data"]["codelists"][0]
    assert codelist["name"] == "Пол" and message["meta"]["contentLanguages"][0] == "ru"
    assert next(c for c in codelist["codes"] if c["id"] == "F")["name"] == "Женщины"


def test_languages_in_data_labels(client):
    body = client.get(f"{DATA}?labels=both", headers={"Accept": CSV_20, "Accept-Language": "ru"}).data.decode()
    assert "KZ: Казахстан" in body and "Международные миграционные потоки" in body


# -- limits and failures --------------------------------------------------------------------------------

def test_an_over_long_url_is_414(service, client):
    path = f"/data/DF_MIGR_FLOW/{'+'.join(['KZ'] * 3000)}"
    response = client.get(path)
    assert response.status_code == 414 and sdmx_error_code(response) == 140
    over_http = service.get(path)
    assert over_http.status_code == 414 and over_http.headers["Content-Type"] == "application/xml"


@pytest.mark.parametrize("accept", [None, JSON_20])
def test_a_response_over_the_configured_size_is_413_with_sdmx_code_510(service, accept):
    client = service.app_with(max_response_observations=100).test_client()
    response = client.get("/data/DF_MIGR_STOCK", headers={"Accept": accept} if accept else {})
    assert response.status_code == 413 and sdmx_error_code(response) == 510
    assert b"20,000" in response.data  # says how big the answer would be
    assert client.get("/data/DF_MIGR_STOCK?lastNObservations=1").status_code == 413  # 400 observations
    assert client.get(DATA).status_code == 200  # 9 observations


@pytest.mark.parametrize("accept", [None, CSV_20, JSON_10])
def test_an_unexpected_failure_is_500_and_leaks_nothing(service, client, monkeypatch, accept):
    def broken(*args, **kwargs):
        raise RuntimeError("password=hunter2 at /srv/secret/store.py line 42")
    monkeypatch.setattr(service.store, "last_modified", broken)
    response = client.get(DATA, headers={"Accept": accept} if accept else {})
    assert response.status_code == 500 and sdmx_error_code(response) == 500
    assert response.headers["Content-Type"] == ("application/json" if accept == JSON_10 else "application/xml")
    for leak in (b"hunter2", b"secret", b"Traceback", b"RuntimeError", b"line 42", b"<html"):
        assert leak not in response.data
    assert "Access-Control-Allow-Origin" in response.headers


@pytest.mark.parametrize("path", [DATA, "/dataflow"])
def test_head_answers_the_headers_of_get_without_a_body(service, path):
    got, head = service.get(path), requests.head(service.url(path), timeout=30)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Type"] == got.headers["Content-Type"] and head.headers["ETag"] == got.headers["ETag"]
