"""`socketguard trace` views: each trace as a tree of hops, each hop with its verdict.

A hop is marked with the findings whose subject is the hop's object (and, for a route rule,
whose field lies under that rule), so the failing hop carries its code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from socketguard.engine.findings import Finding, Severity
from socketguard.engine.objects import FieldPath, ObjectRef, render_path
from socketguard.engine.routing import Backend, RouteHop
from socketguard.engine.semantics import server_accepts
from socketguard.engine.trace import Delivery, Trace, TraceSet
from socketguard.report.route import share_text


@dataclass
class Hop:
    kind: str  # client, request, gateway, route, service, workload
    label: str
    ref: ObjectRef | None = None
    path: FieldPath = ()
    extra_paths: tuple[FieldPath, ...] = ()  # fields outside `path` that belong to this hop
    findings: list[Finding] = field(default_factory=list)
    children: list[Hop] = field(default_factory=list)

    @property
    def codes(self) -> list[str]:
        """`SG501 event-never-emitted (9)`: each code once, worst first, with its count."""
        counts: dict[tuple[str, str], int] = {}
        for finding in sorted(self.findings, key=lambda f: (-f.severity, f.code)):
            counts[(finding.code, finding.name)] = counts.get((finding.code, finding.name), 0) + 1
        return [f"{code} {name}" + (f" ({count})" if count > 1 else "") for (code, name), count in counts.items()]

    @property
    def verdict(self) -> str:
        worst = max((f.severity for f in self.findings), default=None)
        return {None: "ok", Severity.INFO: "info", Severity.WARNING: "warning", Severity.ERROR: "error"}[worst]


def trace_trees(traces: TraceSet, findings: Iterable[Finding], client: ObjectRef | None = None) -> list[Hop]:
    """One tree per client trace (or only `client`'s), then one per route trace no client covers."""
    found = list(findings)
    trees = []
    covered: set[tuple[ObjectRef, FieldPath]] = set()
    for trace in traces.client_traces():
        if client is not None and trace.client is not None and trace.client.workload != client:
            continue
        trees.append(_tree(trace, found))
        if trace.hop is not None:
            covered.add((trace.hop.route, trace.hop.rule_path))
    if client is None:
        for trace in traces.route_traces():
            if trace.origin is not None and (trace.origin.route, trace.origin.rule_path) not in covered:
                covered.add((trace.origin.route, trace.origin.rule_path))
                trees.append(_tree(trace, found))
    for tree in trees:
        _attach(tree, found)
    return trees


def _tree(trace: Trace, findings: list[Finding]) -> Hop:
    request = trace.request
    url = f"{request.scheme}://{request.host}{request.path}?EIO=4&transport={request.transport}"
    root: Hop
    if trace.client is not None:
        spec = trace.client
        root = Hop("client", f"{spec.workload} io({spec.url or 'page origin'}, path {spec.path})"
                   + (f", origin {spec.origin}" if spec.origin else ""), spec.workload)
        current = Hop("request", f"GET {url}")
        root.children.append(current)
    else:
        root = current = Hop("request", f"GET {url} (the handshake this route is written for)")
    entrance = trace.routing.entrance
    if entrance is not None and entrance.gateway is not None:
        gateway = Hop("gateway", f"{entrance.gateway} {render_path(entrance.server_path or ())} "
                                 f"{entrance.protocol} port {request.port}{' TLS' if entrance.tls else ''}",
                      entrance.gateway, entrance.server_path or ())
        current.children.append(gateway)
        current = gateway
    elif entrance is None:
        current.children.append(Hop("gateway", f"no Gateway serves {request.host}"))
        return root
    hop = trace.hop
    if hop is None:
        if trace.routing.direct is not None:
            current.children.append(_backend_hop(trace.routing.direct, trace.deliveries, request.path))
        else:
            current.children.append(Hop("route", f"no route matches {request.path} on {request.host}"))
        return root
    current.children.append(_route_hop(trace, hop))
    return root


def _route_hop(trace: Trace, hop: RouteHop) -> Hop:
    shadow = ""
    if trace.shadowed and trace.origin is not None:
        shadow = f" (captures the request meant for {trace.origin.rule_path_text})"
    timeout = f", timeout {hop.timeout_ms / 1000:g}s" if hop.timeout_ms else ""
    node = Hop("route", f"{hop.route} {hop.rule_path_text} {hop.match_text} -> upstream {hop.upstream_path}"
                        f"{timeout}{shadow}", hop.route, hop.rule_path,
               tuple(p for p in (hop.rewrite_path, hop.timeout_path, hop.cors.path if hop.cors else None) if p))
    node.children.extend(_backend_hop(b, trace.deliveries, hop.upstream_path) for b in hop.backends)
    if not hop.backends:
        node.children.append(Hop("service", "no destination (redirect, direct response or delegate)"))
    return node


def _backend_hop(backend: Backend, deliveries: tuple[Delivery, ...], upstream: str) -> Hop:
    if backend.service is None:
        return Hop("service", f"{backend.host}: no such Service", None, backend.path)
    port = backend.service_port if backend.service_port is not None else "?"
    weight = f" {share_text(backend)}" if backend.weight < 100 or backend.chosen_by else ""
    affinity = ", ".join(a.kind for a in backend.affinity) or "none"
    node = Hop("service", f"{backend.service} port {port} -> targetPort {backend.target_port}{weight}, "
                          f"affinity {affinity}", backend.service, ())
    for delivery in deliveries:
        if delivery.backend is backend:
            node.children.append(_workload_hop(delivery, upstream))
    if not backend.workloads:
        node.children.append(Hop("workload", "selects no workload"))
    return node


def _workload_hop(delivery: Delivery, upstream: str) -> Hop:
    server = delivery.server
    if server is None:
        return Hop("workload", f"{delivery.workload}: not a Socket.IO server", delivery.workload)
    inferred = " (inferred, defaults assumed)" if server.inferred else ""
    verdict = "accepts it" if server_accepts(server, upstream) else "rejects it (404)"
    return Hop("workload", f"{delivery.workload} {server.stack} server on {server.path} receives {upstream}: "
                           f"{verdict}{inferred}", delivery.workload)


def _attach(tree: Hop, findings: list[Finding]) -> None:
    for node in _walk(tree):
        if node.ref is None:
            continue
        for finding in findings:
            if finding.subject == node.ref and any(finding.path[: len(p)] == p for p in (node.path, *node.extra_paths)):
                node.findings.append(finding)


def _walk(node: Hop) -> Iterator[Hop]:
    yield node
    for child in node.children:
        yield from _walk(child)


# -- text -----------------------------------------------------------------------------------------
_MARK = {"ok": "ok", "info": "info", "warning": "WARN", "error": "FAIL"}


def render_text(trees: list[Hop]) -> str:
    lines: list[str] = []
    for tree in trees:
        _text(tree, "", True, lines, root=True)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n" if lines else "no client or socket route to trace\n"


def _text(node: Hop, indent: str, last: bool, lines: list[str], *, root: bool = False) -> None:
    branch = "" if root else ("└─ " if last else "├─ ")
    codes = ", ".join(node.codes)
    marker = f"  <- {codes}" if codes else ""
    lines.append(f"{indent}{branch}[{_MARK[node.verdict]}] {node.kind}: {node.label}{marker}")
    child_indent = indent if root else indent + ("   " if last else "│  ")
    for index, child in enumerate(node.children):
        _text(child, child_indent, index == len(node.children) - 1, lines)


# -- mermaid and dot ------------------------------------------------------------------------------
def _edges(trees: list[Hop]) -> tuple[list[tuple[str, Hop]], list[tuple[str, str]]]:
    nodes: list[tuple[str, Hop]] = []
    edges: list[tuple[str, str]] = []

    def visit(node: Hop) -> str:
        name = f"n{len(nodes)}"
        nodes.append((name, node))
        for child in node.children:
            edges.append((name, visit(child)))
        return name

    for tree in trees:
        visit(tree)
    edges.sort(key=lambda edge: int(edge[0][1:]))  # parents before children, top-down
    return nodes, edges


def _label(node: Hop) -> str:
    codes = "".join(f"\n{code}" for code in node.codes)
    return f"{node.kind}: {node.label}{codes}"


def render_mermaid(trees: list[Hop]) -> str:
    nodes, edges = _edges(trees)
    lines = ["flowchart LR"]
    for name, node in nodes:
        text = _label(node).replace('"', "#quot;").replace("\n", "<br/>")
        lines.append(f'  {name}["{text}"]:::{node.verdict}')
    lines.extend(f"  {a} --> {b}" for a, b in edges)
    lines += [
        "  classDef ok fill:#e8f5e9,stroke:#2e7d32",
        "  classDef info fill:#e3f2fd,stroke:#1565c0",
        "  classDef warning fill:#fff8e1,stroke:#f9a825",
        "  classDef error fill:#ffebee,stroke:#c62828",
    ]
    return "\n".join(lines) + "\n"


_DOT_COLOURS = {"ok": "#2e7d32", "info": "#1565c0", "warning": "#f9a825", "error": "#c62828"}


def render_dot(trees: list[Hop]) -> str:
    nodes, edges = _edges(trees)
    lines = ["digraph socketguard {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];']
    for name, node in nodes:
        text = _label(node).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        lines.append(f'  {name} [label="{text}", color="{_DOT_COLOURS[node.verdict]}"];')
    lines.extend(f"  {a} -> {b};" for a, b in edges)
    lines.append("}")
    return "\n".join(lines) + "\n"
