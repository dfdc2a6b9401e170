"""Builds external_migration_by_country_2017_2018.xlsx, the Kyrgyz example as the NSC publishes it in Excel.

The year cells of the header are merged over their three columns, the stub
header over two rows and the title over the table's width, so the example
exercises merged header cells. Numbers are stored as numbers; a blank cell is
nil in this release. Run from anywhere: ``python mappings/kg/examples/make_xlsx.py``.
"""

from __future__ import annotations

from pathlib import Path

TITLE = "Келген (чыгып кеткен) мамлекеттер боюнча Кыргыз Республикасынын калкынын тышкы миграциясы"
UNIT = "(адам)"
MEASURES = ["келгендердин саны", "кеткендердин саны", "миграциялык өсүү, кетүү агымы (-)"]
YEARS = [2017, 2018]
#: label, then arrivals, departures, net for each year (None: blank cell)
BODY = [
    ("Бардыгы:", 1974, 5899, -3925, 1687, 7077, -5390),
    ("анын ичинде КМШ боюнча:", 1864, 5765, -3901, 1608, 6788, -5180),
    ("Азербайжан", 2, 2, None, 2, 9, -7),
    ("Армения", None, None, None, None, 1, -1),
    ("Беларусь", 1, 13, -12, 2, 18, -16),
    ("Казакстан", 392, 1209, -817, 176, 1219, -1043),
    ("Молдова", None, 1, -1, 1, None, 1),
    ("Орусия", 1216, 4453, -3237, 637, 4972, -4335),
    ("Тажикстан", 90, 21, 69, 428, 16, 412),
]
HERE = Path(__file__).resolve().parent
TARGET = HERE / "external_migration_by_country_2017_2018.xlsx"


def rows(years: list[int] = YEARS, body: list[tuple] = BODY) -> list[list]:
    """The sheet as a grid (merged cells hold their value in the top-left cell only)."""
    width = 1 + 3 * len(years)
    grid = [[TITLE] + [None] * (width - 1), [UNIT] + [None] * (width - 1), [None] * width, [None] * width]
    for i, year in enumerate(years):
        grid[2][1 + 3 * i] = year
        grid[3][1 + 3 * i:4 + 3 * i] = MEASURES
    grid += [list(r) for r in body]
    return grid


def build(path: Path = TARGET, years: list[int] = YEARS, body: list[tuple] = BODY) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Тышкы миграция"
    for row in rows(years, body):
        sheet.append(row)
    width = 1 + 3 * len(years)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.merge_cells("A3:A4")
    for i in range(len(years)):
        sheet.merge_cells(start_row=3, start_column=2 + 3 * i, end_row=3, end_column=4 + 3 * i)
        sheet.cell(3, 2 + 3 * i).alignment = Alignment(horizontal="center")
    sheet["A1"].font = Font(bold=True)
    sheet.column_dimensions["A"].width = 28
    for row in sheet.iter_rows(min_row=5):
        for cell in row[1:]:
            cell.number_format = "# ##0"
    # A fixed creation time keeps the file identical from run to run.
    from datetime import datetime
    book.properties.created = book.properties.modified = datetime(2019, 5, 16)
    book.save(path)
    return path


if __name__ == "__main__":
    print(build())
