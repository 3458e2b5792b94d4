"""Small inline manifests for the CORS and scale rule tests: a page, a server, its Service and route.

Each helper returns one YAML document as text; `lint` joins them with `---`, loads them with
`yaml.safe_load_all` into an Inventory and runs the whole engine, as the CLI does.
"""

from __future__ import annotations

import json

import yaml

from socketguard.engine.analysis import analyze
from socketguard.engine.findings import Finding
from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef

HOST = "chat.example.com"
SERVER = ObjectRef("apps/v1", "Deployment", "web", "chat")
CLIENT = ObjectRef("apps/v1", "Deployment", "web", "app")
ROUTE = ObjectRef("networking.istio.io/v1", "VirtualService", "web", "chat")


def _notes(annotations: dict[str, str]) -> str:
    return json.dumps({f"socketguard.io/{k}": v for k, v in annotations.items()})


def server(notes: dict[str, str] | None = None, *, name: str = "chat", replicas: int | None = None,
           kind: str = "Deployment", labels: str | None = None, annotated: bool = True) -> str:
    """A socket.io server; `annotated=False` leaves it for zero-config inference."""
    annotations = _notes({"role": "server", **(notes or {})}) if annotated else "{}"
    replica_line = f"\n  replicas: {replicas}" if replicas is not None else ""
    return f"""
apiVersion: apps/v1
kind: {kind}
metadata:
  name: {name}
  namespace: web
  annotations: {annotations}
spec:{replica_line}
  selector:
    matchLabels: {{app: {labels or name}}}
  template:
    metadata:
      labels: {{app: {labels or name}}}
    spec:
      containers:
        - name: {name}
          image: example/{name}:1.0.0
          ports:
            - {{name: http, containerPort: 3000}}
"""


def client(notes: dict[str, str]) -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  namespace: web
  annotations: {_notes({"role": "client", **notes})}
spec:
  selector:
    matchLabels: {{app: web-app}}
  template:
    metadata:
      labels: {{app: web-app}}
    spec:
      containers:
        - name: app
          image: example/app:1.0.0
"""


def page(origin: str, url: str = f"https://{HOST}", **extra: str) -> str:
    """A browser client on `origin` calling io(url)."""
    return client({"client-url": url, "client-origin": origin, **{k.replace("_", "-"): v for k, v in extra.items()}})


def service(name: str = "chat", *, affinity: bool = False) -> str:
    session = "\n  sessionAffinity: ClientIP" if affinity else ""
    return f"""
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: web
spec:
  selector: {{app: {name}}}{session}
  ports:
    - {{name: http, port: 80, targetPort: http}}
"""


GATEWAY = f"""
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: public
  namespace: web
spec:
  selector: {{istio: ingressgateway}}
  servers:
    - port: {{number: 443, name: https, protocol: HTTPS}}
      tls: {{mode: SIMPLE, credentialName: chat-tls}}
      hosts: [{HOST}]
"""


def route(extra: str = "", destinations: str = "- destination: {host: chat, port: {number: 80}}",
          *, gateway: bool = True) -> str:
    """A VirtualService routing /socket.io/ on HOST; `extra` is YAML added to the rule (2-space keys)."""
    hosts = f"[{HOST}]" if gateway else "[chat]"
    gateways = "\n  gateways: [public]" if gateway else ""
    rule_extra = "".join(f"\n      {line}" for line in extra.strip().splitlines()) if extra else ""
    routes = "".join(f"\n        {line}" for line in destinations.strip().splitlines())
    return f"""
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: chat
  namespace: web
spec:
  hosts: {hosts}{gateways}
  http:
    - match:
        - uri: {{prefix: /socket.io/}}{rule_extra}
      route:{routes}
"""


def destination_rule(consistent_hash: str, *, host: str = "chat", name: str = "chat") -> str:
    return f"""
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: {name}
  namespace: web
spec:
  host: {host}
  trafficPolicy:
    loadBalancer:
      consistentHash: {consistent_hash}
"""


def hpa(max_replicas: int, target: str = "chat") -> str:
    return f"""
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {target}
  namespace: web
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: {target}}}
  minReplicas: 1
  maxReplicas: {max_replicas}
"""


def lint(*documents: str) -> list[Finding]:
    inventory = Inventory()
    for document in yaml.safe_load_all("\n---\n".join(documents)):
        if document is not None:
            inventory.add(document)
    assert not list(inventory.rejected()), [e.problems for e in inventory.rejected()]
    return analyze(inventory)


def only(findings: list[Finding], code: str) -> list[Finding]:
    return [f for f in findings if f.code == code]


def ingress(annotations: dict[str, str] | None = None) -> str:
    """An ingress-nginx Ingress routing /socket.io on HOST to the chat Service."""
    notes = json.dumps({f"nginx.ingress.kubernetes.io/{k}": v for k, v in (annotations or {}).items()})
    return f"""
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: chat, namespace: web, annotations: {notes}}}
spec:
  ingressClassName: nginx
  tls: [{{hosts: [{HOST}], secretName: chat-tls}}]
  rules:
    - host: {HOST}
      http:
        paths:
          - {{path: /socket.io, pathType: Prefix, backend: {{service: {{name: chat, port: {{number: 80}}}}}}}}
"""


K8S_GATEWAY = f"""
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: public, namespace: web}}
spec:
  gatewayClassName: istio
  listeners:
    - {{name: https, hostname: {HOST}, port: 443, protocol: HTTPS,
       tls: {{mode: Terminate, certificateRefs: [{{name: chat-tls}}]}}}}
"""


def http_route(extra: str = "") -> str:
    """A Gateway API HTTPRoute for /socket.io on HOST; `extra` is YAML added to the rule."""
    rule_extra = "".join(f"\n      {line}" for line in extra.strip().splitlines()) if extra else ""
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: chat, namespace: web}}
spec:
  parentRefs: [{{name: public}}]
  hostnames: [{HOST}]
  rules:
    - matches: [{{path: {{type: PathPrefix, value: /socket.io}}}}]
      backendRefs: [{{name: chat, port: 80}}]{rule_extra}
"""
