// Portraits (精准画像): one household with everything known about it, and one village in
// figures. Personal data is masked here unless the mask policy says otherwise (ID numbers
// keep their first 6 and last 4 characters, names their first character), in the fields, the
// linked records, the flags' evidence and the change history. Values are as stored (codes,
// yuan with 2 decimals; history values as the store keeps them, money in fen): labels and
// yuan for people are service/portrait.h's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analytics/query.h"
#include "analytics/snapshot.h"
#include "core/mask.h"
#include "core/status.h"
#include "store/rules_store.h"
#include "store/store.h"

namespace fupin::analytics {

struct PortraitField {
  std::string name;   // exchange-format column
  std::string label;  // Chinese label
  std::string value;  // masked where personal
  std::string code;   // the code when `value` shows its label (service/portrait.h), else ""
};

struct LinkedRecord {
  std::string dataset;   // e.g. health_claims
  std::string title_zh;  // 医疗救助
  int64_t source_row = 0;
  std::string member_id;  // the member it is linked to, masked
  std::vector<PortraitField> fields;
};

struct HouseholdPortrait {
  std::vector<PortraitField> household;
  std::vector<std::vector<PortraitField>> members;
  double per_capita_income = 0;  // NaN when the income is not known
  std::vector<LinkedRecord> records;
  std::vector<store::FlagRow> flags;  // every state, newest decision included
  std::vector<store::RulesStore::HistoryRow> history;
};

// Which department rows are linked to which person, for every department data set, in
// memory (12 bytes a linked row: about 400 MB at full scale): a server builds it once per
// link run so that a portrait finds a household's records by lookup instead of scanning
// every department's links (seconds at full scale). Immutable once built; thread-safe.
class LinkedRowsIndex {
 public:
  // Scans the links of every department data set (RulesStore::ScanLinkedRows).
  static Result<LinkedRowsIndex> Build(store::Store& store, int threads = 2);
  // The rows of `dataset` (its index in the department data sets, exchange order) linked to
  // `person` (PackIdNumber), ascending.
  void Find(size_t dataset, uint64_t person, std::vector<int64_t>& rows) const;
  size_t MemoryBytes() const;
  int64_t links_version = 0;  // Store::DataVersion::links it was built from

 private:
  struct Entry {
    uint64_t person;
    uint32_t row;
    bool operator<(const Entry& o) const {
      return person != o.person ? person < o.person : row < o.row;
    }
  } __attribute__((packed));
  std::vector<std::vector<Entry>> by_dataset_;
};

// kNotFound when there is no such household. Reads the household, its members and history by
// key, its flags through its village, and its members' linked records from every department
// (through `index` when given, else by scanning each department's links).
Result<HouseholdPortrait> ReadHouseholdPortrait(store::Store& store, std::string_view household_id,
                                                int threads = 2, const MaskPolicy& mask = {},
                                                const LinkedRowsIndex* index = nullptr);

// A village in figures: named sections, each a query answer over the snapshot.
struct VillagePortrait {
  std::string code, name, township, county, prefecture, province;  // the regions' names
  std::vector<std::pair<std::string, QueryResult>> sections;
  HouseholdList households;
  VillageAttributes attributes;  // 村情 from the villages data set; known false when absent
};
Result<VillagePortrait> BuildVillagePortrait(const Snapshot& snap, const std::string& village);

}  // namespace fupin::analytics
