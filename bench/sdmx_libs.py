"""The Python SDMX libraries a user could pick instead, writing the same rows from memory.

    python bench/sdmx_libs.py --lib pysdmx --format sdmx-csv-2 --rows ROWS.parquet --structure STRUCTURE.xml

Run by bench/serve.py once per library and format, each in a process of its
own (the libraries hold the whole message in memory; sdmxlib needs Python
3.13 and runs in another interpreter). The rows are a flat table, one
observation a row, with every column of the DSD (dimensions, TIME_PERIOD,
OBS_VALUE, attributes), read from a Parquet file before the clock starts; the
structures come from the service's own SDMX-ML 2.1 structure message. What is
timed is what a user would do to turn that table into the message's bytes:

- pysdmx: ``write_sdmx(PandasDataset(structure=Schema, data=frame), format,
  dimension_at_observation="TIME_PERIOD", prettyprint=False)``;
- sdmxthon: ``Dataset(structure=dsd, data=frame)`` then ``to_sdmx_csv(1|2)`` or
  ``to_xml(StructureSpecificDataSet|GenericDataSet, prettyprint=False)`` with
  dimensionAtObservation TIME_PERIOD;
- sdmx1: model objects built from the table (one SeriesKey per series, one
  Observation per row, shared AttributeValue objects), then ``sdmx.to_xml``
  or ``sdmx.to_csv(..., rtype=DataFrame).to_csv(index=False)`` (its ``rtype=str``
  gives a printed table, not CSV);
- sdmxlib: Arrow record batches of the table, then its streaming writers
  (SDMX-CSV 2.0, SDMX-JSON 1.0 and 2.0).

Prints one JSON object: seconds, cpu_seconds (all threads), bytes, peak_rss_mb, or error.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import traceback
import warnings

#: (library, migstat format name) pairs a library writes.
SUPPORTED = {
    "sdmx1": ("sdmx-csv-1", "sdmx-csv-2", "sdmx-ml-ss", "sdmx-ml-generic"),
    "pysdmx": ("sdmx-csv-1", "sdmx-csv-2", "sdmx-ml-ss", "sdmx-ml-ss-ts", "sdmx-ml-generic", "sdmx-ml-generic-ts",
               "sdmx-ml-3"),
    "sdmxthon": ("sdmx-csv-1", "sdmx-csv-2", "sdmx-ml-ss", "sdmx-ml-generic"),
    "sdmxlib": ("sdmx-csv-2", "sdmx-json-1", "sdmx-json-2"),
}
#: What a library cannot write, said in the report.
NOT_WRITTEN = {
    "sdmx1": "writes SDMX-ML 2.1 and SDMX-CSV only (no SDMX-ML 3.0 data, no SDMX-JSON)",
    "pysdmx": "has no SDMX-JSON data writer",
    "sdmxthon": "writes SDMX-ML 2.1 and SDMX-CSV only",
    "sdmxlib": "writes SDMX-CSV 2.0 and SDMX-JSON data only (no SDMX-CSV 1.0, no SDMX-ML data)",
}
FLOW = "CAMIG:DF_MIGR_FLOW(1.0)"
SERIES_ATTRIBUTES = ("UNIT_MEASURE", "UNIT_MULT", "DECIMALS", "TIME_PER_COLLECT", "COMMENT_TS", "NAT_DEF_NOTE",
                     "GROUP_COMPOSITION")


def write_pysdmx(frame, structure: str, fmt: str):
    from pysdmx.io import read_sdmx, write_sdmx
    from pysdmx.io.format import Format
    from pysdmx.io.pd import PandasDataset

    schema = read_sdmx(structure).get_data_structure_definitions()[0].to_schema()
    target = {"sdmx-csv-1": Format.DATA_SDMX_CSV_1_0_0, "sdmx-csv-2": Format.DATA_SDMX_CSV_2_0_0,
              "sdmx-ml-ss": Format.DATA_SDMX_ML_2_1_STR, "sdmx-ml-ss-ts": Format.DATA_SDMX_ML_2_1_STRTS,
              "sdmx-ml-generic": Format.DATA_SDMX_ML_2_1_GEN, "sdmx-ml-generic-ts": Format.DATA_SDMX_ML_2_1_GENTS,
              "sdmx-ml-3": Format.DATA_SDMX_ML_3_0}[fmt]
    options = {} if fmt.startswith("sdmx-csv") else {"dimension_at_observation": "TIME_PERIOD",
                                                     "prettyprint": False}

    def write():
        return write_sdmx(PandasDataset(structure=schema, data=frame), target, **options)
    return write


def write_sdmxthon(frame, structure: str, fmt: str):
    import sdmxthon
    from sdmxthon.model.dataset import Dataset
    from sdmxthon.utils.enums import MessageTypeEnum

    dsd = next(iter(sdmxthon.read_sdmx(structure).payload["DataStructures"].values()))

    def write():
        if fmt.startswith("sdmx-csv"):
            return Dataset(structure_type="dataflow", unique_id=FLOW, data=frame).to_sdmx_csv(int(fmt[-1]))
        dataset = Dataset(structure=dsd, data=frame, dataset_attributes={"dimensionAtObservation": "TIME_PERIOD"})
        kind = MessageTypeEnum.StructureSpecificDataSet if fmt == "sdmx-ml-ss" else MessageTypeEnum.GenericDataSet
        written = dataset.to_xml(message_type=kind, prettyprint=False)
        return written.getvalue() if hasattr(written, "getvalue") else written
    return write


def write_sdmx1(frame, structure: str, fmt: str):
    import pandas as pd
    import sdmx
    from sdmx import message
    from sdmx.format import csv as sdmx_csv
    from sdmx.format.csv.common import Attributes
    from sdmx.model import v21 as m

    structures = sdmx.read_sdmx(structure)
    dsd = structures.structure["DSD_MIGR"]
    flow = structures.dataflow["DF_MIGR_FLOW"]
    dims = [d.id for d in dsd.dimensions.components if d.id != "TIME_PERIOD"]
    components = {a.id: a for a in dsd.attributes.components}
    series_attrs = [a for a in SERIES_ATTRIBUTES if a in frame.columns]
    obs_attrs = [a for a in components if a not in SERIES_ATTRIBUTES and a in frame.columns]
    measure = dsd.measures.get("OBS_VALUE")
    kind = {"sdmx-ml-ss": m.StructureSpecificDataSet, "sdmx-ml-generic": m.GenericDataSet}.get(fmt, m.DataSet)

    def dataset():
        shared: dict = {}

        def value(attribute: str, text: str):
            found = shared.get((attribute, text))
            if found is None:
                found = shared[(attribute, text)] = m.AttributeValue(value=text, value_for=components[attribute])
            return found

        ds = kind(structured_by=dsd, described_by=flow)
        columns = frame.to_dict("list")
        current, observations, series_key = None, [], None
        for i in range(len(frame)):
            key = tuple(columns[d][i] for d in dims)
            if key != current:
                if observations:
                    ds.add_obs(observations, series_key)
                current, observations = key, []
                series_key = dsd.make_key(m.SeriesKey, dict(zip(dims, key)))
                for a in series_attrs:
                    if isinstance(columns[a][i], str):
                        series_key.attrib[a] = value(a, columns[a][i])
            number = columns["OBS_VALUE"][i]
            observations.append(m.Observation(
                series_key=series_key, dimension=dsd.make_key(m.Key, {"TIME_PERIOD": columns["TIME_PERIOD"][i]}),
                value_for=measure, value=None if number != number else number,
                attached_attribute={a: value(a, columns[a][i]) for a in obs_attrs if isinstance(columns[a][i], str)}))
        if observations:
            ds.add_obs(observations, series_key)
        return ds

    def write():
        ds = dataset()
        if fmt.startswith("sdmx-csv"):
            options = sdmx_csv.v1.FormatOptions() if fmt == "sdmx-csv-1" else sdmx_csv.v2.FormatOptions()
            table = sdmx.to_csv(ds, rtype=pd.DataFrame, format_options=options, attributes=Attributes.all)
            return table.to_csv(index=False)
        msg = message.DataMessage(data=[ds], dataflow=flow, observation_dimension=dsd.dimensions.get("TIME_PERIOD"))
        return sdmx.to_xml(msg)
    return write


def write_sdmxlib(frame, structure: str, fmt: str):
    import pyarrow as pa
    import sdmxlib
    from sdmxlib.formats.sdmx_csv.writer import write_sdmx_csv
    from sdmxlib.formats.sdmx_json import data_v1, data_v2
    from sdmxlib.model.ref import Ref

    structures = sdmxlib.read(structure)
    dsd, flow = structures.data_structures[0], structures.dataflows[0]

    def write():
        batches = pa.Table.from_pandas(frame, preserve_index=False).to_batches(max_chunksize=65_536)
        if fmt == "sdmx-csv-2":
            chunks = write_sdmx_csv(batches, dsd, structure_id=flow)
        else:
            writer = data_v1 if fmt == "sdmx-json-1" else data_v2
            chunks = writer.write_sdmx_json_data(batches, dsd, Ref.to(flow), message_id="BENCH",
                                                 prepared="2024-01-01T00:00:00Z", sender_id="BENCH")
        return sum(len(chunk) for chunk in chunks)
    return write


WRITERS = {"sdmx1": write_sdmx1, "pysdmx": write_pysdmx, "sdmxthon": write_sdmxthon, "sdmxlib": write_sdmxlib}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lib", required=True, choices=sorted(WRITERS))
    parser.add_argument("--format", required=True)
    parser.add_argument("--rows", required=True, help="Parquet file of the rows")
    parser.add_argument("--structure", required=True, help="SDMX-ML 2.1 structure message")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.format not in SUPPORTED[args.lib]:
        print(json.dumps({"error": f"{args.lib} {NOT_WRITTEN[args.lib]}"}))
        return
    try:
        import pandas as pd
        frame = pd.read_parquet(args.rows)
        write = WRITERS[args.lib](frame, args.structure, args.format)
        started, cpu = time.perf_counter(), time.process_time()
        out = write()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        size = out if isinstance(out, int) else len(out)
        result = {"seconds": seconds, "cpu_seconds": cpu, "bytes": size}
    except Exception as exc:  # a library failing is a result to report, not a crash of the bench
        result = {"error": f"{type(exc).__name__}: {exc}"[:300], "trace": traceback.format_exc()[-1500:]}
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
