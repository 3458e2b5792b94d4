from __future__ import annotations

import asyncio
from typing import Any

from sg_objects import server

from socketguard.cluster.feed import INPUT_KINDS, Feed, PassingMemories, observe, slim
from socketguard.controller.writers import condition_patch, removal_patch
from socketguard.engine.inventory import Inventory
from socketguard.engine.objects import ObjectRef


def cluster_body(**status: Any) -> dict[str, Any]:
    body = server("api")
    body["metadata"].update(resourceVersion="41", managedFields=[{"manager": "kubectl"}],
                            annotations={**body["metadata"]["annotations"],
                                         "kubectl.kubernetes.io/last-applied-configuration": "{...}"})
    body["spec"]["template"]["spec"]["volumes"] = [{"name": "data", "emptyDir": {}}]
    if status:
        body["status"] = status
    return body


def test_slim_view_keeps_what_the_engine_reads_and_drops_the_rest() -> None:
    view = slim(cluster_body(replicas=1))
    assert "status" not in view and "managedFields" not in view["metadata"]
    assert "resourceVersion" not in view["metadata"]
    assert "kubectl.kubernetes.io/last-applied-configuration" not in view["metadata"]["annotations"]
    assert view["metadata"]["annotations"]["socketguard.io/role"] == "server"
    assert "volumes" not in view["spec"]["template"]["spec"]
    assert view["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] == 8080


def test_status_only_changes_do_not_notify() -> None:
    feed = Feed()
    heard: list[ObjectRef] = []
    feed.listeners.append(lambda ref, old, new: heard.append(ref))
    feed.apply(cluster_body())
    feed.apply(cluster_body(conditions=[{"type": "Available", "status": "True"}]))
    assert len(heard) == 1
    ref = ObjectRef("apps/v1", "Deployment", "demo", "api")
    assert feed.observed[ref].conditions == 1
    changed = cluster_body()
    changed["spec"]["replicas"] = 3
    feed.apply(changed)
    assert len(heard) == 2
    feed.delete(changed)
    assert len(heard) == 3 and ref not in feed.inventory and ref not in feed.observed


def test_observe_finds_our_condition_among_others() -> None:
    ours = {"type": "SocketRouteReady", "status": "False"}
    seen = observe(cluster_body(conditions=[{"type": "Available", "status": "True"}, ours]))
    assert (seen.index, seen.conditions, seen.resource_version) == (1, 2, "41")
    assert condition_patch(seen, {"type": "SocketRouteReady", "status": "True"}) == [
        {"op": "test", "path": "/status/conditions/1/type", "value": "SocketRouteReady"},
        {"op": "replace", "path": "/status/conditions/1", "value": {"type": "SocketRouteReady", "status": "True"}},
    ]
    assert removal_patch(seen)[1] == {"op": "remove", "path": "/status/conditions/1"}


def test_patches_never_replace_other_conditions() -> None:
    cond = {"type": "SocketRouteReady"}
    appended = condition_patch(observe(cluster_body(conditions=[{"type": "Available"}])), cond)
    assert appended == [{"op": "add", "path": "/status/conditions/-", "value": cond}]
    # Creating the list is guarded by the resourceVersion: if someone added conditions meanwhile,
    # the patch fails instead of overwriting theirs.
    created = condition_patch(observe(cluster_body(replicas=1)), cond)
    assert created[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": "41"}
    assert created[1]["path"] == "/status/conditions"
    assert condition_patch(observe(cluster_body()), cond)[1]["path"] == "/status"


def versioned(name: str, version: str) -> dict[str, Any]:
    body = server(name)
    body["metadata"]["resourceVersion"] = version
    return body


def test_a_listed_object_after_the_inventory_is_filled_means_kopf_listed_again() -> None:
    async def deliver() -> list[int]:
        feed = Feed()
        relists: list[int] = []
        feed.on_relist.append(lambda: relists.append(1))
        await feed._event_input(None, versioned("a", "10"))  # the first listing: not a re-list
        feed.expect([("Deployment.apps", "demo", "a")])
        assert feed.ready
        await feed._event_input("MODIFIED", versioned("a", "11"))  # a watch event
        assert relists == []
        await feed._event_input(None, versioned("a", "11"))
        return relists

    assert asyncio.run(deliver()) == [1]


def test_the_feed_is_ready_once_every_listed_object_arrived_or_was_deleted() -> None:
    async def fill() -> list[str]:
        feed = Feed()
        filled: list[str] = []
        feed.on_ready.append(lambda: filled.append("filled"))
        await feed._event_input(None, versioned("early", "1"))
        assert feed.delivering.is_set() and not feed.ready
        listed = [("Deployment.apps", "demo", name) for name in ("early", "late", "deleted")]
        listed += [("Namespace", "", "demo"), ("CustomResourceDefinition.apiextensions.k8s.io", "", "x.example.com")]
        assert feed.expect(listed) == 4  # all but the one already delivered
        await feed._event_input(None, versioned("late", "2"))
        await feed._event_input("ADDED", versioned("created-after-the-listing", "3"))  # never awaited
        await feed._event_namespace(None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
        await feed._event_crd(None, {"metadata": {"name": "x.example.com"},
                                     "spec": {"group": "example.com", "names": {"kind": "X"}}})
        assert feed.awaited == 1 and not filled
        await feed._event_input("DELETED", versioned("deleted", "4"))
        assert feed.ready and feed.awaited is None
        return filled

    assert asyncio.run(fill()) == ["filled"]


def test_a_sweep_forgets_what_the_listing_lacks_unless_it_changed_after_the_listing_began() -> None:
    feed = Feed()
    heard: list[tuple[ObjectRef, Any]] = []
    feed.listeners.append(lambda ref, old, new: heard.append((ref, new)))
    for name in ("kept", "gone", "late"):
        feed.apply(versioned(name, "1"))
    since = feed.sequence
    feed.apply(versioned("late", "2"))  # arrived by watch while the sweep's listing ran
    heard.clear()
    deployments = next(kind for kind in INPUT_KINDS if kind.kind == "Deployment")
    gone = feed.sweep(deployments, {("demo", "kept")}, since)
    assert [ref.name for ref in gone] == ["gone"]
    assert heard == [(ObjectRef("apps/v1", "Deployment", "demo", "gone"), None)]
    assert sorted(ref.name for ref in feed.refs()) == ["kept", "late"]


def test_kopf_keeps_no_memory_of_a_watched_object() -> None:
    memories = PassingMemories()
    body = {"metadata": {"uid": "u-1", "name": "api"}}
    first = asyncio.run(memories.recall(body, noticed_by_listing=True))
    again = asyncio.run(memories.recall(body))
    assert first is not again and not again.noticed_by_listing
    assert list(memories.iter_all_memories()) == []


def test_the_feed_keeps_nothing_of_the_body_it_was_given() -> None:
    """What is kept shares no memory with the body: a large listing's rest can be freed."""
    feed = Feed()
    body = cluster_body(conditions=[{"type": "SocketRouteReady", "status": "True"}])
    ref = feed.apply(body)
    assert ref is not None
    kept = feed.inventory.raw(ref)
    assert kept is not None
    names = {id(value) for value in (body["metadata"]["name"], body["metadata"]["uid"],
                                     body["spec"]["template"]["spec"]["containers"][0]["name"])}
    assert names.isdisjoint({id(ref.name), id(feed.observed[ref].uid), id(kept["metadata"]["name"])})
    body["spec"]["template"]["spec"]["containers"][0]["ports"].clear()
    assert kept == feed.inventory.raw(ref) and kept["spec"]["template"]["spec"]["containers"][0]["ports"]


def test_an_inventory_without_views_keeps_the_objects_and_nothing_derived() -> None:
    store = Inventory(compact=True, views=False)
    ref = store.add(server("api"))
    assert ref in store and len(store) == 1 and store.raw(ref) == server("api")
    assert store.workload("Deployment", "demo", "api") is None and store.related(ref) == set()
    full = Inventory(compact=True)
    full.add(server("api"))
    assert full.workload("Deployment", "demo", "api") is not None
