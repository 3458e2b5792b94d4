#!/usr/bin/env bash
# Render manifests/install.yaml from charts/socketguard for GitOps users (`kubectl apply -f`).
#   scripts/render-install.sh            rewrite manifests/install.yaml
#   scripts/render-install.sh FILE|-     write elsewhere (tests/chart compares a fresh render with the file)
# The webhook certificate comes from cert-manager (webhook.tls.mode=certManager), so no key or
# certificate is ever written into the repository. The pre-delete cleanup hook is left out: a plain
# manifest has no hooks, and the Job would run at apply time (docs/install.md explains the cleanup).
# helm: $HELM, else `helm` on PATH, else the one the test harness caches (~/.cache/socketguard/k8s-*/helm).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
output="${1:-$repo_root/manifests/install.yaml}"
namespace=socketguard

find_helm() {
  if [[ -n "${HELM:-}" ]]; then echo "$HELM"; return; fi
  if command -v helm >/dev/null 2>&1; then command -v helm; return; fi
  local cache="${SOCKETGUARD_K8S_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/socketguard/k8s-*}"
  for candidate in $cache/helm; do
    if [[ -x "$candidate" ]]; then echo "$candidate"; return; fi
  done
  echo "render-install: helm not found: set HELM, put helm on PATH, or run .ci/provision.sh" >&2
  exit 2
}
helm="$(find_helm)"

rendered="$(
  cat <<HEADER
# SocketGuard install manifest, rendered from charts/socketguard by scripts/render-install.sh.
# Do not edit: change the chart and re-run the script (a test fails while this file is stale).
# Needs cert-manager (it issues the webhook certificate and injects its CA bundle):
#   kubectl apply --server-side -f manifests/install.yaml
# Helm users: helm install socketguard charts/socketguard -n socketguard --create-namespace
---
apiVersion: v1
kind: Namespace
metadata:
  name: $namespace
  labels:
    app.kubernetes.io/part-of: socketguard
    # The chart's pods meet the restricted Pod Security Standard.
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
HEADER
  "$helm" template socketguard "$repo_root/charts/socketguard" \
    --namespace "$namespace" \
    --include-crds \
    --set webhook.tls.mode=certManager \
    --set cleanup.enabled=false
)"

if [[ "$output" == "-" ]]; then
  printf '%s\n' "$rendered"
else
  mkdir -p "$(dirname "$output")"
  printf '%s\n' "$rendered" > "$output"
  echo "wrote $output" >&2
fi
