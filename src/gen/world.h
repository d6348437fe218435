// The plan of a synthetic province: the real regions with their weights, how many poor
// households each village gets, and the pool of people outside the registry that
// department files draw from. Built once per run from (seed, scale); read-only afterwards,
// so every worker thread shares one Plan. Internal to src/gen.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "gen/layout.h"
#include "gen/names.h"
#include "gen/rng.h"

namespace fupin::gen {

// The data year: ages, incomes and statuses are as of 2019-12-31.
inline constexpr int kDataYear = 2019;
// Per-capita net income lines for 2019, in fen (DOMAIN.md §2.1): the NBS national line and
// Guizhou's exit line (3,535 in 2018 × 1.06).
inline constexpr int64_t kNbsLine2019Fen = 321800;
inline constexpr int64_t kGuizhouLine2019Fen = 374700;

struct PrefectureInfo {
  std::string_view code4;
  std::string_view short_name;
  std::string_view city;                         // seat city, for property purchases
  char plate_letter;                             // 贵A ... 贵J
  double lat, lon;                               // rough centroid
  double poor_weight;                            // share of registered poor households
  double pop_weight;                             // share of the general population
  std::array<double, kEthnicGroupCount> ethnic;  // percent by EthnicGroup
};

struct Prefecture {
  const PrefectureInfo* info;
  std::string code12;
  std::string name;
};

struct County {
  std::string code6;
  std::string name;
  std::string short_name;  // 威宁, 南明, 清镇
  int prefecture = 0;
  int first_township = 0, township_count = 0;
  int first_village = 0, village_count = 0;
  double lat = 0, lon = 0;
  double pop_weight = 0;
  Weighted ethnic;  // over EthnicGroup
};

struct Township {
  std::string code12;
  std::string name;
  int county = 0;
  int index_in_county = 0;
  int index_in_prefecture = 0;
  int first_village = 0, village_count = 0;
  int64_t first_household = 0;  // global household index of its first household
  int64_t households = 0;
};

struct Village {
  char code[12];
  int township = 0;
  int county = 0;
  int32_t households = 0;
  int32_t lat_e6 = 0, lon_e6 = 0;
  bool rural = true;
};

// People outside the registry: a virtual population indexed 0..size-1. Person o's county,
// birth date, sex and ID follow from a cell table (county × sex × birth month) so that IDs
// are unique by construction, with sequence numbers in [seq_base, seq_base + 2*capacity).
struct PoolPerson {
  char id[18];
  int county;
  int village;
  int64_t birth_days;
  int sex;
  EthnicGroup ethnic;
};

class OutsiderPool {
 public:
  // Builds a pool of about `size` people born in [first_year, last_year] with the given
  // per-age weights (index = age at end of kDataYear).
  void Build(uint64_t seed, uint64_t stream, int64_t size, int first_year, int last_year,
             const std::vector<double>& age_weight, int seq_base, int capacity,
             const std::vector<County>& counties);
  int64_t size() const { return prefix_.empty() ? 0 : static_cast<int64_t>(prefix_.back()); }
  // REQUIRES: 0 <= o < size().
  PoolPerson Lookup(int64_t o, const std::vector<County>& counties) const;

 private:
  uint64_t seed_ = 0;
  uint64_t stream_ = 0;
  int first_year_ = 0;
  int months_ = 0;
  int seq_base_ = 0;
  std::vector<uint64_t> prefix_;  // cells + 1 entries
  // index_[i] = the cell holding person i << kIndexShift, to narrow Lookup's search.
  static constexpr int kIndexShift = 8;
  std::vector<uint32_t> index_;
};

// Per department file: how outsider rows are drawn.
struct OutsiderQuota {
  int64_t slots = 0;       // permutation slots over the pool for the whole run
  int64_t multiplier = 1;  // slot j -> person (multiplier * j + offset) mod pool size
  int64_t offset = 0;
};

struct Plan {
  uint64_t seed = 0;
  double scale = 0;
  int64_t households = 0;
  int household_seq_width = 4;  // digits after the village code in household_id
  std::vector<Prefecture> prefectures;
  std::vector<County> counties;
  std::vector<Township> townships;
  std::vector<Village> villages;
  OutsiderPool living;
  OutsiderPool dead;
  std::array<OutsiderQuota, kFileCount> quotas;
};

// Parses the built-in regions and lays out households and outsiders.
// Returns kInvalidArgument for a scale outside (0, 5], kInternal if the built-in region
// list is unreadable.
Result<Plan> MakePlan(uint64_t seed, double scale);

// Writes an 18-character GB 11643 number (county, birth date, 3-digit sequence, check
// character) into out[0..17]. REQUIRES: county6 is 6 digits, 0 <= seq <= 999.
void FormatId(std::string_view county6, int64_t birth_days, int seq, char* out);

// Static facts about the nine prefectures (DOMAIN.md §6 and docs/generator.md).
const std::array<PrefectureInfo, 9>& PrefectureTable();

// A county's centre (latitude, longitude; WGS-84) as the generator places it, from the
// boundaries the web app draws (county_centres.inc); nullopt for a county it does not know.
std::optional<std::pair<double, double>> CountyCentreOf(std::string_view code6);

}  // namespace fupin::gen
