"""Every request of the in-scope Gateway API conformance tests, through `socketguard route`.

Each request the suite makes (extracted from its Go sources by `extract/`, see gwconformance.py)
is routed by the engine's own decision function, the one `socketguard route` prints, over the
suite's manifests, and the decision is compared with what the suite expects of a conformant
implementation: the backend, the status, the path that arrives upstream, the redirect's Location,
the weight split. A few cases also go through the real command line.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gwconformance as conformance
import pytest
import yaml

from socketguard.cli.lint import read_inventory
from socketguard.cli.route import build_request
from socketguard.engine.context import Context
from socketguard.engine.inventory import Inventory
from socketguard.engine.models import GATEWAY_API_GROUP
from socketguard.engine.models.gatewayapi import K8sGateway
from socketguard.engine.routing.decide import Decision, EntranceChoice, decide

REPO = Path(__file__).resolve().parents[3]
ORACLES_DOC = REPO / "docs" / "oracles.md"
NO_HOST = "192.0.2.10"  # the suite sends requests without a Host to the Gateway's IP address
WELL_KNOWN_PORTS = {"http": "80", "https": "443"}

#: Cases not compared, with the reason (each is listed in docs/oracles.md).
SKIPPED: dict[str, str] = {}


@dataclass(frozen=True)
class Case:
    test: conformance.ConformanceTest
    index: int
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.test.name}[{self.index}]"


@functools.cache
def _document() -> dict[str, Any]:
    return conformance.extracted()


@functools.cache
def _module() -> Path:
    return conformance.module_dir()


def _cases() -> list[Case]:
    tests = conformance.conformance_tests(_document())
    return [Case(test, index, data) for name, test in sorted(tests.items()) if conformance.in_scope(name)
            for index, data in enumerate(test.requests)]


CASES = _cases()


@functools.cache
def _manifest_file(test_name: str, deleted: str, directory: Path) -> Path:
    """The test's objects (base manifests included, deleted objects left out) as one YAML file."""
    test = conformance.conformance_tests(_document())[test_name]
    gone = {(d["kind"], d["namespace"], d["name"]) for d in json.loads(deleted)}
    objects = [obj for obj in conformance.manifests(_module(), test.manifests)
               if (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]) not in gone]
    path = directory / f"{test_name}-{len(gone)}.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    return path


@functools.cache
def _inventory(path: Path) -> Inventory:
    inventory, loaded = read_inventory("route", (str(path),), False, None, None)
    assert not loaded.problems, [p.finding.message for p in loaded.problems]
    return inventory


@pytest.fixture(scope="module")
def manifest_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gateway-api-conformance")


def _listener_port(inventory: Inventory, gateway: dict[str, Any]) -> int:
    """The port the suite sends to: the first listener's, or the first named listener's."""
    [found] = [view for view in inventory.views(GATEWAY_API_GROUP, "Gateway", gateway["namespace"])
               if isinstance(view, K8sGateway) and view.metadata.name == gateway["name"]]
    listeners = found.spec.listeners
    wanted = gateway["listeners"][0] if gateway["listeners"] else listeners[0].name
    return next(listener.port for listener in listeners if listener.name == wanted)


def route_arguments(case: Case, inventory: Inventory) -> tuple[str, dict[str, str], str]:
    """URL, headers and --gateway for the case's request, as a user would give them."""
    request, gateway = case.data["request"], case.data["gateway"]
    host_header = request["host"]
    host = host_header.rsplit(":", 1)[0] if host_header else NO_HOST
    scheme = case.data["scheme"]
    if request["websocket"]:
        scheme = {"http": "ws", "https": "wss"}[scheme]
    query = f"?{request['query']}" if request["query"] else ""
    url = f"{scheme}://{host}:{_listener_port(inventory, gateway)}{request['path']}{query}"
    headers = dict(request["headers"])
    if ":" in host_header:
        headers["host"] = host_header
    return url, headers, f"{gateway['namespace']}/{gateway['name']}"


def route(case: Case, manifest_dir: Path) -> Decision:
    """The engine's decision for the case, computed as `socketguard route` computes it."""
    inventory = _inventory(_manifest_file(case.test.name, json.dumps(case.data["deleted"]), manifest_dir))
    url, headers, gateway = route_arguments(case, inventory)
    choice = EntranceChoice.parse(gateway)
    request, _ = build_request(url, case.data["request"]["method"], dict(headers), inventory, choice)
    decisions = decide(Context(inventory).routers, request, choice)
    assert len(decisions) == 1, f"{case.id}: expected one decision at {gateway}, got {decisions}"
    return decisions[0]


def mismatches(case: Case, decision: Decision) -> Iterator[str]:
    """How the decision differs from what the suite expects (nothing when it conforms)."""
    expect = case.data["expect"]
    statuses = expect["status"]
    if expect["failure"]:
        if decision.action == "forward":
            yield "the suite expects the request to fail, the decision forwards"
        return
    if 200 in statuses or 101 in statuses:
        yield from _forward_mismatches(expect, decision)
    elif any(300 <= code < 400 for code in statuses):
        yield from _redirect_mismatches(case, expect, decision)
    elif decision.status not in statuses:
        yield f"expected status {statuses}, decided {decision.action} {decision.status}"


def _forward_mismatches(expect: dict[str, Any], decision: Decision) -> Iterator[str]:
    if decision.action != "forward":
        yield f"expected a forward, decided {decision.action} {decision.status} ({'; '.join(decision.notes)})"
        return
    receiving = [b for b in decision.backends if b.weight > 0 and b.service is not None]
    if expect["backend"] is not None:
        names = {(b.service.namespace, b.service.name) for b in receiving if b.service is not None}
        if names != {(expect["namespace"], expect["backend"])}:
            yield f"expected backend {expect['namespace']}/{expect['backend']}, decided {sorted(names)}"
    elif expect["namespace"] and any(b.service and b.service.namespace != expect["namespace"] for b in receiving):
        yield f"expected backends in namespace {expect['namespace']}"
    upstream = expect["upstream"]
    wanted = upstream["path"] + (f"?{upstream['query']}" if upstream["query"] else "")
    if decision.upstream_path != wanted:
        yield f"expected upstream path {wanted}, decided {decision.upstream_path}"
    if expect["weights"] is not None:
        total = sum(b.weight for b in decision.backends) or 1
        shares = {b.service.name: b.weight / total for b in decision.backends if b.service is not None}
        for name, share in expect["weights"].items():
            if abs(shares.get(name, 0.0) - share) > 0.01:
                yield f"expected {name} to get {share:.0%}, decided {shares.get(name, 0.0):.0%}"


def _redirect_mismatches(case: Case, expect: dict[str, Any], decision: Decision) -> Iterator[str]:
    if decision.action != "redirect" or decision.status not in expect["status"]:
        yield f"expected a redirect {expect['status']}, decided {decision.action} {decision.status}"
        return
    wanted = expect["redirect"]
    if wanted is None:
        return
    location = urlsplit(decision.location or "")
    if location.scheme != wanted["scheme"]:
        yield f"expected redirect scheme {wanted['scheme']}, decided {decision.location}"
    if wanted["host"] and location.hostname != wanted["host"]:
        yield f"expected redirect host {wanted['host']}, decided {decision.location}"
    port = str(location.port) if location.port is not None else ""
    if wanted["port"] and port != wanted["port"]:
        yield f"expected redirect port {wanted['port']}, decided {decision.location}"
    if not wanted["port"] and port not in ("", WELL_KNOWN_PORTS.get(location.scheme, "")):
        yield f"expected no port (or the scheme's well-known port), decided {decision.location}"
    if location.path != wanted["path"]:
        yield f"expected redirect path {wanted['path']}, decided {decision.location}"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_conformance_request(case: Case, manifest_dir: Path) -> None:
    if case.id in SKIPPED:
        pytest.skip(SKIPPED[case.id])
    decision = route(case, manifest_dir)
    problems = list(mismatches(case, decision))
    assert not problems, f"{case.id} ({case.test.file}:{case.data['line']}): " + "; ".join(problems)


def test_the_in_scope_tests_make_requests() -> None:
    names = {case.test.name for case in CASES}
    assert len(names) >= 25, sorted(names)
    assert len(CASES) >= 150


def test_every_skipped_case_is_documented() -> None:
    text = ORACLES_DOC.read_text()
    for case_id in SKIPPED:
        assert case_id in text, f"{case_id} is skipped but not listed in docs/oracles.md"
    assert f"{len(CASES)} requests" in text, "docs/oracles.md states a different request count"


# A few cases through the real command line: same answer, JSON shape and exit codes.
CLI_CASES = ("HTTPRouteMatching[3]", "HTTPRouteRedirectPath[0]", "HTTPRouteInvalidNonExistentBackendRef[0]",
             "HTTPRouteHostnameIntersection[2]")


@pytest.mark.parametrize("case_id", CLI_CASES)
def test_conformance_request_through_the_command_line(case_id: str, manifest_dir: Path) -> None:
    case = next(c for c in CASES if c.id == case_id)
    manifests = _manifest_file(case.test.name, json.dumps(case.data["deleted"]), manifest_dir)
    url, headers, gateway = route_arguments(case, _inventory(manifests))
    argv = [sys.executable, "-m", "socketguard", "route", url, str(manifests), "--gateway", gateway,
            "--method", case.data["request"]["method"], "-o", "json"]
    for name, value in headers.items():
        argv += ["--header", f"{name}={value}"]
    env = {**os.environ, "PYTHONPATH": str(REPO / "operator")}
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, env=env)
    output = json.loads(completed.stdout)
    [decision] = output["decisions"]
    in_process = route(case, manifest_dir)
    assert decision["action"] == in_process.action
    assert decision["status"] == in_process.status
    assert decision["upstream_path"] == in_process.upstream_path
    assert decision["entrance"] == {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
                                    "namespace": gateway.split("/")[0], "name": gateway.split("/")[1]}
    assert completed.returncode == (0 if in_process.answers else 1), completed.stderr
