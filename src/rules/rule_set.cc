#include "rules/rule_set.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <toml++/toml.h>

#include <cmath>
#include <cstdio>
#include <set>

#include "core/date.h"
#include "core/file.h"
#include "core/text.h"

namespace fupin::rules {

std::string_view CategoryName(Category c) {
  switch (c) {
    case Category::kExclusion:
      return "exclusion";
    case Category::kExitReady:
      return "exit_ready";
    case Category::kRisk:
      return "risk";
    case Category::kPolicyGap:
      return "policy_gap";
    case Category::kDataQuality:
      return "data_quality";
  }
  return "?";
}

std::string_view CategoryLabelZh(Category c) {
  switch (c) {
    case Category::kExclusion:
      return "不符合条件";
    case Category::kExitReady:
      return "脱贫条件";
    case Category::kRisk:
      return "返贫风险";
    case Category::kPolicyGap:
      return "政策落实";
    case Category::kDataQuality:
      return "数据质量";
  }
  return "?";
}

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kHigh:
      return "high";
    case Severity::kMedium:
      return "medium";
    case Severity::kLow:
      return "low";
  }
  return "?";
}

namespace {

// The risk types of the monitoring system (DOMAIN.md §3.4, code table 100A27).
constexpr std::string_view kRiskTypes[] = {"因病",           "因残",       "因学",
                                           "因自然灾害",     "因意外事故", "因产业项目失败",
                                           "因务工就业不稳", "缺劳动力",   "其他"};

std::string Sha256Hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

// Finds where byte `offset` of a string value lies in the file: `begin` is the value's
// position as toml++ reports it (the opening quote). Exact for literal strings ('...' and
// '''...'''), which rules files should use for conditions; close for basic strings.
std::pair<uint32_t, uint32_t> ValuePosition(std::string_view file, toml::source_position begin,
                                            uint32_t offset) {
  size_t i = 0;
  for (uint32_t line = 1; line < begin.line && i < file.size(); ++i)
    if (file[i] == '\n') ++line;
  for (uint32_t col = 1; col < begin.column && i < file.size(); ++col) NextCodePoint(file, i);
  uint32_t line = begin.line;
  uint32_t col = begin.column;
  auto advance = [&]() {
    if (i >= file.size()) return;
    if (file[i] == '\n') {
      ++line;
      col = 1;
      ++i;
      return;
    }
    NextCodePoint(file, i);
    ++col;
  };
  const std::string_view rest = file.substr(std::min(i, file.size()));
  const bool triple = rest.starts_with("'''") || rest.starts_with("\"\"\"");
  for (int k = 0; k < (triple ? 3 : 1); ++k) advance();
  if (triple) {
    if (i < file.size() && file[i] == '\r') ++i;
    if (i < file.size() && file[i] == '\n') advance();
  }
  for (uint32_t done = 0; done < offset && i < file.size();) {
    if (file[i] == '\r') {
      ++i;
      continue;
    }
    const size_t before = i;
    advance();
    done += static_cast<uint32_t>(i - before);
  }
  return {line, col};
}

// Whether a condition part reads the member or binds a variable (then it is evaluated per
// member, where its witnesses are kept).
bool PerMember(const Node& n) {
  switch (n.op) {
    case Op::kAny:
    case Op::kAll:
    case Op::kCount:
    case Op::kSum:
    case Op::kMinOf:
    case Op::kMaxOf:
    case Op::kMembers:
    case Op::kHouseholdRecords:
      return true;
    case Op::kVar:
    case Op::kField:
    case Op::kMemberRecords:
      if (n.slot != 0) return true;
      break;
    default:
      break;
  }
  for (const Node& k : n.kids)
    if (PerMember(k)) return true;
  return false;
}

// The household-only conjuncts of a condition's top-level `and` chain, joined by `and`.
std::unique_ptr<Node> HouseholdGuard(const Node& condition) {
  std::vector<const Node*> parts;
  std::vector<const Node*> stack = {&condition};
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (n->op == Op::kAnd) {
      stack.push_back(&n->kids[1]);
      stack.push_back(&n->kids[0]);
    } else if (!PerMember(*n)) {
      parts.push_back(n);
    }
  }
  if (parts.empty()) return nullptr;
  auto guard = std::make_unique<Node>(*parts[0]);
  for (size_t i = 1; i < parts.size(); ++i) {
    Node both;
    both.op = Op::kAnd;
    both.type = VType::kBool;
    both.kids.push_back(std::move(*guard));
    both.kids.push_back(*parts[i]);
    *guard = std::move(both);
  }
  return guard;
}

struct Builder {
  std::string_view text;
  std::string_view source;

  Status Error(const toml::node* n, std::string message) const {
    if (!n) return InvalidArgument(fmt::format("{}: {}", source, message));
    return InvalidArgument(fmt::format("{}:{}:{}: {}", source, n->source().begin.line,
                                       n->source().begin.column, message));
  }
  Status ExprError(const toml::node* n, const CompileError& e, std::string_view what) const {
    auto [line, col] = ValuePosition(text, n->source().begin, e.pos);
    return InvalidArgument(fmt::format("{}:{}:{}: {}: {}", source, line, col, what, e.message));
  }

  Result<std::string> String(const toml::table& t, std::string_view key, bool required) const {
    const toml::node* n = t.get(key);
    if (!n) {
      if (required) return Err(Error(&t, fmt::format("'{}' is missing", key)));
      return std::string();
    }
    const auto* s = n->as_string();
    if (!s) return Err(Error(n, fmt::format("'{}' must be text in quotes", key)));
    return s->get();
  }
};

Status CheckKeys(const Builder& b, const toml::table& t,
                 std::initializer_list<std::string_view> keys, std::string_view what) {
  for (const auto& [k, v] : t) {
    bool known = false;
    for (std::string_view allowed : keys) known |= k.str() == allowed;
    if (!known)
      return b.Error(&v, fmt::format("unknown key '{}' in {} (allowed: {})", k.str(), what,
                                     fmt::join(keys, ", ")));
  }
  return OkStatus();
}

Status ParseLine(const Builder& b, const toml::node& node, Thresholds& th) {
  const toml::table* t = node.as_table();
  if (!t) return b.Error(&node, "each [[line]] must be a table");
  RETURN_IF_ERROR(CheckKeys(b, *t, {"kind", "year", "yuan", "province", "source"}, "[[line]]"));
  ASSIGN_OR_RETURN(std::string kind, b.String(*t, "kind", true));
  LineKind k;
  if (kind == "nbs") {
    k = LineKind::kNbs;
  } else if (kind == "exit") {
    k = LineKind::kExit;
  } else if (kind == "monitoring") {
    k = LineKind::kMonitoring;
  } else {
    return b.Error(t->get("kind"), fmt::format("kind '{}' is not nbs, exit or monitoring", kind));
  }
  LineEntry e;
  const auto year = t->get("year") ? t->get("year")->value<int64_t>() : std::nullopt;
  if (!year || *year < 1978 || *year > 2100)
    return b.Error(t->get("year") ? t->get("year") : t, "year must be a whole number 1978..2100");
  e.year = static_cast<int>(*year);
  const auto yuan = t->get("yuan") ? t->get("yuan")->value<double>() : std::nullopt;
  if (!yuan || !std::isfinite(*yuan) || *yuan <= 0)
    return b.Error(t->get("yuan") ? t->get("yuan") : t, "yuan must be a positive number");
  e.yuan = *yuan;
  ASSIGN_OR_RETURN(e.province, b.String(*t, "province", false));
  if (!e.province.empty() &&
      (e.province.size() != 12 || e.province.find_first_not_of("0123456789") != std::string::npos ||
       e.province.substr(2) != "0000000000"))
    return b.Error(
        t->get("province"),
        fmt::format("province '{}' is not a 12-digit province code like 520000000000", e.province));
  ASSIGN_OR_RETURN(e.source, b.String(*t, "source", true));
  for (const LineEntry& other : th.lines[static_cast<int>(k)])
    if (other.year == e.year && other.province == e.province)
      return b.Error(t, fmt::format("a second {} line for {} {}", kind,
                                    e.province.empty() ? "every province" : e.province, e.year));
  th.lines[static_cast<int>(k)].push_back(std::move(e));
  return OkStatus();
}

Status ParseRule(const Builder& b, const toml::node& node, RuleSet& set) {
  const toml::table* t = node.as_table();
  if (!t) return b.Error(&node, "each [[rule]] must be a table");
  RETURN_IF_ERROR(CheckKeys(b, *t,
                            {"id", "name_zh", "name_en", "category", "severity", "scope",
                             "risk_type", "condition", "explain_zh", "explain_en"},
                            "[[rule]]"));
  Rule r;
  ASSIGN_OR_RETURN(r.id, b.String(*t, "id", true));
  if (r.id.empty() ||
      r.id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != std::string::npos)
    return b.Error(t->get("id"),
                   fmt::format("rule id '{}' must be upper-case letters, digits and _", r.id));
  for (const Rule& other : set.rules)
    if (other.id == r.id)
      return b.Error(t->get("id"), fmt::format("rule id '{}' is used twice", r.id));
  ASSIGN_OR_RETURN(r.name_zh, b.String(*t, "name_zh", true));
  ASSIGN_OR_RETURN(r.name_en, b.String(*t, "name_en", true));
  ASSIGN_OR_RETURN(std::string category, b.String(*t, "category", true));
  bool found = false;
  for (int c = 0; c < kCategoryCount; ++c) {
    if (CategoryName(static_cast<Category>(c)) == category) {
      r.category = static_cast<Category>(c);
      found = true;
    }
  }
  if (!found)
    return b.Error(t->get("category"),
                   fmt::format("category '{}' is not one of exclusion, exit_ready, risk, "
                               "policy_gap, data_quality",
                               category));
  ASSIGN_OR_RETURN(std::string severity, b.String(*t, "severity", true));
  if (severity == "high") {
    r.severity = Severity::kHigh;
  } else if (severity == "medium") {
    r.severity = Severity::kMedium;
  } else if (severity == "low") {
    r.severity = Severity::kLow;
  } else {
    return b.Error(t->get("severity"),
                   fmt::format("severity '{}' is not high, medium or low", severity));
  }
  ASSIGN_OR_RETURN(std::string scope, b.String(*t, "scope", true));
  if (scope != "person" && scope != "household")
    return b.Error(t->get("scope"), fmt::format("scope '{}' is not person or household", scope));
  r.person = scope == "person";
  ASSIGN_OR_RETURN(r.risk_type, b.String(*t, "risk_type", false));
  if (!r.risk_type.empty()) {
    bool known = false;
    for (std::string_view k : kRiskTypes) known |= k == r.risk_type;
    if (!known)
      return b.Error(t->get("risk_type"), fmt::format("risk_type '{}' is not one of {}",
                                                      r.risk_type, fmt::join(kRiskTypes, ", ")));
    if (r.category != Category::kRisk)
      return b.Error(t->get("risk_type"), "risk_type belongs only to rules of category risk");
  }
  ASSIGN_OR_RETURN(r.condition_text, b.String(*t, "condition", true));
  Compiler compiler(set.thresholds, set.usage, r.person);
  CompileError error;
  r.condition = compiler.Condition(r.condition_text, error);
  if (!r.condition)
    return b.ExprError(t->get("condition"), error, fmt::format("rule {} condition", r.id));
  for (auto [key, out] :
       {std::pair{"explain_zh", &r.explain_zh}, std::pair{"explain_en", &r.explain_en}}) {
    ASSIGN_OR_RETURN(std::string text, b.String(*t, key, true));
    if (!compiler.CompileTemplate(text, *out, error))
      return b.ExprError(t->get(key), error, fmt::format("rule {} {}", r.id, key));
  }
  if (r.person) r.household_guard = HouseholdGuard(*r.condition);
  r.variables = compiler.variables();
  r.slots = compiler.SlotCount();
  // A witness record names its file row in the evidence.
  for (const Variable& v : r.variables)
    if (v.entity >= 2) set.usage.Use(v.entity, Schema::Get().FindField(v.entity, "source_row"));
  set.rules.push_back(std::move(r));
  return OkStatus();
}

}  // namespace

Result<RuleSet> ParseRuleSet(std::string_view text, std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return Err(InvalidArgument(fmt::format("{}:{}:{}: {}", source, e.source().begin.line,
                                           e.source().begin.column, e.description())));
  }
  Builder b{text, source};
  RETURN_IF_ERROR(CheckKeys(b, root, {"version", "name", "settings", "thresholds", "line", "rule"},
                            "the file"));
  RuleSet set;
  set.source = std::string(source);
  set.sha256 = Sha256Hex(text);
  const toml::node* version = root.get("version");
  if (!version || version->value<int64_t>() != 1)
    return Err(b.Error(version, "version = 1 is required (the rules format this build reads)"));
  ASSIGN_OR_RETURN(set.name, b.String(root, "name", false));
  if (const toml::node* s = root.get("settings")) {
    const toml::table* st = s->as_table();
    if (!st) return Err(b.Error(s, "[settings] must be a table"));
    RETURN_IF_ERROR(CheckKeys(b, *st, {"as_of"}, "[settings]"));
    ASSIGN_OR_RETURN(set.as_of, b.String(*st, "as_of", false));
    if (!set.as_of.empty() && !ParseIsoDate(set.as_of))
      return Err(b.Error(st->get("as_of"), fmt::format("as_of '{}' is not a date", set.as_of)));
  }
  if (const toml::node* th = root.get("thresholds")) {
    const toml::table* tt = th->as_table();
    if (!tt) return Err(b.Error(th, "[thresholds] must be a table"));
    for (const auto& [k, v] : *tt) {
      const auto value = v.value<double>();
      if (!value || !std::isfinite(*value))
        return Err(b.Error(&v, fmt::format("threshold '{}' must be a finite number", k.str())));
      set.thresholds.values.emplace(std::string(k.str()), *value);
    }
  }
  if (const toml::node* lines = root.get("line")) {
    const toml::array* a = lines->as_array();
    if (!a) return Err(b.Error(lines, "lines are written as [[line]] tables"));
    for (const toml::node& n : *a) RETURN_IF_ERROR(ParseLine(b, n, set.thresholds));
  }
  const toml::node* rules = root.get("rule");
  const toml::array* a = rules ? rules->as_array() : nullptr;
  if (!a || a->empty()) return Err(b.Error(rules, "the file has no [[rule]]"));
  for (const toml::node& n : *a) RETURN_IF_ERROR(ParseRule(b, n, set));
  return set;
}

Result<RuleSet> LoadRuleSet(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, "rules file"));
  return ParseRuleSet(text, path.string());
}

Result<RuleSet> DefaultRuleSet() { return ParseRuleSet(DefaultRulesText(), "default.toml"); }

}  // namespace fupin::rules
