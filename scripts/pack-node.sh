#!/usr/bin/env bash
# Packs this machine's Node.js binary into .devtools/ (git-ignored) so the GPU
# machine, which has no Node.js, can run the JS tests: the device tool carries
# .devtools/ with the tree and scripts/gpu-check.sh unpacks it.
set -euo pipefail
cd "$(dirname "$0")/.."
node_bin="$(command -v node)"
version="$(node --version)"
arch="$(node -p process.arch)"
mkdir -p .devtools
out=".devtools/node-${version}-linux-${arch}.tar.xz"
if [ -f "$out" ]; then
  echo "$out already exists"
  exit 0
fi
tmp="$(mktemp -d)"
mkdir -p "$tmp/bin"
cp "$node_bin" "$tmp/bin/node"
tar -C "$tmp" -cJf "$out" bin/node
rm -rf "$tmp"
ls -la "$out"
