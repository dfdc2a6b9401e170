"""The one exception hierarchy of the service.

Each class carries its HTTP status and SDMX error code (SDMX-REST 1.5.0
section 4.7; 2.x status.md). The API renders any of them in the negotiated
format through one error handler; the CLI prints their message.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A failure the client should see: status, SDMX code, a title and what exactly went wrong."""

    status = 500
    sdmx_code = 500
    title = "Internal server error"

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None,
                 report: dict | None = None):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = headers or {}
        self.report = report  # a validation Report as a dict, for submissions

    def __str__(self) -> str:
        return self.detail


class NoResults(ServiceError):
    status, sdmx_code, title = 404, 100, "No results found"


class NoContent(ServiceError):
    """SDMX-REST 2.x answers an empty data result with 204."""

    status, sdmx_code, title = 204, 100, "No results found"


class Unauthorized(ServiceError):
    status, sdmx_code, title = 401, 110, "Unauthorized"


class Forbidden(ServiceError):
    status, sdmx_code, title = 403, 150, "Forbidden"


class SyntaxProblem(ServiceError):
    status, sdmx_code, title = 400, 140, "Syntax error"


class SemanticProblem(ServiceError):
    """A well-formed request that breaks a rule (2.x: 422; used for invalid submissions too)."""

    status, sdmx_code, title = 422, 150, "Semantic error"


class NotFound(ServiceError):
    """The thing named in the path does not exist (an unknown dataflow, a submission id)."""

    status, sdmx_code, title = 404, 100, "Not found"


class NotAcceptable(ServiceError):
    status, sdmx_code, title = 406, 140, "Not acceptable"


class Conflict(ServiceError):
    status, sdmx_code, title = 409, 150, "Conflict"


class RequestTooLarge(ServiceError):
    """The client's request body is over the limit."""

    status, sdmx_code, title = 413, 130, "Request too large"


class ResponseTooLarge(ServiceError):
    """The answer would be over the configured maximum response size."""

    status, sdmx_code, title = 413, 510, "Response size exceeds service limit"


class RangeNotSatisfiable(ServiceError):
    """A Range (or offset) past the end of the answer; ``Content-Range: values */total`` says where it ends."""

    status, sdmx_code, title = 416, 100, "Range not satisfiable"


class UriTooLong(ServiceError):
    status, sdmx_code, title = 414, 140, "URI too long"


class UnsupportedMediaType(ServiceError):
    status, sdmx_code, title = 415, 140, "Unsupported media type"


class TooManyRequests(ServiceError):
    status, sdmx_code, title = 429, 1000, "Too many requests"


class NotImplementedYet(ServiceError):
    """A standard resource or option this service does not implement: 501, never 404."""

    status, sdmx_code, title = 501, 501, "Not implemented"


class Unavailable(ServiceError):
    status, sdmx_code, title = 503, 503, "Service unavailable"
