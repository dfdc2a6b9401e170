"""National tables (CSV / XLSX) -> series of the common DSD, by declarative mapping files.

Rule: imports the model only. ``sources`` is the one module that reads
national files, ``load`` the one that reads mapping files (checked against the
shipped ``schema.json``); the structures come in from the caller as a
``Context``, so the catalog, the CLI and the API decide where they live.
Problems are Report data with file, sheet, row, column and value.
"""

from .check import check_mapping
from .engine import Context, convert
from .load import MappingFileError, MappingSpec, load_mapping
from .sources import SourceError, SourceSpec, open_source

__all__ = ["Context", "MappingFileError", "MappingSpec", "SourceError", "SourceSpec", "check_mapping", "convert",
           "load_mapping", "open_source"]
