"""Hostile input through the one path data takes in (``submit``): refused cleanly, nothing written.

Each body below is an attack or an accident a national system could send,
given to ``submit`` and posted to ``POST /v2/data/`` with a provider's token:
XML entity tricks and DOCTYPEs, nesting and truncation, wrong and lying
encodings, enormous fields, characters no SDMX-ML message can carry. Each
one gets a 4xx ServiceError whose message names the problem; no series,
observation or history row is written; the only new submission row is the
rejected one, holding the report; and the next valid submission is
accepted. Over HTTP the error body is the service's SDMX-JSON error and an
enormous body is refused with 413 while it streams in, however it is framed.
Text that looks like a spreadsheet formula is data: it is stored as sent and
written into SDMX-CSV so that no spreadsheet runs it.

On SQLite, and on PostgreSQL when MIGSTAT_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import socket
import threading
import tracemalloc
import uuid
from itertools import chain, count

import orjson
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from service.app import create_app
from service.auth import create_token
from service.catalog import PROJECT_ROOT
from service.errors import ServiceError
from service.formats.context import WriteContext
from service.formats.reading import catalog_lookup, read_data
from service.formats.sdmx_csv import (FORMULA_START, formula_restored, formula_safe, write_sdmx_csv,
                                      write_sdmx_csv_1)
from service.formats.sdmx_json_data import write_sdmx_json_data_20
from service.model.data import Observation, Series
from service.model.query import DataQuery
from service.settings import Settings
from service.store import open_store
from service.store.tables import metadata
from service.submissions import submit

POSTGRES_URL = os.environ.get("MIGSTAT_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not POSTGRES_URL, reason="set MIGSTAT_TEST_POSTGRES_URL to test PostgreSQL"))]

CSV2 = "application/vnd.sdmx.data+csv;version=2.0.0"
XML = "application/vnd.sdmx.structurespecificdata+xml;version=2.1"
JSON2 = "application/vnd.sdmx.data+json;version=2.0.0"
FLOW = "CAMIG:DF_MIGR_FLOW(1.0)"
DIMENSIONS = ("FREQ", "REF_AREA", "INDICATOR", "MIGR_DEF", "DATA_SOURCE", "COUNTERPART_AREA", "CITIZENSHIP",
              "BIRTH_PLACE", "SEX", "AGE", "EDUCATION_LEV", "OCCUPATION", "ACTIVITY", "MIGR_REASON", "ETHNICITY",
              "URBANISATION")
KEY = ("A", "KZ", "IMM", "NAT_PERM", "ADM_POPREG", "RU", "_T", "_T", "_T", "_T", "_T", "_Z", "_Z", "_T", "_T", "_T")
MB = 1 << 20
#: Tables that hold data; a refused submission leaves them as they were.
DATA_TABLES = ("series", "series_code", "observation", "observation_history", "series_history")


# -- bodies --------------------------------------------------------------------------------

CSV_HEADER = ("STRUCTURE,STRUCTURE_ID,ACTION," + ",".join(DIMENSIONS)
              + ",TIME_PERIOD,OBS_VALUE,OBS_STATUS,UNIT_MEASURE,UNIT_MULT,COMMENT_OBS\n")


def csv_row(year: int | str, value: str = "5", comment: str = "", key: tuple[str, ...] = KEY) -> str:
    return f"dataflow,{FLOW},I,{','.join(key)},{year},{value},A,PS,0,{comment}\n"


def csv_body(*comments: str, first_year: int = 2000) -> bytes:
    return (CSV_HEADER + "".join(csv_row(first_year + i, comment=c) for i, c in enumerate(comments or ("",))
                                 )).encode()


XML_HEAD = """<?xml version="1.0" encoding="{encoding}"?>
{doctype}<message:StructureSpecificData xmlns:message="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
 xmlns:ss="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/structurespecific"
 xmlns:common="http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common">
<message:Header><message:ID>{message_id}</message:ID><message:Test>false</message:Test>
<message:Prepared>2024-01-01T00:00:00</message:Prepared><message:Sender id="KZ_BNS"/>
<message:Structure structureID="S1" dimensionAtObservation="TIME_PERIOD">
<common:StructureUsage><Ref agencyID="CAMIG" id="DF_MIGR_FLOW" version="1.0"/></common:StructureUsage>
</message:Structure></message:Header>
"""
SERIES_ATTRS = " ".join(f'{d}="{c}"' for d, c in zip(DIMENSIONS, KEY)) + ' UNIT_MEASURE="PS" UNIT_MULT="0"'


def xml_body(comment: str = "ok", *, encoding: str = "UTF-8", doctype: str = "", message_id: str = "M1",
             inner: str | None = None) -> bytes:
    dataset = inner if inner is not None else (
        f'<message:DataSet ss:structureRef="S1"><Series {SERIES_ATTRS}>'
        f'<Obs TIME_PERIOD="2001" OBS_VALUE="7" OBS_STATUS="A" COMMENT_OBS="{comment}"/></Series></message:DataSet>')
    return (XML_HEAD.format(encoding=encoding, doctype=doctype, message_id=message_id) + dataset
            + "</message:StructureSpecificData>\n").encode()


BILLION_LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'
                            for n in range(1, 10)) + "]>\n")
EXTERNAL_ENTITY = '<!DOCTYPE m [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
PARAMETER_ENTITY = ('<!DOCTYPE m [<!ENTITY % remote SYSTEM "file:///etc/passwd"> %remote;'
                    '<!ENTITY % wrap "<!ENTITY leak \'%remote;\'>"> %wrap;]>\n')


def json_body(catalog, comment: str = "ok") -> bytes:
    flow = catalog.dataflow("DF_MIGR_FLOW")
    series = [Series(KEY, [Observation("2002", 3.0, {"OBS_STATUS": "A", "COMMENT_OBS": comment})],
                     {"UNIT_MEASURE": "PS", "UNIT_MULT": "0"})]
    return b"".join(write_sdmx_json_data_20(series, WriteContext(catalog.structure_of(flow), flow)))


def cp1251(text_: str) -> bytes:
    return text_.encode("cp1251")


# Each case: a body (or a function of the catalog making one), its content type, the status and
# a pattern the error message must match.
CASES = {
    # XML entity tricks: any DOCTYPE is refused before the parser could expand or fetch anything.
    "xml-billion-laughs": (xml_body("&lol9;", doctype=BILLION_LAUGHS), XML, 400, r"DTD/entities not allowed"),
    "xml-external-entity": (xml_body("&secret;", doctype=EXTERNAL_ENTITY), XML, 400, r"DTD/entities not allowed"),
    "xml-parameter-entities": (xml_body("&leak;", doctype=PARAMETER_ENTITY), XML, 400, r"DTD/entities not allowed"),
    "xml-plain-doctype": (xml_body(doctype="<!DOCTYPE message:StructureSpecificData>\n"), XML, 400,
                          r"DTD/entities not allowed"),
    "xml-doctype-after-70kb-comment": (
        xml_body("&secret;", doctype="<!--" + "x" * 70_000 + "-->\n" + EXTERNAL_ENTITY), XML, 400,
        r"DTD/entities not allowed"),
    "xml-doctype-sniffed-as-octet-stream": (xml_body("&lol9;", doctype=BILLION_LAUGHS), "application/octet-stream",
                                            400, r"DTD/entities not allowed"),
    # Shape.
    "xml-nested-100000-levels": (xml_body(inner="<a>" * 100_000 + "</a>" * 100_000), XML, 400,
                                 r"malformed XML: .*[Dd]epth"),
    "xml-truncated": (xml_body()[:-80], XML, 400, r"malformed XML: .*(Premature end|not closed|expected)"),
    "csv-truncated-mid-row": ((CSV_HEADER + csv_row(2000) + csv_row(2001))[:-25].encode(), CSV2, 400,
                              r"row 3: \d+ fields where the header has 25"),
    "csv-truncated-in-quoted-field": ((CSV_HEADER + csv_row(2000, comment='"an unfinished, quoted').rstrip("\n"))
                                      .encode(), CSV2, 400, r"malformed CSV|unexpected end"),
    # Wrong or lying encodings.
    "csv-windows-1251": (CSV_HEADER.encode() + cp1251(csv_row(2000, comment="Казахстан")), CSV2, 400,
                         r"row 2: not UTF-8 at byte \d+"),
    "csv-charset-parameter-windows-1251": (CSV_HEADER.encode() + cp1251(csv_row(2000, comment="Кыргызстан")),
                                           "text/csv; charset=windows-1251", 400, r"not UTF-8"),
    "csv-utf8-bom-on-latin-1": (b"\xef\xbb\xbf" + (CSV_HEADER + csv_row(2000, comment="Ürümqi")).encode("latin-1"),
                                CSV2, 400, r"not UTF-8"),
    "csv-utf-16": ((CSV_HEADER + csv_row(2000)).encode("utf-16"), CSV2, 400, r"not UTF-8|first column"),
    "xml-declared-utf8-windows-1251-bytes": (xml_body("COMMENT").replace(b"COMMENT", cp1251("Таджикистан")), XML,
                                             400, r"malformed XML: .*(UTF-8|encoding)"),
    "xml-declared-utf16-utf8-bytes": (xml_body(encoding="UTF-16"), XML, 400, r"encoding UTF-16 declared"),
    "xml-utf8-bom-on-latin-1": (b"\xef\xbb\xbf" + xml_body("COMMENT").replace(b"COMMENT", "Ürümqi".encode("latin-1")),
                                XML, 400, r"malformed XML: .*(UTF-8|encoding)"),
    "xml-utf-16": (xml_body(encoding="UTF-16").decode().encode("utf-16"), XML, 400, r"UTF-8 only"),
    "json-truncated": (lambda catalog: json_body(catalog)[:-50], JSON2, 400, r"malformed JSON"),
    "json-nested-100000-levels": (b"[" * 100_000 + b"]" * 100_000, JSON2, 400, r"malformed JSON: .*depth"),
    "json-lone-surrogate": (lambda catalog: json_body(catalog, "SURROGATE").replace(b"SURROGATE", b"\\ud800"),
                            JSON2, 400, r"malformed JSON: .*surrogate"),
    # Enormous single fields.
    "csv-10mb-cell": (csv_body("x" * (10 * MB)), CSV2, 400, r"row 2: .*field larger than field limit"),
    "xml-10mb-attribute": (xml_body("x" * (10 * MB)), XML, 400, r"malformed XML: .*limit"),
    "xml-2mb-attribute": (xml_body("x" * (2 * MB)), XML, 422, r"error"),
    "json-10mb-string": (lambda catalog: json_body(catalog, "x" * (10 * MB)), JSON2, 422, r"error"),
    # Characters that no SDMX-ML message can carry (XML 1.0 forbids them).
    "csv-nul-in-text": (csv_body("a\x00b"), CSV2, 422, r"error"),
    "csv-control-characters-in-text": (csv_body("bell\x07 escape\x1b"), CSV2, 422, r"error"),
    "csv-noncharacter-in-text": (csv_body("x\ufffe"), CSV2, 422, r"error"),
    "json-nul-in-text": (lambda catalog: json_body(catalog, "NUL").replace(b"NUL", b"a\\u0000b"), JSON2, 422,
                         r"error"),
}
#: The report's problem for the cases refused by validation (422).
REPORTED = {
    "xml-2mb-attribute": r"COMMENT_OBS .*longer than",
    "json-10mb-string": r"COMMENT_OBS .*longer than",
    "csv-nul-in-text": r"COMMENT_OBS .*U\+0000",
    "csv-control-characters-in-text": r"COMMENT_OBS .*U\+0007",
    "csv-noncharacter-in-text": r"COMMENT_OBS .*U\+FFFE",
    "json-nul-in-text": r"COMMENT_OBS .*U\+0000",
}


# -- fixtures -----------------------------------------------------------------------------

@pytest.fixture(scope="module", params=BACKENDS)
def store(request, tmp_path_factory):
    """One store per backend for the module; each test compares the tables before and after itself."""
    if request.param == "sqlite":
        with open_store(f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'store.db'}") as opened:
            yield opened
        return
    schema = f"test_hostile_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        with open_store(url.render_as_string(hide_password=False)) as opened:
            yield opened
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def table_rows(store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(metadata.tables[name])).scalar()
                for name in DATA_TABLES}


def submissions_after(store, last: int) -> list:
    table = metadata.tables["submission"]
    with store.engine.connect() as conn:
        ids = conn.execute(select(table.c.submission_id).where(table.c.submission_id > last)
                           .order_by(table.c.submission_id)).scalars().all()
    return [store.submission(i) for i in ids]


def last_submission(store) -> int:
    table = metadata.tables["submission"]
    with store.engine.connect() as conn:
        return conn.execute(select(func.coalesce(func.max(table.c.submission_id), 0))).scalar()


_years = count(1800)


def still_serving(catalog, store) -> None:
    """The next valid submission is accepted and its observation is there."""
    before = store.count(DataQuery(FLOW))
    result = submit(catalog, store, csv_body("fine", first_year=next(_years)), CSV2, provider="KZ_BNS")
    assert result.summary.added == 1
    assert store.count(DataQuery(FLOW)) == before + 1


# -- refused, nothing written ------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_hostile_body_is_refused_and_nothing_written(case, catalog, store):
    body, content_type, status, message = CASES[case]
    if callable(body):
        body = body(catalog)
    rows, last = table_rows(store), last_submission(store)

    with pytest.raises(ServiceError) as refused:
        submit(catalog, store, body, content_type, provider="KZ_BNS")
    error = refused.value
    assert error.status == status, (type(error).__name__, error.detail[:300])
    assert re.search(message, error.detail), error.detail[:300]
    assert len(error.detail) < 2_000  # names the problem; does not echo the body

    assert table_rows(store) == rows
    (rejected,) = submissions_after(store, last)
    assert rejected.status == "rejected" and rejected.provider == "KZ_BNS"
    assert rejected.report["errors"] >= 1 and rejected.report["problems"]
    assert rejected.body == body  # the audit trail keeps what was sent
    if case in REPORTED:
        assert any(re.search(REPORTED[case], p["message"]) for p in rejected.report["problems"]), \
            rejected.report["problems"][:3]
        assert all(len(p["message"]) < 1_000 and len(str(p.get("value") or "")) < 1_000
                   for p in rejected.report["problems"]), "a problem echoes an enormous value"
    assert b"root:" not in orjson.dumps(rejected.report)  # no file content leaked into the report
    still_serving(catalog, store)


def test_entities_are_never_expanded_into_stored_text(catalog, store):
    """Even a body that would parse after expansion never gets entity text into the store."""
    for doctype, reference in ((EXTERNAL_ENTITY, "&secret;"), (BILLION_LAUGHS, "&lol9;")):
        with pytest.raises(ServiceError):
            submit(catalog, store, xml_body(reference, doctype=doctype, message_id=reference), XML,
                   provider="KZ_BNS")
    with store.query(DataQuery(FLOW)) as found:
        texts = [o.attributes.get("COMMENT_OBS", "") for s in found for o in s.observations]
    assert not any("root:" in t or "lol" in t for t in texts)


# -- formulas are data -------------------------------------------------------------------

#: Text values as sent in SDMX-CSV, and as stored. A ``'`` before a formula character marks text, as
#: in a spreadsheet, and is not part of the value; ``''=`` sends a value beginning with ``'=``.
FORMULAS = {'=HYPERLINK("http://evil.example/","click")': '=HYPERLINK("http://evil.example/","click")',
            "+cmd|' /C calc'!A0": "+cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0": "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0": "@SUM(1+1)*cmd|' /C calc'!A0",
            "\t=1+1": "\t=1+1",
            "'=quoted in a spreadsheet": "=quoted in a spreadsheet",
            "''=a value that begins with a quote": "'=a value that begins with a quote",
            "'quoted, not a formula": "'quoted, not a formula"}


def test_formula_text_is_stored_as_sent_and_served_inert(catalog, store):
    lines = [CSV_HEADER] + [csv_row(1900 + i, comment='"' + sent.replace('"', '""') + '"',
                                    key=KEY[:5] + ("DE",) + KEY[6:]) for i, sent in enumerate(FORMULAS)]
    lines.append(csv_row(1950, value="-1234", key=KEY[:2] + ("NETM",) + KEY[3:5] + ("DE",) + KEY[6:]))
    result = submit(catalog, store, "".join(lines).encode(), CSV2, provider="KZ_BNS")
    assert result.summary.added == len(FORMULAS) + 1

    query = DataQuery(FLOW, key=(None,) * 5 + (("DE",),) + (None,) * 10)
    with store.query(query) as found:
        stored = list(found)
    texts = [o.attributes.get("COMMENT_OBS") for s in stored for o in s.observations if s.key[2] == "IMM"]
    assert texts == list(FORMULAS.values())  # data: kept as text

    flow = catalog.dataflow("DF_MIGR_FLOW")
    ctx = WriteContext(catalog.structure_of(flow), flow)
    for writer in (write_sdmx_csv, write_sdmx_csv_1):
        written = b"".join(writer(stored, ctx))
        rows = list(csv.DictReader(io.StringIO(written.decode())))
        cells = [row["COMMENT_OBS"] for row in rows if row["COMMENT_OBS"]]
        assert len(cells) == len(FORMULAS)
        assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for cell in cells), cells
        assert cells[0] == "'" + texts[0] and cells[-1] == texts[-1]
        assert {row["OBS_VALUE"] for row in rows if row["INDICATOR"] == "NETM"} == {"-1234"}  # numbers untouched
        # An SDMX client reading the file back gets the text as stored.
        (dataset,) = read_data(written, CSV2 if writer is write_sdmx_csv else "application/vnd.sdmx.data+csv;"
                               "version=1.0.0", catalog_lookup(catalog))
        back = [o.attributes.get("COMMENT_OBS") for s in dataset.series for o in s.observations
                if s.key[2] == "IMM"]
        assert back == texts


@pytest.mark.parametrize("value", ["=1+1", "+1", "-", "-5", "@x", "\tx", "\rx", "'", "''", "'=x", "''=x", "'x", "x=1",
                                   "", "plain", "'''-x"])
def test_formula_safe_text_reads_back_exactly(value):
    written = formula_safe(value)
    assert written[:1] not in FORMULA_START
    assert formula_restored(written) == value


# -- the same over HTTP ------------------------------------------------------------------

@pytest.fixture(scope="module")
def http(store, catalog):
    """The service on the module's store (the default body limit), with a token of KZ_BNS."""
    app = create_app(Settings(database_url="sqlite:///unused.db", root=PROJECT_ROOT), store=store, catalog=catalog)
    token = create_token(store, "KZ_BNS", "hostile input tests").token
    return app, {"Authorization": f"Bearer {token}"}


def post(http, body: bytes, content_type: str, **headers: str):
    app, auth = http
    return app.test_client().post("/v2/data/", data=body, headers={"Content-Type": content_type,
                                                                  "Accept": "application/json", **auth, **headers})


def still_serving_http(http) -> None:
    answer = post(http, csv_body("fine", first_year=next(_years)), CSV2)
    assert answer.status_code == 200, answer.get_data()[:500]
    assert http[0].test_client().get("/health").status_code == 200


@pytest.mark.parametrize("case", CASES)
def test_hostile_body_over_http_is_refused_and_nothing_written(case, catalog, store, http):
    body, content_type, status, message = CASES[case]
    if callable(body):
        body = body(catalog)
    rows, last = table_rows(store), last_submission(store)

    answer = post(http, body, content_type)
    assert answer.status_code == status, answer.get_data()[:500]
    (error,) = answer.json["errors"][:1]
    assert re.search(message, error["detail"]), error["detail"][:300]
    assert len(answer.get_data()) < 200_000  # names the problem; does not echo the body

    assert table_rows(store) == rows
    (rejected,) = submissions_after(store, last)
    assert rejected.status == "rejected" and rejected.body == body
    still_serving_http(http)


def test_compressed_bodies_are_refused_unread(store, http):
    """A gzip bomb (1 GiB of zeros in 1 MiB) is never inflated: Content-Encoding is refused."""
    bomb = gzip.compress(b"\0" * (64 * MB), compresslevel=9)
    rows, last = table_rows(store), last_submission(store)
    answer = post(http, bomb, CSV2, **{"Content-Encoding": "gzip"})
    assert answer.status_code == 415 and "uncompressed" in answer.json["errors"][0]["detail"]
    assert table_rows(store) == rows and submissions_after(store, last) == []
    still_serving_http(http)


def _stream(port: int, head: str, pieces) -> bytes:
    """Send a request head and body pieces until the server stops reading; its reply (head and body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(head.encode())
        try:
            for piece in pieces:
                conn.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: its answer is waiting
        reply = b""
        try:
            while (chunk := conn.recv(65536)):
                reply += chunk
                top, _, body = reply.partition(b"\r\n\r\n")
                length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", top)
                if length and len(body) >= int(length.group(1)):
                    break
        except ConnectionResetError:
            pass
    return reply


def test_enormous_bodies_are_refused_while_streaming(store, catalog):
    """Over the limit: 413 from the declared length, and from the bytes counted when nothing is declared."""
    limit = 4 * MB
    app = create_app(Settings(database_url="sqlite:///unused.db", root=PROJECT_ROOT, max_request_bytes=limit),
                     store=store, catalog=catalog)
    token = create_token(store, "KZ_BNS", "enormous bodies").token
    rows, last = table_rows(store), last_submission(store)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    line = csv_row(2000).encode()
    chunk = line * (64 * 1024 // len(line))
    head = (f"POST /v2/data/ HTTP/1.1\r\nHost: migstat\r\nContent-Type: {CSV2}\r\nAccept: application/json\r\n"
            f"Authorization: Bearer {token}\r\nConnection: close\r\n")
    try:
        # Declared: 10 GiB announced, refused before a byte of body is read.
        declared = _stream(server.server_port, head + f"Content-Length: {10 << 30}\r\n\r\n",
                           [CSV_HEADER.encode()])
        assert declared.startswith(b"HTTP/1.1 413"), declared[:300]
        assert b"4,194,304 bytes" in declared
        # Chunked, nothing declared: 256 MiB sent, refused once past the limit, never held in memory.
        pieces = (f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(256 * MB // len(chunk)))
        tracemalloc.start()
        try:
            chunked = _stream(server.server_port, head + "Transfer-Encoding: chunked\r\n\r\n",
                              chain([f"{len(CSV_HEADER):x}\r\n{CSV_HEADER}\r\n".encode()], pieces,
                                    [b"0\r\n\r\n"]))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert chunked.startswith(b"HTTP/1.1 413"), chunked[:300]
        assert b"4,194,304 bytes" in chunked
        assert peak < 64 * MB, f"{peak:,} bytes held while 256 MiB were sent"
    finally:
        server.shutdown()
        server.server_close()
    assert table_rows(store) == rows and submissions_after(store, last) == []
    answer = app.test_client().post("/v2/data/", data=csv_body("fine", first_year=next(_years)),
                                     headers={"Content-Type": CSV2, "Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
