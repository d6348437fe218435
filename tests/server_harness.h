// The real server for tests (测试用服务): a small generated province in a real SQLite file
// (gen, import, link, rules run, one user per role, all through the real `fupin` binary), and
// `fupin serve` on a free port in a child process, spoken to over real HTTP (cpp-httplib's
// client). Not thread-safe; a test's client objects are its own.
#pragma once

#include <httplib.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fupin_process.h"

namespace fupin::test {

// The province every server test starts from, with facts the tests need. Its users (all with
// password kPassword): admin (province), official (the county of `village`), cadre (`village`),
// other_cadre (`other_village`, another county), edu (department, edu_students), health
// (department, health_enrollment), auditor (province).
struct Province {
  std::filesystem::path db;
  std::string county, village, other_village;
  std::string household;        // a household of `village`
  std::string other_household;  // a household of `other_village`
};
inline constexpr const char* kPassword = "correct horse 9";

// Builds the province under `dir` (a fresh folder) and returns it.
Province MakeProvince(const std::filesystem::path& dir);
// Copies the province's database to `db` (each test that writes gets its own copy).
void CopyDatabase(const Province& province, const std::filesystem::path& db);

class ServerProcess {
 public:
  // Starts `fupin serve --db DB --listen 127.0.0.1:0 EXTRA...` (with `env` added to its
  // environment, "NAME=VALUE" each) and waits until it listens.
  ServerProcess(const std::filesystem::path& scratch, const std::filesystem::path& db,
                const std::vector<std::string>& extra = {},
                const std::vector<std::string>& env = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return process_.pid(); }
  // A client with short timeouts.
  httplib::Client Client() const;
  // Sends `signal` and waits for the process to end.
  FupinRun Stop(int signal);
  std::string Log() const { return process_.ErrSoFar(); }

 private:
  FupinProcess process_;
  int port_ = 0;
};

struct SignedIn {
  std::string cookie;  // "fupin_session=..."
  std::string csrf;
};
// Signs in; fails the test unless the server answers 200.
SignedIn SignIn(httplib::Client& client, const std::string& user,
                const std::string& password = kPassword);
// Headers of a request in the session: the cookie, and the CSRF token for a write.
httplib::Headers SessionHeaders(const SignedIn& who, bool write = false);

// The body as JSON; a discarded value when it is none.
nlohmann::json Json(const httplib::Result& result);
// "STATUS BODY" of a result, for failure messages.
std::string Describe(const httplib::Result& result);

}  // namespace fupin::test
