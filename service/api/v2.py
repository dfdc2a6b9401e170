"""SDMX-REST 2.x data queries: ``/v2/data/{context}/{agencyID}/{resourceID}/{version}/{key}``.

Rule: the 2.x URL is translated into the same DataQuery the 1.5.0 endpoint builds, and answered
the same way (``changes.answer_rows``: updatedAfter, includeHistory, asOf), with what 2.x adds:

- context ``dataflow``, ``datastructure`` (the dataflows using it) or ``provisionagreement`` (its
  dataflow, its provider's data only); agency, id and version lists with ``*``; version ``+``
  (latest stable), ``~`` (latest) or exact; version ranges (``1.+.0``, ``2.3+``...) answer 501.
  One dataflow must hold the data asked for: data of several dataflows in one message answers
  501 naming them (narrow the key or the resource);
- keys: ``,`` between several keys, ``*`` (or nothing) for any code, trailing positions may be
  left out, ``+`` between codes of one position (the 1.5.0 form) is accepted too;
- ``c[COMPONENT]`` filters (``filters``: dimensions and TIME_PERIOD go to the store, attributes
  and OBS_VALUE are applied while streaming);
- ``attributes`` (dsd, msd, dataset, series, obs, all, none or ids) and ``measures`` (all, none or
  OBS_VALUE): no attributes is the store's ``dataonly``; no measure its ``nodata`` (or
  ``serieskeysonly`` without attributes); subsets are applied while streaming;
- ``sort``: ``series_key``, ``*`` and TIME_PERIOD (asc or desc) follow the store's order (series
  keys as text, then time); other orders answer 501;
- ``offset``/``limit`` and the Range header: ``paging``; an empty answer is 204;
- ``X-Release: PIT`` (a preview of embargoed data) needs the token of a provider of the dataflow:
  401 without one, 403 for another provider (a valid token always shows its provider's own
  embargoed data).
"""

from __future__ import annotations

import re
from itertools import chain
from typing import Iterable, Iterator

from flask import Blueprint, request

from ..auth import viewer_from_request
from ..catalog import _version_key
from ..errors import (Forbidden, NoContent, NoResults, NotFound, NotImplementedYet, SemanticProblem,
                      SyntaxProblem, Unauthorized)
from ..formats import DATA_FORMATS_V2, DEFAULT_DATA_FORMAT_V2
from ..formats.context import ALL_DIMENSIONS, TIME_PERIOD, DataSets, WriteContext
from ..model.data import Observation, Series
from ..model.query import DATA_ONLY, FULL, NO_DATA, SERIES_KEYS_ONLY, DataQuery
from ..model.structure import DataStructure, Dataflow, Maintainable
from . import catalog, settings, store
from .changes import answer_rows, check_query
from .data import component_names, dimension_at_observation, regroup
from .filters import Key, Plan, apply, parse_filters, plan
from .http import choose_format, etag_for, languages, not_modified, respond
from .paging import Page, check_page, cut, offset_limit_page, requested_page
from .params import CODE_RE, check_known, parse_count, parse_instant

blueprint = Blueprint("data_v2", __name__)

CONTEXTS = ("dataflow", "datastructure", "provisionagreement")
KNOWN_PARAMS = {"updatedAfter", "firstNObservations", "lastNObservations", "dimensionAtObservation",
                "attributes", "measures", "includeHistory", "offset", "limit", "sort", "asOf",
                "reportingYearStartDay", "format", "formatVersion", "lang", "compression", "labels",
                "timeFormat", "keys"}
VERSION_RANGE = re.compile(r"[+~*]")
ATTRIBUTE_KEYWORDS = ("dsd", "msd", "dataset", "series", "obs", "all", "none")


# -- what the path names ----------------------------------------------------------------------

def split_list(text: str) -> set[str] | None:
    """A path part's comma-separated values; None for ``*`` (any)."""
    values = {v for v in text.split(",") if v}
    return None if not values or "*" in values else values


def versions_matching(candidates: list[Maintainable], version: str) -> list[Maintainable]:
    """``*`` all, ``~`` latest, ``+`` latest stable, or exact versions; ranges are not implemented."""
    if version in ("*", ""):
        return candidates
    if version in ("~", "+", "latest"):
        pool = [a for a in candidates if a.is_final] if version == "+" else candidates
        best: dict[tuple[str, str], Maintainable] = {}
        for art in pool:
            key = (art.ref.agency, art.ref.id)
            if key not in best or _version_key(art.ref.version) > _version_key(best[key].ref.version):
                best[key] = art
        return list(best.values())
    wanted = set(version.split(","))
    ranges = [v for v in wanted if VERSION_RANGE.search(v)]
    if ranges:
        raise NotImplementedYet(f"version ranges such as {ranges[0]!r} are not implemented; use an exact version, "
                                "'+' (latest stable), '~' (latest) or '*' (all)")
    return [a for a in candidates if a.ref.version in wanted]


def matching(kind: str, agency: str, resource: str, version: str) -> list[Maintainable]:
    agencies, ids = split_list(agency), split_list(resource)
    candidates = [a for a in catalog().artefacts(kind)
                  if (agencies is None or a.ref.agency in agencies) and (ids is None or a.ref.id in ids)]
    return versions_matching(candidates, version)


def data_targets(context: str, agency: str, resource: str, version: str
                 ) -> list[tuple[Dataflow, DataStructure, tuple[str, ...] | None]]:
    """(dataflow, structure, providers) for each dataflow the path names."""
    if context not in (*CONTEXTS, "*"):
        raise SyntaxProblem(f"context {context!r} is not one of {', '.join(CONTEXTS)} or *")
    out = []
    if context in ("dataflow", "*"):
        out += [(f, None) for f in matching("dataflow", agency, resource, version)]
    if context in ("datastructure", "*"):
        refs = {d.ref for d in matching("datastructure", agency, resource, version)}
        out += [(f, None) for f in catalog().dataflows if f.structure in refs]
    if context in ("provisionagreement", "*"):
        for pa in matching("provisionagreement", agency, resource, version):
            flow = catalog().get("dataflow", pa.dataflow) if pa.dataflow else None
            if flow is not None:
                out.append((flow, (pa.provider,)))
    targets, seen = [], set()
    for flow, providers in out:
        dsd = catalog().structure_of(flow)
        if dsd is not None and (flow.ref, providers) not in seen:
            seen.add((flow.ref, providers))
            targets.append((flow, dsd, providers))
    if not targets:
        raise NotFound(f"no {context} matches agency={agency}, id={resource}, version={version}")
    return targets


def parse_keys(text: str | None, dsd: DataStructure) -> list[Key]:
    """Several keys (``,``), each with ``*`` or empty for any code and trailing positions optional."""
    if text in (None, "", "*", "all"):
        return []
    dims = dsd.dimension_ids
    keys = []
    for piece in text.split(","):
        parts = piece.split(".")
        if len(parts) > len(dims):
            raise SyntaxProblem(f"the key {piece!r} has {len(parts)} parts but {dsd.ref.id} has {len(dims)} "
                                f"dimensions ({'.'.join(dims)})")
        entries: list[tuple[str, ...] | None] = []
        for dim, part in zip(dims, parts + ["*"] * (len(dims) - len(parts))):
            if part in ("", "*"):
                entries.append(None)
                continue
            codes = tuple(dict.fromkeys(c for c in part.split("+") if c))
            if not codes or not all(CODE_RE.match(c) for c in codes):
                raise SyntaxProblem(f"the key {piece!r} has an invalid code {part!r} for dimension {dim}")
            entries.append(codes)
        keys.append(tuple(entries))
    return keys


def codelist_resolver(dsd: DataStructure):
    def codelist_of(component_id: str):
        comp = dsd.dimension_by_id.get(component_id)
        ref = comp.representation.codelist if comp is not None else None
        return catalog().codelist(ref) if ref is not None else None
    return codelist_of


# -- what the parameters ask ------------------------------------------------------------------

def parse_attributes(dsd: DataStructure, text: str | None) -> frozenset[str] | None:
    """The attribute ids to return (None: every one)."""
    values = [v for v in (text or "dsd").split(",") if v]
    keep: set[str] = set()
    for value in values:
        if value in ("dsd", "all"):
            return None
        if value in ("none", "msd"):  # no reference metadata is held here
            continue
        if value == "dataset":
            keep |= {a.id for a in dsd.attributes if a.attachment == "dataset"}
        elif value == "series":
            keep |= {a.id for a in dsd.attributes if a.attachment == "series"}
        elif value == "obs":
            keep |= {a.id for a in dsd.attributes if a.attachment == "observation"}
        elif value in dsd.attribute_by_id:
            keep.add(value)
        else:
            raise SemanticProblem(f"attributes={value!r} is neither one of {', '.join(ATTRIBUTE_KEYWORDS)} nor an "
                                  f"attribute of {dsd.ref.id}")
    return frozenset(keep)


def parse_measures(dsd: DataStructure, text: str | None) -> bool:
    """True when the measure is returned."""
    measure = dsd.measure.id if dsd.measure else "OBS_VALUE"
    values = {v for v in (text or "all").split(",") if v}
    if values - {"all", "none", measure}:
        raise SemanticProblem(f"measures={text!r}: {dsd.ref.id} has one measure, {measure}; use all, none or {measure}")
    return bool(values & {"all", measure})


def parse_sort(text: str | None, dsd: DataStructure) -> bool:
    """True when observations go in descending time order; orders the store cannot give answer 501."""
    descending = False
    for part in text.replace(" ", "+").split("+") if text else ():  # an unencoded '+' arrives as a space
        component, _, order = part.partition(":")
        if order not in ("", "asc", "desc"):
            raise SyntaxProblem(f"sort={text!r}: the order of {component} is asc or desc, not {order!r}")
        time_id = dsd.time_dimension.id if dsd.time_dimension else TIME_PERIOD
        if component == time_id:
            descending = order == "desc"
        elif component not in ("series_key", "*") or order == "desc":
            raise NotImplementedYet(f"sort={text!r}: only series_key or * ascending and {time_id} (asc or desc) are "
                                    "implemented")
    return descending


def restricted(series: Iterable[Series], keep: frozenset[str]) -> Iterator[Series]:
    """Series and observations carrying only the attributes in ``keep``."""
    for one in series:
        yield Series(one.key, [Observation(o.time_period, o.value, {k: v for k, v in o.attributes.items()
                                                                     if k in keep or k.startswith("__")})
                               for o in one.observations],
                     {k: v for k, v in one.attributes.items() if k in keep})


def reversed_time(series: Iterable[Series]) -> Iterator[Series]:
    for one in series:
        yield Series(one.key, list(reversed(one.observations)), one.attributes)


# -- the endpoint ------------------------------------------------------------------------------

@blueprint.route("/v2/data", methods=["GET", "HEAD"])
@blueprint.route("/v2/data/<context>", methods=["GET", "HEAD"])
@blueprint.route("/v2/data/<context>/<agency>", methods=["GET", "HEAD"])
@blueprint.route("/v2/data/<context>/<agency>/<resource>", methods=["GET", "HEAD"])
@blueprint.route("/v2/data/<context>/<agency>/<resource>/<version>", methods=["GET", "HEAD"])
@blueprint.route("/v2/data/<context>/<agency>/<resource>/<version>/<key>", methods=["GET", "HEAD"])
def data_v2(context: str = "*", agency: str = "*", resource: str = "*", version: str = "*", key: str = "*"):
    args = request.args
    check_known(args, KNOWN_PARAMS)
    if args.get("reportingYearStartDay") not in (None, "", "--01-01"):
        raise NotImplementedYet("reportingYearStartDay other than --01-01 is not implemented")
    if args.get("includeHistory", "false").lower() not in ("false", "true"):
        raise SyntaxProblem("includeHistory must be true or false")
    targets = data_targets(context, agency, resource, version)
    fmt, media_params = choose_format(DATA_FORMATS_V2, DEFAULT_DATA_FORMAT_V2)
    filters = parse_filters(args)
    page = offset_limit_page(args.get("offset"), args.get("limit")) or requested_page(request.headers)
    viewer = viewer_from_request()

    found = []
    for flow, dsd, providers in targets:
        how = plan(dsd, parse_keys(key, dsd), filters, codelist_resolver(dsd))
        if not how.empty:
            found.append((flow, dsd, how, build_query(flow, dsd, how, providers, viewer)))
    if len(found) > 1:
        found = [entry for entry in found if store().count(entry[3])]
        if len(found) > 1:
            raise NotImplementedYet("data of several dataflows in one message is not implemented; the query matches "
                                    f"data in {', '.join(str(f.ref) for f, *_ in found)}: name one dataflow")
    if not found:
        raise NoContent("no data with the given parameters")
    flow, dsd, how, query = found[0]
    check_release(flow, viewer, query.providers)
    return answer(flow, dsd, how, query, page, fmt, media_params)


def check_release(flow: Dataflow, viewer: str | None, providers: tuple[str, ...] | None) -> None:
    """``X-Release: PIT`` (the Data Explorer's preview of embargoed data) is for the data's own provider:
    401 without a token; 403 for a provider with no provision agreement for the dataflow, or asking
    for another provider's provision agreement."""
    if request.headers.get("X-Release", "").strip().upper() != "PIT":
        return
    if viewer is None:
        raise Unauthorized("a preview of embargoed data (X-Release: PIT) needs a data provider's token: "
                           "Authorization: Bearer <token>")
    if not any(pa.provider == viewer and pa.dataflow == flow.ref for pa in catalog().provision_agreements):
        raise Forbidden(f"{viewer} provides no data for {flow.ref} and may not preview its embargoed data")
    if providers is not None and viewer not in providers:
        raise Forbidden(f"{viewer} may preview its own embargoed data only, not that of {', '.join(providers)}")


def build_query(flow: Dataflow, dsd: DataStructure, how: Plan, providers, viewer) -> DataQuery:
    args = request.args
    with_measure = parse_measures(dsd, args.get("measures"))
    keep = parse_attributes(dsd, args.get("attributes"))
    detail = FULL if with_measure else NO_DATA
    if keep == frozenset():
        detail = DATA_ONLY if with_measure else SERIES_KEYS_ONLY
    return DataQuery(
        flow=str(flow.ref), key=how.key, providers=providers, start=how.start, end=how.end,
        updated_after=parse_instant("updatedAfter", args["updatedAfter"]) if args.get("updatedAfter") else None,
        first_n=parse_count("firstNObservations", args.get("firstNObservations")),
        last_n=parse_count("lastNObservations", args.get("lastNObservations")),
        detail=detail, as_of=parse_instant("asOf", args["asOf"]) if args.get("asOf") else None,
        include_history=args.get("includeHistory", "false").lower() == "true", viewer=viewer,
        extra={"attributes": keep} if keep else {})


def answer(flow: Dataflow, dsd: DataStructure, how: Plan, query: DataQuery, page: Page | None, fmt, media_params):
    if query.as_of is not None and query.updated_after is not None and query.updated_after > query.as_of:
        raise SemanticProblem("updatedAfter is later than asOf: ask for changes before the instant asked for")
    at_obs = dimension_at_observation(dsd, fmt)
    descending = parse_sort(request.args.get("sort"), dsd)
    check_query(query, fmt, store())
    langs = languages()
    last_modified = store().last_modified(str(flow.ref))
    etag = etag_for(last_modified, request.full_path, fmt.content_type, ",".join(langs or ("*",)),
                    request.headers.get("Accept-Encoding", ""), request.headers.get("Range", ""),
                    request.headers.get("X-Range", ""), query.viewer or "")
    private = {"Cache-Control": "private"} if query.viewer else {}
    if not_modified(etag, last_modified):
        return respond(b"", fmt, status=304, last_modified=last_modified, etag=etag, headers=private)

    limit = settings().max_response_observations
    keys_only = query.detail in (SERIES_KEYS_ONLY, NO_DATA)
    total = None if keys_only else store().count(query)
    plain = query.updated_after is None and not query.include_history
    if page is not None and not plain:
        raise NotImplementedYet("offset, limit and Range with updatedAfter or includeHistory are not implemented")
    if total is not None:
        check_page(page, total, limit)
    exact_total = None if how.streaming else total

    def shaped(series: Iterable[Series]) -> Iterable[Series]:
        rows: Iterable[Series] = series
        if how.streaming:
            rows = apply(rows, how)
        keep = query.extra.get("attributes")
        if keep is not None:
            rows = restricted(rows, keep)
        if descending:
            rows = reversed_time(rows)
        if page is not None:
            rows = cut(rows, page)
        if at_obs not in (TIME_PERIOD, ALL_DIMENSIONS):
            rows = regroup(rows, dsd, at_obs)
        return rows

    try:
        body_rows, close = answer_rows(store(), query, limit, shaped)
    except NoResults as exc:
        raise NoContent(exc.detail) from None
    if not isinstance(body_rows, DataSets):
        body_rows, close = _peeked(body_rows, close)
    ctx = WriteContext(
        structure=dsd, dataflow=flow, codelists=_codelists(dsd), dimension_at_observation=at_obs,
        detail=query.detail, languages=langs or ("en",),
        labels=request.args.get("labels") or media_params.get("labels", "id"),
        time_format=request.args.get("timeFormat") or media_params.get("timeformat", "original"),
        keys=request.args.get("keys") or media_params.get("keys", "none"),
        component_names=component_names(dsd), self_link=request.url,
        with_action=fmt.media_type.endswith("+csv") and fmt.version == "2.0.0")
    try:
        body = fmt.writer(body_rows, ctx)
    except ValueError as exc:
        close()
        raise SyntaxProblem(str(exc)) from None
    headers = dict(private)
    status = 200
    if page is not None:
        headers["Content-Range"] = page.content_range(exact_total)
        status = 206
    return respond(body, fmt, status=status, last_modified=last_modified, etag=etag, on_close=close,
                   headers=headers)


def _peeked(rows: Iterable[Series], close):
    """The rows with their first series already read: an answer emptied by streaming filters is 204."""
    iterator = iter(rows)
    try:
        first = next(iterator, None)
    except BaseException:
        close()
        raise
    if first is None:
        close()
        raise NoContent("no data with the given parameters")
    return chain([first], iterator), close


def _codelists(dsd: DataStructure) -> dict:
    return {ref.id: cl for ref in dsd.codelist_refs() if (cl := catalog().codelist(ref)) is not None}
