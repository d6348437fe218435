// A rules file (规则文件): poverty lines, thresholds and rules, each rule a condition in the
// expression language (rules/expr.h) with explanation templates. The file is TOML; its
// format is in docs/rules.md and the shipped default is data/rules/default.toml (built into
// the binary). A file with any error is refused as a whole, naming the line, column and
// reason: rules are never half-applied.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "rules/expr.h"
#include "rules/schema.h"
#include "rules/thresholds.h"

namespace fupin::rules {

enum class Category : uint8_t { kExclusion, kExitReady, kRisk, kPolicyGap, kDataQuality };
inline constexpr int kCategoryCount = 5;
std::string_view CategoryName(Category c);     // "exclusion", ...
std::string_view CategoryLabelZh(Category c);  // 不符合条件, ...

enum class Severity : uint8_t { kHigh, kMedium, kLow };
std::string_view SeverityName(Severity s);

struct Rule {
  std::string id;
  std::string name_zh;
  std::string name_en;
  Category category = Category::kDataQuality;
  Severity severity = Severity::kMedium;
  bool person = false;    // scope: person (once per member) or household
  std::string risk_type;  // risk rules: a risk type of DOMAIN.md §3.4 (因病, ...)
  std::string condition_text;
  std::unique_ptr<Node> condition;
  // Person rules: the conjuncts of the condition that depend on the household only (no
  // member, no quantifier), checked once per household before its members; may be null.
  std::unique_ptr<Node> household_guard;
  Compiler::Template explain_zh;
  Compiler::Template explain_en;
  std::vector<Variable> variables;  // the condition's variables (witnesses)
  int slots = 0;                    // slots the condition and templates need
};

struct RuleSet {
  std::string source;  // file name, or "built-in default"
  std::string sha256;  // of the file's bytes
  std::string name;
  std::string as_of;  // reference date for ages (YYYY-MM-DD); empty: end of the data year
  Thresholds thresholds;
  std::vector<Rule> rules;
  Usage usage;  // what the rules read
};

// Parses and compiles a rules file's text. `source` names it in errors
// ("rules.toml:12:7: ...").
Result<RuleSet> ParseRuleSet(std::string_view text, std::string_view source);
Result<RuleSet> LoadRuleSet(const std::filesystem::path& path);

// The default rules shipped with fupin (data/rules/default.toml).
std::string_view DefaultRulesText();
Result<RuleSet> DefaultRuleSet();

}  // namespace fupin::rules
