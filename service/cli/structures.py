"""Commands on the structural artefacts: ``migstat check`` and ``migstat structures export``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..catalog import PROJECT_ROOT, load_catalog
from ..catalog.check import check_catalog
from .output import print_report, report_option

root_option = click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=PROJECT_ROOT,
                           show_default=False, help="Folder holding dsd/ and codelists/ (default: this checkout).")


@click.command()
@root_option
@report_option
def check(root: Path, report_format: str) -> None:
    """Validate everything in dsd/ and codelists/.

    Checks XSD validity of the generated SDMX-ML, references, duplicate ids,
    English and Russian names, constraint codes, parents and annotations.
    Exit status 1 when there is any error.
    """
    report = check_catalog(load_catalog(root))
    print_report(report, report_format)
    if report_format == "table" and report.valid:
        stats = ", ".join(f"{count} {kind}" for kind, count in report.stats.items())
        click.echo(f"OK: {stats}")
    sys.exit(0 if report.valid else 1)


@click.group()
def structures() -> None:
    """Structural artefacts (DSD, dataflows, codelists...)."""


@structures.command("export")
@root_option
@click.option("--format", "fmt", type=click.Choice(["sdmx-ml", "sdmx-json", "sdmx-json-2"]), default="sdmx-ml",
              show_default=True, help="SDMX-ML 2.1, SDMX-JSON 1.0 or SDMX-JSON 2.0 structure message.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
def export(root: Path, fmt: str, output: Path | None) -> None:
    """Write all artefacts as one structure message."""
    catalog = load_catalog(root)
    if not catalog.report.valid:
        print_report(catalog.report, "table", sys.stderr)
        raise click.ClickException("the structures have errors; run `migstat check`")
    artefacts = list(catalog.all_artefacts())
    if fmt == "sdmx-ml":
        from ..formats.structure_ml import write_structure_message
        document = write_structure_message(artefacts)
    else:
        from ..formats.structure_json import write_structure_json
        document = write_structure_json(artefacts, version="1.0.0" if fmt == "sdmx-json" else "2.0.0")
    if output is None:
        sys.stdout.buffer.write(document)
    else:
        tmp = output.with_name(output.name + ".part")
        tmp.write_bytes(document)
        tmp.replace(output)
        click.echo(f"wrote {output} ({len(document):,} bytes)", err=True)


def register(group: click.Group) -> None:
    group.add_command(check)
    group.add_command(structures)
