"""Small structures and series built by code for the tests of validation, writers and the converter."""

from __future__ import annotations

from service.model.data import Observation, Origin, Series
from service.model.structure import (
    Attribute,
    Codelist,
    ConceptRef,
    ConstraintAttachment,
    ContentConstraint,
    CubeRegion,
    DataStructure,
    Dataflow,
    Dimension,
    Item,
    MaintainableRef,
    Representation,
    TimeDimension,
)

AGENCY = "CAMIG"
SCHEME = MaintainableRef(AGENCY, "CS_TEST")
FLOW_REF = MaintainableRef(AGENCY, "DF_TEST")


def ref(cl_id: str) -> MaintainableRef:
    return MaintainableRef(AGENCY, cl_id)


def codelist(cl_id: str, codes: dict[str, str]) -> Codelist:
    return Codelist(ref=ref(cl_id), names={"en": cl_id},
                    items=tuple(Item(code, {"en": name, "ru": name}) for code, name in codes.items()))


CODELISTS = {
    ref("CL_FREQ"): codelist("CL_FREQ", {"A": "Annual", "Q": "Quarterly", "M": "Monthly"}),
    ref("CL_AREA"): codelist("CL_AREA", {"KZ": "Kazakhstan", "KG": "Kyrgyzstan", "RU": "Russia", "_T": "Total"}),
    ref("CL_IND"): codelist("CL_IND", {"IMM": "Immigrants", "EMI": "Emigrants", "NETM": "Net"}),
    ref("CL_OBS_STATUS"): codelist("CL_OBS_STATUS", {"A": "Normal", "O": "Missing", "Q": "Suppressed",
                                                     "N": "Not significant"}),
    ref("CL_CONF_STATUS"): codelist("CL_CONF_STATUS", {"F": "Free", "C": "Confidential"}),
    ref("CL_UNIT_MULT"): codelist("CL_UNIT_MULT", {"0": "Units", "3": "Thousands"}),
}


def _dim(pos: int, dim_id: str, cl_id: str) -> Dimension:
    return Dimension(dim_id, ConceptRef(SCHEME, dim_id), Representation(codelist=ref(cl_id)), pos)


def _attr(attr_id: str, attachment: str, cl_id: str | None = None, mandatory: bool = False) -> Attribute:
    rep = Representation(codelist=ref(cl_id)) if cl_id else Representation(text_type="String")
    return Attribute(attr_id, ConceptRef(SCHEME, attr_id), rep, attachment, mandatory)


STRUCTURE = DataStructure(
    ref=MaintainableRef(AGENCY, "DSD_TEST"), names={"en": "Test structure"},
    dimensions=(_dim(1, "FREQ", "CL_FREQ"), _dim(2, "REF_AREA", "CL_AREA"), _dim(3, "INDICATOR", "CL_IND"),
                _dim(4, "COUNTERPART_AREA", "CL_AREA")),
    time_dimension=TimeDimension("TIME_PERIOD", ConceptRef(SCHEME, "TIME_PERIOD")),
    attributes=(_attr("OBS_STATUS", "observation", "CL_OBS_STATUS", True),
                _attr("CONF_STATUS", "observation", "CL_CONF_STATUS"),
                _attr("COMMENT_OBS", "observation"),
                _attr("UNIT_MULT", "series", "CL_UNIT_MULT", True),
                _attr("COMMENT_TS", "series")),
)

DATAFLOW = Dataflow(ref=FLOW_REF, names={"en": "Test flow", "ru": "Тестовый поток"}, structure=STRUCTURE.ref)

CONSTRAINT = ContentConstraint(ref=MaintainableRef(AGENCY, "CN_DF_TEST"), names={"en": "Allowed"},
                               attachment=ConstraintAttachment("dataflow", FLOW_REF),
                               regions=(CubeRegion({"INDICATOR": ("IMM", "EMI", "NETM"),
                                                    "REF_AREA": ("KZ", "KG")}),))


def obs(period: str, value: float | None, status: str = "A", row: int | None = None, column: str | None = None,
        **attrs: str) -> Observation:
    origin = Origin("table.csv", None, row, column) if row is not None else None
    return Observation(period, value, {"OBS_STATUS": status, **attrs}, origin)


def series(key: str, *observations: Observation, unit_mult: str | None = "0", **attrs: str) -> Series:
    attributes = {"UNIT_MULT": unit_mult, **attrs} if unit_mult is not None else dict(attrs)
    return Series(tuple(key.split(".")), list(observations), attributes)


def sample_series() -> list[Series]:
    """Three series with a missing value, a confidential one and text needing quotes."""
    return [
        series("A.KZ.IMM._T", obs("2017", 16081.0, row=4, column="B"), obs("2018", 12000.0, row=4, column="C"),
               COMMENT_TS='arrivals, "coupons"'),
        series("A.KZ.EMI._T", obs("2017", 37704.0), obs("2018", None, "O")),
        series("A.KZ.NETM.RU", obs("2017", -26727.0, COMMENT_OBS="net, <balance> & more"),
               obs("2018", None, "Q", CONF_STATUS="C"), obs("2019", 0.5, "N")),
    ]
