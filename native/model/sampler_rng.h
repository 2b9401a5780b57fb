// native/model/sampler_rng.h: the sampler's seeded generator, the same
// algorithm as lib/generate/rng.ts (splitmix32 seeding a xoshiro128**, 32-bit
// integer math) so a seed draws the same numbers in C++ and in TypeScript.
#pragma once
#include <cstdint>

namespace hl {

class SamplerRng {
 public:
  // `seed` is the JS seed taken mod 2^32.
  explicit SamplerRng(uint32_t seed) {
    uint32_t x = seed;
    auto next = [&x]() {
      x += 0x9e3779b9u;
      uint32_t z = x;
      z = (z ^ (z >> 16)) * 0x85ebca6bu;
      z = (z ^ (z >> 13)) * 0xc2b2ae35u;
      return z ^ (z >> 16);
    };
    s_[0] = next();
    s_[1] = next();
    s_[2] = next();
    s_[3] = next();
  }

  // A uniform double in [0, 1).
  double next() {
    const uint32_t result = rotl(s_[1] * 5u, 7) * 9u;
    const uint32_t t = s_[1] << 9;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 11);
    return (double)result / 4294967296.0;
  }

 private:
  static uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }
  uint32_t s_[4];
};

}  // namespace hl
