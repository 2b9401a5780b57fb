#!/usr/bin/env bash
# scripts/gpu-check.sh: the one-shot GPU check. On a machine with an NVIDIA GPU
# it runs, within one time budget (T_TOTAL, default 470 s: under 8 minutes on
# an H100/H200 with 16 cores), and writes everything into $OUT (default ./gpu-out):
#   env.txt        nvidia-smi, toolchain
#   build.log      cuda/ built for the local arch only
#   test.log       hybridlm_cuda_test, one process per kernel family (a kernel
#                  fault kills only its family), then the whole binary again
#                  with --chained (ops queued as the executor issues them, no sync per op),
#                  and the decode chain under HYBRIDLM_CUDA_SYNC=1 (every launch
#                  checked); the report lists the launches per decode step
#   memcheck-*.log compute-sanitizer memcheck, one process per family, all in
#                  parallel (each under T_SAN), while the e2e check runs
#   e2e-check.log  CUDA vs CPU logits on synthetic h-350m / h-1b / small-MoE
#                  models, F16 + Q8_0 + Q4_K (+ Q4_K_M), prefill and decode (scripts/gpu-e2e.js)
#   e2e-graph.log  decode as CUDA graphs (HYBRIDLM_CUDA_GRAPH=1) vs eager: logits,
#                  launches per decode step and decode tok/s both ways
#   bench.log      hybridlm_cuda_bench: per-kernel GB/s, TFLOP/s vs the card's peak
#   e2e-bench.log  decode tok/s (batch 1 and 32), % of the DRAM roofline,
#                  prefill tok/s, kernel launches per token
#   node.log       jest's GPU suites (npm run test:gpu), when jest is available
#   report.md      all of the above in one file; summary.txt one line per step
# The Node steps need Node.js and the compiled package: node on PATH or
# .devtools/node-*.tar.xz, and dist/ + node_modules + build/Release/hybridlm.node
# in the tree or in .devtools/gpu-runtime.tar.xz (+ gpu-jest.tar.xz for jest);
# scripts/pack-gpu.sh makes them. What is missing is skipped, with the reason.
# Without a GPU it dry-runs: builds (when nvcc is there), runs the test binary
# (which prints SKIPPED) and the Node entry points (which skip), exits 0.
# With a GPU the exit code is 1 when the build, a kernel test, memcheck or the
# e2e check failed.
# Env: OUT, HYBRIDLM_CUDA_ARCHS (default: the GPU's compute capability, else
# 86), BUILD_DIR, JOBS, T_TOTAL, T_BUILD, T_TEST (per family), T_CHAINED,
# T_SAN (per family; 0 skips memcheck), T_E2E, T_GRAPH, T_BENCH, T_E2E_BENCH, T_NODE,
# MODELS (synthetic model folder, default /tmp/hybridlm-gpu-models).
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT="$(pwd)"
START=$(date +%s)
OUT="${OUT:-$ROOT/gpu-out}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-gpu-check}"
MODELS="${MODELS:-/tmp/hybridlm-gpu-models}"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
[ "$JOBS" -gt 16 ] && JOBS=16
T_TOTAL="${T_TOTAL:-470}"
T_BUILD="${T_BUILD:-240}"
T_TEST="${T_TEST:-40}"
T_CHAINED="${T_CHAINED:-60}"
T_SAN="${T_SAN:-100}"
T_E2E="${T_E2E:-150}"
T_GRAPH="${T_GRAPH:-60}"
T_BENCH="${T_BENCH:-60}"
T_E2E_BENCH="${T_E2E_BENCH:-100}"
T_NODE="${T_NODE:-90}"
FAMILIES="rmsnorm swiglu embed conv1d ssm_ attention matmul int_units mma_tiles moe_ argmax data strided chain graph policy errors"
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
status=0

say() { echo "[gpu-check] $*"; echo "$*" >>"$SUMMARY"; }
elapsed() { echo $(( $(date +%s) - START )); }
# Seconds a step may take: its own limit, capped by what is left of T_TOTAL.
budget() {
  local left=$(( T_TOTAL - $(elapsed) ))
  [ "$left" -lt "$1" ] && echo "$left" || echo "$1"
}
# True when at least $1 seconds are left.
have_time() { [ $(( T_TOTAL - $(elapsed) )) -ge "$1" ]; }

# One run of the test binary as a step: whole_binary_pass LABEL LIMIT CMD...
# appends its output to test.log and says ok when its totals show 0 failed.
whole_binary_pass() {
  local label="$1" limit="$2" rc last
  shift 2
  echo "==== $label" >>"$OUT/test.log"
  timeout "$(budget "$limit")" "$@" >"$OUT/test-pass.tmp" 2>&1
  rc=$?
  cat "$OUT/test-pass.tmp" >>"$OUT/test.log"
  last="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$OUT/test-pass.tmp" | tail -1)"
  rm -f "$OUT/test-pass.tmp"
  if [ -n "$last" ] && [ "$(echo "$last" | awk '{print $3}')" = 0 ]; then say "test $label: ok ($last)"
  else say "test $label: FAILED (rc $rc; ${last:-no totals: crashed or timed out})"; status=1; fi
}

# ---- 1. environment
have_gpu=0
cap=""
if command -v nvidia-smi >/dev/null 2>&1; then
  cap="$(timeout 30 nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')"
  [ -n "$cap" ] && have_gpu=1
fi
NVCC="$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown) ($(git status --porcelain 2>/dev/null | wc -l) changed files)"
  echo "host: $(uname -a)"
  echo "cpus: $(nproc 2>/dev/null)"
  if [ "$have_gpu" = 1 ]; then
    timeout 30 nvidia-smi || true
    timeout 30 nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total,clocks.max.sm,clocks.max.mem,power.limit --format=csv || true
  else
    echo "nvidia-smi: not found or lists no device"
  fi
  echo "nvcc: ${NVCC:-not found}"
  [ -n "$NVCC" ] && "$NVCC" --version | tail -2
  echo "cmake: $(cmake --version 2>/dev/null | head -1)"
} >"$OUT/env.txt" 2>&1
if [ "$have_gpu" = 1 ]; then
  say "env: ok ($(timeout 30 nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1), sm_$cap)"
else
  say "env: no GPU (nvidia-smi missing or lists no device): dry run"
fi

# ---- 2. Node.js and the compiled package (unpacked from .devtools when absent)
NODE="$(command -v node || true)"
if [ -z "$NODE" ]; then
  tarball="$(ls "$ROOT"/.devtools/node-*.tar.xz 2>/dev/null | head -1)"
  if [ -n "$tarball" ]; then
    mkdir -p "$ROOT/.devtools/node"
    tar -C "$ROOT/.devtools/node" -xJf "$tarball" >>"$OUT/node-setup.log" 2>&1 && NODE="$ROOT/.devtools/node/bin/node"
    [ -x "$NODE" ] || NODE=""
  fi
fi
node_ready=0
if [ -n "$NODE" ]; then
  PATH="$(dirname "$NODE"):$PATH"
  export PATH
  if [ ! -f dist/index.js ] || [ ! -f build/Release/hybridlm.node ] || [ ! -d node_modules/node-gyp-build ]; then
    [ -f .devtools/gpu-runtime.tar.xz ] && tar -xJf .devtools/gpu-runtime.tar.xz >>"$OUT/node-setup.log" 2>&1
  fi
  if [ ! -d node_modules/jest ] && [ -f .devtools/gpu-jest.tar.xz ]; then
    tar -xJf .devtools/gpu-jest.tar.xz >>"$OUT/node-setup.log" 2>&1
  fi
  if [ -f dist/index.js ] && [ -f build/Release/hybridlm.node ] && [ -d node_modules/node-gyp-build ]; then
    node_ready=1
    say "node: $("$NODE" --version) ready (dist, addon, node_modules$([ -d node_modules/jest ] && echo ', jest'))"
  else
    say "node: SKIPPED: dist/, build/Release/hybridlm.node or node_modules missing (make .devtools with scripts/pack-gpu.sh and carry it)"
  fi
else
  say "node: SKIPPED: no Node.js (not on PATH, no .devtools/node-*.tar.xz: scripts/pack-gpu.sh)"
fi
# The synthetic models are pure CPU work: write them while the library builds.
prep_pid=""
if [ "$node_ready" = 1 ] && [ "$have_gpu" = 1 ]; then
  "$NODE" scripts/gpu-e2e.js prepare "$MODELS" >"$OUT/e2e-prepare.log" 2>&1 &
  prep_pid=$!
fi

# ---- 3. build (the local arch only; no mock targets)
ARCHS="${HYBRIDLM_CUDA_ARCHS:-${cap:-86}}"
built=0
if [ -z "$NVCC" ]; then
  say "build: SKIPPED: nvcc not found"
  [ "$have_gpu" = 1 ] && status=1
else
  PATH="$(dirname "$NVCC"):$PATH"
  export PATH
  if timeout "$(budget "$T_BUILD")" bash -c "cmake -S cuda -B '$BUILD_DIR' -DHYBRIDLM_CUDA_ARCHS='$ARCHS' \
        -DCMAKE_BUILD_TYPE=Release -DHYBRIDLM_CUDA_MOCK_TEST=OFF && cmake --build '$BUILD_DIR' -j '$JOBS'" \
        >"$OUT/build.log" 2>&1; then
    built=1
    say "build: ok (sm_$ARCHS, $(grep -ci 'warning' "$OUT/build.log") warning lines, $(elapsed) s elapsed)"
  else
    say "build: FAILED (rc $?, see build.log)"
    tail -30 "$OUT/build.log"
    status=1
  fi
fi
export HYBRIDLM_CUDA_LIB="$BUILD_DIR/libhybridlm_cuda.so"

# ---- 4. kernel tests: one process per family, then the chained mode
TEST_BIN="$BUILD_DIR/hybridlm_cuda_test"
if [ "$built" = 1 ]; then
  : >"$OUT/test.log"
  if [ "$have_gpu" != 1 ]; then
    # Without a device only the host-only families run (policy, int_units, mma_tiles).
    timeout 60 "$TEST_BIN" >>"$OUT/test.log" 2>&1
    say "test: $(grep '^SKIPPED' "$OUT/test.log" | head -1 || echo 'ran without a GPU?') ($(grep -E '^[0-9]+ passed' "$OUT/test.log" | tail -1))"
  else
    n_pass=0; n_fail=0; crashed=""
    for fam in $FAMILIES; do
      echo "==== family $fam" >>"$OUT/test.log"
      timeout "$(budget "$T_TEST")" "$TEST_BIN" "$fam" >"$OUT/test-$fam.tmp" 2>&1
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
      status=1
    fi
    # The whole binary with ops queued as the executor issues them (no sync per
    # op), then the library's debug mode (every launch checked and synchronised)
    # on the decode chain.
    whole_binary_pass "--chained" "$T_CHAINED" "$TEST_BIN" --chained
    HYBRIDLM_CUDA_SYNC=1 whole_binary_pass "HYBRIDLM_CUDA_SYNC=1 chain" "$T_TEST" "$TEST_BIN" chain
  fi
else
  say "test: SKIPPED: nothing built"
fi

# ---- 5. memcheck, one process per family, in parallel (started now, read after the e2e check)
SAN="$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)"
san_pids=""
if [ "$built" = 1 ] && [ "$have_gpu" = 1 ] && [ -n "$SAN" ] && [ "$T_SAN" != 0 ] && have_time 60; then
  t_san="$(budget "$T_SAN")"
  for fam in $FAMILIES; do
    case "$fam" in errors|policy|int_units|mma_tiles) continue ;; esac  # host-only or no kernels
    # One CPU thread each and lower priority: the e2e check runs meanwhile.
    HLC_TEST_THREADS=1 nice -n 10 timeout "$t_san" "$SAN" --tool memcheck --print-limit 20 "$TEST_BIN" "$fam" \
      >"$OUT/memcheck-$fam.log" 2>&1 &
    san_pids="$san_pids $!"
  done
else
  say "memcheck: SKIPPED: $([ "$have_gpu" = 1 ] && echo 'compute-sanitizer not found, nothing built, T_SAN=0 or no time left' || echo 'no GPU')"
fi

# ---- 6. e2e check: CUDA vs CPU logits on real shapes
if [ "$node_ready" = 1 ] && [ "$built" = 1 ]; then
  if have_time 40; then
    timeout "$(budget "$T_E2E")" "$NODE" scripts/gpu-e2e.js check "$MODELS" >"$OUT/e2e-check.log" 2>&1
    rc=$?
    if [ "$have_gpu" != 1 ]; then say "e2e check: $(head -1 "$OUT/e2e-check.log")"
    elif [ $rc -eq 0 ]; then say "e2e check: ok ($(grep -c '| ok |' "$OUT/e2e-check.log") rows)"
    elif [ $rc -eq 124 ] && ! grep -q 'FAIL' "$OUT/e2e-check.log"; then
      say "e2e check: INCOMPLETE (time-boxed after $(grep -c '| ok |' "$OUT/e2e-check.log") ok rows, no failures)"
    else say "e2e check: FAILED (rc $rc; $(grep -c 'FAIL' "$OUT/e2e-check.log") failing rows, see e2e-check.log)"; status=1; fi
  else
    say "e2e check: SKIPPED: time budget spent"
  fi
else
  say "e2e check: SKIPPED: $([ "$node_ready" = 1 ] && echo 'nothing built' || echo 'no Node.js setup')"
fi

# ---- 6b. decode as CUDA graphs vs eager (the switch stays off by default until this passes)
if [ "$node_ready" = 1 ] && [ "$built" = 1 ] && [ "$have_gpu" = 1 ]; then
  if have_time 30; then
    timeout "$(budget "$T_GRAPH")" "$NODE" scripts/gpu-e2e.js graph "$MODELS" >"$OUT/e2e-graph.log" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then say "e2e graph: ok ($(grep -c '| ok |' "$OUT/e2e-graph.log") rows; launches/step and tok/s in e2e-graph.log)"
    else say "e2e graph: FAILED (rc $rc; $(grep -c 'FAIL' "$OUT/e2e-graph.log") failing rows, see e2e-graph.log)"; status=1; fi
  else
    say "e2e graph: SKIPPED: time budget spent"
  fi
fi

# ---- 5b. memcheck results
if [ -n "$san_pids" ]; then
  # shellcheck disable=SC2086
  wait $san_pids 2>/dev/null
  san_fail=0; san_line=""
  for fam in $FAMILIES; do
    [ -f "$OUT/memcheck-$fam.log" ] || continue
    errs="$(grep -c '^========= Invalid\|^========= Program hit\|^========= Error' "$OUT/memcheck-$fam.log")"
    cases="$(grep -c '^PASS\|^FAIL' "$OUT/memcheck-$fam.log")"
    done_="$(grep -q 'ERROR SUMMARY' "$OUT/memcheck-$fam.log" && echo all || echo 'time-boxed')"
    san_line="$san_line $fam:$cases($done_${errs:+, $errs errors})"
    [ "$errs" != 0 ] && san_fail=1
  done
  if [ "$san_fail" = 0 ]; then say "memcheck: ok (cases checked per family:$san_line)"
  else say "memcheck: FAILED (error reports:$san_line; see memcheck-*.log)"; status=1; fi
fi

# ---- 7. kernel benchmark
if [ "$built" = 1 ] && [ "$have_gpu" = 1 ] && have_time 30; then
  timeout "$(budget "$T_BENCH")" "$BUILD_DIR/hybridlm_cuda_bench" >"$OUT/bench.log" 2>&1
  rc=$?
  say "bench: $([ $rc -eq 0 ] && echo ok || echo "time-boxed or failed (rc $rc)") ($(grep -c ' us ' "$OUT/bench.log") cases)"
  # Prefill GEMMs of one h-1b layer at 512 tokens per weight format: TFLOP/s (TOP/s) vs the tensor peaks.
  grep 'h-1b layer' "$OUT/bench.log" | sed -E 's/ +/ /g; s/^/  /' >>"$SUMMARY"
else
  say "bench: SKIPPED: $([ "$have_gpu" = 1 ] && echo 'nothing built or no time left' || echo 'no GPU')"
fi

# ---- 8. e2e benchmark (DRAM bandwidth: the theoretical figure the test binary printed)
if [ "$node_ready" = 1 ] && [ "$built" = 1 ] && [ "$have_gpu" = 1 ] && have_time 40; then
  bw="$(grep -o '[0-9.]* GB/s theoretical' "$OUT/test.log" 2>/dev/null | head -1 | awk '{print $1}')"
  timeout "$(budget "$T_E2E_BENCH")" "$NODE" scripts/gpu-e2e.js bench "$MODELS" --bw="${bw:-0}" >"$OUT/e2e-bench.log" 2>&1
  say "e2e bench: $([ $? -eq 0 ] && echo ok || echo 'time-boxed or failed') ($(grep -c '^| h-\|^| moe' "$OUT/e2e-bench.log") rows)"
elif [ "$have_gpu" = 1 ]; then
  say "e2e bench: SKIPPED: no Node.js setup, nothing built or no time left"
fi
[ -n "$prep_pid" ] && kill "$prep_pid" 2>/dev/null

# ---- 9. jest GPU suites (golden fixtures on device 'cuda')
if [ "$node_ready" = 1 ] && [ -d node_modules/jest ]; then
  if [ "$have_gpu" = 1 ] && ! have_time 30; then
    say "jest gpu: SKIPPED: time budget spent"
  else
    HYBRIDLM_GPU_SKIP_KERNEL_BINARY=1 timeout "$(budget "$T_NODE")" "$NODE" scripts/test-gpu.js >"$OUT/node.log" 2>&1
    rc=$?
    totals="$(grep -E '^Tests:' "$OUT/node.log" | tail -1)"
    [ -z "$totals" ] && totals="$(tail -1 "$OUT/node.log")"
    if [ $rc -eq 0 ]; then say "jest gpu: ok ($totals)"
    else say "jest gpu: FAILED (rc $rc: $totals)"; status=1; fi
  fi
else
  say "jest gpu: SKIPPED: $([ "$node_ready" = 1 ] && echo 'jest not in node_modules (scripts/pack-gpu.sh --with-jest)' || echo 'no Node.js setup')"
fi

# ---- report
{
  echo "# hybridlm gpu-check ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(elapsed) s)"
  echo; echo '```'; cat "$SUMMARY"; echo '```'
  echo; echo "## environment"; echo '```'; head -40 "$OUT/env.txt"; echo '```'
  if [ -f "$OUT/test.log" ]; then
    echo; echo "## kernel tests (failures and totals)"; echo '```'
    head -1 "$OUT/test.log"; grep -E '^(FAIL|TOTAL|SKIPPED|[0-9]+ passed)|launches per step' "$OUT/test.log" | head -60; echo '```'
  fi
  for f in e2e-check e2e-graph e2e-bench e2e-prepare; do
    [ -f "$OUT/$f.log" ] && { echo; echo "## $f"; cat "$OUT/$f.log"; }
  done
  grep -q '^moe_forward tiles' "$OUT/bench.log" 2>/dev/null && {
    echo; echo "## MoE decode: grouped GEMV (moe_forward) vs grouped GEMM tiles (moe_forward tiles)"; echo '```'
    grep -E '^moe_forward.* T=[128] ' "$OUT/bench.log"; echo '```'
  }
  [ -f "$OUT/bench.log" ] && { echo; echo "## kernel bench"; echo '```'; cat "$OUT/bench.log"; echo '```'; }
  ls "$OUT"/memcheck-*.log >/dev/null 2>&1 && {
    echo; echo "## memcheck (error lines)"; echo '```'
    grep -h -E '^========= (Invalid|Program hit|Error|ERROR SUMMARY)' "$OUT"/memcheck-*.log | head -40; echo '```'
  }
  [ -f "$OUT/node.log" ] && { echo; echo "## jest gpu (tail)"; echo '```'; tail -40 "$OUT/node.log"; echo '```'; }
} >"$OUT/report.md"

echo
echo "==== summary ($OUT, $(elapsed) s)"
cat "$SUMMARY"
if [ "$have_gpu" != 1 ]; then
  echo "[gpu-check] dry run finished: no GPU here, skipped steps are listed above."
  exit 0
fi
exit $status
