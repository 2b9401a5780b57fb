// cuda/graph_plan.h: the sizing rules that keep a decode step's captured CUDA
// graph valid from one step to the next (docs/cuda/README.md, Decode as a
// CUDA graph). Plain host code: the library (graph.cu, attention.cu), the host
// mock (test/mock_hlc.cpp) and the test binary's host family `graph_plan`
// share it.
#pragma once
#include <stdint.h>

namespace hlc {

// Entries reserved for a table of n entries (page tables) in a graph step's
// argument image: a power of two >= max(n, 16). The image layout, and with it
// every pointer into it that a graph freezes, changes only when the table
// passes a power of two, not at every new KV page.
inline int64_t graph_table_capacity(int64_t n) {
  int64_t c = 16;
  while (c < n) c *= 2;
  return c;
}

// The room only grows: a batch whose tables shrink (a long sequence finished,
// short ones joined) keeps the layout of the graphs captured with the larger
// room instead of re-capturing them. One per process (graph steps are serialised).
struct GraphTableRoom {
  int64_t room = 16;
  int64_t operator()(int64_t n) {
    const int64_t c = graph_table_capacity(n);
    if (c > room) room = c;
    return room;
  }
};

// Split-KV in a graph step: every attention work item is split into the same
// number of parts whatever the sequences' lengths, so the grid (items x parts)
// and the combine grid are fixed per batch size while the key ranges, in the
// argument image, follow the lengths. Parts: enough items to fill
// want_blocks (2 x SMs), at most kMaxGraphParts.
constexpr int64_t kMaxGraphParts = 32;
inline int64_t graph_split_parts(int64_t n_items, int64_t want_blocks) {
  if (n_items <= 0) return 1;
  int64_t p = (want_blocks + n_items - 1) / n_items;
  return p < 1 ? 1 : (p > kMaxGraphParts ? kMaxGraphParts : p);
}
// Keys [k0, k1) of part p of `parts` over keys [0, kend): contiguous, in
// order, covering [0, kend) once; a part may be empty (k0 == k1) when kend <
// parts; parts hold multiples of `tile` keys except the last non-empty one.
inline void graph_part_range(int64_t kend, int64_t parts, int64_t p, int64_t tile, int64_t* k0, int64_t* k1) {
  const int64_t tiles = (kend + tile - 1) / tile;
  const int64_t t0 = tiles * p / parts, t1 = tiles * (p + 1) / parts;
  *k0 = t0 * tile < kend ? t0 * tile : kend;
  *k1 = t1 * tile < kend ? t1 * tile : kend;
}

}  // namespace hlc
