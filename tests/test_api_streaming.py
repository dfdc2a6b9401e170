"""Data answers stream from the store cursor to the socket; a failure after the first byte cuts
the connection (the body never carries an error message) and the service goes on serving."""

from __future__ import annotations

import gzip
import zlib

import orjson
import pytest
import requests
from lxml import etree
from urllib3.exceptions import ProtocolError

from service.store import StoreError
from service.store.read import SeriesCursor

from api_fixtures import BIG_OBSERVATIONS, TOTALS, TOTALS_KEY, observations, records

FORMATS = {
    "csv20": "application/vnd.sdmx.data+csv;version=2.0.0",
    "csv10": "application/vnd.sdmx.data+csv;version=1.0.0",
    "generic": "application/vnd.sdmx.genericdata+xml;version=2.1",
    "ss": "application/vnd.sdmx.structurespecificdata+xml;version=2.1",
    "ml30": "application/vnd.sdmx.data+xml;version=3.0.0",
    "json10": "application/vnd.sdmx.data+json;version=1.0.0",
    "json20": "application/vnd.sdmx.data+json;version=2.0.0",
}
#: What an error written into a body would look like, in any format.
ERROR_MARKS = (b"ErrorMessage", b"\"errors\"", b"Internal Server Error", b"Traceback", b"<html", b"went away",
               b"StoreError")
FAIL_AFTER_SERIES = 300  # of the 400 generated series (gzip holds back the first megabyte or so)


@pytest.fixture
def failing_cursor(monkeypatch):
    """The store cursor raises in the middle of an answer, as a database dropping the connection would."""
    original = SeriesCursor.items

    def items(self):
        for index, series in enumerate(original(self)):
            if index == FAIL_AFTER_SERIES:
                raise StoreError("the database went away")
            yield series
    monkeypatch.setattr(SeriesCursor, "items", items)


@pytest.mark.parametrize("name", FORMATS)
def test_twenty_thousand_observations_stream(service, name):
    response = service.client().get("/data/DF_MIGR_STOCK", headers={"Accept": FORMATS[name]}, buffered=False)
    assert response.status_code == 200 and response.is_streamed
    assert "Content-Length" not in response.headers
    chunks = [bytes(chunk) for chunk in response.response]
    response.close()
    assert len(chunks) > 3, "written in one piece"
    assert len(observations(b"".join(chunks), FORMATS[name])) == BIG_OBSERVATIONS


def test_a_large_answer_arrives_chunked_over_http(service):
    with requests.get(service.url("/data/DF_MIGR_STOCK"), headers={"Accept": FORMATS["csv20"]}, stream=True,
                      timeout=60) as response:
        assert response.headers["Transfer-Encoding"] == "chunked" and "Content-Length" not in response.headers
        body = b"".join(response.iter_content(65536))
    assert body.count(b"\n") == 1 + BIG_OBSERVATIONS


@pytest.mark.parametrize("name", ["csv20", "generic", "json20"])
@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_a_failure_after_the_first_byte_cuts_the_connection(service, failing_cursor, name, encoding):
    received = bytearray()
    with requests.get(service.url("/data/DF_MIGR_STOCK"), stream=True, timeout=60,
                      headers={"Accept": FORMATS[name], "Accept-Encoding": encoding}) as response:
        assert response.status_code == 200  # the answer had begun
        with pytest.raises((requests.exceptions.RequestException, ProtocolError)):  # "ended prematurely"
            for chunk in response.raw.stream(65536, decode_content=False):
                received += chunk
    body = bytes(received)
    if encoding == "gzip":
        body = zlib.decompressobj(31).decompress(body)  # what arrived, short of its end
    assert len(body) > 10_000, "the failure came before the first bytes"
    for mark in ERROR_MARKS:
        assert mark not in body, mark
    # the client sees a broken document, never one that looks complete
    if name == "generic":
        with pytest.raises(etree.XMLSyntaxError):
            etree.fromstring(body)
    elif name == "json20":
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(body)
    else:
        assert body.count(b"\n") < BIG_OBSERVATIONS
    # and the service goes on serving
    after = service.get(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}", Accept=FORMATS["csv20"])
    assert after.status_code == 200 and records(after.content, FORMATS["csv20"]) == TOTALS


def test_a_failure_after_the_first_byte_raises_in_the_generator(service, failing_cursor):
    response = service.client().get("/data/DF_MIGR_STOCK", headers={"Accept": FORMATS["csv10"]}, buffered=False)
    assert response.status_code == 200 and response.is_streamed
    received = bytearray()
    with pytest.raises(StoreError):
        for chunk in response.response:
            received += chunk
    response.close()
    assert received and all(mark not in received for mark in ERROR_MARKS)
    assert service.client().get(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}").status_code == 200


def test_a_failure_before_the_first_byte_is_an_sdmx_error(service, monkeypatch):
    def refused(self):
        raise StoreError("the database went away")
    monkeypatch.setattr(SeriesCursor, "__enter__", refused)
    response = service.get(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}")
    assert response.status_code >= 500 and response.headers["Content-Type"] == "application/xml"
    assert etree.fromstring(response.content)[0].get("code") in ("500", "503")
    assert b"went away" not in response.content
    monkeypatch.undo()
    assert service.get(f"/data/DF_MIGR_FLOW/{TOTALS_KEY}").status_code == 200


def test_gzip_streams_too(service):
    response = service.client().get("/data/DF_MIGR_STOCK", headers={"Accept": FORMATS["csv20"],
                                                                    "Accept-Encoding": "gzip"}, buffered=False)
    chunks = [bytes(chunk) for chunk in response.response]
    response.close()
    assert response.headers["Content-Encoding"] == "gzip" and len(chunks) > 3
    assert gzip.decompress(b"".join(chunks)).count(b"\n") == 1 + BIG_OBSERVATIONS
