"""Series held in columns (the long layout's fast path) read, check and write exactly as the same
observations one by one: same SDMX-CSV bytes, same report; and CSV read in blocks gives the same records
as line by line."""

from __future__ import annotations

import io
import random
import sys

import pytest
from mappings_support import MAPPINGS, convert_file, write_csv_rows

from service.conversion import Prepared
from service.formats.context import WriteContext
from service.formats.sdmx_csv import write_sdmx_csv, write_sdmx_csv_1
from service.mappings import load_mapping
from service.mappings.sources import _byte_blocks, _byte_lines
from service.model.data import NumberedTexts, Observation, ObservationColumns, Origin, RowOrigins, Series
from service.model.report import Report
from service.model.validate import check_series

sys.path.insert(0, str(MAPPINGS.parent / "bench"))
import extract  # noqa: E402  (the generator of bench/convert.py)

MAPPING = MAPPINGS / "kz" / "internal_migration_extract.yaml"


def one_by_one(series: list[Series]) -> list[Series]:
    """The same series with their observations as a list of Observation."""
    return [Series(s.key, list(s.observations), dict(s.attributes), s.origin) for s in series]


@pytest.fixture(scope="module")
def converted(catalog, tmp_path_factory):
    """A generated extract with symbols, notes (some to quote, one like a formula) and a unit change."""
    rng = random.Random(5)
    rows = list(extract.rows(3000))
    for i in rng.sample(range(len(rows)), 120):
        kind = i % 6
        if kind == 0:
            rows[i][9] = "x"
        elif kind == 1:
            rows[i][9] = "1 204*"
        elif kind == 2:
            rows[i][11] = "уточнено, см. сноску"
        elif kind == 3:
            rows[i][11] = "=1+1"
        elif kind == 4:
            rows[i][9] = "…"
        else:
            rows[i][11] = "   "  # a note of spaces: no note
    for row in rows[300:330]:  # a series in thousands: its block is read a run at a time
        row[9:12] = ["5", "тыс. человек", ""]
    rows[305][11] = "  "
    path = write_csv_rows(tmp_path_factory.mktemp("long") / "extract.csv", [extract.HEADER, *rows],
                          delimiter=";")
    series, report, dsd = convert_file(catalog, MAPPING, path)
    assert report.valid, report.to_dict()
    return series


def test_converted_series_are_held_in_columns(converted):
    assert all(isinstance(s.observations, ObservationColumns) for s in converted)
    assert sum(len(s.observations) for s in converted) == 3000


@pytest.mark.parametrize("writer", [write_sdmx_csv, write_sdmx_csv_1])
@pytest.mark.parametrize("labels", ["id", "both", "name"])
def test_columns_write_the_same_bytes_as_observations(catalog, converted, writer, labels):
    prepared = Prepared(load_mapping(MAPPING), catalog, Report())
    ctx = WriteContext(structure=prepared.structure, dataflow=prepared.flow, labels=labels,
                       codelists={ref.id: cl for ref, cl in prepared.codelists.items()})
    columns = b"".join(writer(converted, ctx))
    assert columns == b"".join(writer(one_by_one(converted), ctx))
    assert b"'=1+1" in columns and '"уточнено, см. сноску"'.encode() in columns


def check(catalog, series) -> list[tuple]:
    prepared = Prepared(load_mapping(MAPPING), catalog, Report())
    report = check_series(series, prepared.structure, prepared.codelists, prepared.constraint)
    return [(p.code, p.row, p.column, p.value, p.message) for p in report.problems]


def test_columns_check_as_observations_do(catalog, converted):
    def broken(i, periods=None, values=None, attributes=None, columns=None):
        """Series ``i`` with one column changed."""
        obs = converted[i].observations
        return Series(converted[i].key, ObservationColumns(
            periods or obs.periods, values or obs.values, attributes or obs.attributes,
            obs.columns if columns is None else columns, obs.origins), converted[i].attributes, converted[i].origin)

    obs = converted[0].observations
    n = len(obs)
    cases = [*converted[:5],
             broken(10, periods=[*obs.periods[:-1], obs.periods[0]]),  # a period twice
             broken(11, periods=[*obs.periods[:-1], "2023-Q1"]),  # not a period of the frequency
             broken(12, values=[*obs.values[:-1], None]),  # no value, and no status to say why
             broken(13, values=[*obs.values[:-1], float("inf")]),
             broken(14, attributes=[*obs.attributes[:-1], {"OBS_STATUS": "ZZ"}]),
             broken(15, columns={"COMMENT_OBS": ["\x07"] + [""] * (n - 1)}),
             broken(16, columns={"CONF_STATUS": ["ZZ"] * n}),
             Series((*converted[0].key[:-1], "NOPE"), obs, converted[0].attributes, converted[0].origin),
             converted[0]]  # the same key again: every period twice
    found = check(catalog, cases)
    assert found == check(catalog, one_by_one(cases))
    codes = [code for code, *_ in found]
    assert codes.count("duplicate-observation") == 1 + n and codes.count("unknown-code") == 3
    assert {"bad-time-period", "missing-without-status", "bad-value", "bad-text"} <= set(codes)


def test_observation_columns_are_a_sequence_of_observations():
    shared = {"OBS_STATUS": "A"}
    columns = ObservationColumns(["2020", "2021", "2022"], [1.0, None, 3.0],
                                 [shared, {"OBS_STATUS": "O"}, shared],
                                 {"COMMENT_OBS": ["", "", "note"], "SOURCE_LABEL": NumberedTexts("t.csv!J", range(2, 5))},
                                 RowOrigins("t.csv", None, "J", range(2, 5)))
    last = Observation("2022", 3.0, {"OBS_STATUS": "A", "COMMENT_OBS": "note", "SOURCE_LABEL": "t.csv!J4"},
                       Origin("t.csv", None, 4, "J"))
    assert len(columns) == 3 and columns[-1] == last and columns[2:] == [last] and list(columns)[2] == last
    assert columns[1].attributes == {"OBS_STATUS": "O", "SOURCE_LABEL": "t.csv!J3"}
    assert columns == list(columns) and list(columns) == columns and columns != list(columns)[:2]
    assert list(reversed(columns))[0] == last and columns.attribute(2, "COMMENT_OBS") == "note"
    columns[0].attributes["X"] = "y"  # each observation made has a dictionary of its own
    assert "X" not in shared and "X" not in columns[0].attributes
    assert NumberedTexts("t.csv!J", [7, 120]).longest() == len("t.csv!J120")


@pytest.mark.parametrize("data", [
    b"a;b\r\nc;d\r\n\r\ne;f",
    b"a;b\nc;d\n",
    b"a;b\rc;d\r\re;f\n",
    b'a;b\nc;"d\nx";e\nf;g\n',
    b"\xef\xbb\xbfa;b\nc;d",
    b"",
])
def test_blocks_hold_the_records_of_the_lines(data, monkeypatch):
    monkeypatch.setattr("service.mappings.sources.BLOCK_BYTES", 4)  # blocks end mid-line and mid-CRLF
    blocks = list(_byte_blocks(io.BytesIO(data), b";", "utf-8"))
    records = [(n, cells) for numbers, rows in blocks for n, cells in zip(numbers, rows)]
    text = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    expected = list(_byte_lines(iter(io.BytesIO(text)), 1, b";", "utf-8"))
    assert [(n, cells or [b""]) for n, cells in expected] == records  # a blank line is one empty cell


def test_an_xlsx_extract_converts_as_its_csv(catalog, tmp_path):
    """Cells as text (XLSX) go the same way as cells as bytes (CSV)."""
    import openpyxl

    rows = [extract.HEADER, *extract.rows(400)]
    rows[50][9], rows[60][11], rows[70][9] = "…", "  ", "1 204"
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(tmp_path / "extract.xlsx")
    csv_path = write_csv_rows(tmp_path / "extract.csv", rows, delimiter=";")
    prepared = Prepared(load_mapping(MAPPING), catalog, Report())
    written = []
    for path in (tmp_path / "extract.xlsx", csv_path):
        series, report, _ = convert_file(catalog, MAPPING, path)
        assert report.valid, report.to_dict()
        written.append(b"".join(write_sdmx_csv(series, prepared.write_context())).replace(b".xlsx[Sheet]!", b".csv!"))
    assert written[0] == written[1]
