// Bad input and attacks, each its own test against the real server (issue 14): the server
// answers each with a clear JSON error, keeps serving, keeps the data whole, and its audit
// chain still verifies afterwards (checked in TearDown of every test).
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "server_harness.h"
#include "test_files.h"

namespace fupin::test {
namespace {

namespace fs = std::filesystem;

class ServerAttackTest : public ::testing::Test {
 protected:
  void SetUp() override { province_ = MakeProvince(dir_.path() / "province"); }
  void Start(const std::vector<std::string>& extra = {}) {
    server_ = std::make_unique<ServerProcess>(dir_.path(), province_.db, extra);
  }
  void TearDown() override {
    if (server_ && server_->port() != 0 && !stopped_) {
      // The server kept serving through the attack.
      auto client = server_->Client();
      auto health = client.Get("/healthz");
      EXPECT_TRUE(health && health->status == 200) << "the server stopped serving";
      FupinRun run = server_->Stop(SIGTERM);
      EXPECT_EQ(run.exit_code, 0) << run.Show();
      // No personal data in the request log: no ID number of a household head.
      for (const auto& row : Query(province_.db, "SELECT head_id_number FROM households LIMIT 50"))
        EXPECT_EQ(run.err.find(row[0]), std::string::npos) << "an ID number in the log";
    }
    FupinRun verify = RunFupin(dir_.path(), {"audit", "verify", "--db", province_.db.string()});
    EXPECT_EQ(verify.exit_code, 0) << verify.Show();
  }
  // A raw TCP connection to the server.
  int Connect() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    return fd;
  }
  static void ExpectJsonError(const httplib::Result& r, int status, const std::string& code = "") {
    ASSERT_TRUE(r) << Describe(r);
    EXPECT_EQ(r->status, status) << Describe(r);
    const auto body = Json(r);
    ASSERT_TRUE(body.is_object() && body.contains("error")) << Describe(r);
    EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
    if (!code.empty()) {
      EXPECT_EQ(body["error"]["code"], code) << Describe(r);
    }
  }
  int64_t AuditCount(const std::string& action) {
    return QueryInt(province_.db,
                    fmt::format("SELECT count(*) FROM audit_log WHERE action = '{}'", action));
  }

  TempDir dir_;
  Province province_;
  std::unique_ptr<ServerProcess> server_;
  bool stopped_ = false;
};

TEST_F(ServerAttackTest, MalformedJsonWrongTypesUnknownFields) {
  Start();
  auto c = server_->Client();
  SignedIn cadre = SignIn(c, "cadre");
  const std::string path = "/api/households/" + province_.household;
  ExpectJsonError(
      c.Patch(path, SessionHeaders(cadre, true), "{\"version\": 1,", "application/json"), 400,
      "invalid_argument");
  ExpectJsonError(c.Patch(path, SessionHeaders(cadre, true), "[1,2,3]", "application/json"), 400);
  ExpectJsonError(
      c.Patch(path, SessionHeaders(cadre, true), R"({"version":"1"})", "application/json"), 400);
  ExpectJsonError(c.Patch(path, SessionHeaders(cadre, true), R"({"version":1,"is_admin":true})",
                          "application/json"),
                  400);
  ExpectJsonError(c.Post("/api/login", "\xff\xfe{", "application/json"), 400);
  ExpectJsonError(
      c.Post("/api/login", R"({"username":"a","password":"b","role":"admin"})", "application/json"),
      400);
}

TEST_F(ServerAttackTest, DeeplyNestedJson) {
  Start();
  auto c = server_->Client();
  SignedIn cadre = SignIn(c, "cadre");
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  ExpectJsonError(c.Patch("/api/households/" + province_.household, SessionHeaders(cadre, true),
                          deep, "application/json"),
                  400);
  ExpectJsonError(c.Post("/api/login", std::string(100000, '{'), "application/json"), 400);
}

TEST_F(ServerAttackTest, OversizedBodyIs413) {
  Start({"--max-body-mib", "1"});
  auto c = server_->Client();
  SignedIn edu = SignIn(c, "edu");
  httplib::MultipartFormDataItems items = {
      {"file", std::string(3 << 20, 'x'), "edu_students.csv", "text/csv"}};
  auto r = c.Post("/api/imports", SessionHeaders(edu, true), items);
  ASSERT_TRUE(r) << Describe(r);
  EXPECT_EQ(r->status, 413);
  // JSON bodies have their own, smaller limit.
  SignedIn cadre = SignIn(c, "cadre");
  const std::string path = "/api/households/" + province_.household;
  auto version = [&] {
    auto r = c.Get(path, SessionHeaders(cadre));
    return r && r->status == 200 ? nlohmann::json::parse(r->body)["version"] : nlohmann::json();
  };
  const nlohmann::json before = version();
  ASSERT_TRUE(before.is_number()) << before;
  nlohmann::json big = {{"version", before}, {"visit_note", std::string(1100000, 'a')}};
  auto j = c.Patch(path, SessionHeaders(cadre, true), big.dump(), "application/json");
  ExpectJsonError(j, 413, "payload_too_large");
  EXPECT_EQ(version(), before) << "nothing changed";
}

TEST_F(ServerAttackTest, SlowClientIsDroppedWhileOthersAreServed) {
  Start({"--read-timeout-s", "2"});
  const int fd = Connect();
  const std::string partial = "GET /api/me HTTP/1.1\r\nHost: x\r\n";  // never finished
  ASSERT_EQ(::send(fd, partial.data(), partial.size(), 0), static_cast<ssize_t>(partial.size()));
  // Others are served meanwhile.
  auto c = server_->Client();
  auto health = c.Get("/healthz");
  ASSERT_TRUE(health && health->status == 200);
  // The slow one is dropped after the timeout: the read ends (EOF or a 408 then EOF).
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const auto start = std::chrono::steady_clock::now();
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) {
  }
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(n, 0) << "the connection was not closed";
  EXPECT_LT(waited, 9.0);
  ::close(fd);
}

TEST_F(ServerAttackTest, UnknownRoutesAreJson404) {
  Start();
  auto c = server_->Client();
  SignedIn admin = SignIn(c, "admin");
  ExpectJsonError(c.Get("/api/nope", SessionHeaders(admin)), 404, "not_found");
  ExpectJsonError(c.Get("/api/households/x/y/z", SessionHeaders(admin)), 404);
  ExpectJsonError(c.Delete("/api/flags/1", SessionHeaders(admin, true)), 404);
}

TEST_F(ServerAttackTest, SqlInjectionInEveryParameter) {
  Start();
  auto c = server_->Client();
  SignedIn admin = SignIn(c, "admin");
  const int64_t households = QueryInt(province_.db, "SELECT count(*) FROM households");
  const std::vector<std::string> payloads = {"' OR '1'='1", "1; DROP TABLE households; --",
                                             "\" OR 1=1 --",
                                             "520000000000' UNION SELECT * FROM users --"};
  for (const std::string& raw : payloads) {
    const std::string v = httplib::detail::encode_query_param(raw);
    for (const std::string& path :
         {"/api/query?measures=" + v, "/api/query?measures=households&by=" + v,
          "/api/query?measures=households&where=status=" + v,
          "/api/query?measures=households&where=" + v, "/api/households?where=village=" + v,
          "/api/regions/" + v, "/api/villages/" + v + "/portrait", "/api/households/" + v,
          "/api/households/" + v + "/history", "/api/flags?rule=" + v, "/api/flags?region=" + v,
          "/api/flags?state=" + v, "/api/flags?category=" + v, "/api/reports/" + v,
          "/api/reports/registry?region=" + v, "/api/changes?since=" + v, "/api/links?dataset=" + v,
          "/api/audit?action=" + v, "/api/jobs/" + v}) {
      auto r = c.Get(path, SessionHeaders(admin));
      ASSERT_TRUE(r) << path;
      EXPECT_GE(r->status, 400) << path << " " << Describe(r);
      EXPECT_LT(r->status, 500) << path << " " << Describe(r);
    }
    nlohmann::json login = {{"username", raw}, {"password", raw}};
    auto l = c.Post("/api/login", login.dump(), "application/json");
    ASSERT_TRUE(l);
    EXPECT_EQ(l->status, 401) << Describe(l);
  }
  EXPECT_EQ(QueryInt(province_.db, "SELECT count(*) FROM households"), households);
}

TEST_F(ServerAttackTest, PathTraversalOnStaticFiles) {
  const fs::path web = dir_.path() / "web";
  fs::create_directories(web);
  WriteFile(web / "index.html", "<!doctype html><title>fupin</title>");
  WriteFile(dir_.path() / "secret.txt", "TOP-SECRET");
  Start({"--web", web.string()});
  // cpp-httplib's client would normalise some of these paths: send them raw.
  for (const char* path : {"/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt",
                           "/%2e%2e%2fsecret.txt", "/web/../../secret.txt", "/....//secret.txt",
                           "/%252e%252e/secret.txt", "/..\\secret.txt", "/%00/../secret.txt"}) {
    const int fd = Connect();
    const std::string req =
        std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ASSERT_GT(::send(fd, req.data(), req.size(), 0), 0);
    std::string answer;
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) answer.append(buf, static_cast<size_t>(n));
    ::close(fd);
    EXPECT_EQ(answer.find("TOP-SECRET"), std::string::npos) << path;
    EXPECT_FALSE(answer.starts_with("HTTP/1.1 200")) << path << "\n" << answer.substr(0, 200);
  }
  auto c = server_->Client();
  auto index = c.Get("/index.html");
  ASSERT_TRUE(index && index->status == 200);
  EXPECT_EQ(index->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(index->get_header_value("X-Frame-Options"), "DENY");
  EXPECT_NE(index->get_header_value("Content-Security-Policy").find("default-src 'self'"),
            std::string::npos);
}

TEST_F(ServerAttackTest, CadreGuessingAHouseholdOutsideTheRegion) {
  Start();
  auto c = server_->Client();
  SignedIn cadre = SignIn(c, "cadre");
  const int64_t denied_before = AuditCount("denied");
  ExpectJsonError(c.Get("/api/households/" + province_.other_household, SessionHeaders(cadre)), 403,
                  "permission_denied");
  ExpectJsonError(
      c.Get("/api/households/" + province_.other_household + "/history", SessionHeaders(cadre)),
      403);
  const std::string before =
      Query(province_.db, fmt::format("SELECT income_wage_fen FROM households WHERE "
                                      "household_id = '{}'",
                                      province_.other_household))[0][0];
  nlohmann::json edit = {{"version", 0}, {"fields", {{"income_wage", "1.00"}}}};
  for (int64_t v : {0, 1, 2, 5}) {
    edit["version"] = v;
    ExpectJsonError(c.Patch("/api/households/" + province_.other_household,
                            SessionHeaders(cadre, true), edit.dump(), "application/json"),
                    403);
  }
  EXPECT_EQ(Query(province_.db, fmt::format("SELECT income_wage_fen FROM households WHERE "
                                            "household_id = '{}'",
                                            province_.other_household))[0][0],
            before);
  // The attempts are audited.
  SignedIn auditor = SignIn(c, "auditor");
  auto audit = c.Get("/api/audit?action=denied&limit=5000", SessionHeaders(auditor));
  ASSERT_TRUE(audit && audit->status == 200) << Describe(audit);
  int by_cadre = 0;
  const nlohmann::json audit_json = Json(audit);
  for (const auto& e : audit_json["entries"])
    if (e["user"] == "cadre") ++by_cadre;
  EXPECT_GE(by_cadre, 6);
  EXPECT_GE(AuditCount("denied") - denied_before, 6);
}

TEST_F(ServerAttackTest, DepartmentReadingAnotherDepartmentsRecords) {
  Start();
  auto c = server_->Client();
  SignedIn edu = SignIn(c, "edu");
  ExpectJsonError(c.Get("/api/links?dataset=health_enrollment", SessionHeaders(edu)), 403);
  httplib::MultipartFormDataItems items = {{"file", "id_number\n", "civil_dibao.csv", "text/csv"}};
  ExpectJsonError(c.Post("/api/imports", SessionHeaders(edu, true), items), 403);
  ExpectJsonError(c.Get("/api/households/" + province_.household, SessionHeaders(edu)), 403);
  auto own = c.Get("/api/links?dataset=edu_students&limit=1", SessionHeaders(edu));
  ASSERT_TRUE(own && own->status == 200) << Describe(own);
}

TEST_F(ServerAttackTest, ExpiredAndForgedSessions) {
  Start({"--session-idle-s", "3"});
  auto c = server_->Client();
  SignedIn cadre = SignIn(c, "cadre");
  ASSERT_EQ(c.Get("/api/me", SessionHeaders(cadre))->status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(4500));  // idle for longer than 3 s
  ExpectJsonError(c.Get("/api/me", SessionHeaders(cadre)), 401, "unauthenticated");
  for (const std::string& forged :
       {std::string("fupin_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        std::string("fupin_session="), std::string("fupin_session=") + std::string(5000, 'a'),
        std::string("fupin_session=' OR 1=1 --")}) {
    ExpectJsonError(c.Get("/api/me", {{"Cookie", forged}}), 401);
  }
  ExpectJsonError(c.Get("/api/me", {{"Authorization", "Bearer forged-token"}}), 401);
}

TEST_F(ServerAttackTest, CookieReplayedAfterLogout) {
  Start();
  auto c = server_->Client();
  SignedIn cadre = SignIn(c, "cadre");
  ASSERT_EQ(c.Post("/api/logout", SessionHeaders(cadre, true), "", "application/json")->status,
            200);
  ExpectJsonError(c.Get("/api/me", SessionHeaders(cadre)), 401);
  ExpectJsonError(c.Patch("/api/households/" + province_.household, SessionHeaders(cadre, true),
                          R"({"version":0})", "application/json"),
                  401);
  // Also after a restart of the server: logout is kept in the store.
  stopped_ = true;
  ASSERT_EQ(server_->Stop(SIGTERM).exit_code, 0);
  Start();
  stopped_ = false;
  auto c2 = server_->Client();
  ExpectJsonError(c2.Get("/api/me", SessionHeaders(cadre)), 401);
}

TEST_F(ServerAttackTest, WriteWithoutCsrfToken) {
  Start();
  auto c = server_->Client();
  SignedIn admin = SignIn(c, "admin");
  auto flags = c.Get("/api/flags?limit=1", SessionHeaders(admin));
  ASSERT_TRUE(flags && flags->status == 200);
  ASSERT_FALSE(Json(flags)["flags"].empty());
  const int64_t id = Json(flags)["flags"][0]["id"];
  const std::string path = fmt::format("/api/flags/{}/state", id);
  ExpectJsonError(
      c.Post(path, SessionHeaders(admin, false), R"({"state":"dismissed"})", "application/json"),
      403);
  ExpectJsonError(c.Post(path, {{"Cookie", admin.cookie}, {"X-CSRF-Token", "guess"}},
                         R"({"state":"dismissed"})", "application/json"),
                  403);
  EXPECT_EQ(QueryInt(province_.db, fmt::format("SELECT count(*) FROM flags WHERE flag_id = {} "
                                               "AND state = 'dismissed'",
                                               id)),
            0);
  // The session's own token works.
  auto ok =
      c.Post(path, SessionHeaders(admin, true), R"({"state":"dismissed"})", "application/json");
  ASSERT_TRUE(ok && ok->status == 200) << Describe(ok);
}

TEST_F(ServerAttackTest, BruteForceLoginIsThrottled) {
  Start();
  auto c = server_->Client();
  int throttled = 0;
  for (int i = 0; i < 8; ++i) {
    nlohmann::json body = {{"username", "official"}, {"password", fmt::format("guess{}", i)}};
    auto r = c.Post("/api/login", body.dump(), "application/json");
    ASSERT_TRUE(r);
    if (r->status == 429) ++throttled;
  }
  EXPECT_GE(throttled, 3);
  // The right password does not help while throttled.
  nlohmann::json right = {{"username", "official"}, {"password", kPassword}};
  auto r = c.Post("/api/login", right.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429);
  // Another user from another address is not locked out by it... (same address here: by
  // address the limit is higher, so one more user still signs in).
  SignedIn cadre = SignIn(c, "cadre");
  EXPECT_FALSE(cadre.csrf.empty());
  EXPECT_GE(AuditCount("login_failed"), 5);
}

TEST_F(ServerAttackTest, ConcurrentWritersToOneHousehold) {
  Start();
  auto c = server_->Client();
  SignedIn cadre = SignIn(c, "cadre");
  SignedIn official = SignIn(c, "official");
  auto before = c.Get("/api/households/" + province_.household, SessionHeaders(cadre));
  ASSERT_TRUE(before && before->status == 200);
  const int64_t version = Json(before).value("version", int64_t{0});
  std::atomic<int> ok{0}, conflict{0}, other{0};
  auto write = [&](const SignedIn& who, const std::string& wage) {
    auto client = server_->Client();
    nlohmann::json edit = {
        {"version", version}, {"reason", "并发"}, {"fields", {{"income_wage", wage}}}};
    auto r = client.Patch("/api/households/" + province_.household, SessionHeaders(who, true),
                          edit.dump(), "application/json");
    if (r && r->status == 200)
      ++ok;
    else if (r && r->status == 409)
      ++conflict;
    else
      ++other;
  };
  std::thread a(write, cadre, "11111.00"), b(write, official, "22222.00");
  a.join();
  b.join();
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(conflict, 1);
  EXPECT_EQ(other, 0);
  const std::string stored = Query(province_.db, fmt::format("SELECT income_wage_fen FROM "
                                                             "households WHERE household_id = '{}'",
                                                             province_.household))[0][0];
  EXPECT_TRUE(stored == "1111100" || stored == "2222200") << stored;
  auto history =
      c.Get("/api/households/" + province_.household + "/history", SessionHeaders(cadre));
  ASSERT_TRUE(history && history->status == 200);
  int wage_changes = 0;
  const nlohmann::json history_json = Json(history);
  for (const auto& ch : history_json["changes"])
    if (ch["field"].get<std::string>().starts_with("income_wage") && ch["source"] == "edit")
      ++wage_changes;
  EXPECT_EQ(wage_changes, 1);
}

TEST_F(ServerAttackTest, ClientDisconnectsMidUpload) {
  Start();
  auto c = server_->Client();
  SignedIn edu = SignIn(c, "edu");
  const int fd = Connect();
  const std::string boundary = "XyZ";
  const std::string head = fmt::format(
      "POST /api/imports HTTP/1.1\r\nHost: x\r\nCookie: {}\r\nX-CSRF-Token: {}\r\n"
      "Content-Type: multipart/form-data; boundary={}\r\nContent-Length: 10000000\r\n\r\n"
      "--{}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"edu_students.csv\"\r\n"
      "Content-Type: text/csv\r\n\r\nid_number,name\r\n",
      edu.cookie, edu.csrf, boundary, boundary);
  ASSERT_GT(::send(fd, head.data(), head.size(), 0), 0);
  const std::string chunk(100000, 'a');
  ASSERT_GT(::send(fd, chunk.data(), chunk.size(), 0), 0);
  ::close(fd);  // gone, mid-body
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto jobs = c.Get("/api/jobs", SessionHeaders(edu));
  ASSERT_TRUE(jobs && jobs->status == 200);
  EXPECT_TRUE(Json(jobs)["jobs"].empty()) << jobs->body;
  // Nothing half-received is left behind.
  const fs::path scratch = province_.db.string() + ".scratch";
  if (fs::exists(scratch))
    for (const auto& e : fs::directory_iterator(scratch)) ADD_FAILURE() << "left: " << e.path();
}

TEST_F(ServerAttackTest, KillDuringWritesLeavesTheStoreWhole) {
  Start();
  auto c = server_->Client();
  SignedIn cadre = SignIn(c, "cadre");
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0};
  std::thread writer([&] {
    auto client = server_->Client();
    for (int i = 0; !stop; ++i) {
      auto cur = client.Get("/api/households/" + province_.household, SessionHeaders(cadre));
      if (!cur || cur->status != 200) break;
      nlohmann::json edit = {{"version", Json(cur).value("version", int64_t{0})},
                             {"reason", "压力"},
                             {"fields", {{"income_wage", fmt::format("{}.00", 1000 + i)}}}};
      auto r = client.Patch("/api/households/" + province_.household, SessionHeaders(cadre, true),
                            edit.dump(), "application/json");
      if (!r) break;
      if (r->status == 200) ++acknowledged;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  stopped_ = true;
  kill(server_->pid(), SIGKILL);
  stop = true;
  writer.join();
  server_->Stop(SIGKILL);
  EXPECT_GT(acknowledged, 0);
  // Every acknowledged write is there; the store is whole.
  EXPECT_EQ(Query(province_.db, "PRAGMA integrity_check")[0][0], "ok");
  const int64_t edits = QueryInt(
      province_.db,
      fmt::format("SELECT count(*) FROM edits WHERE household_id = '{}'", province_.household));
  EXPECT_GE(edits, acknowledged.load());
  // History and the value agree: the last edit's new value is the stored one.
  const auto last =
      Query(province_.db, fmt::format("SELECT new_value FROM history WHERE entity = 'household' "
                                      "AND entity_key = '{}' AND field = 'income_wage_fen' "
                                      "ORDER BY history_id DESC LIMIT 1",
                                      province_.household));
  ASSERT_FALSE(last.empty());
  EXPECT_EQ(last[0][0], Query(province_.db, fmt::format("SELECT income_wage_fen FROM households "
                                                        "WHERE household_id = '{}'",
                                                        province_.household))[0][0]);
}

TEST_F(ServerAttackTest, KillDuringAnImportJob) {
  Start();
  auto c = server_->Client();
  SignedIn admin = SignIn(c, "admin");
  const auto before = TableCounts(province_.db);
  // A bigger batch, so that the kill lands while it runs.
  const fs::path big = dir_.path() / "big";
  FupinRun gen =
      RunFupin(dir_.path(), {"gen", "--scale", "0.01", "--seed", "9", "--out", big.string()});
  ASSERT_EQ(gen.exit_code, 0) << gen.Show();
  httplib::MultipartFormDataItems items;
  for (const char* name : {"households.csv", "members.csv"})
    items.push_back({"file", ReadFile(big / name), name, "text/csv"});
  auto job = c.Post("/api/imports", SessionHeaders(admin, true), items);
  ASSERT_TRUE(job && job->status == 202) << Describe(job);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  stopped_ = true;
  server_->Stop(SIGKILL);
  EXPECT_EQ(Query(province_.db, "PRAGMA integrity_check")[0][0], "ok");
  const auto after = TableCounts(province_.db);
  // Either nothing of the batch is there, or all of it.
  const bool as_before = after.at("households") == before.at("households") &&
                         after.at("members") == before.at("members");
  const std::string big_csv = ReadFile(big / "households.csv");
  const int64_t big_households = std::count(big_csv.begin(), big_csv.end(), '\n') - 1;
  EXPECT_TRUE(as_before || after.at("households") >= big_households)
      << before.at("households") << " -> " << after.at("households");
}

TEST_F(ServerAttackTest, TwoFilesOfOneDataSetInOneUploadAreRefused) {
  Start();
  auto c = server_->Client();
  SignedIn admin = SignIn(c, "admin");
  const auto before = TableCounts(province_.db);
  // Either file would have replaced the other in the upload folder, unseen.
  httplib::MultipartFormDataItems items = {
      {"file", "household_id\nH1\n", "households.csv", "text/csv"},
      {"file", "household_id\nH2\n", "Households.CSV", "text/csv"}};
  auto r = c.Post("/api/imports", SessionHeaders(admin, true), items);
  ExpectJsonError(r, 400, "invalid_argument");
  EXPECT_NE(r->body.find("同一数据集上传了两个文件"), std::string::npos) << r->body;
  EXPECT_EQ(TableCounts(province_.db), before);
}

TEST_F(ServerAttackTest, SecurityHeadersOnEveryAnswer) {
  Start();
  auto c = server_->Client();
  for (const char* path : {"/healthz", "/api/me", "/api/nope", "/api/openapi.json", "/metrics"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff") << path;
    EXPECT_EQ(r->get_header_value("X-Frame-Options"), "DENY") << path;
    EXPECT_FALSE(r->get_header_value("Content-Security-Policy").empty()) << path;
  }
  auto login =
      c.Post("/api/login", nlohmann::json{{"username", "cadre"}, {"password", kPassword}}.dump(),
             "application/json");
  ASSERT_TRUE(login && login->status == 200);
  const std::string cookie = login->get_header_value("Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_EQ(login->get_header_value("Cache-Control"), "no-store");
}

}  // namespace
}  // namespace fupin::test
