"""The webhook under churn: admission requests at a fixed rate while the watched objects change,
and every decision replayed offline at the inventory version it names.

A seeded churn of creates, updates and deletes over the example topologies (Istio, Gateway API,
ingress-nginx, Traefik and Argo Rollouts, one `enforce` namespace each, a namespace's mode flipped
between `enforce` and `warn` now and then) runs on a control plane of the test's own while
AdmissionReviews are POSTed to the webhook process over TLS at a fixed rate.

Direct POSTs, not dry-runs through the API server: the decision and the inventory version it names
come back in one response (the API server keeps `auditAnnotations` for its audit log and tells the
client only allowed, status and warnings); the rate is the test's own, not the API server's and
kubectl's; and without a webhook configuration registered, no churn write is ever refused, so the
write log is the cluster's whole history. The API server calling the webhook is the other e2e
files' subject; here, after the churn, one server-side dry-run through it shows the annotation
reaching its audit log under the webhook's name.

Every write is logged (`writes.jsonl` in the test's directory) with the resourceVersion the API
server returned. A deletion answers with a Status, not the object, so a deletion is logged with
the version of a listing made right after it, and with the version its kind had before it
(`after`): it happened in between, and no other write of its kind did. A write is in the state at
the webhook's version `v` of its kind when `v` reaches the write's version (a deletion: when `v`
passes `after`). The test first checks that every version a decision names is one the log
explains (nobody else wrote a watched kind), then rebuilds the state at each decision's vector
from a listing taken before any write plus the writes it includes, feeds it to a `Feed`, and runs
the same `AdmissionServer.answer` on the same request body.
"""

from __future__ import annotations

import asyncio
import bisect
import copy
import json
import random
import re
import ssl
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
import yaml

from socketguard.cluster.feed import INPUT_KINDS, NAMESPACES, Feed
from socketguard.cluster.kube import PLURALS, Kube, collection_path, load_configuration, object_path
from socketguard.cluster.versions import AUDIT_KEY, kind_key, parse_versions
from socketguard.engine.objects import ObjectRef
from socketguard.testing import ControlPlane, find_toolset, wait_for
from socketguard.webhook.modes import MODE_KEY, Mode
from socketguard.webhook.server import AdmissionServer, ServerConfig

from .support import review
from .test_e2e_webhook import SELECTOR_LABEL, Webhook, configurations, start_webhook

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "examples"
# namespace -> example directory and its variants; the first variant after `broken` is applied first.
TOPOLOGIES = {
    "churn-istio": ("mageagent", ("broken", "fixed-by-rewrite", "fixed-by-path")),
    "churn-gateway-api": ("mageagent-gateway-api", ("broken", "fixed")),
    "churn-ingress-nginx": ("mageagent-ingress-nginx", ("broken", "fixed")),
    "churn-traefik": ("mageagent-traefik", ("broken", "fixed")),
    "churn-rollouts": ("mageagent-argo-rollouts", ("broken", "fixed")),
}
SEED = 20261207
CHANGES, CHANGE_RATE = 450, 15.0  # writes, per second
REQUESTS, REQUEST_RATE = 300, 10.0  # AdmissionReviews, per second
RELABEL, DELETE = 0.05, 0.35  # shares of the changes (of a live object's changes, for DELETE)
DEFAULT_MODE = Mode.WARN  # as start_webhook runs it
T = TypeVar("T", int, float)
Key = tuple[str, str, str]  # namespace, kind, name
Pool = dict[Key, list[dict[str, Any]]]  # each object's bodies across the variants


# -- the example topologies ----------------------------------------------------------------------------


def topology(namespace: str) -> tuple[Pool, list[Key]]:
    """Each object of the topology with its distinct bodies across the variants, and the objects of
    the first fixed variant (a working topology, each object's first body), in file order."""
    directory, names = TOPOLOGIES[namespace]
    pool: Pool = {}
    working: list[Key] = []
    for variant in (names[1], *names[:1], *names[2:]):
        for file in sorted((EXAMPLES / directory / variant).glob("*.yaml")):
            text = file.read_text().replace("namespace: mageagent", f"namespace: {namespace}")
            for doc in yaml.safe_load_all(text.replace("adverant.ai", f"{namespace}.adverant.ai")):
                if not doc or doc["kind"] == "Namespace":
                    continue
                key = (namespace, doc["kind"], doc["metadata"]["name"])
                bodies = pool.setdefault(key, [])
                if doc not in bodies:
                    bodies.append(doc)
                if variant == names[1]:
                    working.append(key)
    return pool, working


# -- writes, logged with their versions ----------------------------------------------------------------
@dataclass
class Write:
    """One line of writes.jsonl: a write and the version the API server gave it."""

    verb: str  # create | update | delete | label
    kind: str  # kind_key
    version: int  # of the write; of a listing right after it, for a delete
    after: int  # the kind's version before the write
    body: dict[str, Any]  # as the API server returned it; for a delete, the object before it

    @property
    def threshold(self) -> int:
        """The lowest version of its kind whose state includes this write."""
        return self.after + 1 if self.verb == "delete" else self.version

    def explains(self, version: int) -> bool:
        return self.after < version <= self.version if self.verb == "delete" else version == self.version


@dataclass
class Cluster:
    kube: Kube
    log: Path
    listed: int  # the version of the listing before the first write
    writes: list[Write] = field(default_factory=list)
    live: dict[Key, dict[str, Any]] = field(default_factory=dict)  # as the API server returned it
    written: dict[Key, int] = field(default_factory=dict)  # which of the object's bodies
    kinds: dict[str, int] = field(default_factory=dict)  # kind_key -> its latest write's version

    def record(self, verb: str, body: dict[str, Any], version: str | int) -> None:
        kind = kind_key(body["apiVersion"], body["kind"])
        write = Write(verb, kind, int(version), self.kinds.get(kind, self.listed), body)
        self.kinds[kind] = write.version
        self.writes.append(write)
        with self.log.open("a") as out:
            out.write(json.dumps(asdict(write)) + "\n")

    async def create(self, key: Key, bodies: list[dict[str, Any]], index: int) -> None:
        ref = ObjectRef.of(bodies[index])
        made = await self.kube.create(collection_path(ref.api_version, PLURALS[ref.kind], key[0]), bodies[index])
        self.live[key], self.written[key] = made, index
        self.record("create", made, made["metadata"]["resourceVersion"])

    async def update(self, key: Key, bodies: list[dict[str, Any]], index: int) -> None:
        body, current = bodies[index], self.live[key]["metadata"]
        # CRDs refuse an update without the version it replaces; this test is the only writer.
        replacement = {**body, "metadata": {**body["metadata"], "resourceVersion": current["resourceVersion"]}}
        made = await self.kube.request("PUT", object_path(ObjectRef.of(body)), body=replacement)
        self.live[key], self.written[key] = made, index
        self.record("update", made, made["metadata"]["resourceVersion"])

    async def delete(self, key: Key) -> None:
        gone = self.live.pop(key)
        del self.written[key]
        ref = ObjectRef.of(gone)
        await self.kube.delete(object_path(ref))
        listing = await self.kube.get(collection_path(ref.api_version, PLURALS[ref.kind], key[0]), {"limit": "1"})
        self.record("delete", gone, listing["metadata"]["resourceVersion"])

    async def label(self, namespace: str, mode: str) -> None:
        patch = {"metadata": {"labels": {MODE_KEY: mode}}}
        made = await self.kube.merge_patch(f"/api/v1/namespaces/{namespace}", patch)
        self.record("label", made, made["metadata"]["resourceVersion"])


async def listing(kube: Kube) -> tuple[list[dict[str, Any]], int]:
    """Every object of every watched kind before the test writes anything, and the newest version."""
    objects: list[dict[str, Any]] = []
    newest = 0
    for kind in (*INPUT_KINDS, NAMESPACES):
        api_version = await kube.served_version(kind.group, kind.version)
        assert api_version is not None, f"{kind.kind} is not served"
        page = await kube.get(collection_path(api_version, kind.plural, None))
        newest = max(newest, int(page["metadata"]["resourceVersion"]))
        objects += [{**item, "apiVersion": api_version, "kind": kind.kind} for item in page["items"]]
    return objects, newest


async def churn(cluster: Cluster, pools: Mapping[str, Pool], rng: random.Random) -> int:
    """CHANGES writes at CHANGE_RATE: a flipped namespace mode, or a create, update or delete."""
    modes = dict.fromkeys(pools, "enforce")
    keys = [key for pool in pools.values() for key in pool]
    began = asyncio.get_running_loop().time()
    for index in range(CHANGES):
        await _until(began + index / CHANGE_RATE)
        if rng.random() < RELABEL:
            namespace = rng.choice(list(pools))
            modes[namespace] = "warn" if modes[namespace] == "enforce" else "enforce"
            await cluster.label(namespace, modes[namespace])
            continue
        key = rng.choice(keys)
        bodies = pools[key[0]][key]
        if key not in cluster.live:
            await cluster.create(key, bodies, rng.randrange(len(bodies)))
        elif len(bodies) == 1 or rng.random() < DELETE:
            await cluster.delete(key)
        else:
            others = [i for i in range(len(bodies)) if i != cluster.written[key]]
            await cluster.update(key, bodies, rng.choice(others))
    return CHANGES


async def _until(moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - asyncio.get_running_loop().time()))


# -- admission requests at a fixed rate ---------------------------------------------------------------
@dataclass
class Decision:
    uid: str
    review: dict[str, Any]
    response: dict[str, Any]
    seconds: float  # from sending the request to its answer
    written: int  # writes the API server had answered when the request was sent

    @property
    def version(self) -> str:
        return str(self.response.get("auditAnnotations", {}).get(AUDIT_KEY, ""))


def next_review(index: int, cluster: Cluster, pools: Mapping[str, Pool],
                rng: random.Random) -> dict[str, Any]:
    """A user's change to one object of a topology: a variant written over it, or its deletion."""
    namespace = rng.choice(list(pools))
    key = rng.choice(list(pools[namespace]))
    old = cluster.live.get(key)
    uid = f"churn-{index:04d}"
    if old is not None and rng.random() < 0.25:
        return review("DELETE", None, old, uid=uid)
    body = copy.deepcopy(rng.choice(pools[namespace][key]))
    return review("UPDATE" if old is not None else "CREATE", body, old, uid=uid)


async def requests(webhook: Webhook, cluster: Cluster, pools: Mapping[str, Pool],
                   rng: random.Random) -> list[Decision]:
    trust = ssl.create_default_context(cadata=webhook.ca_bundle.decode())
    url = f"https://127.0.0.1:{webhook.port}/validate"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trust),
                                     timeout=aiohttp.ClientTimeout(total=20)) as session:
        async def post(review: dict[str, Any]) -> Decision:
            written, sent_at = len(cluster.writes), time.perf_counter()
            async with session.post(url, json=review) as response:
                assert response.status == 200
                answer = await response.json()
            return Decision(review["request"]["uid"], review, answer["response"], time.perf_counter() - sent_at,
                            written)

        began = asyncio.get_running_loop().time()
        sent = []
        for index in range(REQUESTS):
            await _until(began + index / REQUEST_RATE)
            sent.append(asyncio.create_task(post(next_review(index, cluster, pools, rng))))
        return list(await asyncio.gather(*sent))


# -- offline replay ---------------------------------------------------------------------------------
class History:
    """The cluster at any version vector, in a Feed as the webhook's watch would have filled it.

    A kind's writes in the state at `v` are a prefix of that kind's writes (their thresholds grow),
    so moving to a later vector only applies more writes; an earlier one starts again from the listing.
    """

    def __init__(self, listed: list[dict[str, Any]], writes: list[Write]) -> None:
        self.listed = listed
        self.by_kind: dict[str, list[Write]] = {}
        for write in writes:
            self.by_kind.setdefault(write.kind, []).append(write)
        self.feed = Feed()
        self.applied: dict[str, int] = {}
        self.rebuilds = 0

    def at(self, versions: Mapping[str, str]) -> Feed:
        wanted = {kind: bisect.bisect_right([w.threshold for w in writes], int(versions.get(kind, 0)))
                  for kind, writes in self.by_kind.items()}
        if not self.rebuilds or any(wanted[kind] < count for kind, count in self.applied.items()):
            self.rebuilds += 1
            self.feed, self.applied = Feed(), {}
            for body in self.listed:
                _put(self.feed, body)
        for kind, count in wanted.items():
            for write in self.by_kind[kind][self.applied.get(kind, 0):count]:
                if write.verb == "delete":
                    self.feed.delete(write.body)
                else:
                    _put(self.feed, write.body)
            self.applied[kind] = count
        return self.feed


def unexplained(versions: Mapping[str, str], listed: int, writes: list[Write]) -> list[str]:
    """The kinds whose version in `versions` is neither the listing's nor one of the log's writes."""
    return [f"{kind}={version}" for kind, version in versions.items()
            if int(version) > listed and not any(w.kind == kind and w.explains(int(version)) for w in writes)]


def _put(feed: Feed, body: dict[str, Any]) -> None:
    if body["kind"] == "Namespace":
        feed.namespace_labels[body["metadata"]["name"]] = dict(body["metadata"].get("labels") or {})
    else:
        feed.apply(body)


def replay(decision: Decision, feed: Feed) -> dict[str, Any]:
    server = AdmissionServer(feed, lambda: True, ServerConfig(default_mode=DEFAULT_MODE))
    response, _, _ = server.answer("validate", "POST", "/validate", json.dumps(decision.review).encode())
    return dict(response["response"])


def without_audit(response: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "auditAnnotations"}


def outcome(response: Mapping[str, Any]) -> str:
    if not response["allowed"]:
        return "denied"
    return "warned" if response.get("warnings") else "allowed"


def percentile(values: list[T], share: int) -> T:
    return sorted(values)[min(len(values) - 1, len(values) * share // 100)]


def logged_versions(log: str) -> dict[str, str]:
    """uid -> inventory version, from the webhook's decision lines."""
    return dict(re.findall(r"decision uid=(\S+) .* inventory-version=(\S+)$", log, re.MULTILINE))


# -- the annotation through a real API server ---------------------------------------------------------------
AUDITED = "churn-audited"  # the one namespace the webhook configuration selects, after the churn


def audit_flags(directory: Path) -> list[str]:
    """kube-apiserver flags: an audit log of VirtualService requests in AUDITED, at Metadata level."""
    policy = directory / "audit-policy.yaml"
    directory.mkdir(parents=True, exist_ok=True)
    policy.write_text(yaml.safe_dump({
        "apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
        "rules": [{"level": "Metadata", "namespaces": [AUDITED],
                   "resources": [{"group": "networking.istio.io", "resources": ["virtualservices"]}]},
                  {"level": "None"}]}))
    return [f"--audit-policy-file={policy}", f"--audit-log-path={directory / 'audit.log'}"]


def audited_version(plane: ControlPlane, webhook: Webhook, audit_log: Path) -> str:
    """A server-side dry-run through the API server, which calls the webhook: the audit log keeps the
    decision's version under the webhook's name (a key the API server refuses is dropped silently)."""
    plane.apply(configurations(webhook, "socketguard-churn"))
    plane.create_namespace(AUDITED)
    plane.kubectl("label", "namespace", AUDITED, f"{SELECTOR_LABEL}=true")
    route = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
             "metadata": {"name": "audited", "namespace": AUDITED},
             "spec": {"hosts": ["audited"], "http": [{"route": [{"destination": {"host": "audited"}}]}]}}
    key = "validate.socketguard.io/" + AUDIT_KEY

    def dry_run() -> str | None:
        # The API server picks a new webhook configuration up within a second or so: ask again until then.
        plane.kubectl("create", "--dry-run=server", "-f", "-", stdin=json.dumps(route))
        for line in audit_log.read_text().splitlines() if audit_log.exists() else []:
            annotations = json.loads(line).get("annotations") or {}
            if key in annotations:
                return str(annotations[key])
        return None

    return wait_for(dry_run, timeout=30, interval=0.5, what=f"{key} in the API server's audit log")


@pytest.mark.timeout(300)
def test_every_decision_under_churn_replays_identically_at_its_inventory_version(tmp_path: Path) -> None:
    toolset = find_toolset()
    if toolset is None:
        pytest.fail("control-plane binaries are not provisioned (python -m socketguard.testing build)")
    topologies = {namespace: topology(namespace) for namespace in TOPOLOGIES}
    pools = {namespace: pool for namespace, (pool, _) in topologies.items()}
    began = time.monotonic()
    with ControlPlane(run_dir=tmp_path / "plane", toolset=toolset, controller_manager=False,
                      apiserver_args=audit_flags(tmp_path)) as plane:
        kube = Kube(load_configuration(str(plane.kubeconfig)))

        async def prepare() -> tuple[Cluster, list[dict[str, Any]]]:
            objects, newest = await listing(kube)
            cluster = Cluster(kube, tmp_path / "writes.jsonl", newest)
            for namespace, (pool, working) in topologies.items():
                made = await kube.create("/api/v1/namespaces", {
                    "apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": namespace, "labels": {MODE_KEY: "enforce"}}})
                cluster.record("create", made, made["metadata"]["resourceVersion"])
                for key in working:
                    await cluster.create(key, pool[key], 0)
            return cluster, objects

        # First: it creates its ServiceAccount's namespace, a write the listing must already show.
        webhook = start_webhook(plane, tmp_path)
        loop = asyncio.new_event_loop()
        try:
            cluster, listed = loop.run_until_complete(prepare())
            ready = time.monotonic()
            rng = random.Random(SEED)

            async def live() -> tuple[int, list[Decision]]:
                return await asyncio.gather(churn(cluster, pools, random.Random(rng.random())),
                                            requests(webhook, cluster, pools, random.Random(rng.random())))

            churned, decisions = loop.run_until_complete(live())
            live_for = time.monotonic() - ready
            loop.run_until_complete(kube.close())
            audited = audited_version(plane, webhook, tmp_path / "audit.log")
        finally:
            loop.close()
            webhook.stop()
    print(f"\nwrites logged to {cluster.log}")

    replayed_at = time.monotonic()
    history = History(listed, cluster.writes)
    mismatches = []
    behind: list[int] = []  # writes answered before the request that its decision had not seen yet
    for decision in decisions:
        assert decision.version, f"{decision.uid}: no {AUDIT_KEY} audit annotation in {decision.response}"
        versions = parse_versions(decision.version)
        assert not unexplained(versions, cluster.listed, cluster.writes), (decision.uid, decision.version)
        feed = history.at(versions)
        behind.append(max(0, decision.written - sum(history.applied.values())))
        if without_audit(replay(decision, feed)) != without_audit(decision.response):
            mismatches.append(decision.uid)
    replay_for = time.monotonic() - replayed_at
    assert not mismatches, f"{len(mismatches)} decisions differ when replayed at their version: {mismatches[:10]}"

    # The version is what makes the replay agree: at the final state, some decisions come out otherwise.
    final = History(listed, cluster.writes).at({kind: str(version) for kind, version in cluster.kinds.items()})
    differ_at_end = sum(without_audit(replay(d, final)) != without_audit(d.response) for d in decisions)
    assert differ_at_end > 0
    outcomes = Counter(outcome(d.response) for d in decisions)
    assert outcomes["denied"] and outcomes["allowed"] + outcomes["warned"], outcomes
    # The decision log names the same version for each decision it shows (those that found something).
    logged = logged_versions(webhook.log.read_text())
    shown = [d for d in decisions if outcome(d.response) != "allowed"]
    assert shown and all(logged.get(d.uid) == d.version for d in shown)
    assert {"Namespace", "VirtualService.networking.istio.io"} <= set(parse_versions(audited))
    verbs = Counter(w.verb for w in cluster.writes[-churned:])
    seconds = [d.seconds for d in decisions]
    print(f"webhook under churn: {len(decisions)} requests at {REQUEST_RATE:.0f}/s ({dict(outcomes)}) while "
          f"{churned} changes were made ({dict(verbs)}), in {live_for:.1f} s; all {len(decisions)} replayed "
          f"equal at {len({d.version for d in decisions})} distinct inventory versions ({history.rebuilds} "
          f"states built from the listing) in {replay_for:.1f} s; {differ_at_end} differ at the final state; "
          f"answered in {percentile(seconds, 50) * 1000:.0f} ms (p50) / {percentile(seconds, 99) * 1000:.0f} ms "
          f"(p99); the inventory was behind by {percentile(behind, 50)} (p50) / {max(behind)} (max) writes; "
          f"control plane and setup {ready - began:.1f} s, total {time.monotonic() - began:.1f} s")
