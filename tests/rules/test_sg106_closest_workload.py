"""SG106's closest workload, found through a label index, is the one a scan of every workload finds."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from socketguard.engine.context import Context
from socketguard.engine.inventory import Inventory
from socketguard.engine.models.workloads import Workload
from socketguard.engine.rules.sg106_service_selects_no_server import _closest

KEYS = ("app", "version", "tier")
VALUES = ("a", "b", "c")
labels = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=3)


def deployment(index: int, pod_labels: dict[str, str], server: bool) -> dict[str, Any]:
    annotations = {"socketguard.io/role": "server", "socketguard.io/port": "80"} if server else {}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": f"w{index:02d}", "namespace": "ns", "annotations": annotations},
        "spec": {"selector": {"matchLabels": pod_labels},
                 "template": {"metadata": {"labels": pod_labels},
                              "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80}]}]}}},
    }


def scanned(ctx: Context, selector: dict[str, str]) -> Workload | None:
    """Every workload scored, as SG106 did before it had an index."""
    best: tuple[int, int] | None = None
    found: Workload | None = None
    for workload in ctx.inventory.workloads("ns"):
        pod = workload.pod_labels
        shared = sum(1 for k, v in selector.items() if pod.get(k) == v)
        keys = sum(1 for k in selector if k in pod)
        score = (shared * 2 + keys + (ctx.inventory.ref_of(workload) in ctx.servers), -len(pod))
        if (shared or keys) and (best is None or score > best):
            best, found = score, workload
    return found


@settings(max_examples=300, deadline=None)
@given(workloads=st.lists(st.tuples(labels, st.booleans()), max_size=12),
       selectors=st.lists(labels.filter(bool), min_size=1, max_size=6))
def test_the_indexed_search_finds_what_a_scan_finds(workloads: list[tuple[dict[str, str], bool]],
                                                    selectors: list[dict[str, str]]) -> None:
    inventory = Inventory()
    for index, (pod_labels, server) in enumerate(workloads):
        inventory.add(deployment(index, pod_labels, server))
    ctx = Context(inventory)
    for selector in selectors:  # one context: the index is built once and reused
        expected, found = scanned(ctx, selector), _closest(ctx, "ns", selector)
        assert (found and ctx.inventory.ref_of(found)) == (expected and ctx.inventory.ref_of(expected))
