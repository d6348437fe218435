// Portraits as shown (精准画像): a household or a village with personal data masked, codes as
// their labels, regions by name and money in yuan, in the change history too; as text for a
// terminal or as JSON (codes and labels both).
//
// Contract:
// - ID numbers and names are masked (core/mask.h) everywhere a person appears (fields, linked
//   records, flags' evidence, history) unless `mask.unmask`, which only a role allowed to see
//   them whole may set.
// - History values: money in yuan with 2 decimals (the store keeps fen), coded fields as
//   labels, the village by name; field names as their Chinese labels (en: the field names).
// - kNotFound (message in `lang`) names a household or village that does not exist.
// Thread-safe as far as the store is; the snapshot is only read.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "analytics/portrait.h"
#include "analytics/snapshot.h"
#include "core/lang.h"
#include "core/mask.h"
#include "core/status.h"
#include "store/store.h"

namespace fupin::service {

struct PortraitOptions {
  Lang lang = Lang::kZh;
  MaskPolicy mask;  // masked unless a role that may see IDs unmasks
  int threads = 2;
  // Finds linked records by lookup (a server's); nullptr: by scanning the links.
  const analytics::LinkedRowsIndex* index = nullptr;
  // Region names by code (a server's, read once); nullptr: read from the store.
  const std::unordered_map<std::string, std::string>* region_names = nullptr;
};

// One change of the history as shown.
struct HistoryLine {
  int64_t batch_id = 0;
  std::string at;                    // when the batch started (UTC)
  std::string entity_key;            // household_id, or household_id/ID number (masked)
  std::string field;                 // stored column, e.g. income_wage_fen
  std::string title;                 // 工资性收入 (en: income_wage)
  std::string old_value, new_value;  // yuan, labels, masked
  std::string old_code, new_code;    // the codes when the values are labels, else ""
};

struct HouseholdView {
  std::string household_id;
  analytics::HouseholdPortrait portrait;  // fields labelled (PortraitField::code keeps codes)
  std::vector<HistoryLine> history;
};

// Reads and renders one household. kNotFound when there is none.
Result<HouseholdView> ShowHousehold(store::Store& store, std::string_view household_id,
                                    const PortraitOptions& options);
std::string HouseholdText(const HouseholdView& view, Lang lang);
std::string HouseholdJson(const HouseholdView& view, Lang lang);

// A village's figures with labels. `village` is its 12-digit code (shorter digits are
// padded with zeros). kNotFound when the snapshot has no such village.
Result<analytics::VillagePortrait> ShowVillage(const analytics::Snapshot& snap,
                                               std::string_view village, Lang lang);
std::string VillageText(const analytics::Snapshot& snap, const analytics::VillagePortrait& p,
                        Lang lang);
std::string VillageJson(const analytics::Snapshot& snap, const analytics::VillagePortrait& p,
                        Lang lang);

}  // namespace fupin::service
