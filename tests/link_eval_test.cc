// Tests of the link accuracy scorer on hand-made truth and links files: the arithmetic of
// precision and recall, rows missing from links.csv, lines the truth lacks, and CSV details.
#include "link_eval.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace fupin::link_eval {
namespace {

namespace fs = std::filesystem;

// 18-character IDs (the scorer compares text; check characters are not verified).
const std::string kA = "520102199001011234";
const std::string kB = "520102198502023456";
const std::string kC = "52010219700303567X";
const std::string kD = "520102200004047890";
const std::string kE = "520103195505051111";
const std::string kOutsider = "520201199106062222";

// vehicles rows 1-5: A, B, C, an outsider, D; deaths rows 1-2: E, an outsider.
std::string DepartmentRows() {
  return "file,row,true_id,outsider_id\n"
         "vehicles.csv,1," +
         kA + ",\n" + "vehicles.csv,2," + kB + ",\n" + "vehicles.csv,3," + kC + ",\n" +
         "vehicles.csv,4,," + kOutsider + "\n" + "vehicles.csv,5," + kD + ",\n" + "deaths.csv,1," +
         kE + ",\n" + "deaths.csv,2,," + kOutsider + "\n";
}

// vehicles row 2: an empty ID and a homophone name; deaths row 1: an old 15-digit ID.
std::string Dirty() {
  return "file,row,field,kind,clean,dirty\n"
         "vehicles.csv,2,id_number,empty," +
         kB + ",\n" +
         "vehicles.csv,2,name,homophone,张明,张铭\n"
         "deaths.csv,1,id_number,old15," +
         kE + ",520103550505111\n";
}

// Every registry row linked exactly, outsiders unlinked.
std::string PerfectLinks() {
  return "dataset,row,id_number,stage,weight\n"
         "vehicles,1," +
         kA + ",exact,\n" + "vehicles,2," + kB + ",probabilistic,14.25\n" + "vehicles,3," + kC +
         ",exact,\n" +
         "vehicles,4,,unlinked,-3.5\n"
         "vehicles,5," +
         kD + ",exact,\n" + "deaths,1," + kE + ",repaired,\n" + "deaths,2,,unlinked,\n";
}

class LinkEvalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/link-eval-XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    Write("_truth/department_rows.csv", DepartmentRows());
    Write("_truth/dirty.csv", Dirty());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void Write(const std::string& name, const std::string& text) {
    fs::create_directories((dir_ / name).parent_path());
    std::ofstream out(dir_ / name, std::ios::binary | std::ios::trunc);
    out << text;
  }

  // Scores `links` (the text of links.csv) against the truth of SetUp.
  LinkAccuracy Score(const std::string& links) {
    Write("links.csv", links);
    auto result = EvaluateLinks(dir_ / "_truth", dir_ / "links.csv");
    EXPECT_TRUE(result.has_value()) << result.error().ToString();
    return result.value_or(LinkAccuracy{});
  }

  Status ScoreError(const std::string& links) {
    Write("links.csv", links);
    auto result = EvaluateLinks(dir_ / "_truth", dir_ / "links.csv");
    EXPECT_FALSE(result.has_value());
    return result.has_value() ? Status() : result.error();
  }

  fs::path dir_;
};

const LinkCounts& Group(const std::vector<NamedCounts>& groups, std::string_view name) {
  for (const NamedCounts& g : groups)
    if (g.name == name) return g.counts;
  static const LinkCounts kNone;
  ADD_FAILURE() << "no group " << name;
  return kNone;
}

TEST_F(LinkEvalTest, PerfectLinksScoreOne) {
  const LinkAccuracy a = Score(PerfectLinks());
  EXPECT_EQ(a.overall.rows, 7);
  EXPECT_EQ(a.overall.registry_rows, 5);
  EXPECT_EQ(a.overall.linked, 5);
  EXPECT_EQ(a.overall.correct, 5);
  EXPECT_EQ(a.overall.outsider_linked, 0);
  EXPECT_DOUBLE_EQ(a.overall.Precision(), 1.0);
  EXPECT_DOUBLE_EQ(a.overall.Recall(), 1.0);
  EXPECT_EQ(a.links_lines, 7);
  EXPECT_EQ(a.missing_rows, 0);
  EXPECT_EQ(a.extra_lines, 0);
  EXPECT_EQ(a.duplicate_lines, 0);
  EXPECT_EQ(a.inconsistent_lines, 0);

  EXPECT_EQ(a.id_empty.rows, 1);
  EXPECT_EQ(a.id_empty.correct, 1);
  ASSERT_EQ(a.by_dirt.size(), 4u);  // the three kinds seen, then "none"
  EXPECT_EQ(a.by_dirt[0].name, "id_number/empty");
  EXPECT_EQ(a.by_dirt[1].name, "id_number/old15");
  EXPECT_EQ(a.by_dirt[2].name, "name/homophone");
  EXPECT_EQ(a.by_dirt[3].name, "none");
  EXPECT_EQ(Group(a.by_dirt, "name/homophone").rows, 1);
  EXPECT_EQ(Group(a.by_dirt, "none").rows, 5);
  EXPECT_EQ(Group(a.by_dirt, "none").registry_rows, 3);

  ASSERT_EQ(a.by_stage.size(), 4u);  // exact, repaired, probabilistic, unlinked
  EXPECT_EQ(Group(a.by_stage, "exact").rows, 3);
  EXPECT_EQ(Group(a.by_stage, "repaired").correct, 1);
  EXPECT_EQ(Group(a.by_stage, "probabilistic").correct, 1);
  const LinkCounts& unlinked = Group(a.by_stage, "unlinked");
  EXPECT_EQ(unlinked.rows, 2);
  EXPECT_EQ(unlinked.registry_rows, 0);
  EXPECT_TRUE(std::isnan(unlinked.Precision()));
  EXPECT_TRUE(std::isnan(unlinked.Recall()));

  ASSERT_EQ(a.by_dataset.size(), 2u);
  EXPECT_EQ(a.by_dataset[0].name, "vehicles");
  EXPECT_EQ(a.by_dataset[0].counts.rows, 5);
  EXPECT_EQ(a.by_dataset[1].name, "deaths");
  EXPECT_EQ(a.by_dataset[1].counts.registry_rows, 1);
}

TEST_F(LinkEvalTest, WrongLinkLowersPrecisionAndRecall) {
  std::string links = PerfectLinks();
  links.replace(links.find("vehicles,3," + kC), 11 + kC.size(), "vehicles,3," + kB);
  const LinkAccuracy a = Score(links);
  EXPECT_EQ(a.overall.linked, 5);
  EXPECT_EQ(a.overall.correct, 4);
  EXPECT_EQ(a.overall.wrong(), 1);
  EXPECT_EQ(a.overall.outsider_linked, 0);
  EXPECT_DOUBLE_EQ(a.overall.Precision(), 4.0 / 5.0);
  EXPECT_DOUBLE_EQ(a.overall.Recall(), 4.0 / 5.0);
  EXPECT_DOUBLE_EQ(Group(a.by_stage, "exact").Precision(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(a.by_dataset[0].counts.Recall(), 3.0 / 4.0);
  EXPECT_DOUBLE_EQ(a.by_dataset[1].counts.Recall(), 1.0);
  EXPECT_EQ(Group(a.by_dirt, "none").wrong(), 1);
}

TEST_F(LinkEvalTest, LinkedOutsiderCostsPrecisionNotRecall) {
  std::string links = PerfectLinks();
  links.replace(links.find("vehicles,4,,unlinked,-3.5"), 25,
                "vehicles,4," + kA + ",probabilistic,9");
  const LinkAccuracy a = Score(links);
  EXPECT_EQ(a.overall.linked, 6);
  EXPECT_EQ(a.overall.correct, 5);
  EXPECT_EQ(a.overall.outsider_linked, 1);
  EXPECT_DOUBLE_EQ(a.overall.Precision(), 5.0 / 6.0);
  EXPECT_DOUBLE_EQ(a.overall.Recall(), 1.0);
  const LinkCounts& probabilistic = Group(a.by_stage, "probabilistic");
  EXPECT_EQ(probabilistic.rows, 2);
  EXPECT_EQ(probabilistic.outsider_linked, 1);
  EXPECT_DOUBLE_EQ(probabilistic.Precision(), 0.5);
}

TEST_F(LinkEvalTest, MissingRowCountsAsNotLinked) {
  std::string links = PerfectLinks();
  const std::string line = "deaths,1," + kE + ",repaired,\n";
  links.erase(links.find(line), line.size());
  const LinkAccuracy a = Score(links);
  EXPECT_EQ(a.links_lines, 6);
  EXPECT_EQ(a.missing_rows, 1);
  EXPECT_EQ(a.overall.rows, 7);
  EXPECT_EQ(a.overall.linked, 4);
  EXPECT_DOUBLE_EQ(a.overall.Precision(), 1.0);
  EXPECT_DOUBLE_EQ(a.overall.Recall(), 4.0 / 5.0);
  const LinkCounts& missing = Group(a.by_stage, "missing");
  EXPECT_EQ(missing.rows, 1);
  EXPECT_EQ(missing.registry_rows, 1);
  EXPECT_EQ(Group(a.by_dirt, "id_number/old15").correct, 0);
  EXPECT_TRUE(std::isnan(Group(a.by_dirt, "id_number/old15").Precision()));
  EXPECT_DOUBLE_EQ(Group(a.by_dirt, "id_number/old15").Recall(), 0.0);
}

TEST_F(LinkEvalTest, ReviewRowIsNotLinked) {
  std::string links = PerfectLinks();
  const std::string line = "vehicles,2," + kB + ",probabilistic,14.25";
  links.replace(links.find(line), line.size(), "vehicles,2,,review,4.5");
  const LinkAccuracy a = Score(links);
  EXPECT_EQ(a.overall.linked, 4);
  EXPECT_DOUBLE_EQ(a.overall.Precision(), 1.0);
  EXPECT_DOUBLE_EQ(a.overall.Recall(), 4.0 / 5.0);
  const LinkCounts& review = Group(a.by_stage, "review");
  EXPECT_EQ(review.rows, 1);
  EXPECT_EQ(review.registry_rows, 1);
  EXPECT_EQ(review.linked, 0);
  EXPECT_EQ(a.inconsistent_lines, 0);
  // The row had an empty ID and a homophone name: it counts in both.
  EXPECT_DOUBLE_EQ(a.id_empty.Recall(), 0.0);
  EXPECT_DOUBLE_EQ(Group(a.by_dirt, "name/homophone").Recall(), 0.0);
}

TEST_F(LinkEvalTest, ExtraDuplicateAndInconsistentLinesAreCounted) {
  std::string links = PerfectLinks();
  links += "vehicles,6," + kA + ",exact,\n";       // no such row
  links += "health_claims,1," + kA + ",exact,\n";  // no such dataset
  links += "vehicles,1," + kB + ",exact,\n";       // a second line for row 1: ignored
  links += "deaths,2,,exact,\n";                   // already seen, and inconsistent
  const LinkAccuracy a = Score(links);
  EXPECT_EQ(a.links_lines, 11);
  EXPECT_EQ(a.extra_lines, 2);
  EXPECT_EQ(a.duplicate_lines, 2);
  EXPECT_EQ(a.inconsistent_lines, 1);
  EXPECT_EQ(a.overall.correct, 5);
  EXPECT_DOUBLE_EQ(a.overall.Precision(), 1.0);
}

TEST_F(LinkEvalTest, NonCanonicalIdIsNeverCorrect) {
  std::string links = PerfectLinks();
  links.replace(links.find(kC), kC.size(), "52010219700303567x");
  const LinkAccuracy a = Score(links);
  EXPECT_EQ(a.overall.linked, 5);
  EXPECT_EQ(a.overall.correct, 4);
}

TEST_F(LinkEvalTest, ReadsBomCrlfQuotesAndColumnOrder) {
  const std::string links =
      "\xEF\xBB\xBFstage,weight,row,dataset,id_number\r\n"
      "exact,,1,vehicles," +
      kA + "\r\n" + "\"probabilistic\",\"1,5\",2,vehicles,\"" + kB + "\"\r\n" +
      "exact,\"a \"\"quoted\"\"\nweight\",3,vehicles," + kC + "\r\n" +
      "unlinked,,4,vehicles,\r\n"
      "exact,,5,vehicles," +
      kD + "\r\n" + "repaired,,1,deaths.csv," + kE + "\r\n" +  // a file name works too
      "unlinked,,2,deaths,";                                   // no final line break
  const LinkAccuracy a = Score(links);
  EXPECT_EQ(a.links_lines, 7);
  EXPECT_EQ(a.missing_rows, 0);
  EXPECT_EQ(a.extra_lines, 0);
  EXPECT_EQ(a.overall.correct, 5);
  EXPECT_EQ(a.inconsistent_lines, 0);
}

// A file larger than the reader's 4 MiB chunk, every record holding a quoted line break, so
// that chunk boundaries fall inside quoted fields.
TEST_F(LinkEvalTest, QuotedFieldsAcrossChunkBoundaries) {
  std::string links = PerfectLinks();
  constexpr int kExtra = 120000;
  for (int i = 0; i < kExtra; ++i) {
    links += "vehicles," + std::to_string(100 + i) + "," + kA + ",exact,\"w\n\"\"" +
             std::to_string(i) + "\"\"\"\n";
  }
  ASSERT_GT(links.size(), size_t{5} << 20);
  const LinkAccuracy a = Score(links);
  EXPECT_EQ(a.links_lines, 7 + kExtra);
  EXPECT_EQ(a.extra_lines, kExtra);
  EXPECT_EQ(a.overall.correct, 5);
}

TEST_F(LinkEvalTest, MalformedInputFails) {
  EXPECT_EQ(ScoreError("dataset,row,id_number\nvehicles,1," + kA + "\n").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ScoreError("dataset,row,id_number,stage\nvehicles,1," + kA + ",matched\n").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ScoreError("dataset,row,id_number,stage\nvehicles,0," + kA + ",exact\n").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ScoreError("dataset,row,id_number,stage\nvehicles,1\n").code(),
            StatusCode::kInvalidArgument);
  auto missing = EvaluateLinks(dir_ / "_truth", dir_ / "no-such-links.csv");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);

  Write("_truth/dirty.csv", "file,row,field,kind,clean,dirty\nvehicles.csv,9,name,homophone,a,b\n");
  const Status dirty = ScoreError(PerfectLinks());
  EXPECT_EQ(dirty.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(dirty.message().find("vehicles.csv row 9"), std::string::npos) << dirty.message();

  Write("_truth/dirty.csv", Dirty());
  Write("_truth/department_rows.csv", "file,row,true_id,outsider_id\nvehicles.csv,1,12345,\n");
  EXPECT_EQ(ScoreError(PerfectLinks()).code(), StatusCode::kInvalidArgument);
}

TEST_F(LinkEvalTest, MarkdownHasFiguresAndCounts) {
  const std::string md = FormatMarkdown(Score(PerfectLinks()));
  EXPECT_NE(md.find("| all department rows | 7 | 5 | 5 | 5 | 0 | 0 | 1.0000 | 1.0000 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| unlinked | 2 | 0 | 0 | 0 | 0 | 0 | n/a | n/a |"), std::string::npos) << md;
  EXPECT_NE(md.find("| id_number/old15 |"), std::string::npos) << md;
}

TEST(WithThousandsTest, GroupsDigits) {
  EXPECT_EQ(WithThousands(0), "0");
  EXPECT_EQ(WithThousands(999), "999");
  EXPECT_EQ(WithThousands(1000), "1,000");
  EXPECT_EQ(WithThousands(33512345), "33,512,345");
  EXPECT_EQ(WithThousands(-1234567), "-1,234,567");
}

}  // namespace
}  // namespace fupin::link_eval
