#!/usr/bin/env bash
# scripts/check-pack.sh: the package as users get it. Packs hybridlm (and the
# CUDA package when its library is built), installs the tarballs with
# --ignore-scripts into an empty folder with a PATH that has node, npm, npx
# and sh but no compiler, make or cmake, then runs `npx hybridlm bench --prefill 32
# --decode 8` and `npx hybridlm doctor --json` there. Fails when the CPU
# tarball is over 15 MB, when anything would need a compiler, or when the
# addon did not come from the prebuild. Prints the tarball sizes.
# Uses prebuilds/<platform>-<arch>/ when present (a release lays them out);
# otherwise runs `npm run prebuild` and removes what it made afterwards.
# Env: KEEP=1 keeps the temp folder; BENCH_ARGS replaces the bench arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
MAX_CPU_BYTES=$((15 * 1000 * 1000))
platform="$(node -p 'process.platform + "-" + process.arch')"
work="$(mktemp -d "${TMPDIR:-/tmp}/hybridlm-pack-XXXXXX")"
made_prebuild=0
cleanup() {
  [ "$made_prebuild" = 1 ] && rm -rf "$ROOT/prebuilds/$platform"
  if [ "${KEEP:-0}" = 1 ]; then echo "[check-pack] kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
say() { echo "[check-pack] $*"; }

if ! ls "prebuilds/$platform"/*.node >/dev/null 2>&1; then
  say "no prebuild for $platform yet: npm run prebuild"
  made_prebuild=1
  npm run prebuild
fi

# ---- pack
size_of() { node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8"))[0]; console.log(r.filename, r.size, r.unpackedSize, r.entryCount)'; }
read -r cpu_tgz cpu_size cpu_unpacked cpu_entries < <(npm pack --json --pack-destination "$work" 2>/dev/null | size_of)
say "hybridlm tarball: $cpu_tgz $(node -p "($cpu_size/1e6).toFixed(2)") MB ($(node -p "($cpu_unpacked/1e6).toFixed(2)") MB unpacked, $cpu_entries files)"
if [ "$cpu_size" -gt "$MAX_CPU_BYTES" ]; then
  say "FAIL: the CPU tarball is over 15 MB"
  exit 1
fi
tarballs=("$work/$cpu_tgz")
cuda_pkg="packages/cuda-$platform"
if [ -f "$cuda_pkg/libhybridlm_cuda.so" ]; then
  read -r cuda_tgz cuda_size cuda_unpacked _ < <(cd "$cuda_pkg" && npm pack --json --pack-destination "$work" 2>/dev/null | size_of)
  say "CUDA tarball: $cuda_tgz $(node -p "($cuda_size/1e6).toFixed(2)") MB ($(node -p "($cuda_unpacked/1e6).toFixed(2)") MB unpacked)"
  tarballs+=("$work/$cuda_tgz")
else
  say "no $cuda_pkg/libhybridlm_cuda.so (npm run build:cuda): the CUDA package is not checked"
fi

# ---- a PATH with node and npm only (and sh, which npx runs commands with)
bin="$work/bin"
mkdir -p "$bin"
for tool in node npm npx sh; do ln -s "$(command -v "$tool")" "$bin/$tool"; done
for tool in cc gcc g++ c++ clang clang++ make cmake python3; do
  if PATH="$bin" command -v "$tool" >/dev/null 2>&1; then
    say "FAIL: $tool is reachable from the restricted PATH"
    exit 1
  fi
done

# ---- install and run as a user would
app="$work/app"
mkdir -p "$app"
cd "$app"
echo '{ "name": "check-pack-app", "version": "1.0.0", "private": true }' >package.json
say "npm install --ignore-scripts ${tarballs[*]##*/} (PATH=$bin)"
PATH="$bin" npm install --ignore-scripts --no-audit --no-fund "${tarballs[@]}"
installed="$app/node_modules/hybridlm"
if [ -e "$installed/build" ]; then
  say "FAIL: something built $installed/build during install"
  exit 1
fi
# shellcheck disable=SC2086
PATH="$bin" npx --no-install hybridlm bench ${BENCH_ARGS:---prefill 32 --decode 8}
PATH="$bin" npx --no-install hybridlm doctor --json >"$work/doctor.json"
PATH="$bin" node - "$work/doctor.json" "${#tarballs[@]}" <<'EOF'
const fs = require('fs');
const r = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const withCuda = process.argv[3] === '2';
const fail = (m) => { console.error(`[check-pack] FAIL: ${m}`); process.exit(1); };
if (!r.addon.ok) fail(`the addon did not load: ${r.addon.error}`);
if (r.addon.origin !== 'prebuild') fail(`the addon came from ${r.addon.origin} (${r.addon.path}), not the prebuild`);
console.log(`[check-pack] addon: ${r.addon.origin} ${r.addon.path}`);
console.log(`[check-pack] simd: ${r.cpu.simd}; cuda package: ${r.cuda.package.problem ?? r.cuda.package.version}`);
if (withCuda) {
  if (r.cuda.package.problem || !r.cuda.library || r.cuda.library.origin !== 'package') {
    fail(`the installed CUDA package was not used: ${r.cuda.reason}`);
  }
  console.log(`[check-pack] cuda: ${r.cuda.available ? 'usable' : 'not usable'}: ${r.cuda.reason}`);
}
console.log(`[check-pack] device 'auto': ${r.auto.device} (${r.auto.reason})`);
EOF
say "ok"
