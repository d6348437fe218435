// The generator and the importer agree: a generated province imports with no rejected row,
// and the department files raise exactly the warnings their planted dirt should raise
// (docs/generator.md, "Dirty identity data", maps each dirt kind to an importer issue code).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "exchange/import.h"
#include "gen/generator.h"
#include "store/sqlite/sqlite_store.h"

namespace fupin {
namespace {

namespace fs = std::filesystem;

class GenImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fupin-genimport-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// Counts _truth/dirty.csv lines by (field, kind).
std::map<std::pair<std::string, std::string>, int64_t> DirtByKind(const fs::path& truth) {
  std::ifstream in(truth);
  std::string line;
  std::getline(in, line);  // header file,row,field,kind,clean,dirty
  std::map<std::pair<std::string, std::string>, int64_t> out;
  while (std::getline(in, line)) {
    size_t a = line.find(','), b = line.find(',', a + 1), c = line.find(',', b + 1),
           d = line.find(',', c + 1);
    out[{line.substr(b + 1, c - b - 1), line.substr(c + 1, d - c - 1)}]++;
  }
  return out;
}

TEST_F(GenImportTest, GeneratedProvinceImportsWithExactlyThePlantedWarnings) {
  gen::GenOptions options;
  options.scale = 0.004;
  options.seed = 7;
  options.out = dir_ / "batch";
  auto generated = gen::Generate(options);
  ASSERT_TRUE(generated) << generated.error().ToString();

  auto store = store::OpenSqliteStore(dir_ / "f.db");
  ASSERT_TRUE(store);
  auto summary = exchange::ImportPath(**store, options.out, {});
  ASSERT_TRUE(summary) << summary.error().ToString();
  EXPECT_EQ(summary->rows_rejected, 0);
  EXPECT_EQ(summary->files_failed, 0);
  EXPECT_EQ(summary->files.size(), 16u);  // villages.csv too
  int64_t generated_rows = 0;
  for (const auto& f : generated->files) generated_rows += f.rows;
  EXPECT_EQ(summary->rows_imported, generated_rows);

  std::map<std::string, int64_t> warnings;
  ASSERT_TRUE((*store)
                  ->ForEachIssue(summary->batch_id,
                                 [&](const store::IssueRow& r) {
                                   EXPECT_FALSE(r.is_error)
                                       << r.file_name << " " << r.row_number << " " << r.code;
                                   warnings[r.code]++;
                                   return OkStatus();
                                 })
                  .ok());
  auto dirt = DirtByKind(options.out / "_truth" / "dirty.csv");
  auto id = [&](const char* kind) { return dirt[{"id_number", kind}]; };
  auto name = [&](const char* kind) { return dirt[{"name", kind}]; };
  std::map<std::string, int64_t> expected = {
      {"id_empty", id("empty")},
      {"id_15_converted", id("old15")},
      {"id_cleaned", id("fullwidth_digits") + id("spaces") + id("lowercase_x")},
      {"name_odd_chars", name("spaces") + name("dot_variant")},
  };
  int64_t bad_digits = warnings["id_bad_check_char"] + warnings["id_bad_date"];
  warnings.erase("id_bad_check_char");
  warnings.erase("id_bad_date");
  EXPECT_EQ(bad_digits, id("mistyped_digit") + id("transposed_digits"));
  for (auto it = expected.begin(); it != expected.end();) {
    if (it->second == 0)
      it = expected.erase(it);
    else
      ++it;
  }
  EXPECT_EQ(warnings, expected);
  EXPECT_GT(id("empty"), 0) << "the scale is large enough to plant every kind";
  EXPECT_GT(name("spaces"), 0);
}

}  // namespace
}  // namespace fupin
