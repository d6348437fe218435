#include "link/fellegi_sunter.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace fupin::link {
namespace {
constexpr double kFloor = 1e-9;  // keeps every probability away from 0 and log(0)
}

uint64_t PackLevels(std::span<const uint8_t> levels) {
  uint64_t packed = 0;
  for (size_t i = 0; i < levels.size() && i < kMaxFields; ++i)
    packed |= static_cast<uint64_t>(levels[i] & 0xF) << (4 * i);
  return packed;
}

void UnpackLevels(uint64_t packed, std::span<uint8_t> levels) {
  for (size_t i = 0; i < levels.size() && i < kMaxFields; ++i)
    levels[i] = static_cast<uint8_t>((packed >> (4 * i)) & 0xF);
}

void PatternCounts::Merge(const PatternCounts& other) {
  for (const auto& [k, c] : other.counts_) counts_[k] += c;
}

int64_t PatternCounts::pairs() const {
  int64_t n = 0;
  for (const auto& [k, c] : counts_) n += c;
  return n;
}

double Model::Weight(std::span<const uint8_t> levels, std::span<const double> tf_u0) const {
  double w = 0;
  for (size_t f = 0; f < fields.size() && f < levels.size(); ++f) {
    uint8_t l = levels[f];
    if (l == kMissing || l >= fields[f].m.size()) continue;
    double u = fields[f].u[l];
    if (l == 0 && f < tf_u0.size() && tf_u0[f] > 0) u = tf_u0[f];
    w += std::log2(std::max(fields[f].m[l], kFloor) / std::max(u, kFloor));
  }
  return w;
}

double Model::Probability(double weight) const {
  double prior = std::log2(std::max(lambda, kFloor) / std::max(1 - lambda, kFloor));
  return 1.0 / (1.0 + std::exp2(-(weight + prior)));
}

std::string Model::ToJson() const {
  nlohmann::json j;
  j["lambda"] = lambda;
  j["em_iterations"] = em_iterations;
  for (const FieldModel& f : fields)
    j["fields"].push_back({{"name", f.name}, {"levels", f.levels}, {"m", f.m}, {"u", f.u}});
  return j.dump();
}

Result<Model> Model::FromJson(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("fields"))
    return Err(InvalidArgument("the stored linkage model is not valid JSON"));
  Model m;
  try {
    m.lambda = j.at("lambda").get<double>();
    m.em_iterations = j.value("em_iterations", 0);
    for (const auto& f : j.at("fields")) {
      FieldModel fm;
      fm.name = f.at("name").get<std::string>();
      fm.levels = f.at("levels").get<std::vector<std::string>>();
      fm.m = f.at("m").get<std::vector<double>>();
      fm.u = f.at("u").get<std::vector<double>>();
      if (fm.m.size() != fm.levels.size() || fm.u.size() != fm.levels.size())
        return Err(InvalidArgument("the stored linkage model has mismatched level counts"));
      m.fields.push_back(std::move(fm));
    }
  } catch (const nlohmann::json::exception& e) {
    return Err(InvalidArgument(std::string("the stored linkage model is incomplete: ") + e.what()));
  }
  return m;
}

Model EstimateEm(const Model& start, const PatternCounts& counts, const EmOptions& options) {
  Model model = start;
  const size_t nf = model.fields.size();
  std::vector<char> active(nf, options.active.empty() ? 1 : 0);
  for (size_t f : options.active)
    if (f < nf) active[f] = 1;
  std::vector<char> frozen(nf, 0);
  for (size_t f : options.frozen_m)
    if (f < nf) frozen[f] = 1;
  struct Pattern {
    uint8_t levels[kMaxFields];
    double count;
  };
  std::vector<Pattern> patterns;
  patterns.reserve(counts.counts().size());
  for (const auto& [key, c] : counts.counts()) {
    Pattern p{};
    UnpackLevels(key, std::span<uint8_t>(p.levels, nf));
    for (size_t f = 0; f < nf; ++f)
      if (!active[f]) p.levels[f] = kMissing;
    p.count = static_cast<double>(c);
    patterns.push_back(p);
  }
  // A fixed order makes the floating-point sums, and so the model, reproducible.
  std::sort(patterns.begin(), patterns.end(), [nf](const Pattern& a, const Pattern& b) {
    return std::lexicographical_compare(a.levels, a.levels + nf, b.levels, b.levels + nf);
  });
  if (patterns.empty()) return model;

  for (int it = 0; it < options.max_iterations; ++it) {
    std::vector<std::vector<double>> m_num(nf), u_num(nf);
    for (size_t f = 0; f < nf; ++f) {
      m_num[f].assign(model.fields[f].m.size(), 0.0);
      u_num[f].assign(model.fields[f].u.size(), 0.0);
    }
    double match_total = 0, all_total = 0;
    for (const Pattern& p : patterns) {
      double pm = model.lambda, pu = 1 - model.lambda;
      for (size_t f = 0; f < nf; ++f) {
        uint8_t l = p.levels[f];
        if (l == kMissing) continue;
        pm *= std::max(model.fields[f].m[l], kFloor);
        pu *= std::max(model.fields[f].u[l], kFloor);
      }
      double g = pm / (pm + pu);
      match_total += g * p.count;
      all_total += p.count;
      for (size_t f = 0; f < nf; ++f) {
        uint8_t l = p.levels[f];
        if (l == kMissing) continue;
        m_num[f][l] += g * p.count;
        u_num[f][l] += (1 - g) * p.count;
      }
    }
    double change = 0;
    double lambda = std::clamp(match_total / all_total, kFloor, 1 - kFloor);
    change = std::max(change, std::abs(lambda - model.lambda));
    model.lambda = lambda;
    for (size_t f = 0; f < nf; ++f) {
      if (!active[f]) continue;
      double ms = 0, us = 0;
      for (double v : m_num[f]) ms += v;
      for (double v : u_num[f]) us += v;
      for (size_t l = 0; l < m_num[f].size(); ++l) {
        double m = ms > 0 && !frozen[f] ? m_num[f][l] / ms : model.fields[f].m[l];
        double u = us > 0 && !options.fix_u ? u_num[f][l] / us : model.fields[f].u[l];
        change = std::max(
            {change, std::abs(m - model.fields[f].m[l]), std::abs(u - model.fields[f].u[l])});
        model.fields[f].m[l] = m;
        model.fields[f].u[l] = u;
      }
    }
    model.em_iterations = it + 1;
    if (change < options.tolerance) break;
  }
  return model;
}

}  // namespace fupin::link
