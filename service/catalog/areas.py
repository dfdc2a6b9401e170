"""CL_AREA is generated: ISO 3166-1 countries from pycountry plus the hand-kept rows of area-extras.yaml.

Rule: nobody edits the country rows of ``codelists/CL_AREA.csv`` by hand. This
module reads pycountry (ISO 3166-1 and the iso-codes gettext translations) and
``codelists/area-extras.yaml`` (totals, M49 regions, CIS and other groups,
relative codes, sub-national units, reserved codes), and writes the file::

    python -m service.catalog.areas           # rewrite codelists/CL_AREA.csv
    python -m service.catalog.areas --check   # exit 1 when the file is out of date

A country row has id = ISO alpha-2; ``name:en`` = pycountry's ``common_name``
if it has one, else its ``name``; ``name:<lang>`` = the iso-codes translation of
that English name, else of the ISO short name, blank when iso-codes has none;
``ann:M49`` = ISO numeric (3 digits, equal to the M49 country code) and
``ann:ISO_ALPHA3``. ``country_names`` in the extras file supplies a name for a
language pycountry lacks; a Russian name is required for every country.
Countries carry no parent: no maintained source at hand gives their M49
sub-region.
"""

from __future__ import annotations

import argparse
import csv
import gettext
import io
import sys
from pathlib import Path
from typing import Any, Iterable

import pycountry
import yaml

#: Languages of code names, in column order.
LANGUAGES = ("en", "ru", "kk", "ky", "tg")
#: Languages a name is required in.
REQUIRED = ("en", "ru")
#: Annotation columns that come first, in this order; any other type follows in order of first use.
ANNOTATION_ORDER = ("M49", "ISO_ALPHA3", "NATIONAL_CODE", "NATIONAL_CLASSIF", "VALID_FROM", "VALID_TO")
#: The gettext domain of ISO 3166-1 names in pycountry.
DOMAIN = "iso3166-1"

CODELISTS = Path(__file__).resolve().parents[2] / "codelists"
EXTRAS_PATH = CODELISTS / "area-extras.yaml"
CSV_PATH = CODELISTS / "CL_AREA.csv"

Row = dict[str, str]


class _Untranslated(gettext.NullTranslations):
    """Fallback that answers None, so a missing translation is told apart from an identical one."""

    def gettext(self, message: str) -> str | None:  # type: ignore[override]
        return None


def _translations(language: str) -> gettext.NullTranslations:
    try:
        catalog = gettext.translation(DOMAIN, pycountry.LOCALES_DIR, languages=[language])
    except FileNotFoundError:
        return _Untranslated()
    catalog.add_fallback(_Untranslated())
    return catalog


def country_rows(overrides: dict[str, dict[str, str]] | None = None) -> list[Row]:
    """One row per ISO 3166-1 country in pycountry, sorted by alpha-2.

    ``overrides`` maps an alpha-2 code to names (language -> text) used where
    pycountry has no translation; pycountry's own names always win.
    """
    overrides = overrides or {}
    catalogs = {lang: _translations(lang) for lang in LANGUAGES if lang != "en"}
    rows = []
    for country in sorted(pycountry.countries, key=lambda c: c.alpha_2):
        english = getattr(country, "common_name", None) or country.name
        row: Row = {"id": country.alpha_2, "name:en": english}
        for lang, catalog in catalogs.items():
            name = catalog.gettext(english) or catalog.gettext(country.name)
            name = name or overrides.get(country.alpha_2, {}).get(lang)
            if name:
                row[f"name:{lang}"] = name
        missing = [lang for lang in REQUIRED if not row.get(f"name:{lang}")]
        if missing:
            raise ValueError(f"country {country.alpha_2} has no {', '.join(missing)} name in pycountry: "
                             f"add it under country_names in {EXTRAS_PATH.name}")
        row["ann:M49"] = country.numeric.zfill(3)
        row["ann:ISO_ALPHA3"] = country.alpha_3
        rows.append(row)
    return rows


def load_extras(path: Path = EXTRAS_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path.name} must be a mapping")
    return data


def extra_row(raw: dict[str, Any], where: str) -> Row:
    """A hand-kept row of the extras file as CSV cells (``ann:<TYPE>`` for annotations)."""
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: each row must be a mapping")
    row: Row = {}
    for key in ("id", "parent"):
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{where}: {key} {value!r} must be quoted text (M49 ids keep their leading zeros)")
        if value:
            row[key] = value
    if "id" not in row:
        raise ValueError(f"{where}: a row needs an id")
    where = f"{where} ({row['id']})"
    for field, prefix in (("names", "name"), ("description", "description")):
        for lang, text in (raw.get(field) or {}).items():
            if lang not in LANGUAGES:
                raise ValueError(f"{where}: unknown language {lang!r} in {field}")
            if text:
                row[f"{prefix}:{lang}"] = " ".join(str(text).split())
    for type_, value in (raw.get("annotations") or {}).items():
        if not isinstance(value, str):
            raise ValueError(f"{where}: annotation {type_} must be quoted text, not {value!r}")
        row[f"ann:{type_}"] = value
    missing = [lang for lang in REQUIRED if not row.get(f"name:{lang}")]
    if missing:
        raise ValueError(f"{where}: needs a name in {', '.join(missing)}")
    unknown = set(raw) - {"id", "parent", "names", "description", "annotations"}
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    return row


def area_rows(extras: dict[str, Any] | None = None) -> list[Row]:
    """Every row of CL_AREA in file order: leading extras, countries, sub-national units, reserved codes."""
    extras = load_extras() if extras is None else extras
    sections = ("before_countries", "after_countries", "reserved")
    hand = {name: [extra_row(raw, f"{name}[{i}]") for i, raw in enumerate(extras.get(name) or [])]
            for name in sections}
    rows = [*hand["before_countries"], *country_rows(extras.get("country_names")),
            *hand["after_countries"], *hand["reserved"]]
    seen: set[str] = set()
    for row in rows:
        if row["id"] in seen:
            raise ValueError(f"CL_AREA: code {row['id']} appears twice")
        seen.add(row["id"])
    return rows


def columns(rows: Iterable[Row]) -> list[str]:
    """Header: id, parent, names, descriptions, ANNOTATION_ORDER, then other annotation types."""
    rows = list(rows)
    used = {key for row in rows for key in row}
    fixed = ["id", "parent", *(f"name:{lang}" for lang in LANGUAGES),
             *(f"description:{lang}" for lang in LANGUAGES), *(f"ann:{type_}" for type_ in ANNOTATION_ORDER)]
    header = [col for col in fixed if col in used or col in ("id", "parent")]
    for row in rows:
        header.extend(key for key in row if key.startswith("ann:") and key not in header)
    return header


def render_csv(rows: list[Row]) -> str:
    header = columns(rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(col, "") for col in header])
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.catalog.areas",
                                     description="Regenerate codelists/CL_AREA.csv from pycountry and "
                                                 "codelists/area-extras.yaml.")
    parser.add_argument("--check", action="store_true", help="only report whether the file is up to date")
    parser.add_argument("--output", type=Path, default=CSV_PATH, help="file to write (default: %(default)s)")
    args = parser.parse_args(argv)
    text = render_csv(area_rows())
    current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
    if args.check:
        if current != text:
            print(f"{args.output} is out of date: run python -m service.catalog.areas", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    if current != text:
        args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({text.count(chr(10)) - 1} codes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
