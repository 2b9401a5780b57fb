// cuda/test/mma_emu.h: host emulation of one warp's mma.sync, written from the
// element-wise form of the PTX ISA's fragment layouts ("the row and column of
// a matrix fragment": element i of a lane's fragment, groupID g = lane >> 2,
// threadID_in_group t = lane % 4), independently of cuda/mma_frag.h (the
// register/word form the kernels use), so that the host family "mma_tiles"
// can check one against the other. Registers are given per lane: a[lane][r].
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace mma_emu {

inline int s8_of(uint32_t reg, int byte) { return (int)(int8_t)(reg >> (8 * byte)); }
inline float half_of(uint32_t reg, int h, bool bf16) {
  const uint16_t b = (uint16_t)(reg >> (16 * h));
  return bf16 ? hl::bf16_to_f32(b) : hl::f16_to_f32(b);
}

// d += A B with A [16][K] from the lanes' A registers and B [K][8] from the B
// registers, each element placed by the layout functions; C/D: element i of a
// lane is (g + 8 (i >= 2), 2 t + (i & 1)) for every 16 x 8 shape used here.
template <int K, int NA, int NB, typename T, typename FA, typename FB, typename D>
void run16x8(const uint32_t (*a)[NA], const uint32_t (*b)[NB], D (*d)[4], FA a_elem, FB b_elem) {
  T A[16][K] = {}, B[K][8] = {};
  for (int lane = 0; lane < 32; lane++) {
    a_elem(lane, a[lane], A);
    b_elem(lane, b[lane], B);
  }
  for (int lane = 0; lane < 32; lane++)
    for (int i = 0; i < 4; i++) {
      const int row = (lane >> 2) + (i >= 2 ? 8 : 0), col = 2 * (lane & 3) + (i & 1);
      double s = 0;
      for (int k = 0; k < K; k++) s += (double)A[row][k] * (double)B[k][col];
      d[lane][i] = (D)((double)d[lane][i] + s);
    }
}

// m16n8k32 .s8: A a0..a15 (4 per register), row g for i < 4 or 8 <= i < 12, else
// g + 8; col 4 t + (i & 3) (+16 for i >= 8). B b0..b7: row 4 t + (i & 3) (+16 for
// i >= 4), col g.
inline void m16n8k32_s8(const uint32_t (*a)[4], const uint32_t (*b)[2], int32_t (*d)[4]) {
  run16x8<32, 4, 2, int>(
      a, b, d,
      [](int lane, const uint32_t* r, int (*A)[32]) {
        const int g = lane >> 2, t = lane & 3;
        for (int i = 0; i < 16; i++) {
          const int row = (i < 4 || (i >= 8 && i < 12)) ? g : g + 8;
          A[row][4 * t + (i & 3) + (i >= 8 ? 16 : 0)] = s8_of(r[i / 4], i % 4);
        }
      },
      [](int lane, const uint32_t* r, int (*B)[8]) {
        const int g = lane >> 2, t = lane & 3;
        for (int i = 0; i < 8; i++) B[4 * t + (i & 3) + (i >= 4 ? 16 : 0)][g] = s8_of(r[i / 4], i % 4);
      });
}

// m16n8k16 .s8: A a0..a7, row g for i < 4 else g + 8, col 4 t + (i & 3); B b0..b3: row 4 t + i, col g.
inline void m16n8k16_s8(const uint32_t (*a)[2], const uint32_t (*b)[1], int32_t (*d)[4]) {
  run16x8<16, 2, 1, int>(
      a, b, d,
      [](int lane, const uint32_t* r, int (*A)[16]) {
        const int g = lane >> 2, t = lane & 3;
        for (int i = 0; i < 8; i++) A[i < 4 ? g : g + 8][4 * t + (i & 3)] = s8_of(r[i / 4], i % 4);
      },
      [](int lane, const uint32_t* r, int (*B)[8]) {
        const int g = lane >> 2, t = lane & 3;
        for (int i = 0; i < 4; i++) B[4 * t + i][g] = s8_of(r[0], i);
      });
}

// m8n8k16 .s8 (sm_75): A a0..a3 row g, col 4 t + i; B b0..b3 row 4 t + i, col g;
// C c0, c1 row g, col 2 t + i.
inline void m8n8k16_s8(const uint32_t* a, const uint32_t* b, int32_t (*d)[2]) {
  int A[8][16] = {}, B[16][8] = {};
  for (int lane = 0; lane < 32; lane++) {
    const int g = lane >> 2, t = lane & 3;
    for (int i = 0; i < 4; i++) {
      A[g][4 * t + i] = s8_of(a[lane], i);
      B[4 * t + i][g] = s8_of(b[lane], i);
    }
  }
  for (int lane = 0; lane < 32; lane++)
    for (int i = 0; i < 2; i++) {
      const int row = lane >> 2, col = 2 * (lane & 3) + i;
      for (int k = 0; k < 16; k++) d[lane][i] += A[row][k] * B[k][col];
    }
}

// m16n8k16 .f16 / .bf16: A a0..a7 (2 per register), row g for i < 2 or 4 <= i < 6,
// else g + 8; col 2 t + (i & 1) (+8 for i >= 4). B b0..b3: row 2 t + (i & 1)
// (+8 for i >= 2), col g. f32 accumulate.
inline void m16n8k16_half(const uint32_t (*a)[4], const uint32_t (*b)[2], float (*d)[4], bool bf16) {
  auto fa = [bf16](int lane, const uint32_t* r, float (*A)[16]) {
    const int g = lane >> 2, t = lane & 3;
    for (int i = 0; i < 8; i++) {
      const int row = (i < 2 || (i >= 4 && i < 6)) ? g : g + 8;
      A[row][2 * t + (i & 1) + (i >= 4 ? 8 : 0)] = half_of(r[i / 2], i % 2, bf16);
    }
  };
  auto fb = [bf16](int lane, const uint32_t* r, float (*B)[8]) {
    const int g = lane >> 2, t = lane & 3;
    for (int i = 0; i < 4; i++) B[2 * t + (i & 1) + (i >= 2 ? 8 : 0)][g] = half_of(r[i / 2], i % 2, bf16);
  };
  run16x8<16, 4, 2, float>(a, b, d, fa, fb);
}

// m16n8k8 .f16 (sm_75): A a0..a3, row g for a0, a1 else g + 8, col 2 t + (i & 1);
// B b0, b1: row 2 t + i, col g.
inline void m16n8k8_f16(const uint32_t (*a)[2], const uint32_t (*b)[1], float (*d)[4]) {
  run16x8<8, 2, 1, float>(
      a, b, d,
      [](int lane, const uint32_t* r, float (*A)[8]) {
        const int g = lane >> 2, t = lane & 3;
        for (int i = 0; i < 4; i++) A[i < 2 ? g : g + 8][2 * t + (i & 1)] = half_of(r[i / 2], i % 2, false);
      },
      [](int lane, const uint32_t* r, float (*B)[8]) {
        const int g = lane >> 2, t = lane & 3;
        for (int i = 0; i < 2; i++) B[2 * t + i][g] = half_of(r[0], i, false);
      });
}

}  // namespace mma_emu
