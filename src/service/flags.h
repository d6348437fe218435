// Flags (疑点) as cadres work on them: the worklist export (疑点核查清单) with filters
// checked against what exists, and verdicts (核查结果) entered in bulk from a filled-in
// worklist. Shared by the `fupin` command and the coming HTTP server.
//
// A flag's stable id (疑点编号) is the store's flag_id (store/rules_store.h): given when a
// flag is first raised and kept across rule runs, so a worklist exported before a run
// still names the right flags after it.
// Thread-safety: free functions; each call uses the store from one thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/actor.h"
#include "core/lang.h"
#include "core/status.h"
#include "store/store.h"

namespace fupin::service {

struct FlagExportRequest {
  std::string region;    // a region code of any level in the store's regions; empty: all
  std::string rule;      // a built-in rule's id or a rule with flags in the store; empty: all
  std::string category;  // exclusion, exit_ready, risk, policy_gap, data_quality; empty: all
  std::string state;     // open, verified, dismissed or closed; empty: all
  bool unmask = false;   // show ID numbers and names in full (masked by default)
  Lang lang = Lang::kZh;
};

// The filter `request` asks for. kInvalidArgument naming the value when the rule, region,
// category or state is not one that exists (so a typo is an error, not an empty file).
Result<store::FlagFilter> MakeFlagFilter(store::Store& store, const FlagExportRequest& request);

// Writes the worklist of the flags `request` selects to `out`: .csv (UTF-8 with BOM, for
// Excel) or .xlsx, columns flag id, rule, category, household, ID number, state, evidence,
// village, evidence data set and row, 核查结果 (verdict) and 核查备注 (note), headed in the
// request's language. ID numbers and names (also inside the evidence) are masked unless
// request.unmask. Written through out + ".part" and renamed, so a half-written file is never
// seen. Returns the number of flags written; kInvalidArgument for a bad filter or an `out`
// that is neither .csv nor .xlsx, kUnavailable when it cannot be written.
Result<int64_t> ExportFlags(store::Store& store, const FlagExportRequest& request,
                            const std::filesystem::path& out);

// A verdict as a cadre writes it in the 核查结果 column: verified (已核实, 核实属实, 属实),
// dismissed (误报, 排除, 不属实) or open (待核查, 未核查), Chinese or English, any case;
// nullopt for anything else (closed is not a verdict).
std::optional<store::FlagState> ParseVerdict(std::string_view text);
// The word the worklist shows for a decided state: 已核实 / 误报 / 待核查 (or English).
std::string_view VerdictLabel(store::FlagState state, Lang lang);

// The verdict `state` with `note` on every flag of `ids` (duplicates count once), as a user
// decides them in the web app or through POST /api/flags/{id}/state: all or nothing. Every
// flag must exist (kNotFound naming the first that does not) and lie in `actor`'s region
// (kPermissionDenied naming the first outside; the caller audits the refusal); nothing is
// changed when any fails. kInvalidArgument when `ids` is empty or the note is over 4,000
// bytes; kFailedPrecondition for a closed flag (store/rules_store.h DecideFlags). Returns the
// ids decided, in the order given. Messages in `lang`.
Result<std::vector<int64_t>> DecideFlagsInScope(store::Store& store, const Actor& actor,
                                                std::span<const int64_t> ids,
                                                store::FlagState state, std::string_view note,
                                                Lang lang);

struct FlagImportRequest {
  std::filesystem::path file;  // a filled-in worklist, .xlsx or .csv
  bool dry_run = false;        // check and report only
  Actor actor;                 // who decides (user and role are recorded)
  Lang lang = Lang::kZh;       // of the messages in the report
};

struct FlagImportRow {
  enum class Outcome { kChanged, kUnchanged, kSkipped, kError };
  int64_t line = 0;     // the row's line (CSV) or sheet row (XLSX)
  int64_t flag_id = 0;  // 0 when the row names none that could be read
  Outcome outcome = Outcome::kSkipped;
  store::FlagState from = store::FlagState::kOpen;
  store::FlagState to = store::FlagState::kOpen;
  std::string message;  // why, for errors and skipped rows
};

struct FlagImportReport {
  std::vector<FlagImportRow> rows;  // every non-empty data row, in file order
  int64_t changed = 0, unchanged = 0, skipped = 0, errors = 0;
  bool applied = false;  // the changes are in the store (no errors, not a dry run)
};

// Reads the worklist and checks every row: its 疑点编号 names a flag that exists and still
// holds, the 核查结果 is a verdict, no flag appears twice, and the row's rule and household
// (when given) are the flag's. A row without a verdict is skipped. When no row has an error
// and it is not a dry run, every change is applied in one transaction (with user, time and
// note in the flag's history); otherwise nothing is. Row problems are in the report; Err
// only when the file cannot be read or is not a worklist (kNotFound, kInvalidArgument
// naming the missing column), or when the store fails (nothing applied then either).
Result<FlagImportReport> ImportFlagVerdicts(store::Store& store, const FlagImportRequest& request);

}  // namespace fupin::service
