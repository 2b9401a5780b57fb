// cuda/tc_policy.h: which GPUs run the 3xTF32 tensor-core paths by default
// (plain C++: the library and the host tests share it; docs/cuda/README.md
// "Tensor-core policy" has the numbers).
// 3xTF32 (a split of each f32 operand into big + small TF32 parts, three
// mma products) costs 3 tensor ops per f32 FMA, so it wins only where TF32
// tensor throughput is well above 3x the f32 SIMT rate: the datacenter parts
// (A100 sm_80: 156 vs 19.5 TFLOP/s; H100/H200 sm_90: ~495 vs ~67; B200
// sm_100). On GeForce/RTX-workstation/A10/L4/L40 Ampere and Ada (sm_86,
// sm_89) and on Jetson (sm_87) TF32 tensor throughput is 1-2x the f32 rate,
// so 3xTF32 would run at a third to two thirds of the SIMT path: off by
// default there (and on consumer Blackwell, sm_12x).
#pragma once

namespace hlc {

inline bool tensor_cores_by_default(int major, int minor) {
  if (major == 8) return minor == 0;
  return major == 9 || major == 10;
}

}  // namespace hlc
