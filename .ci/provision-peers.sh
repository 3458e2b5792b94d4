#!/usr/bin/env bash
# Installs what the probe's real-peer tests (pytest -m peers) need; safe to run again and again.
#   nginx (Debian)       reverse proxy in front of the peers
#   socket.io (npm)      reference JavaScript server, locked in tests/peers/node/package-lock.json
#   python-socketio, uvicorn, wsproto (PyPI)   the python peer (ASGI)
# Node itself must be on the machine (it is on this project's image); the tests fail loudly without it.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-cache show nginx >/dev/null 2>&1; then
    sudo_if_needed apt-get update -qq
  fi
  sudo_if_needed apt-get install -y -qq nginx >/dev/null
  # The tests run their own nginx on a free port; the distribution's service is not wanted.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
    sudo_if_needed systemctl stop nginx || true
  fi
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "provision-peers: node and npm are required for the socket.io peer" >&2
  exit 1
fi

node_dir="$repo/tests/peers/node"
lock_copy="$node_dir/node_modules/.package-lock.json"
if [ ! -f "$lock_copy" ] || [ ! -d "$node_dir/node_modules/socket.io" ] \
    || [ "$node_dir/package-lock.json" -nt "$lock_copy" ]; then
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

python_bin="${PYTHON:-python3}"
if ! "$python_bin" -c "import socketio, uvicorn, wsproto" >/dev/null 2>&1; then
  "$python_bin" -m pip install --quiet --disable-pip-version-check \
    "python-socketio>=5.11,<6" "uvicorn>=0.30" "wsproto>=1.2"
fi

nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
echo "provision-peers: nginx $("$nginx_bin" -v 2>&1 | sed 's/.*nginx\///' || true), node $(node --version)," \
  "socket.io $(node -p "require('$node_dir/node_modules/socket.io/package.json').version")," \
  "python-socketio $("$python_bin" -c 'import importlib.metadata as m; print(m.version("python-socketio"))')"
