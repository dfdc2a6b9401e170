"""Schema queries: SDMX-REST 1.5.0 ``/schema/{context}/{agencyID}/{resourceID}/{version}`` and 2.x
``/v2/schema/{context}/{agencyID}/{resourceID}/{version}``.

Rule: one artefact (a data structure, a dataflow or a provision agreement) and the constraints
of its context (a dataflow's own Allowed constraint; a provision agreement's and its dataflow's)
define what data is valid. The answer is, by default, the XSD of SDMX-ML 2.1 structure-specific
data (``formats.data_xsd``, ``application/vnd.sdmx.schema+xml;version=2.1``) for the
``dimensionAtObservation`` asked (TIME_PERIOD by default); ``explicitMeasure`` changes nothing
(the DSD has no measure dimension). Asked in a structure format, it is the DSD with its
codelists cut to the allowed codes, the concepts it uses and the agency scheme (the
"communication" form). ``all``/``*`` ids are refused (one artefact only); version ranges and
``asOf`` answer 501; the 2.x SDMX-ML 3.0 and SDMX-JSON schema formats are not written (406).
"""

from __future__ import annotations

import dataclasses

from flask import Blueprint, request

from ..errors import NotFound, NotImplementedYet, SyntaxProblem
from ..formats import DEFAULT_SCHEMA_FORMAT, SCHEMA_FORMATS, SCHEMA_FORMATS_V2
from ..formats.data_xsd import TIME_PERIOD, data_namespace, write_data_xsd
from ..model.structure import ConceptScheme, ContentConstraint, DataStructure, Maintainable
from . import catalog
from .availability import partial_codelist
from .http import choose_format, etag_for, not_modified, respond, languages
from .params import check_known
from .v2 import versions_matching

blueprint = Blueprint("schema", __name__)

CONTEXTS = ("datastructure", "dataflow", "provisionagreement")
KNOWN_PARAMS = {"dimensionAtObservation", "explicitMeasure", "format", "formatVersion", "lang", "compression"}
KNOWN_PARAMS_V2 = {"dimensionAtObservation", "deletion", "asOf", "format", "formatVersion", "lang", "compression"}


def resolve(context: str, agency: str, resource_id: str, version: str
            ) -> tuple[Maintainable, DataStructure, dict[str, frozenset[str]]]:
    """The artefact, its DSD and the codes its context allows per component (absent: any)."""
    if context not in CONTEXTS:
        what = "is not implemented" if context in ("metadatastructure", "metadataflow",
                                                   "metadataprovisionagreement") else None
        if what:
            raise NotImplementedYet(f"schema queries for {context} are not implemented (no metadata is held)")
        raise SyntaxProblem(f"context {context!r} is not one of {', '.join(CONTEXTS)}")
    if agency in ("all", "*") or resource_id in ("all", "*") or "," in agency + resource_id:
        raise SyntaxProblem("a schema query names one artefact: give its agency and id (not all or *)")
    candidates = [a for a in catalog().artefacts(context) if a.ref.agency == agency and a.ref.id == resource_id]
    found = versions_matching(candidates, "~" if version in ("latest", "") else version)
    if len(found) != 1:
        raise NotFound(f"no {context} {agency}:{resource_id} in version {version}")
    artefact = found[0]
    constraints: list[ContentConstraint] = []
    if context == "provisionagreement":
        constraints += [c for c in catalog().constraints if c.attachment and c.attachment.kind == context
                        and c.attachment.ref == artefact.ref]
        flow = catalog().get("dataflow", artefact.dataflow) if artefact.dataflow else None
        if flow is None:
            raise NotFound(f"the dataflow of provision agreement {artefact.ref} is not available")
    else:
        flow = artefact if context == "dataflow" else None
    if flow is not None:
        constraints += [c for c in [catalog().constraint_of(flow)] if c is not None]
        dsd = catalog().structure_of(flow)
    else:
        dsd = artefact
    if dsd is None:
        raise NotFound(f"the data structure of {artefact.ref} is not available")
    constraints += [c for c in catalog().constraints if c.role == "Allowed" and c.attachment
                    and c.attachment.kind == "datastructure" and c.attachment.ref == dsd.ref]
    allowed: dict[str, frozenset[str]] = {}
    for constraint in constraints:
        for region in constraint.regions:
            if not region.include:
                continue
            for component, codes in region.members.items():
                allowed[component] = allowed.get(component, frozenset(codes)) & frozenset(codes)
    return artefact, dsd, allowed


def communication(dsd: DataStructure, allowed: dict[str, frozenset[str]]) -> list[Maintainable]:
    """The DSD, its codelists cut to the allowed codes, the concepts it uses and the agency scheme."""
    out: list[Maintainable] = [dsd]
    for ref in dsd.codelist_refs():
        codelist = catalog().codelist(ref)
        if codelist is None:
            continue
        users = [c.id for c in (*dsd.dimensions, *dsd.attributes) if c.representation.codelist == ref]
        if any(u not in allowed for u in users):
            out.append(codelist)
        else:
            out.append(partial_codelist(codelist, set().union(*(allowed[u] for u in users))))
    used = {c.concept.id for c in (*dsd.dimensions, *dsd.attributes, dsd.time_dimension, dsd.measure) if c}
    for ref in dsd.concept_scheme_refs():
        scheme = catalog().get("conceptscheme", ref)
        if isinstance(scheme, ConceptScheme):
            items = tuple(i for i in scheme.items if i.id in used)
            out.append(dataclasses.replace(scheme, items=items, is_partial=len(items) < len(scheme.items)))
    out += catalog().agency_schemes
    return out


def schema_answer(context: str, agency: str, resource_id: str, version: str, formats):
    artefact, dsd, allowed = resolve(context, agency, resource_id, version)
    at_obs = request.args.get("dimensionAtObservation") or TIME_PERIOD
    if at_obs not in (TIME_PERIOD, "AllDimensions") and at_obs not in dsd.dimension_by_id:
        raise SyntaxProblem(f"dimensionAtObservation={at_obs!r} is not TIME_PERIOD, AllDimensions or a dimension "
                            f"of {dsd.ref.id}")
    if request.args.get("explicitMeasure", "false").lower() not in ("true", "false"):
        raise SyntaxProblem("explicitMeasure must be true or false")
    fmt, _ = choose_format(formats, DEFAULT_SCHEMA_FORMAT)
    langs = languages()
    etag = etag_for(None, catalog().fingerprint, request.full_path, fmt.content_type, ",".join(langs or ("*",)))
    if not_modified(etag, None):
        return respond(b"", fmt, status=304, etag=etag)
    if fmt.kind == "schema":
        codelists = {ref.id: cl for ref in dsd.codelist_refs() if (cl := catalog().codelist(ref)) is not None}
        namespace = data_namespace(context, artefact.ref.agency, artefact.ref.id, artefact.ref.version, at_obs)
        body = write_data_xsd(dsd, namespace=namespace, codelists=codelists, allowed=allowed,
                              dimension_at_observation=at_obs)
        return respond(body, fmt, etag=etag, filename=f"{artefact.ref.id}.xsd")
    body = fmt.writer(communication(dsd, allowed), languages=langs)
    return respond(body, fmt, etag=etag)


@blueprint.route("/schema/<context>/<agency>/<resource_id>", methods=["GET", "HEAD"])
@blueprint.route("/schema/<context>/<agency>/<resource_id>/<version>", methods=["GET", "HEAD"])
def schema(context: str, agency: str, resource_id: str, version: str = "latest"):
    check_known(request.args, KNOWN_PARAMS)
    return schema_answer(context, agency, resource_id, version, SCHEMA_FORMATS)


@blueprint.route("/v2/schema/<context>/<agency>/<resource_id>", methods=["GET", "HEAD"])
@blueprint.route("/v2/schema/<context>/<agency>/<resource_id>/<version>", methods=["GET", "HEAD"])
def schema_v2(context: str, agency: str, resource_id: str, version: str = "~"):
    check_known(request.args, KNOWN_PARAMS_V2)
    if request.args.get("asOf"):
        raise NotImplementedYet("asOf is not implemented for schema queries: the service holds one state of its "
                                "structures")
    if request.args.get("deletion", "false").lower() not in ("true", "false"):
        raise SyntaxProblem("deletion must be true or false")
    return schema_answer(context, agency, resource_id, version, SCHEMA_FORMATS_V2)
