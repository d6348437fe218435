// The audit chain against a real SQLite file: group-committed appends from real threads and a
// second process make one chain that verifies, recomputed here with OpenSSL from the
// documented encoding (independently of the code under test); an edit, a deletion (in the
// middle or at the end) or a reordering is found and named; entries appended inside a
// transaction live and die with it; Flush reports a store that cannot be written; and an
// online backup taken while another thread writes opens and verifies.
#include "service/audit.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/sqlite_store.h"
#include "test_files.h"

namespace fupin {
namespace {

namespace fs = std::filesystem;
using service::AuditEntry;
using service::AuditLog;
using test::Query;
using test::QueryInt;

// Runs SQL (several statements) on the file with its own connection; returns the error, or
// "" when it ran.
std::string Exec(const fs::path& db, const std::string& sql) {
  sqlite3* conn = nullptr;
  std::string error;
  if (sqlite3_open(db.c_str(), &conn) != SQLITE_OK) error = "cannot open";
  char* message = nullptr;
  if (error.empty() && sqlite3_exec(conn, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK)
    error = message ? message : "error";
  sqlite3_free(message);
  sqlite3_close(conn);
  return error;
}

Actor Cadre(std::string name) {
  Actor a;
  a.user = std::move(name);
  a.role = Role::kCadre;
  a.region = "520100000000";
  a.address = "10.0.0.1";
  return a;
}

// hash_n = SHA-256(hash_{n-1} || seq (8 bytes BE) || each field as length (4 bytes BE) + bytes).
std::string ExpectedHash(const std::string& previous_hex, const std::vector<std::string>& row) {
  std::string message(32, '\0');
  for (size_t i = 0; i < previous_hex.size() / 2; ++i)
    message[i] = static_cast<char>(std::stoi(previous_hex.substr(2 * i, 2), nullptr, 16));
  const uint64_t seq = std::stoull(row[0]);
  for (int shift = 56; shift >= 0; shift -= 8) message.push_back(static_cast<char>(seq >> shift));
  for (size_t f = 1; f <= 8; ++f) {
    const auto n = static_cast<uint32_t>(row[f].size());
    for (int shift = 24; shift >= 0; shift -= 8) message.push_back(static_cast<char>(n >> shift));
    message += row[f];
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(message.data(), message.size(), digest, &len, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_ / "fupin.db";
    store_ = Open();
  }
  std::unique_ptr<store::Store> Open() {
    auto s = store::OpenSqliteStore(db_);
    EXPECT_TRUE(s.has_value()) << s.error().ToString();
    return std::move(s).value();
  }
  void AppendNow(int n, const std::string& user = "li") {
    for (int i = 0; i < n; ++i)
      ASSERT_TRUE(AuditLog::AppendNow(*store_, Cadre(user),
                                      {"read_household", "H" + std::to_string(i), "", "ok"})
                      .ok());
  }
  service::AuditVerdict Verify() {
    auto store = Open();  // a fresh connection, as `fupin audit verify` would
    auto v = service::VerifyAudit(*store);
    EXPECT_TRUE(v.has_value()) << v.error().ToString();
    return v.value_or(service::AuditVerdict{});
  }
  // The shell's way around the append-only triggers.
  void Tamper(const std::string& sql) {
    ASSERT_EQ(Exec(db_,
                   "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS "
                   "audit_log_no_delete; " +
                       sql),
              "");
  }

  test::TempDir dir_;
  fs::path db_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(AuditTest, ManyAppendsFromThreadsAndASecondProcessMakeOneChain) {
  store_.reset();
  constexpr int kChildEntries = 150;
  // The second process: started before any thread here, appending through its own store.
  const pid_t child = fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    auto store = store::OpenSqliteStore(db_);
    int rc = store ? 0 : 2;
    for (int i = 0; rc == 0 && i < kChildEntries; ++i)
      if (!AuditLog::AppendNow(**store, Cadre("child"),
                               {"write", "H" + std::to_string(i), "", "ok"})
               .ok())
        rc = 3;
    store = {};
    _exit(rc);
  }
  constexpr int kThreads = 4, kPerThread = 100;
  {
    AuditLog log(db_.string());  // one queue, group-committed
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        auto store = store::OpenSqliteStore(db_);
        for (int i = 0; i < kPerThread; ++i) {
          log.Append(Cadre(fmt::format("t{}", t)),
                     {"read_household", fmt::format("H{}", i), "", "ok"});
          // Every tenth entry synchronously, through the thread's own connection.
          if (i % 10 == 0 && store) {
            EXPECT_TRUE(
                AuditLog::AppendNow(**store, Cadre(fmt::format("t{}", t)), {"unmask", "H", "why"})
                    .ok());
          }
        }
      });
    for (auto& t : threads) t.join();
    EXPECT_TRUE(log.Flush().ok());
    EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM audit_log WHERE action = 'read_household'"),
              kThreads * kPerThread);
    log.Append(Cadre("last"), {"job", "1", "", "ok"});
  }  // the destructor flushes the last one
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);

  const int64_t total = kChildEntries + kThreads * kPerThread + kThreads * kPerThread / 10 + 1;
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM audit_log"), total);
  auto v = Verify();
  EXPECT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(v.entries, total);
  // The same chain recomputed independently: seqs 1..n, each hash from the one before.
  auto rows = Query(db_,
                    "SELECT seq, at, user_name, role, address, action, object, detail, outcome, "
                    "hash FROM audit_log ORDER BY seq");
  std::string previous;
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i][0], std::to_string(i + 1));
    ASSERT_EQ(rows[i][9], ExpectedHash(previous, rows[i])) << "seq " << rows[i][0];
    previous = rows[i][9];
  }
  EXPECT_EQ(v.last_hash, previous);
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM audit_log WHERE user_name = 'last'"), 1);
}

TEST_F(AuditTest, TheLogRefusesUpdateAndDelete) {
  AppendNow(3);
  EXPECT_NE(Exec(db_, "UPDATE audit_log SET user_name = 'x' WHERE seq = 2").find("append-only"),
            std::string::npos);
  EXPECT_NE(Exec(db_, "DELETE FROM audit_log WHERE seq = 3").find("append-only"),
            std::string::npos);
  EXPECT_TRUE(Verify().ok);
}

TEST_F(AuditTest, AnEditIsNamed) {
  AppendNow(10);
  ASSERT_TRUE(Verify().ok);
  Tamper("UPDATE audit_log SET object = 'H99' WHERE seq = 4");
  auto v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_broken_seq, 4);
  EXPECT_EQ(v.entries, 3);
  EXPECT_NE(v.reason.find("entry 4"), std::string::npos) << v.reason;
}

TEST_F(AuditTest, AnEditWithItsHashRecomputedBreaksTheNextEntry) {
  AppendNow(10);
  auto row = Query(db_,
                   "SELECT seq, at, user_name, role, address, action, object, detail, outcome, "
                   "hash FROM audit_log WHERE seq IN (4, 5) ORDER BY seq");
  auto before3 = Query(db_, "SELECT hash FROM audit_log WHERE seq = 3")[0][0];
  row[0][6] = "H99";
  Tamper(fmt::format("UPDATE audit_log SET object = 'H99', hash = '{}' WHERE seq = 4",
                     ExpectedHash(before3, row[0])));
  auto v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_broken_seq, 5);
}

TEST_F(AuditTest, ADeletionInTheMiddleIsNamed) {
  AppendNow(10);
  Tamper("DELETE FROM audit_log WHERE seq = 6");
  auto v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_broken_seq, 6);
  EXPECT_NE(v.reason.find("missing"), std::string::npos) << v.reason;
}

TEST_F(AuditTest, ADeletionOfTheFirstEntryIsFound) {
  AppendNow(5);
  Tamper("DELETE FROM audit_log WHERE seq = 1");
  EXPECT_EQ(Verify().first_broken_seq, 1);
}

TEST_F(AuditTest, ADeletionOfTheLastEntriesIsFoundEvenAfterNewAppends) {
  AppendNow(5);
  Tamper("DELETE FROM audit_log WHERE seq >= 4");
  auto v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_broken_seq, 4);
  EXPECT_NE(v.reason.find("at the end"), std::string::npos) << v.reason;
  // A new entry appended after the deletion does not heal the chain.
  AppendNow(1);
  EXPECT_EQ(Verify().first_broken_seq, 4);
}

TEST_F(AuditTest, AReorderingIsFound) {
  AppendNow(3, "a");
  AppendNow(3, "b");
  // Swap the contents of entries 2 and 5, hashes included.
  Tamper(
      "CREATE TEMP TABLE t AS SELECT * FROM audit_log WHERE seq IN (2, 5);"
      "UPDATE audit_log SET (at, user_name, object, hash) = (SELECT at, user_name, object, hash "
      "FROM t WHERE t.seq = 7 - audit_log.seq) WHERE seq IN (2, 5);");
  auto v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_broken_seq, 2);
}

TEST_F(AuditTest, AppendNowLivesAndDiesWithTheCallersTransaction) {
  ASSERT_TRUE(store_->BeginBatch({"test", "li"}).has_value());
  AppendNow(2);
  store_->AbortBatch();
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM audit_log"), 0);
  ASSERT_TRUE(store_->BeginBatch({"test", "li"}).has_value());
  AppendNow(2);
  ASSERT_TRUE(store_->CommitBatch().ok());
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM audit_log"), 2);
  EXPECT_TRUE(Verify().ok);
}

TEST_F(AuditTest, FlushReportsAStoreThatCannotBeWritten) {
  AuditLog log((dir_ / "no-such-dir" / "f.db").string());
  log.Append(Cadre("li"), {"login", "li", ""});
  Status st = log.Flush();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("no-such-dir"), std::string::npos) << st.ToString();
}

TEST_F(AuditTest, ReadAuditPagesAndFilters) {
  AppendNow(3);
  ASSERT_TRUE(AuditLog::AppendNow(*store_, Cadre("li"), {"export", "flags", "", "ok"}).ok());
  AppendNow(3);
  auto page = service::ReadAudit(*store_, 2, 3, "");
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ((*page)[0].seq, 3);
  EXPECT_EQ((*page)[1].action, "export");
  EXPECT_EQ((*page)[1].user, "li");
  EXPECT_EQ((*page)[1].role, "cadre");
  EXPECT_EQ((*page)[1].address, "10.0.0.1");
  auto exports = service::ReadAudit(*store_, 0, 100, "export");
  ASSERT_TRUE(exports.has_value());
  ASSERT_EQ(exports->size(), 1u);
  EXPECT_EQ((*exports)[0].seq, 4);
}

TEST_F(AuditTest, BackupWhileAnotherThreadWritesOpensAndVerifies) {
  AppendNow(50);
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    auto store = store::OpenSqliteStore(db_);
    if (!store) return;
    while (!stop)
      if (AuditLog::AppendNow(**store, Cadre("w"), {"write", "H", "", "ok"}).ok()) ++written;
  });
  while (written < 20) std::this_thread::yield();
  const fs::path out = dir_ / "backup.db";
  Status st = service::BackupStore(*store_, out);
  const int during = written;
  while (written < during + 20) std::this_thread::yield();  // the writer went on
  stop = true;
  writer.join();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_FALSE(fs::exists(out.string() + ".tmp"));
  {
    auto copy = store::OpenSqliteStore(out);
    ASSERT_TRUE(copy.has_value()) << copy.error().ToString();
    auto v = service::VerifyAudit(**copy);
    ASSERT_TRUE(v.has_value());
    EXPECT_TRUE(v->ok) << v->reason;
    EXPECT_GE(v->entries, 70);
    EXPECT_LT(v->entries, QueryInt(db_, "SELECT count(*) FROM audit_log"));
  }
  EXPECT_EQ(Query(out, "PRAGMA integrity_check")[0][0], "ok");
  // A backup never overwrites a file.
  const auto size = fs::file_size(out);
  EXPECT_EQ(service::BackupStore(*store_, out).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(fs::file_size(out), size);
}

}  // namespace
}  // namespace fupin
