"""Commands that run the service and fill its store: ``migstat serve`` and ``migstat load``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..catalog import PROJECT_ROOT, load_catalog
from ..errors import ServiceError
from ..settings import DEFAULT_DATABASE, Settings
from ..store import open_store
from ..submissions import submit
from .output import print_report

database_option = click.option("--database", "database_url", envvar="MIGSTAT_DATABASE_URL", default=DEFAULT_DATABASE,
                               show_default=True, help="SQLAlchemy URL of the store (env MIGSTAT_DATABASE_URL).")
root_option = click.option("--root", type=click.Path(file_okay=False, path_type=Path), envvar="MIGSTAT_ROOT",
                           default=PROJECT_ROOT, help="Folder holding dsd/, codelists/ and mappings/.")

CONTENT_TYPES = {".csv": "application/vnd.sdmx.data+csv", ".xml": "application/xml", ".json": "application/json"}


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@database_option
@root_option
@click.option("--provider", help="Data provider the files come from (default: the provider of their REF_AREA).")
@click.option("--report", "report_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def load(files: tuple[Path, ...], database_url: str, root: Path, provider: str | None, report_format: str) -> None:
    """Load SDMX-CSV / SDMX-ML / SDMX-JSON data files after full validation, all or nothing per file.

    Exit status 1 when any file is refused (the others are still loaded).
    """
    catalog = load_catalog(root)
    store = open_store(database_url)
    failed = 0
    for path in files:
        try:
            result = submit(catalog, store, path.read_bytes(), CONTENT_TYPES.get(path.suffix.lower()),
                            provider=provider, infer_provider=provider is None)
        except ServiceError as exc:
            failed += 1
            click.echo(f"{path}: refused ({exc.status} {exc.title}): {exc.detail}", err=True)
            if exc.report:
                from ..model.report import Problem, Report
                report = Report()
                for item in exc.report["problems"]:
                    report.add(Problem(**{k: tuple(v) if k == "suggestions" else v for k, v in item.items()}))
                print_report(report, report_format, sys.stderr)
            continue
        click.echo(f"{path}: {result.describe()} (provider {result.provider})")
    sys.exit(1 if failed else 0)


def load_demo(settings: Settings) -> int:
    """Convert the bundled national example tables through their mappings and load them; returns observations."""
    from ..conversion import convert_examples

    catalog = load_catalog(settings.root)
    store = open_store(settings.database_url)
    if store.last_modified() is not None:
        click.echo("the store already holds data; the demo tables are not loaded again", err=True)
        return 0
    total = 0
    for name, body in convert_examples(catalog, settings.root):
        result = submit(catalog, store, body, "application/vnd.sdmx.data+csv;version=2.0.0", infer_provider=True)
        added = sum(d.added for d in result.summary.datasets)
        total += added
        click.echo(f"demo: {name}: {result.describe()}", err=True)
    store.close()
    return total


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=4, show_default=True, type=int, help="gunicorn worker processes.")
@click.option("--dev", is_flag=True, help="One process with Flask's development server instead of gunicorn.")
@click.option("--demo", is_flag=True, help="Load the bundled national example tables into an empty store first.")
@database_option
@root_option
def serve(host: str, port: int, workers: int, dev: bool, demo: bool, database_url: str, root: Path) -> None:
    """Start the SDMX-REST service (gunicorn with several workers; --dev for one process)."""
    settings = Settings.from_env(database_url=database_url, root=root)
    os.environ["MIGSTAT_DATABASE_URL"] = settings.database_url
    os.environ["MIGSTAT_ROOT"] = str(settings.root)
    open_store(settings.database_url).close()  # create or upgrade the schema once, before any worker
    if demo:
        load_demo(settings)
    click.echo(f"migstat: serving on http://{host}:{port}/ (store {settings.database_url})", err=True)
    if dev:
        from ..app import create_app
        create_app(settings).run(host=host, port=port, threaded=True)
        return
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers",
                               str(workers), "--worker-class", "gthread", "--threads", "4", "--timeout", "300",
                               "--access-logfile", "-", "service.wsgi:app"])


def register(group: click.Group) -> None:
    group.add_command(serve)
    group.add_command(load)
