// The review queue (待核查关联): department rows whose best registry candidate the linker
// found likely but not certain (probability between --lower and --upper). A person looks at
// the row and the candidate side by side, with how each field agrees, and accepts the pair
// (it becomes a link) or rejects it (it is never linked or queued again, even by
// `fupin link --full`). Shared by the `fupin review` command and the coming HTTP server.
// Thread-safety: free functions; each call uses the store from one thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/actor.h"
#include "core/lang.h"
#include "core/status.h"
#include "store/store.h"

namespace fupin::service {

// One candidate, ready to show. ID numbers and names are masked unless the request said
// unmask (core/mask.h).
struct ReviewItem {
  std::string dataset;
  int64_t row_id = 0;
  int64_t source_row = 0;  // the row's data row number in its file (as `export links` shows)
  // The department row, as imported.
  std::string row_id_number, row_name, row_birth_date, row_region_code;
  int row_sex = 0;  // 1 male, 2 female, 0 unknown
  // The registry person (建档立卡人员) proposed; person_found is false when the registry
  // no longer lists the ID.
  bool person_found = false;
  std::string person_id_number, person_name, person_birth_date, person_household_id;
  int person_sex = 0;
  double weight = 0;       // match weight (log2 odds)
  double probability = 0;  // match probability
  std::array<int, 4>
      levels{};  // per link::kLinkFields (name, birth_date, sex, region); 15 = missing
};

struct ReviewListRequest {
  std::string dataset;     // one department data set; empty: all
  int64_t source_row = 0;  // one row (with dataset); 0: all
  size_t limit = 0;        // at most this many; 0: all
  bool unmask = false;
  Lang lang = Lang::kZh;
};

// The queue in data set and row order. kInvalidArgument naming an unknown data set. Reads
// the registry once to show the candidates (seconds at province scale).
Result<std::vector<ReviewItem>> ListReview(store::Store& store, const ReviewListRequest& request);

// "姓名" / "name", ... for field i of link::kLinkFields.
std::string_view ReviewFieldLabel(size_t field, Lang lang);
// What an agreement level means: "相同" / "identical", "同音" / "same pinyin", "缺失" /
// "missing", ... (docs/linkage.md lists them).
std::string_view ReviewLevelLabel(size_t field, int level, Lang lang);

struct ReviewDecisionRequest {
  std::string dataset;  // the department data set
  int64_t source_row = 0;
  bool accept = false;  // else reject
  Actor actor;          // who decides (user and role are recorded)
  std::string note;
  bool unmask = false;  // for the item returned
  Lang lang = Lang::kZh;
};

// Accepts or rejects the row's current candidate and returns it (as decided). Errors name
// what is wrong: kInvalidArgument for an unknown data set or a row number several rows share,
// kNotFound when the row has no candidate awaiting review (never queued, or already decided).
Result<ReviewItem> DecideReview(store::Store& store, const ReviewDecisionRequest& request);

}  // namespace fupin::service
