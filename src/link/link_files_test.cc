#include "link/link_files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fupin::link {
namespace {

namespace fs = std::filesystem;

class LinkFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("fupin-linkfiles-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return dir_ / name;
  }
  std::vector<std::vector<std::string>> ReadPairs(const fs::path& p) {
    std::ifstream in(p);
    std::string line;
    std::vector<std::vector<std::string>> rows;
    while (std::getline(in, line)) {
      std::vector<std::string> cells;
      std::stringstream ss(line);
      for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
      rows.push_back(cells);
    }
    return rows;
  }
  fs::path dir_;
};

constexpr const char* kConfig = R"(left_key = "id"
right_key = "rid"
[[field]]
column = "given"
kind = "name"
[[field]]
column = "surname"
kind = "name"
[[field]]
column = "dob"
kind = "date"
[[field]]
column = "postcode"
kind = "code"
)";

TEST_F(LinkFilesTest, ConfigErrorsNameTheLineAndReason) {
  auto ok = ParseLinkFilesConfig(kConfig, "c.toml");
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(ok->left_key, "id");
  EXPECT_EQ(ok->right_key, "rid");
  ASSERT_EQ(ok->fields.size(), 4u);
  EXPECT_EQ(ok->fields[2].kind, FieldKind::kDate);

  auto bad_kind = ParseLinkFilesConfig(
      "left_key = \"id\"\n[[field]]\ncolumn = \"a\"\nkind = \"colour\"\n", "c.toml");
  ASSERT_FALSE(bad_kind);
  EXPECT_NE(bad_kind.error().message().find("c.toml:4:"), std::string::npos)
      << bad_kind.error().message();
  EXPECT_NE(bad_kind.error().message().find("colour"), std::string::npos);

  auto syntax = ParseLinkFilesConfig("left_key = \"id\n", "c.toml");
  ASSERT_FALSE(syntax);
  EXPECT_NE(syntax.error().message().find("c.toml:1:"), std::string::npos)
      << syntax.error().message();

  EXPECT_FALSE(ParseLinkFilesConfig("[[field]]\ncolumn = \"a\"\n", "c.toml"));  // no left_key
  EXPECT_FALSE(ParseLinkFilesConfig("left_key = \"id\"\n", "c.toml"));          // no field
  auto typo = ParseLinkFilesConfig("left_key = \"id\"\n[[field]]\ncolum = \"a\"\n", "c.toml");
  EXPECT_FALSE(typo);
  EXPECT_FALSE(ReadLinkFilesConfig(dir_ / "missing.toml"));
}

// People with Latin names; the right file holds most of them again with typing slips, and
// some strangers.
struct Data {
  std::string left, right;
  std::set<std::pair<std::string, std::string>> truth;
};

Data MakeData() {
  const std::vector<std::string> given = {"james",    "mary",    "john",    "patricia", "robert",
                                          "jennifer", "michael", "linda",   "william",  "elizabeth",
                                          "david",    "barbara", "richard", "susan",    "joseph",
                                          "jessica",  "thomas",  "sarah",   "charles",  "karen"};
  const std::vector<std::string> surname = {
      "smith",    "johnson",   "williams", "brown",     "jones",   "garcia",   "miller",
      "davis",    "rodriguez", "martinez", "hernandez", "lopez",   "gonzalez", "wilson",
      "anderson", "thomas",    "taylor",   "moore",     "jackson", "martin",   "lee",
      "perez",    "thompson",  "white",    "harris"};
  uint64_t state = 42;
  auto next = [&state](uint64_t n) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (state >> 33) % n;
  };
  Data d;
  d.left = "id,given,surname,dob,postcode\n";
  d.right = "rid,postcode,surname,given,dob\n";  // other column order
  for (int i = 0; i < 600; ++i) {
    std::string g = given[next(given.size())], s = surname[next(surname.size())];
    int year = 1930 + static_cast<int>(next(70)), month = 1 + static_cast<int>(next(12)),
        day = 1 + static_cast<int>(next(28));
    std::string pc = std::to_string(2000 + next(300));
    char dob[48];
    std::snprintf(dob, sizeof dob, "%04d-%02d-%02d", year, month, day);
    std::string id = "L" + std::to_string(i);
    d.left += id + "," + g + "," + s + "," + dob + "," + pc + "\n";
    if (i % 6 == 5) continue;  // not in the right file
    std::string rg = g, rs = s, rdob = dob, rpc = pc;
    switch (next(6)) {
      case 0:  // two letters swapped in the surname
        if (rs.size() > 3) std::swap(rs[1], rs[2]);
        break;
      case 1:  // another day
        rdob =
            rdob.substr(0, 8) + (day == 28 ? "27" : (day < 9 ? "0" : "") + std::to_string(day + 1));
        break;
      case 2:  // upper case and spaces
        for (char& c : rg) c = static_cast<char>(c - 'a' + 'A');
        rg = " " + rg + " ";
        break;
      case 3:  // no postcode
        rpc = "";
        break;
      default:
        break;
    }
    std::string rid = "R" + std::to_string(i);
    d.right += rid + "," + rpc + "," + rs + "," + rg + "," + rdob + "\n";
    d.truth.insert({id, rid});
  }
  for (int i = 0; i < 150; ++i) {  // strangers
    d.right += "S" + std::to_string(i) + "," + std::to_string(2000 + next(300)) + "," +
               surname[next(surname.size())] + "," + given[next(given.size())] + "," +
               std::to_string(1930 + next(70)) + "-0" + std::to_string(1 + next(9)) + "-1" +
               std::to_string(next(9)) + "\n";
  }
  return d;
}

TEST_F(LinkFilesTest, LinksTwoFilesWithoutLabels) {
  Data d = MakeData();
  auto config = ParseLinkFilesConfig(kConfig, "c.toml");
  ASSERT_TRUE(config);
  config->fields[1].right_column = "surname";  // same name, exercised anyway
  LinkFilesOptions o;
  o.left = Write("left.csv", d.left);
  o.right = Write("right.csv", d.right);
  o.out = dir_ / "pairs.csv";
  auto s = LinkFiles(*config, o);
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_EQ(s->left_records, 600);
  EXPECT_EQ(s->right_records, 650);
  EXPECT_FALSE(s->blocking_keys.empty());
  auto rows = ReadPairs(o.out);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0], (std::vector<std::string>{"left_key", "right_key", "weight", "probability"}));
  std::set<std::pair<std::string, std::string>> found;
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), 4u);
    EXPECT_GE(std::stod(rows[i][3]), 0.5);
    found.insert({rows[i][0], rows[i][1]});
  }
  size_t correct = 0;
  for (const auto& p : found) correct += d.truth.count(p);
  double precision = static_cast<double>(correct) / static_cast<double>(found.size());
  double recall = static_cast<double>(correct) / static_cast<double>(d.truth.size());
  EXPECT_GE(precision, 0.95);
  EXPECT_GE(recall, 0.95);
  EXPECT_FALSE(fs::exists(dir_ / "pairs.csv.part"));

  // A higher bar writes fewer pairs, never more.
  o.min_probability = 0.99;
  o.out = dir_ / "strict.csv";
  auto strict = LinkFiles(*config, o);
  ASSERT_TRUE(strict);
  EXPECT_LE(strict->pairs_written, s->pairs_written);
}

TEST_F(LinkFilesTest, DeduplicatesOneFileEachPairOnce) {
  std::string text = "id,given,surname,dob,postcode\n";
  Data d = MakeData();
  // The left file of MakeData plus copies of its first 50 records under new ids.
  std::stringstream in(d.left);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  for (const auto& l : lines) text += l + "\n";
  for (int i = 0; i < 50; ++i) text += "D" + lines[static_cast<size_t>(i)].substr(1) + "\n";
  std::string config_text = kConfig;
  config_text.replace(config_text.find("right_key = \"rid\"\n"), 18, "");
  auto config = ParseLinkFilesConfig(config_text, "c.toml");
  ASSERT_TRUE(config) << config.error().ToString();
  LinkFilesOptions o;
  o.left = Write("one.csv", text);
  o.out = dir_ / "dups.csv";
  auto s = LinkFiles(*config, o);
  ASSERT_TRUE(s) << s.error().ToString();
  auto rows = ReadPairs(o.out);
  std::set<std::pair<std::string, std::string>> found;
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_TRUE(found.insert({rows[i][0], rows[i][1]}).second) << "a pair written twice";
    EXPECT_FALSE(found.count({rows[i][1], rows[i][0]})) << "a pair written both ways";
  }
  int copies_found = 0;
  for (int i = 0; i < 50; ++i)
    copies_found += found.count({"L" + std::to_string(i), "D" + std::to_string(i)}) ? 1 : 0;
  EXPECT_GE(copies_found, 48);
}

TEST_F(LinkFilesTest, MissingColumnAndMissingFileAreClearErrors) {
  auto config = ParseLinkFilesConfig(kConfig, "c.toml");
  ASSERT_TRUE(config);
  LinkFilesOptions o;
  o.left = Write("left.csv", "id,given,surname,dob\nL1,a,b,2000-01-01\n");
  o.right = Write("right.csv", "rid,given,surname,dob,postcode\n");
  o.out = dir_ / "p.csv";
  auto s = LinkFiles(*config, o);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("postcode"), std::string::npos) << s.error().message();
  o.left = dir_ / "nope.csv";
  EXPECT_FALSE(LinkFiles(*config, o));
  EXPECT_FALSE(fs::exists(o.out));
}

}  // namespace
}  // namespace fupin::link
