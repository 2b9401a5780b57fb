#!/usr/bin/env bash
# scripts/pack-gpu.sh: prepares .devtools/ (git-ignored) for a GPU machine
# that has no Node.js and no npm registry, so that scripts/gpu-check.sh can
# run the Node steps there. Carry only `.devtools` to that machine:
#   .devtools/node-*.tar.xz        this machine's node binary (scripts/pack-node.sh)
#   .devtools/gpu-runtime.tar.xz   dist/ (compiled TS), build/Release/hybridlm.node,
#                                  and the production node_modules (~9 MB)
#   .devtools/gpu-jest.tar.xz      the whole node_modules (jest, ts-jest, typescript),
#                                  only with --with-jest and only if .devtools stays
#                                  under LIMIT_MB (default 60; the device tool carries 64 MiB)
# gpu-check.sh unpacks what is there and skips, saying why, what is not.
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT_MB="${LIMIT_MB:-60}"
with_jest=0
[ "${1:-}" = "--with-jest" ] && with_jest=1

scripts/pack-node.sh
npm run build:ts >/dev/null
[ -f build/Release/hybridlm.node ] || npm run build:native
prod="$(npm ls --omit=dev --parseable --all 2>/dev/null | sed "s|^$(pwd)/||" | grep '^node_modules/' | sort -u)"
# shellcheck disable=SC2086
tar -cJf .devtools/gpu-runtime.tar.xz dist build/Release/hybridlm.node $prod
ls -la .devtools/gpu-runtime.tar.xz

rm -f .devtools/gpu-jest.tar.xz
if [ "$with_jest" = 1 ]; then
  XZ_OPT=-9 tar -cJf .devtools/gpu-jest.tar.xz --exclude='node_modules/.cache' node_modules
  total_mb=$(( $(du -sb .devtools --exclude=.devtools/node | cut -f1) / 1048576 ))
  if [ "$total_mb" -gt "$LIMIT_MB" ]; then
    echo "gpu-jest.tar.xz would bring .devtools to ${total_mb} MB (limit ${LIMIT_MB}): left out; gpu-check skips the jest step"
    rm -f .devtools/gpu-jest.tar.xz
  fi
fi
du -sh .devtools --exclude=.devtools/node
