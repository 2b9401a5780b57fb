// native/cuda/cuda_api.h: the function table the addon resolves from
// libhybridlm_cuda (cuda/hybridlm_cuda.h) with dlsym. Required symbols must
// all resolve or the library is refused; optional ones (added after ABI 1)
// may be null in an older library and callers check before use.
#pragma once
#include "../../cuda/hybridlm_cuda.h"

// X-macros: X(name) for every symbol.
#define HLC_REQUIRED_FNS(X)                                                                                    \
  X(hlc_abi_version) X(hlc_last_error) X(hlc_device_count) X(hlc_device_info) X(hlc_set_device) X(hlc_malloc)   \
  X(hlc_free) X(hlc_memcpy_h2d) X(hlc_memcpy_d2h) X(hlc_memcpy_d2d) X(hlc_memset) X(hlc_synchronize)            \
  X(hlc_rmsnorm) X(hlc_gated_rmsnorm) X(hlc_conv1d_causal_prefill) X(hlc_conv1d_causal_step) X(hlc_ssm_scan)   \
  X(hlc_ssm_step) X(hlc_attention) X(hlc_matmul) X(hlc_embed) X(hlc_swiglu) X(hlc_moe_route) X(hlc_moe_forward) \
  X(hlc_copy_columns) X(hlc_gather_rows) X(hlc_add_scaled) X(hlc_kv_write) X(hlc_supports_dtype)
#define HLC_OPTIONAL_FNS(X)                                                                                   \
  X(hlc_argmax) X(hlc_device_lost) X(hlc_counters) X(hlc_tensor_cores_active) X(hlc_attention_kv)             \
  X(hlc_kv_write_typed) X(hlc_gated_rmsnorm_strided) X(hlc_conv1d_causal_prefill_strided)                     \
  X(hlc_conv1d_causal_step_strided) X(hlc_ssm_scan_strided) X(hlc_ssm_step_strided) X(hlc_matmul_multi)         \
  X(hlc_add_rmsnorm) X(hlc_argmax_scaled) X(hlc_graph_begin) X(hlc_graph_end) X(hlc_graph_abort)               \
  X(hlc_graph_drop) X(hlc_graph_counters)

namespace hl {

struct CudaApi {
#define HLC_FN(name) decltype(&::name) name = nullptr;
  HLC_REQUIRED_FNS(HLC_FN)
  HLC_OPTIONAL_FNS(HLC_FN)
#undef HLC_FN
};

}  // namespace hl
