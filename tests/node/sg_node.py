"""The chart's release and the mageagent example on the node, with real Socket.IO servers in its pods.

The example's images (``registry.adverant.ai/...``) exist nowhere on this machine; a pull would
leave it. Each server Deployment runs the Node or python test server image instead, serving on its
containerPort at the path the test chooses, and each client Deployment runs the pause image.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Final

import yaml

from socketguard.testing import KubectlError, versions, wait_for
from socketguard.testing.images import PEER_IMAGES
from socketguard.testing.node import NodeCluster

REPOSITORY: Final = Path(__file__).resolve().parents[2]
CHART: Final = REPOSITORY / "charts" / "socketguard"
MAGEAGENT: Final = REPOSITORY / "manifests" / "examples" / "mageagent"
NAMESPACE: Final = "socketguard"
RELEASE: Final = "socketguard"
CONDITION: Final = "SocketRouteReady"
HEALTH_PORT: Final = 8080


def get(cluster: NodeCluster, kind: str, name: str, namespace: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(cluster.kubectl("get", kind, name, "-n", namespace, "-o", "json").stdout)
    return body


def pods(cluster: NodeCluster, namespace: str, selector: str) -> list[dict[str, Any]]:
    listing = json.loads(cluster.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json").stdout)
    found: list[dict[str, Any]] = listing["items"]
    return found


def ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def operator_pods(cluster: NodeCluster) -> list[dict[str, Any]]:
    return pods(cluster, NAMESPACE, "app.kubernetes.io/component=operator")


def readyz(pod: dict[str, Any]) -> tuple[int, str]:
    """The operator pod's ``/readyz``, asked from the host (pod addresses are on the node's bridge)."""
    address = (pod.get("status") or {}).get("podIP")
    if not address or (pod["metadata"].get("deletionTimestamp")):
        return 0, "no address or terminating"
    try:
        with urllib.request.urlopen(f"http://{address}:{HEALTH_PORT}/readyz", timeout=3) as answer:
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()
    except OSError as error:
        return 0, str(error)


def route_condition(cluster: NodeCluster, namespace: str, deployment: str) -> dict[str, Any] | None:
    status = get(cluster, "deployment", deployment, namespace).get("status") or {}
    return next((dict(c) for c in status.get("conditions") or [] if c.get("type") == CONDITION), None)


def _condition_with(cluster: NodeCluster, namespace: str, deployment: str, status: str, reason: str) -> dict[str, Any]:
    """Wait-friendly: the route condition when it has ``status`` and ``reason``, else an empty dict."""
    found = route_condition(cluster, namespace, deployment) or {}
    return found if (found.get("status"), found.get("reason")) == (status, reason) else {}


def dry_run_denied(cluster: NodeCluster, manifest: str) -> bool:
    """True when the webhook denies the server-side dry-run, False when it is admitted."""
    # Server-side, as the test's other applies: a client-side apply would keep the annotations the
    # broken manifest lacks (the objects carry no last-applied configuration).
    argv = ("apply", "--server-side", "--force-conflicts", "--field-manager=socketguard-test", "--dry-run=server")
    result = cluster.kubectl(*argv, "-f", "-", stdin=manifest, check=False)
    if result.returncode == 0:
        return False
    if "SG102" in result.stderr:
        return True
    raise KubectlError(["kubectl", *argv], result.returncode, result.stderr)


def apply_admitted(cluster: NodeCluster, docs: list[dict[str, Any]]) -> None:
    """Apply once a server-side dry-run is admitted: the webhook's view lags the API by a watch event."""
    manifest = yaml.safe_dump_all(docs)
    wait_for(lambda: not dry_run_denied(cluster, manifest), timeout=60, interval=1, what="the change admitted")
    cluster.apply(docs)


def split_route(docs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The workloads and the routes: a dry-run reviews each object against the cluster without the
    others, so a route is checked against workloads that exist already."""
    routes = [doc for doc in docs if doc["kind"] == "VirtualService"]
    return [doc for doc in docs if doc not in routes], routes


def wait_condition(
    cluster: NodeCluster, namespace: str, deployment: str, status: str, reason: str, timeout: float = 90.0
) -> dict[str, Any]:
    """The Deployment's route condition once it has ``status`` and ``reason``."""
    return wait_for(
        lambda: _condition_with(cluster, namespace, deployment, status, reason),
        timeout=timeout,
        interval=0.5,
        what=f"{CONDITION} {status} {reason} on {namespace}/{deployment}",
    )


def create_namespace(cluster: NodeCluster, name: str, *labels: str) -> None:
    cluster.kubectl("create", "namespace", name)
    if labels:
        cluster.kubectl("label", "namespace", name, *labels, "--overwrite")


def mageagent(variant: str, namespace: str, *files: str) -> list[dict[str, Any]]:
    """The example's ``variant`` (without its Namespace) in ``namespace``, its servers real.

    Outside ``mageagent`` its host becomes ``<namespace>.adverant.ai`` (Istio merges the routes of
    one host across namespaces). The mageagent server serves the path its annotations declare.
    """
    names = files or tuple(path.name for path in sorted((MAGEAGENT / variant).glob("*.yaml")))
    docs: list[dict[str, Any]] = []
    for name in names:
        text = (MAGEAGENT / variant / name).read_text().replace("namespace: mageagent", f"namespace: {namespace}")
        if namespace != "mageagent":
            text = text.replace("adverant.ai", f"{namespace}.adverant.ai")
        docs += [doc for doc in yaml.safe_load_all(text) if doc and doc["kind"] != "Namespace"]
    for doc in docs:
        if doc["kind"] == "Deployment":
            annotations = doc["metadata"].get("annotations") or {}
            if annotations.get("socketguard.io/role") == "server":
                serve_socketio(doc, "node", annotations.get("socketguard.io/path", "/socket.io"))
            else:
                _run_pause(doc)
    return docs


def serve_socketio(deployment: dict[str, Any], stack: str, path: str) -> dict[str, Any]:
    """Run the ``stack`` (node or python) test server in the Deployment's first container at ``path``."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container.update(
        image=PEER_IMAGES[stack],
        imagePullPolicy="Never",
        args=server_args(container["ports"][0]["containerPort"], path),
        readinessProbe=handshake_probe(path),
    )
    container.pop("env", None)
    return deployment


def server_args(port: int, path: str) -> list[str]:
    return ["--host", "0.0.0.0", "--port", str(port), "--path", path]


def handshake_probe(path: str) -> dict[str, Any]:
    """Ready once an Engine.IO handshake at ``path`` answers (the example's ``/health`` is not served)."""
    return {"httpGet": {"path": f"{path.rstrip('/')}/?EIO=4&transport=polling", "port": "http"}, "periodSeconds": 2}


def _run_pause(deployment: dict[str, Any]) -> None:
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        container.update(image=versions.PAUSE_IMAGE, imagePullPolicy="Never")


def rollout(cluster: NodeCluster, namespace: str, deployment: str) -> None:
    cluster.kubectl("rollout", "status", f"deployment/{deployment}", "-n", namespace, "--timeout=180s", timeout=200)
