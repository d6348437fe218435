// Running a rule set over a store (规则运行): load what the rules read (rules/rule_data.h),
// evaluate every rule for every household (and every member for person-scope rules) on
// several threads, and hand the flags to the store, which keeps their life across runs.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/actor.h"
#include "core/status.h"
#include "rules/rule_data.h"
#include "rules/rule_set.h"
#include "store/store.h"

namespace fupin::rules {

struct RunOptions {
  int threads = 2;
  Actor actor;  // who runs it: recorded on the run (user and role)
  // Progress lines ("members 7,427,205"), called from the calling thread only.
  std::function<void(std::string_view phase, int64_t done, int64_t total)> progress;
};

struct RuleCount {
  std::string rule;
  std::string prefecture;  // 12-digit code
  int64_t flags = 0;
};

struct RunReport {
  store::RuleRunOutcome outcome;
  int64_t households = 0;
  int64_t members = 0;
  int64_t records = 0;  // linked department records loaded
  int data_year = 0;
  std::string as_of;
  std::vector<int64_t> flags_by_rule;  // in rule order
  std::vector<RuleCount> by_prefecture;
  std::vector<std::string> warnings;  // e.g. no exit line for a year found in the data
  double load_seconds = 0;
  double eval_seconds = 0;
  double write_seconds = 0;
};

// Reads the registry and the linked department records the rule set uses.
Result<RuleData> LoadRuleData(store::Store& store, const RuleSet& rules, const RunOptions& options,
                              std::vector<std::string>* warnings = nullptr);

// Evaluates every rule; flags in household order, then rule order, then member order.
std::vector<store::RaisedFlag> Evaluate(const RuleSet& rules, const RuleData& data, int threads,
                                        std::vector<int64_t>* flags_by_rule = nullptr);

// The rules that hold or not by one household's own rows: those that reach no department
// records and no other household (id_households). [r] for rules.rules[r].
std::vector<bool> HouseholdLocalRules(const RuleSet& rules);

// Reads the stored `columns` of one household's row (entity kHousehold) or of each of its
// member rows in id_number order, members who left included (entity kMember), calling `fn`
// per row: a store's edit transaction, so that the household is evaluated as it will be
// committed.
using HouseholdReader =
    std::function<Status(int entity, std::span<const std::string> columns,
                         const std::function<void(std::span<const store::Cell>)>& fn)>;

struct HouseholdEvaluation {
  std::vector<std::string> rules;        // the rules evaluated (HouseholdLocalRules)
  std::vector<store::RaisedFlag> flags;  // the flags they raise on the household
};

// Evaluates the household-local rules for the one household `read` gives, ages counted on
// `as_of_days` (the day the last full run used: Snapshot::as_of_days). Rules reaching
// department records or other households are left out (their flags are the next full
// run's). kNotFound when `read` gives no household row. Thread-safe: reads `rules` only.
Result<HouseholdEvaluation> EvaluateHousehold(const RuleSet& rules, const HouseholdReader& read,
                                              long as_of_days);

// Load, evaluate and record a run with its flags (one transaction).
Result<RunReport> RunRules(store::Store& store, const RuleSet& rules, const RunOptions& options);

}  // namespace fupin::rules
