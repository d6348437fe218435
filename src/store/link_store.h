// The person index's part of the store (人员索引): what the linker reads (registry members,
// the identity columns of department rows) and what it writes (persons, links, findings).
//
// A link run is published as one transaction: the writes between BeginRun and CommitRun are
// staged (the write lock is not held while the run computes) and CommitRun makes all of its
// links visible at once; AbortRun (or a crash) leaves the previous run's links in place.
// Thread-safety: the Scan* methods may be called from several threads at once (each call
// reads through its own connection); every other method is used from one thread at a time.
// While a ReadView or WriteTxn is open on the store, the scans read through the store's
// connection (to see the view) and the whole Store is used from one thread at a time.
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

// A registry member. Views are valid during the call.
struct RegistryMember {
  std::string_view id_number;  // normalised 18 characters
  std::string_view name;
  std::string_view birth_date;  // YYYY-MM-DD or empty
  std::string_view household_id;
  int sex = 0;  // 1 male, 2 female, 0 unknown
};

// The identity columns of one department row, as imported. Views are valid during the call.
struct DeptIdentity {
  int64_t row_id = 0;
  int64_t source_row = 0;
  std::string_view id_number;  // cleaned (normalised when valid); empty when the file had none
  int id_problem = -1;         // core IdProblem as int; -1 when the ID was empty
  std::string_view name;
  std::string_view birth_date;   // YYYY-MM-DD or empty
  std::string_view region_code;  // 12 digits, zero-padded from the file's precision; or empty
  int sex = 0;
};

// One block of a data set's identity index: every row's packed ID number (PackIdNumber; 0 when
// the ID is not valid) and ID problem (-1 none given, 0 valid, else core IdProblem), sorted by
// row_id. Spans are valid during the call.
struct IdentityBlock {
  std::span<const int64_t> row_ids;
  std::span<const uint64_t> ids;
  std::span<const int8_t> problems;
};

// Which rows of a department table a scan returns.
struct DeptScope {
  // 0: every row. Otherwise only rows added or changed by files newer than this file id.
  int64_t after_file_id = 0;
};

enum class LinkStage : uint8_t {
  kUnlinked = 0,
  kExact = 1,
  kRepaired = 2,
  kProbabilistic = 3,
  kReview = 4,  // a candidate awaits a person's decision; not a link
  // A review candidate a person accepted (ReviewDecision): a link. Shown by exports; stored
  // as a probabilistic link beside the decision, so every reader of links counts it.
  kAccepted = 5,
};
std::string_view LinkStageName(LinkStage stage);  // "exact", "repaired", ...

// A person is identified by their registry ID number, as the integer PackIdNumber gives
// (core/id_number.h): the same ID is the same person in every run, with no table to keep.
struct LinkRecord {
  int64_t row_id = 0;
  int64_t person_id = 0;  // PackIdNumber of the registry ID; 0 = no person
  LinkStage stage = LinkStage::kUnlinked;
  double weight = 0;       // match weight (log2 odds); 0 for exact links
  double probability = 1;  // match probability; 1 for exact links
  uint32_t levels = 0;     // packed field agreement levels (see link/linker.h); 0 for exact
};

// A registry data-quality finding (登记数据质量问题).
struct LinkFinding {
  std::string kind;  // same_person_two_households | shared_id | possible_duplicate
  std::string id_number;
  std::string household_id;
  std::string other_id_number;
  std::string other_household_id;
  std::string detail;
};

// A candidate in the review queue (待核查候选): a department row and the registry person the
// linker found most likely but below the link threshold.
struct ReviewCandidate {
  std::string dataset;
  int64_t row_id = 0;
  int64_t source_row = 0;  // the row's data row number in its file
  int64_t person_id = 0;   // PackIdNumber of the candidate's registry ID
  double weight = 0;
  double probability = 0;
  uint32_t levels = 0;  // packed field agreement levels (link/linker.h)
};

// A person's decision on a (row, person) pair, kept across link runs.
struct ReviewDecision {
  int64_t row_id = 0;
  int64_t person_id = 0;
  bool accepted = false;  // else rejected: the pair is never linked or queued again
  double weight = 0;      // the candidate's, when it was decided
  double probability = 0;
  uint32_t levels = 0;
};

struct LinkRunInfo {
  Actor actor;       // who runs it (user and role are recorded)
  bool full = true;  // every row considered (else only new and changed rows)
};

// What the previous committed run saw, for incremental runs.
struct LastLinkRun {
  int64_t run_id = 0;
  int64_t registry_file_id = 0;  // the members file current when it ran
  std::string params_json;       // the probabilistic model it used
  std::vector<std::pair<std::string, int64_t>> dataset_files;  // dataset -> file id it linked
};

// One line of `fupin export links`.
struct LinkExportRow {
  std::string_view dataset;
  int64_t source_row = 0;
  int64_t person_id = 0;  // 0 when not linked (review rows have 0 too)
  LinkStage stage = LinkStage::kUnlinked;
  std::optional<double> weight;
};

class LinkStore {
 public:
  virtual ~LinkStore() = default;

  // ---- reading ----
  // Households (id, 12-digit village code) and members, both in household_id order (byte
  // order), so that a member's household is found by walking the two in step.
  virtual Status ScanHouseholds(
      const std::function<void(std::string_view household_id, std::string_view village)>& fn) = 0;
  virtual Status ScanMembers(const std::function<void(const RegistryMember&)>& fn) = 0;
  // About how many members ScanMembers will give (to size buffers); may be off.
  virtual Result<int64_t> RegistrySizeHint() = 0;
  virtual Status ScanDepartment(const DatasetSpec& dataset, const DeptScope& scope,
                                const std::function<void(const DeptIdentity&)>& fn) = 0;
  // The identity index of `dataset` when the store has one for the file `file_id` (calls `fn`
  // per block, in row_id order, and returns true); false, without calling, when it has none.
  virtual Result<bool> ScanIdentity(const DatasetSpec& dataset, int64_t file_id,
                                    const std::function<void(const IdentityBlock&)>& fn) = 0;
  // The identity columns of the given rows (rows that no longer exist are skipped).
  virtual Status ScanDepartmentRows(const DatasetSpec& dataset, std::span<const int64_t> row_ids,
                                    const std::function<void(const DeptIdentity&)>& fn) = 0;
  // The exact links of the last run that wrote them, sorted by row_id, block by block.
  virtual Status ScanExactLinks(
      const DatasetSpec& dataset,
      const std::function<void(std::span<const int64_t> rows, std::span<const uint64_t> persons)>&
          fn) = 0;
  // Rows of `dataset` removed by files newer than `after_file_id`.
  virtual Result<std::vector<int64_t>> GoneRows(const DatasetSpec& dataset,
                                                int64_t after_file_id) = 0;
  // The file whose rows are the current data of `dataset`; 0 when none.
  virtual Result<int64_t> CurrentFileId(std::string_view dataset) = 0;
  virtual Result<std::optional<LastLinkRun>> LastRun() = 0;

  // ---- writing: one run, one transaction ----
  // kFailedPrecondition when a run, batch, ReadView or WriteTxn is open on the store.
  virtual Result<int64_t> BeginRun(const LinkRunInfo& info) = 0;
  // Replaces every exact link of `dataset` (rows sorted by row_id, persons parallel). Exact
  // links are kept as columnar blocks, not as rows of links_<dataset>: there are tens of
  // millions of them and nothing to explain.
  virtual Status ReplaceExactLinks(const DatasetSpec& dataset, std::span<const int64_t> rows,
                                   std::span<const uint64_t> persons) = 0;
  // Removes every link of `dataset` (a full run writes them all again).
  virtual Status ClearLinks(const DatasetSpec& dataset) = 0;
  // Inserts or replaces repaired, probabilistic and review links; rows with stage kUnlinked
  // are removed instead.
  virtual Status PutLinks(const DatasetSpec& dataset, std::span<const LinkRecord> links) = 0;
  virtual Status RemoveLinks(const DatasetSpec& dataset, std::span<const int64_t> row_ids) = 0;
  virtual Status ReplaceFindings(std::span<const LinkFinding> findings) = 0;
  // Records what the run saw and publishes the run in one short transaction. kAborted when
  // another run was published since BeginRun (its basis is stale: run again).
  virtual Status CommitRun(const LastLinkRun& seen, std::string_view summary_json) = 0;
  virtual void AbortRun() = 0;

  // ---- the review queue ----
  // Review candidates of `dataset` (every department data set when empty), in data set and
  // row order. With `source_row` > 0, only that row's.
  virtual Status ForEachReview(std::string_view dataset, int64_t source_row,
                               const std::function<Status(const ReviewCandidate&)>& fn) = 0;
  // Records a decision on the row's current review candidate, in one transaction: accepted
  // makes the candidate a link (kAccepted); rejected removes it from the queue. The decision
  // is kept (with the actor's user and role, and the time) for every later run. kNotFound
  // when the row has no review candidate for `person_id`; kFailedPrecondition while a link
  // run or a read view is open. Inside a WriteTxn it joins that transaction.
  virtual Status DecideReview(const DatasetSpec& dataset, int64_t row_id, int64_t person_id,
                              bool accept, const Actor& actor, std::string_view note) = 0;
  // Every decision on rows of `dataset`, by row_id; read by link runs, which link accepted
  // pairs as decided and never propose a rejected pair again.
  virtual Result<std::vector<ReviewDecision>> ReviewDecisions(const DatasetSpec& dataset) = 0;

  // ---- export ----
  // Every department row of every data set, in data set and row order, with its link.
  virtual Status ForEachLinkRow(const std::function<Status(const LinkExportRow&)>& fn) = 0;
  virtual Status ForEachFinding(const std::function<Status(const LinkFinding&)>& fn) = 0;
};

}  // namespace fupin::store
