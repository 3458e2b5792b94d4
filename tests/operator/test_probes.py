"""The operator's live probes: which servers are probed, at which URL, and how SG601 reaches the verdict."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

from kubernetes.client import Configuration
from sg_objects import server, service

from socketguard.cluster.feed import Feed
from socketguard.cluster.kube import Kube
from socketguard.controller.probes import Prober, ProbeSettings, ProbeTarget, parse_test_addresses, probe_targets
from socketguard.controller.reconciler import Reconciler
from socketguard.controller.writers import Writers
from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef
from socketguard.probe import ProbeOptions, ProbeReport

SETTINGS = ProbeSettings(enabled=True, interval=300.0, rate=100.0)


def deployment(name: str) -> ObjectRef:
    return ObjectRef("apps/v1", "Deployment", "demo", name)


def inventory(*objects: dict[str, Any]) -> Inventory:
    found = Inventory()
    for obj in objects:
        found.add(obj)
    return found


def test_only_servers_annotated_probe_true_are_targets_at_their_service_url() -> None:
    found, skipped = probe_targets(inventory(
        server("chat", path="/chat/socket.io", probe="true"), service("chat"),
        server("quiet", path="/q"), service("quiet"),
        server("off", probe="false"), service("off"),
    ), SETTINGS)
    assert found == [ProbeTarget(deployment("chat"), "http://chat.demo.svc.cluster.local:8080", "/chat/socket.io")]
    assert skipped == []


def test_the_service_port_is_the_one_that_reaches_the_server_port() -> None:
    svc = service("chat")
    svc["spec"]["ports"] = [{"name": "metrics", "port": 9090, "targetPort": 9090},
                            {"name": "web", "port": 80, "targetPort": "http"}]
    found, _ = probe_targets(inventory(server("chat", probe="true", port="http"), svc),
                             ProbeSettings(enabled=True, cluster_domain="corp.internal"))
    assert [t.url for t in found] == ["http://chat.demo.svc.corp.internal:80"]


def test_a_server_no_service_selects_is_skipped_with_a_reason() -> None:
    found, skipped = probe_targets(inventory(server("lonely", probe="true"), service("other")), SETTINGS)
    assert found == []
    assert [(s.workload.name, s.reason) for s in skipped] == [
        ("lonely", "no Service selects it on the server's port")]


def test_a_disallowed_host_is_never_contacted() -> None:
    contacted: list[ProbeOptions] = []

    async def recording_probe(options: ProbeOptions) -> ProbeReport:
        contacted.append(options)
        raise AssertionError("must not be called")

    changes: list[set[ObjectRef]] = []
    prober = Prober(Inventory(), SETTINGS, changes.append, probe=recording_probe)
    for url in ("http://169.254.169.254:80", "http://metadata.google.internal", "http://chat.demo.svc.evil.com:80",
                "http://user:pw@chat.demo.svc.cluster.local:80"):
        target = ProbeTarget(deployment("chat"), url, "/socket.io")
        prober.targets = [target]
        asyncio.run(prober.probe_one(target))
    assert contacted == [] and changes == [] and prober.findings == {}


def test_an_allow_listed_host_is_probed() -> None:
    contacted: list[str] = []

    async def recording_probe(options: ProbeOptions) -> ProbeReport:
        contacted.append(options.base_url)
        return ProbeReport(options, ())

    settings = ProbeSettings(enabled=True, rate=100.0, allow_hosts=("*.example.com",))
    prober = Prober(Inventory(), settings, lambda _: None, probe=recording_probe)
    target = ProbeTarget(deployment("chat"), "http://chat.example.com:80", "/socket.io")
    prober.targets = [target]
    asyncio.run(prober.probe_one(target))
    assert contacted == ["http://chat.example.com:80"]


def closed_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_failed_probe_becomes_sg601_in_the_servers_condition_and_goes_when_the_target_does() -> None:
    feed = Feed()
    kube = Kube(Configuration())
    sg = Reconciler(feed, kube, Writers(kube, "test"))
    for obj in (server("chat", probe="true"), service("chat")):
        feed.apply(obj)
    host = "chat.demo.svc.cluster.local"
    # Nothing listens on the mapped port: a real TCP refusal, diagnosed as such.
    settings = ProbeSettings(enabled=True, rate=100.0,
                             test_addresses=parse_test_addresses([f"{host}=127.0.0.1:{closed_port()}"]))
    prober = Prober(feed.inventory, settings, sg.refresh)
    sg.evaluator.extra_findings = prober.findings
    prober.refresh_targets()
    [target] = prober.targets
    asyncio.run(prober.probe_one(target))

    assert deployment("chat") in sg.dirty
    outcomes = [sg.evaluator.evaluate(unit) for unit in sg.evaluator.units(set(sg.dirty))]
    condition = next(o.conditions[deployment("chat")] for o in outcomes if deployment("chat") in o.conditions)
    assert (condition.status, condition.reason) == ("False", "ProbeHandshakeFailed")
    endpoint = f"http://{host}:8080/socket.io"
    assert condition.message.startswith(f"SG601 probe-handshake-failed: probe of {endpoint} failed: tcp")
    assert [f.code for o in outcomes for f in o.by_subject.get(deployment("chat"), [])] == ["SG601"]

    sg.dirty.clear()
    feed.apply(server("chat", probe="false"))
    prober.refresh_targets()
    assert prober.targets == [] and prober.findings == {} and deployment("chat") in sg.dirty


def test_targets_are_due_once_per_interval() -> None:
    prober = Prober(inventory(server("chat", probe="true"), service("chat")), SETTINGS, lambda _: None)
    prober.refresh_targets()
    [target] = prober.due(1000.0)
    prober.last_probed[target] = 1000.0
    assert prober.due(1299.0) == []
    assert prober.due(1300.0) == [target]


def test_a_bad_test_address_is_a_usage_error_naming_the_option() -> None:
    from click.testing import CliRunner

    from socketguard.cli.operator import operator

    result = CliRunner().invoke(operator, ["--probes", "--probe-test-address", "no-equals-sign"])
    assert result.exit_code == 2
    assert "--probe-test-address" in result.output and "'no-equals-sign' is not HOST=ADDRESS:PORT" in result.output
