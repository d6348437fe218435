// Fellegi–Sunter record linkage (概率匹配): comparison vectors, m and u probabilities
// estimated by expectation–maximisation from unlabelled candidate pairs, match weights and
// probabilities. Used by the registry linker and by `fupin link-files`.
//
// A pair of records is compared field by field; each field gives an agreement level, 0 for
// the closest agreement up to n-1 for "different", or kMissing when either side has no value
// (a missing field adds nothing to the weight). The model assumes fields are independent
// given match status; EM runs on the counts of distinct level vectors ("patterns"), so its
// cost does not depend on the number of pairs.
// Thread-safety: a Model is immutable after estimation; PatternCounts is not thread-safe
// (give each thread its own and Merge them).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace fupin::link {

inline constexpr uint8_t kMissing = 15;
inline constexpr int kMaxFields = 16;

struct FieldModel {
  std::string name;
  std::vector<std::string> levels;  // level names, best agreement first
  std::vector<double> m;            // P(level | match)
  std::vector<double> u;            // P(level | non-match)
};

struct Model {
  std::vector<FieldModel> fields;
  double lambda = 0.1;  // prior share of matches among candidate pairs
  int em_iterations = 0;

  // log2(m/u) summed over the fields that are not missing. `tf_u0` (optional, one per field,
  // <= 0 for none) replaces a field's u at level 0 by a term-frequency-adjusted value.
  double Weight(std::span<const uint8_t> levels, std::span<const double> tf_u0 = {}) const;
  // P(match | weight) with the model's prior.
  double Probability(double weight) const;
  std::string ToJson() const;
  static Result<Model> FromJson(std::string_view json);
};

// Packs up to 16 levels (4 bits each, field 0 in the lowest bits) into one integer; this is
// also how a link stores its explanation.
uint64_t PackLevels(std::span<const uint8_t> levels);
void UnpackLevels(uint64_t packed, std::span<uint8_t> levels);

class PatternCounts {
 public:
  void Add(std::span<const uint8_t> levels) { ++counts_[PackLevels(levels)]; }
  void Merge(const PatternCounts& other);
  int64_t pairs() const;
  const std::unordered_map<uint64_t, int64_t>& counts() const { return counts_; }

 private:
  std::unordered_map<uint64_t, int64_t> counts_;
};

struct EmOptions {
  // Keep u as given (estimated from random pairs) and estimate only m and lambda: the usual
  // way when the pairs come from blocking, whose non-matches are not random pairs.
  bool fix_u = false;
  // Fields to use; a field not listed is treated as missing and keeps its m and u. Empty:
  // every field. A field a blocking key forces to agree must be left out of that session.
  std::vector<size_t> active;
  // Active fields whose m is kept as given: they help tell matches apart but are not
  // re-estimated (their m comes from a session that identifies it better).
  std::vector<size_t> frozen_m;
  int max_iterations = 200;
  double tolerance = 1e-7;
};

// Estimates m (and u unless fixed) and lambda from the pattern counts, starting from `start`
// (whose m should favour the agreeing levels, so that the first class is the matches).
Model EstimateEm(const Model& start, const PatternCounts& counts, const EmOptions& options = {});

// Random numbers for sampling pairs (splitmix64): a fixed seed, so a run is reproducible.
class PairSampler {
 public:
  explicit PairSampler(uint64_t seed = 0x5eed) : state_(seed) {}
  // Uniform in [0, n). REQUIRES: n > 0.
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t state_;
};

// u for every field from comparisons of random pairs: `compare(i, levels)` fills the levels of
// the i-th random pair. Add-one smoothing keeps every level possible.
template <typename CompareFn>
void EstimateU(Model& model, int64_t samples, CompareFn&& compare) {
  std::vector<std::vector<double>> counts(model.fields.size());
  for (size_t f = 0; f < model.fields.size(); ++f) counts[f].assign(model.fields[f].u.size(), 1.0);
  uint8_t levels[kMaxFields];
  for (int64_t i = 0; i < samples; ++i) {
    compare(i, levels);
    for (size_t f = 0; f < model.fields.size(); ++f)
      if (levels[f] != kMissing && levels[f] < counts[f].size()) counts[f][levels[f]] += 1;
  }
  for (size_t f = 0; f < model.fields.size(); ++f) {
    double total = 0;
    for (double c : counts[f]) total += c;
    for (size_t l = 0; l < counts[f].size(); ++l) model.fields[f].u[l] = counts[f][l] / total;
  }
}

}  // namespace fupin::link
