// Accounts against a real SQLite file: users and their checks, argon2id hashes, sessions
// with expiry on an injected clock, logout seen through another connection, login
// throttling by user name and by address, API tokens kept only as SHA-256 (checked here with
// OpenSSL, independently of the code under test), and Sessions shared by real threads.
#include "service/accounts.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

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
using service::Session;
using service::SessionPolicy;
using service::Sessions;
using test::kGuiyang;
using test::kVillage;
using test::Query;
using test::QueryInt;

std::string OpenSslSha256Hex(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text.data(), text.size(), digest, &n, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < n; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

Actor Admin() {
  Actor a;
  a.user = "root";
  a.role = Role::kAdmin;
  return a;
}

class AccountsTest : public ::testing::Test {
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
  SessionPolicy Clocked() {
    SessionPolicy p;
    p.now = [this] { return now_.load(); };
    return p;
  }
  void AddCadre(const std::string& name, const std::string& password = "correct horse") {
    ASSERT_TRUE(
        service::AddUser(*store_, Admin(), name, Role::kCadre, std::string(kGuiyang), {}, password)
            .ok());
  }
  int64_t Audits(const std::string& action) {
    return QueryInt(db_, "SELECT count(*) FROM audit_log WHERE action = '" + action + "'");
  }

  test::TempDir dir_;
  fs::path db_;
  std::unique_ptr<store::Store> store_;
  std::atomic<int64_t> now_{1'800'000'000};
};

TEST_F(AccountsTest, AddUserKeepsOnlyAnArgon2idHash) {
  AddCadre("li");
  auto rows = Query(db_, "SELECT role, region, password_hash FROM users WHERE name = 'li'");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], "cadre");
  EXPECT_EQ(rows[0][1], kGuiyang);
  EXPECT_TRUE(rows[0][2].starts_with("$argon2id$")) << rows[0][2];
  EXPECT_EQ(rows[0][2].find("correct horse"), std::string::npos);
  auto users = service::ListUsers(*store_);
  ASSERT_TRUE(users.has_value());
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ((*users)[0].role, Role::kCadre);
  EXPECT_FALSE((*users)[0].disabled);
  EXPECT_EQ(Audits("user"), 1);
}

TEST_F(AccountsTest, AddUserRefusesBadInput) {
  const std::string g(kGuiyang);
  auto code = [&](std::string name, Role role, std::string region, std::vector<std::string> ds,
                  std::string password) {
    return service::AddUser(*store_, Admin(), name, role, region, ds, password).code();
  };
  EXPECT_EQ(code("a", Role::kCadre, "5201", {}, "12345678"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("a", Role::kCadre, "529900000000", {}, "12345678"),
            StatusCode::kInvalidArgument);  // 12 digits but no such region
  EXPECT_EQ(code("a", Role::kCadre, g, {}, "1234567"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("a", Role::kDepartment, g, {}, "12345678"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("a", Role::kDepartment, g, {"no_such_set"}, "12345678"),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code("a", Role::kCadre, g, {"edu_students"}, "12345678"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("a b", Role::kCadre, g, {}, "12345678"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("", Role::kCadre, g, {}, "12345678"), StatusCode::kInvalidArgument);
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM users"), 0);
  // 8 characters of Chinese text are a long enough password (characters, not bytes).
  EXPECT_EQ(code("edu", Role::kDepartment, g, {"edu_students"}, "八个汉字的密码啊"),
            StatusCode::kOk);
  EXPECT_EQ(code("edu", Role::kCadre, g, {}, "12345678"), StatusCode::kAlreadyExists);
  auto users = service::ListUsers(*store_);
  ASSERT_TRUE(users.has_value());
  EXPECT_EQ((*users)[0].datasets, std::vector<std::string>{"edu_students"});
}

TEST_F(AccountsTest, OnlyAnAdminOfTheRegionManagesUsersAndIsRefusedWithAnAuditEntry) {
  Actor cadre{"c", Role::kCadre, std::string(kGuiyang), {}, "10.0.0.1", 7};
  EXPECT_EQ(
      service::AddUser(*store_, cadre, "x", Role::kCadre, std::string(kGuiyang), {}, "12345678")
          .code(),
      StatusCode::kPermissionDenied);
  Actor zunyi_admin{"z", Role::kAdmin, std::string(test::kZunyi), {}, "", 0};
  EXPECT_EQ(service::AddUser(*store_, zunyi_admin, "x", Role::kCadre, std::string(kGuiyang), {},
                             "12345678")
                .code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM users"), 0);
  EXPECT_EQ(QueryInt(db_,
                     "SELECT count(*) FROM audit_log WHERE action = 'denied' AND "
                     "outcome = 'denied'"),
            2);
}

TEST_F(AccountsTest, LoginFindAndActor) {
  ASSERT_TRUE(service::AddUser(*store_, Admin(), "edu", Role::kDepartment, std::string(kGuiyang),
                               {"edu_students,health_claims"}, "secret-pass")
                  .ok());
  Sessions sessions(Clocked());
  auto s = sessions.Login(*store_, "edu", "secret-pass", "10.1.1.1");
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  EXPECT_EQ(s->token.size(), 43u);
  EXPECT_NE(s->csrf, s->token);
  EXPECT_EQ(s->actor.role, Role::kDepartment);
  EXPECT_EQ(s->actor.region, kGuiyang);
  EXPECT_EQ(s->actor.datasets, (std::vector<std::string>{"edu_students", "health_claims"}));
  // The store keeps the token's SHA-256 only.
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM sessions WHERE token_hash = '" +
                              OpenSslSha256Hex(s->token) + "'"),
            1);
  auto found = sessions.Find(*store_, s->token);
  ASSERT_TRUE(found.has_value()) << found.error().ToString();
  EXPECT_EQ(found->csrf, s->csrf);
  EXPECT_EQ(found->actor.user, "edu");
  EXPECT_EQ(found->user_id, s->user_id);
  EXPECT_TRUE(Sessions::CsrfMatches(*found, s->csrf));
  EXPECT_FALSE(Sessions::CsrfMatches(*found, ""));
  EXPECT_FALSE(Sessions::CsrfMatches(*found, s->token));
  EXPECT_EQ(sessions.Find(*store_, "forged" + s->token).error().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(Audits("login"), 1);
}

TEST_F(AccountsTest, WrongPasswordUnknownAndDisabledUserGetTheSameAnswer) {
  AddCadre("li");
  AddCadre("wang");
  ASSERT_TRUE(service::DisableUser(*store_, Admin(), "wang").ok());
  Sessions sessions(Clocked());
  auto wrong = sessions.Login(*store_, "li", "wrong password", "");
  auto unknown = sessions.Login(*store_, "nobody", "correct horse", "");
  auto disabled = sessions.Login(*store_, "wang", "correct horse", "");
  for (const auto* r : {&wrong, &unknown, &disabled}) {
    ASSERT_FALSE(r->has_value());
    EXPECT_EQ(r->error().code(), StatusCode::kUnauthenticated);
    EXPECT_EQ(r->error().message(), wrong.error().message());
  }
  EXPECT_EQ(Audits("login_failed"), 3);
  EXPECT_EQ(Audits("login"), 0);
}

TEST_F(AccountsTest, IdleAndAbsoluteExpiry) {
  AddCadre("li");
  SessionPolicy policy = Clocked();
  policy.idle_seconds = 100;
  policy.absolute_seconds = 250;
  Sessions sessions(policy);
  auto s = sessions.Login(*store_, "li", "correct horse", "");
  ASSERT_TRUE(s.has_value());
  // Used every 90 s, the session lives on past its idle limit...
  for (int i = 0; i < 2; ++i) {
    now_ += 90;
    ASSERT_TRUE(sessions.Find(*store_, s->token).has_value()) << i;
  }
  // ...until its absolute limit.
  now_ += 70;  // 250 s after login, 70 s after last use
  EXPECT_EQ(sessions.Find(*store_, s->token).error().code(), StatusCode::kUnauthenticated);

  auto t = sessions.Login(*store_, "li", "correct horse", "");
  ASSERT_TRUE(t.has_value());
  now_ += 99;
  ASSERT_TRUE(sessions.Find(*store_, t->token).has_value());
  now_ += 100;  // idle for exactly the limit
  EXPECT_EQ(sessions.Find(*store_, t->token).error().code(), StatusCode::kUnauthenticated);
  // Once expired it stays expired.
  now_ -= 50;
  EXPECT_FALSE(sessions.Find(*store_, t->token).has_value());
}

TEST_F(AccountsTest, LoginPurgesExpiredSessionsAndOldFailures) {
  AddCadre("li");
  Sessions sessions(Clocked());
  ASSERT_TRUE(sessions.Login(*store_, "li", "correct horse", "").has_value());
  ASSERT_FALSE(sessions.Login(*store_, "nobody", "guess", "10.0.0.1").has_value());
  now_ += 1800;  // idle: the first session has ended, nobody used it since
  auto kept = sessions.Login(*store_, "li", "correct horse", "");
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM sessions"), 2);  // within the write margin
  now_ += 61;
  ASSERT_TRUE(sessions.Find(*store_, kept->token).has_value());
  ASSERT_TRUE(sessions.Login(*store_, "li", "correct horse", "").has_value());
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM sessions"), 2);  // the kept one and the new
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM login_failures"), 0);
  EXPECT_TRUE(sessions.Find(*store_, kept->token).has_value());
}

TEST_F(AccountsTest, LogoutEndsTheSessionForAnotherConnectionAndObject) {
  AddCadre("li");
  Sessions a(Clocked());
  Sessions b(Clocked());
  auto other = Open();
  auto s = a.Login(*store_, "li", "correct horse", "");
  ASSERT_TRUE(s.has_value());
  // Both objects know the session (b through its own connection), and cache it.
  ASSERT_TRUE(a.Find(*store_, s->token).has_value());
  ASSERT_TRUE(b.Find(*other, s->token).has_value());
  ASSERT_TRUE(a.Logout(*store_, s->token).ok());
  EXPECT_EQ(b.Find(*other, s->token).error().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(a.Find(*store_, s->token).error().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(a.Logout(*store_, s->token).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Audits("logout"), 1);
}

TEST_F(AccountsTest, PasswordChangeAndDisableEndSessions) {
  AddCadre("li");
  Sessions sessions(Clocked());
  auto s = sessions.Login(*store_, "li", "correct horse", "");
  ASSERT_TRUE(s.has_value());
  ASSERT_TRUE(sessions.Find(*store_, s->token).has_value());
  ASSERT_TRUE(service::SetPassword(*store_, Admin(), "li", "battery staple").ok());
  EXPECT_FALSE(sessions.Find(*store_, s->token).has_value());
  EXPECT_FALSE(sessions.Login(*store_, "li", "correct horse", "").has_value());
  auto t = sessions.Login(*store_, "li", "battery staple", "");
  ASSERT_TRUE(t.has_value());
  // A user may change its own password, not another's.
  AddCadre("wang");
  EXPECT_TRUE(service::SetPassword(*store_, t->actor, "li", "another pass").ok());
  EXPECT_EQ(service::SetPassword(*store_, t->actor, "wang", "another pass").code(),
            StatusCode::kPermissionDenied);
  auto u = sessions.Login(*store_, "li", "another pass", "");
  ASSERT_TRUE(u.has_value());
  ASSERT_TRUE(service::DisableUser(*store_, Admin(), "li").ok());
  EXPECT_FALSE(sessions.Find(*store_, u->token).has_value());
  EXPECT_EQ(service::DisableUser(*store_, Admin(), "nobody").code(), StatusCode::kNotFound);
}

TEST_F(AccountsTest, EnableListInRegionAndOwnPasswordChange) {
  AddCadre("li");
  ASSERT_TRUE(service::AddUser(*store_, Admin(), "zhao", Role::kCadre, std::string(test::kZunyi),
                               {}, "correct horse")
                  .ok());
  // A regional admin lists the users of its region only; another role is refused.
  Actor guiyang_admin{"g", Role::kAdmin, std::string(kGuiyang), {}, "", 0};
  auto listed = service::ListUsersIn(*store_, guiyang_admin);
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].name, "li");
  Actor cadre{"c", Role::kCadre, std::string(kGuiyang), {}, "", 0};
  EXPECT_EQ(service::ListUsersIn(*store_, cadre).error().code(), StatusCode::kPermissionDenied);
  // Enable undoes disable, within the admin's region only.
  Sessions sessions(Clocked());
  ASSERT_TRUE(service::DisableUser(*store_, Admin(), "zhao").ok());
  EXPECT_FALSE(sessions.Login(*store_, "zhao", "correct horse", "").has_value());
  EXPECT_EQ(service::EnableUser(*store_, guiyang_admin, "zhao").code(),
            StatusCode::kPermissionDenied);
  ASSERT_TRUE(service::EnableUser(*store_, Admin(), "zhao").ok());
  EXPECT_FALSE(service::FindUserRecord(*store_, "zhao")->disabled);
  EXPECT_TRUE(sessions.Login(*store_, "zhao", "correct horse", "").has_value());
  EXPECT_EQ(service::EnableUser(*store_, Admin(), "nobody").code(), StatusCode::kNotFound);
  // Its own password: the current one is required; every session ends.
  auto s = sessions.Login(*store_, "li", "correct horse", "");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(service::ChangeOwnPassword(*store_, s->actor, "wrong horse", "battery staple").code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(service::ChangeOwnPassword(*store_, s->actor, "correct horse", "short").code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(
      service::ChangeOwnPassword(*store_, s->actor, "correct horse", "battery staple").ok());
  EXPECT_FALSE(sessions.Find(*store_, s->token).has_value());
  EXPECT_TRUE(sessions.Login(*store_, "li", "battery staple", "").has_value());
  // The CLI (user_id 0) has no own password to change.
  EXPECT_EQ(service::ChangeOwnPassword(*store_, Admin(), "x", "battery staple").code(),
            StatusCode::kNotFound);
}

TEST_F(AccountsTest, ThrottlesByUserNameEvenWithTheRightPassword) {
  AddCadre("li");
  Sessions sessions(Clocked());
  for (int i = 0; i < 5; ++i) {
    now_ += 10;
    EXPECT_EQ(
        sessions.Login(*store_, "li", "guess" + std::to_string(i), "10.0.0." + std::to_string(i))
            .error()
            .code(),
        StatusCode::kUnauthenticated);
  }
  now_ += 10;
  auto locked = sessions.Login(*store_, "li", "correct horse", "10.9.9.9");
  ASSERT_FALSE(locked.has_value());
  EXPECT_EQ(locked.error().code(), StatusCode::kUnavailable);
  EXPECT_NE(locked.error().message().find("try again after"), std::string::npos)
      << locked.error().message();
  // Another user is not affected; the lock is shared by another Sessions on another
  // connection (another server process).
  AddCadre("wang");
  EXPECT_TRUE(sessions.Login(*store_, "wang", "correct horse", "").has_value());
  auto other = Open();
  Sessions b(Clocked());
  EXPECT_EQ(b.Login(*other, "li", "correct horse", "").error().code(), StatusCode::kUnavailable);
  // 15 minutes after the lock, the right password works again.
  now_ += 15 * 60;
  EXPECT_TRUE(sessions.Login(*store_, "li", "correct horse", "").has_value());
  EXPECT_GE(QueryInt(db_,
                     "SELECT count(*) FROM audit_log WHERE action = 'login_failed' AND "
                     "outcome = 'denied'"),
            2);
}

TEST_F(AccountsTest, FailuresOutsideTheWindowDoNotLock) {
  AddCadre("li");
  Sessions sessions(Clocked());
  for (int i = 0; i < 8; ++i) {
    now_ += 5 * 60;  // 3 failures per 15 minutes at most
    ASSERT_EQ(sessions.Login(*store_, "li", "guess", "").error().code(),
              StatusCode::kUnauthenticated)
        << i;
  }
  EXPECT_TRUE(sessions.Login(*store_, "li", "correct horse", "").has_value());
}

TEST_F(AccountsTest, ThrottlesByAddress) {
  AddCadre("li");
  Sessions sessions(Clocked());
  for (int i = 0; i < 20; ++i)
    ASSERT_EQ(
        sessions.Login(*store_, "user" + std::to_string(i), "guess", "203.0.113.7").error().code(),
        StatusCode::kUnauthenticated)
        << i;
  EXPECT_EQ(sessions.Login(*store_, "li", "correct horse", "203.0.113.7").error().code(),
            StatusCode::kUnavailable);
  EXPECT_TRUE(sessions.Login(*store_, "li", "correct horse", "198.51.100.1").has_value());
}

TEST_F(AccountsTest, ApiTokensAreScopedStoredAsSha256AndRevocable) {
  auto token = service::AddApiToken(*store_, Admin(), "edu-system", Role::kDepartment,
                                    std::string(kGuiyang), {"edu_students"});
  ASSERT_TRUE(token.has_value()) << token.error().ToString();
  auto rows = Query(db_, "SELECT id, token_hash FROM api_tokens");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][1], OpenSslSha256Hex(*token));
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM api_tokens WHERE token_hash LIKE '%" +
                              token->substr(4, 20) + "%'"),
            0);
  Sessions sessions;
  auto actor = sessions.FindApiToken(*store_, *token);
  ASSERT_TRUE(actor.has_value());
  EXPECT_EQ(actor->user, "edu-system");
  EXPECT_EQ(actor->role, Role::kDepartment);
  EXPECT_EQ(actor->datasets, std::vector<std::string>{"edu_students"});
  EXPECT_TRUE(actor->Sees(kVillage));
  EXPECT_FALSE(actor->Sees(test::kZunyiVillage));
  EXPECT_EQ(sessions.FindApiToken(*store_, *token + "x").error().code(),
            StatusCode::kUnauthenticated);
  const int64_t id = std::stoll(rows[0][0]);
  ASSERT_TRUE(service::RevokeApiToken(*store_, Admin(), id).ok());
  EXPECT_EQ(sessions.FindApiToken(*store_, *token).error().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(service::RevokeApiToken(*store_, Admin(), id + 100).code(), StatusCode::kNotFound);
  auto list = service::ListApiTokens(*store_);
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_TRUE((*list)[0].revoked);
  EXPECT_EQ(Audits("token"), 2);
  // A department token needs its data sets.
  EXPECT_EQ(
      service::AddApiToken(*store_, Admin(), "x", Role::kDepartment, std::string(kGuiyang), {})
          .error()
          .code(),
      StatusCode::kInvalidArgument);
}

TEST_F(AccountsTest, SessionsSharedByThreadsEachWithItsOwnConnection) {
  AddCadre("li");
  Sessions sessions(Clocked());
  std::vector<std::string> tokens;
  for (int i = 0; i < 4; ++i) {
    auto s = sessions.Login(*store_, "li", "correct horse", "");
    ASSERT_TRUE(s.has_value());
    tokens.push_back(s->token);
  }
  ASSERT_TRUE(sessions.Logout(*store_, tokens[3]).ok());
  std::atomic<int> found{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      auto store = store::OpenSqliteStore(db_);
      if (!store) return;
      for (int i = 0; i < 200; ++i) {
        auto r = sessions.Find(**store, tokens[(t + i) % 4]);
        (r.has_value() ? found : refused)++;
        if (i % 50 == 0) now_ += 1;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(found.load(), 600);
  EXPECT_EQ(refused.load(), 200);
}

}  // namespace
}  // namespace fupin
