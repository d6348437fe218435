// `fupin user`, `fupin token`, `fupin audit` and `fupin backup` run as a user runs them: the
// real binary (FUPIN_BINARY) in a child process on a temporary SQLite file, passwords given
// on stdin, the audit log tampered with through the real sqlite3 shell.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "fupin_process.h"
#include "service/accounts.h"
#include "service/audit.h"
#include "store/sqlite/sqlite_store.h"
#include "test_files.h"

extern char** environ;

namespace fupin {
namespace {

namespace fs = std::filesystem;
using test::FupinRun;
using test::QueryInt;

std::string OpenSslSha256Hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text.data(), text.size(), digest, &n, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < n; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

class CliUserTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = dir_ / "fupin.db"; }

  FupinRun Fupin(std::vector<std::string> args) {
    args.insert(args.end(), {"--db", db_.string(), "--lang", "en"});
    return test::RunFupin(dir_.path(), args);
  }

  // `fupin ARGS` with `input` on its stdin (as `echo PASSWORD | fupin ... --password-stdin`).
  FupinRun FupinWithStdin(std::vector<std::string> args, const std::string& input) {
    args.insert(args.end(), {"--db", db_.string(), "--lang", "en"});
    const fs::path in = dir_ / "stdin.txt", out = dir_ / "out.txt", err = dir_ / "err.txt";
    test::WriteFile(in, input);
    std::vector<std::string> text = {FUPIN_BINARY};
    text.insert(text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : text) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, in.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    FupinRun run;
    if (posix_spawn(&pid, FUPIN_BINARY, &actions, nullptr, argv.data(), environ) == 0) {
      int status = 0;
      waitpid(pid, &status, 0);
      run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    posix_spawn_file_actions_destroy(&actions);
    run.out = test::ReadFile(out);
    run.err = test::ReadFile(err);
    return run;
  }

  FupinRun AddUser(const std::string& name, const std::string& password,
                   std::vector<std::string> extra = {"--role", "cadre", "--region",
                                                     "520100000000"}) {
    std::vector<std::string> args = {"user", "add", name, "--password-stdin"};
    args.insert(args.end(), extra.begin(), extra.end());
    return FupinWithStdin(args, password + "\n");
  }

  // The real sqlite3 shell, as someone with the file would tamper with it.
  int Sqlite3Shell(const std::string& sql) {
    return std::system(fmt::format("sqlite3 '{}' \"{}\"", db_.string(), sql).c_str());
  }

  test::TempDir dir_;
  fs::path db_;
};

TEST_F(CliUserTest, AddListDisablePasswd) {
  FupinRun r = AddUser("li", "correct horse");
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  r = AddUser("edu", "edu password",
              {"--role", "department", "--region", "520000000000", "--department",
               "edu_students,health_claims", "--department", "civil_dibao"});
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  r = Fupin({"user", "list", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  auto users = nlohmann::json::parse(r.out);
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0]["name"], "edu");
  EXPECT_EQ(users[0]["role"], "department");
  EXPECT_EQ(users[0]["datasets"], nlohmann::json({"edu_students", "health_claims", "civil_dibao"}));
  EXPECT_EQ(users[1]["name"], "li");
  EXPECT_EQ(users[1]["region"], "520100000000");
  EXPECT_EQ(users[1]["disabled"], false);
  // Nothing the binary printed or stored holds the password.
  EXPECT_EQ(r.out.find("correct horse"), std::string::npos);
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM users WHERE password_hash LIKE '%correct%'"), 0);

  // The password works (the server's login), then the new one after passwd.
  auto login = [&](const std::string& password) {
    auto store = store::OpenSqliteStore(db_);
    service::Sessions sessions;
    return store && sessions.Login(**store, "li", password, "").has_value();
  };
  EXPECT_TRUE(login("correct horse"));
  r = FupinWithStdin({"user", "passwd", "li", "--password-stdin"}, "battery staple\n");
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  EXPECT_FALSE(login("correct horse"));
  EXPECT_TRUE(login("battery staple"));

  r = Fupin({"user", "disable", "li"});
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  EXPECT_FALSE(login("battery staple"));
  r = Fupin({"user", "list", "--json"});
  EXPECT_EQ(nlohmann::json::parse(r.out)[1]["disabled"], true);
  r = Fupin({"user", "list"});
  EXPECT_NE(r.out.find("disabled"), std::string::npos) << r.Show();

  // Each change is audited under the OS user (or --user) as admin.
  EXPECT_EQ(QueryInt(db_,
                     "SELECT count(*) FROM audit_log WHERE action = 'user' AND role = "
                     "'admin'"),
            4);
  r = Fupin({"audit", "verify"});
  EXPECT_EQ(r.exit_code, 0) << r.Show();
}

TEST_F(CliUserTest, BadUsersAreRefusedWithTheReason) {
  FupinRun r = AddUser("li", "short");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("too short"), std::string::npos) << r.Show();
  r = AddUser("li", "long enough", {"--role", "cadre", "--region", "529999000000"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown region 529999000000"), std::string::npos) << r.Show();
  r = AddUser("li", "long enough", {"--role", "department", "--region", "520100000000"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("department officer needs its data sets"), std::string::npos) << r.Show();
  r = AddUser("li", "long enough", {"--role", "chief", "--region", "520100000000"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown role 'chief'"), std::string::npos) << r.Show();
  r = FupinWithStdin({"user", "add", "li", "--role", "cadre", "--region", "520100000000"},
                     "long enough\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--password-stdin"), std::string::npos) << r.Show();
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM users"), 0);
  ASSERT_EQ(AddUser("li", "long enough").exit_code, 0);
  r = AddUser("li", "long enough");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.Show();
  r = Fupin({"user", "disable", "nobody"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no user 'nobody'"), std::string::npos) << r.Show();
}

TEST_F(CliUserTest, TokenPrintedOnceStoredAsSha256AndRevocable) {
  FupinRun r = Fupin({"token", "add", "edu-system", "--role", "department", "--region",
                      "520000000000", "--department", "edu_students"});
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  const std::string token = r.out.substr(0, r.out.find('\n'));
  ASSERT_TRUE(token.starts_with("fpt_")) << r.Show();
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM api_tokens WHERE token_hash = '" +
                              OpenSslSha256Hex(token) + "'"),
            1);
  r = Fupin({"token", "list", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  EXPECT_EQ(r.out.find(token.substr(4)), std::string::npos) << "the token is shown only once";
  auto tokens = nlohmann::json::parse(r.out);
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0]["revoked"], false);
  const int64_t id = tokens[0]["id"];
  auto usable = [&] {
    auto store = store::OpenSqliteStore(db_);
    service::Sessions sessions;
    return store && sessions.FindApiToken(**store, token).has_value();
  };
  EXPECT_TRUE(usable());
  r = Fupin({"token", "revoke", std::to_string(id)});
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  EXPECT_FALSE(usable());
  EXPECT_EQ(nlohmann::json::parse(Fupin({"token", "list", "--json"}).out)[0]["revoked"], true);
  r = Fupin({"token", "revoke", "999"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no API token with id 999"), std::string::npos) << r.Show();
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM audit_log WHERE action = 'token'"), 2);
}

TEST_F(CliUserTest, AuditVerifyNamesTheFirstBrokenEntryAfterAnUpdate) {
  for (int i = 0; i < 6; ++i) ASSERT_EQ(AddUser(fmt::format("u{}", i), "long enough").exit_code, 0);
  FupinRun r = Fupin({"audit", "verify"});
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  EXPECT_NE(r.out.find("6 entries"), std::string::npos) << r.Show();
  // The triggers refuse the shell's edit...
  EXPECT_NE(Sqlite3Shell("UPDATE audit_log SET user_name = 'someone' WHERE seq = 3"), 0);
  EXPECT_EQ(Fupin({"audit", "verify"}).exit_code, 0);
  // ...and an edit made after dropping them is found.
  ASSERT_EQ(Sqlite3Shell("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET user_name = "
                         "'someone' WHERE seq = 3"),
            0);
  r = Fupin({"audit", "verify"});
  EXPECT_EQ(r.exit_code, 1) << r.Show();
  EXPECT_NE(r.err.find("first broken entry 3"), std::string::npos) << r.Show();
  r = Fupin({"audit", "verify", "--json"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(nlohmann::json::parse(r.out)["first_broken_seq"], 3);
}

TEST_F(CliUserTest, AuditVerifyNamesTheFirstBrokenEntryAfterADelete) {
  for (int i = 0; i < 6; ++i) ASSERT_EQ(AddUser(fmt::format("u{}", i), "long enough").exit_code, 0);
  ASSERT_EQ(Sqlite3Shell("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 5"),
            0);
  FupinRun r = Fupin({"audit", "verify"});
  EXPECT_EQ(r.exit_code, 1) << r.Show();
  EXPECT_NE(r.err.find("first broken entry 5"), std::string::npos) << r.Show();
  EXPECT_NE(r.err.find("missing"), std::string::npos) << r.Show();
}

TEST_F(CliUserTest, AuditListShowsEntriesWithoutSecrets) {
  ASSERT_EQ(AddUser("li", "correct horse").exit_code, 0);
  ASSERT_EQ(Fupin({"user", "disable", "li", "--user", "zhang"}).exit_code, 0);
  FupinRun r = Fupin({"audit", "list", "--json", "--after", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  auto rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["seq"], 2);
  EXPECT_EQ(rows[0]["user"], "zhang");
  EXPECT_EQ(rows[0]["object"], "li");
  EXPECT_EQ(rows[0]["detail"], "disable");
  EXPECT_EQ(Fupin({"audit", "list"}).out.find("correct horse"), std::string::npos);
}

TEST_F(CliUserTest, BackupWhileAnotherWriterRunsRefusesToOverwrite) {
  ASSERT_EQ(AddUser("li", "correct horse").exit_code, 0);
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    auto store = store::OpenSqliteStore(db_);
    Actor actor;
    actor.user = "w";
    while (store && !stop)
      if (service::AppendAuditNow(**store, actor, {"write", "H1", "", "ok"}).ok()) ++written;
  });
  while (written < 20) std::this_thread::yield();
  const fs::path out = dir_ / "backup.db";
  FupinRun r = test::RunFupin(
      dir_.path(), {"backup", "--db", db_.string(), "--out", out.string(), "--lang", "en"});
  const int after = written;
  while (written < after + 10) std::this_thread::yield();
  stop = true;
  writer.join();
  ASSERT_EQ(r.exit_code, 0) << r.Show();
  EXPECT_FALSE(fs::exists(out.string() + ".tmp"));
  FupinRun v =
      test::RunFupin(dir_.path(), {"audit", "verify", "--db", out.string(), "--lang", "en"});
  EXPECT_EQ(v.exit_code, 0) << v.Show();
  EXPECT_EQ(QueryInt(out, "SELECT count(*) FROM users WHERE name = 'li'"), 1);
  // The copy is restorable: the server's login works on it.
  {
    auto store = store::OpenSqliteStore(out);
    ASSERT_TRUE(store.has_value());
    service::Sessions sessions;
    EXPECT_TRUE(sessions.Login(**store, "li", "correct horse", "").has_value());
  }
  const std::string before = test::ReadFile(out);
  r = test::RunFupin(dir_.path(),
                     {"backup", "--db", db_.string(), "--out", out.string(), "--lang", "en"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.Show();
  EXPECT_EQ(test::ReadFile(out), before);
}

}  // namespace
}  // namespace fupin
