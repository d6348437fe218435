// The server as its users use it: the real `fupin serve` over a real SQLite province, spoken
// to over HTTP. Each role's reads and writes, scope, masking, jobs, the changes feed, the
// audit log, graceful shutdown. Attacks are in server_attack_test.cc.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "server_harness.h"
#include "test_files.h"

namespace fupin::test {
namespace {

namespace fs = std::filesystem;

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempDir();
    province_ = new Province(MakeProvince(root_->path() / "province"));
  }
  static void TearDownTestSuite() {
    delete province_;
    delete root_;
  }
  // A fresh copy of the province and a server on it.
  void SetUp() override {
    dir_ = root_->path() / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(dir_);
    db_ = dir_ / "f.db";
    CopyDatabase(*province_, db_);
    server_ = std::make_unique<ServerProcess>(dir_, db_);
  }

  const Province& P() const { return *province_; }
  // The job's state once it no longer runs (at most a minute).
  static nlohmann::json WaitForJob(httplib::Client& client, const SignedIn& who, int64_t job) {
    nlohmann::json state;
    for (int i = 0; i < 600; ++i) {
      auto j = client.Get(fmt::format("/api/jobs/{}", job), SessionHeaders(who));
      if (!j || j->status != 200) return {{"state", "unreadable"}};
      state = Json(j);
      if (state["state"] != "running") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return state;
  }
  int64_t Households(const std::string& where_sql) {
    return QueryInt(db_, "SELECT count(*) FROM households WHERE " + where_sql);
  }
  // Sum of a measure over the rows of /api/query.
  static int64_t Sum(const nlohmann::json& answer, const std::string& measure) {
    int64_t total = 0;
    for (const auto& row : answer["rows"]) total += row.value(measure, int64_t{0});
    return total;
  }

  static TempDir* root_;
  static Province* province_;
  fs::path dir_, db_;
  std::unique_ptr<ServerProcess> server_;
};
TempDir* ServerTest::root_ = nullptr;
Province* ServerTest::province_ = nullptr;

TEST_F(ServerTest, HealthMetricsAndOpenApiNeedNoSession) {
  auto client = server_->Client();
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health) << Describe(health);
  EXPECT_EQ(health->status, 200);
  auto openapi = client.Get("/api/openapi.json");
  ASSERT_TRUE(openapi && openapi->status == 200) << Describe(openapi);
  EXPECT_EQ(Json(openapi)["openapi"], "3.1.0");
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics && metrics->status == 200) << Describe(metrics);
  EXPECT_NE(metrics->body.find("fupin_http_requests_total"), std::string::npos);
  EXPECT_NE(metrics->body.find("fupin_http_request_duration_seconds_bucket"), std::string::npos);
  // Everything else needs a session.
  auto me = client.Get("/api/me");
  ASSERT_TRUE(me);
  EXPECT_EQ(me->status, 401);
  EXPECT_EQ(Json(me)["error"]["code"], "unauthenticated");
}

TEST_F(ServerTest, LoginMeLogout) {
  auto client = server_->Client();
  SignedIn cadre = SignIn(client, "cadre");
  auto me = client.Get("/api/me", SessionHeaders(cadre));
  ASSERT_TRUE(me && me->status == 200) << Describe(me);
  EXPECT_EQ(Json(me)["role"], "cadre");
  EXPECT_EQ(Json(me)["region"], P().village);
  auto out = client.Post("/api/logout", SessionHeaders(cadre, true), "", "application/json");
  ASSERT_TRUE(out && out->status == 200) << Describe(out);
  auto again = client.Get("/api/me", SessionHeaders(cadre));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 401);
  // A wrong password says as little as an unknown user.
  nlohmann::json bad = {{"username", "cadre"}, {"password", "wrong password"}};
  auto refused = client.Post("/api/login", bad.dump(), "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  // In the caller's language only: Chinese by default, English on request.
  EXPECT_EQ(Json(refused)["error"]["message"], "用户名或密码错误");
  auto refused_en =
      client.Post("/api/login", {{"Accept-Language", "en"}}, bad.dump(), "application/json");
  ASSERT_TRUE(refused_en);
  EXPECT_EQ(Json(refused_en)["error"]["message"], "wrong user name or password");
}

TEST_F(ServerTest, QueryIsScopedToTheCallersRegion) {
  auto client = server_->Client();
  SignedIn admin = SignIn(client, "admin");
  SignedIn official = SignIn(client, "official");
  const std::string q = "/api/query?measures=households,persons&by=status";
  auto all = client.Get(q, SessionHeaders(admin));
  ASSERT_TRUE(all && all->status == 200) << Describe(all);
  EXPECT_EQ(Sum(Json(all), "households"), Households("1"));
  auto county = client.Get(q, SessionHeaders(official));
  ASSERT_TRUE(county && county->status == 200) << Describe(county);
  const int64_t in_county =
      Households(fmt::format("substr(village_code, 1, 6) = '{}'", P().county.substr(0, 6)));
  EXPECT_EQ(Sum(Json(county), "households"), in_county);
  EXPECT_LT(in_county, Sum(Json(all), "households"));
  // Labels as well as codes; English on request.
  const auto rows = Json(all)["rows"];
  ASSERT_FALSE(rows.empty());
  EXPECT_TRUE(rows[0].contains("status_label"));
  auto en = client.Get(q + "&where=status=nonsense",
                       {{"Cookie", admin.cookie}, {"Accept-Language", "en-US,en;q=0.9"}});
  ASSERT_TRUE(en);
  EXPECT_EQ(en->status, 400);
  EXPECT_NE(Json(en)["error"]["message"].get<std::string>().find("nonsense"), std::string::npos);
}

// The answer cache of /api/query (server/response_cache.h): the same question asked by
// callers of different regions, roles and languages, again and again, gets each caller's own
// answer every time; an edit shows in the very next answer.
TEST_F(ServerTest, CachedQueryAnswersKeepEachCallersScopeAndFollowEdits) {
  auto client = server_->Client();
  SignedIn admin = SignIn(client, "admin");
  SignedIn official = SignIn(client, "official");
  SignedIn cadre = SignIn(client, "cadre");
  SignedIn other_cadre = SignIn(client, "other_cadre");
  const std::string q = "/api/query?measures=households,persons&by=village,status";
  struct Caller {
    const SignedIn* who;
    int64_t households;
    std::string village;  // every row's village, when one
  };
  const std::vector<Caller> callers = {
      {&admin, Households("1")},
      {&official,
       Households(fmt::format("substr(village_code, 1, 6) = '{}'", P().county.substr(0, 6)))},
      {&cadre, Households(fmt::format("village_code = '{}'", P().village)), P().village},
      {&other_cadre, Households(fmt::format("village_code = '{}'", P().other_village)),
       P().other_village},
  };
  std::vector<std::string> first(callers.size());
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < callers.size(); ++i) {
      auto answer = client.Get(q, SessionHeaders(*callers[i].who));
      ASSERT_TRUE(answer && answer->status == 200) << Describe(answer);
      EXPECT_EQ(Sum(Json(answer), "households"), callers[i].households)
          << "caller " << i << ", round " << round;
      if (!callers[i].village.empty()) {
        const nlohmann::json rows = Json(answer)["rows"];  // kept: a temporary would dangle
        for (const auto& row : rows)
          EXPECT_EQ(row["village"], callers[i].village) << "caller " << i << ", round " << round;
      }
      if (round == 0) first[i] = answer->body;
      EXPECT_EQ(answer->body, first[i]) << "caller " << i << ", round " << round;
    }
  }
  EXPECT_NE(first[2], first[3]);  // two villages, two answers
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics && metrics->status == 200);
  EXPECT_NE(metrics->body.find("fupin_query_cache_hits"), std::string::npos);
  // The same question in English: its own answer (labels in English), not the Chinese one.
  auto en = client.Get(q, {{"Cookie", admin.cookie}, {"Accept-Language", "en"}});
  ASSERT_TRUE(en && en->status == 200) << Describe(en);
  EXPECT_NE(en->body, first[0]);
  EXPECT_EQ(Sum(Json(en), "households"), callers[0].households);
  auto zh = client.Get(q, SessionHeaders(admin));
  ASSERT_TRUE(zh && zh->status == 200) << Describe(zh);
  EXPECT_EQ(zh->body, first[0]);

  // An edit: the cadre's cached answer moves at once (the edit's delta is in the snapshot
  // before the PATCH is answered).
  const std::string income_q =
      fmt::format("/api/query?measures=income_wage&where=village={}", P().village);
  auto income_before = client.Get(income_q, SessionHeaders(cadre));
  ASSERT_TRUE(income_before && income_before->status == 200) << Describe(income_before);
  const double before = Json(income_before)["rows"][0].value("income_wage", 0.0);
  auto again = client.Get(income_q, SessionHeaders(cadre));
  ASSERT_TRUE(again && again->status == 200);
  EXPECT_EQ(again->body, income_before->body);
  auto household = client.Get("/api/households/" + P().household, SessionHeaders(cadre));
  ASSERT_TRUE(household && household->status == 200) << Describe(household);
  const double old_wage = QueryInt(db_, fmt::format("SELECT coalesce(income_wage_fen, 0) FROM "
                                                    "households WHERE household_id = '{}'",
                                                    P().household)) /
                          100.0;
  nlohmann::json edit = {{"version", Json(household)["version"]},
                         {"reason", "入户核实"},
                         {"fields", {{"income_wage", fmt::format("{:.2f}", old_wage + 1000)}}}};
  auto patched = client.Patch("/api/households/" + P().household, SessionHeaders(cadre, true),
                              edit.dump(), "application/json");
  ASSERT_TRUE(patched && patched->status == 200) << Describe(patched);
  auto income_after = client.Get(income_q, SessionHeaders(cadre));
  ASSERT_TRUE(income_after && income_after->status == 200) << Describe(income_after);
  EXPECT_NEAR(Json(income_after)["rows"][0].value("income_wage", 0.0), before + 1000, 0.01);
  // The other village's answer, cached before the edit, is the same as ever.
  auto other = client.Get(q, SessionHeaders(other_cadre));
  ASSERT_TRUE(other && other->status == 200);
  EXPECT_EQ(other->body, first[3]);
}

TEST_F(ServerTest, RegionsAndPortraitsRespectScopeAndMasking) {
  auto client = server_->Client();
  SignedIn official = SignIn(client, "official");
  auto own = client.Get("/api/regions/" + P().county, SessionHeaders(official));
  ASSERT_TRUE(own && own->status == 200) << Describe(own);
  EXPECT_FALSE(Json(own)["children"].empty());
  // Its ancestors, province first, with their names (breadcrumbs on a page opened directly).
  const auto ancestors = Json(own)["ancestors"];
  ASSERT_EQ(ancestors.size(), 2u) << ancestors.dump();
  EXPECT_EQ(ancestors[0]["code"], "520000000000");
  EXPECT_EQ(ancestors[0]["name"], "贵州省");
  EXPECT_EQ(ancestors[1]["code"], P().county.substr(0, 4) + "00000000");
  EXPECT_FALSE(ancestors[1]["name"].get<std::string>().empty());
  auto other = client.Get("/api/regions/" + P().other_village.substr(0, 6) + "000000",
                          SessionHeaders(official));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 403);
  auto village = client.Get("/api/villages/" + P().village + "/portrait", SessionHeaders(official));
  ASSERT_TRUE(village && village->status == 200) << Describe(village);
  EXPECT_EQ(Json(village)["village"]["code"], P().village);
  EXPECT_EQ(Json(village)["village"]["province"], "贵州省");
  EXPECT_FALSE(Json(village)["village"]["prefecture"].get<std::string>().empty());

  auto household = client.Get("/api/households/" + P().household, SessionHeaders(official));
  ASSERT_TRUE(household && household->status == 200) << Describe(household);
  const std::string head = Json(household)["household"]["head_id_number"];
  EXPECT_NE(head.find("****"), std::string::npos) << head;
  const std::string stored =
      QueryInt(db_, "SELECT 1")
          ? Query(db_,
                  fmt::format("SELECT head_id_number FROM households WHERE household_id = '{}'",
                              P().household))[0][0]
          : "";
  EXPECT_EQ(household->body.find(stored), std::string::npos) << "the full ID leaked";
  // Unmasking needs a reason, and is audited.
  auto no_reason =
      client.Get("/api/households/" + P().household + "?unmask=1", SessionHeaders(official));
  ASSERT_TRUE(no_reason);
  EXPECT_EQ(no_reason->status, 400);
  auto unmasked = client.Get("/api/households/" + P().household + "?unmask=1&reason=visit",
                             SessionHeaders(official));
  ASSERT_TRUE(unmasked && unmasked->status == 200) << Describe(unmasked);
  EXPECT_EQ(Json(unmasked)["household"]["head_id_number"], stored);
  SignedIn auditor = SignIn(client, "auditor");
  auto audit = client.Get("/api/audit?action=unmask", SessionHeaders(auditor));
  ASSERT_TRUE(audit && audit->status == 200) << Describe(audit);
  ASSERT_FALSE(Json(audit)["entries"].empty());
  EXPECT_EQ(Json(audit)["entries"].back()["user"], "official");
  // A department officer may not read a household's portrait.
  SignedIn edu = SignIn(client, "edu");
  auto denied = client.Get("/api/households/" + P().household, SessionHeaders(edu));
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403);
}

// The overview's panels (issue 15): the region's key figures equal the query model's answers
// over the same region; each child is placed at the mean GPS of its households (checked
// against SQL); the village portrait carries the village's attributes and each household's
// point.
TEST_F(ServerTest, RegionSummaryPointsAndVillageAttributesForThePanels) {
  auto client = server_->Client();
  SignedIn admin = SignIn(client, "admin");
  for (const std::string& code : {std::string("520000000000"), P().county}) {
    auto region = client.Get("/api/regions/" + code, SessionHeaders(admin));
    ASSERT_TRUE(region && region->status == 200) << Describe(region);
    const nlohmann::json r = Json(region);
    const nlohmann::json& summary = r["summary"];
    const std::string where = code == "520000000000" ? "" : "&where=county=" + code.substr(0, 6);
    auto q = client.Get(
        "/api/query?measures=households,persons,poor_persons,exited_persons,"
        "returned_persons,monitored_persons,incidence" +
            where,
        SessionHeaders(admin));
    ASSERT_TRUE(q && q->status == 200) << Describe(q);
    const nlohmann::json row = Json(q)["rows"].at(0);
    for (const char* m : {"households", "persons", "poor_persons", "exited_persons",
                          "returned_persons", "monitored_persons"})
      EXPECT_EQ(summary[m].get<int64_t>(), row[m].get<int64_t>()) << code << " " << m;
    EXPECT_NEAR(summary["incidence"].get<double>(), row["incidence"].get<double>(), 1e-4);
    auto flags = client.Get("/api/query?measures=flags" + where, SessionHeaders(admin));
    ASSERT_TRUE(flags && flags->status == 200) << Describe(flags);
    EXPECT_EQ(summary["open_flags"].get<int64_t>(), Sum(Json(flags), "flags"));
    // Independently: households from SQL, monitored persons from the flags table.
    const std::string in = code == "520000000000" ? "1"
                                                  : fmt::format("substr(village_code, 1, 6) = '{}'",
                                                                code.substr(0, 6));
    EXPECT_EQ(summary["households"].get<int64_t>(), Households(in));
    const int64_t monitored = QueryInt(
        db_, fmt::format("SELECT count(*) FROM members m JOIN households h USING (household_id) "
                         "WHERE m.left_reason IS NULL AND {} AND household_id IN (SELECT "
                         "household_id FROM flags WHERE category = 'risk' AND state IN "
                         "('open', 'verified'))",
                         in));
    EXPECT_EQ(summary["monitored_persons"].get<int64_t>(), monitored);
    EXPECT_GT(monitored, 0) << "the generated province has households at risk";
    // Children's points: the mean of their households' GPS, 6 decimals.
    ASSERT_FALSE(r["children"].empty());
    int placed = 0;
    for (const auto& child : r["children"]) {
      const std::string c = child["code"];
      size_t digits = c.find_last_not_of('0') + 1;
      digits = digits <= 4 ? 4 : digits <= 6 ? 6 : digits <= 9 ? 9 : 12;
      const std::string prefix = c.substr(0, digits);
      const int64_t with_gps = QueryInt(
          db_, fmt::format("SELECT count(*) FROM households WHERE village_code LIKE '{}%' AND "
                           "lat IS NOT NULL AND lon IS NOT NULL",
                           prefix));
      if (with_gps == 0) {
        EXPECT_TRUE(child["lat"].is_null()) << c;
        continue;
      }
      ++placed;
      const int64_t lat_e6 = QueryInt(
          db_, fmt::format("SELECT CAST(round(avg(round(lat * 1e6))) AS INTEGER) FROM households "
                           "WHERE village_code LIKE '{}%' AND lat IS NOT NULL AND lon IS NOT NULL",
                           prefix));
      ASSERT_TRUE(child["lat"].is_number()) << c;
      EXPECT_NEAR(child["lat"].get<double>(), lat_e6 / 1e6, 1.5e-6) << c;
      EXPECT_GT(child["lon"].get<double>(), 100);  // Guizhou lies near 103-110 E
      EXPECT_LT(child["lon"].get<double>(), 112);
    }
    EXPECT_GT(placed, 0);
  }
  // The village: attributes as imported, households with their points.
  auto village = client.Get("/api/villages/" + P().village + "/portrait", SessionHeaders(admin));
  ASSERT_TRUE(village && village->status == 200) << Describe(village);
  const nlohmann::json v = Json(village);
  const nlohmann::json& a = v["attributes"];
  ASSERT_TRUE(a.is_object()) << v.dump();
  EXPECT_EQ(a["terrain"]["code"].get<std::string>(),
            std::to_string(QueryInt(
                db_, "SELECT terrain FROM villages WHERE village_code = '" + P().village + "'")));
  EXPECT_FALSE(a["terrain"]["label"].get<std::string>().empty());
  EXPECT_FALSE(a["industries"].empty());
  EXPECT_EQ(
      a["school"].get<bool>(),
      QueryInt(db_, "SELECT school FROM villages WHERE village_code = '" + P().village + "'") == 1);
  EXPECT_EQ(a["collective_income"].get<double>() * 100,
            static_cast<double>(QueryInt(db_,
                                         "SELECT collective_income_fen FROM villages WHERE "
                                         "village_code = '" +
                                             P().village + "'")));
  ASSERT_FALSE(v["households"].empty());
  for (const auto& h : v["households"]) {
    const int64_t has = QueryInt(db_,
                                 "SELECT lat IS NOT NULL FROM households WHERE household_id "
                                 "= '" +
                                     h["household_id"].get<std::string>() + "'");
    EXPECT_EQ(h["lat"].is_number(), has == 1);
  }
}

// The overview's other panels through /api/query at the HTTP level: causes, status by year,
// the income distribution against the line, FGT and Alkire–Foster by county in a prefecture.
TEST_F(ServerTest, OverviewPanelsAnswerThroughTheQueryApi) {
  auto client = server_->Client();
  SignedIn admin = SignIn(client, "admin");
  auto get = [&](const std::string& q) {
    auto r = client.Get(q, SessionHeaders(admin));
    EXPECT_TRUE(r && r->status == 200) << q << " " << Describe(r);
    return r && r->status == 200 ? Json(r) : nlohmann::json::object();
  };
  const int64_t all = Households("1");
  const auto causes = get("/api/query?measures=households&by=primary_cause");
  EXPECT_EQ(Sum(causes, "households"), all);
  EXPECT_TRUE(causes["rows"].at(0).contains("primary_cause_label"));
  const auto by_year = get("/api/query?measures=households,persons&by=exit_year,status");
  EXPECT_EQ(Sum(by_year, "households"), all);
  const auto registered = get("/api/query?measures=households&by=registered_year,status");
  EXPECT_EQ(Sum(registered, "households"), all);
  // Income bands against a line of 4,000 yuan, in band order, checked against SQL.
  const auto bands = get("/api/query?measures=households&by=income_band&line=4000");
  ASSERT_FALSE(bands["rows"].empty());
  EXPECT_EQ(Sum(bands, "households"), all);
  const int64_t below_half = QueryInt(
      db_,
      "SELECT count(*) FROM households WHERE members > 0 AND (coalesce(income_wage_fen, 0) + "
      "coalesce(income_business_fen, 0) + coalesce(income_property_fen, 0) + "
      "coalesce(income_transfer_fen, 0)) / 100.0 / members < 2000 AND (income_wage_fen IS "
      "NOT NULL OR income_business_fen IS NOT NULL OR income_property_fen IS NOT NULL OR "
      "income_transfer_fen IS NOT NULL)");
  int64_t got_below_half = 0;
  std::vector<std::string> order;
  for (const auto& row : bands["rows"]) {
    order.push_back(row["income_band"]);
    if (row["income_band"] == "<0.5") {
      got_below_half = row["households"];
      EXPECT_EQ(row["income_band_label"], "低于0.5倍");
    }
  }
  EXPECT_EQ(got_below_half, below_half);
  const std::vector<std::string> band_order = {"", "<0.5", "0.5-1", "1-1.5", "1.5-2", "2-3", ">=3"};
  auto pos = [&](const std::string& b) {
    return std::find(band_order.begin(), band_order.end(), b) - band_order.begin();
  };
  for (size_t i = 1; i < order.size(); ++i) EXPECT_LT(pos(order[i - 1]), pos(order[i]));
  // A band as a filter.
  const auto filtered = get("/api/query?measures=households&line=4000&where=income_band=%3C0.5");
  EXPECT_EQ(Sum(filtered, "households"), below_half);
  // FGT and Alkire–Foster by county within one prefecture.
  const std::string prefecture = P().county.substr(0, 4);
  const auto poverty =
      get("/api/query?measures=fgt_p0,fgt_p1,fgt_p2,mpi_h,mpi_a,mpi_m0&by=county"
          "&where=prefecture=" +
          prefecture + "&line=4000");
  ASSERT_FALSE(poverty["rows"].empty());
  for (const auto& row : poverty["rows"]) {
    EXPECT_EQ(row["county"].get<std::string>().substr(0, 4), prefecture);
    if (row["fgt_p0"].is_null()) continue;
    EXPECT_GE(row["fgt_p0"].get<double>(), row["fgt_p1"].get<double>());
    EXPECT_GE(row["fgt_p1"].get<double>(), row["fgt_p2"].get<double>());
    if (!row["mpi_m0"].is_null() && !row["mpi_a"].is_null()) {
      EXPECT_NEAR(row["mpi_m0"].get<double>(),
                  row["mpi_h"].get<double>() * row["mpi_a"].get<double>(), 2e-6);
    }
  }
}

TEST_F(ServerTest, CadreEditMovesTheAnswerAndTheFeed) {
  auto client = server_->Client();
  SignedIn cadre = SignIn(client, "cadre");
  auto before = client.Get("/api/households/" + P().household, SessionHeaders(cadre));
  ASSERT_TRUE(before && before->status == 200) << Describe(before);
  const std::string q =
      fmt::format("/api/query?measures=households&where=village={}&by=status", P().village);
  auto counts = client.Get(q, SessionHeaders(cadre));
  ASSERT_TRUE(counts && counts->status == 200) << Describe(counts);
  int64_t cursor = 0;
  for (;;) {  // to the end of the feed
    auto page =
        client.Get(fmt::format("/api/changes?since={}&limit=1000", cursor), SessionHeaders(cadre));
    ASSERT_TRUE(page && page->status == 200) << Describe(page);
    if (Json(page)["changes"].empty()) break;
    cursor = Json(page)["next_cursor"];
  }

  const int64_t version = Json(before)["version"];
  EXPECT_EQ(version, QueryInt(db_, fmt::format("SELECT version FROM households WHERE "
                                               "household_id = '{}'",
                                               P().household)));
  nlohmann::json edit = {{"version", version},
                         {"reason", "入户核实：务工收入增加"},
                         {"fields", {{"income_wage", "88888.00"}}}};
  auto patched = client.Patch("/api/households/" + P().household, SessionHeaders(cadre, true),
                              edit.dump(), "application/json");
  ASSERT_TRUE(patched && patched->status == 200) << Describe(patched);
  EXPECT_GT(Json(patched)["version"].get<int64_t>(), version);
  // The same version again is stale: 409, nothing changes.
  edit["fields"]["income_wage"] = "1.00";
  auto stale = client.Patch("/api/households/" + P().household, SessionHeaders(cadre, true),
                            edit.dump(), "application/json");
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 409) << Describe(stale);
  EXPECT_EQ(QueryInt(db_, fmt::format("SELECT income_wage_fen FROM households WHERE "
                                      "household_id = '{}'",
                                      P().household)),
            8888800);
  // The answer moves within a second: the village's income sum.
  const std::string income_q =
      fmt::format("/api/query?measures=income_wage&where=village={}", P().village);
  double seen = 0;
  for (int i = 0; i < 20; ++i) {
    auto income = client.Get(income_q, SessionHeaders(cadre));
    ASSERT_TRUE(income && income->status == 200) << Describe(income);
    seen = Json(income)["rows"][0].value("income_wage", 0.0);
    if (seen >= 88888) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_GE(seen, 88888);
  // The feed has the change once, with who and why.
  auto feed = client.Get(fmt::format("/api/changes?since={}", cursor), SessionHeaders(cadre));
  ASSERT_TRUE(feed && feed->status == 200) << Describe(feed);
  int wage_changes = 0;
  const nlohmann::json feed_json = Json(feed);
  for (const auto& c : feed_json["changes"])
    if (c["field"].get<std::string>().starts_with("income_wage")) {
      ++wage_changes;
      EXPECT_EQ(c["user"], "cadre");
      EXPECT_EQ(c["reason"], "入户核实：务工收入增加");
    }
  EXPECT_EQ(wage_changes, 1) << feed->body;
}

TEST_F(ServerTest, FlagsAreListedInScopeAndDecided) {
  auto client = server_->Client();
  SignedIn admin = SignIn(client, "admin");
  auto all = client.Get("/api/flags?limit=5", SessionHeaders(admin));
  ASSERT_TRUE(all && all->status == 200) << Describe(all);
  const int64_t total = Json(all)["total"];
  EXPECT_EQ(total, QueryInt(db_, "SELECT count(*) FROM flags"));
  ASSERT_FALSE(Json(all)["flags"].empty());
  const auto flag = Json(all)["flags"][0];
  const int64_t id = flag["id"];
  auto decided = client.Post(fmt::format("/api/flags/{}/state", id), SessionHeaders(admin, true),
                             R"({"state":"dismissed","note":"核实为误报，户主电话13812345678"})",
                             "application/json");
  ASSERT_TRUE(decided && decided->status == 200) << Describe(decided);
  auto one = client.Get(fmt::format("/api/flags/{}", id), SessionHeaders(admin));
  ASSERT_TRUE(one && one->status == 200) << Describe(one);
  EXPECT_EQ(Json(one)["state"], "dismissed");
  EXPECT_EQ(Json(one)["decided_by"], "admin");
  // A phone number typed into a note is shown masked, as ID numbers are.
  EXPECT_EQ(Json(one)["note"], "核实为误报，户主电话138****5678");
  // A cadre sees only their village's flags.
  SignedIn cadre = SignIn(client, "cadre");
  auto own = client.Get("/api/flags?limit=1000", SessionHeaders(cadre));
  ASSERT_TRUE(own && own->status == 200) << Describe(own);
  const nlohmann::json own_json = Json(own);
  for (const auto& f : own_json["flags"]) EXPECT_EQ(f["village_code"], P().village);
}

TEST_F(ServerTest, ReportsDownload) {
  auto client = server_->Client();
  SignedIn official = SignIn(client, "official");
  auto xlsx = client.Get("/api/reports/registry?format=xlsx", SessionHeaders(official));
  ASSERT_TRUE(xlsx && xlsx->status == 200) << Describe(xlsx);
  EXPECT_EQ(xlsx->body.substr(0, 2), "PK");
  auto pdf = client.Get("/api/reports/registry?format=pdf", SessionHeaders(official));
  ASSERT_TRUE(pdf && pdf->status == 200) << Describe(pdf);
  EXPECT_EQ(pdf->body.substr(0, 5), "%PDF-");
  auto outside =
      client.Get("/api/reports/registry?region=" + P().other_village, SessionHeaders(official));
  ASSERT_TRUE(outside);
  EXPECT_EQ(outside->status, 403);
}

TEST_F(ServerTest, ImportJobWithProgressAndIssueReport) {
  auto client = server_->Client();
  SignedIn edu = SignIn(client, "edu");
  const std::string csv = ReadFile(root_->path() / "province" / "batch" / "edu_students.csv");
  ASSERT_FALSE(csv.empty());
  // One bad row appended: the job reports it and keeps the good ones.
  const std::string bad = csv + "NOT-AN-ID,张三,1,2010-01-01,520201017203,某小学,2,2019,1000\n";
  httplib::MultipartFormDataItems items = {{"file", bad, "edu_students.csv", "text/csv"}};
  auto started = client.Post("/api/imports", SessionHeaders(edu, true), items);
  ASSERT_TRUE(started && started->status == 202) << Describe(started);
  const int64_t job = Json(started)["id"];
  const nlohmann::json state = WaitForJob(client, edu, job);
  ASSERT_EQ(state["state"], "succeeded") << state.dump();
  const int64_t batch = state["result"]["batch_id"];
  const auto& file = state["result"]["files"][0];
  EXPECT_GE(file["rows_rejected"].get<int64_t>() + file["warnings"].get<int64_t>(), 1) << file;
  auto issues = client.Get(fmt::format("/api/imports/{}/issues", batch), SessionHeaders(edu));
  ASSERT_TRUE(issues && issues->status == 200) << Describe(issues);
  EXPECT_GE(Json(issues)["total"].get<int64_t>(), 1);
  // The import history shows the batch to the department, with its own file only.
  auto history = client.Get("/api/imports", SessionHeaders(edu));
  ASSERT_TRUE(history && history->status == 200) << Describe(history);
  const nlohmann::json batches = Json(history)["batches"];
  ASSERT_FALSE(batches.empty());
  EXPECT_EQ(batches[0]["batch_id"], batch);
  EXPECT_EQ(batches[0]["user"], "edu");
  for (const auto& b : batches)
    for (const auto& f : b["files"]) EXPECT_EQ(f["dataset"], "edu_students");
  // A department may not send another department's data set.
  httplib::MultipartFormDataItems other = {{"file", "x", "health_enrollment.csv", "text/csv"}};
  auto refused = client.Post("/api/imports", SessionHeaders(edu, true), other);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  // Its links: which of its rows are registered people.
  auto links = client.Get("/api/links?dataset=edu_students&limit=5", SessionHeaders(edu));
  ASSERT_TRUE(links && links->status == 200) << Describe(links);
  EXPECT_GT(Json(links)["total"].get<int64_t>(), 0);
  auto not_theirs = client.Get("/api/links?dataset=health_enrollment", SessionHeaders(edu));
  ASSERT_TRUE(not_theirs);
  EXPECT_EQ(not_theirs->status, 403);
}

// Imports must not stop the platform: while an import job is being staged, a cadre's edit
// goes through (the job still running before and after it) and reads answer.
TEST_F(ServerTest, EditsGoThroughWhileAnImportJobRuns) {
  auto client = server_->Client();
  SignedIn admin = SignIn(client, "admin");
  SignedIn cadre = SignIn(client, "cadre");
  const fs::path big = dir_ / "big";
  FupinRun gen = RunFupin(dir_, {"gen", "--scale", "0.02", "--seed", "5", "--out", big.string()});
  ASSERT_EQ(gen.exit_code, 0) << gen.Show();
  httplib::MultipartFormDataItems items;
  for (const char* name : {"health_enrollment.csv", "vehicles.csv", "hr_employment.csv",
                           "health_claims.csv", "business.csv"})
    items.push_back({"file", ReadFile(big / name), name, "text/csv"});
  auto started = client.Post("/api/imports", SessionHeaders(admin, true), items);
  ASSERT_TRUE(started && started->status == 202) << Describe(started);
  const int64_t job = Json(started)["id"];
  auto running = [&] {
    auto j = client.Get(fmt::format("/api/jobs/{}", job), SessionHeaders(admin));
    return j && j->status == 200 && Json(j)["state"] == "running";
  };
  // An edit overlapped the batch when it was accepted while the batch was staged (its stage
  // tables there, it not yet published).
  const int64_t batches = QueryInt(db_, "SELECT count(*) FROM import_batches");
  auto staging = [&] {
    return QueryInt(db_,
                    "SELECT count(*) FROM sqlite_master WHERE name LIKE 'stage\\_\\_%' "
                    "ESCAPE '\\'") > 0 &&
           QueryInt(db_, "SELECT count(*) FROM import_batches") == batches;
  };
  int overlapped = 0, edits = 0;
  while (running() && edits < 200) {
    auto before = client.Get("/api/households/" + P().household, SessionHeaders(cadre));
    ASSERT_TRUE(before && before->status == 200) << Describe(before);
    nlohmann::json edit = {{"version", Json(before)["version"]},
                           {"reason", "入户核实"},
                           {"fields", {{"income_wage", fmt::format("{}.00", 1000 + edits)}}}};
    const bool staged_before = staging();
    auto patched = client.Patch("/api/households/" + P().household, SessionHeaders(cadre, true),
                                edit.dump(), "application/json");
    ASSERT_TRUE(patched && patched->status == 200) << Describe(patched);
    ++edits;
    if (staged_before && staging()) ++overlapped;
  }
  EXPECT_GT(overlapped, 0) << "no edit went through while the batch was being staged";
  const nlohmann::json state = WaitForJob(client, admin, job);
  ASSERT_EQ(state["state"], "succeeded") << state.dump();
  // Every edit and the whole batch are there.
  EXPECT_EQ(QueryInt(db_, fmt::format("SELECT income_wage_fen FROM households WHERE household_id = "
                                      "'{}'",
                                      P().household)),
            (1000 + edits - 1) * 100);
  EXPECT_EQ(QueryInt(db_,
                     "SELECT count(*) FROM sqlite_master WHERE name LIKE 'stage\\_\\_%' "
                     "ESCAPE '\\'"),
            0);
}

TEST_F(ServerTest, SigtermFinishesAndTheAuditChainVerifies) {
  auto client = server_->Client();
  SignedIn cadre = SignIn(client, "cadre");
  for (int i = 0; i < 5; ++i) {
    auto r = client.Get("/api/households/" + P().household, SessionHeaders(cadre));
    ASSERT_TRUE(r && r->status == 200) << Describe(r);
  }
  FupinRun run = server_->Stop(SIGTERM);
  EXPECT_EQ(run.exit_code, 0) << run.Show();
  // No personal data in the request log.
  const std::string head =
      Query(db_, fmt::format("SELECT head_id_number FROM households WHERE household_id = '{}'",
                             P().household))[0][0];
  EXPECT_EQ(run.err.find(head), std::string::npos);
  EXPECT_EQ(run.err.find(P().household), std::string::npos);
  FupinRun verify = RunFupin(dir_, {"audit", "verify", "--db", db_.string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.Show();
  EXPECT_GE(QueryInt(db_, "SELECT count(*) FROM audit_log WHERE action = 'read_household'"), 5);
}

}  // namespace
}  // namespace fupin::test

namespace fupin::test {
namespace {

TEST(ServerTlsTest, ServesHttpsWithTheGivenCertificate) {
  TempDir dir;
  Province p = MakeProvince(dir.path() / "province");
  const std::string cert = (dir.path() / "cert.pem").string();
  const std::string key = (dir.path() / "key.pem").string();
  const std::string cmd = fmt::format(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout '{}' "
      "-out '{}' >/dev/null 2>&1",
      key, cert);
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  ServerProcess server(dir.path(), p.db, {"--tls-cert", cert, "--tls-key", key});
  ASSERT_NE(server.port(), 0) << server.Log();
  httplib::SSLClient tls("127.0.0.1", server.port());
  tls.enable_server_certificate_verification(false);
  tls.set_connection_timeout(5);
  auto login =
      tls.Post("/api/login", nlohmann::json{{"username", "cadre"}, {"password", kPassword}}.dump(),
               "application/json");
  ASSERT_TRUE(login && login->status == 200) << Describe(login);
  // Over TLS the session cookie is Secure, and HSTS is sent.
  EXPECT_NE(login->get_header_value("Set-Cookie").find("; Secure"), std::string::npos);
  EXPECT_FALSE(login->get_header_value("Strict-Transport-Security").empty());
  // Plain HTTP on the TLS port gets no answer.
  auto plain = server.Client().Get("/healthz");
  EXPECT_TRUE(!plain || plain->status != 200);
  // A certificate that does not exist is refused at start, naming it.
  FupinRun bad = RunFupin(dir.path(), {"serve", "--db", p.db.string(), "--listen", "127.0.0.1:0",
                                       "--tls-cert", cert + ".missing", "--tls-key", key});
  EXPECT_EQ(bad.exit_code, 1) << bad.Show();
  EXPECT_NE(bad.err.find("missing"), std::string::npos) << bad.Show();
}

}  // namespace
}  // namespace fupin::test
