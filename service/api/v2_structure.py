"""SDMX-REST 2.x structure and availability queries:
``/v2/structure/{structureType}/{agencyID}/{resourceID}/{version}/{itemID}`` and
``/v2/availability/{context}/{agencyID}/{resourceID}/{version}/{key}/{componentID}``.

Rule: 2.x names are mapped onto the 1.5.0 machinery, nothing is answered twice. Structures:
``dataconstraint`` is a content constraint, ``*`` every type; versions ``+``/``~`` the latest
(stable), ``*`` all, ranges 501; ``detail=raw`` is ``full`` (no codelist extensions here);
``references`` takes a comma-separated list, ``ancestors`` follows parents up to any level. The
default format is SDMX-JSON 2.0; SDMX-ML 3.0 structures are not written (406).

Availability: the query is a 2.x data query (keys, ``c[...]`` on dimensions and TIME_PERIOD)
answered by ``availability.answer``; several keys, and several dataflows of a DSD, are answered
one by one and merged (codes joined, counts added: overlapping keys count twice). Filters the key
index cannot answer (attributes, OBS_VALUE, TIME_PERIOD operators other than ranges) answer 501.
An empty answer is 204.
"""

from __future__ import annotations

import dataclasses

from flask import Blueprint, request

from ..catalog.resolve import REFERENCES, STANDARD, parents_of
from ..errors import NoContent, NotImplementedYet, SemanticProblem, SyntaxProblem
from ..formats import DEFAULT_STRUCTURE_FORMAT_V2, STRUCTURE_FORMATS_V2
from ..model.query import DataQuery
from ..model.structure import ConstraintAttachment, Maintainable, MaintainableRef
from ..store import Availability
from . import availability as avail
from . import catalog, store
from .filters import parse_filters, plan
from .http import choose_format, etag_for, languages, not_modified, respond
from .params import check_known, parse_instant
from .structure import DETAILS, structure_artefacts
from .v2 import codelist_resolver, data_targets, parse_keys

blueprint = Blueprint("structure_v2", __name__)

STRUCTURE_PARAMS = {"detail", "references", "asOf", "format", "formatVersion", "lang", "compression"}
AVAILABILITY_PARAMS = {"mode", "references", "updatedAfter", "reportingYearStartDay", "format", "formatVersion",
                       "lang", "compression"}
V2_REFERENCES = (*REFERENCES, "ancestors")
TYPE_NAMES = {"dataconstraint": "contentconstraint", "*": "structure"}


# -- structures --------------------------------------------------------------------------------

def v1_version(version: str) -> str:
    if version in ("~", "+"):
        return "latest"
    if version == "*":
        return "all"
    return version


def ancestors(artefacts: list[Maintainable]) -> list[Maintainable]:
    out: list[Maintainable] = []
    stack = list(artefacts)
    while stack:
        for parent in parents_of(catalog(), stack.pop()):
            if all(parent is not seen for seen in (*out, *artefacts)):
                out.append(parent)
                stack.append(parent)
    return out


@blueprint.route("/v2/structure", methods=["GET", "HEAD"])
@blueprint.route("/v2/structure/<kind>", methods=["GET", "HEAD"])
@blueprint.route("/v2/structure/<kind>/<agency>", methods=["GET", "HEAD"])
@blueprint.route("/v2/structure/<kind>/<agency>/<resource_id>", methods=["GET", "HEAD"])
@blueprint.route("/v2/structure/<kind>/<agency>/<resource_id>/<version>", methods=["GET", "HEAD"])
@blueprint.route("/v2/structure/<kind>/<agency>/<resource_id>/<version>/<item_id>", methods=["GET", "HEAD"])
def structure_v2(kind: str = "*", agency: str = "*", resource_id: str = "*", version: str = "~",
                 item_id: str = "*"):
    args = request.args
    check_known(args, STRUCTURE_PARAMS)
    if args.get("asOf"):
        raise NotImplementedYet("asOf on structures is not implemented: the service holds one state of its structures")
    resource = TYPE_NAMES.get(kind, kind)
    if resource not in STANDARD:
        raise SyntaxProblem(f"{kind!r} is not an SDMX-REST 2.x structure type")
    detail = args.get("detail", "full")
    if detail == "raw":
        detail = "full"
    if detail not in DETAILS:
        raise SyntaxProblem(f"detail={detail!r} is not one of {', '.join((*DETAILS, 'raw'))}")
    values = [TYPE_NAMES.get(v, v) for v in (args.get("references") or "none").split(",") if v] or ["none"]
    for value in values:
        if value not in V2_REFERENCES and value not in STANDARD:
            raise SyntaxProblem(f"references={value!r} is not one of {', '.join(V2_REFERENCES)} or a structure type")
    if version not in ("~", "+", "*") and set(version) & {"+", "~", "*"}:
        raise NotImplementedYet(f"version ranges such as {version!r} are not implemented; use an exact version, "
                                "'+' (latest stable), '~' (latest) or '*' (all)")
    agency, resource_id = agency.replace("*", "all"), resource_id.replace("*", "all")
    artefacts: list[Maintainable] = []
    stubs: set = set()
    for value in values:
        found, stub_urns = structure_artefacts(resource, agency, resource_id, v1_version(version),
                                               "all" if item_id == "*" else item_id, detail,
                                               "parents" if value == "ancestors" else value)
        if value == "ancestors":
            matched = [a for a in found if a.urn not in stub_urns]
            found = [*found, *ancestors(matched)]
        for art in found:
            if all(art.urn != seen.urn or art.kind != seen.kind for seen in artefacts):
                artefacts.append(art)
        stubs |= stub_urns
    data_changed = None
    for value in values:
        artefacts, changed = avail.with_actual_constraints(resource, value, detail, artefacts, stubs)
        if changed is not None:
            data_changed = changed
            break
    fmt, _ = choose_format(STRUCTURE_FORMATS_V2, DEFAULT_STRUCTURE_FORMAT_V2)
    langs = languages()
    etag = etag_for(data_changed, catalog().fingerprint, request.full_path, fmt.content_type,
                    ",".join(langs or ("*",)))
    if not_modified(etag, data_changed):
        return respond(b"", fmt, status=304, etag=etag, last_modified=data_changed)
    body = fmt.writer(artefacts, languages=langs, detail="full" if detail == "referencepartial" else detail,
                      stubs=stubs)
    return respond(body, fmt, etag=etag, last_modified=data_changed)


# -- availability --------------------------------------------------------------------------------

def merged(answers: list[Availability]) -> Availability:
    codes: dict[str, frozenset[str]] = {}
    for one in answers:
        for dim, values in one.codes.items():
            codes[dim] = codes.get(dim, frozenset()) | values
    starts = [a.start for a in answers if a.start is not None]
    ends = [a.end for a in answers if a.end is not None]
    return Availability(codes=codes, start=min(starts) if starts else None, end=max(ends) if ends else None,
                        obs_count=sum(a.obs_count for a in answers), series_count=sum(a.series_count for a in answers))


@blueprint.route("/v2/availability", methods=["GET", "HEAD"])
@blueprint.route("/v2/availability/<context>", methods=["GET", "HEAD"])
@blueprint.route("/v2/availability/<context>/<agency>", methods=["GET", "HEAD"])
@blueprint.route("/v2/availability/<context>/<agency>/<resource>", methods=["GET", "HEAD"])
@blueprint.route("/v2/availability/<context>/<agency>/<resource>/<version>", methods=["GET", "HEAD"])
@blueprint.route("/v2/availability/<context>/<agency>/<resource>/<version>/<key>", methods=["GET", "HEAD"])
@blueprint.route("/v2/availability/<context>/<agency>/<resource>/<version>/<key>/<component_id>",
                 methods=["GET", "HEAD"])
def availability_v2(context: str = "*", agency: str = "*", resource: str = "*", version: str = "*",
                    key: str = "*", component_id: str = "*"):
    args = request.args
    check_known(args, AVAILABILITY_PARAMS)
    if args.get("reportingYearStartDay") not in (None, "", "--01-01"):
        raise NotImplementedYet("reportingYearStartDay other than --01-01 is not implemented")
    mode = avail.parse_mode(args.get("mode"))
    references = avail.parse_references(args.get("references"), (*avail.REFERENCES, "valuelist"))
    updated_after = parse_instant("updatedAfter", args["updatedAfter"]) if args.get("updatedAfter") else None
    targets = data_targets(context, agency, resource, version)
    filters = parse_filters(args)
    dsd = targets[0][1]
    if any(t[1].ref != dsd.ref for t in targets):
        raise NotImplementedYet("availability across dataflows of different data structures is not implemented")
    component = avail.parse_component(dsd, None if component_id == "*" else component_id, SemanticProblem)
    fmt, _ = choose_format(STRUCTURE_FORMATS_V2, DEFAULT_STRUCTURE_FORMAT_V2)
    flows = list({t[0].ref: t[0] for t in targets}.values())
    last_modified = max((m for f in flows if (m := store().last_modified(str(f.ref))) is not None), default=None)
    langs = languages()
    etag = etag_for(last_modified, catalog().fingerprint, request.full_path, fmt.content_type,
                    ",".join(langs or ("*",)))
    if not_modified(etag, last_modified):
        return respond(b"", fmt, status=304, last_modified=last_modified, etag=etag)
    answers = []
    for flow, flow_dsd, providers in targets:
        keys = parse_keys(key, flow_dsd)
        how = plan(flow_dsd, keys, filters, codelist_resolver(flow_dsd))
        if how.time_filter or how.series_filters or how.obs_filters:
            raise NotImplementedYet("availability with filters on attributes, OBS_VALUE or TIME_PERIOD other than "
                                    "ge/gt/le/lt/eq ranges is not implemented")
        if how.empty:
            continue
        for one_key in (how.keys or (how.key,)):
            query = DataQuery(flow=str(flow.ref), key=one_key, providers=providers, start=how.start, end=how.end,
                              updated_after=updated_after)
            answers.append(avail.available(query, flow_dsd, mode))
    found = merged(answers) if answers else None
    if found is None or found.obs_count == 0:
        raise NoContent("no data for the given query")
    flow = flows[0]
    constraint = avail.actual_constraint(flow, dsd, found, component)
    if len(flows) > 1 or context == "datastructure":
        constraint = dataclasses.replace(
            constraint, ref=MaintainableRef(dsd.ref.agency, f"CR_A_{dsd.ref.id}", dsd.ref.version),
            names={"en": f"Availability of data in {dsd.ref.id}", "ru": f"Наличие данных в {dsd.ref.id}"},
            attachment=ConstraintAttachment("datastructure", dsd.ref))
    artefacts = [constraint, *avail.referenced_artefacts(flow, dsd, constraint, references)]
    body = fmt.writer(artefacts, languages=langs)
    return respond(body, fmt, last_modified=last_modified, etag=etag)
