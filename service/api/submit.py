"""Data submissions over HTTP, after the SDMX-REST data-maintenance draft, and their audit trail.

Rule: translate HTTP into one call of ``submissions.submit``, nothing else.
Authentication (``auth``) comes first, so no body is read for a stranger;
the body is then read with a cap whatever Content-Length says.

- ``POST /v2/data/``: any data message (SDMX-CSV 1.0/2.0 with ACTION,
  SDMX-ML 2.1/3.0 generic and structure-specific, SDMX-JSON 2.0); each
  dataset's action applies, in order, all in one transaction (I, A and
  Information act as Merge).
- ``POST /v2/data/dataflow/{agencyID}/{resourceID}/{version}``: the same
  for one dataflow; data of another flow is refused (400).
- ``PUT`` on that resource (this service's extension; the draft writes data
  with POST only): the message's Merge datasets are applied as Replace.
- ``DELETE`` on it with a message: every dataset is applied as Delete;
  ``DELETE .../{version}/{key}`` without a body deletes the series the key
  names (``A.KG..``: empty or ``*`` parts match any code, ``+`` joins codes,
  ``*`` alone is every series), and only the provider's own.
- ``POST /v2/data/upload/{country}/{mapping}``: a national table (CSV or
  XLSX) converted with ``mappings/{country}/{mapping}.yaml`` on the server,
  then submitted; the audit trail keeps the table as uploaded.
- ``GET /submissions/{id}`` and ``/submissions/{id}/content``: the record
  and the original bytes, to the provider that sent them.

Embargo: ``releaseAt=<ISO 8601>`` in the query, or the header
``X-Release-At``, hides the submission's observations from everyone but
its provider until then. Success is 200 with ``Location: /submissions/{id}``
and the answer of ``formats.submit_response`` (JSON, or XML when Accept
prefers it); failures are the SDMX error messages of every endpoint, a 422
carrying the whole validation report.
"""

from __future__ import annotations

import logging
import re
import tempfile
from datetime import datetime
from itertools import product
from pathlib import Path

import orjson
from flask import Blueprint, Response, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..auth import provider_from_request
from ..conversion import convert_to_csv
from ..errors import (Forbidden, NotAcceptable, NotFound, NotImplementedYet, RequestTooLarge, SyntaxProblem,
                      UnsupportedMediaType)
from ..formats.negotiate import MediaFormat, parse_accept
from ..formats.reading import CSV_TYPES, ReadError, choose_reader, media_type
from ..formats.submit_response import (JSON_TYPE, XML_TYPE, submission_answer, write_answer_json,
                                       write_answer_xml)
from ..model.data import DELETE, MERGE, REPLACE
from ..store import SubmissionInfo
from ..submissions import Rejected, SubmissionResult, submit
from . import catalog, settings, store
from .http import respond
from .params import CODE_RE, check_known, parse_instant

log = logging.getLogger("migstat.submit")
blueprint = Blueprint("submit", __name__)

ANSWER_JSON = MediaFormat("submission-json", JSON_TYPE, None, "submission")
ANSWER_XML = MediaFormat("submission-xml", XML_TYPE, None, "submission")
CSV_20 = "application/vnd.sdmx.data+csv;version=2.0.0"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TABLE_TYPES = {"text/csv": ".csv", "application/csv": ".csv", "application/vnd.ms-excel": ".csv", XLSX: ".xlsx"}
NAME_RE = re.compile(r"^[a-z0-9_]{1,64}$")
WRITE_PARAMS = {"releaseAt"}
READ_CHUNK = 1 << 16
#: Series a keyed DELETE may name once its ``+`` lists are multiplied out.
MAX_KEYS = 10_000

PUT_ACTIONS = {MERGE: REPLACE}
DELETE_ACTIONS = {MERGE: DELETE, REPLACE: DELETE}


# -- writes ------------------------------------------------------------------------------------

@blueprint.route("/v2/data", methods=["POST"])
def post_data():
    return _receive(None, None)


@blueprint.route("/v2/data/<context>/<agency>/<resource>/<version>", methods=["POST", "PUT", "DELETE"])
@blueprint.route("/v2/data/<context>/<agency>/<resource>/<version>/<key>", methods=["DELETE"])
def flow_data(context: str, agency: str, resource: str, version: str, key: str | None = None):
    answer = choose_answer()
    flow = _flow(context, agency, resource, version)
    if request.method == "DELETE" and key is not None:
        return _delete_keys(flow, key, answer)
    actions = {"PUT": PUT_ACTIONS, "DELETE": DELETE_ACTIONS}.get(request.method)
    return _receive(str(flow.ref), actions, answer)


@blueprint.route("/v2/data/upload/<country>/<mapping>", methods=["POST"])
def upload(country: str, mapping: str):
    answer = choose_answer()
    provider = provider_from_request()
    release_at = release_time()
    mapping_file = settings().root / "mappings" / country / f"{mapping}.yaml"
    if not (NAME_RE.match(country) and NAME_RE.match(mapping)) or mapping == "aliases" \
            or not mapping_file.is_file():
        raise NotFound(f"there is no mapping mappings/{country}/{mapping}.yaml; the mappings folder lists them")
    content_type = request.headers.get("Content-Type", "")
    suffix = TABLE_TYPES.get(media_type(content_type)[0])
    if suffix is None:
        raise UnsupportedMediaType(f"a national table is sent as text/csv or {XLSX}, not {content_type!r}")
    _check_encoding()
    body = read_body()
    with tempfile.TemporaryDirectory(prefix="migstat-upload-") as folder:
        table = Path(folder) / f"upload{suffix}"
        table.write_bytes(body)
        converted, report = convert_to_csv(catalog(), mapping_file, table)
    if converted is None:
        problems = report.to_dict()
        for problem in problems["problems"]:
            if problem.get("file") == str(table):  # the temporary folder is nobody's business
                problem["file"] = table.name
        problems["submission"] = store().record_rejected(provider=provider, report=problems, submission=SubmissionInfo(
            content_type=content_type, body=body, release_at=release_at))
        raise Rejected(f"the table does not convert with mappings/{country}/{mapping}.yaml: "
                       f"{report.error_count} error(s); nothing was written", report=problems)
    result = submit(catalog(), store(), converted, CSV_20, provider=provider, release_at=release_at,
                    as_received=(body, content_type))
    return accepted(result, answer, release_at)


def _receive(dataflow: str | None, actions, answer: MediaFormat | None = None):
    answer = answer or choose_answer()
    provider = provider_from_request()
    release_at = release_time()
    content_type = request.headers.get("Content-Type")
    _check_encoding()
    try:
        choose_reader(content_type, b"")
    except ReadError as exc:
        raise UnsupportedMediaType(str(exc)) from None
    body = read_body()
    if not body.strip():
        raise SyntaxProblem("the request has no body: send a data message (SDMX-CSV, SDMX-ML or SDMX-JSON)")
    result = submit(catalog(), store(), body, content_type, provider=provider, dataflow=dataflow,
                    release_at=release_at, actions=actions)
    return accepted(result, answer, release_at)


def _delete_keys(flow, key: str, answer: MediaFormat):
    provider = provider_from_request()
    check_known(request.args, WRITE_PARAMS)
    if request.content_length:
        raise SyntaxProblem("DELETE of a key takes no body; to delete what a message names, DELETE the dataflow "
                            "resource with the message")
    dims = catalog().structure_of(flow).dimension_ids
    rows = key_rows(key, dims)
    lines = ["STRUCTURE,STRUCTURE_ID,ACTION," + ",".join(dims) + ",TIME_PERIOD"]
    lines += [f"dataflow,{flow.ref},D," + ",".join(codes) + "," for codes in rows]
    body = ("\n".join(lines) + "\n").encode()
    result = submit(catalog(), store(), body, CSV_20, provider=provider, dataflow=str(flow.ref))
    return accepted(result, answer, None)


def key_rows(key: str, dims: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The series keys a DELETE key names: one tuple of codes per series, "" for any code."""
    if key in ("*", "all"):
        return [("",) * len(dims)]
    parts = key.split(".")
    if len(parts) != len(dims):
        raise SyntaxProblem(f"the key {key!r} has {len(parts)} part(s) but the structure has {len(dims)} "
                            f"dimensions ({'.'.join(dims)})")
    choices = []
    for dim, part in zip(dims, parts):
        if part in ("", "*"):
            choices.append(("",))
            continue
        codes = tuple(dict.fromkeys(c for c in part.split("+") if c))
        bad = [c for c in codes if not CODE_RE.match(c)]
        if bad or not codes:
            raise SyntaxProblem(f"the key {key!r} has an invalid code {(bad or [part])[0]!r} for dimension {dim}")
        choices.append(codes)
    total = 1
    for codes in choices:
        total *= len(codes)
    if total > MAX_KEYS:
        raise SyntaxProblem(f"the key {key!r} names {total:,} series; at most {MAX_KEYS:,} at a time")
    return list(product(*choices))


def _flow(context: str, agency: str, resource: str, version: str):
    if context in ("datastructure", "provisionagreement"):
        raise NotImplementedYet(f"data is written per dataflow here: /v2/data/dataflow/{agency}/{resource}/...")
    if context != "dataflow":
        raise SyntaxProblem(f"context {context!r} is not datastructure, dataflow or provisionagreement")
    for part in (agency, resource, version):
        if not re.match(r"^[A-Za-z0-9_@$\-.+~]+$", part) or part in ("*", "all"):
            raise SyntaxProblem(f"a write names one dataflow: {part!r} is not an agency, id or version")
    latest = version in ("+", "~", "latest")
    flow = catalog().dataflow(f"{agency}:{resource}" if latest else f"{agency}:{resource}({version})")
    if flow is None or catalog().structure_of(flow) is None:
        raise NotFound(f"dataflow {agency}:{resource}({version}) does not exist; GET /v2/structure/dataflow "
                       "lists the dataflows")
    return flow


# -- the pieces of a request -------------------------------------------------------------------

def choose_answer() -> MediaFormat:
    """JSON unless Accept prefers XML; errors of the request follow the same choice."""
    for rng in parse_accept(request.headers.get("Accept")):
        if rng.full in ("*/*", "application/*") or "json" in rng.subtype:
            g.format = ANSWER_JSON
            return ANSWER_JSON
        if "xml" in rng.subtype:
            g.format = ANSWER_XML
            return ANSWER_XML
    g.format = ANSWER_JSON
    raise NotAcceptable(f"the answer to a submission is {JSON_TYPE} or {XML_TYPE}, not "
                        f"{request.headers.get('Accept')!r}")


def release_time() -> datetime | None:
    """The embargo: ``releaseAt`` in the query, else the ``X-Release-At`` header."""
    check_known(request.args, WRITE_PARAMS)
    text = request.args.get("releaseAt") or request.headers.get("X-Release-At")
    return parse_instant("releaseAt", text) if text else None


def _check_encoding() -> None:
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise UnsupportedMediaType(f"Content-Encoding {encoding!r}: send the message uncompressed")


def read_body() -> bytes:
    """The request body, refused with 413 once it passes the limit, however it is framed."""
    limit = settings().max_request_bytes
    declared = request.content_length
    too_large = RequestTooLarge(f"the body is over the limit of {limit:,} bytes; split the submission")
    if declared is not None and declared > limit:
        raise too_large
    chunks, size = [], 0
    try:
        stream = request.stream
        while True:
            chunk = stream.read(READ_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except RequestEntityTooLarge:
        raise too_large from None
    return b"".join(chunks)


def base_url() -> str:
    return settings().base_url or request.host_url.rstrip("/")


def accepted(result: SubmissionResult, answer: MediaFormat, release_at: datetime | None) -> Response:
    summary = result.summary
    location = f"{base_url()}/submissions/{summary.submission_id}"
    log.info("submission %d from %s: %s", summary.submission_id, result.provider, result.describe())
    data = submission_answer(summary.as_dict(), provider=result.provider, message=result.describe(),
                             release_at=release_at.isoformat() if release_at else None,
                             report=result.report.to_dict(), location=location)
    body = write_answer_xml(data) if answer is ANSWER_XML else write_answer_json(data)
    return respond(body, answer, headers={"Location": location, "Cache-Control": "no-store"})


# -- the audit trail ---------------------------------------------------------------------------

def _own_submission(submission_id: int):
    g.format = ANSWER_JSON
    provider = provider_from_request()
    record = store().submission(submission_id)
    if record is None:
        raise NotFound(f"there is no submission {submission_id}")
    if record.provider != provider:
        raise Forbidden(f"submission {submission_id} was not sent by {provider}")
    return record


@blueprint.get("/submissions/<int:submission_id>")
def submission(submission_id: int):
    record = _own_submission(submission_id)
    body = orjson.dumps({
        "submission": record.submission_id, "provider": record.provider,
        "receivedAt": record.received_at.isoformat(), "status": record.status,
        "contentType": record.content_type, "checksum": f"sha256:{record.checksum}" if record.checksum else None,
        "size": record.body_size, "releaseAt": record.release_at.isoformat() if record.release_at else None,
        "summary": record.summary, "report": record.report,
        "links": [{"rel": "content", "href": f"{base_url()}/submissions/{record.submission_id}/content"}]})
    return respond(body, ANSWER_JSON, headers={"Cache-Control": "private"})


@blueprint.get("/submissions/<int:submission_id>/content")
def submission_content(submission_id: int):
    record = _own_submission(submission_id)
    content_type = record.content_type or "application/octet-stream"
    extension = ".csv" if media_type(content_type)[0] in CSV_TYPES else ""
    response = Response(record.body, status=200)
    response.headers["Content-Type"] = content_type
    response.headers["Content-Disposition"] = f'attachment; filename="submission-{submission_id}{extension}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private"
    return response
