// cuda/data.cu: data movement between ops (the Backend's copy_columns,
// gather_rows, add_scaled, kv_write; twins of native/cpu/cpu_backend.cpp).
//   copy_columns: dst[r, 0:width] = src[r, col:col+width]    src rows src_stride floats apart
//   gather_rows:  dst[i, :] = src[rows[i], :]                 rows: host int64 array (copied)
//   add_scaled:   y[i] += alpha * x[i]
//   kv_write:     token t of head h of src [n, n_kv_heads, head_dim] goes to position
//                 p = pos0 + t: pages[p / page_size] + (h * page_size + p % page_size) * head_dim
//                 (pages: host array of n_pages device pointers; only the touched ones are copied);
//                 hlc_kv_write_typed stores f16 elements (round to nearest even) when dtype = 1
// All are grid-stride elementwise kernels over 64-bit indices (coalesced over
// the innermost dim). Numerics: copies are exact; add_scaled is one f32 FMA-free
// multiply-add per element, like the CPU twin.
#include <vector>

#include "common.cuh"

namespace hlc {

// ---- device code

__global__ void copy_columns_kernel(float* dst, const float* src, int64_t rows, int64_t stride, int64_t col,
                                    int64_t width) {
  const int64_t n = rows * width, step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) {
    const int64_t r = i / width, c = i - r * width;
    dst[i] = src[r * stride + col + c];
  }
}

__global__ void gather_rows_kernel(float* dst, const float* src, const int64_t* rows, int64_t n, int64_t width) {
  const int64_t total = n * width, step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += step) {
    const int64_t r = i / width, c = i - r * width;
    dst[i] = src[rows[r] * width + c];
  }
}

__global__ void add_scaled_kernel(float* y, const float* x, float alpha, int64_t n) {
  const int64_t step = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) y[i] = y[i] + __fmul_rn(alpha, x[i]);
}

// The position comes from device memory (the op's argument image), so a
// captured decode step replays at every position.
template <bool F16>
__global__ void kv_write_kernel(const int64_t* pos,    // [1]: pos0
                                float* const* pages,  // [pages touched], first = page of pos0
                                int64_t page_size, const float* src, int64_t n, int64_t n_kv, int64_t head_dim) {
  const int64_t total = n * n_kv * head_dim, step = (int64_t)gridDim.x * blockDim.x;
  const int64_t pos0 = *pos, first = pos0 / page_size;
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += step) {
    const int64_t d = i % head_dim, h = (i / head_dim) % n_kv, t = i / (head_dim * n_kv);
    const int64_t p = pos0 + t;
    float* page = pages[p / page_size - first];
    const int64_t at = (h * page_size + p % page_size) * head_dim + d;
    if (F16) reinterpret_cast<__half*>(page)[at] = __float2half_rn(src[i]);
    else page[at] = src[i];
  }
}

// ---- launchers

static unsigned grid_for(int64_t n) {
  const int64_t b = ceil_div(n, 256);
  return (unsigned)(b < 65535LL * 16 ? b : 65535LL * 16);
}

}  // namespace hlc

using namespace hlc;

extern "C" HLC_EXPORT int hlc_copy_columns(float* dst, const float* src, int64_t rows, int64_t src_stride, int64_t col,
                                           int64_t width) {
  HLC_REQUIRE(rows >= 0 && width >= 0 && col >= 0 && src_stride >= col + width, "[copy_columns] bad shape");
  if (rows == 0 || width == 0) return HLC_OK;
  HLC_REQUIRE(dst && src, "[copy_columns] null pointer");
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  HLC_LAUNCH(grid_for(rows * width), 256, 0, (dst, src, rows, src_stride, col, width), copy_columns_kernel);
  HLC_LAUNCHED("copy_columns_kernel");
  return HLC_OK;
}

extern "C" HLC_EXPORT int hlc_gather_rows(float* dst, const float* src, const int64_t* rows, int64_t n, int64_t width) {
  HLC_REQUIRE(n >= 0 && width >= 0, "[gather_rows] bad shape");
  if (n == 0 || width == 0) return HLC_OK;
  HLC_REQUIRE(dst && src && rows, "[gather_rows] null pointer");
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  Carve cv;
  const int i_rows = cv.arg(rows, sizeof(int64_t) * n);
  HLC_TRY(cv.commit());
  HLC_LAUNCH(grid_for(n * width), 256, 0, (dst, src, cv.ptr<int64_t>(i_rows), n, width), gather_rows_kernel);
  HLC_LAUNCHED("gather_rows_kernel");
  return HLC_OK;
}

extern "C" HLC_EXPORT int hlc_add_scaled(float* y, const float* x, float alpha, int64_t n) {
  HLC_REQUIRE(n >= 0, "[add_scaled] negative n");
  if (n == 0) return HLC_OK;
  HLC_REQUIRE(y && x, "[add_scaled] null pointer");
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  HLC_LAUNCH(grid_for(n), 256, 0, (y, x, alpha, n), add_scaled_kernel);
  HLC_LAUNCHED("add_scaled_kernel");
  return HLC_OK;
}

extern "C" HLC_EXPORT int hlc_kv_write_typed(float* const* pages_all, int64_t n_pages_all, int64_t page_size,
                                             const float* src, int64_t pos0, int64_t n, int64_t n_kv_heads,
                                             int64_t head_dim, int32_t dtype) {
  if (dtype != 0 && dtype != 1)
    return set_error(HLC_UNSUPPORTED, "[kv_write] KV element type " + std::to_string(dtype) + " (only F32 = 0 and F16 = 1)");
  HLC_REQUIRE(page_size > 0 && pos0 >= 0 && n >= 0 && n_kv_heads > 0 && head_dim > 0, "[kv_write] bad shape");
  if (n == 0) return HLC_OK;
  HLC_REQUIRE(pages_all && src, "[kv_write] null pointer");
  const int64_t first = pos0 / page_size, last = (pos0 + n - 1) / page_size, n_pages = last - first + 1;
  HLC_REQUIRE(last < n_pages_all, "[kv_write] positions up to " + std::to_string(pos0 + n - 1) + " need page " +
                                      std::to_string(last) + " but only " + std::to_string(n_pages_all) +
                                      " pages were given");
  float* const* pages = pages_all;
  for (int64_t p = first; p <= last; p++) HLC_REQUIRE(pages[p], "[kv_write] page " + std::to_string(p) + " is null");
  std::lock_guard<std::recursive_mutex> lock(op_mutex());
  HLC_TRY(ensure_device());
  Carve cv;
  const int i_pos = cv.arg(&pos0, sizeof pos0);
  const int i_pages = cv.arg(pages + first, sizeof(float*) * n_pages);
  HLC_TRY(cv.commit());
  const int64_t* d_pos = cv.ptr<int64_t>(i_pos);
  float* const* d_pages = cv.ptr<float* const>(i_pages);
  const unsigned grid = grid_for(n * n_kv_heads * head_dim);
  if (dtype == 1)
    HLC_LAUNCH(grid, 256, 0, (d_pos, d_pages, page_size, src, n, n_kv_heads, head_dim), kv_write_kernel<true>);
  else
    HLC_LAUNCH(grid, 256, 0, (d_pos, d_pages, page_size, src, n, n_kv_heads, head_dim), kv_write_kernel<false>);
  HLC_LAUNCHED("kv_write_kernel");
  return HLC_OK;
}

extern "C" HLC_EXPORT int hlc_kv_write(float* const* pages_all, int64_t n_pages_all, int64_t page_size,
                                       const float* src, int64_t pos0, int64_t n, int64_t n_kv_heads,
                                       int64_t head_dim) {
  return hlc_kv_write_typed(pages_all, n_pages_all, page_size, src, pos0, n, n_kv_heads, head_dim, 0);
}
