"""Data availability: SDMX-REST 1.5.0 ``/availableconstraint/{flowRef}/{key}/{providerRef}/{componentID}``,
and the answer it shares with 2.x ``/v2/availability`` (``service.api.v2``).

Rule: the answer is an Actual ContentConstraint built from ``Store.available``: the codes in use
per dimension come from the store's key index (``series_code``), the period range and the
counts from its per-series summaries; observations are read only when the query itself filters
on periods or ``updatedAfter``. The region holds, per dimension, the codes that have data given
the query (``mode=exact``) or that remain selectable given the selections on the *other*
dimensions (``mode=available``); TIME_PERIOD as a time range; the observation and series counts
as annotations (``{id: obs_count, title: <n>, type: sdmx_metrics}``, the shape .Stat Suite gives
and its Data Explorer reads). Queries run with no viewer, so embargoed data never shows.
``references`` adds the dataflow, the DSD and item schemes cut to what the region uses:
codelists hold the available codes and their ancestors, the concept scheme the concepts of the
components in the region, the provider scheme the providers whose areas have data.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from flask import Blueprint, request

from ..errors import NoResults, ServiceError, SyntaxProblem
from ..formats import DEFAULT_STRUCTURE_FORMAT, STRUCTURE_FORMATS, MediaFormat
from ..model.query import DataQuery
from ..model.structure import (
    Annotation,
    Codelist,
    ConceptScheme,
    ConstraintAttachment,
    ContentConstraint,
    CubeRegion,
    DataStructure,
    Dataflow,
    Maintainable,
    MaintainableRef,
    TimeRange,
)
from ..store import Availability
from . import catalog, store
from .data import find_flow
from .http import choose_format, etag_for, languages, not_modified, respond
from .params import check_known, parse_instant, parse_key, parse_period, parse_providers

blueprint = Blueprint("availability", __name__)

MODES = ("exact", "available")
REFERENCES = ("none", "all", "datastructure", "conceptscheme", "codelist", "dataproviderscheme", "dataflow")
#: dimensionAtObservation is sent by the .Stat Data Explorer; it does not change an availability answer.
KNOWN_PARAMS = {"startPeriod", "endPeriod", "updatedAfter", "references", "mode", "format", "formatVersion", "lang",
                "compression", "dimensionAtObservation"}
TIME_PERIOD = "TIME_PERIOD"
METRICS = "sdmx_metrics"


def parse_mode(text: str | None) -> str:
    mode = text or "exact"
    if mode not in MODES:
        raise SyntaxProblem(f"mode={mode!r} is not one of {', '.join(MODES)}")
    return mode


def parse_references(text: str | None, allowed: tuple[str, ...] = REFERENCES) -> tuple[str, ...]:
    """``references`` as a tuple of values (2.x allows a comma-separated list)."""
    values = tuple(v.strip() for v in (text or "none").split(",") if v.strip()) or ("none",)
    for value in values:
        if value not in allowed:
            raise SyntaxProblem(f"references={value!r} is not one of {', '.join(allowed)}")
    return values


def parse_component(dsd: DataStructure, text: str | None, error: type[ServiceError] = SyntaxProblem) -> str | None:
    """The componentID path part: None for all dimensions, else a dimension (or TIME_PERIOD) of the DSD."""
    if text is None or text.lower() == "all" or text == "*":
        return None
    time_id = dsd.time_dimension.id if dsd.time_dimension else TIME_PERIOD
    if text != time_id and text not in dsd.dimension_by_id:
        raise error(f"componentID {text!r} is not a dimension of {dsd.ref.id}; its dimensions are "
                    f"{', '.join((*dsd.dimension_ids, time_id))}")
    return text


def parse_provider_part(text: str | None) -> tuple[str, ...] | None:
    """providerRef; ``ALL`` in any case means every provider (the Data Explorer sends it upper-case)."""
    return None if text is None or text.lower() == "all" else parse_providers(text)


# -- the constraint -------------------------------------------------------------------

def period_text(moment: datetime, *, end: bool) -> tuple[str, bool]:
    """An instant as an SDMX period text; an exclusive end at midnight becomes the inclusive day before."""
    if moment.hour == moment.minute == moment.second == moment.microsecond == 0:
        return ((moment - timedelta(days=1)) if end else moment).strftime("%Y-%m-%d"), True
    return moment.strftime("%Y-%m-%dT%H:%M:%S"), not end


def time_range(found: Availability) -> TimeRange | None:
    if found.start is None or found.end is None:
        return None
    start, start_inclusive = period_text(found.start, end=False)
    end, end_inclusive = period_text(found.end, end=True)
    return TimeRange(start, end, start_inclusive, end_inclusive)


def codelist_order(dsd: DataStructure, dim: str) -> dict[str, int]:
    ref = dsd.dimension_by_id[dim].representation.codelist
    codelist = catalog().codelist(ref) if ref is not None else None
    return {item.id: i for i, item in enumerate(codelist.items)} if codelist is not None else {}


def actual_constraint(flow: Dataflow, dsd: DataStructure, found: Availability,
                      component: str | None = None) -> ContentConstraint:
    """The Actual ContentConstraint of an availability answer (codes in codelist order)."""
    members = {}
    for dim in dsd.dimension_ids:
        if component is None or component == dim:
            order = codelist_order(dsd, dim)
            members[dim] = tuple(sorted(found.codes.get(dim, ()), key=lambda c: (order.get(c, len(order)), c)))
    time_id = dsd.time_dimension.id if dsd.time_dimension else TIME_PERIOD
    span = time_range(found) if component in (None, time_id) else None
    region = CubeRegion(members, include=True, time_ranges={time_id: span} if span else {})
    return ContentConstraint(
        ref=MaintainableRef(flow.ref.agency, f"CR_A_{flow.ref.id}", flow.ref.version),
        names={"en": f"Availability of data in {flow.ref.id}", "ru": f"Наличие данных в {flow.ref.id}"},
        annotations=(Annotation(type=METRICS, title=str(found.obs_count), id="obs_count"),
                     Annotation(type=METRICS, title=str(found.series_count), id="series_count")),
        role="Actual", attachment=ConstraintAttachment("dataflow", flow.ref), regions=(region,))


def used_codes(dsd: DataStructure, constraint: ContentConstraint) -> dict[MaintainableRef, set[str]]:
    """Codes per codelist that the constraint's region names (several dimensions may share a codelist)."""
    out: dict[MaintainableRef, set[str]] = {}
    for region in constraint.regions:
        for dim, codes in region.members.items():
            ref = dsd.dimension_by_id[dim].representation.codelist if dim in dsd.dimension_by_id else None
            if ref is not None:
                out.setdefault(ref, set()).update(codes)
    return out


def partial_codelist(codelist: Codelist, codes: set[str]) -> Codelist:
    """The codelist cut to ``codes`` and their ancestors (so a hierarchy stays whole)."""
    keep = set()
    for code in codes:
        while code and code not in keep and code in codelist.by_id:
            keep.add(code)
            code = codelist.by_id[code].parent
    items = tuple(item for item in codelist.items if item.id in keep)
    return dataclasses.replace(codelist, items=items, is_partial=len(items) < len(codelist.items))


def referenced_artefacts(flow: Dataflow, dsd: DataStructure, constraint: ContentConstraint,
                         references: tuple[str, ...]) -> list[Maintainable]:
    wanted = set(references)
    if "all" in wanted:
        wanted |= {"dataflow", "datastructure", "conceptscheme", "codelist", "dataproviderscheme"}
    out: list[Maintainable] = []
    if "dataflow" in wanted:
        out.append(flow)
    if "datastructure" in wanted:
        out.append(dsd)
    region = constraint.regions[0]
    # With the DSD in the message, its other components keep their concepts and codelists (whole), so
    # that a client can resolve every reference of the DSD.
    with_dsd = "datastructure" in wanted
    if "conceptscheme" in wanted:
        components = {*region.members, *region.time_ranges}
        if with_dsd:
            components |= {c.id for c in (*dsd.attributes, dsd.measure) if c is not None}
        for ref in dsd.concept_scheme_refs():
            scheme = catalog().get("conceptscheme", ref)
            if isinstance(scheme, ConceptScheme):
                concepts = {c.concept.id for c in (*dsd.dimensions, dsd.time_dimension, *dsd.attributes, dsd.measure)
                            if c is not None and c.id in components and c.concept.scheme == ref}
                items = tuple(item for item in scheme.items if item.id in concepts)
                out.append(dataclasses.replace(scheme, items=items, is_partial=len(items) < len(scheme.items)))
    if "codelist" in wanted:
        used = used_codes(dsd, constraint)
        for ref, codes in used.items():
            codelist = catalog().codelist(ref)
            if codelist is not None:
                out.append(partial_codelist(codelist, codes))
        if with_dsd:
            out += [cl for ref in dsd.codelist_refs() if ref not in used and (cl := catalog().codelist(ref))]
    if "dataproviderscheme" in wanted:
        areas = set(region.members.get("REF_AREA", ()))
        for scheme in catalog().provider_schemes:
            providers = tuple(p for p in scheme.items if areas & catalog().allowed_ref_areas(p.id, flow))
            if providers or "REF_AREA" not in region.members:
                out.append(dataclasses.replace(scheme, items=providers or scheme.items,
                                               is_partial=bool(providers) and len(providers) < len(scheme.items)))
    return out


# -- Actual constraints in structure answers ---------------------------------------------

#: references values with which a dataflow query also answers the dataflow's Actual constraint,
#: computed from the data: ``all``, as .Stat Suite's service gives it to its Data Explorer.
ACTUAL_WITH = ("all",)


def with_actual_constraints(resource: str, references: str, detail: str, artefacts: list[Maintainable],
                            stubs: set) -> tuple[list[Maintainable], datetime | None]:
    """A dataflow structure answer with the Actual constraint of each dataflow holding data (the
    .Stat Data Explorer reads obs_count and the time range there), and, with
    ``detail=referencepartial``, the codelists of the dimensions cut to the codes with data and
    their ancestors. Returns the artefacts and when the data last changed (for the ETag)."""
    if resource != "dataflow" or references not in ACTUAL_WITH:
        return artefacts, None
    flows = [a for a in artefacts if isinstance(a, Dataflow) and a.urn not in stubs]
    changed = store().last_modified()
    constraints: list[ContentConstraint] = []
    codes: dict[MaintainableRef, set[str]] = {}
    for flow in flows:
        dsd = catalog().structure_of(flow)
        if dsd is None:
            continue
        found = store().available(DataQuery(flow=str(flow.ref)), dsd.dimension_ids)
        if found.obs_count:
            constraint = actual_constraint(flow, dsd, found)
            constraints.append(constraint)
            for ref, used in used_codes(dsd, constraint).items():
                codes.setdefault(ref, set()).update(used)
    out = list(artefacts)
    if detail == "referencepartial":
        for position, art in enumerate(out):
            if isinstance(art, Codelist) and art.ref in codes:
                full = catalog().codelist(art.ref)
                out[position] = partial_codelist(full or art, codes[art.ref])
    return out + constraints, changed


# -- the answer -------------------------------------------------------------------------

def available(query: DataQuery, dsd: DataStructure, mode: str) -> Availability:
    return store().available(query, dsd.dimension_ids, mode=mode)


def answer(flow: Dataflow, dsd: DataStructure, query: DataQuery, component: str | None, mode: str,
           references: tuple[str, ...], fmt: MediaFormat, *, empty: type[ServiceError] = NoResults):
    """The availability response: 304 when current, ``empty`` (404 in 1.5.0, 204 in 2.x) for no data."""
    langs = languages()
    last_modified = store().last_modified(query.flow)
    etag = etag_for(last_modified, catalog().fingerprint, request.full_path, fmt.content_type,
                    ",".join(langs or ("*",)))
    if not_modified(etag, last_modified):
        return respond(b"", fmt, status=304, last_modified=last_modified, etag=etag)
    found = available(query, dsd, mode)
    if found.obs_count == 0:
        raise empty(f"no data for {request.path} with the given parameters")
    constraint = actual_constraint(flow, dsd, found, component)
    artefacts = [constraint, *referenced_artefacts(flow, dsd, constraint, references)]
    body = fmt.writer(artefacts, languages=langs)
    return respond(body, fmt, last_modified=last_modified, etag=etag)


@blueprint.route("/availableconstraint/<flow_ref>", methods=["GET", "HEAD"])
@blueprint.route("/availableconstraint/<flow_ref>/<key>", methods=["GET", "HEAD"])
@blueprint.route("/availableconstraint/<flow_ref>/<key>/<providers>", methods=["GET", "HEAD"])
@blueprint.route("/availableconstraint/<flow_ref>/<key>/<providers>/<component_id>", methods=["GET", "HEAD"])
def available_constraint(flow_ref: str, key: str | None = None, providers: str | None = None,
                         component_id: str | None = None):
    args = request.args
    check_known(args, KNOWN_PARAMS)
    flow, dsd = find_flow(flow_ref)
    mode = parse_mode(args.get("mode"))
    references = parse_references(args.get("references"))
    component = parse_component(dsd, component_id)
    query = DataQuery(
        flow=str(flow.ref),
        key=parse_key(None if key is None or key.lower() == "all" else key, dsd.dimension_ids),
        providers=parse_provider_part(providers),
        start=parse_period("startPeriod", args.get("startPeriod"), end=False),
        end=parse_period("endPeriod", args.get("endPeriod"), end=True),
        updated_after=parse_instant("updatedAfter", args["updatedAfter"]) if args.get("updatedAfter") else None,
    )
    fmt, _ = choose_format(STRUCTURE_FORMATS, DEFAULT_STRUCTURE_FORMAT)
    return answer(flow, dsd, query, component, mode, references, fmt)
