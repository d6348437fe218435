// What the web app (issue 15) needs of the server, against the real `fupin serve` over a real
// SQLite province: the app's files (history fallback, caching, precompressed assets, security
// headers, traversal refused, the default folder), the users API with its attacks (roles,
// region, CSRF), bulk flag decisions, Excel downloads read back with the importer's own XLSX
// reader, and the pages each role may use. Every test ends with the audit chain verified.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <set>
#include <thread>

#include "exchange/xlsx_reader.h"
#include "server_harness.h"
#include "test_files.h"

namespace fupin::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCsp =
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'";
constexpr const char* kIndexHtml = "<!doctype html><title>扶贫云</title><div id=app></div>";
constexpr const char* kAppJs = "console.log('fupin web app');\n";

class ServerWebAppTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempDir();
    province_ = new Province(MakeProvince(root_->path() / "province"));
  }
  static void TearDownTestSuite() {
    delete province_;
    delete root_;
  }
  void SetUp() override {
    dir_ = root_->path() / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(dir_);
    db_ = dir_ / "f.db";
    CopyDatabase(*province_, db_);
  }
  void TearDown() override {
    if (server_) {
      FupinRun run = server_->Stop(SIGTERM);
      EXPECT_EQ(run.exit_code, 0) << run.Show();
    }
    FupinRun verify = RunFupin(dir_, {"audit", "verify", "--db", db_.string()});
    EXPECT_EQ(verify.exit_code, 0) << verify.Show();
  }
  void Start(const std::vector<std::string>& extra = {}, const std::vector<std::string>& env = {}) {
    server_ = std::make_unique<ServerProcess>(dir_, db_, extra, env);
  }
  // DIR with index.html, assets/app.js and its gzip beside it.
  fs::path MakeWebDir() {
    const fs::path web = dir_ / "web";
    fs::create_directories(web / "assets");
    WriteFile(web / "index.html", kIndexHtml);
    WriteFile(web / "assets" / "app.js", kAppJs);
    const std::string gzip = fmt::format("gzip -k -9 '{}'", (web / "assets" / "app.js").string());
    EXPECT_EQ(std::system(gzip.c_str()), 0);
    return web;
  }
  // A raw request, for paths cpp-httplib's client would normalise.
  std::string RawGet(const std::string& path) const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    EXPECT_GT(::send(fd, req.data(), req.size(), 0), 0);
    std::string answer;
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) answer.append(buf, static_cast<size_t>(n));
    ::close(fd);
    return answer;
  }
  int64_t Audited(const std::string& where_sql) {
    // The server's audit log commits every ~50 ms: wait for it (at most 5 s).
    int64_t n = 0;
    for (int i = 0; i < 100; ++i) {
      n = QueryInt(db_, "SELECT count(*) FROM audit_log WHERE " + where_sql);
      if (n > 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return n;
  }
  // Every row of the first sheet of an XLSX download.
  std::vector<std::vector<std::string>> ReadXlsx(const std::string& bytes) {
    const fs::path file = dir_ / fmt::format("download-{}.xlsx", downloads_++);
    WriteFile(file, bytes);
    std::vector<std::vector<std::string>> rows;
    auto source = exchange::OpenXlsx(file);
    EXPECT_TRUE(source.has_value()) << (source ? "" : source.error().message());
    if (!source) return rows;
    exchange::RawRow row;
    for (;;) {
      auto more = (*source)->Next(row);
      EXPECT_TRUE(more.has_value());
      if (!more || !*more) break;
      rows.push_back(row.cells);
    }
    return rows;
  }
  static void ExpectSecurityHeaders(const httplib::Result& r, const std::string& what) {
    ASSERT_TRUE(r) << what;
    EXPECT_EQ(r->get_header_value("Content-Security-Policy"), kCsp) << what;
    EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff") << what;
    EXPECT_EQ(r->get_header_value("Referrer-Policy"), "same-origin") << what;
    EXPECT_EQ(r->get_header_value("X-Frame-Options"), "DENY") << what;
    EXPECT_EQ(r->get_header_value_count("Content-Security-Policy"), 1u) << what;
  }

  const Province& P() const { return *province_; }
  static TempDir* root_;
  static Province* province_;
  fs::path dir_, db_;
  std::unique_ptr<ServerProcess> server_;
  int downloads_ = 0;
};
TempDir* ServerWebAppTest::root_ = nullptr;
Province* ServerWebAppTest::province_ = nullptr;

// ---- the app's files ---------------------------------------------------------------------

TEST_F(ServerWebAppTest, ServesTheAppWithHistoryFallbackCachingAndGzip) {
  const fs::path web = MakeWebDir();
  Start({"--web", web.string()});
  auto c = server_->Client();
  const httplib::Headers identity = {{"Accept-Encoding", "identity"}};
  for (const char* path : {"/", "/index.html", "/villages/520102001001", "/flags?state=open"}) {
    auto r = c.Get(path, identity);
    ASSERT_TRUE(r && r->status == 200) << path << " " << Describe(r);
    EXPECT_EQ(r->body, kIndexHtml) << path;
    EXPECT_EQ(r->get_header_value("Content-Type"), "text/html; charset=utf-8") << path;
    EXPECT_EQ(r->get_header_value("Cache-Control"), "no-cache") << path;
    ExpectSecurityHeaders(r, path);
  }
  // An asset: long-lived, as it is without gzip.
  auto js = c.Get("/assets/app.js", identity);
  ASSERT_TRUE(js && js->status == 200) << Describe(js);
  EXPECT_EQ(js->body, kAppJs);
  EXPECT_EQ(js->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(js->get_header_value("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_FALSE(js->has_header("Content-Encoding"));
  EXPECT_EQ(js->get_header_value("Vary"), "Accept-Encoding");
  // Accepting gzip: the .gz file's own bytes, once compressed.
  auto raw = server_->Client();
  raw.set_decompress(false);
  auto gz = raw.Get("/assets/app.js", {{"Accept-Encoding", "gzip, deflate"}});
  ASSERT_TRUE(gz && gz->status == 200) << Describe(gz);
  EXPECT_EQ(gz->get_header_value("Content-Encoding"), "gzip");
  EXPECT_EQ(gz->get_header_value("Vary"), "Accept-Encoding");
  EXPECT_EQ(gz->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(gz->body, ReadFile(web / "assets" / "app.js.gz"));
  ExpectSecurityHeaders(gz, "app.js.gz");
  // ... which a client decompresses to the file.
  auto unzipped = c.Get("/assets/app.js", {{"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(unzipped && unzipped->status == 200);
  EXPECT_EQ(unzipped->body, kAppJs);
  // A missing asset is missing, not the app; so is an unknown API path.
  for (const char* path : {"/assets/missing.js", "/assets/", "/api/nope", "/api"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_EQ(Json(r)["error"]["code"], "not_found") << path;
    ExpectSecurityHeaders(r, path);
  }
  auto health = c.Get("/healthz");
  ASSERT_TRUE(health && health->status == 200);
  EXPECT_EQ(Json(health)["status"], "ok");
  ExpectSecurityHeaders(health, "/healthz");
  auto me = c.Get("/api/me");
  ASSERT_TRUE(me);
  EXPECT_EQ(me->status, 401);
  ExpectSecurityHeaders(me, "/api/me");
  EXPECT_EQ(me->get_header_value("Cache-Control"), "no-store");
}

TEST_F(ServerWebAppTest, PathTraversalIsRefused) {
  const fs::path web = MakeWebDir();
  WriteFile(dir_ / "secret.txt", "TOP-SECRET");
  // A link inside the folder leading out of it is not followed either.
  fs::create_symlink(dir_ / "secret.txt", web / "assets" / "link.txt");
  Start({"--web", web.string()});
  for (const char* path :
       {"/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt", "/%2e%2e%2fsecret.txt", "/..%5csecret.txt",
        "/%252e%252e/secret.txt", "/assets//../../secret.txt", "/assets/link.txt"}) {
    const std::string answer = RawGet(path);
    EXPECT_EQ(answer.find("TOP-SECRET"), std::string::npos) << path;
    EXPECT_FALSE(answer.starts_with("HTTP/1.1 200")) << path << "\n" << answer.substr(0, 200);
  }
  EXPECT_TRUE(RawGet("/../secret.txt").starts_with("HTTP/1.1 400")) << RawGet("/../secret.txt");
  EXPECT_TRUE(RawGet("/%2e%2e/secret.txt").starts_with("HTTP/1.1 400"));
}

TEST_F(ServerWebAppTest, WithoutWebTheAppComesFromFupinWeb) {
  const fs::path web = MakeWebDir();
  Start({}, {"FUPIN_WEB=" + web.string()});
  auto c = server_->Client();
  auto page = c.Get("/regions/520000000000", {{"Accept-Encoding", "identity"}});
  ASSERT_TRUE(page && page->status == 200) << Describe(page);
  EXPECT_EQ(page->body, kIndexHtml);
  EXPECT_NE(server_->Log().find(web.filename().string()), std::string::npos) << server_->Log();
}

// ---- pages by role -----------------------------------------------------------------------

TEST_F(ServerWebAppTest, MeListsThePagesTheRoleMayUse) {
  Start();
  auto c = server_->Client();
  const std::vector<std::pair<std::string, std::set<std::string>>> expected = {
      {"admin",
       {"overview", "bigscreen", "regions", "villages", "households", "flags", "exchange",
        "reports", "queries", "jobs", "users", "audit"}},
      {"official",
       {"overview", "bigscreen", "regions", "villages", "households", "flags", "reports",
        "queries"}},
      {"cadre", {"overview", "regions", "villages", "households", "flags"}},
      {"edu", {"overview", "exchange", "reports"}},
      {"auditor",
       {"overview", "regions", "villages", "households", "flags", "reports", "queries", "audit",
        "jobs"}}};
  for (const auto& [user, pages] : expected) {
    SignedIn who = SignIn(c, user);
    auto me = c.Get("/api/me", SessionHeaders(who));
    ASSERT_TRUE(me && me->status == 200) << Describe(me);
    const nlohmann::json permissions = Json(me)["permissions"];
    std::set<std::string> got;
    for (const auto& p : permissions) got.insert(p.get<std::string>());
    EXPECT_EQ(got, pages) << user;
    EXPECT_EQ(permissions.size(), pages.size()) << user;
    // A page the role is given is one its API lets it read: the jobs page reads /api/jobs.
    if (pages.contains("jobs")) {
      auto jobs = c.Get("/api/jobs", SessionHeaders(who));
      EXPECT_TRUE(jobs && jobs->status == 200) << user << ": " << Describe(jobs);
    }
  }
}

// ---- users -------------------------------------------------------------------------------

TEST_F(ServerWebAppTest, AdminManagesUsers) {
  Start();
  auto c = server_->Client();
  SignedIn admin = SignIn(c, "admin");
  auto list = c.Get("/api/users", SessionHeaders(admin));
  ASSERT_TRUE(list && list->status == 200) << Describe(list);
  EXPECT_EQ(list->body.find("argon2"), std::string::npos);
  EXPECT_EQ(list->body.find("password"), std::string::npos);
  const nlohmann::json users = Json(list)["users"];
  EXPECT_EQ(static_cast<int64_t>(users.size()), QueryInt(db_, "SELECT count(*) FROM users"));
  bool saw_cadre = false;
  for (const auto& u : users) {
    if (u["username"] != "cadre") continue;
    saw_cadre = true;
    EXPECT_EQ(u["role"], "cadre");
    EXPECT_EQ(u["region"], P().village);
    EXPECT_FALSE(u["region_name"].get<std::string>().empty());
    EXPECT_EQ(u["disabled"], false);
    EXPECT_FALSE(u["created_at"].get<std::string>().empty());
  }
  EXPECT_TRUE(saw_cadre);
  EXPECT_GE(Audited("action = 'read' AND object LIKE 'users%'"), 1);

  // Add: 201 with the user; the user signs in.
  nlohmann::json add = {{"username", "李干部"},
                        {"role", "cadre"},
                        {"region", P().village},
                        {"password", "a fine password"}};
  auto added = c.Post("/api/users", SessionHeaders(admin, true), add.dump(), "application/json");
  ASSERT_TRUE(added && added->status == 201) << Describe(added);
  EXPECT_EQ(Json(added)["username"], "李干部");
  EXPECT_EQ(Json(added)["role"], "cadre");
  EXPECT_EQ(Json(added)["disabled"], false);
  EXPECT_NE(QueryInt(db_,
                     "SELECT count(*) FROM users WHERE name = '李干部' AND password_hash "
                     "LIKE '$argon2id$%'"),
            0);
  auto again = c.Post("/api/users", SessionHeaders(admin, true), add.dump(), "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 409) << Describe(again);
  // Bad input: 400 naming what is wrong.
  struct Bad {
    nlohmann::json body;
    std::string says;
  };
  const std::vector<Bad> bad = {
      {{{"username", "x1"}, {"role", "boss"}, {"region", P().village}, {"password", "12345678"}},
       "boss"},
      {{{"username", "x2"},
        {"role", "department"},
        {"region", P().county},
        {"password", "12345678"}},
       "数据集"},
      {{{"username", "x3"}, {"role", "cadre"}, {"region", P().village}, {"password", "short"}},
       "密码太短"},
      {{{"username", "x4"},
        {"role", "cadre"},
        {"region", "999999999999"},
        {"password", "12345678"}},
       "999999999999"},
      {{{"username", "x5"}, {"role", "cadre"}, {"region", P().village}}, "password"},
  };
  for (const Bad& b : bad) {
    auto r = c.Post("/api/users", SessionHeaders(admin, true), b.body.dump(), "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << b.body.dump() << " " << Describe(r);
    EXPECT_NE(Json(r)["error"]["message"].get<std::string>().find(b.says), std::string::npos)
        << Describe(r);
  }
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM users WHERE name LIKE 'x_'"), 0);
  // A department officer with its data sets.
  nlohmann::json dept = {{"username", "民政局"},
                         {"role", "department"},
                         {"region", P().county},
                         {"datasets", {"edu_students"}},
                         {"password", "a fine password"}};
  auto dept_added =
      c.Post("/api/users", SessionHeaders(admin, true), dept.dump(), "application/json");
  ASSERT_TRUE(dept_added && dept_added->status == 201) << Describe(dept_added);
  EXPECT_EQ(Json(dept_added)["datasets"], nlohmann::json({"edu_students"}));

  // Disable: the user's session ends and it can no longer sign in; enable: it can again.
  SignedIn li = SignIn(c, "李干部", "a fine password");
  ASSERT_FALSE(li.cookie.empty());
  auto disabled =
      c.Post("/api/users/李干部/disable", SessionHeaders(admin, true), "", "application/json");
  ASSERT_TRUE(disabled && disabled->status == 200) << Describe(disabled);
  EXPECT_EQ(Json(disabled)["disabled"], true);
  auto after = c.Get("/api/me", SessionHeaders(li));
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 401);
  nlohmann::json login = {{"username", "李干部"}, {"password", "a fine password"}};
  auto refused = c.Post("/api/login", login.dump(), "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  auto enabled =
      c.Post("/api/users/李干部/enable", SessionHeaders(admin, true), "", "application/json");
  ASSERT_TRUE(enabled && enabled->status == 200) << Describe(enabled);
  EXPECT_EQ(Json(enabled)["disabled"], false);
  li = SignIn(c, "李干部", "a fine password");
  ASSERT_FALSE(li.cookie.empty());
  auto missing =
      c.Post("/api/users/nobody/disable", SessionHeaders(admin, true), "", "application/json");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);

  // The admin resets the password: the user's sessions end, the new one works.
  auto reset = c.Post("/api/users/李干部/password", SessionHeaders(admin, true),
                      R"({"password":"another password"})", "application/json");
  ASSERT_TRUE(reset && reset->status == 200) << Describe(reset);
  auto ended = c.Get("/api/me", SessionHeaders(li));
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->status, 401);
  li = SignIn(c, "李干部", "another password");
  ASSERT_FALSE(li.cookie.empty());

  // The user changes its own: the current password is required.
  auto wrong = c.Post("/api/me/password", SessionHeaders(li, true),
                      R"({"old_password":"a fine password","password":"my own password"})",
                      "application/json");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 403) << Describe(wrong);
  auto weak =
      c.Post("/api/me/password", SessionHeaders(li, true),
             R"({"old_password":"another password","password":"short"})", "application/json");
  ASSERT_TRUE(weak);
  EXPECT_EQ(weak->status, 400) << Describe(weak);
  auto own = c.Post("/api/me/password", SessionHeaders(li, true),
                    R"({"old_password":"another password","password":"my own password"})",
                    "application/json");
  ASSERT_TRUE(own && own->status == 200) << Describe(own);
  EXPECT_NE(own->get_header_value("Set-Cookie").find("Max-Age=0"), std::string::npos);
  SignedIn li_again = SignIn(c, "李干部", "my own password");
  EXPECT_FALSE(li_again.cookie.empty());

  // Every change is in the audit log.
  EXPECT_GE(Audited("action = 'user' AND object = '李干部' AND detail LIKE 'add%'"), 1);
  EXPECT_GE(Audited("action = 'user' AND object = '李干部' AND detail = 'disable'"), 1);
  EXPECT_GE(Audited("action = 'user' AND object = '李干部' AND detail = 'enable'"), 1);
  EXPECT_GE(Audited("action = 'user' AND object = '李干部' AND detail = 'passwd'"), 2);
}

TEST_F(ServerWebAppTest, UsersApiRefusesOtherRolesOtherRegionsAndMissingCsrf) {
  Start();
  auto c = server_->Client();
  SignedIn admin = SignIn(c, "admin");
  const nlohmann::json outsider = {{"username", "外人"},
                                   {"role", "cadre"},
                                   {"region", P().village},
                                   {"password", "a fine password"}};
  // Every role but admin: 403 on each call, nothing changed.
  for (const char* user : {"official", "cadre", "edu", "auditor"}) {
    SignedIn who = SignIn(c, user);
    auto list = c.Get("/api/users", SessionHeaders(who));
    ASSERT_TRUE(list);
    EXPECT_EQ(list->status, 403) << user;
    const std::vector<std::pair<std::string, std::string>> writes = {
        {"/api/users", outsider.dump()},
        {"/api/users/other_cadre/disable", ""},
        {"/api/users/other_cadre/enable", ""},
        {"/api/users/other_cadre/password", R"({"password":"taken over!"})"}};
    for (const auto& [path, body] : writes) {
      auto r = c.Post(path, SessionHeaders(who, true), body, "application/json");
      ASSERT_TRUE(r) << path;
      EXPECT_EQ(r->status, 403) << user << " " << path << " " << Describe(r);
    }
  }
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM users WHERE name = '外人'"), 0);
  EXPECT_EQ(QueryInt(db_, "SELECT disabled FROM users WHERE name = 'other_cadre'"), 0);
  SignIn(c, "other_cadre");  // its password is unchanged

  // An admin of a county sees and manages only its county.
  nlohmann::json county_admin = {{"username", "county_admin"},
                                 {"role", "admin"},
                                 {"region", P().county},
                                 {"password", "a fine password"}};
  auto made =
      c.Post("/api/users", SessionHeaders(admin, true), county_admin.dump(), "application/json");
  ASSERT_TRUE(made && made->status == 201) << Describe(made);
  SignedIn county = SignIn(c, "county_admin", "a fine password");
  auto list = c.Get("/api/users", SessionHeaders(county));
  ASSERT_TRUE(list && list->status == 200) << Describe(list);
  std::set<std::string> names;
  const nlohmann::json users = Json(list)["users"];
  for (const auto& u : users) {
    names.insert(u["username"].get<std::string>());
    EXPECT_TRUE(u["region"].get<std::string>().starts_with(P().county.substr(0, 6))) << u.dump();
  }
  EXPECT_TRUE(names.contains("cadre"));
  EXPECT_TRUE(names.contains("county_admin"));
  EXPECT_FALSE(names.contains("admin"));
  EXPECT_FALSE(names.contains("other_cadre"));
  nlohmann::json elsewhere = {{"username", "外县干部"},
                              {"role", "cadre"},
                              {"region", P().other_village},
                              {"password", "a fine password"}};
  auto refused =
      c.Post("/api/users", SessionHeaders(county, true), elsewhere.dump(), "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403) << Describe(refused);
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM users WHERE name = '外县干部'"), 0);
  for (const char* path : {"/api/users/other_cadre/disable", "/api/users/admin/disable",
                           "/api/users/admin/password"}) {
    auto r = c.Post(path, SessionHeaders(county, true), R"({"password":"taken over!"})",
                    "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403) << path << " " << Describe(r);
  }
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM users WHERE disabled = 1"), 0);
  SignIn(c, "admin");  // its password is unchanged
  EXPECT_GE(Audited("action = 'denied' AND user_name = 'county_admin'"), 1);

  // No CSRF token, no write, even for the province's admin.
  for (const std::string path : {"/api/users", "/api/users/cadre/disable",
                                 "/api/users/cadre/enable", "/api/users/cadre/password"}) {
    auto r = c.Post(path, SessionHeaders(admin, false),
                    path == "/api/users" ? outsider.dump() : R"({"password":"taken over!"})",
                    "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403) << path << " " << Describe(r);
  }
  SignedIn cadre = SignIn(c, "cadre");
  auto own = c.Post("/api/me/password", SessionHeaders(cadre, false),
                    nlohmann::json{{"old_password", kPassword}, {"password", "taken over!"}}.dump(),
                    "application/json");
  ASSERT_TRUE(own);
  EXPECT_EQ(own->status, 403);
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM users WHERE name = '外人'"), 0);
  EXPECT_EQ(QueryInt(db_, "SELECT count(*) FROM users WHERE disabled = 1"), 0);
  SignIn(c, "cadre");  // its password is unchanged
}

// ---- bulk flag decisions -----------------------------------------------------------------

TEST_F(ServerWebAppTest, BulkFlagDecisionsAreAllOrNothing) {
  Start();
  auto c = server_->Client();
  // The official's county, and the other village's county.
  const auto own_ids =
      Query(db_, fmt::format("SELECT flag_id FROM flags WHERE village_code LIKE '{}%' AND state = "
                             "'open' ORDER BY flag_id LIMIT 3",
                             P().county.substr(0, 6)));
  const auto other_ids =
      Query(db_, fmt::format("SELECT flag_id FROM flags WHERE village_code LIKE '{}%' AND state = "
                             "'open' ORDER BY flag_id LIMIT 1",
                             P().other_village.substr(0, 6)));
  ASSERT_GE(own_ids.size(), 2u) << "the province needs open flags in the official's county";
  ASSERT_EQ(other_ids.size(), 1u);
  std::vector<int64_t> mine;
  for (const auto& r : own_ids) mine.push_back(std::stoll(r[0]));
  const int64_t other = std::stoll(other_ids[0][0]);
  const auto states = [&] { return Query(db_, "SELECT flag_id, state, note FROM flags"); };
  const auto before = states();

  SignedIn official = SignIn(c, "official");
  auto post = [&](const SignedIn& who, const nlohmann::json& body, bool csrf = true) {
    return c.Post("/api/flags/state", SessionHeaders(who, csrf), body.dump(), "application/json");
  };
  // One outside the caller's county: 403, audited, nothing changed.
  std::vector<int64_t> with_other = mine;
  with_other.push_back(other);
  auto outside = post(official, {{"ids", with_other}, {"state", "verified"}, {"note", "批量"}});
  ASSERT_TRUE(outside);
  EXPECT_EQ(outside->status, 403) << Describe(outside);
  EXPECT_EQ(states(), before);
  EXPECT_GE(Audited("action = 'denied' AND user_name = 'official'"), 1);
  // One unknown: 404, nothing changed.
  std::vector<int64_t> with_unknown = mine;
  with_unknown.push_back(99999999);
  auto unknown = post(official, {{"ids", with_unknown}, {"state", "verified"}});
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404) << Describe(unknown);
  EXPECT_NE(Json(unknown)["error"]["message"].get<std::string>().find("99999999"),
            std::string::npos);
  EXPECT_EQ(states(), before);
  // Bad bodies: 400.
  for (const nlohmann::json& body :
       {nlohmann::json{{"ids", nlohmann::json::array()}, {"state", "verified"}},
        nlohmann::json{{"ids", std::vector<int64_t>(1001, mine[0])}, {"state", "verified"}},
        nlohmann::json{{"ids", {"1"}}, {"state", "verified"}},
        nlohmann::json{{"ids", mine}, {"state", "closed"}},
        nlohmann::json{{"ids", mine}, {"state", "verified"}, {"extra", 1}},
        nlohmann::json{{"ids", mine}, {"state", "verified"}, {"note", std::string(4001, 'x')}}}) {
    auto r = post(official, body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << body.dump().substr(0, 100) << " " << Describe(r);
  }
  // Roles: a department officer or an auditor may not decide; no CSRF token, no write.
  for (const char* user : {"edu", "auditor"}) {
    auto r = post(SignIn(c, user), {{"ids", mine}, {"state", "verified"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403) << user;
  }
  auto no_csrf = post(official, {{"ids", mine}, {"state", "verified"}}, false);
  ASSERT_TRUE(no_csrf);
  EXPECT_EQ(no_csrf->status, 403);
  EXPECT_EQ(states(), before);

  // All in scope: every one decided, recorded and audited as the single-flag endpoint does.
  std::vector<int64_t> twice = mine;
  twice.push_back(mine[0]);
  auto done = post(official, {{"ids", twice}, {"state", "dismissed"}, {"note", "入户核实为误报"}});
  ASSERT_TRUE(done && done->status == 200) << Describe(done);
  EXPECT_EQ(Json(done)["updated"], static_cast<int64_t>(mine.size()));
  for (int64_t id : mine) {
    auto one = c.Get(fmt::format("/api/flags/{}", id), SessionHeaders(official));
    ASSERT_TRUE(one && one->status == 200);
    EXPECT_EQ(Json(one)["state"], "dismissed");
    EXPECT_EQ(Json(one)["decided_by"], "official");
    EXPECT_EQ(Json(one)["note"], "入户核实为误报");
    EXPECT_GE(Audited(fmt::format("action = 'write' AND object = 'flag {}' AND detail = "
                                  "'dismissed' AND user_name = 'official'",
                                  id)),
              1);
  }
  EXPECT_EQ(QueryInt(db_, fmt::format("SELECT count(*) FROM flags WHERE flag_id = {} AND state = "
                                      "'open'",
                                      other)),
            1);
}

// ---- Excel downloads ---------------------------------------------------------------------

TEST_F(ServerWebAppTest, FlagsDownloadAsXlsxMaskedAndScoped) {
  Start();
  auto c = server_->Client();
  SignedIn official = SignIn(c, "official");
  auto json = c.Get("/api/flags?state=open&limit=1", SessionHeaders(official));
  ASSERT_TRUE(json && json->status == 200) << Describe(json);
  const int64_t total = Json(json)["total"];
  ASSERT_GT(total, 0);
  auto xlsx = c.Get("/api/flags?state=open&format=xlsx", SessionHeaders(official));
  ASSERT_TRUE(xlsx && xlsx->status == 200) << Describe(xlsx);
  EXPECT_EQ(xlsx->get_header_value("Content-Type"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
  EXPECT_TRUE(xlsx->get_header_value("Content-Disposition").starts_with("attachment;"));
  const auto rows = ReadXlsx(xlsx->body);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0][0], "疑点编号");
  const auto& header = rows[0];
  const size_t id_column = std::find(header.begin(), header.end(), "身份证号") - header.begin();
  ASSERT_LT(id_column, header.size());
  EXPECT_EQ(static_cast<int64_t>(rows.size()) - 1, total);
  // Every flag of the official's county, each the store's, ID numbers masked.
  const std::string county_prefix = P().county.substr(0, 6);
  std::set<std::string> ids;
  for (size_t i = 1; i < rows.size(); ++i) {
    ids.insert(rows[i][0]);
    if (id_column < rows[i].size() && !rows[i][id_column].empty()) {
      EXPECT_NE(rows[i][id_column].find('*'), std::string::npos) << rows[i][id_column];
    }
  }
  const auto expected = Query(
      db_, fmt::format("SELECT flag_id FROM flags WHERE state = 'open' AND village_code LIKE '{}%'",
                       county_prefix));
  std::set<std::string> expected_ids;
  for (const auto& r : expected) expected_ids.insert(r[0]);
  EXPECT_EQ(ids, expected_ids);
  // Outside the caller's region: 403, as the JSON list.
  auto outside =
      c.Get("/api/flags?format=xlsx&region=" + P().other_village, SessionHeaders(official));
  ASSERT_TRUE(outside);
  EXPECT_EQ(outside->status, 403);
  auto bad = c.Get("/api/flags?format=xlsx&state=bogus", SessionHeaders(official));
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_GE(Audited("action = 'export' AND user_name = 'official' AND object LIKE 'flags%'"), 1);
}

TEST_F(ServerWebAppTest, QueryDownloadsAsXlsxWithLabels) {
  Start();
  auto c = server_->Client();
  SignedIn admin = SignIn(c, "admin");
  const std::string q = "/api/query?measures=households,persons&by=county,status";
  auto json = c.Get(q, SessionHeaders(admin));
  ASSERT_TRUE(json && json->status == 200) << Describe(json);
  auto xlsx = c.Get(q + "&format=xlsx", SessionHeaders(admin));
  ASSERT_TRUE(xlsx && xlsx->status == 200) << Describe(xlsx);
  EXPECT_TRUE(xlsx->get_header_value("Content-Disposition").starts_with("attachment;"));
  const auto rows = ReadXlsx(xlsx->body);
  // The header row: dimension and measure titles.
  size_t header_row = rows.size();
  for (size_t i = 0; i < rows.size(); ++i)
    if (std::find(rows[i].begin(), rows[i].end(), "户数") != rows[i].end()) header_row = i;
  ASSERT_LT(header_row, rows.size()) << "no header row with 户数";
  const auto& header = rows[header_row];
  ASSERT_EQ(header.size(), 4u);
  const size_t households = std::find(header.begin(), header.end(), "户数") - header.begin();
  // Each JSON row is a sheet row: county and status by label, the counts as numbers.
  const nlohmann::json answer = Json(json)["rows"];
  ASSERT_FALSE(answer.empty());
  std::set<std::string> sheet_rows;
  for (size_t i = header_row + 1; i < rows.size(); ++i) {
    if (rows[i].size() < 4) continue;
    sheet_rows.insert(fmt::format("{}|{}|{}", rows[i][0], rows[i][1], rows[i][households]));
  }
  for (const auto& row : answer) {
    const std::string key =
        fmt::format("{}|{}|{}", row["county_label"].get<std::string>(),
                    row["status_label"].get<std::string>(), row["households"].get<int64_t>());
    EXPECT_TRUE(sheet_rows.contains(key)) << key;
  }
  // The cadre's download holds its village only, as the JSON answer does.
  SignedIn cadre = SignIn(c, "cadre");
  auto own_json = c.Get("/api/query?measures=households", SessionHeaders(cadre));
  auto own = c.Get("/api/query?measures=households&format=xlsx", SessionHeaders(cadre));
  ASSERT_TRUE(own && own->status == 200 && own_json && own_json->status == 200);
  const auto own_rows = ReadXlsx(own->body);
  ASSERT_FALSE(own_rows.empty());
  EXPECT_EQ(own_rows.back().back(),
            std::to_string(Json(own_json)["rows"][0]["households"].get<int64_t>()));
  auto bad = c.Get("/api/query?measures=nope&format=xlsx", SessionHeaders(admin));
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
}

}  // namespace
}  // namespace fupin::test
