// cuda/gemm_mma.cuh: the tensor-core prefill GEMM tiles (gemm_mma.cu) and
// the path choice per weight format (matmul.cu, policy: tc_policy.h).
#pragma once
#include "matmul.cuh"
#include "tc_policy.h"

namespace hlc {

// The GEMM path of a prefill matmul on weights of type dt on the current
// device: tc_policy.h's default, or hlc_use_tensor_cores / HLC_TENSOR_CORES.
GemmPath gemm_path_for(int32_t dt);
// Can the int8 tile read these weights (2-byte aligned blocks)?
bool gemm_i8_weights_ok(const GemmArgs& a);
// The int8 (kInt8) or f16/bf16 (kHalf2) tile GEMM of a; same contract as gemm_launch.
int gemm_mma_launch(const GemmArgs& a, GemmPath path);

}  // namespace hlc
