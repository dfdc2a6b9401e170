"""SDMX-REST 1.5.0 structure queries: ``/{resource}/{agencyID}/{resourceID}/{version}/{itemID}``.

Resources the catalog holds answer with ``detail`` and ``references``; the
other standard resources answer 501; anything else is 404.
"""

from __future__ import annotations

from flask import Blueprint, request

from ..catalog.resolve import HELD, REFERENCES, STANDARD, QueryError, filter_items, match, partial_codelists, referenced
from ..errors import NoResults, NotFound, NotImplementedYet, SyntaxProblem
from ..formats import DEFAULT_STRUCTURE_FORMAT, STRUCTURE_FORMATS
from ..model.structure import Maintainable
from . import catalog
from .availability import with_actual_constraints
from .http import choose_format, etag_for, languages, not_modified, respond
from .params import check_known

blueprint = Blueprint("structure", __name__)

DETAILS = ("full", "allstubs", "referencestubs", "allcompletestubs", "referencecompletestubs", "referencepartial")
ITEM_SCHEMES = ("codelist", "conceptscheme", "agencyscheme", "dataproviderscheme", "categoryscheme",
                "dataconsumerscheme", "organisationunitscheme", "reportingtaxonomy")
KNOWN_PARAMS = {"detail", "references", "format", "formatVersion", "lang", "compression"}


def structure_artefacts(resource: str, agency: str, resource_id: str, version: str, item_id: str,
                        detail: str, references: str) -> tuple[list[Maintainable], set]:
    """The artefacts of a structure query, and those to write as stubs."""
    if resource not in STANDARD:
        raise NotFound(f"{resource!r} is not an SDMX-REST structure resource")
    if resource not in HELD and resource != "structure" and resource not in (
            "actualconstraint", "allowedconstraint"):
        raise NotImplementedYet(f"this service holds no {resource}; the resource is not implemented")
    if detail not in DETAILS:
        raise SyntaxProblem(f"detail={detail!r} is not one of {', '.join(DETAILS)}")
    if references not in REFERENCES and references not in STANDARD:
        raise SyntaxProblem(f"references={references!r} is not one of {', '.join(REFERENCES)} or a structure type")
    if item_id not in ("all", "*") and resource not in ITEM_SCHEMES:
        raise SyntaxProblem(f"itemID applies to item schemes only, not to {resource}")
    try:
        matched = match(catalog(), resource, agency, resource_id, version)
    except NotImplementedError as exc:
        raise NotImplementedYet(str(exc)) from None
    if item_id not in ("all", "*"):
        matched = [m for m in (filter_items(a, item_id) for a in matched) if m is not None]
    if not matched:
        raise NoResults(f"no {resource} matches agency={agency}, id={resource_id}, version={version}"
                        + (f", item={item_id}" if item_id not in ("all", "*") else ""))
    try:
        extra = referenced(catalog(), matched, references)
    except QueryError as exc:
        raise SyntaxProblem(str(exc)) from None
    if detail == "referencepartial":
        extra = partial_codelists(catalog(), matched, extra)
    stubs = {a.urn for a in extra} if detail.startswith("reference") and detail != "referencepartial" else set()
    return [*matched, *extra], stubs


@blueprint.route("/<resource>", methods=["GET", "HEAD"])
@blueprint.route("/<resource>/<agency>", methods=["GET", "HEAD"])
@blueprint.route("/<resource>/<agency>/<resource_id>", methods=["GET", "HEAD"])
@blueprint.route("/<resource>/<agency>/<resource_id>/<version>", methods=["GET", "HEAD"])
@blueprint.route("/<resource>/<agency>/<resource_id>/<version>/<item_id>", methods=["GET", "HEAD"])
def structure(resource: str, agency: str = "all", resource_id: str = "all", version: str = "latest",
              item_id: str = "all"):
    check_known(request.args, KNOWN_PARAMS)
    detail = request.args.get("detail", "full")
    references = request.args.get("references", "none")
    artefacts, stubs = structure_artefacts(resource, agency, resource_id, version, item_id, detail, references)
    # Dataflows with their parents also carry their Actual constraint, computed from the data.
    artefacts, data_changed = with_actual_constraints(resource, references, detail, artefacts, stubs)
    fmt, _ = choose_format(STRUCTURE_FORMATS, DEFAULT_STRUCTURE_FORMAT)
    langs = languages()
    etag = etag_for(data_changed, catalog().fingerprint, request.full_path, fmt.content_type,
                    ",".join(langs or ("*",)))
    if not_modified(etag, data_changed):
        return respond(b"", fmt, status=304, etag=etag, last_modified=data_changed)
    body = fmt.writer(artefacts, languages=langs, detail="full" if detail == "referencepartial" else detail,
                      stubs=stubs)
    return respond(body, fmt, etag=etag, last_modified=data_changed)

