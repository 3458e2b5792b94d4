"""`socketguard route URL`: where one request goes, as each router that serves its host decides."""

from __future__ import annotations

from urllib.parse import urlsplit

import click

from socketguard.cli.lint import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK, read_inventory
from socketguard.engine.inventory import Inventory
from socketguard.engine.routing import Request
from socketguard.engine.routing.decide import EntranceChoice, decide
from socketguard.engine.routing.hosts import fqdn, in_cluster_service
from socketguard.report.route import AskedRequest, render_json, render_text

_EPILOG = """\b
Examples:
  socketguard route https://app.example.com/socket.io/?EIO=4 k8s/
  socketguard route http://app.example.com/api k8s/ --method POST --header version=two
  socketguard route https://app.example.com/ k8s/ --gateway infra/public:https -o json
  socketguard route http://chat.web.svc.cluster.local/socket.io/ k8s/    in-cluster (Istio mesh)
  helm template . | socketguard route https://app.example.com/ws -

\b
For each entrance that serves the URL's host (a Gateway API Gateway, an Istio Gateway, the
ingress-nginx class, `mesh` for Istio sidecar traffic) it prints the router's decision: the
route and rule that matched, the action (forward, redirect, direct, no-route, unresolved),
the router's own status for anything but a forward, the path and query that arrive upstream,
and the backends with their weights, Service ports and workloads. --gateway picks one entrance
(NS/NAME[:LISTENER], an ingress class NAME, or mesh); it then answers even when the entrance
does not serve the host (no-route).

\b
Exit codes:
  0  some decision forwards, redirects or answers directly
  1  none does (no entrance serves the host, no rule matches, backends unresolved)
  2  bad usage or an input that cannot be read"""

_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


@click.command("route", epilog=_EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("url")
@click.argument("paths", nargs=-1, metavar="[PATH ...|-]")
@click.option("--method", default="GET", show_default=True, help="HTTP method of the request.")
@click.option("--header", "headers", multiple=True, metavar="NAME=VALUE",
              help="A request header (repeatable); `host=` overrides the URL's host for host matching.")
@click.option("--gateway", "entrance", metavar="NS/NAME[:LISTENER]|NAME|mesh", help="Ask only this entrance.")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--cluster", is_flag=True, help="Read the current kube context instead of files.")
@click.option("--context", "kube_context", metavar="NAME", help="Kube context for --cluster.")
@click.option("-n", "--namespace", metavar="NS", help="Only this namespace with --cluster.")
def route_command(url: str, paths: tuple[str, ...], method: str, headers: tuple[str, ...], entrance: str | None,
                  output: str, cluster: bool, kube_context: str | None, namespace: str | None) -> None:
    """Where does this request go? Each router's decision, from the manifests or a cluster."""
    from socketguard.engine.context import Context

    parsed_headers = _headers(headers)
    choice = _entrance(entrance)
    inventory, loaded = read_inventory("route", paths, cluster, kube_context, namespace)
    request, asked = build_request(url, method, parsed_headers, inventory, choice)
    decisions = decide(Context(inventory).routers, request, choice)
    render = render_json if output == "json" else render_text
    click.echo(render(asked, decisions), nl=False)
    if loaded.problems:
        raise SystemExit(EXIT_INPUT)
    raise SystemExit(EXIT_OK if any(d.answers for d in decisions) else EXIT_FINDINGS)


def build_request(url: str, method: str, headers: dict[str, str], inventory: Inventory,
                  choice: EntranceChoice | None = None) -> tuple[Request, AskedRequest]:
    """The engine's request for a URL: host matching uses the Host header when one is given."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise click.BadParameter(f"{url!r}: expected an absolute http(s):// or ws(s):// URL", param_hint="URL")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError as error:
        raise click.BadParameter(f"{url!r}: {error}", param_hint="URL") from None
    host_header = headers.get("host")
    host = host_header.rsplit(":", 1)[0] if host_header else parts.hostname
    path = parts.path or "/"
    http_scheme = "https" if scheme in ("https", "wss") else "http"
    websocket = scheme in ("ws", "wss")
    located = in_cluster_service(host, "default")
    mesh = (choice is not None and choice.mesh) or (
        choice is None and located is not None and inventory.service(*located) is not None)
    request = Request(
        host=fqdn(*located) if mesh and located is not None else host.lower(),
        path=path, scheme=http_scheme, port=port, via="mesh" if mesh else "gateway",
        transport="websocket" if websocket else "polling", method=method.upper(),
        more_headers=tuple((name.lower(), value) for name, value in headers.items()),
        raw_query=parts.query,
    )
    return request, AskedRequest(url, host, path, method.upper(), headers)


def _headers(pairs: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name.strip():
            raise click.BadParameter(f"{pair!r}: expected NAME=VALUE", param_hint="--header")
        found[name.strip().lower()] = value
    return found


def _entrance(text: str | None) -> EntranceChoice | None:
    if text is None:
        return None
    try:
        return EntranceChoice.parse(text)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--gateway") from None
