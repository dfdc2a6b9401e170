"""The ``migstat`` command line: translates arguments into calls on the layers below, nothing else.

Each module of this package defines the commands of one area and a
``register(group)`` function; ``main`` registers them all.
"""

from __future__ import annotations

import click

from . import mappings, push, serve, structures, tokens


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="migstat")
def main() -> None:
    """migstat: harmonised migration statistics over SDMX."""


for _module in (structures, mappings, serve, tokens, push):
    _module.register(main)
