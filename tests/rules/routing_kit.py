"""Small inline manifests for the routing rule tests: one topology, each test changes one piece.

Namespace `web`: a client Deployment `app` on the page https://chat.example.com, a Socket.IO
server Deployment `chat` (container port `http` 3000), Service `chat` (80 -> http), Gateway
`public` (443, TLS) and VirtualService `chat` for chat.example.com routing /socket.io/.
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml

from socketguard.engine.analysis import analyze
from socketguard.engine.findings import Finding
from socketguard.engine.inventory import Inventory
from socketguard.engine.rules.base import Rule

CLIENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  namespace: web
  annotations:
    socketguard.io/role: client
    socketguard.io/client-url: https://chat.example.com
    socketguard.io/client-origin: https://chat.example.com
spec:
  selector: {matchLabels: {app: web-app}}
  template:
    metadata: {labels: {app: web-app}}
    spec:
      containers:
      - name: app
        ports: [{name: http, containerPort: 8080}]
"""

SERVER = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: chat
  namespace: web
  annotations:
    socketguard.io/role: server
    socketguard.io/port: http
spec:
  selector: {matchLabels: {app: chat}}
  template:
    metadata: {labels: {app: chat, version: v1}}
    spec:
      containers:
      - name: chat
        ports: [{name: http, containerPort: 3000}]
"""

SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: chat, namespace: web}
spec:
  selector: {app: chat}
  ports: [{name: http, port: 80, targetPort: http}]
"""

GATEWAY = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: web}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: chat-tls}
    hosts: [chat.example.com]
"""

ROUTE = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: chat, namespace: web}
spec:
  hosts: [chat.example.com]
  gateways: [public]
  http:
  - match:
    - uri: {prefix: /socket.io/}
    route:
    - destination: {host: chat, port: {number: 80}}
"""


def world(*, client: str | None = CLIENT, server: str | None = SERVER, service: str | None = SERVICE,
          gateway: str | None = GATEWAY, route: str | None = ROUTE, extra: Sequence[str] = ()) -> str:
    """The base topology with pieces replaced (a string) or left out (None)."""
    return "\n---\n".join(p for p in (client, server, service, gateway, route, *extra) if p)


def inventory(text: str) -> Inventory:
    inv = Inventory()
    for document in yaml.safe_load_all(text):
        if document is not None:
            inv.add(document)
    return inv


def lint(text: str, rule: Rule | None = None) -> list[Finding]:
    """Findings of one rule (engine caps and suppressions applied), or of every rule."""
    return analyze(inventory(text), rules=None if rule is None else [rule])


def of(findings: list[Finding], code: str) -> list[Finding]:
    return [f for f in findings if f.code == code]


def where(finding: Finding) -> tuple[str, str, str, str]:
    """(kind, namespace/name, rendered path, severity) for compact assertions."""
    subject = finding.subject
    return subject.kind, f"{subject.namespace}/{subject.name}", finding.field_path, finding.severity.label


def annotate(manifest: str, **annotations: str) -> str:
    """Adds socketguard.io/ annotations (keyword `ping_interval` -> `ping-interval`) to a piece
    that already has the `socketguard.io/role` annotation."""
    lines = "".join(f"\n    socketguard.io/{key.replace('_', '-')}: '{value}'" for key, value in annotations.items())
    head, marker, tail = manifest.partition("    socketguard.io/role: ")
    role, newline, rest = tail.partition("\n")
    return head + marker + role + lines + newline + rest
