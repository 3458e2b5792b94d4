#!/usr/bin/env bash
# Installs everything the tests need; idempotent and cached, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1

echo "== python packages"
python -m pip install --quiet -e '.[dev,operator,scan]'

echo "== socket.io peers and nginx"
bash .ci/provision-peers.sh
