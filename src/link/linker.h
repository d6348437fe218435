// The person index (人员索引): links every department row to the registry person it is about.
//
// Stages, each recorded on the link it produced:
//  1. exact — the normalised ID number equals a registry member's;
//  2. repaired — the ID fails its check character (or names no real date): registry IDs one
//     substitution or one adjacent transposition away are tried, and one is accepted only
//     when name, birth date and region agree and no second candidate does;
//  3. probabilistic — rows with no ID, a malformed one or an unrepaired one: candidates from
//     three blocking keys (county + birth date; surname pinyin + birth year + sex; name +
//     county) are scored Fellegi–Sunter on name, birth date, sex and region, with m and u
//     estimated by EM on the candidate pairs and term-frequency-adjusted name agreement.
//     A row's probability is its best candidate's odds against "nobody" and all the other
//     candidates together: >= upper: linked; >= lower: review; else not linked.
// A valid ID that matches nobody is an outsider's and is not linked.
//
// Runs are incremental: when the registry is unchanged since the last run only department
// rows added or changed since then are linked again (and links of removed rows dropped),
// with the last run's model; otherwise (or with `full`) every row is, and the same data
// always gives the same links. A person's id is their registry ID number packed into an
// integer (PackIdNumber), so it never changes while the ID does not.
// Review decisions (store::LinkStore::DecideReview) bind every later run, --full included: a
// row whose candidate a person accepted is linked to that person; a rejected (row, person)
// pair is left out of the row's candidates, so it is neither linked nor queued again.
// A link's `levels` packs the agreement level of each field, 4 bits each in the order of
// kLinkFields (name, birth_date, sex, region); 15 = missing.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/actor.h"
#include "core/status.h"
#include "store/store.h"

namespace fupin::link {

inline constexpr std::array<std::string_view, 4> kLinkFields = {"name", "birth_date", "sex",
                                                                "region"};

struct LinkOptions {
  bool full = false;    // link every row even when the registry is unchanged
  double upper = 0.95;  // probability at or above which a candidate is linked
  double lower = 0.50;  // probability at or above which it goes to review
  int threads = 2;      // department tables read and matched in parallel
  Actor actor;          // who runs it: recorded on the run (user and role)
  // Called from the calling thread as work progresses: a stage name and a count done.
  std::function<void(std::string_view what, int64_t done, int64_t total)> progress;
};

struct DatasetLinkSummary {
  std::string dataset;
  int64_t rows = 0;  // rows considered in this run
  int64_t exact = 0, repaired = 0, probabilistic = 0, review = 0, unlinked = 0;
  int64_t accepted = 0;  // rows linked to the candidate a person accepted in review
  int64_t removed = 0;   // rows gone from the data set since the last run (their links dropped)
};

struct LinkSummary {
  int64_t run_id = 0;
  bool full = true;
  bool nothing_to_do = false;  // registry and every department file as the last run saw them
  int64_t registry_members = 0;
  int64_t persons = 0;  // distinct registry ID numbers (counted by full runs)
  std::vector<DatasetLinkSummary> datasets;
  int64_t candidate_pairs = 0;
  std::vector<std::pair<std::string, int64_t>> findings;  // kind -> count
  std::string model_json;
  struct Timings {
    double registry_s = 0;  // reading the registry and indexing its IDs
    double exact_s = 0;     // the exact stage: identity index read, IDs looked up, links written
    double rows_s = 0;      // rows read as rows: repaired stage, rows for the probabilistic one
    double write_s = 0;     // writing links during both (overlapped with the work)
    double probabilistic_s = 0;  // blocking, EM, scoring, writing
    double candidates_s = 0;     // of which finding candidate pairs (blocking index, 2 threads)
    double compare_s = 0;        // of which comparing them: the pair scoring (2 threads)
    double train_s = 0;          // of which estimating u (random pairs) and m (EM)
    double findings_s = 0, commit_s = 0, total_s = 0;
  } timings;
};

Result<LinkSummary> RunLinker(store::Store& store, const LinkOptions& options);

std::string LinkSummaryJson(const LinkSummary& summary);

}  // namespace fupin::link
