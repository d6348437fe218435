// Cadres' household edits arriving together at the real `fupin serve` (which commits them in
// groups: service/edit_batcher.h), over real HTTP: each gets its own answer (200 with its
// version, or 409 for a stale one that changes nothing), the store and the analytics answer
// hold every committed edit and nothing of the refused ones.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cmath>
#include <iterator>
#include <sstream>
#include <thread>

#include "server_harness.h"
#include "test_files.h"

namespace fupin::test {
namespace {

namespace fs = std::filesystem;

TEST(ServerEditGroupTest, ConcurrentPatchesEachGetTheirOwnAnswer) {
  TempDir root;
  const Province province = MakeProvince(root.path() / "province");
  const fs::path db = root.path() / "f.db";
  CopyDatabase(province, db);
  ServerProcess server(root.path(), db);

  // Households of the official's county (each edit another household).
  const auto rows =
      Query(db, fmt::format("SELECT household_id, version FROM households WHERE "
                            "substr(village_code, 1, 6) = substr('{}', 1, 6) ORDER BY household_id "
                            "LIMIT 24",
                            province.county));
  ASSERT_GE(rows.size(), 8u);
  const int n = static_cast<int>(rows.size());
  auto signin = server.Client();
  const SignedIn official = SignIn(signin, "official");
  const std::string q =
      fmt::format("/api/query?measures=income_wage&where=county={}", province.county);
  auto wage_answer = [&]() -> int64_t {
    auto answer = signin.Get(q, SessionHeaders(official));
    EXPECT_TRUE(answer && answer->status == 200) << Describe(answer);
    return std::llround(Json(answer)["rows"][0].value("income_wage", 0.0) * 100);
  };
  const std::string sum_sql = fmt::format(
      "SELECT coalesce(sum(income_wage_fen), 0) FROM households WHERE substr(village_code, 1, 6) "
      "= substr('{}', 1, 6)",
      province.county);
  const int64_t answer_before = wage_answer(), sum_before = QueryInt(db, sum_sql);
  // Every fourth edit sends a version that is not the stored one.
  auto stale = [](int i) { return i % 4 == 3; };
  std::vector<int> status(n, 0);
  std::vector<int64_t> version(n, -1);
  std::barrier start(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      auto client = server.Client();
      client.set_read_timeout(std::chrono::seconds(30));
      const int64_t read = std::stoll(rows[i][1]);
      nlohmann::json edit = {{"version", stale(i) ? read + 5 : read},
                             {"reason", fmt::format("入户核实 {}", i)},
                             {"fields", {{"income_wage", fmt::format("{}.00", 50000 + i)}}}};
      start.arrive_and_wait();
      auto r = client.Patch("/api/households/" + rows[i][0], SessionHeaders(official, true),
                            edit.dump(), "application/json");
      if (!r) return;
      status[i] = r->status;
      if (r->status == 200) version[i] = Json(r)["version"];
    });
  for (std::thread& t : threads) t.join();

  for (int i = 0; i < n; ++i) {
    const std::string& hid = rows[i][0];
    const int64_t read = std::stoll(rows[i][1]);
    const int64_t stored =
        QueryInt(db, fmt::format("SELECT version FROM households WHERE household_id = '{}'", hid));
    const int64_t wage = QueryInt(
        db, fmt::format("SELECT income_wage_fen FROM households WHERE household_id = '{}'", hid));
    if (stale(i)) {
      EXPECT_EQ(status[i], 409) << hid;
      EXPECT_EQ(stored, read) << hid;
      EXPECT_NE(wage, (50000 + i) * 100) << hid;
      EXPECT_EQ(
          QueryInt(db, fmt::format("SELECT count(*) FROM edits WHERE household_id = '{}'", hid)),
          0);
    } else {
      EXPECT_EQ(status[i], 200) << hid;
      EXPECT_EQ(version[i], read + 1) << hid;
      EXPECT_EQ(stored, read + 1) << hid;
      EXPECT_EQ(wage, (50000 + i) * 100) << hid;
      EXPECT_EQ(QueryInt(db, fmt::format("SELECT count(*) FROM history h JOIN edits e USING "
                                         "(edit_id) WHERE e.household_id = '{}' AND e.reason = "
                                         "'入户核实 {}' AND h.field = 'income_wage_fen'",
                                         hid, i)),
                1);
    }
  }
  // The answer moves by what the committed edits changed, within a second.
  const int64_t expected = answer_before + QueryInt(db, sum_sql) - sum_before;
  EXPECT_NE(expected, answer_before);
  int64_t seen = 0;
  for (int i = 0; i < 20; ++i) {
    seen = wage_answer();
    if (seen == expected) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(seen, expected);
}

// /proc/PID/task: each thread's name and nice value.
std::vector<std::pair<std::string, int>> Threads(pid_t pid) {
  std::vector<std::pair<std::string, int>> out;
  for (const auto& task : fs::directory_iterator(fmt::format("/proc/{}/task", pid))) {
    const std::string comm = ReadFile(task.path() / "comm");
    const std::string stat = ReadFile(task.path() / "stat");
    // Fields after the name in parentheses: state is the 3rd, nice the 19th.
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));
    std::vector<std::string> fields{std::istream_iterator<std::string>(rest), {}};
    if (fields.size() < 17) continue;
    out.emplace_back(comm.substr(0, comm.find('\n')), std::stoi(fields[16]));
  }
  return out;
}

// Every thread of the server yields to the edit writer (service/edit_batcher.h): the writer
// keeps the process's nice value, the request threads that answered our requests, the
// snapshot refresher and the rest have it raised by --reader-nice.
TEST(ServerEditGroupTest, TheEditWriterKeepsItsPriorityAndEveryOtherThreadYieldsToIt) {
  TempDir root;
  const Province province = MakeProvince(root.path() / "province");
  const fs::path db = root.path() / "f.db";
  CopyDatabase(province, db);
  ServerProcess server(root.path(), db, {"--reader-nice", "3"});
  auto client = server.Client();
  const SignedIn official = SignIn(client, "official");
  const auto row = Query(db, fmt::format("SELECT household_id, version FROM households WHERE "
                                         "substr(village_code, 1, 6) = substr('{}', 1, 6) LIMIT 1",
                                         province.county));
  ASSERT_EQ(row.size(), 1u);
  nlohmann::json edit = {{"version", std::stoll(row[0][1])},
                         {"reason", "入户核实"},
                         {"fields", {{"income_wage", "12345.00"}}}};
  auto r = client.Patch("/api/households/" + row[0][0], SessionHeaders(official, true), edit.dump(),
                        "application/json");
  ASSERT_TRUE(r && r->status == 200) << Describe(r);

  const int base = getpriority(PRIO_PROCESS, 0);  // the server starts with the test's
  const auto threads = Threads(server.pid());
  int writers = 0, lowered = 0;
  for (const auto& [name, nice] : threads) {
    if (name == "edit-writer") {
      ++writers;
      EXPECT_EQ(nice, base) << name;
    } else if (name != "wal-checkpoint") {  // started by whichever thread commits first
      EXPECT_EQ(nice, std::min(base + 3, 19)) << name;
      ++lowered;
    }
  }
  EXPECT_EQ(writers, 1);
  EXPECT_GE(lowered, 3);  // the main thread, the refresher, request threads
  EXPECT_TRUE(std::any_of(threads.begin(), threads.end(),
                          [](const auto& t) { return t.first == "snap-refresh"; }));
}

}  // namespace
}  // namespace fupin::test
