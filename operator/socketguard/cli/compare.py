"""`socketguard compare`: does every Socket.IO route of BEFORE behave the same through AFTER?"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from socketguard.cli.config import FAIL_ON_CHOICES
from socketguard.cli.lint import (
    EXIT_FINDINGS,
    EXIT_INPUT,
    EXIT_OK,
    check_paths_exist,
    read_cluster_objects,
    stdin_stream,
)
from socketguard.engine.findings import Severity
from socketguard.engine.inventory import InvalidObjectError, Inventory
from socketguard.engine.migration.implementations import NAMES
from socketguard.engine.migration.pair import Difference
from socketguard.inputs.loader import STDIN, Loaded, collections_paused, load_inputs
from socketguard.inputs.locate import Location, Locator

if TYPE_CHECKING:
    from socketguard.engine.migration.compare import Comparison
    from socketguard.report.compare import Locate

_EPILOG = """\b
Examples:
  socketguard compare --before k8s/ingress/ --after k8s/gateway-api/
  ingress2gateway print | socketguard compare --before k8s/ --after - --implementation envoy-gateway
  socketguard compare --before-cluster -n web --after converted/ -o json
  socketguard compare --before old/ --after new/ -o sarif > compare.sarif

\b
Every Socket.IO handshake of BEFORE (each annotated client's, each socket route's own, as
`socketguard trace` builds them) is routed through AFTER and compared aspect by aspect:
reachability, path after rewrites, backends and weights, stickiness, timeouts, CORS, TLS and
redirects, the WebSocket upgrade, and ingress-nginx annotations with no equivalent (SG701-SG709;
`socketguard explain SG704`). Each route is same, changed, broken, added or removed.
The Gateway API implementation comes from AFTER's GatewayClass (or the BEFORE cluster's),
else --implementation; docs/migration.md lists what each one does.

\b
Exit codes:
  2  an input could not be read or parsed, or bad usage
  1  a difference at or above --fail-on (default: error, a broken route)
  0  otherwise"""


@dataclass
class Picture:
    inventory: Inventory = field(default_factory=Inventory)
    locator: Locator = field(default_factory=Locator)
    problems: int = 0


@click.command("compare", epilog=_EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--before", "before_paths", multiple=True, metavar="PATH",
              help="The picture before the migration: files, directories, `-` for stdin; repeatable.")
@click.option("--after", "after_paths", multiple=True, metavar="PATH",
              help="The picture after the migration (as --before); repeatable.")
@click.option("--before-cluster", is_flag=True, help="Read BEFORE from the current kube context.")
@click.option("--context", "kube_context", metavar="NAME", help="Kube context for --before-cluster.")
@click.option("-n", "--namespace", metavar="NS", help="Only this namespace with --before-cluster.")
@click.option("-o", "--output", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True)
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), default="error", show_default=True,
              help="Exit 1 when a difference is at or above this severity.")
@click.option("--implementation", type=click.Choice(NAMES), default=None,
              help="AFTER's Gateway API implementation, when no GatewayClass names it.")
def compare_command(before_paths: tuple[str, ...], after_paths: tuple[str, ...], before_cluster: bool,
                    kube_context: str | None, namespace: str | None, output: str, fail_on: str,
                    implementation: str | None) -> None:
    """Prove each Socket.IO route survives a migration (ingress-nginx -> Gateway API, ...)."""
    from socketguard.engine.migration.compare import compare

    _check(before_paths, after_paths, before_cluster)
    # Both pictures and every answer live until the command ends: collecting garbage while they
    # are built only rescans them.
    with collections_paused(freeze=True):
        before = _picture(read_cluster_objects("compare", kube_context, namespace) if before_cluster
                          else _load(before_paths))
        after = _picture(_load(after_paths))
        comparison = compare(before.inventory, after.inventory, implementation=implementation)

    def locate(difference: Difference) -> Location:
        picture = before if difference.side == "before" else after
        return picture.locator.locate(difference.finding.subject, difference.finding.path)

    click.echo(_render(output, comparison, locate), nl=False)
    if before.problems or after.problems:
        sys.exit(EXIT_INPUT)
    threshold = None if fail_on == "never" else Severity.parse(fail_on)
    failing = threshold is not None and any(d.finding.severity >= threshold for d in comparison.differences())
    sys.exit(EXIT_FINDINGS if failing else EXIT_OK)


def _check(before: tuple[str, ...], after: tuple[str, ...], before_cluster: bool) -> None:
    if before_cluster and before:
        raise click.UsageError("give either --before PATH or --before-cluster, not both")
    if not before and not before_cluster:
        raise click.UsageError("give the picture before the migration: --before PATH or --before-cluster")
    if not after:
        raise click.UsageError("give the picture after the migration: --after PATH")
    if (*before, *after).count(STDIN) > 1:
        raise click.UsageError("stdin (`-`) can be read only once, on one side")
    check_paths_exist((*before, *after))


def _load(paths: tuple[str, ...]) -> Loaded:
    return load_inputs(paths, stdin_stream())


def _picture(loaded: Loaded) -> Picture:
    picture = Picture(problems=len(loaded.problems))
    for problem in loaded.problems:
        click.echo(f"socketguard compare: {problem.location}: {problem.finding.message}", err=True)
    for item in loaded.objects:
        try:
            ref = picture.inventory.add(item.raw)
        except InvalidObjectError:
            continue  # the loader already reported objects without identity
        if item.origin is not None:
            picture.locator.add(ref, item.origin)
    return picture


def _render(output: str, comparison: Comparison, locate: Locate) -> str:
    from socketguard.report import compare as report

    if output == "json":
        return report.render_json(comparison, locate)
    if output == "sarif":
        from socketguard.engine.rules.registry import all_rules

        return report.render_sarif(comparison, locate, all_rules())
    return report.render_text(comparison, locate)
