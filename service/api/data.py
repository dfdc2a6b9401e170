"""SDMX-REST 1.5.0 data queries: ``/data/{flowRef}/{key}/{providerRef}``.

Everything that can fail (syntax, unknown flow, format, limits, an empty
result) fails before the first byte; then rows stream from the store cursor
through the writer to the socket.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from flask import Blueprint, request

from ..auth import viewer_from_request
from ..errors import NotFound, SyntaxProblem
from ..formats import DATA_FORMATS, DEFAULT_DATA_FORMAT, MediaFormat
from ..formats.context import ALL_DIMENSIONS, TIME_PERIOD, WriteContext
from ..model.data import Observation, Series
from ..model.query import DataQuery
from ..model.structure import DataStructure, Dataflow
from . import catalog, settings, store
from .changes import answer_rows, check_query
from .http import choose_format, etag_for, languages, not_modified, respond
from .paging import check_page, cut, requested_page
from .params import (
    check_known,
    parse_count,
    parse_detail,
    parse_flow_ref,
    parse_instant,
    parse_key,
    parse_period,
    parse_providers,
)

blueprint = Blueprint("data", __name__)

KNOWN_PARAMS = {"startPeriod", "endPeriod", "updatedAfter", "firstNObservations", "lastNObservations",
                "dimensionAtObservation", "detail", "includeHistory", "format", "formatVersion", "lang",
                "compression", "labels", "timeFormat", "keys", "asOf"}


def find_flow(flow_ref: str) -> tuple[Dataflow, DataStructure]:
    agency, flow_id, version = parse_flow_ref(flow_ref)
    flows = [f for f in catalog().dataflows if f.ref.id == flow_id and (agency is None or f.ref.agency == agency)
             and (version is None or f.ref.version == version)]
    if not flows:
        raise NotFound(f"dataflow {flow_ref!r} does not exist; GET /dataflow lists the dataflows")
    flow = flows[-1]
    dsd = catalog().structure_of(flow)
    if dsd is None:
        raise NotFound(f"the structure of dataflow {flow_ref!r} is not available")
    return flow, dsd


def build_query(flow: Dataflow, dsd: DataStructure, key: str | None, providers: str | None) -> DataQuery:
    args = request.args
    check_known(args, KNOWN_PARAMS)
    if args.get("includeHistory", "false").lower() not in ("false", "true"):
        raise SyntaxProblem("includeHistory must be true or false")
    return DataQuery(
        flow=str(flow.ref),
        key=parse_key(key, dsd.dimension_ids),
        providers=parse_providers(providers),
        start=parse_period("startPeriod", args.get("startPeriod"), end=False),
        end=parse_period("endPeriod", args.get("endPeriod"), end=True),
        updated_after=parse_instant("updatedAfter", args["updatedAfter"]) if args.get("updatedAfter") else None,
        first_n=parse_count("firstNObservations", args.get("firstNObservations")),
        last_n=parse_count("lastNObservations", args.get("lastNObservations")),
        detail=parse_detail(args.get("detail")),
        as_of=parse_instant("asOf", args["asOf"]) if args.get("asOf") else None,
        include_history=args.get("includeHistory", "false").lower() == "true",
        viewer=viewer_from_request(),
    )


def dimension_at_observation(dsd: DataStructure, fmt: MediaFormat) -> str:
    value = request.args.get("dimensionAtObservation") or TIME_PERIOD
    if value not in (TIME_PERIOD, ALL_DIMENSIONS) and value not in dsd.dimension_by_id:
        raise SyntaxProblem(f"dimensionAtObservation={value!r} is not TIME_PERIOD, AllDimensions or a dimension of "
                            f"{dsd.ref.id} ({', '.join(dsd.dimension_ids)})")
    if "timeseries" in fmt.media_type and value != TIME_PERIOD:
        raise SyntaxProblem(f"{fmt.content_type} carries time series only; dimensionAtObservation must be "
                            "TIME_PERIOD (ask for the non-time-series format instead)")
    return value


def regroup(series: Iterable[Series], dsd: DataStructure, dimension: str) -> Iterator[Series]:
    """Series keyed by the other dimensions and TIME_PERIOD, observations over ``dimension``.

    The key of each regrouped series holds the other dimensions in DSD order
    followed by the time period; each observation's ``time_period`` carries the
    code of ``dimension``. Series attributes depend on ``dimension`` too, so they
    travel on each observation (its own values win). This pivot holds the
    matching observations in memory (bounded by the response limit checked before).
    """
    position = dsd.dimension_ids.index(dimension)
    groups: dict[tuple[str, ...], list[Observation]] = {}
    for s in series:
        others = s.key[:position] + s.key[position + 1:]
        for obs in s.observations:
            attributes = {**s.attributes, **obs.attributes} if s.attributes else obs.attributes
            groups.setdefault((*others, obs.time_period), []).append(
                Observation(s.key[position], obs.value, attributes, obs.origin))
    for group in sorted(groups):
        yield Series(group, groups[group])


def component_names(dsd: DataStructure) -> dict:
    """Names of the components, from their concepts."""
    names = {}
    for comp in (*dsd.dimensions, *dsd.attributes, dsd.time_dimension, dsd.measure):
        if comp is None:
            continue
        scheme = catalog().get("conceptscheme", comp.concept.scheme)
        concept = scheme.by_id.get(comp.concept.id) if scheme is not None else None
        if concept is not None:
            names[comp.id] = concept.names
    return names


def _codelists_by_id(dsd: DataStructure) -> dict:
    out = {}
    for ref in dsd.codelist_refs():
        cl = catalog().codelist(ref)
        if cl is not None:
            out[ref.id] = cl
    return out


@blueprint.route("/data/<flow_ref>", methods=["GET", "HEAD"])
@blueprint.route("/data/<flow_ref>/<key>", methods=["GET", "HEAD"])
@blueprint.route("/data/<flow_ref>/<key>/<providers>", methods=["GET", "HEAD"])
def data(flow_ref: str, key: str | None = None, providers: str | None = None):
    flow, dsd = find_flow(flow_ref)
    query = build_query(flow, dsd, key, providers)
    fmt, media_params = choose_format(DATA_FORMATS, DEFAULT_DATA_FORMAT)
    at_obs = dimension_at_observation(dsd, fmt)
    check_query(query, fmt, store())
    langs = languages()

    last_modified = store().last_modified(str(flow.ref))
    etag = etag_for(last_modified, request.full_path, fmt.content_type, ",".join(langs or ("*",)),
                    request.headers.get("Accept-Encoding", ""), query.viewer or "",
                    request.headers.get("Range", ""), request.headers.get("X-Range", ""))
    # What a provider sees of its own embargoed data is for it alone.
    private = {"Cache-Control": "private"} if query.viewer else {}
    if not_modified(etag, last_modified):
        return respond(b"", fmt, status=304, last_modified=last_modified, etag=etag, headers=private)

    limit = settings().max_response_observations
    # A page (Range / X-Range: values=a-b) of observations; ignored, as HTTP allows, where it has no meaning.
    page = requested_page(request.headers)
    if query.detail in ("serieskeysonly", "nodata") or query.updated_after or query.include_history:
        page = None
    total = None
    if query.detail not in ("serieskeysonly", "nodata"):
        total = store().count(query)
        check_page(page, total, limit)

    if query.detail in ("serieskeysonly", "nodata"):
        # Cross-sections and flat observations are cut from observations, which these details leave out:
        # the series are written as time series (the message header says so).
        at_obs = TIME_PERIOD
    pivot = at_obs not in (TIME_PERIOD, ALL_DIMENSIONS)

    def shaped(found):
        found = cut(found, page) if page is not None else found
        return regroup(found, dsd, at_obs) if pivot else found

    rows, close = answer_rows(store(), query, limit, shaped)
    ctx = WriteContext(
        structure=dsd, dataflow=flow, codelists=_codelists_by_id(dsd), dimension_at_observation=at_obs,
        detail=query.detail, languages=langs or ("en",),
        labels=request.args.get("labels") or media_params.get("labels", "id"),
        time_format=request.args.get("timeFormat") or media_params.get("timeformat", "original"),
        keys=request.args.get("keys") or media_params.get("keys", "none"),
        component_names=component_names(dsd), self_link=request.url,
        # SDMX-CSV 2.0: the header "should contain" ACTION (field guide); sdmx1 reads no file without it.
        with_action=fmt.media_type.endswith("+csv") and fmt.version == "2.0.0",
    )
    try:
        body = fmt.writer(rows, ctx)
    except ValueError as exc:
        close()
        raise SyntaxProblem(str(exc)) from None
    headers = dict(private)
    if page is not None:
        headers["Content-Range"] = page.content_range(total)
    return respond(body, fmt, status=206 if page is not None else 200, last_modified=last_modified, etag=etag,
                   on_close=close, headers=headers,
                   filename=f"{flow.ref.id}.csv" if request.args.get("format", "").startswith("csvfile") else None)
