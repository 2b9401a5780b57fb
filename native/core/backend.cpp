// native/core/backend.cpp: op names and the backend registry. Each backend
// folder (native/cpu, native/cuda) registers its factory here; nothing in
// core knows a concrete backend.
#include "backend.h"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "backend_registry.h"

namespace hl {

void Backend::fill_zero(void* dst, size_t bytes) {
  static const std::vector<uint8_t> zeros(1 << 20, 0);
  for (size_t off = 0; off < bytes; off += zeros.size())
    upload(static_cast<uint8_t*>(dst) + off, zeros.data(), std::min(zeros.size(), bytes - off));
}

void Backend::add_rmsnorm(float* h, float* u, const float* branch, float alpha, const float* w, int64_t n_tokens,
                          int64_t dim, float eps) {
  add_scaled(h, branch, alpha, n_tokens * dim);
  rmsnorm(u, h, w, n_tokens, dim, eps);
}

void Backend::matmul_multi(float* const* ys, const float* x, int64_t n_tokens, const WeightView* ws, int n_mats) {
  for (int i = 0; i < n_mats; i++) matmul(ys[i], x, n_tokens, ws[i]);
}

void Backend::matmul_swiglu(float* out, float* up_out, const float* x, int64_t n_tokens, const WeightView& gate,
                            const WeightView& up) {
  matmul(out, x, n_tokens, gate);
  matmul(up_out, x, n_tokens, up);
  swiglu(out, out, up_out, n_tokens, gate.rows);
}

const char* op_name(Op op) {
  switch (op) {
    case Op::RmsNorm: return "rmsnorm";
    case Op::GatedRmsNorm: return "gated_rmsnorm";
    case Op::Conv1dPrefill: return "conv1d_causal_prefill";
    case Op::Conv1dStep: return "conv1d_causal_step";
    case Op::SsmScan: return "ssm_scan";
    case Op::SsmStep: return "ssm_step";
    case Op::Attention: return "attention";
    case Op::Matmul: return "matmul";
    case Op::Embed: return "embed";
    case Op::Swiglu: return "swiglu";
    case Op::MoeRoute: return "moe_route";
    case Op::MoeForward: return "moe_forward";
  }
  return "unknown";
}

namespace {

struct Entry {
  const char* name = nullptr;
  BackendFactory make = nullptr;
  BackendProbe probe = nullptr;
};

// Indexed by Device; filled by static registrations before any lookup
// (function-local static: no cross-file initialisation order issue).
std::array<Entry, 2>& registry() {
  static std::array<Entry, 2> entries;
  return entries;
}

const char* device_name(Device d) { return d == Device::CUDA ? "cuda" : "cpu"; }

}  // namespace

BackendRegistration::BackendRegistration(Device device, const char* name, BackendFactory make, BackendProbe probe) {
  registry()[static_cast<size_t>(device)] = Entry{name, make, probe};
}

BackendAvailability backend_availability(Device device) {
  const Entry& e = registry()[static_cast<size_t>(device)];
  if (!e.make) return {false, std::string("no ") + device_name(device) + " backend in this build"};
  return e.probe();
}

std::unique_ptr<Backend> make_backend(Device device, const BackendOptions& options) {
  const Entry& e = registry()[static_cast<size_t>(device)];
  HL_CHECK(e.make != nullptr, Device, std::string("no ") + device_name(device) + " backend in this build");
  return e.make(options);
}

}  // namespace hl
