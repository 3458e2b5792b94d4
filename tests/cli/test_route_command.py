"""`socketguard route`: each router's decision for one request, its JSON shape and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from socketguard.cli.lint import read_inventory
from socketguard.cli.route import route_command
from socketguard.engine.context import Context
from socketguard.engine.routing.decide import decide

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "manifests/examples"
HANDSHAKE = "https://adverant.ai/mageagent/socket.io/?EIO=4&transport=polling"
OBJECT_KEYS = {"apiVersion", "kind", "namespace", "name"}


def route(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(route_command, list(args))
    return result.exit_code, result.stdout, result.stderr


def route_json(*args: str) -> tuple[int, dict[str, object]]:
    status, stdout, _ = route(*args, "-o", "json")
    return status, json.loads(stdout)


@pytest.mark.parametrize(("example", "router", "entrance", "rule"), [
    ("mageagent/broken", "istio", ("networking.istio.io/v1", "Gateway", "mageagent", "adverant-gateway"),
     "spec.http[0].match[0]"),
    ("mageagent-gateway-api/broken", "gateway-api",
     ("gateway.networking.k8s.io/v1", "Gateway", "mageagent", "adverant-gateway"), "spec.rules[0].matches[0]"),
    ("mageagent-ingress-nginx/broken", "ingress-nginx", ("networking.k8s.io/v1", "IngressClass", "", "nginx"),
     "spec.rules[0].http.paths[0]"),
    ("mageagent-traefik/broken", "traefik", ("networking.k8s.io/v1", "IngressClass", "", "traefik"),
     "spec.routes[0].match"),
])
def test_each_router_answers_for_the_handshake_in_the_json_shape(example: str, router: str,
                                                                 entrance: tuple[str, ...], rule: str) -> None:
    status, output = route_json(HANDSHAKE, str(EXAMPLES / example))
    assert status == 0
    assert output["request"] == {"url": HANDSHAKE, "host": "adverant.ai", "path": "/mageagent/socket.io/",
                                 "method": "GET", "headers": {}}
    [decision] = output["decisions"]  # type: ignore[misc]
    assert set(decision) == {"router", "entrance", "route", "field", "action", "status", "upstream_path",
                             "location", "backends", "notes"}
    assert decision["router"] == router
    assert tuple(decision["entrance"].values()) == entrance
    assert set(decision["route"]) == OBJECT_KEYS
    assert (decision["field"], decision["action"], decision["status"]) == (rule, "forward", None)
    # The broken example forwards the handshake unchanged: the server listens on /socket.io/.
    assert decision["upstream_path"] == "/mageagent/socket.io/?EIO=4&transport=polling"
    [backend] = decision["backends"]
    assert backend["service"] == {"apiVersion": "v1", "kind": "Service", "namespace": "mageagent",
                                  "name": "mageagent"}
    assert (backend["port"], backend["weight"]) == (8080, 100)
    assert {w["kind"] for w in backend["workloads"]} == {"Deployment"}


def test_the_fixed_rewrite_example_delivers_the_servers_path() -> None:
    status, stdout, _ = route(HANDSHAKE, str(EXAMPLES / "mageagent/fixed-by-rewrite"))
    assert status == 0
    assert "  upstream  /socket.io/?EIO=4&transport=polling" in stdout.splitlines()
    assert stdout.startswith(f"GET {HANDSHAKE}\nistio at Gateway mageagent/adverant-gateway: forward\n")


def test_in_cluster_hosts_are_the_meshs_decision() -> None:
    status, output = route_json("http://mageagent.mageagent.svc.cluster.local:8080/socket.io/",
                                str(EXAMPLES / "mageagent/broken"))
    [decision] = output["decisions"]  # type: ignore[misc]
    assert (status, decision["router"], decision["entrance"], decision["action"]) == (0, "istio", "mesh", "forward")


def test_nothing_serving_the_host_is_an_empty_list_and_exit_1() -> None:
    status, output = route_json("https://elsewhere.example/", str(EXAMPLES / "mageagent-gateway-api/broken"))
    assert (status, output["decisions"]) == (1, [])


def test_a_named_entrance_answers_404_for_a_host_it_does_not_serve() -> None:
    status, stdout, _ = route("https://elsewhere.example/", str(EXAMPLES / "mageagent-gateway-api/broken"),
                              "--gateway", "mageagent/adverant-gateway")
    assert status == 1
    assert "gateway-api at Gateway mageagent/adverant-gateway: no-route 404" in stdout


def test_method_header_and_host_header_reach_the_router(tmp_path: Path) -> None:
    manifests = tmp_path / "route.yaml"
    example = EXAMPLES / "mageagent-gateway-api/broken"
    manifests.write_text("\n---\n".join((example / name).read_text() for name in ("gateway.yaml", "mageagent.yaml"))
                         + """
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: admin, namespace: mageagent}
spec:
  parentRefs: [{name: adverant-gateway}]
  hostnames: [adverant.ai]
  rules:
  - matches: [{method: DELETE, headers: [{name: x-admin, value: "yes"}]}]
    filters: [{type: RequestRedirect, requestRedirect: {hostname: admin.adverant.ai, statusCode: 307}}]
""")
    args = ("https://203.0.113.7/anything", str(manifests), "--header", "Host=adverant.ai:8443")
    status, output = route_json(*args, "--method", "delete", "--header", "X-Admin=yes")
    [decision] = output["decisions"]  # type: ignore[misc]
    assert (status, decision["action"], decision["status"]) == (0, "redirect", 307)
    assert decision["location"] == "https://admin.adverant.ai/anything"
    _, output = route_json(*args, "--header", "X-Admin=yes")
    assert output["decisions"][0]["action"] != "redirect"  # type: ignore[index]


@pytest.mark.parametrize(("args", "message"), [
    (("not-a-url", "."), "expected an absolute http(s):// or ws(s):// URL"),
    (("https://a.example/", ".", "--header", "novalue"), "expected NAME=VALUE"),
    (("https://a.example/", ".", "--gateway", "ns/"), "expected NS/NAME[:LISTENER], NAME or mesh"),
    (("https://a.example/",), "give the manifests to check"),
    (("https://a.example/", "no/such/dir"), "no such file or directory"),
])
def test_usage_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    status, _, stderr = route(*args)
    assert status == 2
    assert message in stderr


def test_unreadable_input_is_reported_and_exits_2_after_the_answer(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("kind: [unterminated\n")
    for name in ("ingress.yaml", "mageagent.yaml"):
        (tmp_path / name).write_text((EXAMPLES / "mageagent-ingress-nginx/broken" / name).read_text())
    status, stdout, stderr = route(HANDSHAKE, str(tmp_path))
    assert status == 2
    assert "ingress-nginx at IngressClass nginx: forward" in stdout
    assert "socketguard route: " in stderr and "broken.yaml:2:1: invalid YAML" in stderr


def test_the_traces_route_each_client_as_route_decides() -> None:
    inventory, _ = read_inventory("route", (str(EXAMPLES / "mageagent/broken"),), False, None, None)
    context = Context(inventory)
    client_traces = list(context.traces.client_traces())
    assert client_traces
    for trace in client_traces:
        decisions = decide(context.routers, trace.request)
        winner = trace.routing.winner
        assert any(d.route == (winner.route if winner else None) for d in decisions), trace.request


def test_a_header_canary_backend_is_shown_by_its_header_not_as_weight_zero(tmp_path: Path) -> None:
    fixture = ROOT / "tests/fixtures/rules/SG117/good-canary-on-the-main-path.yaml"
    text = fixture.read_text().replace('canary-weight: "20"', "canary-by-header: X-Canary")
    (tmp_path / "canary.yaml").write_text(text)
    status, stdout, _ = route("https://chat.example.com/socket.io/?EIO=4", str(tmp_path))
    assert status == 0
    assert "Service web/chat port 80 weight 100% -> Deployment web/chat\n" in stdout
    assert "Service web/chat-v2 port 80 by header X-Canary: always -> Deployment web/chat-v2" in stdout
    weighted = fixture.read_text().replace('canary-weight: "20"', 'canary-weight: "20", '
                                           'nginx.ingress.kubernetes.io/canary-by-header: X-Canary')
    (tmp_path / "canary.yaml").write_text(weighted)
    _, stdout, _ = route("https://chat.example.com/socket.io/?EIO=4", str(tmp_path))
    assert "Service web/chat-v2 port 80 weight 20% or by header X-Canary: always" in stdout
