"""`socketguard trace`: the hops of every client and socket route, each with its verdict."""

from __future__ import annotations

import click

from socketguard.cli.lint import EXIT_INPUT, read_inventory
from socketguard.engine.inventory import Inventory
from socketguard.engine.models import WORKLOAD_KINDS
from socketguard.engine.objects import ObjectRef

_EPILOG = """\b
Examples:
  socketguard trace manifests/examples/mageagent/broken/
  socketguard trace k8s/ --client web/dashboard
  socketguard trace k8s/ -o mermaid > route.mmd      paste into a pull request
  socketguard trace k8s/ -o dot | dot -Tpng > route.png
  socketguard trace --cluster -n web

\b
Each tree starts at a client (its io() URL and path) or, for socket routes no client uses, at
the handshake the route is written for, then shows the gateway, the route rule with its match
and the path after rewrite, the Service port and targetPort, and the workload with its server
path. A hop that a finding is about is marked FAIL/WARN with the finding's code; `socketguard
explain CODE` tells more."""


@click.command("trace", epilog=_EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, metavar="[PATH ...|-]")
@click.option("--client", "client_name", metavar="NAMESPACE/NAME", help="Only this client workload's trace.")
@click.option("-o", "--output", type=click.Choice(["text", "mermaid", "dot"]), default="text",
              show_default=True, help="Text tree, Mermaid flowchart, or Graphviz dot.")
@click.option("--cluster", is_flag=True, help="Read the current kube context instead of files.")
@click.option("--context", "kube_context", metavar="NAME", help="Kube context for --cluster.")
@click.option("-n", "--namespace", metavar="NS", help="Only this namespace with --cluster.")
def trace_command(paths: tuple[str, ...], client_name: str | None, output: str, cluster: bool,
                  kube_context: str | None, namespace: str | None) -> None:
    """Show how each Socket.IO handshake travels from the page to the pod."""
    from socketguard.engine.analysis import analyze
    from socketguard.engine.context import Context
    from socketguard.report.trace import render_dot, render_mermaid, render_text, trace_trees

    inventory, loaded = read_inventory("trace", paths, cluster, kube_context, namespace)
    client = _client_ref(inventory, client_name) if client_name else None
    context = Context(inventory)
    trees = trace_trees(context.traces, analyze(inventory), client)
    if client_name and not trees:
        raise click.BadParameter(f"{client_name} is not an annotated client (socketguard.io/client-url ...)",
                                 param_hint="--client")
    render = {"text": render_text, "mermaid": render_mermaid, "dot": render_dot}[output]
    click.echo(render(trees), nl=False)
    if loaded.problems:
        raise SystemExit(EXIT_INPUT)


def _client_ref(inventory: Inventory, name: str) -> ObjectRef:
    namespace, _, workload = name.rpartition("/")
    for kind in sorted(WORKLOAD_KINDS):
        found = inventory.workload(kind, namespace or inventory.default_namespace, workload)
        if found is not None:
            return inventory.ref_of(found)
    raise click.BadParameter(f"no workload {name} in the inputs", param_hint="--client")

