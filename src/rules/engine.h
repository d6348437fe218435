// Running a rule set over a store (规则运行): load what the rules read (rules/rule_data.h),
// evaluate every rule for every household (and every member for person-scope rules) on
// several threads, and hand the flags to the store, which keeps their life across runs.
#pragma once

#include <functional>
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

// Load, evaluate and record a run with its flags (one transaction).
Result<RunReport> RunRules(store::Store& store, const RuleSet& rules, const RunOptions& options);

}  // namespace fupin::rules
