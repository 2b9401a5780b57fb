// cuda/embed.cu: out[t, :] = scale * W[ids[t], :]   W [vocab, dim] any weight type; out [n_tokens, dim]
// Twin of native/cpu/embed.cpp. One block per token, threads over the row;
// each element decoded exactly to f32 (quant.cuh) then one f32 multiply.
// ids are device int32 and must be < vocab (validated by the caller, like the
// CPU twin); an id outside [0, vocab) writes a zero row instead of reading
// out of bounds.
#include "quant.cuh"

namespace hlc {

// ---- device code

template <int DT>
__global__ void embed_kernel(float* out,          // [n_tokens, dim]
                             const uint8_t* w,    // [vocab] rows of row_bytes
                             int64_t row_bytes, int64_t vocab, int64_t dim,
                             const int32_t* ids,  // [n_tokens]
                             float scale) {
  const int64_t t = blockIdx.x;
  const int32_t id = ids[t];
  float* o = out + t * dim;
  if (id < 0 || id >= vocab) {
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) o[i] = 0.0f;
    return;
  }
  const uint8_t* row = w + (int64_t)id * row_bytes;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) o[i] = Dec<DT>::load1(row, i) * scale;
}

}  // namespace hlc

// ---- launchers

extern "C" HLC_EXPORT int hlc_embed(float* out, const hl::WeightView* w, const int32_t* ids, int64_t n_tokens, float scale) {
  using namespace hlc;
  HLC_REQUIRE(w, "[embed] weight view is null");
  HLC_REQUIRE(n_tokens >= 0 && n_tokens <= 0x7fffffffLL, "[embed] bad n_tokens");
  if (n_tokens == 0) return HLC_OK;
  HLC_REQUIRE(out && ids && w->data, "[embed] null pointer");
  HLC_REQUIRE(w->cols > 0 && w->rows > 0 && w->cols % wtype_block((int32_t)w->dtype) == 0,
              "[embed] weight cols must be a positive multiple of the block size");
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  bool ok = dispatch_wtype((int32_t)w->dtype, [&](auto tag) {
    constexpr int DT = decltype(tag)::value;
    HLC_LAUNCH((unsigned)n_tokens, 256, 0, (out, w->data, w->row_bytes, w->rows, w->cols, ids, scale),
                                            embed_kernel<DT>);
  });
  if (!ok) return set_error(HLC_UNSUPPORTED, "[embed] weight type " + std::to_string((int)w->dtype) + " is not supported");
  HLC_LAUNCHED("embed_kernel");
  return HLC_OK;
}
