"""Reading SDMX-CSV 2.0 into model DataSets against pandas.read_csv of the same file, as a ratio.

    python bench/read_csv.py [--observations 1000000]

The file is written once by the project's SDMX-CSV writer (16-dimension key
of the project DSD, 20 years per series, OBS_STATUS on every observation,
two series attributes, ACTION column). Both readers read the same bytes from
disk; times are the best of three runs, in CPU seconds of this process (the
machine is shared with other benchmarks; wall-clock best-of-three is printed
beside). migstat is measured twice: streamed (``iter_data``: datasets and
series consumed and dropped, as a validating, storing pipeline can use it)
and materialised (``read_data``: every series kept in lists).

For scale, the csv module alone (csv.reader over the same file, no model
objects) is printed too: the floor any csv-module reader starts from.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.formats.context import WriteContext  # noqa: E402
from service.formats.reading import iter_data, read_data  # noqa: E402
from service.formats.sdmx_csv import write_sdmx_csv  # noqa: E402
from service.model.data import Observation, Series  # noqa: E402
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


def series(count: int):
    areas = ["KZ", "KG", "TJ", "RU", "UZ"]
    made = 0
    n = 0
    while made < count:
        key = ("A", areas[n % 5], "IMM", "UN_LT", "ADMIN", f"C{n // 5 % 200}", "_T", "_T", ("M", "F")[n % 2],
               f"Y{n // 2000 % 20}", "_T", "_T", "_T", "_T", "_T", "_T")
        obs = [Observation(year, float(1000 + n + i) if i % 7 else None, {"OBS_STATUS": "M" if i % 7 == 0 else "A"})
               for i, year in enumerate(YEARS[:min(20, count - made)])]
        made += len(obs)
        n += 1
        yield Series(key, obs, {"UNIT_MEASURE": "PS", "UNIT_MULT": "0"})


def best(run, repeat: int = 3) -> tuple[float, float]:
    """(CPU seconds, wall seconds), each the best of ``repeat`` runs."""
    cpu, wall = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start)
    return min(cpu), min(wall)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    import pandas

    dsd, flow = structure()

    def lookup(ref: str):
        return (flow, dsd) if ref.split("(")[0] in ("CAMIG:DF_MIGR_FLOW", "DF_MIGR_FLOW") else None

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        with path.open("wb") as out:
            for chunk in write_sdmx_csv(series(args.observations), WriteContext(dsd, flow, action="Replace")):
                out.write(chunk)
        size = path.stat().st_size

        def streamed():
            count = 0
            with path.open("rb") as body:
                for dataset in iter_data(body, "application/vnd.sdmx.data+csv;version=2.0.0", lookup):
                    for one in dataset.series:
                        count += len(one.observations)
            assert count == args.observations, count

        def materialised():
            with path.open("rb") as body:
                datasets = read_data(body, "application/vnd.sdmx.data+csv;version=2.0.0", lookup)
            assert sum(len(s.observations) for d in datasets for s in d.series) == args.observations

        def reference_str():
            frame = pandas.read_csv(path, dtype=str, keep_default_na=False)
            assert len(frame) == args.observations

        def reference():
            frame = pandas.read_csv(path)
            assert len(frame) == args.observations

        def csv_module():
            with path.open(newline="", encoding="utf-8") as text:
                assert sum(1 for _ in csv.reader(text)) == args.observations + 1

        results = {
            "pandas.read_csv (default types)": best(reference),
            "pandas.read_csv (dtype=str)": best(reference_str),
            "csv.reader alone (no model)": best(csv_module),
            "migstat streamed (iter_data)": best(streamed),
            "migstat materialised (read_data)": best(materialised),
        }
    ref_cpu = results["pandas.read_csv (default types)"][0]
    ref_str_cpu = results["pandas.read_csv (dtype=str)"][0]
    print(f"{args.observations:,} observations, {size / 1e6:.0f} MB of SDMX-CSV 2.0; CPU s (wall s), best of 3")
    for name, (cpu, wall) in results.items():
        print(f"{name:34} {cpu:6.2f} ({wall:5.2f})   x{cpu / ref_cpu:5.2f} pandas default, "
              f"x{cpu / ref_str_cpu:5.2f} pandas dtype=str")
    return 0


if __name__ == "__main__":
    sys.exit(main())
