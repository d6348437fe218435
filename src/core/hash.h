// Fast non-cryptographic 64-bit hashing for row keys and change detection.
// Not for security: file integrity uses SHA-256. Thread-safe: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace fupin {

// Incremental hasher: feed fields in order; different field boundaries give different hashes.
class Hasher {
 public:
  explicit Hasher(uint64_t seed = 0) : h_(seed ^ 0x9E3779B97F4A7C15ull) {}
  void Add(std::string_view bytes);
  void Add(int64_t v);
  void AddNull();
  uint64_t Finish() const;

 private:
  void Mix(uint64_t word);
  uint64_t h_;
  uint64_t n_ = 0;
};

}  // namespace fupin
