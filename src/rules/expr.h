// The rule expression language (规则表达式): conditions over a household, its members and
// their linked department records, and explanation templates that quote the evidence.
// Grammar, names, functions and null semantics: docs/rules.md. Compiling checks every name
// and type and reports the offset of the first error; evaluation cannot fail.
// Compiled expressions are immutable and may be evaluated from many threads, each with its
// own Env.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/lang.h"
#include "rules/rule_data.h"
#include "rules/schema.h"
#include "rules/thresholds.h"

namespace fupin::rules {

enum class Op : uint8_t {
  kConst,
  kVar,    // a variable: a household, member or record
  kField,  // slot's entity field
  kNeg,
  kNot,
  kAnd,
  kOr,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kIn,  // kids[0] in list
  kIsNull,
  kCoalesce,
  kAbs,
  kYearsBetween,  // whole years from kids[0] to kids[1]
  kYearOf,
  kHasCode,   // has(codes, code)
  kContains,  // contains(text, part)
  kLine,      // aux = LineKind; kids[0] = year
  kAsOf,      // the reference date of the run (as_of)
  kScalarMin,
  kScalarMax,
  kAny,  // kids[0] collection; kids[1] predicate (optional); slot = lambda variable
  kAll,
  kCount,
  kSum,
  kMinOf,
  kMaxOf,
  kMembers,           // the members of the household
  kMemberRecords,     // records of data set `entity` linked to the member in `slot`
  kHouseholdRecords,  // records of data set `entity` linked to any member of the household
};

struct Node {
  Op op = Op::kConst;
  VType type = VType::kNull;
  int entity = -1;  // entity of a variable, field or collection element
  int slot = -1;    // variable slot
  int field = -1;
  int aux = 0;
  double num = 0;    // constant number, date (days), bool (0/1); NaN = null
  std::string text;  // constant text
  std::vector<double> list_num;
  std::vector<std::string> list_text;
  std::vector<Node> kids;
  uint32_t pos = 0;    // byte offset in the source text
  bool binds = false;  // the subtree binds a variable (holds a quantifier with one)
};

// A value during evaluation. Numbers, dates and bools in `num` (NaN = missing); text in
// `text` (empty = missing); variables as a row in `row`.
struct Val {
  double num = 0;
  std::string_view text;
  uint32_t row = 0;
  bool null = false;
};

struct CompileError {
  uint32_t pos = 0;  // byte offset in the text
  std::string message;
};

struct Variable {
  std::string name;
  int entity = -1;
  int slot = -1;
};

// Compiles the condition and the explanation templates of one rule. Slot 0 is `household`;
// with person scope slot 1 is `member`. Each lambda variable (`v` in any(c, v => ...)) gets
// a slot of its own and stays visible to the templates, where it names the witness that
// made the condition true (see docs/rules.md).
class Compiler {
 public:
  Compiler(const Thresholds& thresholds, Usage& usage, bool person_scope);

  // A condition: must be of type bool.
  std::unique_ptr<Node> Condition(std::string_view text, CompileError& error);
  // A template: literal text with {expression} parts; {{ and }} stand for braces.
  struct Part {
    std::string literal;
    std::unique_ptr<Node> expr;  // null for a literal part
  };
  using Template = std::vector<Part>;
  bool CompileTemplate(std::string_view text, Template& out, CompileError& error);

  int SlotCount() const { return slot_count_; }
  const std::vector<Variable>& variables() const { return variables_; }

 private:
  friend class Parser;
  const Thresholds& thresholds_;
  Usage& usage_;
  bool person_;
  std::vector<Variable> variables_;
  int slot_count_ = 0;
};

// Evaluation state of one thread.
struct Env {
  const RuleData* data = nullptr;
  const Thresholds* thresholds = nullptr;
  std::vector<uint32_t> slots;
  // Bit s: slot s holds a value (a witness once its quantifier held). A rule has at most
  // kMaxSlots variables.
  uint64_t bound = 0;
  std::string_view region;  // the household's village code, for lines

  bool Bound(int slot) const { return (bound >> slot) & 1u; }
  void Bind(int slot, bool on) {
    const uint64_t bit = uint64_t{1} << slot;
    bound = on ? (bound | bit) : (bound & ~bit);
  }
  void Reset(int slot_count, uint32_t household) {
    if (slots.size() < static_cast<size_t>(slot_count))
      slots.resize(static_cast<size_t>(slot_count));
    slots[0] = household;
    bound = 1;
  }
};
inline constexpr int kMaxSlots = 64;

Val Eval(const Node& node, Env& env);
bool EvalBool(const Node& node, Env& env);

using fupin::Lang;
// Renders a template: numbers with up to two decimals, dates as YYYY-MM-DD, a record as its
// file and row, missing values and unbound variables as "—".
std::string Render(const Compiler::Template& t, Env& env, Lang lang);

}  // namespace fupin::rules
