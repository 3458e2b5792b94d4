from __future__ import annotations

from routing_kit import CLIENT, ROUTE, SERVER, SERVICE, lint, where, world

from socketguard.engine.rules.sg105_destination_port_unresolved import RULE

TWO_PORTS = SERVICE.replace("ports: [{name: http, port: 80, targetPort: http}]",
                            "ports: [{name: http, port: 80, targetPort: http}, {name: metrics, port: 9090}]")


def test_lined_up_ports_are_fine() -> None:
    assert lint(world(), RULE) == []


def test_defaulted_target_port_equal_to_the_container_port() -> None:
    service = SERVICE.replace("{name: http, port: 80, targetPort: http}", "{name: http, port: 3000}")
    route = ROUTE.replace("number: 80", "number: 3000")
    assert lint(world(service=service, route=route), RULE) == []


def test_route_port_not_on_the_service() -> None:
    [finding] = lint(world(route=ROUTE.replace("number: 80", "number: 8080")), RULE)
    assert where(finding) == ("VirtualService", "web/chat", "spec.http[0].route[0].destination.port.number", "error")
    assert "port 8080" in finding.message and "80/http" in finding.message


def test_multi_port_service_without_a_port() -> None:
    route = ROUTE.replace("{host: chat, port: {number: 80}}", "{host: chat}")
    [finding] = lint(world(service=TWO_PORTS, route=route), RULE)
    assert where(finding) == ("VirtualService", "web/chat", "spec.http[0].route[0].destination", "error")
    assert "80/http, 9090/metrics" in finding.message
    assert any("number: 80" in fix for fix in finding.fixes)


def test_single_port_service_without_a_port_is_fine() -> None:
    assert lint(world(route=ROUTE.replace("{host: chat, port: {number: 80}}", "{host: chat}")), RULE) == []


def test_target_port_name_missing_on_the_container() -> None:
    service = SERVICE.replace("targetPort: http", "targetPort: web")
    [finding] = lint(world(service=service), RULE)
    assert where(finding) == ("Service", "web/chat", "spec.ports[0].targetPort", "error")
    assert "'web'" in finding.message and "http/3000" not in finding.message and "http" in finding.message
    assert finding.fixes[0] == "set `targetPort: http`"


def test_numeric_target_port_not_declared_states_its_assumption() -> None:
    service = SERVICE.replace("targetPort: http", "targetPort: 8080")
    [finding] = lint(world(service=service), RULE)
    assert where(finding) == ("Service", "web/chat", "spec.ports[0].targetPort", "error")
    assert finding.assumptions and "declared ports" in finding.assumptions[0]


def test_target_port_not_the_server_port() -> None:
    server = SERVER.replace("ports: [{name: http, containerPort: 3000}]",
                            "ports: [{name: http, containerPort: 3000}, {name: metrics, containerPort: 9090}]")
    service = SERVICE.replace("targetPort: http", "targetPort: metrics")
    [finding] = lint(world(server=server, service=service), RULE)
    assert where(finding) == ("Service", "web/chat", "spec.ports[0].targetPort", "error")
    assert "container port 9090" in finding.message and "listens on http (3000)" in finding.message
    assert finding.fixes[0] == "set `targetPort: http`"


def test_route_to_the_wrong_port_of_a_service_that_has_the_right_one() -> None:
    server = SERVER.replace("ports: [{name: http, containerPort: 3000}]",
                            "ports: [{name: http, containerPort: 3000}, {name: metrics, containerPort: 9090}]")
    service = TWO_PORTS.replace("{name: metrics, port: 9090}", "{name: metrics, port: 9090, targetPort: metrics}")
    route = ROUTE.replace("number: 80", "number: 9090")
    [finding] = lint(world(server=server, service=service, route=route), RULE)
    assert where(finding)[:3] == ("VirtualService", "web/chat", "spec.http[0].route[0].destination.port.number")
    assert "number: 80" in finding.fixes[0]


def test_direct_client_on_a_port_the_service_lacks() -> None:
    client = CLIENT.replace("https://chat.example.com\n    socketguard.io/client-origin",
                            "http://chat:8080\n    socketguard.io/client-origin")
    [finding] = lint(world(client=client, route=None, gateway=None), RULE)
    assert where(finding)[:3] == ("Deployment", "web/app", "metadata.annotations['socketguard.io/client-url']")
    assert "port 8080" in finding.message and "http://chat:80" in finding.fixes[0]
