"""Data writers against minimal references, on the same rows in memory, reported as ratios.

    python bench/writers.py [--observations 1000000]

References: an lxml incremental writer (``etree.xmlfile``) of the same SDMX-ML
(generic and structure-specific), and an equivalent dict dumped by orjson for
SDMX-JSON. Rows are built once, as the store would hand them over, with the
16-dimension key of the project DSD, 20 years per series, OBS_STATUS on every
observation and two series attributes. Times are the best of three runs.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import orjson
from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.formats.context import WriteContext  # noqa: E402
from service.formats.sdmx_json_data import write_sdmx_json_data_10, write_sdmx_json_data_20  # noqa: E402
from service.formats.sdmx_ml30_data import write_sdmx_ml30_data  # noqa: E402
from service.formats.sdmx_ml_generic import write_generic_data  # noqa: E402
from service.model.data import Observation, Series, format_value  # noqa: E402
from service.model.structure import (  # noqa: E402
    OBSERVATION, SERIES, Attribute, ConceptRef, DataStructure, Dataflow, Dimension, MaintainableRef,
    PrimaryMeasure, Representation, TimeDimension)

DIMS = ("FREQ", "REF_AREA", "INDICATOR", "MIGR_DEF", "DATA_SOURCE", "COUNTERPART_AREA", "CITIZENSHIP",
        "BIRTH_PLACE", "SEX", "AGE", "EDUCATION_LEV", "OCCUPATION", "ACTIVITY", "MIGR_REASON", "ETHNICITY",
        "URBANISATION")
YEARS = [str(y) for y in range(2001, 2021)]


def structure() -> tuple[DataStructure, Dataflow]:
    scheme = MaintainableRef("CAMIG", "CS_MIGR", "1.0")
    coded = Representation(codelist=MaintainableRef("CAMIG", "CL_X", "1.0"))
    dsd = DataStructure(
        ref=MaintainableRef("CAMIG", "DSD_MIGR", "1.0"), names={"en": "Migration"},
        dimensions=tuple(Dimension(d, ConceptRef(scheme, d), coded, i + 1) for i, d in enumerate(DIMS)),
        time_dimension=TimeDimension("TIME_PERIOD", ConceptRef(scheme, "TIME_PERIOD")),
        attributes=(Attribute("OBS_STATUS", ConceptRef(scheme, "OBS_STATUS"), coded, OBSERVATION),
                    Attribute("COMMENT_OBS", ConceptRef(scheme, "COMMENT_OBS"), Representation(text_type="String"),
                              OBSERVATION),
                    Attribute("UNIT_MEASURE", ConceptRef(scheme, "UNIT_MEASURE"), coded, SERIES),
                    Attribute("UNIT_MULT", ConceptRef(scheme, "UNIT_MULT"), coded, SERIES)),
        measure=PrimaryMeasure("OBS_VALUE", ConceptRef(scheme, "OBS_VALUE")))
    flow = Dataflow(ref=MaintainableRef("CAMIG", "DF_MIGR_FLOW", "1.0"), names={"en": "Flows"}, structure=dsd.ref)
    return dsd, flow


def rows(n_obs: int) -> list[Series]:
    areas = ["KZ", "KG", "TJ", "RU", "UZ", "CN", "TR", "DE", "US", "_T"]
    out = []
    for i in range(n_obs // len(YEARS)):
        key = ("A", areas[i % 3], "IMM", "UN_LT", "REG", areas[(i // 3) % 10], areas[(i // 30) % 10], "_T",
               ("M", "F", "_T")[(i // 300) % 3], f"Y{(i // 900) % 20 * 5}T{(i // 900) % 20 * 5 + 4}",
               "_T", "_T", "_T", "_T", "_T", ("U", "R", "_T")[(i // 18000) % 3])
        obs = [Observation(y, float((i * 7 + j * 13) % 5000) if j % 17 else None,
                           {"OBS_STATUS": "A" if j % 17 else "M"}) for j, y in enumerate(YEARS)]
        out.append(Series(key, obs, {"UNIT_MEASURE": "PS", "UNIT_MULT": "0"}))
    return out


def drain(chunks) -> int:
    return sum(len(chunk) for chunk in chunks)


def ref_ss(series: list[Series]) -> int:
    out = io.BytesIO()
    ss = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/data/structurespecific"
    mes = "http://www.sdmx.org/resources/sdmxml/schemas/v3_0/message"
    with etree.xmlfile(out, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element(f"{{{mes}}}StructureSpecificData", nsmap={"message": mes, "ss": ss}):
            with xf.element(f"{{{mes}}}DataSet", {f"{{{ss}}}structureRef": "X"}):
                for s in series:
                    attrib = dict(zip(DIMS, s.key))
                    attrib.update(s.attributes)
                    with xf.element("Series", attrib):
                        for o in s.observations:
                            xf.write(etree.Element("Obs", TIME_PERIOD=o.time_period,
                                                   OBS_VALUE=format_value(o.value), **o.attributes))
    return len(out.getvalue())


def ref_generic(series: list[Series]) -> int:
    out = io.BytesIO()
    gen = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/generic"
    mes = "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
    g = f"{{{gen}}}"
    with etree.xmlfile(out, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element(f"{{{mes}}}GenericData", nsmap={"message": mes, None: gen}):
            with xf.element(f"{{{mes}}}DataSet", structureRef="X"):
                for s in series:
                    with xf.element(g + "Series"):
                        key = etree.Element(g + "SeriesKey")
                        for d, code in zip(DIMS, s.key):
                            etree.SubElement(key, g + "Value", id=d, value=code)
                        xf.write(key)
                        attrs = etree.Element(g + "Attributes")
                        for a, v in s.attributes.items():
                            etree.SubElement(attrs, g + "Value", id=a, value=v)
                        xf.write(attrs)
                        for o in s.observations:
                            obs = etree.Element(g + "Obs")
                            etree.SubElement(obs, g + "ObsDimension", value=o.time_period)
                            etree.SubElement(obs, g + "ObsValue", value=format_value(o.value))
                            oa = etree.SubElement(obs, g + "Attributes")
                            for a, v in o.attributes.items():
                                etree.SubElement(oa, g + "Value", id=a, value=v)
                            xf.write(obs)
    return len(out.getvalue())


def ref_json(series: list[Series]) -> int:
    dims = [dict() for _ in DIMS]
    times: dict[str, str] = {}
    status: dict[str, int] = {}
    units: dict[str, int] = {}
    out = {}
    for s in series:
        key = ":".join(d.setdefault(code, str(len(d))) for d, code in zip(dims, s.key))
        obs = {}
        for o in s.observations:
            t = times.setdefault(o.time_period, str(len(times)))
            obs[t] = [o.value, status.setdefault(o.attributes["OBS_STATUS"], len(status))]
        out[key] = {"attributes": [units.setdefault(s.attributes["UNIT_MEASURE"], len(units)), 0],
                    "observations": obs}
    message = {"meta": {"id": "X"}, "data": {"dataSets": [{"action": "Information", "series": out}],
                                             "structure": {"dimensions": {"series": [list(d) for d in dims]}}}}
    return len(orjson.dumps(message))


def best(fn, *args, runs: int = 3) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        size = fn(*args)
        times.append(time.perf_counter() - start)
    return min(times), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=1_000_000)
    args = parser.parse_args()
    dsd, flow = structure()
    series = rows(args.observations)
    ctx = WriteContext(structure=dsd, dataflow=flow)
    cases = [
        ("SDMX-ML 3.0 structure-specific", lambda: drain(write_sdmx_ml30_data(series, ctx)), ref_ss),
        ("SDMX-ML 2.1 generic", lambda: drain(write_generic_data(series, ctx)), ref_generic),
        ("SDMX-JSON 1.0.0", lambda: drain(write_sdmx_json_data_10(series, ctx)), ref_json),
        ("SDMX-JSON 2.0.0", lambda: drain(write_sdmx_json_data_20(series, ctx)), ref_json),
    ]
    print(f"{len(series) * len(YEARS):,} observations in {len(series):,} series")
    print(f"{'format':34} {'migstat s':>10} {'reference s':>12} {'ratio':>6} {'MB':>7}")
    for name, ours, reference in cases:
        ours_s, size = best(ours)
        ref_s, _ = best(reference, series)
        print(f"{name:34} {ours_s:10.2f} {ref_s:12.2f} {ours_s / ref_s:6.2f} {size / 1e6:7.1f}")


if __name__ == "__main__":
    main()
