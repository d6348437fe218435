// Registry persons to member rows (人员索引): an open-addressing table from a packed ID number
// (core/id_number.h PackIdNumber) to the members carrying it, for joining links to members.
#pragma once

#include <cstdint>
#include <vector>

namespace fupin::rules {

// Open addressing: person -> first member; `next` chains members with the same person.
class PersonIndex {
 public:
  explicit PersonIndex(const std::vector<uint64_t>& persons) : next_(persons.size(), kNone) {
    size_t cap = 16;
    while (cap < persons.size() * 2) cap <<= 1;
    keys_.assign(cap, 0);
    heads_.assign(cap, kNone);
    mask_ = cap - 1;
    for (uint32_t m = static_cast<uint32_t>(persons.size()); m-- > 0;) {
      const uint64_t p = persons[m];
      if (p == 0) continue;
      size_t i = Slot(p);
      while (keys_[i] != 0 && keys_[i] != p) i = (i + 1) & mask_;
      keys_[i] = p;
      next_[m] = heads_[i];
      heads_[i] = m;
    }
  }
  template <typename F>
  void ForEach(uint64_t person, F&& f) const {
    size_t i = Slot(person);
    while (keys_[i] != 0) {
      if (keys_[i] == person) {
        for (uint32_t m = heads_[i]; m != kNone; m = next_[m]) f(m);
        return;
      }
      i = (i + 1) & mask_;
    }
  }

 private:
  static constexpr uint32_t kNone = 0xFFFFFFFFu;
  size_t Slot(uint64_t p) const { return (p * 0x9E3779B97F4A7C15ull >> 20) & mask_; }
  std::vector<uint64_t> keys_;
  std::vector<uint32_t> heads_;
  std::vector<uint32_t> next_;
  size_t mask_ = 0;
};

}  // namespace fupin::rules
