"""ingress-nginx canary Ingresses: attached to the main path, split per request, SG303 for weights under polling."""

from __future__ import annotations

import json

import yaml
from topology import HOST, ingress, lint, only, server, service

from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef
from socketguard.engine.routing import Request
from socketguard.engine.routing.ingress_nginx import IngressNginxRouter

MAIN = ObjectRef("networking.k8s.io/v1", "Ingress", "web", "chat")
CANARY = ObjectRef("networking.k8s.io/v1", "Ingress", "web", "chat-canary")


def canary(annotations: dict[str, str], *, path: str = "/socket.io", path_type: str = "Prefix",
           host: str = HOST, name: str = "chat-canary") -> str:
    notes = {"nginx.ingress.kubernetes.io/canary": "true",
             **{f"nginx.ingress.kubernetes.io/{k}": v for k, v in annotations.items()}}
    return f"""
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: {name}, namespace: web, annotations: {json.dumps(notes)}}}
spec:
  ingressClassName: nginx
  rules:
    - host: {host}
      http:
        paths:
          - {{path: {path}, pathType: {path_type}, backend: {{service: {{name: chat-v2, port: {{number: 80}}}}}}}}
"""


def topology(*extra: str, replicas: int = 1) -> tuple[str, ...]:
    """The chat server and its Ingress, plus a canary server `chat-v2` behind its own Service."""
    return (server(replicas=replicas), service(), ingress(), server(name="chat-v2", replicas=replicas),
            service("chat-v2"), *extra)


def router(*documents: str) -> IngressNginxRouter:
    inventory = Inventory()
    for document in yaml.safe_load_all("\n---\n".join(documents)):
        inventory.add(document)
    return IngressNginxRouter(inventory)


def handshake(**headers: str) -> Request:
    return Request(HOST, "/socket.io/", more_headers=tuple((k.lower(), v) for k, v in headers.items()))


def test_weight_canary_on_the_socket_path_splits_polling_sessions() -> None:
    findings = lint(*topology(canary({"canary-weight": "20"})))
    [split] = only(findings, "SG303")
    assert split.subject == CANARY
    assert split.field_path == "metadata.annotations['nginx.ingress.kubernetes.io/canary-weight']"
    assert MAIN in split.related
    assert "chat (80%)" in split.message and "chat-v2 (20%)" in split.message
    assert any("canary-by-cookie" in fix for fix in split.fixes)
    assert any("affinity: cookie" in fix for fix in split.fixes)


def test_header_canary_is_no_split() -> None:
    findings = lint(*topology(canary({"canary-by-header": "X-Canary"})))
    assert not only(findings, "SG303")


def test_header_canary_with_a_weight_still_splits_the_requests_without_the_header() -> None:
    findings = lint(*topology(canary({"canary-by-header": "X-Canary", "canary-weight": "10"})))
    assert only(findings, "SG303")


def test_affinity_on_both_sides_keeps_sessions_where_they_start() -> None:
    sticky_main = ingress({"affinity": "cookie"})
    both = (server(), service(), sticky_main, server(name="chat-v2"), service("chat-v2"),
            canary({"canary-weight": "20", "affinity": "cookie"}))
    assert not only(lint(*both), "SG303")
    main_only = (server(), service(), sticky_main, server(name="chat-v2"), service("chat-v2"),
                 canary({"canary-weight": "20"}))
    [split] = only(lint(*main_only), "SG303")
    assert "affinity on chat only" in split.message
    legacy = (server(), service(), sticky_main, server(name="chat-v2"), service("chat-v2"),
              canary({"canary-weight": "20", "affinity": "cookie", "affinity-canary-behavior": "legacy"}))
    assert only(lint(*legacy), "SG303")


def test_route_shows_both_backends_with_their_weights_and_the_canary() -> None:
    result = router(*topology(canary({"canary-weight": "30"}))).route(handshake())
    [hop] = result.hops
    assert hop.route == MAIN
    assert [(b.host, b.weight) for b in hop.backends] == [("chat", 70), ("chat-v2", 30)]
    assert any("canary" in note and "30%" in note for note in hop.assumptions)


def test_header_decides_before_cookie_before_weight() -> None:
    nginx = router(*topology(canary({"canary-by-header": "X-Canary", "canary-by-cookie": "canary",
                                     "canary-weight": "50"})))

    def hosts(**headers: str) -> list[str]:
        return [b.host for b in nginx.route(handshake(**headers)).hops[0].backends]

    assert hosts(**{"X-Canary": "always"}) == ["chat-v2"]
    assert hosts(**{"X-Canary": "never", "Cookie": "canary=always"}) == ["chat"]
    assert hosts(Cookie="canary=always") == ["chat-v2"]
    assert hosts(Cookie="canary=never") == ["chat"]
    assert hosts() == ["chat", "chat-v2"]


def test_header_canary_notes_the_browser_websocket_upgrade() -> None:
    [hop] = router(*topology(canary({"canary-by-header": "X-Canary"}))).route(handshake()).hops
    assert [(b.host, b.weight, b.chosen_by) for b in hop.backends] == [
        ("chat", 100, None), ("chat-v2", 0, "header X-Canary: always")]
    assert any("WebSocket upgrade carries no X-Canary header" in note for note in hop.assumptions)


def test_canary_backend_is_checked_like_any_other() -> None:
    """The canary's Service selects no pod template: SG106 on it, as on a main backend."""
    docs = (server(), service(), ingress(), service("chat-v2"), canary({"canary-by-header": "X-Canary"}))
    assert any(f.subject.name == "chat-v2" for f in only(lint(*docs), "SG106"))


def test_canary_without_a_main_path_is_dropped() -> None:
    nginx = router(*topology(canary({"canary-weight": "20"}, path_type="ImplementationSpecific")))
    [hop] = nginx.route(handshake()).hops
    assert [b.host for b in hop.backends] == ["chat"]
    assert [c.ref for c in nginx.dropped_canaries()] == [CANARY]
    assert nginx.models(CANARY)


def test_canary_is_not_a_location_of_its_own() -> None:
    nginx = router(*topology(canary({"canary-weight": "20"}, path="/socket.io/v2")))
    assert [hop.route for hop in nginx.route(Request(HOST, "/socket.io/v2/")).hops] == [MAIN]


def test_only_the_oldest_canary_counts() -> None:
    older = canary({"canary-weight": "10"}, name="a-old").replace(
        "namespace: web,", "namespace: web, creationTimestamp: '2024-01-01T00:00:00Z',")
    newer = canary({"canary-weight": "90"}, name="0-new").replace(
        "namespace: web,", "namespace: web, creationTimestamp: '2025-01-01T00:00:00Z',")
    [hop] = router(*topology(newer, older)).route(handshake()).hops
    assert [b.weight for b in hop.backends] == [90, 10]


def test_canary_destination_findings_point_at_the_canary_ingress() -> None:
    """A canary routing to a port its Service lacks: SG105 on the canary Ingress, not on the main one."""
    wrong_port = canary({"canary-weight": "20"}).replace("port: {number: 80}", "port: {number: 8080}")
    [finding] = only(lint(*topology(wrong_port)), "SG105")
    assert finding.subject == CANARY
    assert finding.field_path == "spec.rules[0].http.paths[0].backend.service.port"


def test_a_dropped_socket_canary_is_reported_on_its_path() -> None:
    [finding] = only(lint(*topology(canary({"canary-weight": "20"}, path_type="ImplementationSpecific"))), "SG117")
    assert finding.subject == CANARY
    assert finding.path == ("spec", "rules", 0, "http", "paths", 0)
    assert "pathType: ImplementationSpecific" in finding.message


def test_an_attached_canary_or_one_without_socket_traffic_is_not_reported() -> None:
    assert not only(lint(*topology(canary({"canary-weight": "20"}))), "SG117")
    web_only = canary({"canary-weight": "20"}, path="/static")  # chat-v2 is a socket server: still reported
    assert only(lint(*topology(web_only)), "SG117")
    plain = (server(), service(), ingress(), service("chat-v2"), canary({"canary-weight": "20"}, path="/static"))
    assert not only(lint(*plain), "SG117")
