// Seeded pseudo-random numbers for the generator: splitmix64 hashing and xoshiro256**.
//
// Everything the generator draws goes through these, never through std::*_distribution
// (whose results differ between standard-library versions), so the same seed gives the same
// bytes everywhere. Each unit of work (a township, an outsider row) seeds its own Rng from a
// hash of (seed, stream, index), so output never depends on thread scheduling.
// Thread-safe: Rng is a value; one per thread.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

namespace fupin::gen {

// The splitmix64 finaliser: a bijective 64-bit mixer.
constexpr uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A hash of several 64-bit values, order-sensitive.
constexpr uint64_t Hash(uint64_t a, uint64_t b) {
  return Mix64(Mix64(a) ^ (b * 0xd6e8feb86659fd93ULL));
}
constexpr uint64_t Hash(uint64_t a, uint64_t b, uint64_t c) { return Hash(Hash(a, b), c); }
constexpr uint64_t Hash(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  return Hash(Hash(a, b, c), d);
}

// A uniform double in [0, 1) from a hash value.
inline double UnitFromHash(uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }

// xoshiro256** (Blackman and Vigna), seeded through splitmix64.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& word : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      word = z ^ (z >> 31);
    }
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform in [lo, hi).
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Uniform integer in [0, n). REQUIRES: n > 0.
  uint32_t Below(uint32_t n) {
    return static_cast<uint32_t>(((Next() >> 32) * static_cast<uint64_t>(n)) >> 32);
  }
  // Uniform integer in [lo, hi] (inclusive). REQUIRES: lo <= hi.
  int Range(int lo, int hi) {
    return lo + static_cast<int>(Below(static_cast<uint32_t>(hi - lo + 1)));
  }
  bool Chance(double p) { return Uniform() < p; }
  // Standard normal (Box–Muller; one value per call).
  double Normal() {
    double u1 = Uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // Log-normal with the given median and log-scale sigma.
  double LogNormal(double median, double sigma) { return median * std::exp(sigma * Normal()); }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// A discrete distribution over indices 0..n-1 with the given (unnormalised) weights.
class Weighted {
 public:
  Weighted() = default;
  explicit Weighted(std::span<const double> weights) {
    double total = 0;
    for (double w : weights) total += w;
    double running = 0;
    cumulative_.reserve(weights.size());
    for (double w : weights) {
      running += w;
      cumulative_.push_back(static_cast<uint64_t>(running / total * 18446744073709549568.0));
    }
    if (!cumulative_.empty()) cumulative_.back() = UINT64_MAX;
  }
  int Pick(Rng& rng) const { return PickFromHash(rng.Next()); }
  int PickFromHash(uint64_t h) const {
    // Linear for short lists (the usual case), binary otherwise.
    if (cumulative_.size() <= 16) {
      int i = 0;
      while (h > cumulative_[i]) ++i;
      return i;
    }
    size_t lo = 0, hi = cumulative_.size() - 1;
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (h > cumulative_[mid])
        lo = mid + 1;
      else
        hi = mid;
    }
    return static_cast<int>(lo);
  }
  size_t size() const { return cumulative_.size(); }

 private:
  std::vector<uint64_t> cumulative_;
};

}  // namespace fupin::gen
