"""National files as rows of cell texts: CSV (any delimiter, UTF-8 / UTF-8 with BOM / Windows-1251) and XLSX.

The one module of the mappings that reads files. A source yields
``(row number, cells)`` with 1-based row numbers as a spreadsheet shows them
and cells as text (numbers of an XLSX written without a spurious ``.0``).
CSV streams: the encoding and the delimiter are declared or detected from the
first 64 KiB; a byte the encoding cannot read stops the rows with the
UnicodeDecodeError, which ``decode_error`` turns into a SourceError naming its
row and column. XLSX opens read-only for big files;
otherwise merged cells are filled with their top-left value.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from dataclasses import dataclass
from datetime import date, datetime
from operator import methodcaller
from pathlib import Path
from typing import Iterator, Sequence

HEAD_BYTES = 64 * 1024
#: CSV read for the long layout this many bytes (and the rest of a line) at a time.
BLOCK_BYTES = 64 * 1024
#: XLSX files above this size are read in openpyxl's read-only mode (merged cells not filled).
XLSX_READ_ONLY_BYTES = 8 * 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")
ENCODING_NAMES = {"auto": "auto", "utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8-sig",
                  "cp1251": "cp1251", "windows-1251": "cp1251", "win-1251": "cp1251"}

csv.field_size_limit(16 * 1024 * 1024)


def column_letter(index: int) -> str:
    """Spreadsheet letters of a 0-based column index: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    """0-based index of spreadsheet column letters: A -> 0."""
    value = 0
    for char in letters.strip().upper():
        value = value * 26 + ord(char) - 64
    return value - 1


class SourceError(Exception):
    """The file cannot be read as declared (missing, wrong encoding, unknown sheet...)."""

    def __init__(self, code: str, message: str, row: int | None = None, column: str | None = None,
                 value: str | None = None):
        super().__init__(message)
        self.code, self.row, self.column, self.value = code, row, column, value


@dataclass(frozen=True)
class SourceSpec:
    format: str | None = None  # "csv" or "xlsx"; None: from the file extension
    encoding: str = "auto"
    delimiter: str = "auto"
    sheet: str | int | None = None  # a name, or a 1-based index


class TableSource:
    """Rows of one CSV file or one XLSX sheet."""

    def __init__(self, path: Path, spec: SourceSpec):
        self.path = Path(path)
        self.name = self.path.name
        self.spec = spec
        self.sheet: str | None = None
        self.encoding: str | None = None
        self.delimiter: str | None = None
        self._handle = None
        if not self.path.is_file():
            raise SourceError("missing-file", f"{self.path} does not exist")
        fmt = (spec.format or self.path.suffix.lstrip(".")).lower()
        if fmt not in ("csv", "txt", "xlsx", "xlsm"):
            raise SourceError("unknown-format", f"{self.name}: cannot tell the format from {self.path.suffix!r}; "
                              "declare `source: {format: csv | xlsx}`")
        self.format = "xlsx" if fmt in ("xlsx", "xlsm") else "csv"
        if self.format == "csv":
            head = self.path.open("rb").read(HEAD_BYTES)
            self.encoding = _encoding(head, spec.encoding, len(head) < HEAD_BYTES)
            self.delimiter = _delimiter(head.decode(self.encoding, "replace"), spec.delimiter)

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        """The rows; a CSV byte the encoding cannot read raises UnicodeDecodeError (see ``decode_error``)."""
        if self.format == "xlsx":
            return self._xlsx_rows()
        self.close()
        self._handle = self.path.open(encoding=self.encoding, newline="")
        return _csv_records(self._handle, self.delimiter or ",")

    def byte_blocks(self) -> Iterator[tuple[Sequence[int], list[list[bytes]]]] | None:
        """CSV records with undecoded cells, a block at a time: (row numbers, records); None for XLSX.

        For readers that decode only the cells they use. The delimiter, quotes
        and line breaks are ASCII in both encodings read here, so records split
        the same before decoding; a cell is decoded with ``self.encoding`` (a
        UTF-8 BOM is dropped from the first line).
        """
        if self.format != "csv":
            return None
        self.close()
        self._handle = self.path.open("rb")
        return _byte_blocks(self._handle, (self.delimiter or ",").encode("ascii"), self.encoding or "utf-8")

    def close(self) -> None:
        handle, self._handle = getattr(self, "_handle", None), None
        if handle is not None:
            handle.close()

    def decode_error(self, exc: UnicodeDecodeError) -> SourceError:
        """Where the first byte the encoding cannot read is, as row and column."""
        data = self.path.read_bytes()
        offset = _first_bad_byte(data, self.encoding or "utf-8")
        row, column = _locate(data, offset, self.delimiter or ",")
        return SourceError("bad-encoding", f"{self.name} is not {self.encoding}: byte 0x{data[offset]:02X} cannot be "
                           "read (save the file as UTF-8 or declare its encoding)", row, column_letter(column),
                           f"0x{data[offset]:02X}")

    # -- XLSX ------------------------------------------------------------
    def _xlsx_rows(self) -> Iterator[tuple[int, list[str]]]:
        import openpyxl

        read_only = self.path.stat().st_size > XLSX_READ_ONLY_BYTES
        try:
            book = openpyxl.load_workbook(self.path, read_only=read_only, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
            raise SourceError("unreadable-file", f"{self.name} is not a readable XLSX workbook: {exc}") from None
        try:
            sheet = self._pick_sheet(book)
            self.sheet = sheet.title
            fills = {} if read_only else _merged_fills(sheet)
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                cells = [_cell_text(v) for v in values]
                for col, text in fills.get(number, ()):
                    while len(cells) <= col:
                        cells.append("")
                    cells[col] = text
                yield number, cells
        finally:
            book.close()

    def _pick_sheet(self, book):
        wanted = self.spec.sheet
        if wanted is None:
            return book.worksheets[0]
        if isinstance(wanted, int):
            if 1 <= wanted <= len(book.worksheets):
                return book.worksheets[wanted - 1]
        elif wanted in book.sheetnames:
            return book[wanted]
        raise SourceError("unknown-sheet", f"{self.name} has no sheet {wanted!r} (sheets: "
                          f"{', '.join(book.sheetnames)}; a number counts from 1)")


def _csv_records(handle, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Numbered CSV records: a line without quotes or carriage returns is split as it is (what the csv
    module would make of it, faster); any other line, and the lines a quoted field spans, go to csv."""
    for number, line in enumerate(handle, start=1):
        if '"' in line or line.count("\r") > line.endswith("\r\n"):
            yield number, next(csv.reader(itertools.chain([line], handle), delimiter=delimiter), [])
            continue
        line = line.rstrip("\r\n")
        yield number, line.split(delimiter) if line else []


def _byte_blocks(handle, delimiter: bytes, encoding: str) -> Iterator[tuple[Sequence[int], list[list[bytes]]]]:
    """Like ``_csv_records`` on bytes, in blocks; a record with quotes is parsed by csv and its cells encoded back.

    The file is read a block of whole lines at a time; a block without quotes
    is split into records all at once (CRLF, LF and a lone CR each end a
    record; a blank line is one empty cell). From the first block that holds
    a quote on, lines go one by one (and records are gathered into blocks).
    """
    number = 1
    block = handle.read(BLOCK_BYTES)
    if block.startswith(codecs.BOM_UTF8):
        block = block[len(codecs.BOM_UTF8):]
    split = methodcaller("split", delimiter)
    while block:
        if not block.endswith(b"\n"):
            block += handle.readline()
        if b'"' in block:
            yield from record_blocks(_byte_lines(itertools.chain(io.BytesIO(block), handle), number, delimiter,
                                                 encoding))
            return
        lines = block.splitlines()
        yield range(number, number + len(lines)), list(map(split, lines))
        number += len(lines)
        block = handle.read(BLOCK_BYTES)


def record_blocks(records: Iterator[tuple[int, list]], size: int = 1024) -> Iterator[tuple[list[int], list[list]]]:
    """Numbered records gathered into blocks: (row numbers, records)."""
    while True:
        chunk = list(itertools.islice(records, size))
        if not chunk:
            return
        yield [number for number, _ in chunk], [cells for _, cells in chunk]


def _byte_lines(lines: Iterator[bytes], number: int, delimiter: bytes,
                encoding: str) -> Iterator[tuple[int, list[bytes]]]:
    """Numbered records from ``number`` on, line by line."""
    text_delimiter = delimiter.decode("ascii")
    number -= 1
    for line in lines:
        number += 1
        if line.count(b"\r") > line.endswith(b"\r\n"):  # old Mac line ends: records split at CR too
            for record in csv.reader(io.StringIO(line.decode(encoding), newline=""), delimiter=text_delimiter):
                yield number, [cell.encode(encoding) for cell in record]
                number += 1
            number -= 1
        elif b'"' in line:
            decoded = (chunk.decode(encoding) for chunk in itertools.chain([line], lines))
            record = next(csv.reader(decoded, delimiter=text_delimiter), [])
            yield number, [cell.encode(encoding) for cell in record]
        else:
            line = line.rstrip(b"\r\n")
            yield number, line.split(delimiter) if line else []


def open_source(path: Path | str, spec: SourceSpec | None = None) -> TableSource:
    return TableSource(Path(path), spec or SourceSpec())


def _encoding(head: bytes, declared: str, whole: bool) -> str:
    name = ENCODING_NAMES.get((declared or "auto").lower())
    if name is None:
        raise SourceError("bad-encoding", f"unknown encoding {declared!r}; use utf-8, utf-8-sig, cp1251 or auto")
    if name != "auto":
        return "utf-8-sig" if name == "utf-8" and head.startswith(codecs.BOM_UTF8) else name
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head[:4096]:
        raise SourceError("bad-encoding", "the file looks like UTF-16 or binary; save it as CSV UTF-8", 1, "A")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=whole)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    bad = _first_implausible_cp1251(head)
    if bad is None:
        return "cp1251"
    row, column = _locate(head, bad, _delimiter(head.decode("latin-1"), "auto"))
    raise SourceError("bad-encoding", f"the file is neither UTF-8 nor Windows-1251 (byte 0x{head[bad]:02X} is not "
                      "text in either); save it as CSV UTF-8 or declare its encoding", row, column_letter(column),
                      f"0x{head[bad]:02X}")


def _first_implausible_cp1251(data: bytes) -> int | None:
    """Offset of the first byte that makes the text unlikely Windows-1251 Russian, or None.

    Cyrillic letters are bytes 0xC0-0xFF (and Ё ё at 0xA8 0xB8); text in DOS
    (CP866) or KOI8-R encodings shows other high bytes or mostly capitals.
    """
    letters = upper = 0
    for offset, byte in enumerate(data):
        if byte < 0x80:
            continue
        if byte >= 0xC0 or byte in (0xA8, 0xB8):
            letters += 1
            upper += byte < 0xE0 or byte == 0xA8
        elif byte not in (0xAB, 0xBB, 0x96, 0x97, 0xB9, 0xA0, 0x85, 0x93, 0x94, 0xB0, 0xB1):  # «» – — № nbsp … “ ” ° ±
            return offset
    if letters and upper > 0.6 * letters and letters > 20:  # KOI8-R read as 1251: lower case comes out as capitals
        return next(i for i, b in enumerate(data) if b >= 0xC0)
    return None


def _first_bad_byte(data: bytes, encoding: str) -> int:
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        return exc.start
    return 0


def _locate(data: bytes, offset: int, delimiter: str) -> tuple[int, int]:
    """(1-based CSV row, 0-based field) of a byte offset; quotes and line breaks are ASCII in every encoding."""
    text = data[:offset].decode("latin-1")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not rows or text.endswith(("\n", "\r")):
        return len(rows) + 1, 0
    return len(rows), max(len(rows[-1]) - 1, 0)


def _delimiter(text: str, declared: str) -> str:
    if declared and declared != "auto":
        return "\t" if declared in ("\\t", "tab") else declared
    lines = text.splitlines()[:40]
    best, best_score = ",", (-1, -1)
    for candidate in DELIMITERS:
        try:
            widths = [len(r) for r in csv.reader(lines, delimiter=candidate)]
        except csv.Error:
            continue
        multi = [w for w in widths if w > 1]
        modal = max(set(multi), key=multi.count) if multi else 1
        score = (len(multi), multi.count(modal))
        if score > best_score:
            best, best_score = candidate, score
    return best


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def _merged_fills(sheet) -> dict[int, list[tuple[int, str]]]:
    """Row number -> (0-based column, text) for every cell a merged range covers beyond its top-left."""
    fills: dict[int, list[tuple[int, str]]] = {}
    for merged in sheet.merged_cells.ranges:
        text = _cell_text(sheet.cell(merged.min_row, merged.min_col).value)
        for row in range(merged.min_row, merged.max_row + 1):
            for col in range(merged.min_col, merged.max_col + 1):
                if (row, col) != (merged.min_row, merged.min_col):
                    fills.setdefault(row, []).append((col - 1, text))
    return fills
