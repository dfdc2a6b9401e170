"""HTTP behaviour shared by every endpoint: negotiation, languages, caching, CORS, gzip, errors.

Views call ``choose_format`` and ``respond``; the app registers ``install``.
"""

from __future__ import annotations

import hashlib
import logging
import zlib
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Iterable, Iterator, Sequence

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from ..errors import NotAcceptable, NotImplementedYet, ServiceError, SyntaxProblem, UriTooLong
from ..formats import MediaFormat, by_format_name, negotiate, render_error
from ..formats import ERROR_JSON_10, ERROR_JSON_20, ERROR_ML
from ..model.structure import LANGUAGES
from .params import parse_instant

log = logging.getLogger("migstat.api")

VARY = "Accept, Accept-Encoding, Accept-Language, Authorization, Origin, X-Range"
EXPOSED = "Content-Range, Content-Type, ETag, Last-Modified, Location, Vary"


def choose_format(formats: Sequence[MediaFormat], default: MediaFormat) -> tuple[MediaFormat, dict[str, str]]:
    """The format the client asked for: ``format=`` (SDMX-REST extension) first, then Accept."""
    name = request.args.get("format")
    if name:
        fmt = by_format_name(name, request.args.get("formatVersion"), formats)
        if fmt is None:
            raise NotAcceptable(f"format={name!r} (formatVersion={request.args.get('formatVersion')!r}) is not "
                                f"served here; available: {', '.join(sorted({n for f in formats for n in f.format_names}))}")
        g.format = fmt
        return fmt, {}
    chosen = negotiate(request.headers.get("Accept"), formats, default)
    if chosen is None:
        raise NotAcceptable(f"none of the media types in Accept: {request.headers.get('Accept')!r} is served here; "
                            f"available: {', '.join(f.content_type for f in formats)}")
    g.format = chosen[0]
    return chosen


def languages() -> tuple[str, ...] | None:
    """Languages for names, best first, from ``lang=`` or Accept-Language; None means all (``*`` / ``all``)."""
    header = request.args.get("lang") or request.headers.get("Accept-Language") or "en"
    weighted = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag in ("*", "all"):
            return None
        if q > 0 and tag:
            weighted.append((-q, index, tag.split("-")[0]))
    ordered = [tag for _, _, tag in sorted(weighted) if tag in LANGUAGES]
    return tuple(dict.fromkeys([*ordered, "en"]))


def etag_for(last_modified: datetime | None, *parts: str) -> str:
    digest = hashlib.sha256("|".join([last_modified.isoformat() if last_modified else "-", *parts]).encode())
    return '"' + digest.hexdigest()[:32] + '"'


def not_modified(etag: str, last_modified: datetime | None) -> bool:
    """True when the client's copy is current (If-None-Match, else If-Modified-Since; ISO 8601 accepted)."""
    inm = request.headers.get("If-None-Match")
    if inm:
        tags = {t.strip() for t in inm.split(",")}
        return "*" in tags or etag in tags or etag.replace('"', "") in {t.strip('"').removeprefix("W/").strip('"')
                                                                        for t in tags}
    ims = request.headers.get("If-Modified-Since")
    if ims and last_modified is not None:
        try:
            since = parse_instant("If-Modified-Since", ims)
        except SyntaxProblem:
            return False
        return last_modified.replace(microsecond=0) <= since
    return False


def wants_gzip() -> bool:
    if request.args.get("compression"):
        value = request.args["compression"].lower()
        if value != "gzip":
            raise NotAcceptable(f"compression={value!r} is not offered; use gzip")
        return True
    for part in request.headers.get("Accept-Encoding", "").split(","):
        token, _, params = part.strip().partition(";")
        if token.strip().lower() in ("gzip", "x-gzip") and params.strip() not in ("q=0", "q=0.0"):
            return True
    return False


def gzip_chunks(chunks: Iterable[bytes], level: int = 5) -> Iterator[bytes]:
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()


def guarded(chunks: Iterable[bytes], on_close=None) -> Iterator[bytes]:
    """Stream chunks; a failure after the first byte is logged and the connection aborted, never written."""
    try:
        yield from chunks
    except GeneratorExit:
        raise
    except Exception:
        log.exception("response aborted while streaming %s", request.path if request else "")
        raise
    finally:
        if on_close is not None:
            on_close()


def respond(body: bytes | Iterable[bytes], fmt: MediaFormat, *, status: int = 200, last_modified: datetime | None = None,
            etag: str | None = None, headers: dict[str, str] | None = None, on_close=None,
            filename: str | None = None) -> Response:
    """A response with the exact media type, caching headers and optional gzip; streams iterables."""
    headers = dict(headers or {})
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(last_modified.astimezone(timezone.utc), usegmt=True)
    if etag is not None:
        headers["ETag"] = etag
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    chunks: Iterable[bytes] = [body] if isinstance(body, bytes) else guarded(body, on_close)
    if wants_gzip():
        headers["Content-Encoding"] = "gzip"
        chunks = gzip_chunks(chunks)
    response = Response(chunks, status=status, headers=headers)
    response.headers["Content-Type"] = fmt.content_type  # exactly, with no charset appended
    if isinstance(body, bytes) and "Content-Encoding" not in headers:
        response.headers["Content-Length"] = str(len(body))
    return response


def _error_format() -> MediaFormat:
    """Errors follow the negotiated format family: JSON for JSON requests, else SDMX-ML."""
    chosen = getattr(g, "format", None)
    if chosen is not None:
        json_wanted = "json" in chosen.media_type
    else:
        accept = (request.headers.get("Accept") or "").lower()
        json_wanted = ("json" in accept and "xml" not in accept) or request.args.get("format", "").startswith("json")
    if not json_wanted:
        return ERROR_ML
    return ERROR_JSON_20 if request.path.startswith("/v2/") else ERROR_JSON_10


def error_response(error: ServiceError) -> Response:
    fmt = _error_format()
    body = render_error(error, fmt)
    response = Response(body, status=error.status if error.status != 204 else 204)
    if error.status == 204:
        response.set_data(b"")
        del response.headers["Content-Type"]  # no content, no content type
    else:
        response.headers["Content-Type"] = fmt.content_type
    for key, value in error.headers.items():
        response.headers[key] = value
    return response


def install(app: Flask) -> None:
    """Error handlers, URL length limit, CORS and Vary on every response (errors included)."""

    @app.before_request
    def _limits():
        if len(request.full_path) > current_app.config["MIGSTAT"].max_url_length:
            raise UriTooLong(f"the URL is {len(request.full_path)} characters long; the limit is "
                             f"{current_app.config['MIGSTAT'].max_url_length}; split the query")
        if request.method == "OPTIONS":  # a CORS preflight: the headers come from _cors_and_vary, no body
            preflight = Response(status=204)
            del preflight.headers["Content-Type"]
            return preflight

    @app.errorhandler(ServiceError)
    def _service_error(error: ServiceError):
        if error.status >= 500 and not isinstance(error, NotImplementedYet):
            log.error("%s: %s", error.title, error.detail)
        return error_response(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        mapped = {404: ServiceError, 405: ServiceError, 413: ServiceError}.get(error.code or 500, ServiceError)
        err = mapped(error.description)
        err.status = error.code or 500
        err.sdmx_code = {404: 100, 405: 140, 413: 130, 400: 140}.get(err.status, 500)
        err.title = error.name
        if err.status == 404:
            err.detail = f"no SDMX-REST resource at {request.path}; see /  for the resources served"
        return error_response(err)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unexpected failure on %s", request.path)
        return error_response(ServiceError("the service failed to answer this request; the failure is logged"))

    @app.after_request
    def _cors_and_vary(response: Response) -> Response:
        settings = current_app.config["MIGSTAT"]
        origin = request.headers.get("Origin")
        allowed = settings.cors_origin
        if allowed == "*" or (origin and origin in allowed.split(",")):
            response.headers["Access-Control-Allow-Origin"] = "*" if allowed == "*" else origin
            response.headers["Access-Control-Expose-Headers"] = EXPOSED
            response.headers["Access-Control-Allow-Headers"] = (
                "Accept, Accept-Language, Accept-Encoding, Authorization, Content-Type, If-None-Match, "
                "If-Modified-Since, Range, X-Range, X-Release, X-Release-At")
            response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, POST, PUT, DELETE, OPTIONS"
        response.headers["Vary"] = VARY
        return response
