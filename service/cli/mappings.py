"""Commands on national tables: ``migstat convert`` and ``migstat mappings check``.

Exit status of ``convert``: 0 valid (the output is written), 1 invalid data
(nothing is written: the message goes to a temporary file renamed only on
success), 2 a usage or mapping-file error.
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import sys
import tempfile
from pathlib import Path

import click

from ..catalog import PROJECT_ROOT, Catalog, load_catalog
from ..formats.sdmx_csv import write_sdmx_csv, write_sdmx_csv_1
from ..formats.sdmx_ml_data import write_structure_specific
from ..conversion import Prepared
from ..mappings import MappingFileError, SourceError, load_mapping, open_source
from ..model.report import Report
from .output import print_report, report_option

WRITERS = {"sdmx-csv": write_sdmx_csv, "sdmx-csv-1": write_sdmx_csv_1, "sdmx-ml": write_structure_specific}
#: Source problems that are the caller's mistake (exit 2) rather than bad data (exit 1).
USAGE_SOURCE_ERRORS = {"missing-file", "unknown-format", "unknown-sheet"}

root_option = click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=PROJECT_ROOT,
                           help="Folder holding dsd/, codelists/ and mappings/ (default: this checkout).")


def _progress():
    if not sys.stderr.isatty():
        return None

    def show(rows: int) -> None:
        sys.stderr.write(f"\r{rows:,} rows read")
        sys.stderr.flush()
    return show


@contextlib.contextmanager
def _no_collections():
    """No cyclic garbage collection while millions of observations stream (about a tenth of the time):
    the pipeline makes no reference cycles, and each collection would walk every observation the
    validator remembers. Reference counting still frees everything as it goes."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _catalog(root: Path, report_format: str) -> Catalog:
    catalog = load_catalog(root)
    if not catalog.report.valid:
        print_report(catalog.report, report_format, sys.stderr)
        click.echo("the structures in dsd/ and codelists/ have errors; run `migstat check`", err=True)
        sys.exit(2)
    return catalog


@click.command()
@click.option("-m", "--mapping", "mapping_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The mapping file of the table's layout (mappings/<country>/<table>.yaml).")
@click.argument("source_path", metavar="TABLE", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: stdout). Written only when the data are valid.")
@click.option("--format", "fmt", type=click.Choice(sorted(WRITERS)), default="sdmx-csv", show_default=True,
              help="SDMX-CSV 2.0, SDMX-CSV 1.0 or SDMX-ML 2.1 structure-specific data.")
@report_option
@root_option
def convert(mapping_path: Path, source_path: Path, output: Path | None, fmt: str, report_format: str,
            root: Path) -> None:
    """Convert a national TABLE (CSV or XLSX) into SDMX with its mapping.

    Every problem is reported with the file, sheet, row, column and value;
    unknown labels come with the closest codes. Exit status: 0 valid,
    1 invalid data (nothing written), 2 usage or mapping-file error.
    """
    report_stream = sys.stdout if output is not None else sys.stderr
    report = Report()
    try:
        spec = load_mapping(mapping_path)
    except MappingFileError as exc:
        print_report(exc.report, report_format, report_stream)
        sys.exit(2)
    prepared = Prepared(spec, _catalog(root, report_format), report)
    if not report.valid:
        print_report(report, report_format, report_stream)
        sys.exit(2)
    try:
        source = open_source(source_path, spec.source)
    except SourceError as exc:
        report.error(exc.code, str(exc), file=source_path.name, row=exc.row, column=exc.column, value=exc.value)
        print_report(report, report_format, report_stream)
        sys.exit(2 if exc.code in USAGE_SOURCE_ERRORS else 1)

    ctx = prepared.write_context()
    target_dir = output.resolve().parent if output is not None else None
    handle = tempfile.NamedTemporaryFile("wb", delete=False, dir=target_dir,
                                         prefix=f".{output.name}." if output else "migstat-", suffix=".part")
    try:
        with handle, _no_collections():
            for chunk in WRITERS[fmt](prepared.series(source, report, _progress()), ctx):
                handle.write(chunk)
        if sys.stderr.isatty():
            sys.stderr.write("\r")
        report.stats.update(mapping=str(mapping_path), source=str(source_path), format=fmt)
        if not report.valid:
            os.unlink(handle.name)
            print_report(report, report_format, report_stream)
            sys.exit(1)
        if output is not None:
            os.replace(handle.name, output)
        else:
            with open(handle.name, "rb") as written:
                shutil.copyfileobj(written, sys.stdout.buffer)
            sys.stdout.flush()
            os.unlink(handle.name)
    except BaseException:
        if os.path.exists(handle.name):
            os.unlink(handle.name)
        raise
    if report_format == "json" or report.problems:
        print_report(report, report_format, report_stream)
    if output is not None and report_format == "table":
        click.echo(f"wrote {output}: {report.stats.get('series', 0):,} series, "
                   f"{report.stats.get('observations', 0):,} observations", err=True)


@click.group("mappings")
def mappings_group() -> None:
    """Mapping files of national tables (mappings/<country>/*.yaml)."""


@mappings_group.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--examples/--no-examples", default=True, show_default=True,
              help="Also convert each mapping's example inputs and validate the result.")
@report_option
@root_option
def check(paths: tuple[Path, ...], examples: bool, report_format: str, root: Path) -> None:
    """Check mapping files (default: every mapping under mappings/).

    Checks the schema, that every component and code a mapping names exists
    in the structures and codelists (and the dataflow's constraint), that
    every dimension of the DSD is covered, that the aliases name real codes,
    and converts the examples. Exit status 1 when there is any error.
    """
    catalog = _catalog(root, report_format)
    files = _mapping_files(paths or (root / "mappings",))
    report = Report()
    lines = []
    for path in files:
        errors_before = report.error_count
        try:
            spec = load_mapping(path)
        except MappingFileError as exc:
            report.extend(exc.report.problems)
            lines.append(f"FAIL {_shown(path, root)}")
            continue
        prepared = Prepared(spec, catalog, report)
        note = ""
        if examples and report.error_count == errors_before:
            counts = []
            for example in spec.examples():
                try:
                    source = open_source(example, spec.source)
                except SourceError as exc:
                    report.error(exc.code, str(exc), file=str(example), row=exc.row, column=exc.column)
                    continue
                observations = sum(len(s.observations) for s in prepared.series(source, report))
                counts.append(f"{example.name}: {observations} observations")
            note = f" ({'; '.join(counts)})" if counts else ""
        lines.append(f"{'OK  ' if report.error_count == errors_before else 'FAIL'} {_shown(path, root)}{note}")
    report.stats["mappings"] = len(files)
    if report_format == "table":
        for line in lines:
            click.echo(line)
    print_report(report, report_format)
    sys.exit(0 if report.valid else 1)


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _mapping_files(paths: tuple[Path, ...]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.rglob("*.yaml") if p.name != "aliases.yaml")
        else:
            out.append(path)
    return out


def register(group: click.Group) -> None:
    group.add_command(convert)
    group.add_command(mappings_group)
