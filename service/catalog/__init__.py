"""The catalog: every structural artefact of dsd/ and codelists/, loaded once at start.

Reads files through ``source``; imports the model only. Lookups by SDMX
resource name, agency, id and version serve the CLI, the mappings and the API.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from ..model.report import Report
from ..model.structure import (
    AgencyScheme,
    Codelist,
    ConceptScheme,
    ConstraintAttachment,
    ContentConstraint,
    CubeRegion,
    DataProviderScheme,
    DataStructure,
    Dataflow,
    Maintainable,
    MaintainableRef,
    ProvisionAgreement,
)
from .source import SourceLoader

#: The folder that holds dsd/ and codelists/ in a checkout.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Catalog:
    codelists: list[Codelist] = field(default_factory=list)
    concept_schemes: list[ConceptScheme] = field(default_factory=list)
    data_structures: list[DataStructure] = field(default_factory=list)
    dataflows: list[Dataflow] = field(default_factory=list)
    constraints: list[ContentConstraint] = field(default_factory=list)
    agency_schemes: list[AgencyScheme] = field(default_factory=list)
    provider_schemes: list[DataProviderScheme] = field(default_factory=list)
    provision_agreements: list[ProvisionAgreement] = field(default_factory=list)
    report: Report = field(default_factory=Report)
    #: Digest of the source files: the same structures give the same value on every replica (ETags).
    fingerprint: str = ""

    # -- lookups ---------------------------------------------------------
    def artefacts(self, kind: str) -> list[Maintainable]:
        """All artefacts of one SDMX-REST resource name (``codelist``, ``dataflow``...)."""
        return {
            "codelist": self.codelists,
            "conceptscheme": self.concept_schemes,
            "datastructure": self.data_structures,
            "dataflow": self.dataflows,
            "contentconstraint": self.constraints,
            "agencyscheme": self.agency_schemes,
            "dataproviderscheme": self.provider_schemes,
            "provisionagreement": self.provision_agreements,
        }.get(kind, [])

    def all_artefacts(self) -> Iterator[Maintainable]:
        for kind in ("agencyscheme", "dataproviderscheme", "codelist", "conceptscheme", "datastructure",
                     "dataflow", "provisionagreement", "contentconstraint"):
            yield from self.artefacts(kind)

    def get(self, kind: str, ref: MaintainableRef) -> Maintainable | None:
        return next((a for a in self.artefacts(kind) if a.ref == ref), None)

    def codelist(self, ref: MaintainableRef | str) -> Codelist | None:
        return self._find(self.codelists, ref)

    def dataflow(self, ref: MaintainableRef | str) -> Dataflow | None:
        return self._find(self.dataflows, ref)

    def structure_of(self, flow: Dataflow) -> DataStructure | None:
        return self.get("datastructure", flow.structure) if flow.structure else None

    def constraint_of(self, flow: Dataflow) -> ContentConstraint | None:
        return next((c for c in self.constraints if c.attachment is not None
                     and c.attachment.kind == "dataflow" and c.attachment.ref == flow.ref), None)

    def provision_agreements_of(self, provider_id: str) -> list[ProvisionAgreement]:
        return [pa for pa in self.provision_agreements if pa.provider == provider_id]

    def allowed_ref_areas(self, provider_id: str, flow: Dataflow) -> frozenset[str]:
        """REF_AREA codes a provider may report for a dataflow (empty: none)."""
        for pa in self.provision_agreements:
            if pa.provider == provider_id and pa.dataflow == flow.ref:
                for cons in self.constraints:
                    if cons.attachment and cons.attachment.kind == "provisionagreement" and cons.attachment.ref == pa.ref:
                        return cons.allowed("REF_AREA") or frozenset()
        return frozenset()

    @staticmethod
    def _find(items: Iterable[Maintainable], ref: MaintainableRef | str) -> Maintainable | None:
        if isinstance(ref, MaintainableRef):
            return next((a for a in items if a.ref == ref), None)
        # a bare id, AGENCY:ID, AGENCY:ID(VERSION) or AGENCY,ID,VERSION
        parts = ref.replace("(", ",").rstrip(")").replace(":", ",").split(",")
        if len(parts) == 1:
            matches = [a for a in items if a.ref.id == parts[0]]
        elif len(parts) == 2:
            matches = [a for a in items if (a.ref.agency, a.ref.id) == tuple(parts)]
        else:
            matches = [a for a in items if (a.ref.agency, a.ref.id, a.ref.version) == tuple(parts[:3])]
        return max(matches, key=lambda a: _version_key(a.ref.version)) if matches else None


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def descendants(codelist: Codelist, root: str) -> list[str]:
    """``root`` and every code below it by parent links, in codelist order."""
    children: dict[str, list[str]] = {}
    for code in codelist.items:
        if code.parent:
            children.setdefault(code.parent, []).append(code.id)
    out, stack = [], [root]
    while stack:
        code = stack.pop()
        if code in out:
            continue
        out.append(code)
        stack.extend(reversed(children.get(code, [])))
    order = {c.id: i for i, c in enumerate(codelist.items)}
    return sorted(out, key=lambda c: order.get(c, -1))


def load_catalog(root: Path | str = PROJECT_ROOT) -> Catalog:
    """Read dsd/ and codelists/ under ``root``; problems are in ``catalog.report``."""
    loader = SourceLoader(Path(root))
    catalog = Catalog(report=loader.report)
    catalog.codelists = loader.codelists()
    scheme = loader.concept_scheme()
    catalog.concept_schemes = [scheme] if scheme else []
    catalog.data_structures = loader.data_structures()
    catalog.dataflows, catalog.constraints = loader.dataflows()
    agencies, providers, grants = loader.organisations()
    catalog.agency_schemes = [agencies] if agencies else []
    catalog.provider_schemes = [providers] if providers else []
    _add_provision_agreements(catalog, providers, grants, loader)
    catalog.fingerprint = _fingerprint(Path(root))
    return catalog


def _fingerprint(root: Path) -> str:
    digest = hashlib.sha256()
    for folder in ("dsd", "codelists"):
        for path in sorted((root / folder).rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def _add_provision_agreements(catalog: Catalog, providers: DataProviderScheme | None, grants: list[dict],
                              loader: SourceLoader) -> None:
    """One provision agreement per provider and dataflow, each with an Allowed REF_AREA constraint."""
    if providers is None:
        return
    area_codes = None
    for dsd in catalog.data_structures:
        dim = dsd.dimension_by_id.get("REF_AREA")
        if dim and dim.representation.codelist:
            area_codes = catalog.codelist(dim.representation.codelist)
            break
    for grant in grants:
        pid, path = grant["provider"], grant["file"]
        ref_area = grant["ref_area"]
        if not isinstance(ref_area, str):
            loader.problem("bad-provider", f"data provider {pid} needs a `ref_area` code", path, pid)
            continue
        if area_codes is None or ref_area not in area_codes:
            loader.problem("unknown-code", f"data provider {pid}: REF_AREA {ref_area!r} is not in the area codelist",
                           path, pid, value=ref_area)
            continue
        areas = tuple(descendants(area_codes, ref_area))
        for flow_id in grant["dataflows"]:
            flow = catalog.dataflow(str(flow_id))
            if flow is None:
                loader.problem("unknown-reference", f"data provider {pid}: dataflow {flow_id!r} does not exist",
                               path, pid, value=str(flow_id))
                continue
            pa_ref = MaintainableRef(providers.ref.agency, f"PA_{pid}_{flow.ref.id}", "1.0")
            catalog.provision_agreements.append(ProvisionAgreement(
                ref=pa_ref,
                names={"en": f"{pid} reports {flow.ref.id}", "ru": f"{pid} представляет {flow.ref.id}"},
                dataflow=flow.ref, provider_scheme=providers.ref, provider=pid))
            catalog.constraints.append(ContentConstraint(
                ref=MaintainableRef(providers.ref.agency, f"CN_PA_{pid}_{flow.ref.id}", "1.0"),
                names={"en": f"Areas {pid} may report in {flow.ref.id}",
                       "ru": f"Территории, по которым {pid} представляет {flow.ref.id}"},
                role="Allowed", attachment=ConstraintAttachment("provisionagreement", pa_ref),
                regions=(CubeRegion({"REF_AREA": areas}),)))
