// The analytics snapshot (分析快照): the registry, the link results and the flags held in
// memory as dictionary-coded columns, for queries in milliseconds (query.h).
//
// Layout. Households are sorted by village code, so every region at every level is one range
// of villages and one range of households; members follow their households. A household
// changed after the build (UpsertHousehold) is patched in place when it keeps its village
// and member count; otherwise the old rows are marked dead and the new ones appended after
// the sorted part, where queries test the region row by row. Nothing is rebuilt for one
// household's change.
//
// Keeping current. The snapshot records the store's DataVersion it was built from. Refresh()
// reads again only the parts that changed: the households edited since its edit watermark
// after cadres' edits, flags after a rule run or a flag decision (less than a second at full
// scale), the link bits after a link run, everything after an import of registry files.
// Save()/Load() keep it in one file next to the database, so a process starts in well under a
// second instead of reading the store.
//
// Thread-safety: const methods may run on any number of threads at once; a writer (Upsert,
// Refresh) needs exclusive access. A server shares one through analytics/snapshot_holder.h.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/status.h"
#include "rules/engine.h"
#include "rules/rule_data.h"
#include "store/store.h"

namespace fupin::analytics {

// Values of one coded dimension: code 0 is the missing value (""), others index `values`.
struct Dict {
  std::vector<std::string> values{""};
  std::unordered_map<std::string, uint8_t> index;
  // The code of `value`, added when new; fails past 255 values.
  Result<uint8_t> Code(const std::string& value);
};

// Coded household and member dimensions, in column order.
enum HouseholdDim : uint8_t {
  kStatus,
  kCategory,
  kPrimaryCause,
  kIncomeYear,
  kRegisteredYear,
  kExitYear,
  kHousingSafe,
  kWaterSafe,
  kElectricity,
  kHouseholdDims
};
enum MemberDim : uint8_t {
  kSex,
  kRelation,
  kEthnicity,
  kEducation,
  kInSchool,
  kHealth,
  kLabor,
  kWorkStatus,
  kAgeBand,
  kMedicalInsured,
  kMemberDims
};
enum Money : uint8_t { kPerCapita, kWage, kBusiness, kProperty, kTransfer, kMoneyColumns };

inline constexpr int kRegionLevels = 5;  // province .. village

// One household as a writer hands it to the snapshot: codes as the exchange format writes
// them ("1", "02"); money NaN when missing.
struct HouseholdRecord {
  std::string household_id;
  std::string village_code;
  std::array<std::string, kHouseholdDims> dims;
  std::array<double, kMoneyColumns> money;
  struct Member {
    std::array<std::string, kMemberDims> dims;  // the age band as AgeBand() gives it
    uint16_t linked = 0;                        // bit i: linked to Snapshot::datasets[i]
  };
  std::vector<Member> members;
  double lat = std::nan(""), lon = std::nan("");  // GPS of the home (WGS-84), NaN unknown
};

// A village's attributes (村情) from the exchange format's villages data set: every field
// empty (known false) when the village has no row. Codes as the format writes them.
struct VillageAttributes {
  bool known = false;
  std::string terrain;     // code of the terrain list ("3"), "" unknown
  std::string industries;  // main industries, separated by 、 as sent
  // 1 yes, 0 no, -1 unknown: hard-surfaced road, tap or safe water, power grid, broadband,
  // clinic, primary school or teaching point.
  std::array<int8_t, 6> facilities{-1, -1, -1, -1, -1, -1};
  double distance_km = std::nan("");        // to the township seat
  double collective_income = std::nan("");  // yuan per year
};
enum VillageFacility : uint8_t { kRoad, kWater, kPower, kBroadband, kClinic, kSchool };

// Household counts and income sums pre-aggregated by region (every level), at most one
// household dimension and status (汇总立方体): the dashboard's commonest questions (how many
// households and persons per region, cause, year and status; income sums per region) are
// answered from it in microseconds instead of a scan (query.cc). Derived: built after a
// snapshot is built or loaded (about 0.1 s at full scale), kept current by UpsertHousehold
// and RemoveHousehold, not saved.
// Slots: one per household dimension, then "none", then the three conditions together
// (housing_safe × water_safe × electricity, the 三保障 questions that cross them).
inline constexpr int kCubeNone = kHouseholdDims;
inline constexpr int kCubeConditions = kHouseholdDims + 1;
inline constexpr int kCubeSlots = kHouseholdDims + 2;
enum CubeMoney : uint8_t {
  kCubePcSum,
  kCubePcCount,
  kCubeWage,
  kCubeBusiness,
  kCubeProperty,
  kCubeTransfer,
  kCubeMoneyColumns
};
struct Cube {
  bool valid = false;
  uint32_t statuses = 0;                     // codes of the status dictionary when built
  std::array<uint32_t, kCubeSlots> cards{};  // codes per slot (1 for "none")
  // The conditions slot's code of a household: (housing * cards[water] + water) *
  // cards[electricity] + electricity.
  // [level][slot]: index ((region * cards[slot]) + code) * statuses + status.
  std::array<std::array<std::vector<uint32_t>, kCubeSlots>, kRegionLevels> households, persons;
  // [level]: index (region * statuses + status) * kCubeMoneyColumns + column.
  std::array<std::vector<double>, kRegionLevels> money;
  std::array<std::vector<uint32_t>, kRegionLevels> parent;  // region -> its region one level up
  // Income ranks (Snapshot::h_income_rank) counted in buckets of 2^rank_shift ranks per
  // region of the province, prefecture and county levels and status, for medians; index
  // ((region * statuses + status) * rank_buckets + bucket). Used while ranks_valid holds.
  static constexpr int kRankLevels = 3;
  uint32_t rank_buckets = 0;
  int rank_shift = 0;
  std::array<std::vector<uint32_t>, kRankLevels> rank_hist;
  // Active flags per region of the province, prefecture and county levels, status and rule
  // (index 0: households without any): households, persons and flags; index
  // (region * statuses + status) * flag_rules + rule + 1.
  static constexpr int kFlagLevels = 3;
  uint32_t flag_rules = 0;  // rules.size() + 1 when built
  std::array<std::vector<uint32_t>, kFlagLevels> flag_households, flag_persons, flag_counts;
  // Members of the whole province by every pair of member dimensions and household status:
  // pair (a, b), a < b, at PairIndex(a, b); index (code_a * m_cards[b] + code_b) * statuses
  // + status.
  static constexpr int kPairs = kMemberDims * (kMemberDims - 1) / 2;
  static constexpr int PairIndex(int a, int b) {
    return a * (2 * kMemberDims - a - 1) / 2 + b - a - 1;
  }
  std::array<uint32_t, kMemberDims> m_cards{};
  std::array<std::vector<uint32_t>, kPairs> pairs;
  // Members per province, prefecture and county, status and department data set they are
  // linked to (index 0: members linked to none); index (region * statuses + status) *
  // link_sets + set.
  static constexpr int kLinkLevels = 3;
  uint32_t link_sets = 0;  // datasets.size() + 1 when built
  std::array<std::vector<uint32_t>, kLinkLevels> linked_persons;
};

// The age band of an age in whole years ("0-6", "7-15", "16-59", "60+"; "" when unknown).
std::string AgeBand(double age);

// Reads one household as the store holds it into `r`: `read` gives its stored columns (an
// edit transaction, to see it as it will be committed, or StoreHouseholdReader); members who
// left are skipped; ages are counted on `as_of_days`; a member's link bits are
// linked[id_number] (0 when absent: an edit does not change links). kNotFound when `read`
// gives no household row. Thread-safe: touches `r` and what `read` touches only.
Status ReadHouseholdRecord(const rules::HouseholdReader& read, std::string_view household_id,
                           long as_of_days, const std::unordered_map<std::string, uint16_t>& linked,
                           HouseholdRecord& r);

// A reader of household `household_id`'s committed rows through store.Rules().ReadHousehold
// (members who left are not given). Uses `store` from the calling thread; both arguments
// must outlive it.
rules::HouseholdReader StoreHouseholdReader(store::Store& store, const std::string& household_id);

struct Snapshot {
  // The store's parts it holds. version.edits is its edit watermark: every edit up to it is
  // in; deltas applied after (SnapshotHolder::Apply) do not move it.
  store::Store::DataVersion version;
  long as_of_days = 0;  // ages are counted on this day
  int data_year = 0;

  // Regions: every village of the store, by code; a village's region at each level.
  std::array<std::vector<std::string>, kRegionLevels> region_codes;  // [level] sorted
  std::array<std::vector<std::string>, kRegionLevels> region_names;
  std::array<std::vector<uint32_t>, kRegionLevels> village_region;  // [level][village]

  // Households; [0, sorted_households) in village order, the rest appended by upserts.
  uint32_t households = 0;
  uint32_t sorted_households = 0;
  std::vector<uint32_t> village_begin;  // households of village v: [begin[v], begin[v+1])
  rules::HugeVector<uint32_t> h_village;
  rules::HugeVector<uint8_t> h_alive;
  std::array<rules::HugeVector<uint8_t>, kHouseholdDims> h_dims;
  std::array<Dict, kHouseholdDims> h_dicts;
  std::array<rules::HugeVector<double>, kMoneyColumns> h_money;
  // GPS of each household's home in millionths of a degree (WGS-84 as stored), kNoGeo when
  // unknown: 8 bytes a household for the maps' points (RegionPoints).
  static constexpr int32_t kNoGeo = INT32_MIN;
  rules::HugeVector<int32_t> h_lat, h_lon;
  rules::HugeVector<uint32_t> member_begin;  // members of h: [member_begin[h], member_begin[h+1])
  rules::HugeVector<uint32_t> id_end;        // household ids, one buffer
  std::string id_text;
  // Open addressing over household indices by id (copy-safe: no views into id_text);
  // dead households are skipped on lookup.
  std::vector<uint32_t> id_slots;

  // Per-capita incomes in ascending order (live households with an income) and each
  // household's position there (UINT32_MAX when it has none), for medians: valid until an
  // upsert changes incomes (then queries fall back to the values themselves).
  std::vector<double> income_sorted;
  rules::HugeVector<uint32_t> h_income_rank;
  rules::HugeVector<uint32_t> income_order;  // rank -> household (not saved: derived on load)
  bool ranks_valid = false;
  void IndexIncomes();
  void IndexIncomeOrder();  // income_order from h_income_rank; ranks_valid false if not a bijection

  // Members.
  uint32_t members = 0;
  std::array<rules::HugeVector<uint8_t>, kMemberDims> m_dims;
  std::array<Dict, kMemberDims> m_dicts;
  rules::HugeVector<uint32_t> m_household;
  rules::HugeVector<uint16_t> m_linked;  // bit i: linked to a record of datasets[i]
  std::vector<std::string> datasets;     // department data sets, in exchange order

  // Active flags (open or verified) per household: entries [flag_begin[h], flag_begin[h+1]).
  struct FlagEntry {
    uint8_t rule;    // index into `rules`
    uint16_t count;  // flags of that rule on the household (person-scope rules: per member)
  };
  std::vector<uint32_t> flag_begin;
  std::vector<FlagEntry> flag_entries;
  std::vector<std::string> rules;  // rule ids seen, sorted
  // Each rule's category (rules' `category`: "risk" for the return-to-poverty monitoring
  // rules), parallel to `rules`; "" for a rule first seen through an upsert.
  std::vector<std::string> rule_categories;
  static constexpr std::string_view kMonitoringCategory = "risk";
  // Whether household h is monitored (防返贫监测): it has an active flag of a rule of
  // category "risk" (docs/query.md, monitored_persons).
  bool Monitored(uint32_t h) const;
  std::vector<uint32_t> flagged;  // households with any active flag, ascending (derived)

  // Facts about a household's members, for the MPI's member indicators (query.h), derived on
  // build, load, link refresh and upsert: bit kOutOfSchool, a member aged 7-15 out of school;
  // kUninsured, a member not insured by the registry; kUnenrolled, a member without a linked
  // health_enrollment record; kEnrolled, a member with one.
  enum MemberFact : uint8_t { kOutOfSchool = 1, kUninsured = 2, kUnenrolled = 4, kEnrolled = 8 };
  rules::HugeVector<uint8_t> h_member_facts;
  uint8_t MemberFactsOf(uint32_t h) const;
  void IndexMemberFacts();

  // Village attributes by village index (region_codes[4] order).
  std::vector<VillageAttributes> villages;

  Cube cube;
  void BuildCube();
  // Adds (sign 1) or takes away (sign -1) live household h in the cube: its counts and sums at
  // the levels from `from_level` down to the village, its income rank and flags at every
  // level that has them, and its members' pairs when `with_pairs`.
  void CubeAdd(uint32_t h, int sign, int from_level = 0, bool with_pairs = true);
  // Adds `one` (1, or UINT32_MAX to take one away) for each member of h to `pairs`.
  void AddPairs(uint32_t h, uint32_t one,
                std::array<std::vector<uint32_t>, Cube::kPairs>& pairs) const;

  std::string_view HouseholdId(uint32_t h) const {
    const uint32_t b = h ? id_end[h - 1] : 0;
    return std::string_view(id_text).substr(b, id_end[h] - b);
  }
  int64_t LiveHouseholds() const;
  size_t MemoryBytes() const;

  // Household h as a record (to change and upsert); h must be live.
  HouseholdRecord Record(uint32_t h) const;
  // The live household with this id, or UINT32_MAX.
  uint32_t Find(std::string_view household_id) const;
  void IndexIds();  // rebuilds id_slots

  // Adds or replaces one household and its members (a cadre's update, once committed to the
  // store). With `flag_counts`, its active flags become these (rule id, active flags of the
  // rule on the household; zero counts dropped) and the cube's flag counts follow; a rule id
  // the snapshot has not seen is added (entries renumbered, the cube built again). The
  // household's rows are patched in place when it keeps its village, member count and
  // number of flagged rules; otherwise it moves to the appended part. Fails, changing
  // nothing, on an unknown village, a dictionary that is full or more than 255 rules.
  Status UpsertHousehold(
      const HouseholdRecord& record,
      const std::vector<std::pair<std::string, uint16_t>>* flag_counts = nullptr);
  // The active flags of live household h as (rule id, count), to pass back to UpsertHousehold.
  std::vector<std::pair<std::string, uint16_t>> FlagCounts(uint32_t h) const;
  // Codes (rule id, count) pairs as entries, adding new rule ids (see UpsertHousehold).
  Status CodeFlags(const std::vector<std::pair<std::string, uint16_t>>& counts,
                   std::vector<FlagEntry>& out);
  // Drops a household; false when it is not in the snapshot.
  bool RemoveHousehold(std::string_view household_id);
};

struct BuildOptions {
  int threads = 2;
  // Refresh builds instead of patching when more households than this were edited since
  // the snapshot's watermark; 0: the larger of 10,000 and a tenth of its households.
  size_t rebuild_after_edits = 0;
  std::function<void(std::string_view phase)> progress;
};

// The centre of a region's households on a map: the mean GPS (WGS-84 degrees) of its live
// households that have one; lat and lon NaN when none has.
struct GeoPoint {
  double lat = std::nan(""), lon = std::nan("");
  int64_t households = 0;  // households with GPS counted
};
// The point of every region of level `level` (1 prefecture .. 4 village) lying in region
// `parent` (a 12-digit code of level `level - 1`), by region index at `level` (other regions
// keep NaN). Reads the parent's households only: a range of the village-sorted rows, plus the
// appended part. kInvalidArgument for a level out of range or an unknown parent.
Result<std::vector<GeoPoint>> RegionPoints(const Snapshot& snap, int level,
                                           std::string_view parent);

// Reads everything from the store.
Result<Snapshot> BuildSnapshot(store::Store& store, const BuildOptions& options = {});

// Brings `snap` up to the store's current DataVersion, reading only the parts that changed:
// a new registry file rebuilds everything; edits (version.edits moved) read again just the
// households edited after the watermark (their rows and active flags; members' link bits
// kept, or links read again when a household's members changed) and upsert them (a build
// instead when more were edited than options.rebuild_after_edits); a link
// run reads the link bits; flags (a rule run, a decision) read the flags. Re-reading a
// household already current (an edit applied as a delta) changes nothing it shows.
// Returns which parts it read ("registry", "edits", "links", "flags"), empty when it was
// current. On failure `snap` may be partly refreshed (its version unchanged): refresh a copy
// to keep the original (SnapshotHolder does).
Result<std::vector<std::string>> Refresh(store::Store& store, Snapshot& snap,
                                         const BuildOptions& options = {});

// The snapshot file: a header with a format version, then the columns. Written atomically.
Status SaveSnapshot(const Snapshot& snap, const std::string& path);
Result<Snapshot> LoadSnapshot(const std::string& path);

// The snapshot's tables as CSV in `dir` (households.csv, members.csv, flags.csv), codes as
// the query model shows them: for checking and for peers in benchmarks (bench/query-peers).
Status ExportSnapshotCsv(const Snapshot& snap, const std::string& dir);

// The snapshot for `db_path`'s store: loaded from `db_path + ".snapshot"` when that file
// exists, then refreshed; built when it does not exist or cannot be read. Saved again when
// anything changed. `how` says what happened ("loaded", "refreshed flags", "built").
Result<Snapshot> OpenSnapshot(store::Store& store, const std::string& db_path,
                              const BuildOptions& options = {}, std::string* how = nullptr);

}  // namespace fupin::analytics
