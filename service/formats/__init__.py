"""Formats: bytes <-> model, one module per format, and the one table that drives negotiation.

Every endpoint negotiates against a list below. Each entry names the exact
media type and version it answers with, the ``format=`` names that select
it, the aliases that fall back to it, and its writer. Data writers are
generators ``(series, ctx) -> Iterator[bytes]``; structure writers take
artefacts and return bytes.
"""

from __future__ import annotations

from dataclasses import replace

from .context import WriteContext
from .data_xsd import write_data_xsd
from .errors import ErrorEntry, write_error_json, write_error_ml
from .negotiate import MediaFormat, by_format_name, negotiate
from .sdmx_csv import write_sdmx_csv, write_sdmx_csv_1
from .sdmx_json_data import write_sdmx_json_data_10, write_sdmx_json_data_20
from .sdmx_ml30_data import write_sdmx_ml30_data
from .sdmx_ml_data import write_structure_specific, write_structure_specific_timeseries
from .sdmx_ml_generic import write_generic_data, write_generic_timeseries_data
from .structure_json import write_structure_json
from .structure_ml import write_structure_message

__all__ = ["DATA_FORMATS", "ERROR_JSON_10", "ERROR_JSON_20", "ERROR_ML", "DATA_FORMATS_V2", "DEFAULT_DATA_FORMAT", "DEFAULT_DATA_FORMAT_V2", "ERROR_FORMATS",
           "STRUCTURE_FORMATS", "STRUCTURE_FORMATS_V2", "SCHEMA_FORMATS", "SCHEMA_FORMATS_V2",
           "DEFAULT_SCHEMA_FORMAT", "DEFAULT_STRUCTURE_FORMAT", "DEFAULT_STRUCTURE_FORMAT_V2",
           "MediaFormat", "WriteContext", "by_format_name", "negotiate", "render_error"]

XML_ALIASES = ("application/xml", "text/xml")


def _json_10(series, ctx: WriteContext):
    return write_sdmx_json_data_10(series, ctx, component_names=ctx.component_names)


def _json_20(series, ctx: WriteContext):
    return write_sdmx_json_data_20(series, ctx, component_names=ctx.component_names)


def _structure_json(version: str):
    def write(artefacts, **options):
        return write_structure_json(artefacts, version=version, **options)
    return write


GENERIC_21 = MediaFormat("sdmx-ml-generic", "application/vnd.sdmx.genericdata+xml", "2.1", "data",
                         write_generic_data, XML_ALIASES, ("genericdata",), ".xml")
GENERIC_TS_21 = MediaFormat("sdmx-ml-generic-ts", "application/vnd.sdmx.generictimeseriesdata+xml", "2.1", "data",
                            write_generic_timeseries_data, (), ("generictimeseriesdata",), ".xml")
SS_21 = MediaFormat("sdmx-ml-ss", "application/vnd.sdmx.structurespecificdata+xml", "2.1", "data",
                    write_structure_specific, (), ("structurespecificdata",), ".xml")
SS_TS_21 = MediaFormat("sdmx-ml-ss-ts", "application/vnd.sdmx.structurespecifictimeseriesdata+xml", "2.1", "data",
                       write_structure_specific_timeseries, (), ("structurespecifictimeseriesdata",), ".xml")
ML_30 = MediaFormat("sdmx-ml-3", "application/vnd.sdmx.data+xml", "3.0.0", "data",
                    write_sdmx_ml30_data, (), ("structurespecificdata", "data"), ".xml")
JSON_10 = MediaFormat("sdmx-json-1", "application/vnd.sdmx.data+json", "1.0.0", "data", _json_10,
                      ("application/json", "text/json"), ("jsondata",), ".json")
JSON_20 = MediaFormat("sdmx-json-2", "application/vnd.sdmx.data+json", "2.0.0", "data", _json_20,
                      ("application/json", "text/json"), ("jsondata",), ".json")
CSV_10 = MediaFormat("sdmx-csv-1", "application/vnd.sdmx.data+csv", "1.0.0", "data", write_sdmx_csv_1,
                     ("text/csv", "application/csv"), ("csvfile", "csvdata", "csv"), ".csv")
CSV_20 = MediaFormat("sdmx-csv-2", "application/vnd.sdmx.data+csv", "2.0.0", "data", write_sdmx_csv,
                     ("text/csv", "application/csv"), ("csvdata", "csv", "csvfile"), ".csv")



def _csv_with_labels(series, ctx: WriteContext):
    return write_sdmx_csv_1(series, replace(ctx, labels="both"))


#: ``format=csvfilewithlabels`` (.Stat Suite): SDMX-CSV 1.0 with "code: name" cells; never chosen by Accept.
CSV_10_LABELS = MediaFormat("sdmx-csv-1-labels", "application/vnd.sdmx.data+csv", "1.0.0", "data", _csv_with_labels,
                            (), ("csvfilewithlabels",), ".csv")

#: SDMX-REST 1.5.0 data: the newest version of a type first; generic SDMX-ML 2.1 is the default.
DATA_FORMATS = (GENERIC_21, GENERIC_TS_21, SS_21, SS_TS_21, ML_30, JSON_20, JSON_10, CSV_10, CSV_20, CSV_10_LABELS)
DEFAULT_DATA_FORMAT = GENERIC_21
#: SDMX-REST 2.x data: SDMX-JSON 2.0 by default, SDMX-ML 3.0 and SDMX-CSV 2.0 on request.
DATA_FORMATS_V2 = (JSON_20, ML_30, CSV_20, JSON_10, CSV_10, SS_21, GENERIC_21)
DEFAULT_DATA_FORMAT_V2 = JSON_20

STRUCTURE_ML_21 = MediaFormat("sdmx-ml-structure", "application/vnd.sdmx.structure+xml", "2.1", "structure",
                              write_structure_message, XML_ALIASES, ("structure",), ".xml")
STRUCTURE_JSON_10 = MediaFormat("sdmx-json-structure-1", "application/vnd.sdmx.structure+json", "1.0.0",
                                "structure", _structure_json("1.0.0"), ("application/json", "text/json"),
                                ("jsonstructure", "json"), ".json")
STRUCTURE_JSON_20 = MediaFormat("sdmx-json-structure-2", "application/vnd.sdmx.structure+json", "2.0.0",
                                "structure", _structure_json("2.0.0"), ("application/json", "text/json"),
                                ("jsonstructure", "json"), ".json")
STRUCTURE_FORMATS = (STRUCTURE_ML_21, STRUCTURE_JSON_20, STRUCTURE_JSON_10)
DEFAULT_STRUCTURE_FORMAT = STRUCTURE_ML_21
STRUCTURE_FORMATS_V2 = (STRUCTURE_JSON_20, STRUCTURE_ML_21, STRUCTURE_JSON_10)
DEFAULT_STRUCTURE_FORMAT_V2 = STRUCTURE_JSON_20

#: Schema queries: the XSD of structure-specific data (SDMX-ML 2.1) by default, or the structures for
#: communication (the DSD with codelists cut to the codes the context allows).
SCHEMA_XSD_21 = MediaFormat("sdmx-schema-xsd", "application/vnd.sdmx.schema+xml", "2.1", "schema", write_data_xsd,
                            XML_ALIASES, ("xsd", "schema"), ".xsd")
SCHEMA_FORMATS = (SCHEMA_XSD_21, STRUCTURE_ML_21, STRUCTURE_JSON_20, STRUCTURE_JSON_10)
DEFAULT_SCHEMA_FORMAT = SCHEMA_XSD_21
SCHEMA_FORMATS_V2 = (SCHEMA_XSD_21, STRUCTURE_JSON_20, STRUCTURE_ML_21, STRUCTURE_JSON_10)

#: Error bodies: an SDMX-ML 2.1 Error message, or SDMX-JSON errors (1.0.0 for the 1.5.0 API, 2.0.0 for 2.x).
ERROR_ML = MediaFormat("sdmx-ml-error", "application/xml", None, "error")
ERROR_JSON_10 = MediaFormat("sdmx-json-error-1", "application/json", None, "error")
ERROR_JSON_20 = MediaFormat("sdmx-json-error-2", "application/json", None, "error")
ERROR_FORMATS = (ERROR_ML, ERROR_JSON_10, ERROR_JSON_20)


def render_error(error, fmt: MediaFormat) -> bytes:
    """The body of an error response: an SDMX-ML 2.1 Error message or an SDMX-JSON ``errors`` message."""
    entry = ErrorEntry(error.sdmx_code, error.title, error.detail, getattr(error, "report", None))
    if fmt is ERROR_JSON_10 or fmt is ERROR_JSON_20:
        return write_error_json(entry, "2.0.0" if fmt is ERROR_JSON_20 else "1.0.0")
    return write_error_ml(entry, "2.1")
