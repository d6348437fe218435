// Tests of the synthetic province generator: determinism, valid and consistent IDs, the
// exchange format's import rules, truth files that agree with the data, documented
// distributions, planted cases and dirty identity data.
#include "gen/generator.h"

#include <gtest/gtest.h>
#include <iconv.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/code_lists.h"
#include "core/date.h"
#include "core/id_number.h"
#include "core/money.h"
#include "core/region_code.h"
#include "gen/layout.h"
#include "gen/world.h"

namespace fupin::gen {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

using Row = std::vector<std::string_view>;

int64_t Int(std::string_view text) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  EXPECT_TRUE(ec == std::errc() && end == text.data() + text.size()) << "not an integer: " << text;
  return v;
}

// A parsed CSV file. Cells are views into `text` (or into `unescaped` for the rare quoted
// cell holding a doubled quote), so reading a file costs few allocations.
struct Table {
  std::string text;
  std::string header;
  std::vector<Row> rows;
  std::map<std::string, size_t, std::less<>> col;
  std::deque<std::string> unescaped;
  std::string_view At(const Row& r, std::string_view name) const {
    return r.at(col.find(name)->second);
  }
};

// RFC 4180 split of one line (the generator never writes line breaks inside fields).
void SplitCsv(std::string_view line, Row& row, std::deque<std::string>& unescaped) {
  row.clear();
  size_t i = 0;
  for (;;) {
    if (i < line.size() && line[i] == '"') {
      const size_t start = ++i;
      bool doubled = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            doubled = true;
            i += 2;
            continue;
          }
          break;
        }
        ++i;
      }
      std::string_view cell = line.substr(start, i - start);
      ++i;  // closing quote
      if (doubled) {
        std::string u;
        for (size_t k = 0; k < cell.size(); ++k) {
          u.push_back(cell[k]);
          if (cell[k] == '"') ++k;
        }
        unescaped.push_back(std::move(u));
        cell = unescaped.back();
      }
      row.push_back(cell);
    } else {
      const size_t start = i;
      while (i < line.size() && line[i] != ',') ++i;
      row.push_back(line.substr(start, i - start));
    }
    if (i >= line.size()) break;
    ++i;  // comma
  }
}

size_t CountColumns(std::string_view header) {
  return static_cast<size_t>(std::count(header.begin(), header.end(), ',')) + 1;
}

Table ReadTable(const fs::path& path) {
  Table t;
  t.text = ReadFile(path);
  std::string_view text = t.text;
  size_t pos = 0;
  bool first = true;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (first) {
      t.header = std::string(line);
      Row h;
      SplitCsv(line, h, t.unescaped);
      for (size_t i = 0; i < h.size(); ++i) t.col[std::string(h[i])] = i;
      first = false;
      continue;
    }
    t.rows.emplace_back();
    SplitCsv(line, t.rows.back(), t.unescaped);
  }
  return t;
}

fs::path TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  fs::path dir = fs::path(base != nullptr ? base : "/tmp") /
                 ("fupin_gen_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  return dir;
}

// One scale-0.01 batch shared by the tests below.
class GeneratedBatch : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(TempDir("main"));
    GenOptions o;
    o.scale = 0.01;
    o.seed = 7;
    o.out = *dir_;
    o.threads = 2;
    Result<GenSummary> r = Generate(o);
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    summary_ = new GenSummary(*r);
    tables_ = new std::map<std::string, Table>();
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete summary_;
    delete tables_;
  }
  // The parsed file (relative to the batch folder), read on first use: ctest runs each test
  // in its own process, so each reads only what it needs.
  static const Table& T(const std::string& name) {
    auto it = tables_->find(name);
    if (it == tables_->end()) it = tables_->emplace(name, ReadTable(*dir_ / name)).first;
    return it->second;
  }

  static fs::path* dir_;
  static GenSummary* summary_;
  static std::map<std::string, Table>* tables_;
};
fs::path* GeneratedBatch::dir_ = nullptr;
GenSummary* GeneratedBatch::summary_ = nullptr;
std::map<std::string, Table>* GeneratedBatch::tables_ = nullptr;

TEST(GeneratorDeterminism, SameSeedAndScaleGiveIdenticalBytesWhateverTheThreads) {
  const fs::path a = TempDir("det_a"), b = TempDir("det_b"), c = TempDir("det_c");
  GenOptions o;
  o.scale = 0.001;
  o.seed = 42;
  o.out = a;
  o.threads = 1;
  ASSERT_TRUE(Generate(o).has_value());
  o.out = b;
  o.threads = 3;
  ASSERT_TRUE(Generate(o).has_value());
  o.out = c;
  o.seed = 43;
  ASSERT_TRUE(Generate(o).has_value());
  int compared = 0;
  for (const auto& entry : fs::recursive_directory_iterator(a)) {
    if (!entry.is_regular_file()) continue;
    const fs::path rel = fs::relative(entry.path(), a);
    EXPECT_EQ(ReadFile(a / rel), ReadFile(b / rel)) << rel;
    ++compared;
  }
  EXPECT_EQ(compared, 16 + 5);  // 16 data files (villages.csv too), 5 truth files
  EXPECT_NE(ReadFile(a / "members.csv"), ReadFile(c / "members.csv"));
  fs::remove_all(a);
  fs::remove_all(b);
  fs::remove_all(c);
}

// villages.csv: one row per village with households, codes valid, and Guizhou's terrain:
// mountain villages (3 山区) the commonest, farther from the township seat on average.
TEST_F(GeneratedBatch, VillagesHaveAttributesWithMountainsMostCommon) {
  const Table& villages = T("villages.csv");
  EXPECT_EQ(villages.header, kVillagesHeader);
  std::set<std::string> with_households;
  const Table& hh = T("households.csv");
  for (const Row& r : hh.rows) with_households.insert(std::string(hh.At(r, "village_code")));
  std::set<std::string> listed;
  std::array<int64_t, 5> terrain{};
  std::array<double, 5> km{};
  for (const Row& r : villages.rows) {
    listed.insert(std::string(villages.At(r, "village_code")));
    const int64_t t = Int(villages.At(r, "terrain"));
    ASSERT_NE(FindCodeList("terrain")->Find(static_cast<int>(t)), nullptr) << t;
    ++terrain[static_cast<size_t>(t)];
    km[static_cast<size_t>(t)] += std::stod(std::string(villages.At(r, "distance_km")));
    for (const char* f : {"road", "water", "power", "broadband", "clinic", "school"})
      EXPECT_NE(FindCodeList("yes_no")->Find(static_cast<int>(Int(villages.At(r, f)))), nullptr);
    EXPECT_FALSE(villages.At(r, "industries").empty());
    EXPECT_GE(Int(villages.At(r, "collective_income")), 30000);
  }
  EXPECT_EQ(listed, with_households);
  EXPECT_EQ(listed.size(), villages.rows.size());  // no village twice
  for (int t : {1, 2, 4}) EXPECT_GT(terrain[3], terrain[static_cast<size_t>(t)]) << t;
  ASSERT_GT(terrain[1] + terrain[2], 0);
  EXPECT_GT(km[3] / static_cast<double>(terrain[3]),
            (km[1] + km[2]) / static_cast<double>(terrain[1] + terrain[2]));
}

TEST_F(GeneratedBatch, FilesFollowTheExchangeFormat) {
  for (const FileLayout& f : kFiles) {
    const std::string text = ReadFile(*dir_ / f.name);
    ASSERT_FALSE(text.empty()) << f.name;
    EXPECT_NE(static_cast<unsigned char>(text[0]), 0xEF) << f.name << ": no BOM";
    EXPECT_EQ(text.find('\r'), std::string::npos) << f.name << ": LF only";
    EXPECT_EQ(text.back(), '\n') << f.name;
    EXPECT_EQ(T(std::string(f.name)).header, f.header) << f.name;
    EXPECT_GT(T(std::string(f.name)).rows.size(), 0u) << f.name;
    const size_t columns = CountColumns(f.header);
    for (const Row& r : T(std::string(f.name)).rows) {
      ASSERT_EQ(r.size(), columns) << f.name;
    }
  }
  EXPECT_EQ(ReadFile(*dir_ / "regions.csv").substr(0, 28), "code,name,level,parent_code\n");
  int64_t summary_rows = 0;
  for (const FileRows& f : summary_->files) summary_rows += f.rows;
  EXPECT_GT(summary_rows, 300000);
}

TEST_F(GeneratedBatch, RegistryImportsCleanly) {
  std::unordered_map<std::string_view, int> region_level;
  for (const Row& r : T("regions.csv").rows) region_level[r[0]] = Int(r[2]);
  const Table& hh = T("households.csv");
  std::unordered_map<std::string_view, const Row*> households;
  for (const Row& r : hh.rows) {
    EXPECT_TRUE(households.emplace(hh.At(r, "household_id"), &r).second)
        << "duplicate household_id";
    const auto it = region_level.find(hh.At(r, "village_code"));
    ASSERT_NE(it, region_level.end()) << hh.At(r, "village_code");
    EXPECT_EQ(it->second, 5);
    EXPECT_NE(FindCodeList("category")->Find(Int(hh.At(r, "category"))), nullptr);
    EXPECT_NE(FindCodeList("cause")->Find(Int(hh.At(r, "primary_cause"))), nullptr);
    const std::string_view others = hh.At(r, "other_causes");
    int n_other = 0;
    for (size_t p = 0; !others.empty() && p != std::string::npos;) {
      const size_t q = others.find(';', p);
      EXPECT_NE(FindCodeList("cause")->Find(Int(others.substr(p, q - p))), nullptr);
      ++n_other;
      p = q == std::string::npos ? q : q + 1;
    }
    EXPECT_LE(n_other, 2);
    const int status = Int(hh.At(r, "status"));
    EXPECT_NE(FindCodeList("status")->Find(status), nullptr);
    EXPECT_EQ(hh.At(r, "exit_year").empty(), status != 2 && status != 4);
    const int reg = Int(hh.At(r, "registered_year"));
    EXPECT_GE(reg, 2014);
    EXPECT_LE(reg, 2019);
    if (!hh.At(r, "exit_year").empty()) {
      EXPECT_GE(Int(hh.At(r, "exit_year")), reg);
    }
    for (const char* money :
         {"income_wage", "income_business", "income_property", "income_transfer"}) {
      const auto fen = ParseYuanToFen(hh.At(r, money));
      ASSERT_TRUE(fen.has_value()) << money << "=" << hh.At(r, money);
      EXPECT_GE(*fen, 0) << money;
    }
    for (const char* flag : {"housing_safe", "water_safe", "electricity"}) {
      EXPECT_TRUE(hh.At(r, flag) == "0" || hh.At(r, flag) == "1");
    }
    const double lat = std::stod(std::string(hh.At(r, "lat"))),
                 lon = std::stod(std::string(hh.At(r, "lon")));
    EXPECT_TRUE(lat > 24.5 && lat < 29.3 && lon > 103.5 && lon < 109.7) << lat << "," << lon;
    // Near its county's real centre (inside the county's outline on the map): a village is
    // within 0.04 degrees of it, a household within 0.01 of its village.
    const std::string county(hh.At(r, "village_code").substr(0, 6));
    const auto centre = CountyCentreOf(county);
    ASSERT_TRUE(centre) << "no centre for county " << county;
    EXPECT_LE(std::abs(lat - centre->first), 0.0501) << county;
    EXPECT_LE(std::abs(lon - centre->second), 0.0501) << county;
  }

  const Table& mem = T("members.csv");
  std::set<std::pair<std::string_view, std::string_view>> keys;
  std::unordered_map<std::string_view, int> heads;
  for (const Row& r : mem.rows) {
    const std::string_view hid = mem.At(r, "household_id");
    const auto h = households.find(hid);
    ASSERT_NE(h, households.end()) << "member of unknown household " << hid;
    EXPECT_TRUE(keys.emplace(hid, mem.At(r, "id_number")).second) << "duplicate member row";
    // Every registry ID is a valid 18-character number, clean as typed.
    const std::string_view id = mem.At(r, "id_number");
    const IdNumber n = NormalizeIdNumber(id);
    ASSERT_EQ(n.problem, IdProblem::kNone) << id;
    EXPECT_FALSE(n.cleaned) << id;
    EXPECT_EQ(n.normalized, id);
    // Its digits agree with the record: county of the village, birth date, sex.
    EXPECT_EQ(IdCountyCode(id), hh.At(*h->second, "village_code").substr(0, 6)) << id;
    EXPECT_EQ(FormatDate(IdBirthDate(id)), mem.At(r, "birth_date")) << id;
    EXPECT_EQ(std::to_string(IdSex(id)), mem.At(r, "sex")) << id;
    for (const char* list : {"relation", "education", "health", "labor"}) {
      EXPECT_NE(FindCodeList(list)->Find(Int(mem.At(r, list))), nullptr) << list;
    }
    EXPECT_NE(FindCodeList("school")->Find(Int(mem.At(r, "in_school"))), nullptr);
    EXPECT_NE(FindCodeList("work")->Find(Int(mem.At(r, "work_status"))), nullptr);
    EXPECT_EQ(mem.At(r, "ethnicity").size(), 2u);
    EXPECT_NE(FindCodeList("ethnicity")->Find(Int(mem.At(r, "ethnicity"))), nullptr);
    const int months = Int(mem.At(r, "work_months"));
    EXPECT_TRUE(months >= 0 && months <= 12);
    EXPECT_EQ(months == 0, mem.At(r, "work_status") == "0");
    if (mem.At(r, "relation") == "1") {
      heads[hid]++;
      EXPECT_EQ(hh.At(*h->second, "head_id_number"), id);
    }
  }
  EXPECT_EQ(heads.size(), households.size()) << "every household has a head";
  for (const auto& [hid, n] : heads) EXPECT_EQ(n, 1) << hid;
}

TEST_F(GeneratedBatch, RelationsHaveConsistentAges) {
  const Table& mem = T("members.csv");
  std::unordered_map<std::string_view, int> head_year;
  for (const Row& r : mem.rows) {
    if (mem.At(r, "relation") == "1")
      head_year[mem.At(r, "household_id")] = Int(mem.At(r, "birth_date").substr(0, 4));
  }
  for (const Row& r : mem.rows) {
    const int rel = Int(mem.At(r, "relation"));
    const int year = Int(mem.At(r, "birth_date").substr(0, 4));
    const int head = head_year.at(mem.At(r, "household_id"));
    if (rel == 3 || rel == 4) {
      EXPECT_GE(year - head, 18) << "child younger than parent";
    }
    if (rel == 7 || rel == 8) {
      EXPECT_GE(year - head, 36) << "grandchild";
    }
    if (rel == 9) {
      EXPECT_GE(head - year, 18) << "parent older than head";
    }
  }
}

TEST_F(GeneratedBatch, DepartmentFilesImportCleanly) {
  std::unordered_set<std::string_view> regions;
  for (const Row& r : T("regions.csv").rows) regions.insert(r[0]);
  for (int f = kFirstDepartmentFile; f < kFileCount; ++f) {
    const Table& t = T(std::string(kFiles[f].name));
    for (const Row& r : t.rows) {
      const std::string_view region = t.At(r, "region_code");
      ASSERT_TRUE(region.size() == 6 || region.size() == 9 || region.size() == 12) << region;
      EXPECT_TRUE(regions.count(*PadRegionCode(region))) << region;
      EXPECT_TRUE(ParseIsoDate(t.At(r, "birth_date")).has_value());
      EXPECT_TRUE(t.At(r, "sex") == "1" || t.At(r, "sex") == "2");
    }
  }
  std::unordered_set<std::string_view> claim_ids, plates;
  const Table& claims = T("health_claims.csv");
  for (const Row& r : claims.rows) {
    EXPECT_TRUE(claim_ids.insert(claims.At(r, "claim_id")).second) << claims.At(r, "claim_id");
    for (const char* money : {"total_cost", "basic_paid", "critical_paid", "aid_paid"}) {
      EXPECT_TRUE(ParseYuanToFen(claims.At(r, money)).has_value()) << claims.At(r, money);
    }
    const int64_t total = *ParseYuanToFen(claims.At(r, "total_cost"));
    const int64_t paid = *ParseYuanToFen(claims.At(r, "basic_paid")) +
                         *ParseYuanToFen(claims.At(r, "critical_paid")) +
                         *ParseYuanToFen(claims.At(r, "aid_paid"));
    EXPECT_LE(paid, total);
  }
  const Table& vehicles = T("vehicles.csv");
  for (const Row& r : vehicles.rows)
    EXPECT_TRUE(plates.insert(vehicles.At(r, "plate")).second) << vehicles.At(r, "plate");
  const Table& students = T("edu_students.csv");
  for (const Row& r : students.rows) {
    const int stage = Int(students.At(r, "stage"));
    EXPECT_TRUE(stage >= 1 && stage <= 7);
  }
  const Table& dibao = T("civil_dibao.csv");
  for (const Row& r : dibao.rows) {
    EXPECT_TRUE(dibao.At(r, "type") == "1" || dibao.At(r, "type") == "2");
    if (!dibao.At(r, "end_date").empty()) {
      EXPECT_GE(dibao.At(r, "end_date"), dibao.At(r, "start_date"));
    }
  }
  const Table& dis = T("disability.csv");
  for (const Row& r : dis.rows) {
    EXPECT_NE(FindCodeList("disability_type")->Find(Int(dis.At(r, "disability_type"))), nullptr);
    const int grade = Int(dis.At(r, "grade"));
    EXPECT_TRUE(grade >= 1 && grade <= 4);
  }
  const Table& hr = T("hr_employment.csv");
  for (const Row& r : hr.rows) {
    const int place = Int(hr.At(r, "place"));
    EXPECT_TRUE(place >= 1 && place <= 3);
    const int months = Int(hr.At(r, "months"));
    EXPECT_TRUE(months >= 1 && months <= 12);
  }
  const Table& biz = T("business.csv");
  for (const Row& r : biz.rows) EXPECT_TRUE(biz.At(r, "role") == "1" || biz.At(r, "role") == "2");
  const Table& reloc = T("relocation.csv");
  for (const Row& r : reloc.rows) EXPECT_TRUE(regions.count(reloc.At(r, "from_village_code")));
}

// Shared lookups for the truth tests.
struct Registry {
  std::unordered_map<std::string_view, const Row*> member;  // id -> a member row
  std::unordered_map<std::string_view, std::vector<std::string_view>>
      households_of;  // id -> household ids
};

Registry IndexRegistry(const Table& mem) {
  Registry reg;
  for (const Row& r : mem.rows) {
    reg.member.emplace(mem.At(r, "id_number"), &r);  // the first row: the original household
    reg.households_of[mem.At(r, "id_number")].push_back(mem.At(r, "household_id"));
  }
  return reg;
}

TEST_F(GeneratedBatch, TruthAgreesWithTheData) {
  const Table& mem = T("members.csv");
  const Registry reg = IndexRegistry(mem);
  const Table& truth = T("_truth/department_rows.csv");
  const Table& dirty = T("_truth/dirty.csv");
  EXPECT_EQ(truth.header, kTruthDepartmentRowsHeader);
  EXPECT_EQ(dirty.header, kTruthDirtyHeader);
  // file,row -> dirt records
  std::map<std::pair<std::string_view, int64_t>, std::vector<const Row*>> dirt;
  for (const Row& r : dirty.rows) dirt[{r[0], Int(r[1])}].push_back(&r);

  size_t k = 0;
  for (int f = kFirstDepartmentFile; f < kFileCount; ++f) {
    const std::string name(kFiles[f].name);
    const Table& t = T(name);
    for (size_t i = 0; i < t.rows.size(); ++i, ++k) {
      ASSERT_LT(k, truth.rows.size());
      const Row& tr = truth.rows[k];
      ASSERT_EQ(tr[0], name);
      ASSERT_EQ(Int(tr[1]), static_cast<int64_t>(i + 1));
      ASSERT_NE(tr[2].empty(), tr[3].empty()) << "exactly one of true_id / outsider_id";
      const std::string_view true_id = tr[2].empty() ? tr[3] : tr[2];
      ASSERT_EQ(NormalizeIdNumber(true_id).problem, IdProblem::kNone) << true_id;
      if (!tr[2].empty()) {
        ASSERT_TRUE(reg.member.count(tr[2])) << "true_id not in members.csv: " << tr[2];
      } else {
        ASSERT_FALSE(reg.member.count(tr[3])) << "outsider in members.csv: " << tr[3];
      }
      const Row& row = t.rows[i];
      const std::string_view id = t.At(row, "id_number");
      const std::string_view name_cell = t.At(row, "name");
      bool id_dirty = false, name_dirty = false;
      const auto d = dirt.find({name, static_cast<int64_t>(i + 1)});
      if (d != dirt.end()) {
        for (const Row* dr : d->second) {
          const std::string_view field = (*dr)[2];
          const std::string_view kind = (*dr)[3];
          if (field == "id_number") {
            id_dirty = true;
            EXPECT_EQ((*dr)[4], true_id);
            EXPECT_EQ((*dr)[5], id);
            const IdNumber n = NormalizeIdNumber(id);
            if (kind == "empty") {
              EXPECT_EQ(n.problem, IdProblem::kEmpty);
            } else if (kind == "old15") {
              EXPECT_TRUE(n.converted_from_15);
              EXPECT_EQ(n.normalized, true_id);
            } else if (kind == "mistyped_digit" || kind == "transposed_digits") {
              EXPECT_TRUE(n.problem == IdProblem::kBadCheckChar ||
                          n.problem == IdProblem::kImpossibleDate)
                  << id;
            } else {
              EXPECT_TRUE(kind == "fullwidth_digits" || kind == "spaces" || kind == "lowercase_x")
                  << kind;
              EXPECT_EQ(n.problem, IdProblem::kNone) << id;
              EXPECT_TRUE(n.cleaned) << id;
              EXPECT_EQ(n.normalized, true_id);
            }
          } else {
            ASSERT_EQ(field, "name");
            name_dirty = true;
            EXPECT_EQ((*dr)[5], name_cell);
            EXPECT_NE((*dr)[4], name_cell);
          }
        }
      }
      if (!id_dirty) {
        EXPECT_EQ(id, true_id);
      }
      if (!tr[2].empty()) {
        const Row& m = *reg.member.at(tr[2]);
        EXPECT_EQ(t.At(row, "sex"), mem.At(m, "sex"));
        EXPECT_EQ(t.At(row, "birth_date"), mem.At(m, "birth_date"));
        if (!name_dirty) {
          EXPECT_EQ(name_cell, mem.At(m, "name"));
        }
        EXPECT_EQ(t.At(row, "region_code"),
                  mem.At(m, "household_id").substr(0, t.At(row, "region_code").size()));
      }
    }
  }
  EXPECT_EQ(k, truth.rows.size());
}

TEST_F(GeneratedBatch, DistributionsMatchTheDocumentation) {
  const Table& hh = T("households.csv");
  const Table& mem = T("members.csv");
  std::map<int, int64_t> cause, status, category;
  double members_field = 0;
  for (const Row& r : hh.rows) {
    cause[Int(hh.At(r, "primary_cause"))]++;
    status[Int(hh.At(r, "status"))]++;
    category[Int(hh.At(r, "category"))]++;
    members_field += Int(hh.At(r, "members"));
  }
  const double n = static_cast<double>(hh.rows.size());
  EXPECT_EQ(hh.rows.size(), 23000u);  // 2.3 M households at scale 1
  EXPECT_NEAR(cause[1] / n, 0.42, 0.02) << "因病 about 42%";
  EXPECT_NEAR(cause[9] / n, 0.12, 0.015);
  EXPECT_NEAR(status[2] / n, 0.836, 0.02);
  EXPECT_NEAR(status[1] / n, 0.04, 0.01);
  EXPECT_NEAR(category[2] / n, 0.19, 0.015);
  const double mean_size = static_cast<double>(mem.rows.size()) / n;
  EXPECT_GT(mean_size, 3.1);
  EXPECT_LT(mean_size, 3.35);
  EXPECT_NEAR(members_field / n, mean_size, 0.01);
  int64_t male = 0;
  for (const Row& r : mem.rows) male += mem.At(r, "sex") == "1";
  EXPECT_NEAR(static_cast<double>(male) / static_cast<double>(mem.rows.size()), 0.52, 0.03);

  // Incomes: per capita below both lines for poor households, above 1.2 × the Guizhou line
  // for exited ones, except the planted cases that are defined by the opposite.
  std::unordered_set<std::string_view> planted_households;
  for (const Row& r : T("_truth/planted.csv").rows) planted_households.insert(r[1]);
  for (const Row& r : hh.rows) {
    if (planted_households.count(hh.At(r, "household_id"))) continue;
    int64_t total = 0;
    for (const char* c : {"income_wage", "income_business", "income_property", "income_transfer"}) {
      total += *ParseYuanToFen(hh.At(r, c));
    }
    const int64_t per_capita = total / Int(hh.At(r, "members"));
    const int st = Int(hh.At(r, "status"));
    if (st == 1 || st == 3) {
      EXPECT_LT(per_capita, 321800) << hh.At(r, "household_id");
    }
    if (st == 2 || st == 4) {
      EXPECT_GE(per_capita, 450000) << hh.At(r, "household_id");
      EXPECT_EQ(hh.At(r, "housing_safe"), "1");
      EXPECT_EQ(hh.At(r, "water_safe"), "1");
    }
  }

  // Dirty identity data at the documented rates (per department row).
  std::map<std::string, int64_t> kinds;
  for (const Row& r : T("_truth/dirty.csv").rows)
    kinds[std::string(r[2]) + ":" + std::string(r[3])]++;
  const double rows = static_cast<double>(summary_->department_rows);
  EXPECT_NEAR(kinds["id_number:empty"] / rows, 0.015, 0.002);
  EXPECT_NEAR(kinds["id_number:mistyped_digit"] / rows, 0.010, 0.002);
  EXPECT_NEAR(kinds["id_number:transposed_digits"] / rows, 0.005, 0.0015);
  EXPECT_NEAR(kinds["id_number:fullwidth_digits"] / rows, 0.005, 0.0015);
  EXPECT_NEAR(kinds["id_number:spaces"] / rows, 0.005, 0.0015);
  EXPECT_GT(kinds["id_number:old15"], 0);
  EXPECT_GT(kinds["id_number:lowercase_x"], 0);
  EXPECT_GT(kinds["name:traditional"], 0);
  EXPECT_GT(kinds["name:homophone"], 0);
  EXPECT_GT(kinds["name:similar_char"], 0);
  EXPECT_GT(kinds["name:spaces"], 0);
  EXPECT_GT(kinds["name:dot_variant"], 0);
}

TEST_F(GeneratedBatch, PlantedCasesArePresentAndTrue) {
  const Table& planted = T("_truth/planted.csv");
  EXPECT_EQ(planted.header, kTruthPlantedHeader);
  std::map<std::string, int> by_kind;
  for (const Row& r : planted.rows) by_kind[std::string(r[0])]++;
  for (std::string_view kind : kPlantedKindNames) EXPECT_GT(by_kind[std::string(kind)], 0) << kind;

  const Table& mem = T("members.csv");
  const Registry reg = IndexRegistry(mem);
  const Table& truth = T("_truth/department_rows.csv");
  std::map<std::pair<std::string_view, int64_t>, const Row*> truth_at;
  std::map<std::string_view, std::set<std::string_view>> registry_ids_in;  // file -> true ids
  for (const Row& r : truth.rows) {
    truth_at[{r[0], Int(r[1])}] = &r;
    if (!r[2].empty()) registry_ids_in[r[0]].insert(r[2]);
  }
  std::unordered_map<std::string_view, int> member_rows;
  for (const Row& r : mem.rows) member_rows[mem.At(r, "household_id")]++;
  std::unordered_map<std::string_view, const Row*> household;
  const Table& hh = T("households.csv");
  for (const Row& r : hh.rows) household[hh.At(r, "household_id")] = &r;

  std::set<std::string_view> planted_ids;
  for (const Row& r : planted.rows) {
    const std::string_view kind = r[0];
    ASSERT_TRUE(household.count(r[1])) << kind;
    if (!r[2].empty()) planted_ids.insert(r[2]);
    if (!r[3].empty()) {  // evidence row: it belongs to that person
      const Row* tr = truth_at.at({r[3], Int(r[4])});
      EXPECT_EQ((*tr)[2], r[2]) << kind;
    }
    const Row& h = *household.at(r[1]);
    if (kind == "member_count_mismatch") {
      EXPECT_NE(Int(hh.At(h, "members")), member_rows[r[1]]);
    } else if (kind == "two_households") {
      EXPECT_EQ(reg.households_of.at(r[2]).size(), 2u);
    } else if (kind == "uninsured") {
      EXPECT_FALSE(registry_ids_in["health_enrollment.csv"].count(r[2]));
    } else if (kind == "exit_ready") {
      EXPECT_EQ(hh.At(h, "status"), "1");
    } else if (kind == "dibao_missing") {
      EXPECT_NE(hh.At(h, "category"), "1");
      EXPECT_FALSE(registry_ids_in["civil_dibao.csv"].count(hh.At(h, "head_id_number")));
    }
  }
  // Outside the planted cases, registry people never appear in the exclusion files, and
  // their vehicles are motorcycles.
  for (const char* file : {"business.csv", "property.csv", "public_servants.csv"}) {
    for (const std::string_view id : registry_ids_in[file])
      EXPECT_TRUE(planted_ids.count(id)) << file << " " << id;
  }
  const Table& vehicles = T("vehicles.csv");
  for (size_t i = 0; i < vehicles.rows.size(); ++i) {
    const Row* tr = truth_at.at({"vehicles.csv", static_cast<int64_t>(i + 1)});
    if ((*tr)[2].empty() || planted_ids.count((*tr)[2])) continue;
    EXPECT_EQ(vehicles.At(vehicles.rows[i], "vehicle_type"), "普通二轮摩托车");
  }
  // Summary counts agree.
  std::map<std::string_view, std::string_view> summary;
  for (const Row& r : T("_truth/summary.csv").rows) summary[r[0]] = r[1];
  EXPECT_EQ(Int(summary["planted_cases"]), static_cast<int64_t>(planted.rows.size()));
  EXPECT_EQ(Int(summary["households"]), summary_->households);
}

TEST_F(GeneratedBatch, DepartmentSizesAreProportionate) {
  // Scale 0.01 of issue 3's sizes, within ±35%.
  const std::map<std::string, double> expected = {
      {"health_enrollment.csv", 100000}, {"vehicles.csv", 50000},
      {"hr_employment.csv", 30000},      {"health_claims.csv", 30000},
      {"civil_dibao.csv", 20000},        {"business.csv", 20000},
      {"property.csv", 20000},           {"relocation.csv", 19000},
      {"edu_students.csv", 15000},       {"disability.csv", 8000},
      {"public_servants.csv", 8000},     {"deaths.csv", 10000},
  };
  std::map<std::string, int64_t> rows;
  for (const FileRows& f : summary_->files) rows[f.file] = f.rows;
  for (const auto& [file, want] : expected) {
    const double got = static_cast<double>(rows.at(file));
    EXPECT_GT(got, want * 0.65) << file;
    EXPECT_LT(got, want * 1.35) << file;
  }
  // The summary agrees with the files.
  for (const char* file : {"members.csv", "vehicles.csv"}) {
    EXPECT_EQ(static_cast<int64_t>(T(file).rows.size()), rows.at(file)) << file;
  }
}

std::string Utf8ToGb18030(const std::string& in) {
  iconv_t cd = iconv_open("GB18030", "UTF-8");
  std::string out(in.size() * 2 + 16, '\0');
  char* src = const_cast<char*>(in.data());
  size_t src_left = in.size();
  char* dst = out.data();
  size_t dst_left = out.size();
  const size_t rc = iconv(cd, &src, &src_left, &dst, &dst_left);
  iconv_close(cd);
  EXPECT_NE(rc, static_cast<size_t>(-1));
  out.resize(out.size() - dst_left);
  return out;
}

TEST(GeneratorEncodings, Gb18030AndXlsx) {
  const fs::path a = TempDir("utf8"), b = TempDir("gb");
  GenOptions o;
  o.scale = 0.001;
  o.seed = 5;
  o.out = a;
  ASSERT_TRUE(Generate(o).has_value());
  o.out = b;
  o.gb18030 = true;
  o.xlsx = true;
  ASSERT_TRUE(Generate(o).has_value());
  for (const char* f :
       {"regions.csv", "households.csv", "members.csv", "vehicles.csv", "deaths.csv"}) {
    EXPECT_EQ(Utf8ToGb18030(ReadFile(a / f)), ReadFile(b / f)) << f;
  }
  EXPECT_EQ(ReadFile(a / "_truth/dirty.csv"), ReadFile(b / "_truth/dirty.csv"))
      << "truth stays UTF-8";
  for (const char* f : {"households.xlsx", "members.xlsx"}) {
    const std::string x = ReadFile(b / f);
    ASSERT_GT(x.size(), 1000u) << f;
    EXPECT_EQ(x.substr(0, 2), "PK") << f;
  }
  EXPECT_FALSE(fs::exists(b / "members.csv.part"));
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST(GeneratorOptions, RejectsBadArguments) {
  const fs::path bad = TempDir("bad");
  GenOptions o;
  o.out = bad;
  o.scale = 0;
  EXPECT_EQ(Generate(o).error().code(), StatusCode::kInvalidArgument);
  o.scale = 6;
  EXPECT_EQ(Generate(o).error().code(), StatusCode::kInvalidArgument);
  o.scale = 1;
  o.xlsx = true;  // 7.46 M members do not fit one sheet
  EXPECT_EQ(Generate(o).error().code(), StatusCode::kInvalidArgument);
  o.out.clear();
  o.scale = 0.001;
  o.xlsx = false;
  EXPECT_EQ(Generate(o).error().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(bad));
}

}  // namespace
}  // namespace fupin::gen
