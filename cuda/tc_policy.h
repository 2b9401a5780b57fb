// cuda/tc_policy.h: which tensor-core path runs by default per GPU and
// weight format (plain C++: the library and the host tests share it;
// docs/cuda/README.md "Tensor-core policy" has the table and the numbers).
//
// 3xTF32 (F32 weights, the SSD chunk GEMMs, attention prefill: each f32
// operand split into big + small TF32 parts, three mma products) costs 3
// tensor ops per f32 FMA, so it wins only where TF32 tensor throughput is well
// above 3x the f32 SIMT rate: the datacenter parts (A100 sm_80: 156 vs 19.5
// TFLOP/s; H100/H200 sm_90: ~495 vs ~67; B200 sm_100). On GeForce/RTX-
// workstation/A10/L4/L40 Ampere and Ada (sm_86, sm_89), Jetson (sm_87) and
// consumer Blackwell (sm_12x) TF32 runs at 1-2x the f32 rate: off there.
//
// The prefill GEMM on quantized weights (Q8_0/Q4_0/Q4_K/Q5_K/Q6_K) runs int8
// mma (m16n8k32; four m8n8k16 on sm_75) on every arch from sm_75: int8 tensor
// throughput is >= 8x the f32 rate on all of them. F16 weights run two f16
// mma products (m16n8k16; two m16n8k8 on sm_75) from sm_75, BF16 weights two
// bf16 products from sm_80 (no bf16 mma on sm_75): even where f32-accumulate
// f16 tensor throughput is only 2x the f32 peak (GeForce), the SIMT tile is
// shared-memory bound near a quarter of that peak, so two products still win.
#pragma once
#include <string.h>

namespace hlc {

// F32 weights / SSD / attention prefill: 3xTF32 by default on this arch?
inline bool tensor_cores_by_default(int major, int minor) {
  if (major == 8) return minor == 0;
  return major == 9 || major == 10;
}

// The GEMM tile of a prefill matmul (and the MoE grouped GEMM).
enum class GemmPath : int {
  kSimt = 0,    // f32 SIMT tile (every arch; the fallback)
  kTf32x3 = 1,  // 3xTF32 mma.sync (F32 weights, sm_80+)
  kHalf2 = 2,   // F16 / BF16 weights: activations split hi + lo in the weight's type, two mma products
  kInt8 = 3,    // block-quantized weights: int8 codes x int8 activations, s32 per 32-wide unit
};

// Weight type ids as in native/core/dtype.h (GGUF ids).
inline bool gemm_is_int_format(int dt) { return dt == 2 || dt == 8 || dt == 12 || dt == 13 || dt == 14; }

// The tensor-core path a weight format has at all on compute capability
// major.minor (kSimt: none): int8 / f16 mma from sm_75, bf16 / tf32 from sm_80.
inline GemmPath gemm_tensor_path(int major, int minor, int dt) {
  const int cc = major * 10 + minor;
  if (gemm_is_int_format(dt)) return cc >= 75 ? GemmPath::kInt8 : GemmPath::kSimt;
  if (dt == 1) return cc >= 75 ? GemmPath::kHalf2 : GemmPath::kSimt;   // F16
  if (dt == 30) return cc >= 80 ? GemmPath::kHalf2 : GemmPath::kSimt;  // BF16
  if (dt == 0) return cc >= 80 ? GemmPath::kTf32x3 : GemmPath::kSimt;  // F32
  return GemmPath::kSimt;
}

// The sm_75 parts built without tensor cores (TU116 / TU117: GeForce GTX 16xx,
// MX450/550, Quadro/RTX T400-T1200): their mma.sync runs on the FP16 units at a
// fraction of a tensor part's rate, so the policy keeps the SIMT tile there.
inline bool lacks_tensor_cores(int major, int minor, const char* name) {
  if (major != 7 || minor != 5 || !name) return false;
  const char* keys[] = {"GTX 16", " MX", " T400", " T500", " T550", " T600", " T1000", " T1200"};
  for (const char* k : keys)
    if (strstr(name, k)) return true;
  return false;
}

// mode: -1 the policy, 0 SIMT everywhere, 1 every tensor path the arch has.
// tensor_units: false on a part without tensor cores (lacks_tensor_cores).
inline GemmPath gemm_path(int major, int minor, int dt, int mode, bool tensor_units = true) {
  if (mode == 0 || (mode < 0 && !tensor_units)) return GemmPath::kSimt;
  const GemmPath tc = gemm_tensor_path(major, minor, dt);
  if (mode == 1 || tc != GemmPath::kTf32x3) return tc;
  return tensor_cores_by_default(major, minor) ? tc : GemmPath::kSimt;
}

}  // namespace hlc
