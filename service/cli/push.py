"""``migstat push``: send data to a migstat service, as a national system would.

With ``--mapping`` the national table is converted and validated here
first (``service/conversion.py``): an invalid table prints its report and
nothing is sent. The data (converted, or an SDMX file as it is) goes to
``POST {--to}/v2/data/`` with the provider's token, and the service's
answer is printed.

Exit status: 0 accepted; 1 refused (invalid here, or the service said no);
2 usage or connection problem (no token, unreachable, a server failure).
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import click

from ..catalog import load_catalog
from ..conversion import convert_to_csv
from ..model.report import Problem, Report
from .output import print_report, report_option
from .serve import root_option

CSV_20 = "application/vnd.sdmx.data+csv;version=2.0.0"
CONTENT_TYPES = {".csv": "application/vnd.sdmx.data+csv", ".xml": "application/xml", ".json": "application/json"}


def report_from_dict(data: dict) -> Report:
    """A Report as ``Report.to_dict()`` wrote it (totals kept, list as capped)."""
    report = Report(limit=max(len(data.get("problems", ())), 1))
    for item in data.get("problems", ()):
        report.problems.append(Problem(**{k: tuple(v) if k == "suggestions" else v for k, v in item.items()}))
    report.error_count, report.warning_count = int(data.get("errors", 0)), int(data.get("warnings", 0))
    return report


def send(url: str, body: bytes, content_type: str, token: str, release_at: str | None,
         timeout: float) -> tuple[int, dict]:
    """POST the data; (HTTP status, the JSON answer). Raises OSError when the service cannot be reached."""
    target = url.rstrip("/") + "/v2/data/"
    if release_at:
        target += "?" + urllib.parse.urlencode({"releaseAt": release_at})
    request = urllib.request.Request(target, data=body, method="POST", headers={
        "Content-Type": content_type, "Accept": "application/json", "Authorization": f"Bearer {token}",
        "User-Agent": "migstat-push"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw or b"{}")
    except ValueError:
        return status, {"errors": [{"code": status, "title": f"HTTP {status}",
                                    "detail": raw[:500].decode("utf-8", "replace")}]}


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--to", "url", required=True, help="Base URL of the migstat service, e.g. https://host.")
@click.option("--token", envvar="MIGSTAT_TOKEN", help="The provider's API token (env MIGSTAT_TOKEN).")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Convert FILE, a national table, with this mapping first (validated here).")
@click.option("--release-at", help="Embargo: keep the data hidden from the public until this ISO 8601 time.")
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait for the service.")
@root_option
@report_option
def push(file: Path, url: str, token: str | None, mapping: Path | None, release_at: str | None, timeout: float,
         root: Path, report_format: str) -> None:
    """Send FILE (an SDMX data file, or a national table with --mapping) to the service at --to."""
    if not token:
        click.echo("no token: give --token or set MIGSTAT_TOKEN (the operator makes one with "
                   "`migstat tokens create PROVIDER`)", err=True)
        sys.exit(2)
    if not url.startswith(("http://", "https://")):
        click.echo(f"--to {url!r} is not an http:// or https:// URL", err=True)
        sys.exit(2)
    if mapping is not None:
        body, report = convert_to_csv(load_catalog(root), mapping, file)
        if body is None:
            print_report(report, report_format)
            click.echo(f"{file}: not sent; the table has {report.error_count} error(s)", err=True)
            sys.exit(1)
        content_type = CSV_20
        click.echo(f"{file}: converted with {mapping.name} and valid; sending", err=True)
    else:
        body, content_type = file.read_bytes(), CONTENT_TYPES.get(file.suffix.lower(), "application/octet-stream")
    try:
        status, answer = send(url, body, content_type, token, release_at, timeout)
    except OSError as exc:
        click.echo(f"cannot reach {url}: {getattr(exc, 'reason', exc)}", err=True)
        sys.exit(2)
    if status == 200:
        click.echo(answer.get("message") or json.dumps(answer))
        sys.exit(0)
    error = (answer.get("errors") or [{}])[0]
    click.echo(f"refused ({status} {error.get('title', '')}): {error.get('detail', '')}", err=True)
    if error.get("report"):
        print_report(report_from_dict(error["report"]), report_format, sys.stderr)
    sys.exit(1 if status < 500 else 2)


def register(group: click.Group) -> None:
    group.add_command(push)


__all__ = ["push", "register", "report_from_dict", "send"]
