// native/cuda/cuda_device_backend.h: CudaBackend, the Backend op table
// (native/core/backend.h) over the libhybridlm_cuda function table.
// - Memory: activations, states and KV pages come from a DeviceArena (no
//   cudaMalloc/cudaFree per page); weights go through a WeightMirror (one
//   device copy per host byte range however many views share it).
// - Errors: every status becomes a typed hl::Error naming the op. A sticky
//   CUDA error (HLC_DEVICE_LOST: a kernel fault kills the context) marks the
//   backend lost: every later call throws DeviceError without touching CUDA.
// - HYBRIDLM_CUDA_SYNC=1: synchronise and check after every op, so a kernel
//   fault is reported by the op that caused it (debugging; slow).
// - HYBRIDLM_CUDA_STATS=<file>: after every download (the end of a step),
//   append one JSON line {ops, launches, copies, graph_captures,
//   graph_replays, graph_refused} (cumulative) to <file>; the GPU benchmark
//   diffs them into launches per token.
// - HYBRIDLM_CUDA_GRAPH=1: decode steps run as CUDA graphs, one per batch
//   size (begin_step/end_step; docs/cuda/README.md, Decode as a CUDA graph).
#pragma once
#include <memory>

#include "../core/backend.h"
#include "cuda_api.h"

namespace hl {

// Throws DeviceError when the device cannot be selected.
std::unique_ptr<Backend> make_cuda_device_backend(const CudaApi& api, int device);

}  // namespace hl
