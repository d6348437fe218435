// Terminal conventions of the `fupin` command (issue 13, item 9), run as a user runs it: the
// real binary in a child process on a temporary SQLite file. A bare `fupin` lists the
// commands, an empty folder creates no database, progress lines say what they count, and
// Ctrl-C during an import rolls it back and says so, leaving no journal or temporary file.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "fupin_process.h"
#include "test_files.h"

namespace fupin {
namespace {

namespace fs = std::filesystem;
using test::Csv;
using test::FupinProcess;
using test::FupinRun;
using test::Household;
using test::kCounty;
using test::MakeId;
using test::Member;

class CliTerminalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_ / "fupin.db";
    batch_ = dir_ / "batch";
    fs::create_directories(batch_);
  }
  FupinRun Fupin(const std::vector<std::string>& args) { return test::RunFupin(dir_.path(), args); }
  void WriteSmallBatch(const fs::path& dir) {
    test::WriteFile(dir / "households.csv", Csv("households", {Household("H1"), Household("H2")}));
    test::WriteFile(dir / "members.csv",
                    Csv("members", {Member(MakeId(kCounty, "19700101", 11), "H1")}));
  }
  // Files in `dir` whose name ends with `suffix`.
  static std::vector<std::string> FilesEndingWith(const fs::path& dir, std::string_view suffix) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(dir, ec))
      if (e.path().string().ends_with(suffix)) out.push_back(e.path().string());
    return out;
  }

  test::TempDir dir_;
  fs::path db_;
  fs::path batch_;
};

TEST_F(CliTerminalTest, BareFupinListsTheCommands) {
  FupinRun r = Fupin({});
  EXPECT_EQ(r.exit_code, 2) << r.Show();  // no command was run: a usage error, as before
  for (std::string_view command :
       {"import", "report-issues", "stats", "link", "rules", "query", "report", "gen"})
    EXPECT_NE(r.out.find(fmt::format("  {} ", command)), std::string::npos) << command << "\n"
                                                                            << r.Show();
}

TEST_F(CliTerminalTest, EmptyFolderCreatesNoDatabase) {
  FupinRun r = Fupin({"import", batch_.string(), "--db", db_.string()});
  EXPECT_EQ(r.exit_code, 1) << r.Show();
  EXPECT_NE(r.err.find("没有交换格式文件"), std::string::npos) << r.Show();
  EXPECT_FALSE(fs::exists(db_));
  EXPECT_FALSE(fs::exists(db_.string() + ".reports"));
}

TEST_F(CliTerminalTest, ProgressLinesSayWhatTheyCount) {
  WriteSmallBatch(batch_);
  FupinRun zh = Fupin({"import", batch_.string(), "--db", db_.string()});
  ASSERT_EQ(zh.exit_code, 0) << zh.Show();
  // stderr is no terminal here: one line per report, the last one of each file at 100%.
  EXPECT_NE(zh.err.find("导入 households.csv：文件已读 100.0%"), std::string::npos) << zh.Show();
  EXPECT_NE(zh.err.find("已读数据行 2"), std::string::npos) << zh.Show();
  EXPECT_NE(zh.err.find("导入 members.csv：文件已读 100.0%"), std::string::npos) << zh.Show();
  WriteSmallBatch(dir_ / "en");
  test::WriteFile(dir_ / "en" / "households.csv",
                  Csv("households", {Household("H1"), Household("H2"), Household("H3")}));
  FupinRun en = Fupin({"import", (dir_ / "en").string(), "--db", db_.string(), "--lang", "en"});
  ASSERT_EQ(en.exit_code, 0) << en.Show();
  EXPECT_NE(en.err.find("importing households.csv: 100.0% of the file read"), std::string::npos)
      << en.Show();
  EXPECT_NE(en.err.find("3 data rows read"), std::string::npos) << en.Show();
}

// SIGINT sent to a real import of a generated province while it runs: the batch is rolled
// back, the message says nothing changed, the exit status is 130, and neither a journal nor a
// report's temporary file is left.
TEST_F(CliTerminalTest, CtrlCDuringAnImportChangesNothingAndLeavesNoFiles) {
  WriteSmallBatch(dir_ / "small");
  ASSERT_EQ(Fupin({"import", (dir_ / "small").string(), "--db", db_.string()}).exit_code, 0);
  const auto before = test::TableCounts(db_);
  const fs::path province = dir_ / "province";
  FupinRun gen = Fupin({"gen", "--scale", "0.01", "--seed", "3", "--out", province.string()});
  ASSERT_EQ(gen.exit_code, 0) << gen.Show();

  FupinProcess import(dir_.path(), {"import", province.string(), "--db", db_.string()});
  // Interrupt once a progress line shows that rows are being written.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (import.ErrSoFar().find("已读数据行") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(kill(import.pid(), SIGINT), 0);
  FupinRun r = import.Wait();

  EXPECT_EQ(r.exit_code, 130) << r.Show();
  EXPECT_NE(r.err.find("已中断，数据库未改变"), std::string::npos) << r.Show();
  EXPECT_EQ(test::TableCounts(db_), before);
  EXPECT_FALSE(fs::exists(db_.string() + "-journal"));
  EXPECT_FALSE(fs::exists(db_.string() + "-wal"));
  EXPECT_TRUE(FilesEndingWith(dir_.path(), ".part").empty())
      << fmt::format("{}", fmt::join(FilesEndingWith(dir_.path(), ".part"), "\n"));
  // The same import, not interrupted, then goes through.
  FupinRun again = Fupin({"import", province.string(), "--db", db_.string(), "--quiet"});
  EXPECT_TRUE(again.exit_code == 0 || again.exit_code == 3) << again.Show();
  EXPECT_GT(test::QueryInt(db_, "SELECT count(*) FROM households"), before.at("households"));
}

}  // namespace
}  // namespace fupin
