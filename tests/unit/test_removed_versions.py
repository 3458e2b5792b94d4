"""Removed API versions are read as the old API server converted them, and reported (SG006).

The general cases: every removed version in the table gives a view of the current model and
one SG006 at `apiVersion`; any `networking.k8s.io/v1` Ingress written in its v1beta1 form reads
as that same Ingress; the old workload versions default the selector as their API server did.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socketguard.engine.analysis import analyze
from socketguard.engine.findings import Finding
from socketguard.engine.inventory import Inventory, group_of
from socketguard.engine.models import MODELS
from socketguard.engine.models.ingress import Ingress
from socketguard.engine.models.removed import REMOVED_VERSIONS, RemovedVersion, served_form
from socketguard.engine.models.workloads import Workload
from socketguard.engine.rules.sg006_api_version_removed import RULE as SG006

SPECS: dict[str, dict[str, Any]] = {
    "Ingress": {"rules": [{"host": "chat.example.com", "http": {"paths": [
        {"path": "/socket.io", "backend": {"serviceName": "chat", "servicePort": 80}}]}}]},
    "Deployment": {"template": {"metadata": {"labels": {"app": "chat"}}}},
    "StatefulSet": {"template": {"metadata": {"labels": {"app": "chat"}}}},
    "DaemonSet": {"template": {"metadata": {"labels": {"app": "chat"}}}},
    "HorizontalPodAutoscaler": {"scaleTargetRef": {"kind": "Deployment", "name": "chat"}, "maxReplicas": 3},
    "Gateway": {"gatewayClassName": "istio", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]},
    "HTTPRoute": {"hostnames": ["chat.example.com"]},
    "ReferenceGrant": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "web"}],
                       "to": [{"group": "", "kind": "Service"}]},
}


def obj(api_version: str, kind: str, spec: dict[str, Any], name: str = "chat") -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": "chat"},
            "spec": copy.deepcopy(spec)}


def sg006(inventory: Inventory) -> list[Finding]:
    return analyze(inventory, rules=[SG006])


@pytest.mark.parametrize("removed", list(REMOVED_VERSIONS.values()), ids=lambda r: f"{r.api_version}-{r.kind}")
def test_each_removed_version_is_analysed_in_its_successor_and_reported(removed: RemovedVersion) -> None:
    inventory = Inventory()
    ref = inventory.add(obj(removed.api_version, removed.kind, SPECS[removed.kind]))
    model = MODELS[(group_of(removed.served_as), removed.kind)]
    assert ref.api_version == removed.served_as
    assert isinstance(inventory.view(ref.group, ref.kind, "chat", "chat"), model)
    (finding,) = sg006(inventory)
    assert (finding.subject, finding.field_path) == (ref, "apiVersion")
    assert removed.api_version in finding.message and removed.removed_in in finding.message
    assert finding.fixes[0].startswith(f"write `apiVersion: {removed.served_as}`")


def test_served_versions_give_no_finding() -> None:
    inventory = Inventory()
    inventory.add(obj("networking.k8s.io/v1", "Ingress", {}))
    inventory.add(obj("apps/v1", "Deployment", SPECS["Deployment"]))
    inventory.add(obj("autoscaling/v1", "HorizontalPodAutoscaler", SPECS["HorizontalPodAutoscaler"]))
    inventory.add(obj("gateway.networking.k8s.io/v1beta1", "HTTPRoute", {}))
    assert sg006(inventory) == []


def test_the_object_as_written_is_kept_and_never_changed() -> None:
    raw = obj("extensions/v1beta1", "Ingress", SPECS["Ingress"])
    before = copy.deepcopy(raw)
    inventory = Inventory()
    ref = inventory.add(raw)
    assert raw == before and inventory.raw(ref) is raw
    assert served_form(obj("networking.k8s.io/v1", "Ingress", {})) == obj("networking.k8s.io/v1", "Ingress", {})


def test_a_removed_and_a_served_version_of_one_object_are_one_object() -> None:
    inventory = Inventory()
    inventory.add(obj("extensions/v1beta1", "Ingress", SPECS["Ingress"]))
    inventory.add(obj("networking.k8s.io/v1", "Ingress", {}))
    assert len(inventory) == 1 and sg006(inventory) == []


# -- Ingress: any v1 Ingress, written the v1beta1 way, reads as itself ------------------------
names = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
ports = st.one_of(st.integers(1, 65535).map(lambda n: {"number": n}), names.map(lambda n: {"name": n}))
backends = st.builds(lambda name, port: {"service": {"name": name, "port": port}}, names, ports)
paths = st.fixed_dictionaries(
    {"path": st.from_regex(r"/[a-z./()|$*]{0,12}", fullmatch=True),
     "pathType": st.sampled_from(["Exact", "Prefix", "ImplementationSpecific"]), "backend": backends})
rules = st.fixed_dictionaries(
    {"http": st.fixed_dictionaries({"paths": st.lists(paths, max_size=4)})},
    optional={"host": st.from_regex(r"[a-z]{1,8}\.example\.com", fullmatch=True)})
ingress_specs = st.fixed_dictionaries(
    {"rules": st.lists(rules, max_size=3)},
    optional={"defaultBackend": backends, "ingressClassName": st.just("nginx")})


def as_v1beta1(spec: dict[str, Any]) -> dict[str, Any]:
    """The same Ingress as a 1.19 user wrote it: old backends, `backend`, pathType left out when implied."""
    def backend(new: dict[str, Any]) -> dict[str, Any]:
        port = new["service"]["port"]
        return {"serviceName": new["service"]["name"], "servicePort": port.get("number", port.get("name"))}

    old = copy.deepcopy(spec)
    if "defaultBackend" in old:
        old["backend"] = backend(old.pop("defaultBackend"))
    for rule in old["rules"]:
        for path in rule["http"]["paths"]:
            path["backend"] = backend(path["backend"])
            if path["pathType"] == "ImplementationSpecific":
                del path["pathType"]
    return old


@given(ingress_specs, st.sampled_from(["extensions/v1beta1", "networking.k8s.io/v1beta1"]))
def test_any_ingress_written_as_v1beta1_reads_as_the_v1_ingress(spec: dict[str, Any], version: str) -> None:
    current, old = Inventory(), Inventory()
    current_ref = current.add(obj("networking.k8s.io/v1", "Ingress", spec))
    old_ref = old.add(obj(version, "Ingress", as_v1beta1(spec)))
    assert old_ref == current_ref
    current_view = current.view("networking.k8s.io", "Ingress", "chat", "chat")
    old_view = old.view("networking.k8s.io", "Ingress", "chat", "chat")
    assert isinstance(current_view, Ingress) and old_view == current_view


def test_a_string_service_port_names_the_port() -> None:
    spec = {"backend": {"serviceName": "chat", "servicePort": "http"}}
    inventory = Inventory()
    inventory.add(obj("networking.k8s.io/v1beta1", "Ingress", spec))
    view = inventory.view("networking.k8s.io", "Ingress", "chat", "chat")
    assert isinstance(view, Ingress) and view.spec.default_backend is not None
    service = view.spec.default_backend.service
    assert service is not None and (service.name, service.port.name, service.port.number) == ("chat", "http", None)


# -- workloads: the old selector defaulting ---------------------------------------------------
SELECTOR_DEFAULTED = [("extensions/v1beta1", "Deployment"), ("extensions/v1beta1", "DaemonSet"),
                      ("apps/v1beta1", "Deployment"), ("apps/v1beta1", "StatefulSet")]


@pytest.mark.parametrize(("version", "kind"), SELECTOR_DEFAULTED)
def test_old_workloads_select_their_template_labels_when_no_selector_is_given(version: str, kind: str) -> None:
    inventory = Inventory()
    inventory.add(obj(version, kind, SPECS[kind]))
    view = inventory.workload(kind, "chat", "chat")
    assert view is not None and view.spec.selector is not None
    assert view.spec.selector.match_labels == {"app": "chat"} and view.metadata.labels == {"app": "chat"}


def test_a_given_selector_is_kept_and_apps_v1beta2_defaults_none() -> None:
    given_selector = {**SPECS["Deployment"], "selector": {"matchLabels": {"tier": "web"}}}
    inventory = Inventory()
    inventory.add(obj("apps/v1beta1", "Deployment", given_selector))
    inventory.add(obj("apps/v1beta2", "StatefulSet", SPECS["StatefulSet"]))
    kept, none = inventory.workload("Deployment", "chat", "chat"), inventory.workload("StatefulSet", "chat", "chat")
    assert isinstance(kept, Workload) and kept.spec.selector is not None
    assert kept.spec.selector.match_labels == {"tier": "web"}
    assert isinstance(none, Workload) and none.spec.selector is None


# -- bad input: converted or not, never a traceback, always located ---------------------------
junk = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                        st.sampled_from(["rules", "http", "paths", "backend", "serviceName", "servicePort",
                                         "pathType", "template", "metadata", "labels", "selector"]),
                        inner, max_size=4), max_leaves=12)


@given(st.sampled_from(list(REMOVED_VERSIONS.values())), junk)
def test_malformed_objects_of_removed_versions_are_reported_not_raised(removed: RemovedVersion, spec: Any) -> None:
    raw = {"apiVersion": removed.api_version, "kind": removed.kind,
           "metadata": {"name": "chat", "namespace": "chat"}, "spec": spec}
    inventory = Inventory()
    inventory.add(raw)
    codes = {finding.code for finding in analyze(inventory)}
    entry = next(inventory.entries())
    assert "SG006" in codes
    assert entry.view is not None or "SG003" in codes


@pytest.mark.parametrize("removed", list(REMOVED_VERSIONS.values()), ids=lambda r: f"{r.api_version}-{r.kind}")
def test_the_rule_s_table_lists_each_removed_version(removed: RemovedVersion) -> None:
    rows = [line for line in SG006.doc.splitlines() if line.startswith("| ") and removed.kind in line]
    assert any(f"`{removed.api_version}`" in row and f"`{removed.served_as}`" in row for row in rows), rows
