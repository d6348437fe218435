#include "core/id_number.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fupin {
namespace {

TEST(IdNumber, ValidNumberPasses) {
  IdNumber id = NormalizeIdNumber("11010519491231002X");
  EXPECT_EQ(id.problem, IdProblem::kNone);
  EXPECT_EQ(id.normalized, "11010519491231002X");
  EXPECT_FALSE(id.cleaned);
  EXPECT_EQ(IdBirthDate(id.normalized), (Date{1949, 12, 31}));
  EXPECT_EQ(IdSex(id.normalized), 2);
  EXPECT_EQ(IdCountyCode(id.normalized), "110105");
}

TEST(IdNumber, LowerCaseXIsUpperCasedAndMarkedCleaned) {
  IdNumber id = NormalizeIdNumber("11010519491231002x");
  EXPECT_EQ(id.problem, IdProblem::kNone);
  EXPECT_EQ(id.normalized, "11010519491231002X");
  EXPECT_TRUE(id.cleaned);
}

TEST(IdNumber, FullWidthDigitsAndSpacesAreFolded) {
  IdNumber id = NormalizeIdNumber(" １１０１０５ 19491231002X\u3000");
  EXPECT_EQ(id.problem, IdProblem::kNone);
  EXPECT_EQ(id.normalized, "11010519491231002X");
  EXPECT_TRUE(id.cleaned);
}

TEST(IdNumber, FifteenDigitsWidenWithComputedCheck) {
  IdNumber id = NormalizeIdNumber("150102880730303");
  EXPECT_EQ(id.problem, IdProblem::kNone);
  EXPECT_TRUE(id.converted_from_15);
  EXPECT_EQ(id.normalized, "150102198807303035");
}

TEST(IdNumber, TellsApartTheThreeFailures) {
  EXPECT_EQ(NormalizeIdNumber("").problem, IdProblem::kEmpty);
  EXPECT_EQ(NormalizeIdNumber("   ").problem, IdProblem::kEmpty);
  EXPECT_EQ(NormalizeIdNumber("1101051949123100").problem, IdProblem::kMalformed);
  EXPECT_EQ(NormalizeIdNumber("11010519491231002A").problem, IdProblem::kMalformed);
  EXPECT_EQ(NormalizeIdNumber("5.20102E+17").problem, IdProblem::kMalformed);
  EXPECT_EQ(NormalizeIdNumber("110105194902300021").problem, IdProblem::kImpossibleDate);
  EXPECT_EQ(NormalizeIdNumber("110105194912310021").problem, IdProblem::kBadCheckChar);
  EXPECT_EQ(NormalizeIdNumber("150102881330303").problem, IdProblem::kImpossibleDate);
}

TEST(IdNumber, BadCheckCharKeepsTheEighteenCharacters) {
  IdNumber id = NormalizeIdNumber("110105194912310021");
  EXPECT_EQ(id.normalized, "110105194912310021");
}

// Reads a CSV without quoted commas in the columns we use.
std::vector<std::vector<std::string>> ReadSimpleCsv(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

// The outside vectors in tests/data/cn_id: every number the sources call valid passes, every
// one they call invalid fails, and our verdict matches the recorded GB 11643 re-check.
TEST(IdNumber, AgreesWithOutsideTestVectors) {
  auto rows =
      ReadSimpleCsv(std::string(FUPIN_SOURCE_DIR) + "/tests/data/cn_id/cn_id_test_vectors.csv");
  ASSERT_GT(rows.size(), 30u);
  for (const auto& r : rows) {
    ASSERT_GE(r.size(), 4u);
    const std::string& raw = r[0];
    const std::string& recheck = r[3];
    IdNumber id = NormalizeIdNumber(raw);
    bool ours_pass = id.problem == IdProblem::kNone;
    if (recheck == "pass") {
      EXPECT_TRUE(ours_pass) << raw << " " << IdProblemText(id.problem);
    } else if (recheck.rfind("fail", 0) == 0) {
      EXPECT_FALSE(ours_pass) << raw;
    }
  }
}

TEST(IdNumber, WidensLikeOutsideSources) {
  auto rows = ReadSimpleCsv(std::string(FUPIN_SOURCE_DIR) + "/tests/data/cn_id/cn_id_15_to_18.csv");
  ASSERT_GE(rows.size(), 4u);
  for (const auto& r : rows) {
    IdNumber id = NormalizeIdNumber(r[0]);
    EXPECT_EQ(id.normalized, r[2]) << r[0];
    EXPECT_TRUE(id.converted_from_15);
  }
}

}  // namespace
}  // namespace fupin

namespace fupin {
namespace {

// The importer's shortcut must say exactly what NormalizeIdNumber says, or defer to it.
TEST(NormalFormIdProblem, AgreesWithNormalizeOrDefers) {
  const char* inputs[] = {"11010519491231002X",
                          "110105194912310021",
                          "110105194902300028",
                          "11010519491231002x",
                          " 11010519491231002X",
                          "110105491231002",
                          "１１０１０５１９４９１２３１００２Ｘ",
                          "1101051949123100",
                          "",
                          "11010519491231002Y",
                          "11010519491231002XX",
                          "A10105194912310020"};
  for (const char* in : inputs) {
    std::optional<IdProblem> quick = NormalFormIdProblem(in);
    IdNumber full = NormalizeIdNumber(in);
    if (quick) {
      EXPECT_EQ(*quick, full.problem) << in;
      EXPECT_EQ(full.normalized, in) << in;
      EXPECT_FALSE(full.cleaned || full.converted_from_15) << in;
    } else {
      EXPECT_TRUE(full.problem == IdProblem::kMalformed || full.problem == IdProblem::kEmpty ||
                  full.normalized != in)
          << in;
    }
  }
  EXPECT_EQ(NormalFormIdProblem("11010519491231002X"), IdProblem::kNone);
  EXPECT_EQ(NormalFormIdProblem("110105194912310021"), IdProblem::kBadCheckChar);
  EXPECT_EQ(NormalFormIdProblem("110105194902300028"), IdProblem::kImpossibleDate);
  EXPECT_EQ(NormalFormIdProblem("11010519491231002x"), std::nullopt);
}

TEST(PackIdNumber, RoundTripsAndRejectsWhatIsNotAnId) {
  for (std::string id :
       {"52010219800101002X", "110105194912310029", "000000000000000000", "999999999999999999"}) {
    uint64_t packed = PackIdNumber(id);
    EXPECT_NE(packed, 0u) << id;
    EXPECT_EQ(UnpackIdNumber(packed), id);
  }
  EXPECT_NE(PackIdNumber("520102198001010021"), PackIdNumber("52010219800101002X"));
  EXPECT_EQ(PackIdNumber("52010219800101002x"), 0u);  // normalise first
  EXPECT_EQ(PackIdNumber("5201021980010100"), 0u);
  EXPECT_EQ(PackIdNumber("52010219800101X021"), 0u);
  EXPECT_EQ(PackIdNumber(""), 0u);
}

TEST(MaskIdNumber, MasksEveryIdNumberInAText) {
  EXPECT_EQ(MaskIdAndPhoneNumbersIn("李诺依（52028120030303154X）登记在2个户中"),
            "李诺依（520281********154X）登记在2个户中");
  EXPECT_EQ(MaskIdAndPhoneNumbersIn("a 520102800101123 b 5201021980010112345"),
            "a 520102*****1123 b 5201021980010112345");  // 19 digits: not an ID number
  EXPECT_EQ(MaskIdAndPhoneNumbersIn("车牌 贵A12345，2019年"), "车牌 贵A12345，2019年");
}

TEST(MaskIdNumber, MasksEveryMobileNumberInAText) {
  EXPECT_EQ(MaskIdAndPhoneNumbersIn("户主电话13812345678，已走访"), "户主电话138****5678，已走访");
  EXPECT_EQ(MaskIdAndPhoneNumbersIn("tel:15900001111/18612340000"), "tel:159****1111/186****0000");
  // Not a mobile number: 11 digits starting 12, 10 or 12 digits, an account number.
  EXPECT_EQ(MaskIdAndPhoneNumbersIn("12812345678 1381234567 138123456789"),
            "12812345678 1381234567 138123456789");
  EXPECT_EQ(MaskPhoneNumber("13812345678"), "138****5678");
  EXPECT_EQ(MaskPhoneNumber("0851-88888888"), "085******8888");
  EXPECT_EQ(MaskPhoneNumber("1234567"), "*******");
}

TEST(MaskIdNumber, KeepsCountyAndLastFour) {
  EXPECT_EQ(MaskIdNumber("52010219800101123X"), "520102********123X");
  EXPECT_EQ(MaskIdNumber("520102800101123"), "520102*****1123");
  EXPECT_EQ(MaskIdNumber("12345"), "*****");
  EXPECT_EQ(MaskIdNumber(""), "");
}

}  // namespace
}  // namespace fupin
