// Read views and write transactions of the store (store.h: ReadView, WriteTxn), and the actor
// recorded with every write: two real connections to one real SQLite file, one reading while
// the other commits an import, a link run and a rule run.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/actor.h"
#include "core/datasets.h"
#include "exchange/import.h"
#include "store/open.h"
#include "test_files.h"

namespace fupin {
namespace {

namespace fs = std::filesystem;
using store::FlagState;
using store::Store;
using test::Csv;
using test::Household;
using test::kCounty;
using test::MakeId;
using test::Member;

const DatasetSpec& Spec(std::string_view name) {
  const DatasetSpec* d = FindDataset(name);
  EXPECT_NE(d, nullptr) << name;
  return *d;
}

class ReadViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_ / "f.db";
    writer_ = Open();
    reader_ = Open();
    // The first state: one household with one member.
    Import("b1", {Household("H1")}, {Member(MakeId(kCounty, "19800101", 1), "H1")});
  }

  std::unique_ptr<Store> Open(int busy_timeout_ms = 5000) {
    auto s = store::OpenStore("sqlite:" + db_.string(), {.busy_timeout_ms = busy_timeout_ms});
    EXPECT_TRUE(s) << s.error().ToString();
    return s ? std::move(*s) : nullptr;
  }

  void Import(const std::string& name, const std::vector<test::Row>& households,
              const std::vector<test::Row>& members, const Actor& actor = {.user = "importer"}) {
    const fs::path batch = dir_ / name;
    test::WriteFile(batch / "households.csv", Csv("households", households));
    test::WriteFile(batch / "members.csv", Csv("members", members));
    exchange::ImportOptions options;
    options.actor = actor;
    auto summary = exchange::ImportPath(*writer_, batch, options);
    ASSERT_TRUE(summary) << summary.error().ToString();
    ASSERT_GT(summary->batch_id, 0);
  }

  // What `s` reads now, through scans on their own connections (ScanColumns, ScanMembers)
  // and through the store's connection (GetStats, ForEachFlag, ForEachFinding).
  struct Seen {
    int64_t households_scanned = 0;
    int64_t members_scanned = 0;
    int64_t households_counted = 0;
    int64_t flags = 0;
    int64_t findings = 0;
    Store::DataVersion version;
  };
  Seen Read(Store& s) {
    Seen seen;
    const std::vector<std::string> columns = {"household_id"};
    EXPECT_TRUE(
        s.Rules()
            .ScanColumns(Spec("households"), columns,
                         [&](int64_t, std::span<const store::Cell>) { ++seen.households_scanned; })
            .ok());
    EXPECT_TRUE(
        s.Links().ScanMembers([&](const store::RegistryMember&) { ++seen.members_scanned; }).ok());
    auto stats = s.GetStats();
    EXPECT_TRUE(stats);
    for (const auto& t : stats->tables)
      if (t.table == "households") seen.households_counted = t.rows;
    EXPECT_TRUE(s.Rules()
                    .ForEachFlag({},
                                 [&](const store::FlagRow&) {
                                   ++seen.flags;
                                   return OkStatus();
                                 })
                    .ok());
    EXPECT_TRUE(s.Links()
                    .ForEachFinding([&](const store::LinkFinding&) {
                      ++seen.findings;
                      return OkStatus();
                    })
                    .ok());
    auto version = s.GetDataVersion();
    EXPECT_TRUE(version);
    if (version) seen.version = *version;
    return seen;
  }

  // A link run that records one finding, and a rule run that raises one flag on `household`.
  void LinkAndFlag(Store& s, const std::string& household, const Actor& actor) {
    auto run = s.Links().BeginRun({.actor = actor, .full = true});
    ASSERT_TRUE(run) << run.error().ToString();
    const store::LinkFinding finding{"shared_id", "x", household, "y", "H1", "test"};
    ASSERT_TRUE(s.Links().ReplaceFindings(std::span(&finding, 1)).ok());
    ASSERT_TRUE(s.Links().CommitRun({}, "{}").ok());
    store::RaisedFlag flag;
    flag.rule = "TEST_RULE";
    flag.category = "exclusion";
    flag.severity = "high";
    flag.household_id = household;
    flag.village_code = std::string(test::kVillage);
    store::RuleRunInfo info;
    info.actor = actor;
    info.rules_source = "test";
    auto outcome = s.Rules().ApplyRun(info, std::span(&flag, 1), "{}");
    ASSERT_TRUE(outcome) << outcome.error().ToString();
  }

  int64_t FirstFlagId(Store& s) {
    int64_t id = 0;
    EXPECT_TRUE(s.Rules()
                    .ForEachFlag({},
                                 [&](const store::FlagRow& f) {
                                   if (!id) id = f.flag_id;
                                   return OkStatus();
                                 })
                    .ok());
    return id;
  }

  FlagState StateOf(Store& s, int64_t flag_id) {
    auto flag = s.Rules().GetFlag(flag_id);
    EXPECT_TRUE(flag && *flag);
    return flag && *flag ? (*flag)->state : FlagState::kClosed;
  }

  test::TempDir dir_;
  fs::path db_;
  std::unique_ptr<Store> writer_, reader_;
};

// The "consistent read view": registry, links and flags of one commit, never a mix,
// while another connection commits an import, a link run and a rule run.
TEST_F(ReadViewTest, AViewSeesTheOldRegistryLinksAndFlagsWhileAnotherConnectionCommits) {
  const Seen before = Read(*reader_);
  EXPECT_EQ(before.households_scanned, 1);
  EXPECT_EQ(before.members_scanned, 1);
  {
    auto view = reader_->BeginRead();
    ASSERT_TRUE(view) << view.error().ToString();
    Import("b2", {Household("H1"), Household("H2")},
           {Member(MakeId(kCounty, "19800101", 1), "H1"),
            Member(MakeId(kCounty, "19800101", 3), "H2")});
    LinkAndFlag(*writer_, "H2", {.user = "linker"});
    const Seen during = Read(*reader_);
    EXPECT_EQ(during.households_scanned, 1);
    EXPECT_EQ(during.members_scanned, 1);
    EXPECT_EQ(during.households_counted, 1);
    EXPECT_EQ(during.flags, 0);
    EXPECT_EQ(during.findings, 0);
    EXPECT_EQ(during.version, before.version);
    // The writer sees its own commits meanwhile.
    EXPECT_EQ(Read(*writer_).households_scanned, 2);
  }
  const Seen after = Read(*reader_);
  EXPECT_EQ(after.households_scanned, 2);
  EXPECT_EQ(after.members_scanned, 2);
  EXPECT_EQ(after.households_counted, 2);
  EXPECT_EQ(after.flags, 1);
  EXPECT_EQ(after.findings, 1);
  EXPECT_NE(after.version, before.version);
}

TEST_F(ReadViewTest, WritesAndNestedTransactionsAreRefusedInsideAView) {
  LinkAndFlag(*writer_, "H1", {.user = "linker"});
  const int64_t flag_id = FirstFlagId(*reader_);
  auto view = reader_->BeginRead();
  ASSERT_TRUE(view);
  const store::FlagDecision decision{flag_id, FlagState::kVerified, "seen"};
  EXPECT_EQ(reader_->Rules().DecideFlags(std::span(&decision, 1), {.user = "u"}).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(reader_->BeginBatch({"x", {.user = "u"}}).error().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(reader_->Links().BeginRun({}).error().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(reader_->BeginRead().error().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(reader_->BeginWrite().error().code(), StatusCode::kFailedPrecondition);
  view->End();
  // Ended: the connection writes again.
  EXPECT_TRUE(reader_->Rules().DecideFlags(std::span(&decision, 1), {.user = "u"}).ok());
  EXPECT_EQ(StateOf(*writer_, flag_id), FlagState::kVerified);
}

// A WriteTxn not committed leaves nothing behind; decisions made inside it join it, and other
// connections see them only at its commit.
TEST_F(ReadViewTest, WriteTxnRollsBackUnlessCommittedAndDecisionsJoinIt) {
  LinkAndFlag(*writer_, "H1", {.user = "linker"});
  const int64_t flag_id = FirstFlagId(*writer_);
  const store::FlagDecision verify{flag_id, FlagState::kVerified, "seen"};
  {
    auto txn = writer_->BeginWrite();
    ASSERT_TRUE(txn) << txn.error().ToString();
    ASSERT_TRUE(writer_->Rules().DecideFlags(std::span(&verify, 1), {.user = "a"}).ok());
    EXPECT_EQ(StateOf(*writer_, flag_id), FlagState::kVerified);  // its own write
    EXPECT_EQ(StateOf(*reader_, flag_id), FlagState::kOpen);      // not yet for others
    EXPECT_EQ(writer_->BeginBatch({"x", {.user = "u"}}).error().code(),
              StatusCode::kFailedPrecondition);
  }  // destroyed uncommitted
  EXPECT_EQ(StateOf(*writer_, flag_id), FlagState::kOpen);
  EXPECT_EQ(test::QueryInt(db_, "SELECT count(*) FROM flag_events WHERE run_id IS NULL"), 0);

  {
    auto txn = writer_->BeginWrite();
    ASSERT_TRUE(txn);
    ASSERT_TRUE(writer_->Rules().DecideFlags(std::span(&verify, 1), {.user = "a"}).ok());
    // A failed decision inside the transaction undoes only itself.
    const store::FlagDecision missing{flag_id + 1000, FlagState::kVerified, ""};
    EXPECT_EQ(writer_->Rules().DecideFlags(std::span(&missing, 1), {.user = "a"}).code(),
              StatusCode::kNotFound);
    ASSERT_TRUE(writer_->Rules()
                    .SetFlagState("TEST_RULE", "H1", "", FlagState::kDismissed, "no", {.user = "b"})
                    .ok());
    ASSERT_TRUE(txn->Commit().ok());
    EXPECT_EQ(txn->Commit().code(), StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ(StateOf(*reader_, flag_id), FlagState::kDismissed);
  EXPECT_EQ(test::QueryInt(db_, "SELECT count(*) FROM flag_events WHERE run_id IS NULL"), 2);
}

// While one connection holds a WriteTxn, another's write waits for it (here: not at all,
// busy timeout 0) and is refused as "in use", not corrupted or mixed in.
TEST_F(ReadViewTest, AnotherConnectionsWriteWaitsForAnOpenWriteTxn) {
  LinkAndFlag(*writer_, "H1", {.user = "linker"});
  const int64_t flag_id = FirstFlagId(*writer_);
  auto impatient = Open(0);
  auto txn = writer_->BeginWrite();
  ASSERT_TRUE(txn);
  const store::FlagDecision decision{flag_id, FlagState::kVerified, ""};
  EXPECT_EQ(impatient->Rules().DecideFlags(std::span(&decision, 1), {.user = "c"}).code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(impatient->BeginWrite().error().code(), StatusCode::kUnavailable);
  // Readers are not blocked by the writer (WAL).
  auto view = impatient->BeginRead();
  ASSERT_TRUE(view) << view.error().ToString();
  EXPECT_EQ(Read(*impatient).flags, 1);
}

// Every write records the actor: user and role, on batches, link runs, rule runs, flag
// decisions and their events (a rule run logs events only when it closes or reopens flags).
TEST_F(ReadViewTest, EveryWriteRecordsTheActorsUserAndRole) {
  Import("b2", {Household("H1"), Household("H2")}, {Member(MakeId(kCounty, "19800101", 1), "H1")},
         {.user = "dept7", .role = Role::kDepartment});
  LinkAndFlag(*writer_, "H2", {.user = "official3", .role = Role::kOfficial});
  const int64_t flag_id = FirstFlagId(*writer_);
  const store::FlagDecision decision{flag_id, FlagState::kVerified, "checked"};
  ASSERT_TRUE(writer_->Rules()
                  .DecideFlags(std::span(&decision, 1), {.user = "cadre9", .role = Role::kCadre})
                  .ok());
  using V = std::vector<std::vector<std::string>>;
  EXPECT_EQ(test::Query(db_, "SELECT user_name, role FROM import_batches ORDER BY batch_id"),
            (V{{"importer", "admin"}, {"dept7", "department"}}));
  EXPECT_EQ(test::Query(db_, "SELECT user_name, role FROM link_runs"),
            (V{{"official3", "official"}}));
  EXPECT_EQ(test::Query(db_, "SELECT user_name, role FROM rule_runs"),
            (V{{"official3", "official"}}));
  EXPECT_EQ(test::Query(db_, "SELECT user_name, role FROM flag_events ORDER BY rowid"),
            (V{{"cadre9", "cadre"}}));
  EXPECT_EQ(test::Query(db_, "SELECT decided_by, decided_role FROM flags"),
            (V{{"cadre9", "cadre"}}));
}

// A link run computes without the write lock: while it is open (staged), other connections
// write freely; CommitRun publishes it at once.
TEST_F(ReadViewTest, ALinkRunDoesNotHoldTheWriteLockUntilItPublishes) {
  LinkAndFlag(*writer_, "H1", {.user = "linker"});
  const int64_t flag_id = FirstFlagId(*writer_);
  auto impatient = Open(0);
  auto run = writer_->Links().BeginRun({.actor = {.user = "linker"}, .full = true});
  ASSERT_TRUE(run) << run.error().ToString();
  const store::LinkFinding finding{"shared_id", "a", "H1", "b", "H2", "during"};
  ASSERT_TRUE(writer_->Links().ReplaceFindings(std::span(&finding, 1)).ok());
  // A cadre's decision lands while the run is open (busy timeout 0: no waiting at all).
  const store::FlagDecision decision{flag_id, FlagState::kVerified, ""};
  ASSERT_TRUE(impatient->Rules().DecideFlags(std::span(&decision, 1), {.user = "c"}).ok());
  EXPECT_EQ(Read(*impatient).findings, 1);  // still the previous run's
  ASSERT_TRUE(writer_->Links().CommitRun({}, "{}").ok());
  std::vector<std::string> details;
  ASSERT_TRUE(impatient->Links()
                  .ForEachFinding([&](const store::LinkFinding& f) {
                    details.push_back(f.detail);
                    return OkStatus();
                  })
                  .ok());
  EXPECT_EQ(details, std::vector<std::string>{"during"});
  EXPECT_EQ(StateOf(*writer_, flag_id), FlagState::kVerified);
}

// Two runs computed side by side: the second to publish finds its basis stale and is refused
// (kAborted), leaving the first run's links.
TEST_F(ReadViewTest, ALinkRunPublishedMeanwhileAbortsTheOtherRun) {
  auto first = writer_->Links().BeginRun({.actor = {.user = "one"}});
  auto second = reader_->Links().BeginRun({.actor = {.user = "two"}});
  ASSERT_TRUE(first && second);
  const store::LinkFinding a{"shared_id", "a", "H1", "b", "H1", "first"};
  const store::LinkFinding b{"shared_id", "a", "H1", "b", "H1", "second"};
  ASSERT_TRUE(writer_->Links().ReplaceFindings(std::span(&a, 1)).ok());
  ASSERT_TRUE(reader_->Links().ReplaceFindings(std::span(&b, 1)).ok());
  ASSERT_TRUE(writer_->Links().CommitRun({}, "{}").ok());
  EXPECT_EQ(reader_->Links().CommitRun({}, "{}").code(), StatusCode::kAborted);
  using V = std::vector<std::vector<std::string>>;
  EXPECT_EQ(test::Query(db_, "SELECT detail FROM link_findings"), (V{{"first"}}));
  EXPECT_EQ(test::Query(db_, "SELECT user_name FROM link_runs"), (V{{"one"}}));
  // The refused connection is usable again.
  EXPECT_TRUE(reader_->BeginWrite());
}

// A run that never publishes (aborted, or its process gone mid-run) leaves nothing behind:
// its writes were only staged.
TEST_F(ReadViewTest, ALinkRunThatNeverPublishesLeavesThePreviousLinks) {
  LinkAndFlag(*writer_, "H1", {.user = "linker"});
  auto run = reader_->Links().BeginRun({.actor = {.user = "gone"}});
  ASSERT_TRUE(run);
  const store::LinkFinding finding{"shared_id", "a", "H1", "b", "H1", "never"};
  ASSERT_TRUE(reader_->Links().ReplaceFindings(std::span(&finding, 1)).ok());
  ASSERT_TRUE(reader_->Links().ClearLinks(Spec("vehicles")).ok());
  reader_.reset();  // the store closes with the run open
  using V = std::vector<std::vector<std::string>>;
  EXPECT_EQ(test::Query(db_, "SELECT detail FROM link_findings"), (V{{"test"}}));
  EXPECT_EQ(test::Query(db_, "SELECT user_name FROM link_runs"), (V{{"linker"}}));
}

}  // namespace
}  // namespace fupin
