// Fast non-cryptographic 64-bit hashing for row keys and change detection.
// Not for security: file integrity uses SHA-256. Thread-safe: pure functions.
//
// Inline, because the importer feeds every stored value of every row through two hashers
// at once: inlined, the CPU runs their independent multiply chains side by side.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace fupin {

// Incremental hasher: feed fields in order; different field boundaries give different hashes.
class Hasher {
 public:
  explicit Hasher(uint64_t seed = 0) : h_(seed ^ 0x9E3779B97F4A7C15ull) {}
  void Add(std::string_view b) {
    size_t i = 0;
    for (; i + 8 <= b.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, b.data() + i, 8);
      Mix(w);
    }
    uint64_t tail = 0;
    std::memcpy(&tail, b.data() + i, b.size() - i);
    Mix(tail ^ (static_cast<uint64_t>(b.size()) << 56) ^ 0xA5);
  }
  void Add(int64_t v) {
    Mix(static_cast<uint64_t>(v));
    Mix(0x5A);
  }
  void AddNull() { Mix(0xDEADBEEFCAFEF00Dull); }
  uint64_t Finish() const { return Fmix(h_ ^ n_); }

 private:
  static uint64_t Fmix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    x ^= x >> 33;
    return x;
  }
  void Mix(uint64_t word) {
    h_ = (h_ ^ Fmix(word + 0x9E3779B97F4A7C15ull * ++n_)) * 0x100000001B3ull;
    h_ = (h_ << 27) | (h_ >> 37);
  }
  uint64_t h_;
  uint64_t n_ = 0;
};

}  // namespace fupin
