"""Writing data over HTTP: POST/PUT/DELETE /v2/data, the upload of national tables, /submissions.

Each country's example table, converted, lands through the API with its
provider's token and reads back the same through every data format; every
refusal (401, 403, 404, 413, 415, 422) writes nothing and says why in an
SDMX error message. SQLite always; PostgreSQL with MIGSTAT_TEST_POSTGRES_URL.
"""

from __future__ import annotations

import csv
import io
import socket
import threading

import orjson
import pytest
from werkzeug.serving import make_server

from service.catalog import PROJECT_ROOT
from service.conversion import convert_examples
from service.formats.schemas import validate_sdmx_json, validate_sdmx_ml
from submit_support import (BACKENDS, CSV_20, GENERIC, JSON_20, PROVIDERS, SS_21, database, from_csv,
                            from_generic, from_json, from_structure_specific, make_api)

EXAMPLES = {"KG": "kg/external_migration_by_country_2017_2018.xlsx",
            "KZ": "kz/external_migration_by_country_2017.csv", "TJ": "tj/migration_by_region_2022.csv"}
FLOW_PATH = "/v2/data/dataflow/CAMIG/DF_MIGR_FLOW/1.0"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="session")
def examples(catalog) -> dict[str, bytes]:
    return dict(convert_examples(catalog, PROJECT_ROOT))


@pytest.fixture(scope="session")
def dims(catalog) -> tuple[str, ...]:
    return catalog.structure_of(catalog.dataflow("DF_MIGR_FLOW")).dimension_ids


@pytest.fixture(params=BACKENDS)
def api(request, tmp_path, catalog):
    for url in database(request.param, tmp_path):
        yield make_api(url, catalog)


def rows_of(body: bytes) -> tuple[list[str], list[dict]]:
    reader = csv.DictReader(io.StringIO(body.decode("utf-8-sig")))
    return list(reader.fieldnames), list(reader)


def message(header: list[str], rows: list[dict], action: str | None = None) -> bytes:
    """SDMX-CSV 2.0 of ``rows``; with ``action`` an ACTION column after STRUCTURE_ID."""
    columns = [c for c in header if c != "ACTION"]
    if action is not None:
        columns.insert(2, "ACTION")
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, **({"ACTION": action} if action is not None else {})})
    return out.getvalue().encode()


def flows_of(body: bytes) -> set[str]:
    return {row["STRUCTURE_ID"] for row in rows_of(body)[1]}


# -- a push per country, read back in every format ------------------------------------------------

@pytest.mark.parametrize("country", sorted(EXAMPLES))
def test_a_push_per_country_reads_back_through_every_format(api, examples, catalog, country):
    body = examples[EXAMPLES[country]]
    answer = api.post(body, PROVIDERS[country])
    assert answer.status_code == 200, answer.data
    result = answer.json
    assert result["provider"] == PROVIDERS[country] and result["deleted"] == 0
    assert result["added"] == len(rows_of(body)[1]) == sum(d["added"] for d in result["datasets"])
    assert answer.headers["Location"].endswith(f"/submissions/{result['submission']}")
    assert result["message"] == (f"accepted: {result['added']} observations added, 0 replaced, 0 deleted, "
                                 f"submission {result['submission']}")
    header, rows = rows_of(body)
    for flow_ref in flows_of(body):
        flow = catalog.dataflow(flow_ref)
        dims = catalog.structure_of(flow).dimension_ids
        expected = from_csv(message(header, [r for r in rows if r["STRUCTURE_ID"] == flow_ref]), dims)
        assert expected
        path = f"/data/{flow.ref.agency},{flow.ref.id},{flow.ref.version}"
        generic = api.get(path, GENERIC)
        assert validate_sdmx_ml(generic.data, "2.1") == []
        assert from_generic(generic.data, dims) == expected
        assert from_structure_specific(api.get(path, SS_21).data, dims) == expected
        assert from_csv(api.get(path, CSV_20).data, dims) == expected
        assert from_json(api.get(path, JSON_20).data, dims) == expected
    again = api.post(body, PROVIDERS[country])  # the same data again changes nothing
    assert again.json["unchanged"] == result["added"] and again.json["added"] == 0


def test_a_wrong_country_push_is_forbidden_and_writes_nothing(api, examples):
    before = (api.rows("observation"), api.rows("series"), api.rows("submission", "WHERE status = 'accepted'"))
    answer = api.post(examples[EXAMPLES["KZ"]], "KG_NSC")
    assert answer.status_code == 403
    error = answer.json["errors"][0]
    assert "KG_NSC" in error["detail"] and error["report"]["errors"] == len(rows_of(examples[EXAMPLES["KZ"]])[1])
    assert (api.rows("observation"), api.rows("series"),
            api.rows("submission", "WHERE status = 'accepted'")) == before
    assert api.rows("submission", "WHERE status = 'rejected'") == 1  # the refusal is in the audit trail


# -- refusals ------------------------------------------------------------------------------------

def test_without_a_valid_token_nothing_is_written(api, examples):
    body = examples[EXAMPLES["KG"]]
    assert api.post(body, None).status_code == 401
    for token in ("nonsense", api.tokens["KG_NSC"][:-2] + "xx", "migstat_000000000000_" + "a" * 43):
        answer = api.client.post("/v2/data/", data=body, headers={"Authorization": f"Bearer {token}",
                                                                  "Content-Type": CSV_20})
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="migstat", error="invalid_token"')
    api.store.revoke_token(api.tokens["KG_NSC"].split("_")[1])
    revoked = api.post(body, "KG_NSC")
    assert revoked.status_code == 401 and "revoked" in revoked.json["errors"][0]["detail"]
    assert api.rows("observation") == 0 and api.rows("submission") == 0


def test_an_invalid_message_gets_the_full_report_with_row_column_and_value(api, examples):
    header, rows = rows_of(examples[EXAMPLES["KG"]])
    rows[2]["COUNTERPART_AREA"] = "XX"
    rows[4]["OBS_VALUE"] = "abc"
    answer = api.post(message(header, rows), "KG_NSC", Accept="application/json")
    assert answer.status_code == 422
    assert validate_sdmx_json(answer.data, "data", "2.0.0") == []
    report = answer.json["errors"][0]["report"]
    assert report["errors"] == 2 and report["valid"] is False and report["truncated"] is False
    problems = {(p["code"], p["row"], p["column"], p["value"]) for p in report["problems"]}
    assert problems == {("unknown-code", 4, "COUNTERPART_AREA", "XX"), ("bad-value", 6, "OBS_VALUE", "abc")}
    assert api.rows("observation") == 0
    xml = api.post(message(header, rows), "KG_NSC", Accept="application/xml")
    assert xml.status_code == 422 and validate_sdmx_ml(xml.data, "2.1") == []
    texts = xml.data.decode()
    assert "row 4, column COUNTERPART_AREA" in texts and "2 error(s) and 0 warning(s) in total" in texts


def test_the_report_is_capped_but_counts_every_error(api, examples):
    header, rows = rows_of(examples[EXAMPLES["KG"]])
    for row in rows:
        row["OBS_VALUE"] = "bad"
    answer = api.post(message(header, rows * 25), "KG_NSC")
    report = answer.json["errors"][0]["report"]
    assert answer.status_code == 422 and report["errors"] >= len(rows) * 25
    assert len(report["problems"]) == 1000 and report["truncated"] is True


def test_unknown_dataflows_media_types_and_encodings(api, examples):
    header, rows = rows_of(examples[EXAMPLES["KG"]])
    for row in rows:
        row["STRUCTURE_ID"] = "CAMIG:DF_NOPE(1.0)"
    assert api.post(message(header, rows), "KG_NSC").status_code == 404
    assert api.post(examples[EXAMPLES["KG"]], "KG_NSC", path="/v2/data/dataflow/CAMIG/DF_NOPE/1.0").status_code == 404
    assert api.post(examples[EXAMPLES["KG"]], "KG_NSC", content_type="text/html").status_code == 415
    assert api.post(examples[EXAMPLES["KG"]], "KG_NSC", **{"Content-Encoding": "gzip"}).status_code == 415
    other_flow = api.post(examples["kz/internal_migration_extract.csv"], "KZ_BNS", path=FLOW_PATH)
    assert other_flow.status_code == 400 and "DF_MIGR_INTERNAL" in other_flow.json["errors"][0]["detail"]
    assert api.post(b"", "KG_NSC").status_code == 400
    assert api.post(examples[EXAMPLES["KG"]], "KG_NSC", path="/v2/data/?releasAt=2030").status_code == 400
    assert api.rows("observation") == 0


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_body_over_the_limit_is_refused_however_it_is_framed(backend, tmp_path, catalog, examples):
    for url in database(backend, tmp_path):
        api = make_api(url, catalog, max_request_bytes=2000)
        body = examples[EXAMPLES["KG"]]
        assert len(body) > 2000
        answer = api.post(body, "KG_NSC")
        assert answer.status_code == 413 and "2,000" in answer.json["errors"][0]["detail"]
        server = make_server("127.0.0.1", 0, api.app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:  # chunked: no Content-Length to trust
            with socket.create_connection(("127.0.0.1", server.server_port), timeout=10) as conn:
                head = (f"POST /v2/data/ HTTP/1.1\r\nHost: x\r\nContent-Type: {CSV_20}\r\nAuthorization: Bearer "
                        f"{api.tokens['KG_NSC']}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
                conn.sendall(head.encode())
                for start in range(0, len(body), 500):
                    piece = body[start:start + 500]
                    conn.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                conn.sendall(b"0\r\n\r\n")
                reply = b""
                while b"\r\n\r\n" not in reply and (chunk := conn.recv(65536)):
                    reply += chunk
            assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
        finally:
            server.shutdown()
        assert api.rows("observation") == 0


def test_a_concurrent_conflict_is_409_and_writes_nothing(api, examples, monkeypatch):
    from service.store import StoreConflict

    def conflicting(datasets, **_):
        for _dataset in datasets:  # read part of the message, then lose to another writer
            raise StoreConflict("could not serialize access due to concurrent update")

    monkeypatch.setattr(api.store, "write", conflicting)
    answer = api.post(examples[EXAMPLES["KG"]], "KG_NSC")
    assert answer.status_code == 409 and "try again" in answer.json["errors"][0]["detail"]
    assert api.rows("observation") == 0


# -- Merge, Replace and Delete --------------------------------------------------------------------

def test_replace_and_delete_semantics_through_the_api(api, examples, dims):
    header, rows = rows_of(examples[EXAMPLES["KG"]])
    first = rows[0]
    key = tuple(first[d] for d in dims)
    assert api.post(message(header, rows), "KG_NSC").status_code == 200
    # Merge keeps the attributes it is not given; Replace (PUT, or ACTION=R) drops them.
    merged = dict(first, OBS_VALUE="111", SOURCE_LABEL="")
    answer = api.post(message(header, [merged], action="M"), "KG_NSC")
    assert answer.json["replaced"] == 1 and answer.json["datasets"][0]["action"] == "Merge"

    def now() -> dict:
        return {r["TIME_PERIOD"]: r for r in csv.DictReader(io.StringIO(
            api.get(f"/data/DF_MIGR_FLOW/{'.'.join(key)}", CSV_20).data.decode()))}

    assert now()[first["TIME_PERIOD"]]["SOURCE_LABEL"] == first["SOURCE_LABEL"] != ""
    assert now()[first["TIME_PERIOD"]]["OBS_VALUE"] == "111"
    put = api.post(message(header, [dict(first, OBS_VALUE="222", SOURCE_LABEL="")]), "KG_NSC", path=FLOW_PATH,
                   method="PUT")
    assert put.status_code == 200 and put.json["datasets"][0]["action"] == "Replace"
    assert now()[first["TIME_PERIOD"]]["SOURCE_LABEL"] == "" and now()[first["TIME_PERIOD"]]["OBS_VALUE"] == "222"
    # Delete one observation with a message; DELETE with the same message in the body.
    gone = api.post(message(header, [first], action="D"), "KG_NSC")
    assert gone.json["deleted"] == 1 and first["TIME_PERIOD"] not in now()
    second = rows[1]
    deleted = api.post(message(header, [second]), "KG_NSC", path=FLOW_PATH, method="DELETE")
    assert deleted.status_code == 200 and deleted.json["datasets"][0]["action"] == "Delete"
    # DELETE of a key: every series of KG emigration (empty positions match any code).
    total = api.rows("observation")
    emigration = sum(1 for r in rows if r["INDICATOR"] == "EMI")
    by_key = api.client.delete(f"{FLOW_PATH}/A.KG.EMI" + "." * (len(dims) - 3), headers=api.auth("KG_NSC"))
    assert by_key.status_code == 200 and by_key.json["deleted"] == emigration - (second["INDICATOR"] == "EMI")
    assert api.rows("observation") == total - by_key.json["deleted"]
    # Another provider's wildcard deletes touch only its own series.
    assert api.client.delete(f"{FLOW_PATH}/*", headers=api.auth("KZ_BNS")).json["deleted"] == 0
    assert api.client.delete(f"{FLOW_PATH}/A.KZ" + "." * (len(dims) - 2),
                             headers=api.auth("KG_NSC")).status_code == 403


def test_datasets_apply_in_order_in_one_transaction(api, examples, dims):
    header, rows = rows_of(examples[EXAMPLES["KG"]])
    assert api.post(message(header, rows), "KG_NSC").status_code == 200
    series_key = tuple(rows[0][d] for d in dims)
    same_series = [r for r in rows if tuple(r[d] for d in dims) == series_key]
    # A Delete of the series key then a Merge of one observation: the series holds that one only.
    key_only = {c: rows[0][c] for c in ("STRUCTURE", "STRUCTURE_ID", *dims)}
    lines = message(header, [key_only], action="D")
    lines += message(header, [dict(rows[0], OBS_VALUE="5")], action="M").split(b"\n", 1)[1]
    answer = api.post(lines, "KG_NSC")
    assert [d["action"] for d in answer.json["datasets"]] == ["Delete", "Merge"]
    assert answer.json["deleted"] == len(same_series) and answer.json["added"] == 1
    back = from_csv(api.get(f"/data/DF_MIGR_FLOW/{'.'.join(series_key)}", CSV_20).data, dims)
    assert back == {(series_key, rows[0]["TIME_PERIOD"]): 5.0}
    # A message whose second dataset is invalid changes nothing at all.
    before = api.rows("observation")
    bad = message(header, [rows[1]], action="D") + message(header, [dict(rows[2], OBS_VALUE="x")],
                                                           action="M").split(b"\n", 1)[1]
    assert api.post(bad, "KG_NSC").status_code == 422
    assert api.rows("observation") == before


@pytest.mark.parametrize("media_type", [GENERIC, SS_21, "application/vnd.sdmx.data+xml;version=3.0.0", JSON_20,
                                        "application/vnd.sdmx.data+csv;version=1.0.0"])
def test_messages_in_every_format_are_accepted(api, examples, dims, media_type):
    """What the service writes in a format, it takes back in that format (SDMX-ML 2.1/3.0, JSON, CSV)."""
    body = examples[EXAMPLES["KG"]]
    assert api.post(body, "KG_NSC").status_code == 200
    written = api.get("/data/DF_MIGR_FLOW", media_type)
    assert written.status_code == 200
    assert api.client.delete(f"{FLOW_PATH}/*", headers=api.auth("KG_NSC")).json["deleted"] == len(rows_of(body)[1])
    answer = api.post(written.data, "KG_NSC", content_type=written.headers["Content-Type"])
    assert answer.status_code == 200, answer.data
    assert answer.json["added"] == len(rows_of(body)[1])
    assert from_csv(api.get("/data/DF_MIGR_FLOW", CSV_20).data, dims) == from_csv(body, dims)


# -- answers, uploads and the audit trail ---------------------------------------------------------

def test_the_answer_in_xml_when_asked(api, examples):
    answer = api.post(examples[EXAMPLES["KG"]], "KG_NSC", Accept="application/xml")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/xml"
    assert b"<SubmitDataResponse" in answer.data and b'action="Merge"' in answer.data
    assert api.post(examples[EXAMPLES["KG"]], "KG_NSC", Accept="text/plain").status_code == 406


def test_submissions_are_shown_to_their_provider_only(api, examples):
    body = examples[EXAMPLES["KG"]]
    sid = api.post(body, "KG_NSC").json["submission"]
    record = api.get(f"/submissions/{sid}", provider="KG_NSC")
    assert record.status_code == 200 and record.headers["Cache-Control"] == "private"
    data = record.json
    assert data["provider"] == "KG_NSC" and data["status"] == "accepted" and data["size"] == len(body)
    assert data["contentType"] == CSV_20 and data["checksum"].startswith("sha256:")
    assert data["summary"]["added"] == len(rows_of(body)[1]) and data["report"]["valid"] is True
    content = api.get(f"/submissions/{sid}/content", provider="KG_NSC")
    assert content.data == body and content.headers["Content-Type"] == CSV_20
    assert api.get(f"/submissions/{sid}", provider="KZ_BNS").status_code == 403
    assert api.get(f"/submissions/{sid}/content", provider="KZ_BNS").status_code == 403
    assert api.get(f"/submissions/{sid}").status_code == 401
    assert api.get("/submissions/999", provider="KG_NSC").status_code == 404
    refused = api.post(examples[EXAMPLES["KZ"]], "KG_NSC")
    rejected = api.get(f"/submissions/{refused.json['errors'][0]['report']['submission']}", provider="KG_NSC").json
    assert refused.status_code == 403 and rejected["status"] == "rejected"
    assert rejected["report"]["errors"] == refused.json["errors"][0]["report"]["errors"]


def test_a_national_table_uploaded_is_converted_on_the_server(api, examples, tmp_path):
    table = (PROJECT_ROOT / "mappings/kz/examples/external_migration_by_country_2017.csv").read_bytes()
    answer = api.post(table, "KZ_BNS", content_type="text/csv", path="/v2/data/upload/kz/external_migration_by_country")
    assert answer.status_code == 200, answer.data
    assert answer.json["added"] == len(rows_of(examples[EXAMPLES["KZ"]])[1])
    kept = api.get(f"/submissions/{answer.json['submission']}/content", provider="KZ_BNS")
    assert kept.data == table and kept.headers["Content-Type"] == "text/csv"
    workbook = (PROJECT_ROOT / "mappings/kg/examples/external_migration_by_country_2017_2018.xlsx").read_bytes()
    xlsx = api.post(workbook, "KG_NSC", content_type=XLSX, path="/v2/data/upload/kg/external_migration_by_country")
    assert xlsx.status_code == 200 and xlsx.json["added"] == len(rows_of(examples[EXAMPLES["KG"]])[1])
    broken = table.replace(b";470;", b";abc;", 1)
    assert broken != table
    refused = api.post(broken, "KZ_BNS", content_type="text/csv", path="/v2/data/upload/kz/external_migration_by_country")
    assert refused.status_code == 422
    problem = refused.json["errors"][0]["report"]["problems"][0]
    assert problem["value"] == "abc" and problem["row"] == 9 and problem["file"] == "upload.csv"
    assert api.post(table, "KZ_BNS", content_type="text/csv", path="/v2/data/upload/kz/nope").status_code == 404
    assert api.post(table, "KZ_BNS", content_type="text/csv",  # no way out of mappings/{country}/
                    path="/v2/data/upload/kz/..%2Fkg%2Fexternal_migration_by_country").status_code in (404, 405)
    assert api.post(table, "KZ_BNS", content_type="text/csv", path="/v2/data/upload/kz/aliases").status_code == 404
    assert api.post(table, "KZ_BNS", content_type="application/pdf",
                    path="/v2/data/upload/kz/external_migration_by_country").status_code == 415
    assert api.post(table, "KG_NSC", content_type="text/csv",
                    path="/v2/data/upload/kz/external_migration_by_country").status_code == 403


def test_error_bodies_share_one_shape(api, examples):
    """Every refusal of a write is an SDMX-JSON error message valid against the schema."""
    cases = [api.post(examples[EXAMPLES["KG"]], None), api.post(examples[EXAMPLES["KZ"]], "KG_NSC"),
             api.post(b"not,a\nmessage", "KG_NSC"), api.post(examples[EXAMPLES["KG"]], "KG_NSC", content_type="x/y")]
    assert [c.status_code for c in cases] == [401, 403, 400, 415]
    for case in cases:
        assert case.headers["Content-Type"] == "application/json"
        assert validate_sdmx_json(case.data, "data", "2.0.0") == []
        assert orjson.loads(case.data)["errors"][0]["code"] in (110, 140, 150)
