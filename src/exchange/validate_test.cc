#include "exchange/validate.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/id_number.h"

namespace fupin::exchange {
namespace {

using store::Value;

const DatasetSpec& Members() { return *FindDataset("members"); }
const DatasetSpec& Vehicles() { return *FindDataset("vehicles"); }

size_t Slot(const DatasetSpec& d, std::string_view column) {
  auto cols = StoredColumns(d);
  for (size_t i = 0; i < cols.size(); ++i)
    if (cols[i].name == column) return i;
  ADD_FAILURE() << column;
  return 0;
}

std::string ValidId(std::string first17) { return first17 + IdCheckChar(first17); }

TEST(MapHeader, AcceptsEnglishAndChineseInAnyOrder) {
  auto map = MapHeader(Members(), {"户编号", "ID_Number", "姓名", "务工时间（月）", "extra"});
  ASSERT_TRUE(map) << map.error().ToString();
  EXPECT_EQ(map->cell_of_field[0], 1);   // id_number
  EXPECT_EQ(map->cell_of_field[1], 0);   // household_id
  EXPECT_EQ(map->cell_of_field[12], 3);  // work_months, full-width brackets folded
  EXPECT_EQ(map->unknown_columns, std::vector<std::string>{"extra"});
  EXPECT_FALSE(map->missing_optional.empty());
}

TEST(MapHeader, MissingRequiredColumnNamesIt) {
  auto map = MapHeader(Members(), {"id_number", "name"});
  ASSERT_FALSE(map);
  EXPECT_NE(map.error().message().find("household_id"), std::string::npos);
  EXPECT_NE(map.error().message().find("户编号"), std::string::npos);
}

TEST(MapHeader, DuplicateColumnIsRefused) {
  auto map = MapHeader(Members(), {"id_number", "household_id", "身份证号"});
  ASSERT_FALSE(map);
  EXPECT_NE(map.error().message().find("twice"), std::string::npos);
}

class ValidateTest : public ::testing::Test {
 protected:
  ValidateTest() {
    regions_.Add("520000000000", 1);
    regions_.Add("520102000000", 3);
    regions_.Add("520102016001", 5);
  }
  ValidatedRow Run(const DatasetSpec& d, const std::vector<std::string>& header,
                   const std::vector<std::string>& cells, std::vector<bool> numeric = {}) {
    auto map = MapHeader(d, header);
    EXPECT_TRUE(map) << map.error().ToString();
    RowValidator v(d, *map, regions_);
    RawRow row;
    row.cells = cells;
    row.numeric = numeric.empty() ? std::vector<bool>(cells.size(), false) : numeric;
    ValidatedRow out;
    v.Validate(row, out);
    return out;
  }
  static bool HasIssue(const ValidatedRow& r, std::string_view code, bool error) {
    for (const auto& i : r.issues)
      if (i.code == code && i.is_error == error) return true;
    return false;
  }
  RegionIndex regions_;
};

TEST_F(ValidateTest, GoodMemberRowBecomesTypedValues) {
  std::string id = ValidId("52010219700101001");
  auto r = Run(Members(),
               {"id_number", "household_id", "name", "sex", "birth_date", "relation", "ethnicity"},
               {id, " H1 ", " 张三 ", "男", "1970-01-01", "户主", "06"});
  EXPECT_FALSE(r.rejected);
  EXPECT_TRUE(r.issues.empty());
  EXPECT_EQ(r.values[Slot(Members(), "id_number")], Value::Text(id));
  EXPECT_EQ(r.values[Slot(Members(), "id_number_raw")], Value::Null());
  EXPECT_EQ(r.values[Slot(Members(), "household_id")], Value::Text("H1"));
  EXPECT_EQ(r.values[Slot(Members(), "name")], Value::Text("张三"));
  EXPECT_EQ(r.values[Slot(Members(), "name_raw")], Value::Text(" 张三 "));
  EXPECT_EQ(r.values[Slot(Members(), "sex")], Value::Int(1));
  EXPECT_EQ(r.values[Slot(Members(), "relation")], Value::Int(1));
  EXPECT_EQ(r.values[Slot(Members(), "ethnicity")], Value::Int(6));
}

// The importer finds a stored member's key among a file's (member_missing) by KeyHashes.
TEST_F(ValidateTest, KeyHashesAreTheRowKeyHashes) {
  std::string id = ValidId("52010219700101001");
  auto r = Run(Members(), {"id_number", "household_id"}, {id, "H1"});
  ASSERT_FALSE(r.rejected);
  const Value key[] = {Value::Text("H1"), Value::Text(id)};  // key_fields order
  EXPECT_EQ(KeyHashes(key), std::make_pair(r.key_hash, r.key_check));
  const Value other[] = {Value::Text("H2"), Value::Text(id)};
  EXPECT_NE(KeyHashes(other).first, r.key_hash);
}

// A members file without the removal columns has no removals: not a missing column.
TEST(MapHeader, RemovalColumnsMayBeAbsentWithoutWarning) {
  auto map = MapHeader(Members(), {"id_number", "household_id"});
  ASSERT_TRUE(map) << map.error().ToString();
  for (const std::string& col : map->missing_optional) {
    EXPECT_NE(col, "left_reason");
    EXPECT_NE(col, "left_date");
  }
  EXPECT_NE(std::find(map->missing_optional.begin(), map->missing_optional.end(), "relation"),
            map->missing_optional.end());
}

TEST_F(ValidateTest, IdentityProblemsAreWarningsAndKeepTheRaw) {
  std::string id = ValidId("52010219700101001");
  std::string bad = id.substr(0, 17) + (id[17] == '1' ? "2" : "1");
  auto r = Run(Vehicles(), {"id_number", "name", "sex", "birth_date", "plate"},
               {bad, "李·四", "9", "1970-02-30", "贵A1"});
  EXPECT_FALSE(r.rejected);
  EXPECT_TRUE(HasIssue(r, "id_bad_check_char", false));
  EXPECT_TRUE(HasIssue(r, "unknown_code", false));
  EXPECT_TRUE(HasIssue(r, "bad_date", false));
  EXPECT_FALSE(HasIssue(r, "name_odd_chars", false));
  EXPECT_EQ(r.values[Slot(Vehicles(), "sex")], Value::Null());
  EXPECT_EQ(r.values[Slot(Vehicles(), "sex_raw")], Value::Text("9"));
  EXPECT_EQ(r.values[Slot(Vehicles(), "id_number_problem")],
            Value::Int(static_cast<int>(IdProblem::kBadCheckChar)));
}

TEST_F(ValidateTest, FifteenDigitAndLowerXAreWarnings) {
  auto r = Run(Vehicles(), {"id_number", "plate"}, {"520102700101001", "贵A1"});
  EXPECT_TRUE(HasIssue(r, "id_15_converted", false));
  EXPECT_EQ(r.values[Slot(Vehicles(), "id_number")],
            Value::Text(NormalizeIdNumber("520102700101001").normalized));
  EXPECT_EQ(r.values[Slot(Vehicles(), "id_number_raw")], Value::Text("520102700101001"));
}

TEST_F(ValidateTest, IdStoredAsNumberIsRejected) {
  auto r = Run(Vehicles(), {"id_number", "plate"}, {"520102197001010000", "贵A1"}, {true, false});
  EXPECT_TRUE(r.rejected);
  EXPECT_TRUE(HasIssue(r, "id_stored_as_number", true));
  auto r2 = Run(Vehicles(), {"id_number", "plate"}, {"5.20102E+17", "贵A1"});
  EXPECT_TRUE(HasIssue(r2, "id_stored_as_number", true));
}

TEST_F(ValidateTest, MissingMemberIdIsNoKey) {
  auto r = Run(Members(), {"id_number", "household_id"}, {" ", "H1"});
  EXPECT_TRUE(r.rejected);
  EXPECT_TRUE(HasIssue(r, "missing_key", true));
}

TEST_F(ValidateTest, UnknownRegionAndVillageAreRejected) {
  auto r = Run(Vehicles(), {"id_number", "region_code", "plate"}, {"", "520199", "贵A1"});
  EXPECT_TRUE(HasIssue(r, "unknown_region", true));
  auto ok = Run(Vehicles(), {"id_number", "region_code", "plate"}, {"", "520102", "贵A1"});
  EXPECT_FALSE(ok.rejected);
  EXPECT_EQ(ok.values[Slot(Vehicles(), "region_code")], Value::Text("520102000000"));
  const DatasetSpec& h = *FindDataset("households");
  auto county = Run(h, {"household_id", "village_code"}, {"H1", "520102000000"});
  EXPECT_TRUE(HasIssue(county, "unknown_region", true)) << "a county is not a village";
}

TEST_F(ValidateTest, TypedFieldsRejectGarbage) {
  const DatasetSpec& h = *FindDataset("households");
  std::vector<std::string> header = {"household_id",   "village_code", "category",
                                     "other_causes",   "income_wage",  "road_km",
                                     "registered_year"};
  auto good = Run(h, header, {"H1", "520102016001", "1", "2；3", "1234.5", "2.5", "2015"});
  EXPECT_FALSE(good.rejected);
  EXPECT_EQ(good.values[Slot(h, "other_causes")], Value::Text("2;3"));
  EXPECT_EQ(good.values[Slot(h, "income_wage_fen")], Value::Int(123450));
  EXPECT_EQ(good.values[Slot(h, "road_km")], Value::Real(2.5));
  EXPECT_TRUE(
      HasIssue(Run(h, header, {"H1", "520102016001", "7", "", "", "", ""}), "unknown_code", true));
  EXPECT_TRUE(HasIssue(Run(h, header, {"H1", "520102016001", "", "2;13", "", "", ""}),
                       "unknown_code", true));
  EXPECT_TRUE(HasIssue(Run(h, header, {"H1", "520102016001", "", "", "12.345", "", ""}),
                       "bad_money", true));
  EXPECT_TRUE(
      HasIssue(Run(h, header, {"H1", "520102016001", "", "", "", "far", ""}), "bad_number", true));
  EXPECT_TRUE(
      HasIssue(Run(h, header, {"H1", "520102016001", "", "", "", "", "15"}), "bad_year", true));
  EXPECT_TRUE(
      HasIssue(Run(h, header, {"", "520102016001", "", "", "", "", ""}), "missing_value", true));
}

TEST_F(ValidateTest, ShortRowIsRejected) {
  auto r = Run(Members(), {"id_number", "household_id", "name"}, {ValidId("52010219700101001")});
  EXPECT_TRUE(r.rejected);
  EXPECT_TRUE(HasIssue(r, "short_row", true));
}

TEST_F(ValidateTest, KeysAndContentHashes) {
  std::string id = ValidId("52010219700101001");
  std::vector<std::string> header = {"id_number", "household_id", "name"};
  auto a = Run(Members(), header, {id, "H1", "张三"});
  auto b = Run(Members(), header, {id, "H1", "张四"});
  auto c = Run(Members(), header, {id, "H2", "张三"});
  EXPECT_EQ(a.key_hash, b.key_hash);
  EXPECT_NE(a.content_hash, b.content_hash);
  EXPECT_NE(a.key_hash, c.key_hash);
  // Department data without key fields: the whole row is the key.
  auto d1 = Run(*FindDataset("deaths"), {"id_number", "death_date"}, {id, "2020-01-01"});
  auto d2 = Run(*FindDataset("deaths"), {"id_number", "death_date"}, {id, "2020-01-02"});
  EXPECT_NE(d1.key_hash, d2.key_hash);
  EXPECT_EQ(d1.key_hash, d1.content_hash);
}

}  // namespace
}  // namespace fupin::exchange
