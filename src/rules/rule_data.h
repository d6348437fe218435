// The data rules run over, in memory and column by column: households, members (grouped by
// household) and the department records linked to each member. Filled by the loader
// (rules/loader.h) with only the fields the rules use; read-only while rules run, so any
// number of threads may evaluate over it.
#pragma once

#include <sys/mman.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace fupin::rules {

// Allocates large arrays on 2 MiB-aligned memory marked for transparent huge pages: a
// province's columns are gigabytes, and touching them 4 KiB page by page costs more than
// reading them (a page fault each, slow under virtualisation).
template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT
  static constexpr size_t kHuge = size_t{2} << 20;
  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHuge) return std::allocator<T>().allocate(n);
    void* p = std::aligned_alloc(kHuge, (bytes + kHuge - 1) / kHuge * kHuge);
    if (!p) throw std::bad_alloc();
    madvise(p, bytes, MADV_HUGEPAGE);
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHuge) {
      std::allocator<T>().deallocate(p, n);
    } else {
      std::free(p);
    }
  }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
};
template <typename T>
using HugeVector = std::vector<T, HugePageAllocator<T>>;

// One field's values. Numbers and dates (days since 1970-01-01) in `num` with NaN for
// missing; text in one buffer, an empty text being missing.
struct Column {
  HugeVector<double> num;
  HugeVector<uint32_t> text_end;
  HugeVector<char> text;

  double Num(uint32_t row) const { return num[row]; }
  std::string_view Text(uint32_t row) const {
    const uint32_t b = row ? text_end[row - 1] : 0;
    return std::string_view(text.data() + b, text_end[row] - b);
  }
  void PushNum(double v) { num.push_back(v); }
  void PushText(std::string_view v) {
    text.insert(text.end(), v.begin(), v.end());
    text_end.push_back(static_cast<uint32_t>(text.size()));
  }
  static double Missing() { return std::numeric_limits<double>::quiet_NaN(); }
};

struct Table {
  uint32_t rows = 0;
  std::vector<Column> cols;  // indexed like the entity's fields; unused ones stay empty
  // Department records: the row_id of each record in the store (for evidence).
  std::vector<int64_t> row_ids;
};

// Department records linked to each member: records of member m are
// index[begin[m] .. begin[m+1]) (row numbers in the data set's Table).
struct Linked {
  HugeVector<uint32_t> begin;
  HugeVector<uint32_t> index;
  std::span<const uint32_t> Of(uint32_t member) const {
    if (begin.empty()) return {};
    return std::span<const uint32_t>(index).subspan(begin[member],
                                                    begin[member + 1] - begin[member]);
  }
};

struct RuleData {
  std::vector<Table> tables;  // [entity]
  HugeVector<uint32_t>
      member_begin;            // members of household h: [member_begin[h], member_begin[h+1])
  std::vector<Linked> linked;  // [entity], department entities only
  long as_of_days = 0;         // reference date for ages
  int data_year = 0;           // the latest income year in the registry

  uint32_t Households() const { return tables.empty() ? 0 : tables[0].rows; }
};

}  // namespace fupin::rules
