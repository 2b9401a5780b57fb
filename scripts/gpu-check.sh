#!/usr/bin/env bash
# scripts/gpu-check.sh: the one-shot GPU check. On a machine with an
# NVIDIA GPU, in one go, everything written to $OUT (default ./gpu-out):
#   1. nvidia-smi / toolchain info                     -> $OUT/env.txt
#   2. build cuda/ for the local arch (compute_cap)    -> $OUT/build.log
#   3. hybridlm_cuda_test (kernels vs CPU twins)       -> $OUT/test.log
#   4. hybridlm_cuda_bench (GB/s, TFLOP/s vs peak)     -> $OUT/bench.log
#   5. npm run test:gpu, only when a Node.js binary is available (node on PATH,
#      or .devtools/node-*.tar.xz from scripts/pack-node.sh)  -> $OUT/node.log
#   6. compute-sanitizer memcheck over the kernel tests, when installed (best effort,
#      time-boxed: cases not reached in time are simply not checked) -> $OUT/memcheck.log
#   7. optional PyTorch sanity check when torch + CUDA are importable -> $OUT/torch.log
#   $OUT/summary.txt: one line per step (ok / FAILED / SKIPPED: why).
# Without a GPU (no nvidia-smi or no device) it dry-runs: builds the library and
# the test binaries for one arch (HYBRIDLM_CUDA_ARCHS, default 86) when nvcc is
# there, runs the test binary (which prints SKIPPED), says what it skipped, and
# exits 0. Every step is time-boxed (timeout); with a GPU the exit code is 1 if
# the build or the kernel tests failed.
# Env: OUT, HYBRIDLM_CUDA_ARCHS (override the detected arch), BUILD_DIR
# (default build-gpu-check), JOBS (default: nproc, at most 16), T_BUILD /
# T_TEST / T_BENCH / T_NODE / T_SAN (step timeouts in seconds; T_SAN=0 skips memcheck).
set -u
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
OUT="${OUT:-$ROOT/gpu-out}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-gpu-check}"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
[ "$JOBS" -gt 16 ] && JOBS=16
T_BUILD="${T_BUILD:-300}"
T_TEST="${T_TEST:-60}"     # per kernel family (11 processes); a few seconds each normally
T_BENCH="${T_BENCH:-180}"
T_NODE="${T_NODE:-180}"
T_SAN="${T_SAN:-120}"
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
status=0

say() { echo "[gpu-check] $*"; echo "$*" >>"$SUMMARY"; }

# ---- 1. environment
have_gpu=0
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown) $(git status --porcelain 2>/dev/null | wc -l) changed files"
  echo "host: $(uname -a)"
  echo "cpus: $(nproc 2>/dev/null)"
  if command -v nvidia-smi >/dev/null 2>&1; then
    timeout 30 nvidia-smi || true
    timeout 30 nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total,clocks.max.sm,clocks.max.mem,power.limit --format=csv || true
  else
    echo "nvidia-smi: not found"
  fi
  NVCC="$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)"
  echo "nvcc: ${NVCC:-not found}"
  [ -n "${NVCC:-}" ] && "$NVCC" --version | tail -2
  echo "cmake: $(cmake --version 2>/dev/null | head -1)"
} >"$OUT/env.txt" 2>&1
cap=""
if command -v nvidia-smi >/dev/null 2>&1; then
  cap="$(timeout 30 nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')"
  [ -n "$cap" ] && have_gpu=1
fi
if [ "$have_gpu" = 1 ]; then
  say "env: ok ($(timeout 30 nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1), sm_$cap)"
else
  say "env: no GPU (nvidia-smi missing or lists no device): dry run"
fi

# ---- 2. build
NVCC="$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)"
ARCHS="${HYBRIDLM_CUDA_ARCHS:-}"
[ -z "$ARCHS" ] && ARCHS="${cap:-86}"
built=0
if [ -z "$NVCC" ]; then
  say "build: SKIPPED: nvcc not found"
  [ "$have_gpu" = 1 ] && status=1
else
  export PATH="$(dirname "$NVCC"):$PATH"
  if timeout "$T_BUILD" bash -c "cmake -S cuda -B '$BUILD_DIR' -DHYBRIDLM_CUDA_ARCHS='$ARCHS' -DCMAKE_BUILD_TYPE=Release \
        && cmake --build '$BUILD_DIR' -j '$JOBS'" >"$OUT/build.log" 2>&1; then
    built=1
    say "build: ok (sm_$ARCHS, $(grep -ci 'warning' "$OUT/build.log") warning lines)"
  else
    say "build: FAILED (rc $?, see build.log)"
    tail -30 "$OUT/build.log"
    status=1
  fi
fi

# ---- 3. kernel tests: one process per family, so a kernel fault (a sticky
# CUDA error poisons the whole context) cannot hide the other families' results.
if [ "$built" = 1 ]; then
  : >"$OUT/test.log"
  if [ "$have_gpu" != 1 ]; then
    timeout "$T_TEST" "$BUILD_DIR/hybridlm_cuda_test" >>"$OUT/test.log" 2>&1
    say "test: $(grep '^SKIPPED' "$OUT/test.log" | head -1 || echo "ran without a GPU?")"
  else
    n_pass=0; n_fail=0; crashed=""
    for fam in rmsnorm swiglu embed conv1d ssm_ attention matmul moe_ argmax data errors; do
      echo "==== family $fam" >>"$OUT/test.log"
      timeout "$T_TEST" "$BUILD_DIR/hybridlm_cuda_test" "$fam" >"$OUT/test-$fam.tmp" 2>&1
      rc=$?
      cat "$OUT/test-$fam.tmp" >>"$OUT/test.log"
      last="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$OUT/test-$fam.tmp" | tail -1)"
      rm -f "$OUT/test-$fam.tmp"
      if [ -z "$last" ]; then
        crashed="$crashed $fam(rc $rc)"
      else
        n_pass=$((n_pass + $(echo "$last" | awk '{print $1}')))
        n_fail=$((n_fail + $(echo "$last" | awk '{print $3}')))
      fi
    done
    echo "TOTAL: $n_pass passed, $n_fail failed${crashed:+, crashed or timed out:$crashed}" >>"$OUT/test.log"
    if [ "$n_fail" = 0 ] && [ -z "$crashed" ]; then
      say "test: ok ($n_pass passed, 0 failed)"
    else
      say "test: FAILED ($n_pass passed, $n_fail failed${crashed:+; crashed or timed out:$crashed})"
      grep -E '^FAIL' "$OUT/test.log" | head -20
      status=1
    fi
  fi
else
  say "test: SKIPPED: nothing built"
fi

# ---- 4. kernel benchmark
if [ "$built" = 1 ] && [ "$have_gpu" = 1 ]; then
  if timeout "$T_BENCH" "$BUILD_DIR/hybridlm_cuda_bench" >"$OUT/bench.log" 2>&1; then
    say "bench: ok ($(grep -c 'us ' "$OUT/bench.log") cases)"
  else
    say "bench: FAILED or timed out (rc $?; partial numbers in bench.log)"
  fi
else
  say "bench: SKIPPED: $([ "$have_gpu" = 1 ] && echo 'nothing built' || echo 'no GPU')"
fi

# ---- 5. Node.js GPU tests
NODE="$(command -v node || true)"
if [ -z "$NODE" ]; then
  tarball="$(ls "$ROOT"/.devtools/node-*.tar.xz 2>/dev/null | head -1)"
  if [ -n "$tarball" ]; then
    mkdir -p "$ROOT/.devtools/node"
    if tar -C "$ROOT/.devtools/node" -xJf "$tarball" 2>>"$OUT/node.log"; then
      NODE="$(ls "$ROOT"/.devtools/node/bin/node 2>/dev/null || true)"
    fi
  fi
fi
if [ -z "$NODE" ]; then
  say "node: SKIPPED: no Node.js (node not on PATH, no .devtools/node-*.tar.xz; make one with scripts/pack-node.sh)"
elif [ "$have_gpu" != 1 ]; then
  say "node: SKIPPED: no GPU (node at $NODE)"
else
  export PATH="$(dirname "$NODE"):$PATH"
  export HYBRIDLM_CUDA_LIB="$BUILD_DIR/libhybridlm_cuda.so"
  if [ -f package.json ] && grep -q '"test:gpu"' package.json; then
    if [ -f scripts/test-gpu.js ]; then
      timeout "$T_NODE" "$NODE" scripts/test-gpu.js >"$OUT/node.log" 2>&1
    else
      timeout "$T_NODE" npm run test:gpu >"$OUT/node.log" 2>&1
    fi
    rc=$?
    if [ $rc -eq 0 ]; then say "node: ok ($(tail -1 "$OUT/node.log"))"
    else say "node: FAILED (rc $rc: $(tail -1 "$OUT/node.log"))"; fi
  else
    say "node: SKIPPED: package.json has no test:gpu script"
  fi
fi

# ---- 6. memcheck (out-of-bounds / misaligned accesses in the kernels)
SAN="$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)"
if [ "$built" = 1 ] && [ "$have_gpu" = 1 ] && [ -n "$SAN" ] && [ "$T_SAN" != 0 ]; then
  timeout "$T_SAN" "$SAN" --tool memcheck --print-limit 20 "$BUILD_DIR/hybridlm_cuda_test" >"$OUT/memcheck.log" 2>&1
  rc=$?
  errs="$(grep -c '^========= Invalid\|^========= Program hit' "$OUT/memcheck.log")"
  cases="$(grep -c '^PASS\|^FAIL' "$OUT/memcheck.log")"
  if [ "$errs" != 0 ]; then say "memcheck: FAILED ($errs error reports over $cases cases, see memcheck.log)"; status=1
  elif [ $rc -eq 124 ]; then say "memcheck: ok so far ($cases cases checked before the ${T_SAN}s time box)"
  else say "memcheck: ok ($cases cases, rc $rc: $(grep 'ERROR SUMMARY' "$OUT/memcheck.log" | tail -1))"; fi
else
  say "memcheck: SKIPPED: $([ "$have_gpu" = 1 ] && echo 'compute-sanitizer not found, nothing built or T_SAN=0' || echo 'no GPU')"
fi

# ---- 7. optional PyTorch cross-check (device sanity only; the kernel checks are step 3)
PY="$(command -v python3 || true)"
if [ "$have_gpu" = 1 ] && [ -n "$PY" ] && timeout 60 "$PY" -c 'import torch; assert torch.cuda.is_available()' >/dev/null 2>&1; then
  timeout 120 "$PY" - >"$OUT/torch.log" 2>&1 <<'EOF'
import torch, time
print("torch", torch.__version__, torch.cuda.get_device_name(0))
a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
for _ in range(3): a @ b
torch.cuda.synchronize()
t = time.perf_counter(); n = 20
for _ in range(n): a @ b
torch.cuda.synchronize()
dt = (time.perf_counter() - t) / n
print(f"bf16 matmul 8192^3: {2 * 8192**3 / dt / 1e12:.1f} TFLOP/s measured (reference ceiling for the bench's %)")
x = torch.empty(1 << 28, device="cuda", dtype=torch.uint8); y = torch.empty_like(x)
y.copy_(x); torch.cuda.synchronize()
t = time.perf_counter()
for _ in range(10): y.copy_(x)
torch.cuda.synchronize()
print(f"copy: {2 * x.numel() * 10 / (time.perf_counter() - t) / 1e9:.0f} GB/s")
EOF
  say "torch: $( [ $? -eq 0 ] && tail -1 "$OUT/torch.log" || echo 'FAILED (see torch.log)')"
else
  say "torch: SKIPPED: $([ "$have_gpu" = 1 ] && echo 'PyTorch with CUDA not importable' || echo 'no GPU')"
fi

echo
echo "==== summary ($OUT)"
cat "$SUMMARY"
if [ -f "$OUT/bench.log" ]; then
  echo "==== bench"
  cat "$OUT/bench.log"
fi
[ -f "$OUT/test.log" ] && { echo "==== test (failures, then totals)"; grep -E '^FAIL' "$OUT/test.log" | head -30; tail -1 "$OUT/test.log"; }
if [ "$have_gpu" != 1 ]; then
  echo "[gpu-check] dry run finished: no GPU here, skipped steps are listed above."
  exit 0
fi
exit $status
