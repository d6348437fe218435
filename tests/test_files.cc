#include "test_files.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <iconv.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <utility>

namespace fupin::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = fmt::format("{}/fupin-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  char* made = mkdtemp(templ.data());
  if (made == nullptr) {
    ADD_FAILURE() << "mkdtemp " << templ << ": " << std::strerror(errno);
    return;
  }
  path_ = made;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void WriteFile(const fs::path& path, std::string_view bytes) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) ADD_FAILURE() << "cannot write " << path;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string Utf8ToGb18030(std::string_view utf8) {
  iconv_t cd = iconv_open("GB18030", "UTF-8");
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    ADD_FAILURE() << "iconv has no GB18030 converter";
    return "";
  }
  std::string in(utf8);
  std::string out(in.size() * 2 + 16, '\0');
  char* src = in.data();
  size_t src_left = in.size();
  char* dst = out.data();
  size_t dst_left = out.size();
  if (iconv(cd, &src, &src_left, &dst, &dst_left) == static_cast<size_t>(-1))
    ADD_FAILURE() << "iconv to GB18030 failed: " << std::strerror(errno);
  iconv_close(cd);
  out.resize(out.size() - dst_left);
  return out;
}

// ---- identity ---------------------------------------------------------------------------

char CheckChar(std::string_view first17) {
  static constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (first17[i] - '0') * kWeights[i];
  return "10X98765432"[sum % 11];
}

std::string MakeId(std::string_view county6, std::string_view yyyymmdd, int seq) {
  std::string id = fmt::format("{}{}{:03d}", county6, yyyymmdd, seq);
  if (id.size() != 17) ADD_FAILURE() << "MakeId: bad parts " << id;
  id.push_back(CheckChar(id));
  return id;
}

std::string WithBadCheckChar(std::string id18) {
  char good = id18.back();
  id18.back() = good == '0' ? '1' : '0';
  return id18;
}

// ---- exchange files ---------------------------------------------------------------------

namespace {

struct DatasetColumns {
  std::string_view dataset;
  std::vector<std::pair<std::string, std::string>> columns;  // English name, Chinese label
};

// Copied from exchange-format.md, not from core/datasets.cc: the tests check the code
// against the spec.
const std::vector<std::pair<std::string, std::string>> kIdentityBlock = {
    {"id_number", "身份证号"},   {"name", "姓名"}, {"sex", "性别"}, {"birth_date", "出生日期"},
    {"region_code", "区划代码"},
};

std::vector<std::pair<std::string, std::string>> Dept(
    std::vector<std::pair<std::string, std::string>> own) {
  std::vector<std::pair<std::string, std::string>> all = kIdentityBlock;
  all.insert(all.end(), own.begin(), own.end());
  return all;
}

const std::vector<DatasetColumns>& Catalogue() {
  static const auto* catalogue = new std::vector<DatasetColumns>{
      {"regions",
       {{"code", "区划代码"}, {"name", "名称"}, {"level", "级别"}, {"parent_code", "上级代码"}}},
      {"households",
       {{"household_id", "户编号"},
        {"village_code", "村代码"},
        {"head_id_number", "户主身份证号"},
        {"category", "贫困户属性"},
        {"primary_cause", "主要致贫原因"},
        {"other_causes", "其他致贫原因"},
        {"registered_year", "识别年度"},
        {"status", "脱贫状态"},
        {"exit_year", "脱贫年度"},
        {"members", "家庭人口数"},
        {"housing_area_m2", "住房面积"},
        {"housing_safe", "住房安全"},
        {"water_safe", "饮水安全"},
        {"electricity", "通生活用电"},
        {"road_km", "距主干路距离(公里)"},
        {"arable_land_mu", "耕地面积(亩)"},
        {"forest_land_mu", "林地面积(亩)"},
        {"income_year", "收入年度"},
        {"income_wage", "工资性收入"},
        {"income_business", "生产经营性收入"},
        {"income_property", "财产性收入"},
        {"income_transfer", "转移性收入"},
        {"lat", "纬度"},
        {"lon", "经度"},
        {"cadre_id", "帮扶责任人编号"}}},
      {"members",
       {{"id_number", "身份证号"},
        {"household_id", "户编号"},
        {"name", "姓名"},
        {"sex", "性别"},
        {"birth_date", "出生日期"},
        {"relation", "与户主关系"},
        {"ethnicity", "民族"},
        {"education", "文化程度"},
        {"in_school", "在校生状况"},
        {"health", "健康状况"},
        {"labor", "劳动技能"},
        {"work_status", "务工状况"},
        {"work_months", "务工时间(月)"},
        {"medical_insured", "参加城乡居民基本医疗保险"},
        {"pension_insured", "参加城乡居民基本养老保险"}}},
      {"edu_students", Dept({{"school_name", "学校"},
                             {"stage", "学段"},
                             {"year", "学年"},
                             {"subsidy_yuan", "资助金额"}})},
      {"health_enrollment", Dept({{"year", "参保年度"}})},
      {"health_claims", Dept({{"claim_id", "结算单号"},
                              {"admit_date", "入院日期"},
                              {"total_cost", "总费用"},
                              {"basic_paid", "基本医保支付"},
                              {"critical_paid", "大病保险支付"},
                              {"aid_paid", "医疗救助支付"}})},
      {"civil_dibao", Dept({{"type", "类别"},
                            {"monthly_yuan", "月保障金"},
                            {"start_date", "起始日期"},
                            {"end_date", "终止日期"}})},
      {"disability", Dept({{"disability_type", "残疾类别"}, {"grade", "残疾等级"}})},
      {"hr_employment", Dept({{"employer", "就业单位"},
                              {"place", "就业地"},
                              {"start_date", "开始日期"},
                              {"months", "月数"},
                              {"monthly_wage", "月工资"}})},
      {"relocation",
       Dept({{"from_village_code", "迁出村"}, {"site_name", "安置点"}, {"year", "搬迁年度"}})},
      {"vehicles",
       Dept({{"plate", "号牌"}, {"vehicle_type", "车辆类型"}, {"register_date", "登记日期"}})},
      {"business", Dept({{"company_name", "企业名称"},
                         {"role", "身份"},
                         {"registered_capital_yuan", "注册资本"}})},
      {"property", Dept({{"city", "城市"}, {"area_m2", "面积"}, {"purchase_date", "购买日期"}})},
      {"public_servants", Dept({{"employer", "单位"}, {"start_date", "入职日期"}})},
      {"deaths", Dept({{"death_date", "死亡日期"}})},
  };
  return *catalogue;
}

const DatasetColumns& Find(std::string_view dataset) {
  for (const DatasetColumns& d : Catalogue())
    if (d.dataset == dataset) return d;
  ADD_FAILURE() << "unknown data set " << dataset;
  return Catalogue().front();
}

std::string CsvField(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

const std::vector<std::string>& Columns(std::string_view dataset) {
  static auto* cache = new std::map<std::string, std::vector<std::string>, std::less<>>();
  auto it = cache->find(dataset);
  if (it != cache->end()) return it->second;
  std::vector<std::string> names;
  for (const auto& [en, zh] : Find(dataset).columns) names.push_back(en);
  return cache->emplace(std::string(dataset), std::move(names)).first->second;
}

const std::vector<std::string>& ChineseColumns(std::string_view dataset) {
  static auto* cache = new std::map<std::string, std::vector<std::string>, std::less<>>();
  auto it = cache->find(dataset);
  if (it != cache->end()) return it->second;
  std::vector<std::string> names;
  for (const auto& [en, zh] : Find(dataset).columns) names.push_back(zh);
  return cache->emplace(std::string(dataset), std::move(names)).first->second;
}

Row DefaultRow(std::string_view dataset) {
  if (dataset == "regions")
    return {{"code", "520102016099"},
            {"name", "测试村"},
            {"level", "5"},
            {"parent_code", std::string(kTownship)}};
  if (dataset == "households")
    return {{"household_id", "H0001"},
            {"village_code", std::string(kVillage)},
            {"head_id_number", MakeId(kCounty, "19700101", 11)},
            {"category", "1"},
            {"primary_cause", "1"},
            {"other_causes", "7;9"},
            {"registered_year", "2014"},
            {"status", "1"},
            {"exit_year", ""},
            {"members", "3"},
            {"housing_area_m2", "80.5"},
            {"housing_safe", "1"},
            {"water_safe", "1"},
            {"electricity", "1"},
            {"road_km", "1.2"},
            {"arable_land_mu", "2.5"},
            {"forest_land_mu", "0"},
            {"income_year", "2015"},
            {"income_wage", "8000"},
            {"income_business", "1200.5"},
            {"income_property", "0"},
            {"income_transfer", "2400.25"},
            {"lat", "26.58"},
            {"lon", "106.71"},
            {"cadre_id", "C001"}};
  if (dataset == "members")
    return {{"id_number", MakeId(kCounty, "19700101", 11)},
            {"household_id", "H0001"},
            {"name", "张三"},
            {"sex", "1"},
            {"birth_date", "1970-01-01"},
            {"relation", "1"},
            {"ethnicity", "01"},
            {"education", "3"},
            {"in_school", "0"},
            {"health", "1"},
            {"labor", "1"},
            {"work_status", "0"},
            {"work_months", "0"},
            {"medical_insured", "1"},
            {"pension_insured", "1"}};
  Row row = {{"id_number", MakeId(kCounty, "19800101", 21)},
             {"name", "王五"},
             {"sex", "2"},
             {"birth_date", "1980-01-01"},
             {"region_code", std::string(kVillage)}};
  static const std::map<std::string, std::string, std::less<>> kOwn = {
      {"school_name", "南明区第一小学"},
      {"stage", "2"},
      {"year", "2019"},
      {"subsidy_yuan", "500"},
      {"claim_id", "CL0001"},
      {"admit_date", "2019-03-04"},
      {"total_cost", "3000.5"},
      {"basic_paid", "1800"},
      {"critical_paid", "0"},
      {"aid_paid", "300"},
      {"type", "1"},
      {"monthly_yuan", "350"},
      {"start_date", "2018-01-01"},
      {"end_date", ""},
      {"disability_type", "4"},
      {"grade", "2"},
      {"employer", "贵阳某公司"},
      {"place", "2"},
      {"months", "6"},
      {"monthly_wage", "3200"},
      {"from_village_code", std::string(kVillage2)},
      {"site_name", "花果园安置点"},
      {"plate", "贵A12345"},
      {"vehicle_type", "小型轿车"},
      {"register_date", "2017-05-06"},
      {"company_name", "贵州某有限公司"},
      {"role", "1"},
      {"registered_capital_yuan", "100000"},
      {"city", "贵阳"},
      {"area_m2", "98.5"},
      {"purchase_date", "2016-08-09"},
      {"death_date", "2020-02-03"},
  };
  for (const std::string& c : Columns(dataset)) {
    if (row.contains(c)) continue;
    auto it = kOwn.find(c);
    row[c] = it == kOwn.end() ? "" : it->second;
  }
  return row;
}

std::string CsvLine(const std::vector<std::string>& cells) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) line += (i ? "," : "") + CsvField(cells[i]);
  return line + "\n";
}

std::string Csv(std::string_view dataset, const std::vector<Row>& rows, bool chinese_header) {
  const std::vector<std::string>& columns = Columns(dataset);
  std::string out = CsvLine(chinese_header ? ChineseColumns(dataset) : columns);
  Row defaults = DefaultRow(dataset);
  for (const Row& row : rows) {
    for (const auto& [name, value] : row)
      if (!defaults.contains(name)) ADD_FAILURE() << dataset << " has no column " << name;
    std::vector<std::string> cells;
    for (const std::string& c : columns) {
      auto it = row.find(c);
      cells.push_back(it != row.end() ? it->second : defaults[c]);
    }
    out += CsvLine(cells);
  }
  return out;
}

Row Household(std::string id, std::string head_id, std::string village) {
  Row row = {{"household_id", std::move(id)}};
  if (!head_id.empty()) row["head_id_number"] = std::move(head_id);
  if (!village.empty()) row["village_code"] = std::move(village);
  return row;
}

Row Member(std::string id_number, std::string household_id, std::string name) {
  return {{"id_number", std::move(id_number)},
          {"household_id", std::move(household_id)},
          {"name", std::move(name)}};
}

// ---- the store --------------------------------------------------------------------------

namespace {

// An open SQLite connection, closed on destruction.
class Db {
 public:
  explicit Db(const fs::path& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << path << ": " << (db_ ? sqlite3_errmsg(db_) : "no memory");
      sqlite3_close_v2(db_);
      db_ = nullptr;
    }
    if (db_) sqlite3_busy_timeout(db_, 5000);
  }
  ~Db() { sqlite3_close_v2(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  std::vector<std::vector<std::string>> Rows(const std::string& sql) {
    std::vector<std::vector<std::string>> out;
    if (!db_) return out;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "SQL error in '" << sql << "': " << sqlite3_errmsg(db_);
      return out;
    }
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
        const auto* text = sqlite3_column_text(stmt, c);
        row.emplace_back(
            text ? std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt, c))
                 : "NULL");
      }
      out.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) ADD_FAILURE() << "SQL error in '" << sql << "': " << sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace

std::vector<std::vector<std::string>> Query(const fs::path& db, const std::string& sql) {
  return Db(db).Rows(sql);
}

int64_t QueryInt(const fs::path& db, const std::string& sql) {
  auto rows = Query(db, sql);
  if (rows.empty() || rows[0].empty() || rows[0][0] == "NULL") return -1;
  return std::stoll(rows[0][0]);
}

std::map<std::string, int64_t> TableCounts(const fs::path& path) {
  Db db(path);
  std::map<std::string, int64_t> counts;
  for (const auto& row : db.Rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name "
                                 "NOT LIKE 'sqlite_%' ORDER BY name")) {
    auto n = db.Rows(fmt::format("SELECT count(*) FROM \"{}\"", row[0]));
    counts[row[0]] = n.empty() ? -1 : std::stoll(n[0][0]);
  }
  return counts;
}

std::vector<store::IssueRow> Issues(store::Store& store, int64_t batch_id) {
  std::vector<store::IssueRow> out;
  Status st = store.ForEachIssue(batch_id, [&](const store::IssueRow& r) {
    out.push_back(r);
    return OkStatus();
  });
  if (!st.ok()) ADD_FAILURE() << "ForEachIssue: " << st.ToString();
  return out;
}

}  // namespace fupin::test
