// What the rules engine reads and writes (规则存储): typed columns of any data set, the
// final links of each department row, rule runs and flags with their life (open, verified,
// dismissed, closed). Part of the Store (Store::Rules()); portable SQL for the PostgreSQL
// backend to come.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/actor.h"
#include "core/datasets.h"
#include "core/status.h"

namespace fupin::store {

// One cell read from a table; text views live until the callback returns.
struct Cell {
  enum class Kind : uint8_t { kNull, kInt, kReal, kText };
  Kind kind = Kind::kNull;
  int64_t i = 0;
  double r = 0;
  std::string_view text;
};

enum class FlagState : uint8_t { kOpen, kVerified, kDismissed, kClosed };
std::string_view FlagStateName(FlagState s);  // open, verified, dismissed, closed
std::optional<FlagState> ParseFlagState(std::string_view name);

// A flag as a rule run raises it. id_number is empty for household-scope rules. The key
// (rule, household_id, id_number) identifies the flag across runs.
struct RaisedFlag {
  std::string rule;
  std::string category;
  std::string severity;
  std::string household_id;
  std::string id_number;
  std::string village_code;
  std::string evidence_zh;
  std::string evidence_en;
  std::string evidence_dataset;  // the department record that is the evidence, if any
  int64_t evidence_row = 0;      // its data row number in the file; 0 when none
};

// flag_id is the flag's stable id (疑点编号): assigned by the store when its key is first
// raised and kept for good, since a flag that no longer holds is closed, never deleted, and
// reopens under the same id when it holds again. Worklists carry it so that verdicts come
// back to the right flag.
struct FlagRow {
  int64_t flag_id = 0;
  RaisedFlag flag;
  FlagState state = FlagState::kOpen;
  std::string note;
  std::string decided_by;  // the user of the last decision
  std::string decided_at;
  int64_t first_run = 0;
  int64_t updated_run = 0;  // the last run that opened, reopened or changed it
};

struct RuleRunInfo {
  Actor actor;  // who runs it (user and role are recorded)
  std::string rules_source;
  std::string rules_sha256;
  // The rules the run evaluated: only their flags can close. Empty: every rule's.
  std::vector<std::string> rules;
};

struct RuleRunOutcome {
  int64_t run_id = 0;
  int64_t opened = 0;    // new flags
  int64_t kept = 0;      // flags that still hold (state kept; rewritten only if changed)
  int64_t reopened = 0;  // closed flags that hold again
  int64_t closed = 0;    // flags that no longer hold
};

struct FlagFilter {
  std::string region;  // 12-digit code prefix of the household's village ("5201" + ...); empty: all
  std::string rule;    // empty: all
  std::optional<FlagState> state;
  std::string category;      // rules' category name ("exclusion", ...); empty: all
  std::string household_id;  // one household's flags (its index); empty: all
};

// One verdict of a batch (DecideFlags).
struct FlagDecision {
  int64_t flag_id = 0;
  FlagState state = FlagState::kOpen;  // verified, dismissed or open; never closed
  std::string note;
};

class RulesStore {
 public:
  virtual ~RulesStore() = default;

  // Reads `columns` of the data set's table in storage order. row_id is the row's id for
  // department data sets and 0 for the registry. Runs on a connection of its own, so scans
  // may run on several threads at once (inside a ReadView or WriteTxn: on the store's
  // connection, to see the view, and then from one thread at a time, as link_store.h says).
  virtual Status ScanColumns(
      const DatasetSpec& dataset, std::span<const std::string> columns,
      const std::function<void(int64_t row_id, std::span<const Cell>)>& fn) = 0;

  // The same for the department rows `row_ids` only (ascending), looked up one by one:
  // cheaper than a scan when they are few.
  virtual Status ReadRows(const DatasetSpec& dataset, std::span<const std::string> columns,
                          std::span<const int64_t> row_ids,
                          const std::function<void(int64_t row_id, std::span<const Cell>)>& fn) = 0;

  // The rows of households or members with this household_id (the registry's key), as
  // ScanColumns gives them (row_id 0); looked up by the key, for portraits.
  virtual Status ReadHousehold(
      const DatasetSpec& dataset, std::span<const std::string> columns,
      std::string_view household_id,
      const std::function<void(int64_t row_id, std::span<const Cell>)>& fn) = 0;

  // The household and name of every member ever registered in the household `household_id`
  // (every household when empty), including members who left it: their names may still be
  // quoted in evidence and history, and masking must know them all. Empty names are skipped.
  virtual Status ForEachMemberName(
      std::string_view household_id,
      const std::function<void(std::string_view household_id, std::string_view name)>& fn) = 0;

  // Every recorded change to a household and its members, oldest first.
  struct HistoryRow {
    int64_t batch_id = 0;    // 0 for a cadre's edit (store/edit_store.h)
    std::string at;          // when the batch started (UTC)
    std::string entity;      // household or member
    std::string entity_key;  // household_id, or household_id/id_number
    std::string field, old_value, new_value;
  };
  virtual Status ForEachHistory(std::string_view household_id,
                                const std::function<void(const HistoryRow&)>& fn) = 0;

  // The number of rows in the data set's table (to size memory before a scan); for a
  // department data set, the largest row id (an upper bound, found at once).
  virtual Result<int64_t> CountRows(const DatasetSpec& dataset) = 0;

  // The department rows linked to a person (exact, repaired or probabilistic; not review),
  // in row order, in pieces: rows[i] belongs to person persons[i] (PackIdNumber).
  virtual Status ScanLinkedRows(
      const DatasetSpec& dataset,
      const std::function<void(std::span<const int64_t> rows, std::span<const uint64_t> persons)>&
          fn) = 0;

  // Records a run and replaces the set of holding flags in one transaction: new keys open,
  // holding flags keep their state (closed ones reopen), flags of the run's rules that were
  // not raised close (flags of rules the run did not evaluate are left alone). Inside a
  // WriteTxn it joins that transaction; kFailedPrecondition inside a ReadView, batch or link
  // run (as SetFlagState and DecideFlags).
  virtual Result<RuleRunOutcome> ApplyRun(const RuleRunInfo& info,
                                          std::span<const RaisedFlag> flags,
                                          std::string_view summary_json) = 0;

  // A person's verdict on a flag: verified (true) or dismissed (false positive), or open
  // again, with a note. kNotFound when no such flag; closed flags cannot be decided.
  virtual Status SetFlagState(std::string_view rule, std::string_view household_id,
                              std::string_view id_number, FlagState state, std::string_view note,
                              const Actor& actor) = 0;

  // Applies every decision in one transaction, or none of them: kNotFound naming the first
  // flag_id that does not exist, kFailedPrecondition for a closed flag, kInvalidArgument for
  // a decision to close. Each change is logged in flag_events like SetFlagState's.
  virtual Status DecideFlags(std::span<const FlagDecision> decisions, const Actor& actor) = 0;

  // The flag with this id; nullopt when there is none.
  virtual Result<std::optional<FlagRow>> GetFlag(int64_t flag_id) = 0;

  // The rules that have any flag (in any state), sorted.
  virtual Result<std::vector<std::string>> FlagRules() = 0;

  // Flags in (rule, household, id) order.
  virtual Status ForEachFlag(const FlagFilter& filter,
                             const std::function<Status(const FlagRow&)>& fn) = 0;
};

}  // namespace fupin::store
