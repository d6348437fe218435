// The review queue run as a user runs it, on a small generated province (`fupin gen`):
// `fupin review list` shows each doubtful candidate beside its department row with the field
// agreements (masked unless --unmask), accept makes a link and reject keeps the pair out,
// and later link runs, --full included, keep both decisions. Also: `fupin link` progress says
// what it counts, and the link exports are masked and carry a BOM. Checked against the
// SQLite file.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "fupin_process.h"
#include "test_files.h"

namespace fupin {
namespace {

namespace fs = std::filesystem;
using test::FupinRun;

// Links with a high upper threshold so that the probabilistic stage queues candidates.
const std::vector<std::string> kQueueing = {"--upper", "1", "--lower", "0.01", "--quiet"};

class ReviewTest : public ::testing::Test {
 protected:
  // One province for the suite; each test works on its own copy of the database.
  static void SetUpTestSuite() {
    province_ = std::make_unique<test::TempDir>();
    const test::TempDir& p = *province_;
    FupinRun gen = test::RunFupin(
        p.path(), {"gen", "--scale", "0.001", "--seed", "1", "--out", (p / "batch").string()});
    ASSERT_EQ(gen.exit_code, 0) << gen.Show();
    FupinRun imp =
        test::RunFupin(p.path(), {"import", (p / "batch").string(), "--db", (p / "f.db").string()});
    ASSERT_EQ(imp.exit_code, 0) << imp.Show();
    std::vector<std::string> link = {"link", "--db", (p / "f.db").string()};
    link.insert(link.end(), kQueueing.begin(), kQueueing.end());
    FupinRun l = test::RunFupin(p.path(), link);
    ASSERT_EQ(l.exit_code, 0) << l.Show();
  }
  static void TearDownTestSuite() { province_.reset(); }

  void SetUp() override {
    db_ = dir_ / "f.db";
    fs::copy_file(*province_ / "f.db", db_);
  }

  FupinRun Fupin(const std::vector<std::string>& args) { return test::RunFupin(dir_.path(), args); }
  FupinRun Link(bool full) {
    std::vector<std::string> args = {"link", "--db", db_.string()};
    if (full) args.push_back("--full");
    args.insert(args.end(), kQueueing.begin(), kQueueing.end());
    return Fupin(args);
  }

  // The review candidates of `dataset`: source_row, row_id, person_id (packed), in row order.
  std::vector<std::vector<std::string>> Queue(const std::string& dataset) {
    return test::Query(db_, "SELECT d.source_row, l.row_id, l.person_id FROM links_" + dataset +
                                " l JOIN dept_" + dataset +
                                " d USING (row_id) WHERE l.stage = 4 ORDER BY d.source_row");
  }

  static std::unique_ptr<test::TempDir> province_;
  test::TempDir dir_;
  fs::path db_;
};

std::unique_ptr<test::TempDir> ReviewTest::province_;

const std::regex kFullId("[0-9]{17}[0-9X]");
const std::regex kMaskedId("[0-9]{6}\\*{8}[0-9]{3}[0-9X]");

TEST_F(ReviewTest, ListShowsRowCandidateAndFieldAgreementsMasked) {
  const auto queue = Queue("health_enrollment");
  ASSERT_FALSE(queue.empty()) << "the generated province queues no candidate";
  FupinRun zh = Fupin({"review", "list", "--db", db_.string(), "--dataset", "health_enrollment"});
  ASSERT_EQ(zh.exit_code, 0) << zh.Show();
  EXPECT_NE(zh.out.find(fmt::format("health_enrollment 第 {} 行", queue[0][0])), std::string::npos)
      << zh.out;
  for (const char* label : {"部门记录", "登记人员", "字段比对", "姓名", "出生日期", "概率", "权重"})
    EXPECT_NE(zh.out.find(label), std::string::npos) << label << "\n" << zh.out;
  EXPECT_NE(zh.out.find(fmt::format("待核查候选: {}", queue.size())), std::string::npos) << zh.out;
  EXPECT_TRUE(std::regex_search(zh.out, kMaskedId)) << zh.out;
  EXPECT_FALSE(std::regex_search(zh.out, kFullId)) << zh.out;
  // --unmask shows the full ID; English on request.
  FupinRun en = Fupin({"--lang", "en", "review", "list", "--db", db_.string(), "--dataset",
                       "health_enrollment", "--row", queue[0][0], "--unmask"});
  ASSERT_EQ(en.exit_code, 0) << en.Show();
  EXPECT_TRUE(std::regex_search(en.out, kFullId)) << en.out;
  EXPECT_NE(en.out.find("agreement  name "), std::string::npos) << en.out;
  EXPECT_NE(en.out.find("candidates awaiting review: 1"), std::string::npos) << en.out;
}

TEST_F(ReviewTest, AcceptLinksRejectKeepsThePairOutAndFullRunsRespectBoth) {
  const auto queue = Queue("health_enrollment");
  ASSERT_GE(queue.size(), 2u);
  const std::string accepted_row = queue[0][0], accepted_id = queue[0][1], person = queue[0][2];
  const std::string rejected_row = queue[1][0], rejected_id = queue[1][1],
                    rejected_person = queue[1][2];
  FupinRun a = Fupin({"review", "accept", "--db", db_.string(), "--dataset", "health_enrollment",
                      "--row", accepted_row, "--user", "cadre3", "--note", "入户核实"});
  ASSERT_EQ(a.exit_code, 0) << a.Show();
  EXPECT_NE(a.out.find("已确认关联"), std::string::npos) << a.out;
  FupinRun r = Fupin({"review", "reject", "--db", db_.string(), "--dataset", "health_enrollment",
                      "--row", rejected_row});
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  auto link_of = [&](const std::string& row_id) {
    return test::Query(
        db_, "SELECT stage, person_id FROM links_health_enrollment WHERE row_id = " + row_id);
  };
  EXPECT_EQ(link_of(accepted_id), (std::vector<std::vector<std::string>>{{"3", person}}));
  EXPECT_TRUE(link_of(rejected_id).empty());
  EXPECT_EQ(Queue("health_enrollment").size(), queue.size() - 2);
  // Deciding again: nothing awaits review on those rows.
  FupinRun twice = Fupin({"--lang", "en", "review", "reject", "--db", db_.string(), "--dataset",
                          "health_enrollment", "--row", accepted_row});
  EXPECT_EQ(twice.exit_code, 1) << twice.Show();
  EXPECT_NE(twice.err.find("health_enrollment row " + accepted_row), std::string::npos)
      << twice.err;

  // A full run scores every row again with the same data, which queued both pairs before.
  for (bool full : {true, false}) {
    FupinRun l = Link(full);
    ASSERT_EQ(l.exit_code, 0) << l.Show();
    EXPECT_EQ(link_of(accepted_id), (std::vector<std::vector<std::string>>{{"3", person}}))
        << (full ? "full" : "incremental");
    EXPECT_EQ(test::QueryInt(db_, "SELECT count(*) FROM links_health_enrollment WHERE row_id = " +
                                      rejected_id + " AND person_id = " + rejected_person),
              0)
        << (full ? "full" : "incremental");
    EXPECT_EQ(Queue("health_enrollment").size(), queue.size() - 2);
  }
  // The export shows the accepted link as such.
  const fs::path out = dir_ / "links.csv";
  FupinRun exp = Fupin({"export", "links", "--db", db_.string(), "--out", out.string()});
  ASSERT_EQ(exp.exit_code, 0) << exp.Show();
  const std::string links = test::ReadFile(out);
  EXPECT_TRUE(std::regex_search(
      links, std::regex("\nhealth_enrollment," + accepted_row + ",[0-9*X]+,accepted,")))
      << accepted_row;
  EXPECT_EQ(test::QueryInt(db_,
                           "SELECT count(*) FROM link_review_decisions WHERE user_name = "
                           "'cadre3' AND note = '入户核实' AND decision = 'accepted'"),
            1);
}

// A decision is about the row as it was decided: once a re-import changes that row (here its
// name, so the candidate is no longer the same evidence), the row is linked afresh and the old
// accept is not forced onto it.
TEST_F(ReviewTest, DecisionDoesNotOutliveAChangeToItsRow) {
  const auto queue = Queue("health_enrollment");
  ASSERT_GE(queue.size(), 1u);
  const std::string row = queue[0][0], person = queue[0][2];
  FupinRun a = Fupin(
      {"review", "accept", "--db", db_.string(), "--dataset", "health_enrollment", "--row", row});
  ASSERT_EQ(a.exit_code, 0) << a.Show();
  auto accepted_links = [&] {
    return test::QueryInt(db_,
                          "SELECT count(*) FROM links_health_enrollment l JOIN "
                          "dept_health_enrollment d USING (row_id) WHERE d.source_row = " +
                              row + " AND l.person_id = " + person + " AND l.stage = 3");
  };
  ASSERT_EQ(accepted_links(), 1);

  // The department sends the file again with that row's name corrected to someone else's.
  const fs::path batch = dir_ / "batch";
  fs::create_directories(batch);
  std::istringstream in(test::ReadFile(*province_ / "batch" / "health_enrollment.csv"));
  std::string text, line;
  for (int n = 0; std::getline(in, line); ++n) {
    if (std::to_string(n) == row) {
      const size_t a1 = line.find(','), a2 = line.find(',', a1 + 1);
      ASSERT_NE(a2, std::string::npos) << line;
      line = line.substr(0, a1 + 1) + "司马相如" + line.substr(a2);
    }
    text += line + "\n";
  }
  test::WriteFile(batch / "health_enrollment.csv", text);
  FupinRun imp = Fupin({"import", batch.string(), "--db", db_.string()});
  ASSERT_TRUE(imp.exit_code == 0 || imp.exit_code == 3) << imp.Show();
  FupinRun l = Link(false);
  ASSERT_EQ(l.exit_code, 0) << l.Show();
  EXPECT_EQ(accepted_links(), 0) << "the accept of the row before its change still holds";
}

TEST_F(ReviewTest, DecisionsNameWhatIsWrong) {
  FupinRun dataset = Fupin({"--lang", "en", "review", "accept", "--db", db_.string(), "--dataset",
                            "nope", "--row", "1"});
  EXPECT_EQ(dataset.exit_code, 1) << dataset.Show();
  EXPECT_NE(dataset.err.find("unknown department data set nope"), std::string::npos) << dataset.err;
  FupinRun row = Fupin(
      {"review", "accept", "--db", db_.string(), "--dataset", "disability", "--row", "999999"});
  EXPECT_EQ(row.exit_code, 1) << row.Show();
  EXPECT_NE(row.err.find("disability 第 999999 行没有待核查的候选人"), std::string::npos)
      << row.err;
  FupinRun list = Fupin({"review", "list", "--db", db_.string(), "--dataset", "members"});
  EXPECT_EQ(list.exit_code, 1) << list.Show();
  EXPECT_NE(list.err.find("members"), std::string::npos) << list.err;
}

TEST_F(ReviewTest, LinkProgressSaysWhatItCounts) {
  FupinRun zh = Fupin({"link", "--db", db_.string(), "--full"});
  ASSERT_EQ(zh.exit_code, 0) << zh.Show();
  const int64_t members = test::QueryInt(db_, "SELECT count(*) FROM members");
  EXPECT_NE(zh.err.find(fmt::format("已读取登记人员：{:L} 人", members)), std::string::npos)
      << zh.err;
  EXPECT_TRUE(std::regex_search(zh.err, std::regex("disability：已处理 [0-9,]+ 行"))) << zh.err;
  EXPECT_TRUE(std::regex_search(zh.err, std::regex("概率匹配：[0-9,]+ 行待匹配"))) << zh.err;
  FupinRun en = Fupin({"--lang", "en", "link", "--db", db_.string(), "--full"});
  ASSERT_EQ(en.exit_code, 0) << en.Show();
  EXPECT_TRUE(std::regex_search(en.err, std::regex("disability: [0-9,]+ rows done"))) << en.err;
}

TEST_F(ReviewTest, LinkExportsAreMaskedUnlessUnmaskAndStartWithABom) {
  const fs::path out = dir_ / "links.csv";
  FupinRun masked = Fupin({"export", "links", "--db", db_.string(), "--out", out.string()});
  ASSERT_EQ(masked.exit_code, 0) << masked.Show();
  const std::string text = test::ReadFile(out);
  EXPECT_TRUE(text.starts_with("\xEF\xBB\xBF"));
  EXPECT_FALSE(std::regex_search(text, kFullId));
  EXPECT_TRUE(std::regex_search(text, kMaskedId));
  FupinRun full =
      Fupin({"export", "links", "--db", db_.string(), "--out", out.string(), "--unmask"});
  ASSERT_EQ(full.exit_code, 0) << full.Show();
  EXPECT_TRUE(std::regex_search(test::ReadFile(out), kFullId));
}

TEST_F(ReviewTest, FindingsExportMasksIdsAndNamesUnlessUnmask) {
  // One person listed in two households: a same_person_two_households finding.
  const fs::path batch = dir_ / "batch", db = dir_ / "two.db";
  const std::string id = test::MakeId(test::kCounty, "19700101", 11);
  test::WriteFile(batch / "households.csv",
                  test::Csv("households", {test::Household("H1"), test::Household("H2")}));
  test::WriteFile(batch / "members.csv",
                  test::Csv("members", {test::Member(id, "H1", "欧阳娜娜"),
                                        test::Member(id, "H2", "欧阳娜娜")}));
  ASSERT_EQ(Fupin({"import", batch.string(), "--db", db.string()}).exit_code, 0);
  ASSERT_EQ(Fupin({"link", "--db", db.string(), "--quiet"}).exit_code, 0);
  const fs::path out = dir_ / "findings.csv";
  FupinRun masked = Fupin({"export", "findings", "--db", db.string(), "--out", out.string()});
  ASSERT_EQ(masked.exit_code, 0) << masked.Show();
  const std::string text = test::ReadFile(out);
  EXPECT_TRUE(text.starts_with("\xEF\xBB\xBF"));
  EXPECT_NE(text.find("same_person_two_households"), std::string::npos) << text;
  EXPECT_EQ(text.find(id), std::string::npos) << text;
  EXPECT_EQ(text.find("娜娜"), std::string::npos) << text;
  EXPECT_NE(text.find(id.substr(0, 6) + "********" + id.substr(14)), std::string::npos) << text;
  EXPECT_NE(text.find("欧***"), std::string::npos) << text;
  FupinRun full =
      Fupin({"export", "findings", "--db", db.string(), "--out", out.string(), "--unmask"});
  ASSERT_EQ(full.exit_code, 0) << full.Show();
  const std::string plain = test::ReadFile(out);
  EXPECT_NE(plain.find(id), std::string::npos) << plain;
  EXPECT_NE(plain.find("欧阳娜娜"), std::string::npos) << plain;
}

}  // namespace
}  // namespace fupin
