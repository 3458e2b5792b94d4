"""`socketguard contract scan`: read the event contract from source code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

import click

from socketguard.inputs.scan.events import RoleChoice, annotations_for, split_by_role
from socketguard.inputs.scan.model import DEFAULT_MAX_FILE_BYTES, DEFAULT_SUBSCRIBE_EVENTS


@click.group("contract")
def contract() -> None:
    """The event contract: what clients and servers emit, listen for and join."""


@contract.command("scan")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--role", type=click.Choice(["client", "server", "server,client"]), default=None,
              help="Which side the sources are (default: per file, from imports and calls). "
                   "The client side prints as client-* keys.")
@click.option("-o", "--output", type=click.Choice(["annotations", "json"]), default="annotations",
              show_default=True, help="Annotations to paste into the workload, or every item as JSON.")
@click.option("--subscribe-event", "subscribe_events", multiple=True, metavar="EVENT",
              help="Client events whose payload names rooms to join (default: subscribe, join).")
@click.option("--max-file-bytes", type=click.IntRange(min=1), default=DEFAULT_MAX_FILE_BYTES,
              show_default=True, help="Larger files are skipped and reported.")
def scan(paths: tuple[Path, ...], role: str | None, output: str, subscribe_events: tuple[str, ...],
         max_file_bytes: int) -> None:
    """Scan JavaScript, TypeScript and Python sources for Socket.IO events, rooms and options.

    \b
    Examples:
      socketguard contract scan frontend/src --role client
      socketguard contract scan backend/src -o json
    Exit 2 when an input could not be read.
    """
    try:
        from socketguard.inputs.scan.collect import ScanConfig
        from socketguard.inputs.scan.source import scan_paths
    except ImportError as error:
        raise click.UsageError(
            f"the source scan needs tree-sitter ({error.name} is missing): "
            "pip install 'socketguard[scan]'"
        ) from None
    config = ScanConfig(subscribe_events=frozenset(subscribe_events or DEFAULT_SUBSCRIBE_EVENTS))
    result = scan_paths(list(paths), config, max_file_bytes=max_file_bytes)
    sides = split_by_role(result, cast(RoleChoice | None, role))
    annotations = annotations_for(sides)
    if output == "json":
        document = {
            "annotations": {f"socketguard.io/{k}": v for k, v in annotations.values.items()},
            "unknown": annotations.comments,
            "sides": {side: part.as_dict() for side, part in sides.items()},
            "errors": [note.as_dict() for note in result.errors],
        }
        click.echo(json.dumps(document, indent=2))
    else:
        count = len(result.files)
        header = f"socketguard contract scan: {count} source file{'' if count == 1 else 's'}"
        click.echo(f"# {header}\n" + annotations.render(), nl=False)
    for note in result.errors:
        click.echo(f"{note.location}: {note.message}", err=True)
    if result.errors:
        raise SystemExit(2)
