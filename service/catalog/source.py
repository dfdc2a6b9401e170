"""Read the reviewable source form of the structures (dsd/*.yaml, codelists/*.csv) into the model.

Problems found while reading (a missing field, an unreadable file, a bad
reference) are collected in a Report with the file and id they concern, so
``migstat check`` can list them all at once; reading goes on where it can.

Source form
-----------
codelists/index.yaml   agency, then one entry per codelist id: version, names, description, annotations
codelists/<ID>.csv     id, parent, name:<lang>..., description:<lang>..., ann:<TYPE>... (blank = absent)
dsd/concepts.yaml      the concept scheme
dsd/DSD_*.yaml         a data structure definition
dsd/dataflows.yaml     dataflows, each with its Allowed constraint
dsd/organisations.yaml the maintenance agency and the data providers (ref_area + dataflows)
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import yaml

from ..model.report import Report
from ..model.structure import (
    OBSERVATION,
    SERIES,
    DATASET,
    Agency,
    AgencyScheme,
    Annotation,
    Attribute,
    Code,
    Codelist,
    Concept,
    ConceptRef,
    ConceptScheme,
    ConstraintAttachment,
    ContentConstraint,
    CubeRegion,
    DataProvider,
    DataProviderScheme,
    DataStructure,
    Dataflow,
    Dimension,
    MaintainableRef,
    PrimaryMeasure,
    ProvisionAgreement,
    Representation,
    TimeDimension,
)

ID_RE = re.compile(r"^[A-Za-z0-9_@$\-]+$")
REF_RE = re.compile(r"^(?P<agency>[A-Za-z][A-Za-z0-9_\-.]*):(?P<id>[A-Za-z0-9_@$\-]+)\((?P<version>[0-9.]+)\)$")
ATTACHMENTS = (OBSERVATION, SERIES, DATASET)


class SourceLoader:
    """Reads one project tree (a folder holding dsd/ and codelists/)."""

    def __init__(self, root: Path, report: Report | None = None):
        self.root = Path(root)
        self.report = report if report is not None else Report(limit=10_000)

    # -- helpers ---------------------------------------------------------
    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def problem(self, code: str, message: str, path: Path, object_id: str | None = None, **kw: Any) -> None:
        self.report.error(code, message, file=self.rel(path), object_id=object_id, **kw)

    def read_yaml(self, path: Path) -> Any:
        try:
            with open(path, encoding="utf-8") as fh:
                return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # in C where there
        except FileNotFoundError:
            self.problem("missing-file", f"{self.rel(path)} does not exist", path)
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            self.problem("unreadable-file", f"cannot parse {self.rel(path)}: {exc}", path)
        return None

    def names(self, data: Any, path: Path, object_id: str, key: str = "names") -> dict[str, str]:
        value = (data or {}).get(key) if isinstance(data, dict) else None
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            self.problem("bad-names", f"{key} of {object_id} must map language codes to text", path, object_id)
            return {}
        return {str(k): v.strip() for k, v in value.items() if v and v.strip()}

    def annotations(self, data: Any, path: Path, object_id: str) -> tuple[Annotation, ...]:
        raw = (data or {}).get("annotations") if isinstance(data, dict) else None
        if not raw:
            return ()
        out = []
        if not isinstance(raw, list):
            self.problem("bad-annotation", f"annotations of {object_id} must be a list", path, object_id)
            return ()
        for ann in raw:
            if not isinstance(ann, dict) or not isinstance(ann.get("type"), str) or not ann["type"].strip():
                self.problem("bad-annotation", f"an annotation of {object_id} has no type", path, object_id)
                continue
            text = ann.get("text") or {}
            if isinstance(text, str):
                text = {"en": text}
            out.append(Annotation(type=ann["type"], title=None if ann.get("title") is None else str(ann["title"]),
                                  text=text, id=ann.get("id"), url=ann.get("url")))
        return tuple(out)

    def check_id(self, value: Any, path: Path, what: str) -> str | None:
        if not isinstance(value, str) or not ID_RE.match(value):
            self.problem("invalid-id", f"{what} has an invalid id {value!r} (letters, digits, _ @ $ - only)", path,
                         str(value))
            return None
        return value

    # -- codelists -------------------------------------------------------
    def codelists(self) -> list[Codelist]:
        folder = self.root / "codelists"
        index_path = folder / "index.yaml"
        index = self.read_yaml(index_path)
        if not isinstance(index, dict) or not isinstance(index.get("codelists"), dict):
            if index is not None:
                self.problem("bad-index", "codelists/index.yaml needs `agency` and a `codelists` mapping", index_path)
            return []
        agency = index.get("agency", "CAMIG")
        result = []
        for cl_id, meta in index["codelists"].items():
            if self.check_id(cl_id, index_path, "codelist") is None:
                continue
            meta = meta or {}
            ref = MaintainableRef(meta.get("agency", agency), cl_id, str(meta.get("version", "1.0")))
            csv_path = folder / f"{cl_id}.csv"
            items = self.codes(csv_path, cl_id)
            result.append(Codelist(ref=ref, names=self.names(meta, index_path, cl_id),
                                   descriptions=self.names(meta, index_path, cl_id, "description"),
                                   annotations=self.annotations(meta, index_path, cl_id), items=tuple(items)))
        listed = set(index["codelists"])
        for path in sorted(folder.glob("*.csv")):
            if path.stem not in listed:
                self.problem("unlisted-codelist", f"{path.name} is not listed in codelists/index.yaml", path)
        return result

    def codes(self, path: Path, cl_id: str) -> list[Code]:
        try:
            with open(path, encoding="utf-8", newline="") as fh:
                rows = list(csv.reader(fh))
        except FileNotFoundError:
            self.problem("missing-file", f"codelist {cl_id} has no file {self.rel(path)}", path, cl_id)
            return []
        except UnicodeDecodeError as exc:
            self.problem("unreadable-file", f"{self.rel(path)} is not UTF-8: {exc}", path, cl_id)
            return []
        if not rows:
            self.problem("empty-codelist", f"{self.rel(path)} is empty", path, cl_id)
            return []
        header = [h.strip() for h in rows[0]]
        if "id" not in header:
            self.problem("bad-header", f"{self.rel(path)} has no `id` column", path, cl_id)
            return []
        for col in header:
            if col not in ("id", "parent") and not re.match(r"^(name|description):[a-z]{2,3}$|^ann:[A-Za-z0-9_]+$", col):
                self.problem("bad-header", f"{self.rel(path)}: unknown column {col!r} (expected id, parent, "
                             "name:<lang>, description:<lang> or ann:<TYPE>)", path, cl_id, column=col)
        codes = []
        for line_no, row in enumerate(rows[1:], start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                self.problem("bad-row", f"{self.rel(path)} row {line_no} has {len(row)} cells, header has "
                             f"{len(header)}", path, cl_id, row=line_no)
                continue
            cells = dict(zip(header, (c.strip() for c in row)))
            code_id = cells["id"]
            if not ID_RE.match(code_id):
                self.problem("invalid-id", f"code {code_id!r} of {cl_id} is not a valid SDMX id", path,
                             f"{cl_id}.{code_id}", row=line_no, value=code_id)
                continue
            names = {k[5:]: v for k, v in cells.items() if k.startswith("name:") and v}
            descs = {k[12:]: v for k, v in cells.items() if k.startswith("description:") and v}
            anns = tuple(Annotation(type=k[4:], title=v) for k, v in cells.items() if k.startswith("ann:") and v)
            codes.append(Code(id=code_id, names=names, descriptions=descs, parent=cells.get("parent") or None,
                              annotations=anns))
        return codes

    # -- concepts --------------------------------------------------------
    def concept_scheme(self) -> ConceptScheme | None:
        path = self.root / "dsd" / "concepts.yaml"
        data = self.read_yaml(path)
        if not isinstance(data, dict):
            return None
        ref = self.maintainable_ref(data, path)
        concepts = []
        for raw in data.get("concepts") or []:
            cid = self.check_id((raw or {}).get("id"), path, "concept")
            if cid is None:
                continue
            concepts.append(Concept(id=cid, names=self.names(raw, path, cid),
                                    descriptions=self.names(raw, path, cid, "description"),
                                    annotations=self.annotations(raw, path, cid)))
        return ConceptScheme(ref=ref, names=self.names(data, path, ref.id),
                             descriptions=self.names(data, path, ref.id, "description"),
                             annotations=self.annotations(data, path, ref.id), items=tuple(concepts))

    def maintainable_ref(self, data: dict, path: Path, default_agency: str = "CAMIG") -> MaintainableRef:
        art_id = self.check_id(data.get("id"), path, "artefact") or "INVALID"
        return MaintainableRef(str(data.get("agency", default_agency)), art_id, str(data.get("version", "1.0")))

    def parse_ref(self, text: Any, path: Path, object_id: str, agency: str = "CAMIG") -> MaintainableRef | None:
        """A reference written ``AGENCY:ID(VERSION)`` or as a bare id (agency CAMIG, version 1.0)."""
        if isinstance(text, str):
            match = REF_RE.match(text)
            if match:
                return MaintainableRef(match["agency"], match["id"], match["version"])
            if ID_RE.match(text):
                return MaintainableRef(agency, text, "1.0")
        self.problem("bad-reference", f"{object_id}: cannot read the reference {text!r}", path, object_id)
        return None

    # -- data structures -------------------------------------------------
    def data_structures(self) -> list[DataStructure]:
        return [dsd for path in sorted((self.root / "dsd").glob("DSD_*.yaml"))
                if (dsd := self.data_structure(path)) is not None]

    def data_structure(self, path: Path) -> DataStructure | None:
        data = self.read_yaml(path)
        if not isinstance(data, dict):
            return None
        ref = self.maintainable_ref(data, path)
        scheme = self.parse_ref(data.get("concepts"), path, ref.id) or MaintainableRef("CAMIG", "CS_MIGR")

        def concept(cid: str) -> ConceptRef:
            return ConceptRef(scheme, cid)

        def representation(raw: dict, cid: str) -> Representation:
            if raw.get("codelist"):
                cl = self.parse_ref(raw["codelist"], path, cid, ref.agency)
                return Representation(codelist=cl)
            if raw.get("text"):
                return Representation(text_type=str(raw["text"]))
            self.problem("no-representation", f"{cid} needs a `codelist` or a `text` type", path, cid)
            return Representation(text_type="String")

        dimensions = []
        for pos, raw in enumerate(data.get("dimensions") or [], start=1):
            did = self.check_id((raw or {}).get("id"), path, "dimension")
            if did:
                dimensions.append(Dimension(did, concept(raw.get("concept", did)), representation(raw, did), pos))
        time_id = data.get("time_dimension") or "TIME_PERIOD"
        attributes = []
        for raw in data.get("attributes") or []:
            aid = self.check_id((raw or {}).get("id"), path, "attribute")
            if not aid:
                continue
            attachment = raw.get("attachment", OBSERVATION)
            if attachment not in ATTACHMENTS:
                self.problem("bad-attachment", f"attribute {aid}: attachment must be one of {ATTACHMENTS}", path, aid)
                attachment = OBSERVATION
            attributes.append(Attribute(aid, concept(raw.get("concept", aid)), representation(raw, aid), attachment,
                                        bool(raw.get("mandatory", False)), self.annotations(raw, path, aid)))
        measure_id = data.get("measure") or "OBS_VALUE"
        return DataStructure(ref=ref, names=self.names(data, path, ref.id),
                             descriptions=self.names(data, path, ref.id, "description"),
                             annotations=self.annotations(data, path, ref.id),
                             dimensions=tuple(dimensions), time_dimension=TimeDimension(time_id, concept(time_id)),
                             attributes=tuple(attributes), measure=PrimaryMeasure(measure_id, concept(measure_id)))

    # -- dataflows and their constraints ----------------------------------
    def dataflows(self) -> tuple[list[Dataflow], list[ContentConstraint]]:
        path = self.root / "dsd" / "dataflows.yaml"
        data = self.read_yaml(path)
        flows, constraints = [], []
        if not isinstance(data, dict):
            return flows, constraints
        for raw in data.get("dataflows") or []:
            raw = raw or {}
            ref = self.maintainable_ref(raw, path)
            flows.append(Dataflow(ref=ref, names=self.names(raw, path, ref.id),
                                  descriptions=self.names(raw, path, ref.id, "description"),
                                  annotations=self.annotations(raw, path, ref.id),
                                  structure=self.parse_ref(raw.get("structure"), path, ref.id, ref.agency)))
            members = raw.get("constraint") or {}
            if not isinstance(members, dict):
                self.problem("bad-constraint", f"constraint of {ref.id} must map component ids to code lists", path,
                             ref.id)
                continue
            cube = {str(k): tuple(str(c) for c in (v if isinstance(v, list) else [v])) for k, v in members.items()}
            constraints.append(ContentConstraint(
                ref=MaintainableRef(ref.agency, f"CN_{ref.id}", ref.version),
                names={"en": f"Allowed content of {ref.id}", "ru": f"Допустимое содержание {ref.id}"},
                role="Allowed", attachment=ConstraintAttachment("dataflow", ref), regions=(CubeRegion(cube),)))
        return flows, constraints

    # -- organisations ---------------------------------------------------
    def organisations(self) -> tuple[AgencyScheme | None, DataProviderScheme | None, list[dict[str, Any]]]:
        path = self.root / "dsd" / "organisations.yaml"
        data = self.read_yaml(path)
        if not isinstance(data, dict):
            return None, None, []
        agencies = []
        for raw in data.get("agencies") or []:
            aid = self.check_id((raw or {}).get("id"), path, "agency")
            if aid:
                agencies.append(Agency(aid, self.names(raw, path, aid)))
        agency_scheme = AgencyScheme(ref=MaintainableRef("SDMX", "AGENCIES", "1.0"),
                                     names={"en": "SDMX Agency Scheme", "ru": "Схема агентств SDMX"},
                                     items=tuple(agencies))
        raw_dp = data.get("data_providers") or {}
        dp_ref = self.maintainable_ref({"id": "DATA_PROVIDERS", **raw_dp}, path)
        providers, grants = [], []
        for raw in raw_dp.get("providers") or []:
            pid = self.check_id((raw or {}).get("id"), path, "data provider")
            if not pid:
                continue
            providers.append(DataProvider(pid, self.names(raw, path, pid), annotations=self.annotations(raw, path, pid)))
            grants.append({"provider": pid, "ref_area": raw.get("ref_area"),
                           "dataflows": list(raw.get("dataflows") or []), "file": path})
        provider_scheme = DataProviderScheme(ref=dp_ref, names=self.names(raw_dp, path, dp_ref.id),
                                             items=tuple(providers))
        return agency_scheme, provider_scheme, grants
