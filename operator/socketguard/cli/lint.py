"""`socketguard lint`: read manifests (or a cluster), run the engine, report, exit 0/1/2."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NoReturn

import click

from socketguard.cli.baseline import BaselineError, Key, read_baseline, write_baseline
from socketguard.cli.config import FAIL_ON_CHOICES, SHOW_CHOICES, ConfigError, load_config, parse_codes
from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import ObjectRef
from socketguard.engine.rules.base import Rule
from socketguard.inputs.locate import Located, Locator, by_location

if TYPE_CHECKING:
    # At run time these load in the functions that use them: reading manifests brings in the
    # typed views (pydantic), which `lint --help` never needs.
    from socketguard.cli.sources import SourceBinding
    from socketguard.engine.context import Context
    from socketguard.engine.inventory import Inventory
    from socketguard.inputs.loader import Loaded

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2
UNPARSEABLE = "SG003"

_EPILOG = """\b
Examples:
  socketguard lint manifests/                  every *.yaml, *.yml, *.json below
  socketguard lint .                           also renders Helm charts and Kustomize overlays
  socketguard lint . --helm-values prod.yaml --helm-set replicas=3 --helm-namespace shop
  helm template app ./chart | socketguard lint -
  kubectl get deploy,svc,vs,dr -A -o yaml | socketguard lint -
  socketguard lint --cluster                   the current kube context
  socketguard lint k8s/ -o sarif > socketguard.sarif     GitHub code scanning
  socketguard lint k8s/ --fail-on warning --show warning
  socketguard lint k8s/ --ignore SG204,SG302
  socketguard lint . --exclude 'charts/*/templates' --exclude docker-compose.yml
  socketguard lint k8s/ --write-baseline .socketguard-baseline.json   adopt: record today's findings
  socketguard lint k8s/ --baseline .socketguard-baseline.json         report only new ones
  socketguard lint k8s/ --source web/dashboard=frontend/src --source web/chat=backend/src
                                               events and rooms from the code, stale annotations flagged

\b
Exit codes (the same in every output format):
  2  an input could not be read or parsed (SG003), or bad usage; even with
     --fail-on never, unless SG003 is ignored or in the baseline
  1  a finding at or above --fail-on (default: error)
  0  otherwise

\b
Settings: the nearest .socketguard.yaml, or [tool.socketguard] in pyproject.toml:
  ignore = ["SG204"]   fail-on = "warning"   show = "warning"
  baseline = "sg-baseline.json"   exclude = ["charts/*/templates"]
Flags win over the file; --ignore and --exclude add to the file's.
Single objects: annotate them with socketguard.io/ignore: "SG204,SG302".
`socketguard explain CODE` tells what a finding means and how to fix it."""


@dataclass
class LintResult:
    """Everything a report needs: all findings left after ignores, split by the baseline."""

    new: list[Located] = field(default_factory=list)
    known: list[Located] = field(default_factory=list)
    locator: Locator = field(default_factory=Locator)
    # Objects defined more than once (the last definition wins, as with `kubectl apply`):
    # the ref and where the definition that was replaced came from.
    replaced: list[tuple[ObjectRef, str]] = field(default_factory=list)
    # What the findings were computed on (the inventory with it). Kept with the result: a lint
    # exits without freeing what it built (see `socketguard.cli.run`), and freeing 10,000
    # objects' views one by one when the analysis returned cost a thirtieth of the lint.
    context: Context | None = None


def run_lint(
    loaded: Loaded,
    *,
    ignore: Sequence[str] = (),
    rules: Sequence[Rule] | None = None,
    baseline: frozenset[Key] = frozenset(),
    sources: Sequence[SourceBinding] = (),
) -> LintResult:
    """Fills an inventory from what was loaded, analyses it, locates and splits the findings.

    Raises SourceError when a `--source` binding names no workload or cannot be scanned.
    """
    from socketguard.inputs.loader import collections_paused

    # The inventory, the analysis and the findings live until the command ends: collecting
    # garbage while they are built only rescans them (a fifth of lint's time at 10,000 objects).
    with collections_paused(freeze=True):
        return _run_lint(loaded, ignore=ignore, rules=rules, baseline=baseline, sources=sources)


def _run_lint(loaded: Loaded, *, ignore: Sequence[str], rules: Sequence[Rule] | None, baseline: frozenset[Key],
              sources: Sequence[SourceBinding]) -> LintResult:
    from socketguard.cli.sources import resolve_sources
    from socketguard.engine.analysis import analyze_with_context
    from socketguard.engine.inventory import InvalidObjectError, Inventory

    ignored = {code.upper() for code in ignore}
    inventory = Inventory()
    result = LintResult()
    located = [item for item in loaded.problems if item.finding.code not in ignored]
    for loaded_object in loaded.objects:
        try:
            ref = inventory.add(loaded_object.raw)
        except InvalidObjectError:
            continue  # the loader already reported objects without identity
        # Objects read from a cluster have no origin: nothing to locate, never defined twice.
        previous = result.locator.add(ref, loaded_object.origin) if loaded_object.origin is not None else None
        if previous is not None:
            result.replaced.append((ref, f"{previous.file}:{previous.line}:{previous.column}"))
    event_sources = resolve_sources(sources, inventory)
    analysis = analyze_with_context(inventory, rules=rules, ignore=tuple(ignored), event_sources=event_sources)
    result.context = analysis.context
    located.extend(result.locator.locate_finding(finding) for finding in analysis.findings)
    located.sort(key=by_location)
    if not baseline:
        result.new = located
        return result
    for item in located:
        (result.known if item.finding.key in baseline else result.new).append(item)
    return result


def rule_set() -> Sequence[Rule]:
    """The rules `lint` runs (the registry's); a seam for the CLI tests' own rules."""
    from socketguard.engine.rules.registry import all_rules

    return all_rules()


def exit_code(findings: Sequence[Finding], fail_on: Severity | None) -> int:
    if any(finding.code == UNPARSEABLE for finding in findings):
        return EXIT_INPUT
    if fail_on is not None and any(finding.severity >= fail_on for finding in findings):
        return EXIT_FINDINGS
    return EXIT_OK


def _use_colour(choice: str) -> bool:
    if choice == "always":
        return True
    if choice == "never":
        return False
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _fail(message: str, command: str = "lint") -> NoReturn:
    click.echo(f"socketguard {command}: {message}", err=True)
    sys.exit(EXIT_INPUT)


@click.command(epilog=_EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, metavar="[PATH ...|-]")
@click.option("-o", "--output", type=click.Choice(["text", "json", "sarif"]), default="text",
              show_default=True, help="Report format.")
@click.option("--fail-on", type=click.Choice(FAIL_ON_CHOICES), default=None,
              help="Exit 1 when a finding is at or above this severity  [default: error]")
@click.option("--show", type=click.Choice(SHOW_CHOICES), default=None,
              help="Print findings at or above this severity  [default: info]")
@click.option("--ignore", "ignore_values", multiple=True, metavar="CODES",
              help="Rule codes to skip, comma-separated; repeatable.")
@click.option("--exclude", "exclude_values", multiple=True, metavar="GLOB",
              help="Skip files found in directories whose path (or folder) matches; repeatable.")
@click.option("--helm-values", "helm_values", multiple=True, metavar="FILE",
              help="Values file for every Helm chart found (helm template --values); repeatable.")
@click.option("--helm-set", "helm_set", multiple=True, metavar="KEY=VALUE",
              help="Value for every Helm chart found (helm template --set); repeatable.")
@click.option("--helm-release", default="release", show_default=True, metavar="NAME",
              help="Release name charts are rendered with.")
@click.option("--helm-namespace", default="default", show_default=True, metavar="NS",
              help="Release namespace charts are rendered with.")
@click.option("-v", "--verbose", is_flag=True,
              help="List the documents skipped as not Kubernetes and the helm/kustomize commands run.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Settings file (default: nearest .socketguard.yaml or pyproject.toml).")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Do not report findings recorded in this file.")
@click.option("--write-baseline", "write_baseline_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Record every current finding in this file and exit 0.")
@click.option("--source", "source_values", multiple=True, metavar="TARGET=DIR",
              help="Scan DIR's JavaScript/TypeScript/Python for the events and rooms of workload TARGET "
                   "(NAMESPACE/NAME, or client/server when there is one); repeatable.")
@click.option("--cluster", is_flag=True, help="Read the current kube context instead of files.")
@click.option("--context", "kube_context", metavar="NAME", help="Kube context for --cluster.")
@click.option("-n", "--namespace", metavar="NS", help="Only this namespace with --cluster.")
@click.option("--color", "--colour", "colour", type=click.Choice(["auto", "always", "never"]),
              default="auto", show_default=True, help="Colour the text report.")
def lint(
    paths: tuple[str, ...],
    output: str,
    fail_on: str | None,
    show: str | None,
    ignore_values: tuple[str, ...],
    exclude_values: tuple[str, ...],
    helm_values: tuple[str, ...],
    helm_set: tuple[str, ...],
    helm_release: str,
    helm_namespace: str,
    verbose: bool,
    config_file: Path | None,
    baseline_file: Path | None,
    write_baseline_file: Path | None,
    source_values: tuple[str, ...],
    cluster: bool,
    kube_context: str | None,
    namespace: str | None,
    colour: str,
) -> None:
    """Check Socket.IO routing in Kubernetes manifests, offline.

    Reads files, directories (recursively: *.yaml, *.yml, *.json; Helm charts rendered with
    `helm template`, Kustomize directories with `kubectl kustomize`; .gitignore honoured),
    multi-document YAML and List objects; `-` reads stdin. YAML or JSON with neither
    apiVersion nor kind is not Kubernetes and is skipped. Every finding names the file, line
    and column of the field to change.
    """
    from socketguard.cli.sources import SourceBinding, SourceError
    from socketguard.inputs.loader import load_inputs
    from socketguard.inputs.render import HelmOptions

    _check_inputs(paths, cluster)
    try:
        settings = load_config(config_file, Path.cwd())
        baseline_path = baseline_file or settings.baseline
        known = read_baseline(baseline_path) if baseline_path and not write_baseline_file else frozenset()
    except (ConfigError, BaselineError) as error:
        _fail(str(error))
    ignore = (*settings.ignore, *parse_codes(ignore_values))
    exclude = (*settings.exclude, *exclude_values)
    helm = HelmOptions(helm_release, helm_namespace, helm_values, helm_set)
    loaded = (
        read_cluster_objects("lint", kube_context, namespace)
        if cluster
        else load_inputs(paths, stdin_stream(), exclude=exclude, helm=helm)
    )
    if verbose:
        _note_read(loaded)
    rules = rule_set()
    try:
        bindings = [SourceBinding.parse(value) for value in source_values]
        result = run_lint(loaded, ignore=ignore, rules=rules, baseline=known, sources=bindings)
    except SourceError as error:
        _fail(str(error))
    if write_baseline_file is not None:
        count = write_baseline(write_baseline_file, (item.finding for item in result.new))
        click.echo(f"socketguard lint: recorded {count} findings in {write_baseline_file}", err=True)
        sys.exit(EXIT_OK)
    _note_replaced(result.replaced)
    fail_severity = _severity(fail_on or settings.fail_on or "error")
    shown_severity = _severity(show or settings.show or "info") or Severity.INFO
    shown = [item for item in result.new if item.finding.severity >= shown_severity]
    _emit(output, shown, result, rules, colour, hidden=len(result.new) - len(shown), skipped=len(loaded.skipped))
    sys.exit(exit_code([item.finding for item in result.new], fail_severity))


def _note_replaced(replaced: list[tuple[ObjectRef, str]], limit: int = 5) -> None:
    if not replaced:
        return
    shown = "; ".join(f"{ref} (first at {where})" for ref, where in replaced[:limit])
    more = f" and {len(replaced) - limit} more" if len(replaced) > limit else ""
    click.echo(
        f"socketguard lint: {_count(len(replaced), 'object is', 'objects are')} defined more than once; "
        f"the last definition is checked: {shown}{more}",
        err=True,
    )


def _note_read(loaded: Loaded) -> None:
    for command in loaded.rendered:
        click.echo(f"socketguard lint: rendered: {command}", err=True)
    for document in loaded.skipped:
        click.echo(f"socketguard lint: skipped, not a Kubernetes object (no apiVersion or kind): {document}", err=True)


def _count(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _check_inputs(paths: tuple[str, ...], cluster: bool) -> None:
    from socketguard.inputs.loader import STDIN

    if cluster and paths:
        raise click.UsageError("give either PATHs or --cluster, not both")
    if not cluster and not paths:
        raise click.UsageError("give the manifests to check: PATH ..., `-` for stdin, or --cluster")
    if paths.count(STDIN) > 1:
        raise click.UsageError("stdin (`-`) can be read only once")
    check_paths_exist(paths)


def check_paths_exist(paths: Sequence[str]) -> None:
    from socketguard.inputs.loader import STDIN

    missing = [p for p in paths if p != STDIN and not os.path.lexists(p)]
    if missing:
        raise click.BadParameter(f"no such file or directory: {', '.join(missing)}", param_hint="PATH")


def read_inventory(command: str, paths: tuple[str, ...], cluster: bool, context: str | None,
                   namespace: str | None) -> tuple[Inventory, Loaded]:
    """The inventory of PATHs (or the cluster) for commands that read manifests as `lint` does.

    Unreadable input is reported on stderr; the caller exits 2 after its output when there was any.
    """
    from socketguard.engine.inventory import InvalidObjectError, Inventory
    from socketguard.inputs.loader import load_inputs

    _check_inputs(paths, cluster)
    loaded = read_cluster_objects(command, context, namespace) if cluster else load_inputs(paths, stdin_stream())
    for problem in loaded.problems:
        click.echo(f"socketguard {command}: {problem.location}: {problem.finding.message}", err=True)
    inventory = Inventory()
    for item in loaded.objects:
        try:
            inventory.add(item.raw)
        except InvalidObjectError:
            continue  # the loader already reported objects without identity
    return inventory, loaded


def stdin_stream() -> BinaryIO:
    return click.get_binary_stream("stdin")


def read_cluster_objects(command: str, context: str | None, namespace: str | None) -> Loaded:
    """The objects of a cluster (`--cluster`), as if loaded; exits 2 when the cluster cannot be read."""
    from socketguard.cli.cluster import ClusterError, read_cluster
    from socketguard.inputs.loader import Loaded, LoadedObject

    try:
        found = read_cluster(context, namespace)
    except ClusterError as error:
        _fail(str(error), command)
    if found.missing_kinds:
        click.echo(f"socketguard {command}: not served by this cluster: {', '.join(found.missing_kinds)}", err=True)
    # Objects from the API have no file: their findings are located by JSONPath only.
    return Loaded(objects=[LoadedObject(raw, None) for raw in found.objects])


def _severity(label: str) -> Severity | None:
    return None if label == "never" else Severity.parse(label)


def _emit(
    output: str,
    shown: list[Located],
    result: LintResult,
    rules: Sequence[Rule],
    colour: str,
    *,
    hidden: int,
    skipped: int = 0,
) -> None:
    if output == "json":
        from socketguard.report import json as json_report

        sys.stdout.writelines(json_report.lines(shown))  # 20 MB at 10,000 objects: never joined first
    elif output == "sarif":
        from socketguard.report import sarif

        click.echo(sarif.render(shown, rules, source_root=Path.cwd()), nl=False)
    else:
        from socketguard.report import text

        use_colour = _use_colour(colour)
        report = text.render(
            shown,
            colour=use_colour,
            locate_ref=result.locator.locate,
            hidden=hidden,
            baselined=len(result.known),
            skipped=skipped,
        )
        click.echo(report, nl=False, color=use_colour)
