#!/usr/bin/env bash
# Installs and builds what the node tests (tests/node, marked `node`) need; idempotent and cached.
# provision.sh runs it.
#   Debian: podman, buildah, runc, mmdebstrap, iptables, conntrack, containernetworking-plugins
#   Go modules: kubelet, kube-scheduler, kube-proxy, containerd v2 (+ ctr, shim), CoreDNS; pause.c (gcc)
#   images: the project's image (Dockerfile on a Debian base from mmdebstrap), the pause image and the
#   Socket.IO test servers of tests/peers (after provision-peers.sh, which is quick when done)
# Cold: about 330 CPU seconds of Go builds after the control plane's (3-4 min on 2 idle cores) and
# about 5 min of images; cached: seconds for the binaries, 0.5-2 min for the image rebuild.
set -euo pipefail
cd "$(dirname "$0")/.."
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

packages=(podman buildah runc mmdebstrap iptables conntrack containernetworking-plugins)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  sudo_if_needed apt-get update -qq
  sudo_if_needed apt-get install -y -qq "${missing[@]}" >/dev/null
fi

export PYTHONPATH="$PWD/operator${PYTHONPATH:+:$PYTHONPATH}"
python -m socketguard.testing build --node
bash .ci/provision-peers.sh
python -m socketguard.testing image build
