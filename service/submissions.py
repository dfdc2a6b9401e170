"""The one path data takes in: parse -> check permission -> validate -> store, all or nothing.

``migstat load``, the demo loader and the push API all call ``submit``. The
message is read lazily and validated while the store writes it inside one
transaction; if any problem is found by the end, the transaction is rolled
back, so nothing is half-written, and a rejected submission keeps its report
in the audit trail.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Iterator, Mapping

from .catalog import Catalog
from .errors import Conflict, Forbidden, NotFound, SemanticProblem, ServiceError, SyntaxProblem, Unavailable
from .errors import UnsupportedMediaType
from .formats.reading import ReadError, catalog_lookup, iter_data
from .model.data import DELETE, DataSet, Series
from .model.report import Report
from .model.validate import DataValidator
from .store import Store, StoreConflict, StoreError, SubmissionInfo, WriteSummary


class Rejected(SemanticProblem):
    """The data broke validation rules; ``report`` holds every problem (422)."""


class _Invalid(Exception):
    """Raised inside the write transaction so the store rolls it back."""


@dataclass
class SubmissionResult:
    summary: WriteSummary
    report: Report
    provider: str

    def describe(self) -> str:
        added = sum(d.added for d in self.summary.datasets)
        replaced = sum(d.replaced for d in self.summary.datasets)
        deleted = sum(d.deleted for d in self.summary.datasets)
        return (f"accepted: {added} observations added, {replaced} replaced, {deleted} deleted, "
                f"submission {self.summary.submission_id}")


def provider_for(catalog: Catalog, ref_area: str) -> str | None:
    """The only data provider allowed to report ``ref_area`` (None when none or several)."""
    providers = {pa.provider for pa in catalog.provision_agreements
                 if ref_area in catalog.allowed_ref_areas(pa.provider, catalog.get("dataflow", pa.dataflow))}
    return providers.pop() if len(providers) == 1 else None


class _Checker:
    """Validates each dataset's series as they stream and checks the provider may write them."""

    def __init__(self, catalog: Catalog, provider: str | None, report: Report, dataflow: str | None = None,
                 actions: Mapping[str, str] | None = None):
        self.catalog, self.provider, self.report = catalog, provider, report
        self.only = catalog.dataflow(dataflow) if dataflow else None
        self.actions = actions or {}
        self.validators: dict[str, DataValidator] = {}
        self.areas: dict[str, frozenset[str]] = {}
        self.forbidden = 0

    def datasets(self, datasets: Iterable[DataSet]) -> Iterator[DataSet]:
        for dataset in datasets:
            flow = self.catalog.dataflow(dataset.dataflow)
            if flow is None:
                raise NotFound(f"dataflow {dataset.dataflow!r} does not exist")
            if self.only is not None and flow.ref != self.only.ref:
                raise SyntaxProblem(f"the message holds data of {flow.ref} but was sent to the resource of "
                                    f"{self.only.ref}; send it to /data/ or to its own dataflow")
            action = self.actions.get(dataset.action, dataset.action)
            yield DataSet(str(flow.ref), self.series(flow, dataset, action), action, dataset.attributes)

    def series(self, flow, dataset: DataSet, action: str) -> Iterator[Series]:
        dsd = self.catalog.structure_of(flow)
        key = str(flow.ref)
        if key not in self.validators:
            codelists = {ref: cl for ref in dsd.codelist_refs() if (cl := self.catalog.codelist(ref))}
            self.validators[key] = DataValidator(dsd, codelists, self.catalog.constraint_of(flow), self.report)
            if self.provider is not None:
                self.areas[key] = self.catalog.allowed_ref_areas(self.provider, flow)
                if not self.areas[key]:
                    raise Forbidden(f"data provider {self.provider} has no provision agreement for {flow.ref.id}; "
                                    "it may not write this dataflow")
        validator = self.validators[key]
        area_index = dsd.dimension_ids.index("REF_AREA") if "REF_AREA" in dsd.dimension_ids else None
        allowed = self.areas.get(key)
        deleting = action == DELETE
        for one in dataset.series:
            # An empty code in a Delete is a wildcard; the store deletes only the provider's own series.
            if allowed is not None and area_index is not None and len(one.key) > area_index \
                    and one.key[area_index] not in allowed and not (deleting and not one.key[area_index]):
                self.forbidden += 1
                self.report.error("not-permitted", f"{self.provider} may not write REF_AREA "
                                  f"{one.key[area_index]} in {flow.ref.id}", object_id="REF_AREA",
                                  value=one.key[area_index], **(one.origin.as_where() if one.origin else {}))
                continue
            # Once anything is wrong nothing more goes to the store (the write will be rolled back);
            # the rest is still checked so that the report is complete.
            if deleting:  # a deletion names series and periods; values and attributes may be absent
                _check_deletion_key(validator, one)
                if self.report.valid:
                    yield one
            else:
                for checked in validator([one]):
                    if self.report.valid:
                        yield checked


def submit(catalog: Catalog, store: Store, body: bytes, content_type: str | None, *, provider: str | None = None,
           dataflow: str | None = None, release_at: datetime | None = None, report_limit: int = 1000,
           infer_provider: bool = False, actions: Mapping[str, str] | None = None,
           as_received: tuple[bytes, str] | None = None) -> SubmissionResult:
    """Store a data message, or raise: 400 unreadable, 403 not permitted, 404 unknown flow, 409, 422 invalid.

    ``provider`` None with ``infer_provider`` (the command line acting for the
    provider of the data's REF_AREA) takes the provider from the first series.
    ``dataflow``: the flow of a per-dataflow request; a DSD reference in the
    message means it, and data of any other flow is refused (400).
    ``actions`` maps the dataset actions read to those applied (``PUT``:
    Merge becomes Replace). ``as_received`` (bytes, content type) is what the
    audit trail keeps when ``body`` was made from it (an uploaded national table).
    """
    report = Report(limit=report_limit)
    kept_body, kept_type = as_received if as_received is not None else (body, content_type or "")
    final: dict = {}  # the report of an accepted submission, filled when the data has all been checked
    info = SubmissionInfo(content_type=kept_type, body=kept_body, release_at=release_at, report=final)
    try:
        datasets = iter(iter_data(body, content_type, catalog_lookup(catalog, dataflow)))
        if provider is None:
            if not infer_provider:
                raise Forbidden("a data provider is required to write data")
            datasets, provider = _infer(catalog, datasets)
        checker = _Checker(catalog, provider, report, dataflow, actions)

        def checked() -> Iterator[DataSet]:
            yield from checker.datasets(datasets)
            if not report.valid:
                raise _Invalid()
            final.update(report_dict(report))

        summary = store.write(checked(), provider=provider, submission=info)
    except _Invalid:
        refused = report_dict(report)
        rejected_id = _reject(store, provider, info, report)
        if rejected_id is not None:
            refused["submission"] = rejected_id  # the audit record: GET /submissions/{id}
        if checker.forbidden and checker.forbidden == report.error_count:
            raise Forbidden(f"{report.error_count} series are outside what {provider} may write; nothing was written",
                            report=refused) from None
        raise Rejected(f"the data has {report.error_count} error(s); nothing was written", report=refused) from None
    except ReadError as exc:
        if provider is not None:
            report.add(exc.problem())
            _reject(store, provider, info, report)
        if exc.code == "unknown-structure":
            raise NotFound(str(exc)) from None
        if exc.code == "unsupported-media-type":
            raise UnsupportedMediaType(str(exc)) from None
        raise SyntaxProblem(f"the message cannot be read: {exc}") from None
    except StoreConflict as exc:
        raise Conflict(f"a concurrent submission changed the same data; nothing was written, try again ({exc})") \
            from None
    except StoreError as exc:
        raise Unavailable(f"the store could not write the data; nothing was written ({exc})") from None
    except ServiceError as exc:
        if provider is not None and exc.status in (403, 404):
            report.error("refused", exc.detail)
            _reject(store, provider, info, report)
        raise
    return SubmissionResult(summary, report, provider)


def report_dict(report: Report) -> dict:
    """The report as the API and the audit trail give it: in a data message the column of a
    problem found on a row is the component it concerns (SDMX-CSV names columns by component)."""
    data = report.to_dict()
    for problem in data["problems"]:
        if problem.get("row") is not None and not problem.get("column") and problem.get("object_id"):
            problem["column"] = problem["object_id"]
    return data


def _check_deletion_key(validator: DataValidator, one: Series) -> None:
    """A Delete may leave dimensions out (bulk deletion); the codes it gives must exist."""
    dims = validator.dimension_ids
    if len(one.key) != len(dims):
        validator.check_key(one.key, one.origin)  # reports the wrong length
        return
    for dim_id, code in zip(dims, one.key):
        if code:
            validator.check_code(dim_id, code, one.origin)


def _infer(catalog: Catalog, datasets: Iterator[DataSet]) -> tuple[Iterator[DataSet], str]:
    first = next(datasets, None)
    if first is None:
        raise SyntaxProblem("the message holds no dataset")
    series = iter(first.series)
    head = next(series, None)
    flow = catalog.dataflow(first.dataflow)
    dsd = catalog.structure_of(flow) if flow is not None else None
    if head is None or dsd is None or "REF_AREA" not in dsd.dimension_ids:
        raise SyntaxProblem("cannot tell the data provider from the message; name it (--provider)")
    area = head.key[dsd.dimension_ids.index("REF_AREA")]
    provider = provider_for(catalog, area)
    if provider is None:
        raise SyntaxProblem(f"no single data provider reports REF_AREA {area}; name it (--provider)")
    rebuilt = DataSet(first.dataflow, itertools.chain([head], series), first.action, first.attributes)
    return itertools.chain([rebuilt], datasets), provider


def _reject(store: Store, provider: str | None, info: SubmissionInfo, report: Report) -> int | None:
    """Record a refused submission; its id, or None when there is no provider or the store failed."""
    if provider is None:
        return None
    try:
        return store.record_rejected(provider=provider, submission=info, report=report_dict(report))
    except StoreError:
        return None  # the refusal itself stands; the audit row is best effort when the store is failing
