#include "server_harness.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <sstream>
#include <thread>

#include "test_files.h"

namespace fupin::test {
namespace fs = std::filesystem;

namespace {

void MustRun(const fs::path& scratch, const std::vector<std::string>& args,
             const std::string& input = {}) {
  FupinRun run = RunFupin(scratch, args, {}, input);
  ASSERT_TRUE(run.exit_code == 0 || run.exit_code == 3)
      << fmt::format("{}", fmt::join(args, " ")) << "\n"
      << run.Show();
}

void AddUser(const fs::path& scratch, const fs::path& db, const std::string& name,
             const std::string& role, const std::string& region,
             const std::string& department = "") {
  std::vector<std::string> args = {"user",   "add", name,       "--db", db.string(),
                                   "--role", role,  "--region", region, "--password-stdin"};
  if (!department.empty()) {
    args.push_back("--department");
    args.push_back(department);
  }
  MustRun(scratch, args, std::string(kPassword) + "\n");
}

}  // namespace

namespace {

// Builds the province in `dir`.
Province BuildProvince(const fs::path& dir) {
  fs::create_directories(dir);
  Province p;
  p.db = dir / "province.db";
  MustRun(dir, {"gen", "--scale", "0.0005", "--seed", "7", "--out", (dir / "batch").string()});
  MustRun(dir, {"import", (dir / "batch").string(), "--db", p.db.string()});
  MustRun(dir, {"link", "--db", p.db.string()});
  MustRun(dir, {"rules", "run", "--db", p.db.string()});
  // Two villages of different counties, each with a household.
  auto rows = Query(p.db,
                    "SELECT village_code, min(household_id) FROM households "
                    "GROUP BY substr(village_code, 1, 6) ORDER BY count(*) DESC LIMIT 2");
  EXPECT_EQ(rows.size(), 2u);
  if (rows.size() < 2) return p;
  p.village = rows[0][0];
  p.household = rows[0][1];
  p.other_village = rows[1][0];
  p.other_household = rows[1][1];
  p.county = p.village.substr(0, 6) + "000000";
  AddUser(dir, p.db, "admin", "admin", "520000000000");
  AddUser(dir, p.db, "official", "official", p.county);
  AddUser(dir, p.db, "cadre", "cadre", p.village);
  AddUser(dir, p.db, "other_cadre", "cadre", p.other_village);
  AddUser(dir, p.db, "edu", "department", "520000000000", "edu_students");
  AddUser(dir, p.db, "health", "department", "520000000000", "health_enrollment");
  AddUser(dir, p.db, "auditor", "auditor", "520000000000");
  return p;
}

// What identifies the binary that built a cached province.
std::string BinaryStamp() {
  struct stat st {};
  ::stat(FUPIN_BINARY, &st);
  return fmt::format("{} {} {}", FUPIN_BINARY, st.st_size, st.st_mtim.tv_sec);
}

}  // namespace

Province MakeProvince(const fs::path& dir) {
  // Built once per build of the binary and shared by every test process (under a lock), then
  // copied: each test still gets its own database file.
  const fs::path cache = FUPIN_TEST_CACHE;
  fs::create_directories(cache);
  const int lock = ::open((cache / "lock").c_str(), O_RDWR | O_CREAT, 0644);
  ::flock(lock, LOCK_EX);
  const fs::path stamp = cache / "stamp";
  const fs::path built = cache / "province";
  if (!fs::exists(stamp) || ReadFile(stamp) != BinaryStamp()) {
    fs::remove_all(built);
    fs::remove(stamp);
    Province fresh = BuildProvince(built);
    WriteFile(cache / "facts",
              fmt::format("{}\n{}\n{}\n{}\n{}\n", fresh.county, fresh.village, fresh.other_village,
                          fresh.household, fresh.other_household));
    if (!::testing::Test::HasFailure()) WriteFile(stamp, BinaryStamp());
  }
  Province p;
  std::istringstream facts(ReadFile(cache / "facts"));
  std::getline(facts, p.county);
  std::getline(facts, p.village);
  std::getline(facts, p.other_village);
  std::getline(facts, p.household);
  std::getline(facts, p.other_household);
  fs::create_directories(dir);
  p.db = dir / "province.db";
  fs::copy_file(built / "province.db", p.db, fs::copy_options::overwrite_existing);
  fs::copy(built / "batch", dir / "batch",
           fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  ::flock(lock, LOCK_UN);
  ::close(lock);
  return p;
}

void CopyDatabase(const Province& province, const fs::path& db) {
  // The province's database is closed (no server runs on it), so a file copy is consistent.
  fs::copy_file(province.db, db, fs::copy_options::overwrite_existing);
  const fs::path snap = province.db.string() + ".snapshot";
  if (fs::exists(snap))
    fs::copy_file(snap, db.string() + ".snapshot", fs::copy_options::overwrite_existing);
}

ServerProcess::ServerProcess(const fs::path& scratch, const fs::path& db,
                             const std::vector<std::string>& extra,
                             const std::vector<std::string>& env)
    : process_(
          scratch,
          [&] {
            std::vector<std::string> args = {"serve",       "--db",      db.string(), "--listen",
                                             "127.0.0.1:0", "--threads", "16"};
            args.insert(args.end(), extra.begin(), extra.end());
            return args;
          }(),
          env) {
  static const std::regex kListening(R"((?:listening on|服务已启动:) https?://127\.0\.0\.1:(\d+))");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch m;
    const std::string out = process_.OutSoFar();
    if (std::regex_search(out, m, kListening)) {
      port_ = std::stoi(m[1]);
      return;
    }
    int status = 0;
    if (waitpid(process_.pid(), &status, WNOHANG) == process_.pid()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "the server did not start:\n" << process_.ErrSoFar();
}

ServerProcess::~ServerProcess() = default;

httplib::Client ServerProcess::Client() const {
  httplib::Client client("127.0.0.1", port_);
  client.set_connection_timeout(5);
  client.set_read_timeout(60);
  client.set_write_timeout(30);
  return client;
}

FupinRun ServerProcess::Stop(int signal) {
  if (process_.pid() > 0) kill(process_.pid(), signal);
  return process_.Wait();
}

SignedIn SignIn(httplib::Client& client, const std::string& user, const std::string& password) {
  nlohmann::json body = {{"username", user}, {"password", password}};
  auto res = client.Post("/api/login", body.dump(), "application/json");
  SignedIn out;
  EXPECT_TRUE(res && res->status == 200) << user << ": " << Describe(res);
  if (!res || res->status != 200) return out;
  const std::string set_cookie = res->get_header_value("Set-Cookie");
  out.cookie = set_cookie.substr(0, set_cookie.find(';'));
  out.csrf = Json(res).value("csrf_token", "");
  return out;
}

httplib::Headers SessionHeaders(const SignedIn& who, bool write) {
  httplib::Headers h = {{"Cookie", who.cookie}};
  if (write) h.emplace("X-CSRF-Token", who.csrf);
  return h;
}

nlohmann::json Json(const httplib::Result& result) {
  if (!result) return nlohmann::json(nlohmann::json::value_t::discarded);
  return nlohmann::json::parse(result->body, nullptr, false);
}

std::string Describe(const httplib::Result& result) {
  if (!result) return fmt::format("no response ({})", httplib::to_string(result.error()));
  return fmt::format("{} {}", result->status, result->body.substr(0, 2000));
}

}  // namespace fupin::test
