"""`decide`: each router's decision for any request (method, headers, query, a pinned entrance)."""

from __future__ import annotations

import textwrap

import yaml

from socketguard.engine.context import Context
from socketguard.engine.inventory import Inventory
from socketguard.engine.routing import Request
from socketguard.engine.routing.decide import Decision, EntranceChoice, decide

APP = """
apiVersion: v1
kind: Service
metadata: {name: app, namespace: web}
spec:
  selector: {app: app}
  ports: [{name: http, port: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: web}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec: {containers: [{name: app, image: app}]}
"""

GATEWAY = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public, namespace: web}
spec:
  gatewayClassName: any
  listeners:
  - {name: wild, hostname: "*.example.com", port: 8080, protocol: HTTP}
  - {name: exact, hostname: app.example.com, port: 8080, protocol: HTTP}
"""


def routes(rules: str, *, section: str = "exact", hostnames: str = "[app.example.com]") -> str:
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: app, namespace: web}}
spec:
  parentRefs: [{{name: public, sectionName: {section}}}]
  hostnames: {hostnames}
  rules:
{textwrap.indent(textwrap.dedent(rules).strip(), "  ")}
"""


def ask(documents: tuple[str, ...], request: Request, choice: str | None = None) -> list[Decision]:
    inventory = Inventory()
    for document in yaml.safe_load_all("\n---\n".join(documents)):
        if document:
            inventory.add(document)
    return decide(Context(inventory).routers, request, EntranceChoice.parse(choice) if choice else None)


def http(path: str, *, host: str = "app.example.com", port: int = 8080, method: str = "GET", query: str = "",
         headers: tuple[tuple[str, str], ...] = ()) -> Request:
    return Request(host=host, path=path, scheme="http", port=port, method=method, raw_query=query,
                   more_headers=headers)


def test_gateway_api_matches_method_headers_and_query_of_the_request() -> None:
    manifests = (APP, GATEWAY, routes("""
        - matches: [{method: POST, headers: [{name: Version, value: two}], queryParams: [{name: q, value: "1"}]}]
          backendRefs: [{name: app, port: 8080}]
    """))
    [post] = ask(manifests, http("/x", method="POST", query="q=1&q=2", headers=(("version", "two"),)))
    assert (post.action, post.upstream_path) == ("forward", "/x?q=1&q=2")
    assert [str(w) for b in post.backends for w in b.workloads] == ["Deployment web/app"]
    for other in (http("/x", method="GET", query="q=1", headers=(("version", "two"),)),
                  http("/x", method="POST", query="q=2", headers=(("version", "two"),)),
                  http("/x", method="POST", query="q=1")):
        [decision] = ask(manifests, other)
        assert (decision.action, decision.status) == ("no-route", 404)


def test_the_most_specific_listener_on_the_port_takes_the_request_even_when_listed_later() -> None:
    manifests = (APP, GATEWAY, routes("- backendRefs: [{name: app, port: 8080}]", section="wild"))
    [decision] = ask(manifests, http("/"))
    assert (decision.action, decision.status) == ("no-route", 404)  # the route is on the wildcard listener
    [other] = ask(manifests, http("/", host="other.example.com"), "web/public")
    assert other.action == "no-route"  # the route's hostnames do not include other.example.com


def test_gateway_api_redirect_location_keeps_the_listener_port_unless_the_scheme_changes() -> None:
    manifests = (APP, GATEWAY, routes("""
        - matches: [{path: {type: PathPrefix, value: /old}}]
          filters:
          - type: RequestRedirect
            requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}}
        - matches: [{path: {type: PathPrefix, value: /secure}}]
          filters: [{type: RequestRedirect, requestRedirect: {scheme: https, statusCode: 301}}]
        - matches: [{path: {type: PathPrefix, value: /moved}}]
          filters: [{type: RequestRedirect, requestRedirect: {hostname: example.org, port: 80}}]
    """))
    [old] = ask(manifests, http("/old/page", query="a=1"))
    assert (old.action, old.status, old.location) == ("redirect", 302, "http://app.example.com:8080/new/page?a=1")
    [secure] = ask(manifests, http("/secure"))
    assert (secure.status, secure.location) == (301, "https://app.example.com/secure")
    [moved] = ask(manifests, http("/moved"))
    assert moved.location == "http://example.org/moved"


def test_gateway_api_backends_that_do_not_resolve_answer_500_and_say_why() -> None:
    manifests = (APP, GATEWAY, routes("""
        - matches: [{path: {value: /missing}}]
          backendRefs: [{name: nowhere, port: 8080}]
        - matches: [{path: {value: /kind}}]
          backendRefs: [{group: example.io, kind: Bucket, name: app}]
        - matches: [{path: {value: /other}}]
          backendRefs: [{name: app, namespace: data, port: 8080}]
        - matches: [{path: {value: /half}}]
          backendRefs: [{name: app, port: 8080}, {name: nowhere, port: 8080}]
        - matches: [{path: {value: /none}}]
    """))
    reasons = {"/missing": "BackendNotFound", "/kind": "InvalidKind", "/other": "RefNotPermitted",
               "/none": "no backends"}
    for path, reason in reasons.items():
        [decision] = ask(manifests, http(path))
        assert (decision.action, decision.status) == ("unresolved", 500), path
        assert reason in " ".join(decision.notes), (path, decision.notes)
    [half] = ask(manifests, http("/half"))
    assert half.action == "forward"
    assert "50% of requests get 500" in " ".join(half.notes)


def test_a_pinned_gateway_without_a_listener_for_the_host_answers_404() -> None:
    manifests = (APP, GATEWAY, routes("- backendRefs: [{name: app, port: 8080}]"))
    assert ask(manifests, http("/", host="elsewhere.org")) == []
    [decision] = ask(manifests, http("/", host="elsewhere.org"), "web/public")
    assert (decision.router, decision.action, decision.status) == ("gateway-api", "no-route", 404)
    assert str(decision.entrance) == "Gateway web/public"


def test_without_a_listener_on_the_port_the_entrance_on_another_port_answers_and_says_so() -> None:
    manifests = (APP, GATEWAY, routes("- backendRefs: [{name: app, port: 8080}]"))
    [decision] = ask(manifests, http("/", port=80))
    assert decision.action == "forward"
    assert "port 80" in decision.notes[0] and "port 8080" in decision.notes[0]


ISTIO = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge, namespace: web}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [app.example.com]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: app, namespace: web}
spec:
  hosts: [app.example.com, app]
  gateways: [edge, mesh]
  http:
  - match: [{uri: {prefix: /old}}]
    redirect: {uri: /new, authority: example.org}
  - match: [{uri: {prefix: /teapot}}]
    directResponse: {status: 418}
  - match: [{uri: {prefix: /api}, method: {exact: DELETE}}]
    route: [{destination: {host: gone}}]
  - route: [{destination: {host: app, port: {number: 8080}}}]
"""


def test_istio_redirects_direct_responses_methods_and_unresolved_destinations() -> None:
    manifests = (APP, ISTIO)
    [redirect] = ask(manifests, http("/old/x", port=80, query="a=1"))
    assert (redirect.router, redirect.action, redirect.status) == ("istio", "redirect", 301)
    assert redirect.location == "http://example.org/new?a=1"
    [teapot] = ask(manifests, http("/teapot", port=80))
    assert (teapot.action, teapot.status) == ("direct", 418)
    [gone] = ask(manifests, http("/api", port=80, method="DELETE"))
    assert (gone.action, gone.status) == ("unresolved", 503)
    [get] = ask(manifests, http("/api", port=80))
    assert (get.action, get.upstream_path, str(get.entrance)) == ("forward", "/api", "Gateway web/edge")


def test_istio_mesh_traffic_is_the_sidecars_decision() -> None:
    mesh = Request(host="app.web.svc.cluster.local", path="/old", scheme="http", port=8080, via="mesh",
                   source_namespace="web", raw_query="")
    [decision] = ask((APP, ISTIO), mesh)
    assert (decision.entrance, decision.action, decision.status) == (None, "redirect", 301)
    [again] = ask((APP, ISTIO), http("/old", host="app.web.svc.cluster.local"), "mesh")
    assert again.action == "redirect"


NGINX = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app
  namespace: web
  annotations: {nginx.ingress.kubernetes.io/rewrite-target: /$2}
spec:
  ingressClassName: nginx
  rules:
  - host: app.example.com
    http:
      paths:
      - {path: /app(/|$)(.*), pathType: ImplementationSpecific, backend: {service: {name: app, port: {number: 8080}}}}
"""


def test_ingress_nginx_answers_at_its_ingress_class() -> None:
    [decision] = ask((APP, NGINX), http("/app/socket.io/", port=80, query="EIO=4"))
    assert (decision.router, str(decision.entrance)) == ("ingress-nginx", "IngressClass nginx")
    assert (decision.action, decision.upstream_path) == ("forward", "/socket.io/?EIO=4")
    [miss] = ask((APP, NGINX), http("/other", port=80), "nginx")
    assert (miss.action, miss.status) == ("no-route", 404)
