#include "core/hash.h"

#include <cstring>

namespace fupin {

namespace {
inline uint64_t Fmix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ull;
  x ^= x >> 33;
  return x;
}
}  // namespace

void Hasher::Mix(uint64_t word) {
  h_ = (h_ ^ Fmix(word + 0x9E3779B97F4A7C15ull * ++n_)) * 0x100000001B3ull;
  h_ = (h_ << 27) | (h_ >> 37);
}

void Hasher::Add(std::string_view b) {
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

void Hasher::Add(int64_t v) {
  Mix(static_cast<uint64_t>(v));
  Mix(0x5A);
}

void Hasher::AddNull() { Mix(0xDEADBEEFCAFEF00Dull); }

uint64_t Hasher::Finish() const { return Fmix(h_ ^ n_); }

}  // namespace fupin
