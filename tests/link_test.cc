// The person index end to end: real exchange files imported into a real SQLite file, linked,
// exported, and checked against hand-made cases and the generator's ground truth.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/id_number.h"
#include "exchange/import.h"
#include "gen/generator.h"
#include "link/linker.h"
#include "link_eval.h"
#include "store/sqlite/sqlite_store.h"
#include "test_files.h"

namespace fupin {
namespace {

namespace fs = std::filesystem;
using test::Csv;
using test::Household;
using test::MakeId;
using test::Member;
using test::Row;

// Every link of a data set as `fupin export links` sees it: row -> "id_number stage".
std::map<std::string, std::string> LinksOf(store::Store& store, const std::string& dataset) {
  std::map<std::string, std::string> out;
  Status st = store.Links().ForEachLinkRow([&](const store::LinkExportRow& r) {
    if (r.dataset == dataset && r.stage != store::LinkStage::kUnlinked) {
      int64_t person = r.person_id;
      out[std::to_string(r.source_row)] =
          (person ? UnpackIdNumber(static_cast<uint64_t>(person)) : std::string()) + " " +
          std::to_string(static_cast<int>(r.stage));
    }
    return OkStatus();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

class LinkTest : public ::testing::Test {
 protected:
  void Import(const fs::path& dir) {
    auto s = exchange::ImportPath(*store_, dir, {});
    ASSERT_TRUE(s) << s.error().ToString();
    ASSERT_EQ(s->rows_rejected, 0);
  }
  link::LinkSummary Link(bool full = false) {
    link::LinkOptions o;
    o.full = full;
    o.actor.user = "test";
    auto s = link::RunLinker(*store_, o);
    EXPECT_TRUE(s) << s.error().ToString();
    return s ? *s : link::LinkSummary{};
  }
  const link::DatasetLinkSummary* Summary(const link::LinkSummary& s, std::string_view d) {
    for (const auto& x : s.datasets)
      if (x.dataset == d) return &x;
    return nullptr;
  }
  void Open() {
    auto s = store::OpenSqliteStore(db_);
    ASSERT_TRUE(s) << s.error().ToString();
    store_ = std::move(*s);
  }

  test::TempDir tmp_;
  fs::path db_ = tmp_ / "f.db";
  std::unique_ptr<store::Store> store_;
};

// A small registry: three people in one household, one in another.
struct People {
  std::string a = MakeId("520102", "19700101", 11);  // 张三
  std::string b = MakeId("520102", "19720304", 22);  // 李梅
  std::string c = MakeId("520102", "19950607", 13);  // 张小明
  std::string d = MakeId("520102", "19600101", 31);  // 王建国
};

void WriteRegistry(const fs::path& dir, const People& p) {
  Row a = Member(p.a, "H1", "张三"), b = Member(p.b, "H1", "李梅"), c = Member(p.c, "H1", "张小明"),
      d = Member(p.d, "H2", "王建国");
  b["sex"] = "2";
  b["birth_date"] = "1972-03-04";
  b["relation"] = "2";
  c["birth_date"] = "1995-06-07";
  c["relation"] = "3";
  d["birth_date"] = "1960-01-01";
  test::WriteFile(dir / "households.csv",
                  Csv("households", {Household("H1", p.a), Household("H2", p.d)}));
  test::WriteFile(dir / "members.csv", Csv("members", {a, b, c, d}));
}

Row Dept(const std::string& id, const std::string& name, int sex, const std::string& birth) {
  return {{"id_number", id},
          {"name", name},
          {"sex", std::to_string(sex)},
          {"birth_date", birth},
          {"region_code", std::string(test::kVillage)}};
}

// The ID with one digit of the body changed so that the check character no longer fits.
std::string Mistype(const std::string& id, size_t pos) {
  std::string out = id;
  for (char v = '0'; v <= '9'; ++v) {
    out[pos] = v;
    if (v != id[pos] && IdCheckChar(out.substr(0, 17)) != out[17]) return out;
  }
  return out;
}

TEST_F(LinkTest, ExactRepairedAndOutsiderRows) {
  People p;
  fs::path batch = tmp_ / "b1";
  WriteRegistry(batch, p);
  std::string transposed = p.b;
  std::swap(transposed[14], transposed[15]);
  ASSERT_NE(transposed, p.b);
  ASSERT_NE(IdCheckChar(transposed.substr(0, 17)), transposed[17]);
  std::string outsider = MakeId("520102", "19880808", 701);
  test::WriteFile(
      batch / "disability.csv",
      Csv("disability", {
                            Dept(p.a, "张三", 1, "1970-01-01"),                 // 1 exact
                            Dept(Mistype(p.c, 3), "张小明", 1, "1995-06-07"),   // 2 repaired
                            Dept(transposed, "李梅", 2, "1972-03-04"),          // 3 repaired
                            Dept(Mistype(p.c, 16), "刘德华", 1, "1995-06-07"),  // 4 name disagrees
                            Dept(outsider, "赵六", 1, "1988-08-08"),            // 5 outsider
                            Dept(p.d.substr(0, 6) + p.d.substr(8, 9), "王建国", 1,
                                 "1960-01-01"),  // 6 old 15-digit number
                        }));
  Open();
  Import(batch);
  auto s = Link();
  const auto* d = Summary(s, "disability");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->rows, 6);
  EXPECT_EQ(d->exact, 2);
  EXPECT_EQ(d->repaired, 2);
  auto links = LinksOf(*store_, "disability");
  EXPECT_EQ(links["1"], p.a + " 1");
  EXPECT_EQ(links["2"], p.c + " 2");
  EXPECT_EQ(links["3"], p.b + " 2");
  // A near ID under another name is not repaired; in so small a registry the probabilistic
  // stage may at most put it up for review.
  EXPECT_TRUE(links.count("4") == 0 || links["4"] == " 4") << links["4"];
  if (links.count("4")) {  // the stored candidate is 张小明, not shown as a link
    EXPECT_EQ(test::QueryInt(db_,
                             "SELECT person_id FROM links_disability l JOIN dept_disability "
                             "d ON d.row_id = l.row_id WHERE d.source_row = 4"),
              static_cast<int64_t>(PackIdNumber(p.c)));
  }
  EXPECT_EQ(links.count("5"), 0u) << "a valid ID outside the registry links to nobody";
  EXPECT_EQ(links["6"], p.d + " 1");
  // A repaired link explains itself: name, birth date, sex, region all at level 0.
  EXPECT_EQ(test::QueryInt(db_,
                           "SELECT levels FROM links_disability l JOIN dept_disability d "
                           "ON d.row_id = l.row_id WHERE d.source_row = 2"),
            0);
}

TEST_F(LinkTest, DepartmentDataWithoutARegistryLinksNobody) {
  fs::path batch = tmp_ / "b1";
  Row no_id = Dept("", "张三", 1, "1970-01-01");
  test::WriteFile(
      batch / "deaths.csv",
      Csv("deaths", {Dept(MakeId("520102", "19700101", 11), "张三", 1, "1970-01-01"), no_id}));
  Open();
  auto s = exchange::ImportPath(*store_, batch, {});
  ASSERT_TRUE(s) << s.error().ToString();
  auto linked = Link();
  EXPECT_EQ(linked.registry_members, 0);
  ASSERT_EQ(linked.datasets.size(), 1u);
  EXPECT_EQ(linked.datasets[0].rows, 2);
  EXPECT_EQ(linked.datasets[0].unlinked, 2);
  EXPECT_TRUE(LinksOf(*store_, "deaths").empty());
}

TEST_F(LinkTest, RerunIsANoOpAndFullRerunGivesTheSameLinks) {
  People p;
  fs::path batch = tmp_ / "b1";
  WriteRegistry(batch, p);
  test::WriteFile(batch / "deaths.csv", Csv("deaths", {Dept(p.d, "王建国", 1, "1960-01-01")}));
  Open();
  Import(batch);
  auto first = Link();
  auto before = LinksOf(*store_, "deaths");
  auto again = Link();
  EXPECT_TRUE(again.nothing_to_do);
  EXPECT_EQ(again.run_id, first.run_id);
  auto full = Link(/*full=*/true);
  EXPECT_TRUE(full.full);
  EXPECT_GT(full.run_id, first.run_id);
  EXPECT_EQ(LinksOf(*store_, "deaths"), before);
  EXPECT_EQ(test::QueryInt(db_, "SELECT count(*) FROM link_runs WHERE finished_at IS NOT NULL"), 2);
}

TEST_F(LinkTest, RegistryDuplicatesAreReported) {
  People p;
  fs::path batch = tmp_ / "b1";
  // p.a also listed in H2 (the same person twice), p.c's ID used by someone else in H2,
  // and 王建国 registered again under another ID.
  Row dup = Member(p.a, "H2", "张三");
  Row shared = Member(p.c, "H2", "陈红");
  shared["birth_date"] = "1995-06-07";
  shared["sex"] = "2";
  Row again = Member(MakeId("520102", "19600101", 33), "H1", "王建国");
  again["birth_date"] = "1960-01-01";
  again["relation"] = "9";
  Row a = Member(p.a, "H1", "张三"), c = Member(p.c, "H1", "张小明"),
      d = Member(p.d, "H2", "王建国");
  c["birth_date"] = "1995-06-07";
  d["birth_date"] = "1960-01-01";
  test::WriteFile(batch / "households.csv",
                  Csv("households", {Household("H1", p.a), Household("H2", p.d)}));
  test::WriteFile(batch / "members.csv", Csv("members", {a, c, again, d, dup, shared}));
  Open();
  Import(batch);
  auto s = Link();
  std::map<std::string, int64_t> kinds(s.findings.begin(), s.findings.end());
  EXPECT_EQ(kinds["same_person_two_households"], 1);
  EXPECT_EQ(kinds["shared_id"], 1);
  EXPECT_EQ(kinds["possible_duplicate"], 1);
  auto rows = test::Query(db_,
                          "SELECT kind, id_number, household_id, other_household_id FROM "
                          "link_findings ORDER BY kind");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2], (std::vector<std::string>{"shared_id", p.c, "H1", "H2"}));
}

// A generated province: accuracy against the truth, then an incremental run after one
// department file changes.
TEST_F(LinkTest, GeneratedProvinceIsLinkedAccuratelyAndIncrementally) {
  gen::GenOptions options;
  options.scale = 0.01;
  options.seed = 11;
  options.out = tmp_ / "batch";
  auto generated = gen::Generate(options);
  ASSERT_TRUE(generated) << generated.error().ToString();
  Open();
  Import(options.out);
  auto first = Link();
  EXPECT_TRUE(first.full);
  EXPECT_GT(first.candidate_pairs, 0);

  // Accuracy, scored by the same code as the benchmark.
  fs::path links_csv = tmp_ / "links.csv";
  {
    std::ofstream out(links_csv);
    out << "dataset,row,id_number,stage,weight\n";
    ASSERT_TRUE(store_->Links()
                    .ForEachLinkRow([&](const store::LinkExportRow& r) {
                      out << r.dataset << ',' << r.source_row << ','
                          << (r.person_id ? UnpackIdNumber(static_cast<uint64_t>(r.person_id)) : "")
                          << ',' << store::LinkStageName(r.stage) << ",\n";
                      return OkStatus();
                    })
                    .ok());
  }
  auto acc = link_eval::EvaluateLinks(options.out / "_truth", links_csv);
  ASSERT_TRUE(acc) << acc.error().ToString();
  EXPECT_EQ(acc->missing_rows, 0);
  EXPECT_GE(acc->overall.Precision(), 0.999);
  EXPECT_GE(acc->overall.Recall(), 0.995);
  EXPECT_GE(acc->id_empty.Precision(), 0.99);
  EXPECT_GE(acc->id_empty.Recall(), 0.95);
  for (const auto& st : acc->by_stage)
    if (st.name == "exact" || st.name == "repaired") {
      EXPECT_EQ(st.counts.Precision(), 1.0) << st.name;
    }

  // A new health_claims snapshot (rows keyed by claim_id): the first row gone, the second
  // now about another registry person (same claim: a changed row), one claim added with a
  // mistyped ID.
  auto split = [](const std::string& line) {
    std::vector<std::string> cells;
    for (size_t pos = 0;;) {
      size_t comma = line.find(',', pos);
      cells.push_back(line.substr(pos, comma - pos));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    return cells;
  };
  auto join = [](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t i = 0; i < cells.size(); ++i) out += (i ? "," : "") + cells[i];
    return out;
  };
  std::string text = test::ReadFile(options.out / "health_claims.csv");
  std::vector<std::string> lines;
  for (size_t pos = 0; pos < text.size();) {
    size_t eol = text.find('\n', pos);
    lines.push_back(text.substr(pos, eol - pos));
    pos = eol + 1;
  }
  ASSERT_GT(lines.size(), 10u);
  ASSERT_TRUE(lines[0].starts_with("id_number,name,sex,birth_date,region_code,claim_id"));
  auto before = LinksOf(*store_, "health_claims");
  auto before_other = LinksOf(*store_, "disability");
  std::vector<std::string> changed = split(lines[2]);
  auto member = test::Query(db_,
                            "SELECT id_number, name, sex, birth_date FROM members WHERE "
                            "id_number <> '" +
                                changed[0] + "' LIMIT 1");
  ASSERT_EQ(member.size(), 1u);
  const std::string other_id = member[0][0];
  changed[0] = other_id;
  std::vector<std::string> added = split(lines[3]);
  added[0] = Mistype(other_id, 5);
  added[1] = member[0][1];
  added[2] = member[0][2];
  added[3] = member[0][3];
  added[4] = other_id.substr(0, 6);
  added[5] = "NEW-CLAIM-1";
  std::string next = lines[0] + "\n" + join(changed) + "\n";
  for (size_t i = 3; i < lines.size(); ++i) next += lines[i] + "\n";
  next += join(added) + "\n";
  fs::path batch2 = tmp_ / "batch2";
  test::WriteFile(batch2 / "health_claims.csv", next);
  Import(batch2);

  auto second = Link();
  EXPECT_FALSE(second.full);
  ASSERT_EQ(second.datasets.size(), 1u) << "only the changed data set is linked again";
  EXPECT_EQ(second.datasets[0].dataset, "health_claims");
  EXPECT_EQ(second.datasets[0].rows, 2) << "the changed row and the added one";
  EXPECT_EQ(second.datasets[0].removed, static_cast<int64_t>(before.count("1")));
  auto after = LinksOf(*store_, "health_claims");
  // Rows after the removed first one moved up by one; every other link is as it was.
  std::string added_row = std::to_string(lines.size() - 1);
  for (size_t row = 3; row + 1 < lines.size(); ++row) {
    auto b = before.find(std::to_string(row));
    auto a = after.find(std::to_string(row - 1));
    ASSERT_EQ(b == before.end(), a == after.end()) << row;
    if (b != before.end()) {
      EXPECT_EQ(a->second, b->second) << row;
    }
  }
  EXPECT_EQ(after["1"], other_id + " 1");
  EXPECT_EQ(after[added_row], other_id + " 2");
  EXPECT_EQ(LinksOf(*store_, "disability"), before_other) << "other data sets untouched";
  EXPECT_TRUE(Link().nothing_to_do);

  // Without the store's identity index (as after a file with rejected rows) the rows are
  // read one by one, and the answer is the same.
  std::map<std::string, std::map<std::string, std::string>> all;
  const char* kSets[] = {"health_claims", "disability", "vehicles", "deaths", "business"};
  for (const char* d : kSets) all[d] = LinksOf(*store_, d);
  ASSERT_GT(test::QueryInt(db_, "SELECT count(*) FROM dept_identity"), 0);
  // A damaged block of the index: the rows are read instead, same links.
  store_.reset();
  test::Query(db_, "UPDATE dept_identity SET data = x'0100000000000000' WHERE block = 0");
  Open();
  Link(/*full=*/true);
  for (const char* d : kSets) EXPECT_EQ(LinksOf(*store_, d), all[d]) << d;
  store_.reset();
  test::Query(db_, "DELETE FROM dept_identity");
  ASSERT_EQ(test::QueryInt(db_, "SELECT count(*) FROM dept_identity"), 0);
  Open();
  auto slow = Link(/*full=*/true);
  for (const char* d : kSets) EXPECT_EQ(LinksOf(*store_, d), all[d]) << d;

  // A snapshot with a rejected row keeps the rows it lacks, so it has no identity index:
  // the incremental run reads its rows and keeps the earlier exact links.
  std::string current = test::ReadFile(batch2 / "health_claims.csv");
  size_t cut = current.find('\n', current.find('\n') + 1);  // drop the first data row
  std::string with_reject = current.substr(0, current.find('\n') + 1) + current.substr(cut + 1) +
                            MakeId("520102", "19700101", 11) +
                            ",张三,1,1970-01-01,520102,,"
                            "2019-01-01,1,1,0,0\n";  // no claim_id: rejected
  fs::path batch3 = tmp_ / "batch3";
  test::WriteFile(batch3 / "health_claims.csv", with_reject);
  auto third = exchange::ImportPath(*store_, batch3, {});
  ASSERT_TRUE(third) << third.error().ToString();
  EXPECT_EQ(third->rows_rejected, 1);
  EXPECT_EQ(test::QueryInt(db_,
                           "SELECT count(*) FROM dept_identity WHERE dataset = "
                           "'health_claims'"),
            0);
  auto kept = LinksOf(*store_, "health_claims");
  auto fourth = Link();
  EXPECT_FALSE(fourth.full);
  ASSERT_EQ(fourth.datasets.size(), 1u);
  EXPECT_EQ(fourth.datasets[0].rows, 0) << "no row is new or changed";
  // Rows moved up by one in the file, so compare the links as a multiset.
  std::multiset<std::string> a, b;
  for (const auto& [row, link] : kept) a.insert(link);
  for (const auto& [row, link] : LinksOf(*store_, "health_claims")) b.insert(link);
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace fupin
