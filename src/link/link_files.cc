#include "link/link_files.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "core/file.h"
#include "core/hash.h"
#include "core/id_number.h"
#include "core/text.h"
#include "exchange/csv_reader.h"
#include "link/compare.h"
#include "link/names.h"

namespace fupin::link {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> LevelNames(FieldKind k) {
  switch (k) {
    case FieldKind::kName:
      return {"identical", "variant", "close", "similar", "different"};
    case FieldKind::kText:
      return {"identical", "close", "similar", "different"};
    case FieldKind::kDate:
      return {"identical", "one_part", "day_month_swapped", "different"};
    case FieldKind::kCode:
      return {"identical", "different"};
    case FieldKind::kId:
    case FieldKind::kNumber:
      return {"identical", "close", "different"};
  }
  return {};
}

bool HasHan(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0xE3 && c <= 0xE9) return true;  // lead bytes of U+3000..U+9FFF
  return false;
}

std::string LowerAscii(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string CollapseSpaces(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : TrimSpace(s)) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

struct Cell {
  std::string norm;  // normalised value; empty = missing
  std::string phon;  // phonetic or coarse key; empty = none
  int32_t date = 0;
  double number = 0;
  bool has_number = false;
};

Cell Normalise(FieldKind kind, std::string_view raw) {
  Cell c;
  std::string_view v = TrimSpace(raw);
  if (v.empty()) return c;
  switch (kind) {
    case FieldKind::kName: {
      c.norm = LowerAscii(ToSimplified(NormalizeName(v)));
      if (HasHan(c.norm)) {
        c.phon = NamePinyin(c.norm);
        c.phon.erase(std::remove(c.phon.begin(), c.phon.end(), ' '), c.phon.end());
      } else {
        c.phon = Soundex(c.norm);
      }
      break;
    }
    case FieldKind::kText: {
      c.norm = LowerAscii(CollapseSpaces(FullWidthToAscii(v)));
      std::string_view first = c.norm;
      if (size_t sp = first.find(' '); sp != std::string_view::npos) first = first.substr(0, sp);
      c.phon = HasHan(first) ? std::string(first.substr(0, std::min<size_t>(6, first.size())))
                             : Soundex(first);
      break;
    }
    case FieldKind::kDate:
      c.date = ParseDateKey(v);
      c.norm = c.date ? std::to_string(c.date) : std::string(v);
      if (c.date) c.phon = std::to_string(c.date / 100);
      break;
    case FieldKind::kCode:
      c.norm = std::string(v);
      for (char& ch : c.norm)
        if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
      break;
    case FieldKind::kId: {
      std::string s = RemoveAllSpace(FullWidthToAscii(v));
      for (char& ch : s)
        if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
      if (s.size() == 15 || s.size() == 18) {
        IdNumber id = NormalizeIdNumber(s);
        if (id.normalized.size() == 18) s = id.normalized;
      }
      c.norm = std::move(s);
      break;
    }
    case FieldKind::kNumber: {
      std::string s(v);
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (end && *end == '\0' && std::isfinite(d)) {
        c.number = d;
        c.has_number = true;
      }
      c.norm = s;
      break;
    }
  }
  return c;
}

bool OneEditApart(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  size_t first = std::string_view::npos, count = 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) {
      if (count++ == 0) first = i;
      if (count > 2) return false;
    }
  if (count == 1) return true;
  return count == 2 && first + 1 < a.size() && a[first] == b[first + 1] && a[first + 1] == b[first];
}

uint8_t Compare(FieldKind kind, const Cell& a, const Cell& b) {
  if (a.norm.empty() || b.norm.empty()) return kMissing;
  switch (kind) {
    case FieldKind::kName: {
      uint8_t l = CompareNames(a.norm, b.norm, a.norm, b.norm);
      if (l == 0) return 0;
      if (l <= 2) return 1;
      if (l == 3) return 2;
      return JaroWinkler(a.norm, b.norm) >= 0.8 ? 3 : 4;
    }
    case FieldKind::kText: {
      if (a.norm == b.norm) return 0;
      double jw = JaroWinkler(a.norm, b.norm);
      return jw >= 0.92 ? 1 : jw >= 0.8 ? 2 : 3;
    }
    case FieldKind::kDate:
      if (a.date && b.date) return CompareDates(a.date, b.date);
      return a.norm == b.norm ? 0 : 3;
    case FieldKind::kCode:
      return a.norm == b.norm ? 0 : 1;
    case FieldKind::kId:
      if (a.norm == b.norm) return 0;
      return OneEditApart(a.norm, b.norm) ? 1 : 2;
    case FieldKind::kNumber:
      if (a.norm == b.norm) return 0;
      if (a.has_number && b.has_number) {
        if (a.number == b.number) return 0;
        double scale = std::max(std::abs(a.number), std::abs(b.number));
        if (std::abs(a.number - b.number) <= 0.01 * scale) return 1;
      }
      return 2;
  }
  return kMissing;
}

struct Table {
  std::vector<std::string> keys;
  std::vector<std::vector<Cell>> cells;  // [record][field]
};

Result<Table> ReadTable(const fs::path& path, const std::string& key_column,
                        const std::vector<FieldConfig>& fields, bool right) {
  ASSIGN_OR_RETURN(exchange::CsvFile file, exchange::OpenCsv(path));
  exchange::RawRow row;
  ASSIGN_OR_RETURN(bool has_header, file.rows->Next(row));
  if (!has_header) return Err(InvalidArgument(fmt::format("{}: the file is empty", path.string())));
  auto find = [&](const std::string& name) -> Result<size_t> {
    for (size_t i = 0; i < row.cells.size(); ++i)
      if (TrimSpace(row.cells[i]) == name) return i;
    return Err(InvalidArgument(fmt::format("{}: no column '{}' (the header has: {})", path.string(),
                                           name, fmt::join(row.cells, ", "))));
  };
  ASSIGN_OR_RETURN(size_t key_at, find(key_column));
  std::vector<size_t> at;
  for (const FieldConfig& f : fields) {
    ASSIGN_OR_RETURN(size_t i, find(right && !f.right_column.empty() ? f.right_column : f.column));
    at.push_back(i);
  }
  Table t;
  for (;;) {
    ASSIGN_OR_RETURN(bool more, file.rows->Next(row));
    if (!more) break;
    if (row.cells.size() == 1 && row.cells[0].empty()) continue;  // blank line
    auto cell = [&](size_t i) -> std::string_view {
      return i < row.cells.size() ? std::string_view(row.cells[i]) : std::string_view();
    };
    t.keys.emplace_back(TrimSpace(cell(key_at)));
    std::vector<Cell> cells;
    cells.reserve(fields.size());
    for (size_t f = 0; f < fields.size(); ++f)
      cells.push_back(Normalise(fields[f].kind, cell(at[f])));
    t.cells.push_back(std::move(cells));
  }
  return t;
}

// A blocking key: one or two (field, phonetic?) parts.
struct KeyRule {
  std::vector<std::pair<size_t, bool>> parts;
  int64_t pairs = 0;
  std::string name;
  uint64_t fields_mask = 0;
};

uint64_t RuleKey(const KeyRule& rule, const std::vector<Cell>& cells) {
  Hasher h(0x626c6f63);
  for (auto [f, phonetic] : rule.parts) {
    const std::string& v = phonetic ? cells[f].phon : cells[f].norm;
    if (v.empty()) return 0;
    h.Add(v);
  }
  uint64_t k = h.Finish();
  return k ? k : 1;
}

std::unordered_map<uint64_t, std::vector<uint32_t>> Group(const KeyRule& rule, const Table& t) {
  std::unordered_map<uint64_t, std::vector<uint32_t>> groups;
  for (uint32_t i = 0; i < t.cells.size(); ++i)
    if (uint64_t k = RuleKey(rule, t.cells[i])) groups[k].push_back(i);
  return groups;
}

int64_t CountPairs(const KeyRule& rule, const Table& left, const Table* right) {
  auto l = Group(rule, left);
  int64_t n = 0;
  if (!right) {
    for (const auto& [k, v] : l)
      n += static_cast<int64_t>(v.size()) * (static_cast<int64_t>(v.size()) - 1) / 2;
    return n;
  }
  auto r = Group(rule, *right);
  for (const auto& [k, v] : l)
    if (auto it = r.find(k); it != r.end())
      n += static_cast<int64_t>(v.size()) * static_cast<int64_t>(it->second.size());
  return n;
}

Model StartModel(const std::vector<FieldConfig>& fields) {
  Model m;
  m.lambda = 0.01;
  for (const FieldConfig& f : fields) {
    FieldModel fm;
    fm.name = f.column;
    fm.levels = LevelNames(f.kind);
    size_t k = fm.levels.size();
    for (size_t l = 0; l < k; ++l) {
      fm.m.push_back(l == 0 ? 0.8 : (l + 1 == k ? 0.05 : 0.15 / static_cast<double>(k - 2)));
      fm.u.push_back(l + 1 == k ? 0.9 : 0.1 / static_cast<double>(k - 1));
    }
    m.fields.push_back(std::move(fm));
  }
  return m;
}

}  // namespace

Result<LinkFilesConfig> ParseLinkFilesConfig(std::string_view text, std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return Err(InvalidArgument(fmt::format("{}:{}:{}: {}", source, e.source().begin.line,
                                           e.source().begin.column, e.description())));
  }
  auto where = [&](const toml::node* n) {
    if (!n) return std::string(source);
    return fmt::format("{}:{}:{}", source, n->source().begin.line, n->source().begin.column);
  };
  LinkFilesConfig c;
  auto left = root["left_key"].value<std::string>();
  if (!left || left->empty())
    return Err(
        InvalidArgument(fmt::format("{}: left_key (the key column of the left file) is "
                                    "required",
                                    source)));
  c.left_key = *left;
  c.right_key = root["right_key"].value_or(c.left_key);
  const toml::array* fields = root["field"].as_array();
  if (!fields || fields->empty())
    return Err(InvalidArgument(fmt::format("{}: at least one [[field]] is required", source)));
  for (const toml::node& n : *fields) {
    const toml::table* t = n.as_table();
    if (!t) return Err(InvalidArgument(fmt::format("{}: [[field]] must be a table", where(&n))));
    FieldConfig f;
    auto column = (*t)["column"].value<std::string>();
    if (!column || column->empty())
      return Err(InvalidArgument(fmt::format("{}: a field needs a column", where(&n))));
    f.column = *column;
    f.right_column = (*t)["right_column"].value_or(std::string());
    std::string kind = (*t)["kind"].value_or(std::string("text"));
    static const std::pair<std::string_view, FieldKind> kKinds[] = {
        {"name", FieldKind::kName}, {"text", FieldKind::kText}, {"date", FieldKind::kDate},
        {"code", FieldKind::kCode}, {"id", FieldKind::kId},     {"number", FieldKind::kNumber}};
    bool known = false;
    for (auto [name, k] : kKinds)
      if (name == kind) {
        f.kind = k;
        known = true;
      }
    if (!known)
      return Err(InvalidArgument(
          fmt::format("{}: unknown kind '{}' (name, text, date, code, id or number)",
                      where((*t)["kind"].node()), kind)));
    for (const auto& [k, v] : *t)
      if (k != "column" && k != "right_column" && k != "kind")
        return Err(InvalidArgument(fmt::format("{}: unknown setting '{}'", where(&v), k.str())));
    c.fields.push_back(std::move(f));
  }
  if (c.fields.size() > static_cast<size_t>(kMaxFields))
    return Err(InvalidArgument(fmt::format("{}: at most {} fields", source, kMaxFields)));
  for (const auto& [k, v] : root)
    if (k != "left_key" && k != "right_key" && k != "field")
      return Err(InvalidArgument(fmt::format("{}: unknown setting '{}'", where(&v), k.str())));
  return c;
}

Result<LinkFilesConfig> ReadLinkFilesConfig(const fs::path& path) {
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, "config"));
  return ParseLinkFilesConfig(text, path.string());
}

Result<LinkFilesSummary> LinkFiles(const LinkFilesConfig& config, const LinkFilesOptions& o) {
  auto start = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(CheckNameData());
  auto progress = [&](std::string_view what, int64_t done, int64_t total) {
    if (o.progress) o.progress(what, done, total);
  };
  const bool dedup = o.right.empty();
  const size_t nf = config.fields.size();
  progress("reading", 0, 0);
  ASSIGN_OR_RETURN(Table left, ReadTable(o.left, config.left_key, config.fields, false));
  Table right_table;
  if (!dedup) {
    ASSIGN_OR_RETURN(right_table, ReadTable(o.right, config.right_key, config.fields, true));
  }
  const Table& right = dedup ? left : right_table;
  const Table* right_ptr = dedup ? nullptr : &right_table;
  LinkFilesSummary summary;
  summary.left_records = static_cast<int64_t>(left.keys.size());
  summary.right_records = static_cast<int64_t>(right.keys.size());

  // Blocking keys chosen from the data.
  const int64_t records = summary.left_records + (dedup ? 0 : summary.right_records);
  const int64_t budget = std::max<int64_t>(1'000'000, 20 * records);
  auto rule_name = [&](const KeyRule& r) {
    std::vector<std::string> parts;
    for (auto [f, phonetic] : r.parts)
      parts.push_back(config.fields[f].column + (phonetic ? "~" : ""));
    return fmt::format("{}", fmt::join(parts, "+"));
  };
  auto make = [&](std::vector<std::pair<size_t, bool>> parts) {
    KeyRule r;
    r.parts = std::move(parts);
    for (auto [f, p] : r.parts) r.fields_mask |= uint64_t{1} << f;
    r.name = rule_name(r);
    r.pairs = CountPairs(r, left, right_ptr);
    return r;
  };
  auto has_phonetic = [&](size_t f) {
    FieldKind k = config.fields[f].kind;
    return k == FieldKind::kName || k == FieldKind::kText || k == FieldKind::kDate;
  };
  std::vector<KeyRule> chosen;
  int64_t total_pairs = 0;
  progress("blocking", 0, 0);
  for (size_t f = 0; f < nf; ++f) {
    KeyRule pick;
    if (has_phonetic(f)) {
      KeyRule p = make({{f, true}});
      if (p.pairs > 0 && p.pairs <= budget) pick = std::move(p);
    }
    if (pick.parts.empty()) {
      KeyRule e = make({{f, false}});
      if (e.pairs > 0 && e.pairs <= budget) pick = std::move(e);
    }
    if (!pick.parts.empty()) {
      total_pairs += pick.pairs;
      chosen.push_back(std::move(pick));
    }
  }
  if (chosen.size() < 2) {
    std::vector<KeyRule> combos;
    for (size_t a = 0; a < nf; ++a)
      for (size_t b = a + 1; b < nf; ++b) {
        KeyRule r = make({{a, false}, {b, false}});
        if (r.pairs > 0 && r.pairs <= budget) combos.push_back(std::move(r));
      }
    std::sort(combos.begin(), combos.end(),
              [](const KeyRule& x, const KeyRule& y) { return x.pairs > y.pairs; });
    for (KeyRule& r : combos) {
      if (chosen.size() >= 2 && total_pairs + r.pairs > 4 * budget) break;
      if (chosen.size() >= 3) break;
      total_pairs += r.pairs;
      chosen.push_back(std::move(r));
    }
  }
  if (chosen.empty())
    return Err(InvalidArgument(
        "no blocking key found: every field is empty or too common to narrow the pairs down"));
  for (const KeyRule& r : chosen) summary.blocking_keys.push_back(r.name);

  // Candidate pairs (left record << 32 | right record), with the keys that produced them.
  std::unordered_map<uint64_t, uint32_t> rules_of;  // pair -> bitmask of chosen rules
  for (size_t ri = 0; ri < chosen.size(); ++ri) {
    auto l = Group(chosen[ri], left);
    auto add = [&](uint32_t a, uint32_t b) { rules_of[(uint64_t{a} << 32) | b] |= 1u << ri; };
    if (dedup) {
      for (const auto& [k, v] : l)
        for (size_t i = 0; i < v.size(); ++i)
          for (size_t j = i + 1; j < v.size(); ++j) add(v[i], v[j]);
    } else {
      auto r = Group(chosen[ri], right);
      for (const auto& [k, v] : l)
        if (auto it = r.find(k); it != r.end())
          for (uint32_t a : v)
            for (uint32_t b : it->second) add(a, b);
    }
  }
  struct Pair {
    uint64_t key;
    uint32_t rules;
    uint8_t levels[kMaxFields];
  };
  std::vector<Pair> pairs;
  pairs.reserve(rules_of.size());
  for (const auto& [key, mask] : rules_of) pairs.push_back({key, mask, {}});
  rules_of.clear();
  std::sort(pairs.begin(), pairs.end(), [](const Pair& a, const Pair& b) { return a.key < b.key; });
  progress("comparing", 0, static_cast<int64_t>(pairs.size()));
  for (Pair& p : pairs) {
    uint32_t a = static_cast<uint32_t>(p.key >> 32), b = static_cast<uint32_t>(p.key);
    for (size_t f = 0; f < nf; ++f)
      p.levels[f] = Compare(config.fields[f].kind, left.cells[a][f], right.cells[b][f]);
  }
  summary.candidate_pairs = static_cast<int64_t>(pairs.size());

  // Training.
  Model model = StartModel(config.fields);
  PairSampler sample;
  const size_t nl = left.keys.size(), nr = right.keys.size();
  if (nl > 0 && nr > 0 && !(dedup && nl < 2)) {
    EstimateU(model, 1'000'000, [&](int64_t, uint8_t* lv) {
      size_t a = sample.Below(nl), b = sample.Below(nr);
      if (dedup)
        while (b == a) b = sample.Below(nr);
      for (size_t f = 0; f < nf; ++f)
        lv[f] = Compare(config.fields[f].kind, left.cells[a][f], right.cells[b][f]);
    });
  }
  std::vector<std::vector<double>> m_sum(nf);
  std::vector<double> m_weight(nf, 0);
  for (size_t f = 0; f < nf; ++f) m_sum[f].assign(model.fields[f].m.size(), 0);
  double matches = 0;
  int iterations = 0;
  for (size_t ri = 0; ri < chosen.size(); ++ri) {
    PatternCounts counts;
    int64_t n = 0;
    for (const Pair& p : pairs)
      if (p.rules & (1u << ri)) {
        counts.Add(std::span<const uint8_t>(p.levels, nf));
        ++n;
      }
    EmOptions em{.fix_u = true};
    for (size_t f = 0; f < nf; ++f)
      if (!(chosen[ri].fields_mask & (uint64_t{1} << f))) em.active.push_back(f);
    if (em.active.empty() || n == 0) continue;
    Model s = EstimateEm(model, counts, em);
    iterations += s.em_iterations;
    matches = std::max(matches, s.lambda * static_cast<double>(n));
    for (size_t f : em.active) {
      for (size_t l = 0; l < m_sum[f].size(); ++l)
        m_sum[f][l] += s.fields[f].m[l] * static_cast<double>(n);
      m_weight[f] += static_cast<double>(n);
    }
  }
  for (size_t f = 0; f < nf; ++f)
    if (m_weight[f] > 0)
      for (size_t l = 0; l < m_sum[f].size(); ++l) model.fields[f].m[l] = m_sum[f][l] / m_weight[f];
  double possible = dedup ? static_cast<double>(nl) * static_cast<double>(nl - 1) / 2
                          : static_cast<double>(nl) * static_cast<double>(nr);
  model.lambda = std::clamp(possible > 0 ? matches / possible : 0.5, 1e-15, 0.5);
  model.em_iterations = iterations;

  // Term frequencies of name and text values over both files.
  std::vector<std::unordered_map<std::string, int64_t>> tf(nf);
  double tf_total = 0;
  for (const Table* t : {&left, dedup ? nullptr : &right_table}) {
    if (!t) continue;
    tf_total += static_cast<double>(t->cells.size());
    for (const auto& rec : t->cells)
      for (size_t f = 0; f < nf; ++f)
        if ((config.fields[f].kind == FieldKind::kName ||
             config.fields[f].kind == FieldKind::kText) &&
            !rec[f].norm.empty())
          ++tf[f][rec[f].norm];
  }

  // Scores, best first within each left record.
  struct Scored {
    uint64_t key;
    double weight, probability;
  };
  std::vector<Scored> out;
  std::vector<double> tf_u0(nf, 0);
  for (const Pair& p : pairs) {
    uint32_t a = static_cast<uint32_t>(p.key >> 32);
    for (size_t f = 0; f < nf; ++f) {
      tf_u0[f] = 0;
      if (p.levels[f] == 0 && !tf[f].empty()) {
        auto it = tf[f].find(left.cells[a][f].norm);
        if (it != tf[f].end()) tf_u0[f] = static_cast<double>(it->second) / tf_total;
      }
    }
    double w = model.Weight(std::span<const uint8_t>(p.levels, nf), tf_u0);
    double prob = model.Probability(w);
    if (prob >= o.min_probability) out.push_back({p.key, w, prob});
  }
  std::sort(out.begin(), out.end(), [](const Scored& x, const Scored& y) {
    if ((x.key >> 32) != (y.key >> 32)) return (x.key >> 32) < (y.key >> 32);
    if (x.weight != y.weight) return x.weight > y.weight;
    return x.key < y.key;
  });

  fs::path part = o.out;
  part += ".part";
  std::FILE* f = std::fopen(part.c_str(), "wb");
  if (!f) return Err(Unavailable(fmt::format("cannot write {}", part.string())));
  fmt::print(f, "left_key,right_key,weight,probability\n");
  for (const Scored& s : out)
    fmt::print(f, "{},{},{:.4f},{:.6f}\n", CsvQuote(left.keys[s.key >> 32]),
               CsvQuote(right.keys[static_cast<uint32_t>(s.key)]), s.weight, s.probability);
  bool ok = std::ferror(f) == 0;
  ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(part.c_str(), o.out.c_str()) != 0) {
    std::remove(part.c_str());
    return Err(Unavailable(fmt::format("cannot write {}", o.out.string())));
  }
  summary.pairs_written = static_cast<int64_t>(out.size());
  summary.model = std::move(model);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace fupin::link
