// The API is the contract: every operation of /api/openapi.json is called on the real server
// (as the roles that may and as one that may not), and every answer is checked against the
// description the server serves (status, content type, JSON Schema of the body) by
// validate_openapi.py (python3-jsonschema). An operation the walk does not reach fails too.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "server_harness.h"
#include "test_files.h"

namespace fupin::test {
namespace {

namespace fs = std::filesystem;

class Recorder {
 public:
  explicit Recorder(fs::path file) : out_(file) {}
  // Records the answer to METHOD TEMPLATE.
  void Add(const std::string& method, const std::string& path_template,
           const httplib::Result& result) {
    ASSERT_TRUE(result) << method << " " << path_template << ": " << Describe(result);
    nlohmann::json line = {
        {"method", method},
        {"path", path_template},
        {"status", result->status},
        {"content_type", result->get_header_value("Content-Type")},
        {"body", result->get_header_value("Content-Type").starts_with("application/json")
                     ? result->body
                     : std::string()}};
    out_ << line.dump() << "\n";
    out_.flush();
  }

 private:
  std::ofstream out_;
};

TEST(ServerOpenApiTest, EveryOperationAnswersAsDescribed) {
  TempDir dir;
  Province p = MakeProvince(dir.path() / "province");
  ServerProcess server(dir.path(), p.db);
  auto c = server.Client();
  const fs::path answers = dir.path() / "answers.jsonl";
  Recorder rec(answers);

  rec.Add("GET", "/healthz", c.Get("/healthz"));
  rec.Add("GET", "/metrics", c.Get("/metrics"));
  auto spec = c.Get("/api/openapi.json");
  rec.Add("GET", "/api/openapi.json", spec);
  ASSERT_TRUE(spec && spec->status == 200);
  fs::path spec_file = dir.path() / "openapi.json";
  WriteFile(spec_file, spec->body);

  rec.Add("POST", "/api/login",
          c.Post("/api/login", R"({"username":"admin","password":"nope"})", "application/json"));
  rec.Add("POST", "/api/login", c.Post("/api/login", R"({"username":1})", "application/json"));
  SignedIn admin = SignIn(c, "admin");
  SignedIn cadre = SignIn(c, "cadre");
  SignedIn edu = SignIn(c, "edu");
  SignedIn auditor = SignIn(c, "auditor");
  rec.Add(
      "POST", "/api/login",
      c.Post("/api/login", nlohmann::json{{"username", "cadre"}, {"password", kPassword}}.dump(),
             "application/json"));
  auto h = [](const SignedIn& s, bool write = false) { return SessionHeaders(s, write); };

  rec.Add("GET", "/api/me", c.Get("/api/me", h(admin)));
  rec.Add("GET", "/api/me", c.Get("/api/me"));
  rec.Add("GET", "/api/query",
          c.Get("/api/query?measures=households,persons&by=county,status", h(admin)));
  rec.Add("GET", "/api/query", c.Get("/api/query?measures=fgt0,mean_income&by=status", h(admin)));
  rec.Add("GET", "/api/query", c.Get("/api/query?measures=nope", h(admin)));
  rec.Add("GET", "/api/households", c.Get("/api/households?limit=3", h(cadre)));
  rec.Add("GET", "/api/households", c.Get("/api/households?limit=0", h(cadre)));
  rec.Add("GET", "/api/regions/{code}", c.Get("/api/regions/520000000000", h(admin)));
  rec.Add("GET", "/api/regions/{code}", c.Get("/api/regions/520000000000", h(cadre)));
  rec.Add("GET", "/api/regions/{code}", c.Get("/api/regions/999999999999", h(admin)));
  rec.Add("GET", "/api/villages/{code}/portrait",
          c.Get("/api/villages/" + p.village + "/portrait", h(cadre)));
  rec.Add("GET", "/api/villages/{code}/portrait",
          c.Get("/api/villages/" + p.other_village + "/portrait", h(cadre)));
  auto household = c.Get("/api/households/" + p.household, h(cadre));
  rec.Add("GET", "/api/households/{household_id}", household);
  rec.Add("GET", "/api/households/{household_id}",
          c.Get("/api/households/" + p.other_household, h(cadre)));
  rec.Add("GET", "/api/households/{household_id}", c.Get("/api/households/nope", h(cadre)));
  rec.Add("GET", "/api/households/{household_id}",
          c.Get("/api/households/" + p.household + "?unmask=1", h(cadre)));
  const int64_t version = Json(household).value("version", int64_t{0});
  nlohmann::json edit = {{"version", version},
                         {"reason", "走访"},
                         {"fields", {{"income_wage", "12345.00"}}},
                         {"visit_note", "走访记录"}};
  rec.Add(
      "PATCH", "/api/households/{household_id}",
      c.Patch("/api/households/" + p.household, h(cadre, true), edit.dump(), "application/json"));
  rec.Add(
      "PATCH", "/api/households/{household_id}",
      c.Patch("/api/households/" + p.household, h(cadre, true), edit.dump(), "application/json"));
  rec.Add("PATCH", "/api/households/{household_id}",
          c.Patch("/api/households/" + p.household, h(cadre, true), R"({"version":"x"})",
                  "application/json"));
  rec.Add("PATCH", "/api/households/{household_id}",
          c.Patch("/api/households/" + p.other_household, h(cadre, true), edit.dump(),
                  "application/json"));
  rec.Add("GET", "/api/households/{household_id}/history",
          c.Get("/api/households/" + p.household + "/history", h(cadre)));
  rec.Add("GET", "/api/households/{household_id}/history",
          c.Get("/api/households/" + p.other_household + "/history", h(cadre)));
  // The smallest PNG: the signature and an IHDR chunk.
  const std::string png(
      "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\1\0\0\0\1\x08\x06\0\0\0\x1f\x15\xc4\x89", 33);
  auto photo =
      c.Post("/api/households/" + p.household + "/photos", h(cadre, true), png, "image/png");
  rec.Add("POST", "/api/households/{household_id}/photos", photo);
  rec.Add(
      "POST", "/api/households/{household_id}/photos",
      c.Post("/api/households/" + p.household + "/photos", h(cadre, true), "GIF89a", "image/png"));
  const int64_t photo_id = Json(photo).value("photo_id", int64_t{1});
  rec.Add("GET", "/api/households/{household_id}/photos/{photo_id}",
          c.Get(fmt::format("/api/households/{}/photos/{}", p.household, photo_id), h(cadre)));
  rec.Add("GET", "/api/households/{household_id}/photos/{photo_id}",
          c.Get(fmt::format("/api/households/{}/photos/999999", p.household), h(cadre)));
  // The list names the photo just added; another village's household is refused.
  auto photos = c.Get("/api/households/" + p.household + "/photos", h(cadre));
  rec.Add("GET", "/api/households/{household_id}/photos", photos);
  ASSERT_TRUE(photos && photos->status == 200);
  bool listed = false;
  const auto listing = Json(photos);
  for (const auto& item : listing["photos"])
    listed |=
        item["photo_id"] == photo_id && item["size"] == 33 && item["content_type"] == "image/png";
  EXPECT_TRUE(listed) << photos->body;
  rec.Add("GET", "/api/households/{household_id}/photos",
          c.Get("/api/households/" + p.other_household + "/photos", h(cadre)));
  // An unknown household is named in the caller's language (zh-CN by default).
  auto unknown = c.Get("/api/households/nope/photos", h(cadre));
  rec.Add("GET", "/api/households/{household_id}/photos", unknown);
  ASSERT_TRUE(unknown && unknown->status == 404);
  EXPECT_NE(unknown->body.find("没有户"), std::string::npos) << unknown->body;
  auto flags = c.Get("/api/flags?limit=2", h(admin));
  rec.Add("GET", "/api/flags", flags);
  rec.Add("GET", "/api/flags", c.Get("/api/flags?state=bogus", h(admin)));
  rec.Add("GET", "/api/flags", c.Get("/api/flags?region=" + p.other_village, h(cadre)));
  const int64_t flag_id =
      Json(flags)["flags"].empty() ? 1 : Json(flags)["flags"][0]["id"].get<int64_t>();
  rec.Add("GET", "/api/flags/{id}", c.Get(fmt::format("/api/flags/{}", flag_id), h(admin)));
  rec.Add("GET", "/api/flags/{id}", c.Get("/api/flags/99999999", h(admin)));
  rec.Add("POST", "/api/flags/{id}/state",
          c.Post(fmt::format("/api/flags/{}/state", flag_id), h(admin, true),
                 R"({"state":"verified","note":"入户核实属实"})", "application/json"));
  rec.Add("POST", "/api/flags/{id}/state",
          c.Post(fmt::format("/api/flags/{}/state", flag_id), h(admin, true),
                 R"({"state":"maybe"})", "application/json"));
  rec.Add("POST", "/api/flags/state",
          c.Post("/api/flags/state", h(admin, true),
                 nlohmann::json{{"ids", {flag_id}}, {"state", "dismissed"}}.dump(),
                 "application/json"));
  rec.Add("POST", "/api/flags/state",
          c.Post("/api/flags/state", h(admin, true), R"({"ids":[],"state":"verified"})",
                 "application/json"));
  rec.Add("POST", "/api/flags/state",
          c.Post("/api/flags/state", h(admin, true), R"({"ids":[99999999],"state":"verified"})",
                 "application/json"));
  rec.Add("POST", "/api/flags/state",
          c.Post("/api/flags/state", h(edu, true),
                 nlohmann::json{{"ids", {flag_id}}, {"state", "open"}}.dump(), "application/json"));
  rec.Add("GET", "/api/flags", c.Get("/api/flags?format=xlsx&state=open", h(admin)));
  rec.Add("GET", "/api/query",
          c.Get("/api/query?measures=households&by=county&format=xlsx", h(admin)));
  rec.Add("GET", "/api/users", c.Get("/api/users", h(admin)));
  rec.Add("GET", "/api/users", c.Get("/api/users", h(cadre)));
  const nlohmann::json new_user = {{"username", "openapi_user"},
                                   {"role", "cadre"},
                                   {"region", p.village},
                                   {"password", "a fine password"}};
  rec.Add("POST", "/api/users",
          c.Post("/api/users", h(admin, true), new_user.dump(), "application/json"));
  rec.Add("POST", "/api/users",
          c.Post("/api/users", h(admin, true), new_user.dump(), "application/json"));
  rec.Add("POST", "/api/users",
          c.Post("/api/users", h(admin, true), R"({"username":"x","role":"boss"})",
                 "application/json"));
  rec.Add("POST", "/api/users/{username}/disable",
          c.Post("/api/users/openapi_user/disable", h(admin, true), "", "application/json"));
  rec.Add("POST", "/api/users/{username}/disable",
          c.Post("/api/users/nobody/disable", h(admin, true), "", "application/json"));
  rec.Add("POST", "/api/users/{username}/enable",
          c.Post("/api/users/openapi_user/enable", h(admin, true), "", "application/json"));
  rec.Add("POST", "/api/users/{username}/enable",
          c.Post("/api/users/openapi_user/enable", h(cadre, true), "", "application/json"));
  rec.Add("POST", "/api/users/{username}/password",
          c.Post("/api/users/openapi_user/password", h(admin, true),
                 R"({"password":"another password"})", "application/json"));
  rec.Add("POST", "/api/users/{username}/password",
          c.Post("/api/users/openapi_user/password", h(admin, true), R"({"password":"short"})",
                 "application/json"));
  SignedIn openapi_user = SignIn(c, "openapi_user", "another password");
  rec.Add(
      "POST", "/api/me/password",
      c.Post("/api/me/password", h(openapi_user, true),
             R"({"old_password":"wrong one","password":"my own password"})", "application/json"));
  rec.Add("POST", "/api/me/password",
          c.Post("/api/me/password", h(openapi_user, true),
                 R"({"old_password":"another password","password":"my own password"})",
                 "application/json"));
  rec.Add("GET", "/api/reports/{template}", c.Get("/api/reports/registry?format=xlsx", h(admin)));
  rec.Add("GET", "/api/reports/{template}", c.Get("/api/reports/registry?format=csv", h(admin)));
  rec.Add("GET", "/api/reports/{template}", c.Get("/api/reports/nope", h(admin)));
  rec.Add("GET", "/api/reports/{template}",
          c.Get("/api/reports/registry?region=" + p.other_village, h(cadre)));

  const std::string csv = ReadFile(dir.path() / "province" / "batch" / "edu_students.csv");
  httplib::MultipartFormDataItems items = {{"file", csv, "edu_students.csv", "text/csv"}};
  auto job = c.Post("/api/imports", h(edu, true), items);
  rec.Add("POST", "/api/imports", job);
  httplib::MultipartFormDataItems bad = {{"file", "x", "../evil.csv", "text/csv"}};
  rec.Add("POST", "/api/imports", c.Post("/api/imports", h(edu, true), bad));
  rec.Add("POST", "/api/imports", c.Post("/api/imports", h(cadre, true), items));
  const int64_t job_id = Json(job).value("id", int64_t{1});
  nlohmann::json state;
  for (int i = 0; i < 600; ++i) {
    auto j = c.Get(fmt::format("/api/jobs/{}", job_id), h(edu));
    rec.Add("GET", "/api/jobs/{id}", j);
    state = Json(j);
    if (state.value("state", "") != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  rec.Add("GET", "/api/jobs/{id}", c.Get("/api/jobs/999", h(admin)));
  rec.Add("GET", "/api/jobs", c.Get("/api/jobs", h(admin)));
  rec.Add("GET", "/api/jobs", c.Get("/api/jobs", h(cadre)));
  rec.Add("POST", "/api/jobs",
          c.Post("/api/jobs", h(admin, true), R"({"kind":"rules"})", "application/json"));
  rec.Add("POST", "/api/jobs",
          c.Post("/api/jobs", h(admin, true), R"({"kind":"rules"})", "application/json"));
  rec.Add("POST", "/api/jobs",
          c.Post("/api/jobs", h(admin, true), R"({"kind":"dance"})", "application/json"));
  rec.Add("POST", "/api/jobs",
          c.Post("/api/jobs", h(cadre, true), R"({"kind":"link"})", "application/json"));
  const int64_t batch =
      state.contains("result") ? state["result"].value("batch_id", int64_t{1}) : 1;
  rec.Add("GET", "/api/imports", c.Get("/api/imports", h(edu)));
  rec.Add("GET", "/api/imports", c.Get("/api/imports?limit=9999", h(admin)));
  rec.Add("GET", "/api/imports", c.Get("/api/imports", h(cadre)));
  rec.Add("GET", "/api/imports/{batch_id}/issues",
          c.Get(fmt::format("/api/imports/{}/issues", batch), h(edu)));
  rec.Add("GET", "/api/imports/{batch_id}/issues", c.Get("/api/imports/1/issues", h(cadre)));
  rec.Add("GET", "/api/changes", c.Get("/api/changes?since=0&limit=50", h(edu)));
  rec.Add("GET", "/api/changes", c.Get("/api/changes?since=-4", h(edu)));
  rec.Add("GET", "/api/links", c.Get("/api/links?dataset=edu_students&limit=5", h(edu)));
  rec.Add("GET", "/api/links", c.Get("/api/links?dataset=health_claims", h(edu)));
  rec.Add("GET", "/api/links", c.Get("/api/links?dataset=nope", h(admin)));
  rec.Add("GET", "/api/audit", c.Get("/api/audit?limit=20", h(auditor)));
  rec.Add("GET", "/api/audit", c.Get("/api/audit", h(cadre)));
  rec.Add("GET", "/api/audit", c.Get("/api/audit?limit=abc", h(auditor)));
  rec.Add("POST", "/api/logout", c.Post("/api/logout", h(cadre, true), "", "application/json"));
  rec.Add("POST", "/api/logout", c.Post("/api/logout", h(cadre, true), "", "application/json"));

  FupinRun check = [&] {
    // python3 validate_openapi.py SPEC ANSWERS, run through /usr/bin/env like a user would.
    const std::string script = std::string(FUPIN_SOURCE_DIR) + "/tests/validate_openapi.py";
    const std::string cmd =
        fmt::format("python3 '{}' '{}' '{}' 2>&1", script, spec_file.string(), answers.string());
    FupinRun run;
    FILE* pipe = popen(cmd.c_str(), "r");
    char buf[4096];
    size_t n = 0;
    while (pipe && (n = fread(buf, 1, sizeof buf, pipe)) > 0) run.out.append(buf, n);
    run.exit_code = pipe ? WEXITSTATUS(pclose(pipe)) : -1;
    return run;
  }();
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_NE(check.out.find("0 failures"), std::string::npos) << check.out;
}

}  // namespace
}  // namespace fupin::test
