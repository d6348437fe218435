// Every rule of the default rule set (data/rules/default.toml) on hand-made households: for
// each rule, households that must raise it and near misses that must not, read off the rule's
// written condition. One exchange batch is written as CSV, imported by the real importer into
// a real SQLite file, linked by the real linker, and the real engine runs the default rules;
// the flags are read back from the store and compared exactly with the expected set.
//
// Every household starts clean (status 1, category 1, safe housing and water, 3,000 yuan per
// head: below the exit line 3,747 and the monitoring line 4,827 of 2019; adults only; every
// member insured with an enrollment record; household size = member rows), so that it raises
// nothing, and each case changes only what its rule looks at. Ages are counted on
// 2019-12-31, the last day of the latest income year.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/id_number.h"
#include "exchange/import.h"
#include "link/linker.h"
#include "rules/engine.h"
#include "rules/rule_set.h"
#include "store/sqlite/sqlite_store.h"
#include "test_files.h"

namespace fupin {
namespace {

namespace fs = std::filesystem;
using test::MakeId;
using test::Row;

// The 23 rules of data/rules/default.toml, in file order.
const std::vector<std::string> kAllRules = {
    "EXC_VEHICLE",       "EXC_BUSINESS",        "EXC_PROPERTY",      "EXC_PUBLIC_SERVANT",
    "EXC_DECEASED",      "EXIT_READY",          "RISK_UNSTABLE",     "RISK_MEDICAL",
    "RISK_DISASTER",     "RISK_JOB_LOSS",       "RISK_NOT_SECURED",  "GAP_STUDENT_AID",
    "GAP_SCHOOL",        "GAP_DISABILITY_CERT", "GAP_DIBAO",         "GAP_UNINSURED",
    "GAP_MEDICAL_AID",   "GAP_RELOCATION",      "DQ_MEMBER_COUNT",   "DQ_INVALID_ID",
    "DQ_TWO_HOUSEHOLDS", "DQ_AGE_RELATION",     "DQ_IMPOSSIBLE_AGE",
};

// A flag's key: rule, household_id, id_number ("" for household-scope rules).
using Key = std::tuple<std::string, std::string, std::string>;

std::string DateDigits(const std::string& iso) {
  std::string out;
  for (char c : iso)
    if (c != '-') out += c;
  return out;
}

// An exchange batch built household by household, with the flags it must raise.
class Batch {
 public:
  // A clean household: status 1, category 1, cause 1 only, safe housing and water, income year
  // 2019 with 3,000 yuan wage income per registered head (unless `over` sets income_wage) and
  // no other income; `members` is the number of member rows unless `over` sets it.
  void House(const std::string& hid, const Row& over = {}) {
    Row row = {{"household_id", hid},       {"village_code", std::string(test::kVillage)},
               {"head_id_number", ""},      {"category", "1"},
               {"primary_cause", "1"},      {"other_causes", ""},
               {"registered_year", "2014"}, {"status", "1"},
               {"exit_year", ""},           {"housing_area_m2", "80"},
               {"housing_safe", "1"},       {"water_safe", "1"},
               {"electricity", "1"},        {"income_year", "2019"},
               {"income_business", "0"},    {"income_property", "0"},
               {"income_transfer", "0"}};
    for (const auto& [k, v] : over) row[k] = v;
    if ((row["status"] == "2" || row["status"] == "4") && row["exit_year"].empty())
      row["exit_year"] = "2018";
    if (houses_.contains(hid)) ADD_FAILURE() << "household " << hid << " twice";
    houses_[hid].row = std::move(row);
  }

  // A member of `hid`: the first one is the head (relation 1, born 1970-01-01), later ones
  // spouses (relation 2, born 1972-01-01) unless `over` says otherwise; healthy, not in
  // school, not working away, insured, and (with `enrolled`) holding a health enrollment
  // record. The ID number is made from the birth date unless `over` gives one; a person
  // already added keeps their name, sex and birth date. Returns the ID as stored
  // (normalised).
  std::string Add(const std::string& hid, const Row& over = {}, bool enrolled = true) {
    HouseSpec& h = houses_.at(hid);
    const bool head = h.ids.empty();
    Row row = {{"household_id", hid},   {"relation", head ? "1" : "2"},
               {"ethnicity", "01"},     {"education", "3"},
               {"in_school", "0"},      {"health", "1"},
               {"labor", "1"},          {"work_status", "0"},
               {"work_months", "0"},    {"medical_insured", "1"},
               {"pension_insured", "1"}};
    const int seq = seq_++;
    if (auto it = over.find("id_number"); it != over.end()) {
      auto known = identity_.find(NormalizeIdNumber(it->second).normalized);
      if (known != identity_.end())
        for (const char* k : {"name", "sex", "birth_date"}) row[k] = known->second.at(k);
    }
    if (!row.contains("birth_date")) row["birth_date"] = head ? "1970-01-01" : "1972-01-01";
    if (!row.contains("name")) row["name"] = NextName();
    if (!row.contains("sex")) row["sex"] = seq % 2 ? "1" : "2";
    for (const auto& [k, v] : over) row[k] = v;
    if (!row.contains("id_number")) {
      const std::string& birth = row["birth_date"];
      row["id_number"] = MakeId(test::kCounty, birth.empty() ? "19750101" : DateDigits(birth), seq);
    }
    const std::string id = NormalizeIdNumber(row["id_number"]).normalized;
    if (head) h.row["head_id_number"] = row["id_number"];
    h.ids.push_back(id);
    identity_[id] = {{"id_number", id},
                     {"name", row["name"]},
                     {"sex", row["sex"]},
                     {"birth_date", row["birth_date"]},
                     {"region_code", h.row["village_code"]}};
    members_.push_back(std::move(row));
    if (enrolled) Record("health_enrollment", id, {{"year", "2019"}});
    return id;
  }

  // A department record about the registry person `id` (their exact identity block, region
  // = their village). Returns its data row number in the file (1 = first after the header).
  int Record(const std::string& dataset, const std::string& id, const Row& own) {
    Row row = identity_.at(id);
    for (const auto& [k, v] : own) row[k] = v;
    return Append(dataset, std::move(row));
  }
  // A department record about someone not in the registry.
  int Outsider(const std::string& dataset, const Row& row) { return Append(dataset, row); }

  void Expect(const std::string& rule, const std::string& hid, const std::string& id = "") {
    if (!houses_.contains(hid)) ADD_FAILURE() << "Expect: no household " << hid;
    expected_.insert({rule, hid, id});
  }

  // The ID number of member `i` (0 = the head) of household `hid`.
  const std::string& M(const std::string& hid, size_t i) const { return houses_.at(hid).ids.at(i); }
  bool HasHouse(const std::string& hid) const { return houses_.contains(hid); }
  const std::set<Key>& expected() const { return expected_; }
  size_t households() const { return houses_.size(); }
  size_t members() const { return members_.size(); }

  void Write(const fs::path& dir) const {
    std::vector<Row> households;
    for (const auto& [hid, h] : houses_) {
      Row row = h.row;
      if (!row.contains("members")) row["members"] = std::to_string(h.ids.size());
      if (!row.contains("income_wage"))
        row["income_wage"] = std::to_string(3000 * std::max(1, std::stoi(row["members"])));
      households.push_back(std::move(row));
    }
    test::WriteFile(dir / "households.csv", test::Csv("households", households));
    test::WriteFile(dir / "members.csv", test::Csv("members", members_));
    for (const auto& [dataset, rows] : records_)
      test::WriteFile(dir / (dataset + ".csv"), test::Csv(dataset, rows));
  }

  // Data row numbers worth remembering, by a name the case chooses.
  std::map<std::string, int> rows;

 private:
  struct HouseSpec {
    Row row;
    std::vector<std::string> ids;
  };

  int Append(const std::string& dataset, Row row) {
    if (dataset == "health_claims" && !row.contains("claim_id"))
      row["claim_id"] = fmt::format("CL{:04d}", ++claims_);
    if (dataset == "vehicles" && !row.contains("plate"))
      row["plate"] = fmt::format("贵A{:05d}", 50000 + ++plates_);
    std::vector<Row>& file = records_[dataset];
    file.push_back(std::move(row));
    return static_cast<int>(file.size());
  }

  std::string NextName() {
    static const char* const kSurnames[] = {"张", "王", "李", "赵", "刘",
                                            "陈", "杨", "黄", "吴", "周"};
    static const char* const kGiven[] = {"伟", "芳", "娜", "敏", "静", "丽", "强",
                                         "磊", "军", "洋", "勇", "艳", "杰", "娟",
                                         "涛", "明", "超", "兰", "霞", "平"};
    const int n = names_++;
    std::string name = std::string(kSurnames[n % 10]) + kGiven[(n / 10) % 20];
    if (n >= 200) name += kGiven[(n / 200) % 20];
    return name;
  }

  std::map<std::string, HouseSpec> houses_;
  std::vector<Row> members_;
  std::map<std::string, std::vector<Row>> records_;
  std::map<std::string, Row> identity_;
  std::set<Key> expected_;
  int seq_ = 101;
  int names_ = 0;
  int claims_ = 0;
  int plates_ = 0;
};

// Status and total wage income of an exited (or other non-default) household.
Row WithStatus(const std::string& status, const std::string& wage = "") {
  Row row = {{"status", status}};
  if (!wage.empty()) row["income_wage"] = wage;
  return row;
}

// ---- 不符合条件 exclusion -----------------------------------------------------------------

void ExclusionCases(Batch& b) {
  // EXC_VEHICLE: any vehicle whose type is not a motorcycle, unless the household is removed.
  b.House("VEH-CAR");
  const std::string car = b.Add("VEH-CAR");
  b.Add("VEH-CAR");  // the spouse owns nothing
  b.rows["VEH-CAR"] = b.Record(
      "vehicles", car,
      {{"plate", "贵A10001"}, {"vehicle_type", "小型轿车"}, {"register_date", "2017-05-06"}});
  b.Expect("EXC_VEHICLE", "VEH-CAR", car);

  b.House("VEH-TRUCK");
  const std::string truck = b.Add("VEH-TRUCK");
  b.Record("vehicles", truck, {{"vehicle_type", "轻型普通货车"}, {"register_date", "2018-01-02"}});
  b.Expect("EXC_VEHICLE", "VEH-TRUCK", truck);

  b.House("VEH-MOTO");
  b.Record("vehicles", b.Add("VEH-MOTO"),
           {{"vehicle_type", "普通二轮摩托车"}, {"register_date", "2016-03-04"}});

  b.House("VEH-TRIKE");
  b.Record("vehicles", b.Add("VEH-TRIKE"),
           {{"vehicle_type", "正三轮摩托车"}, {"register_date", "2016-03-05"}});

  // A motorcycle first, then a car: flagged for the car, which is the evidence.
  b.House("VEH-BOTH");
  const std::string both = b.Add("VEH-BOTH");
  b.rows["VEH-BOTH.moto"] =
      b.Record("vehicles", both, {{"plate", "贵A20001"}, {"vehicle_type", "普通二轮摩托车"}});
  b.rows["VEH-BOTH.car"] =
      b.Record("vehicles", both, {{"plate", "贵A20002"}, {"vehicle_type", "小型普通客车"}});
  b.Expect("EXC_VEHICLE", "VEH-BOTH", both);

  b.House("VEH-GONE", WithStatus("9"));
  b.Record("vehicles", b.Add("VEH-GONE"), {{"vehicle_type", "小型轿车"}});

  // A car of someone outside the registry links to nobody and flags nobody.
  b.Outsider("vehicles", {{"id_number", MakeId(test::kCounty, "19850505", 990)},
                          {"name", "路人甲"},
                          {"sex", "2"},
                          {"birth_date", "1985-05-05"},
                          {"region_code", std::string(test::kVillage)},
                          {"plate", "贵A99999"},
                          {"vehicle_type", "小型轿车"}});

  // EXC_BUSINESS: legal representative (1) or shareholder (2).
  b.House("BIZ-LEGAL");
  const std::string legal = b.Add("BIZ-LEGAL");
  b.rows["BIZ-LEGAL"] = b.Record("business", legal,
                                 {{"company_name", "贵阳黔农商贸有限公司"},
                                  {"role", "1"},
                                  {"registered_capital_yuan", "500000"}});
  b.Expect("EXC_BUSINESS", "BIZ-LEGAL", legal);

  b.House("BIZ-SHARE");
  b.Add("BIZ-SHARE");
  const std::string shareholder = b.Add("BIZ-SHARE");
  b.Record("business", shareholder, {{"company_name", "南明区某合作社"}, {"role", "2"}});
  b.Expect("EXC_BUSINESS", "BIZ-SHARE", shareholder);

  b.House("BIZ-GONE", WithStatus("9"));
  b.Record("business", b.Add("BIZ-GONE"), {{"role", "1"}});

  // EXC_PROPERTY: any commercial housing bought.
  b.House("PROP-BUY");
  b.Add("PROP-BUY");
  const std::string buyer = b.Add("PROP-BUY");
  b.Record("property", buyer, {{"city", "贵阳"}, {"area_m2", "98.5"}});
  b.Expect("EXC_PROPERTY", "PROP-BUY", buyer);

  b.House("PROP-GONE", WithStatus("9"));
  b.Record("property", b.Add("PROP-GONE"), {{"city", "遵义"}});

  // EXC_PUBLIC_SERVANT: any record of publicly funded staff.
  b.House("PS-STAFF");
  const std::string staff = b.Add("PS-STAFF");
  b.Record("public_servants", staff, {{"employer", "南明区某小学"}, {"start_date", "2012-09-01"}});
  b.Expect("EXC_PUBLIC_SERVANT", "PS-STAFF", staff);

  b.House("PS-GONE", WithStatus("9"));
  b.Record("public_servants", b.Add("PS-GONE"), {{"employer", "南明区某小学"}});

  // EXC_DECEASED: a death registration while the household is in status 1, 2 or 3.
  b.House("DEAD-ACTIVE");
  b.Add("DEAD-ACTIVE");
  const std::string dead1 = b.Add("DEAD-ACTIVE");
  b.rows["DEAD-ACTIVE"] = b.Record("deaths", dead1, {{"death_date", "2019-03-02"}});
  b.Expect("EXC_DECEASED", "DEAD-ACTIVE", dead1);

  b.House("DEAD-EXITED", WithStatus("2", "12000"));
  b.Add("DEAD-EXITED");
  const std::string dead2 = b.Add("DEAD-EXITED");
  b.Record("deaths", dead2, {{"death_date", "2019-04-05"}});
  b.Expect("EXC_DECEASED", "DEAD-EXITED", dead2);

  b.House("DEAD-RETURNED", WithStatus("3"));
  const std::string dead3 = b.Add("DEAD-RETURNED");
  b.Record("deaths", dead3, {{"death_date", "2019-06-07"}});
  b.Expect("EXC_DECEASED", "DEAD-RETURNED", dead3);

  b.House("DEAD-DONE", WithStatus("4", "12000"));  // exited, no longer receiving support
  b.Add("DEAD-DONE");
  b.Record("deaths", b.Add("DEAD-DONE"), {{"death_date", "2019-08-09"}});

  b.House("DEAD-GONE", WithStatus("9"));
  b.Record("deaths", b.Add("DEAD-GONE"), {{"death_date", "2019-01-01"}});
}

// ---- 脱贫条件 exit readiness ----------------------------------------------------------------

void ExitCases(Batch& b) {
  // 7,496.02 over two people: 3,748.01, just above the exit line 3,747; all four kinds of
  // income count.
  b.House("EXIT-YES", {{"income_wage", "3000"},
                       {"income_business", "2000"},
                       {"income_property", "496.02"},
                       {"income_transfer", "2000"}});
  b.Add("EXIT-YES");
  b.Add("EXIT-YES");
  b.Expect("EXIT_READY", "EXIT-YES");

  b.House("EXIT-RETURNED", WithStatus("3", "3747.01"));
  b.Add("EXIT-RETURNED");
  b.Expect("EXIT_READY", "EXIT-RETURNED");

  b.House("EXIT-AT-LINE", WithStatus("1", "3747"));  // not above the line
  b.Add("EXIT-AT-LINE");

  b.House("EXIT-BELOW", WithStatus("1", "7493.98"));  // 3,746.99 per head
  b.Add("EXIT-BELOW");
  b.Add("EXIT-BELOW");

  b.House("EXIT-EXITED", WithStatus("2", "6000"));  // already exited
  b.Add("EXIT-EXITED");

  b.House("EXIT-HOUSING", {{"income_wage", "5000"}, {"housing_safe", "0"}});
  b.Add("EXIT-HOUSING");

  b.House("EXIT-WATER", {{"income_wage", "5000"}, {"water_safe", "0"}});
  b.Add("EXIT-WATER");

  // A member without an enrollment record, or registered as uninsured: not secured.
  b.House("EXIT-NOENROLL", WithStatus("1", "10000"));
  b.Add("EXIT-NOENROLL");
  b.Expect("GAP_UNINSURED", "EXIT-NOENROLL", b.Add("EXIT-NOENROLL", {}, /*enrolled=*/false));

  b.House("EXIT-UNINSURED", WithStatus("1", "10000"));
  b.Add("EXIT-UNINSURED");
  b.Expect("GAP_UNINSURED", "EXIT-UNINSURED", b.Add("EXIT-UNINSURED", {{"medical_insured", "0"}}));

  // A 10-year-old registered as out of school: not ready to exit, although education knows
  // the child (so no GAP_SCHOOL).
  b.House("EXIT-CHILD", WithStatus("1", "10000"));
  b.Add("EXIT-CHILD");
  b.Record(
      "edu_students",
      b.Add("EXIT-CHILD", {{"birth_date", "2009-05-01"}, {"relation", "3"}, {"education", "2"}}),
      {{"stage", "2"}, {"subsidy_yuan", "500"}});

  // A 16-year-old out of school is past compulsory schooling: ready to exit.
  b.House("EXIT-TEEN", WithStatus("1", "10000"));
  b.Add("EXIT-TEEN");
  b.Add("EXIT-TEEN", {{"birth_date", "2003-06-01"}, {"relation", "4"}});
  b.Expect("EXIT_READY", "EXIT-TEEN");
}

// ---- 返贫风险 return-to-poverty risk ----------------------------------------------------------

void RiskCases(Batch& b) {
  // RISK_UNSTABLE: exited (2 or 4) and per-capita income below the monitoring line 4,827.
  b.House("UNST-BELOW", WithStatus("2", "9653.98"));  // 4,826.99 per head
  b.Add("UNST-BELOW");
  b.Add("UNST-BELOW");
  b.Expect("RISK_UNSTABLE", "UNST-BELOW");

  b.House("UNST-PARTS", {{"status", "2"},
                         {"income_wage", "4000"},
                         {"income_business", "3000"},
                         {"income_property", "653.98"},
                         {"income_transfer", "2000"}});  // 9,653.98 in four parts
  b.Add("UNST-PARTS");
  b.Add("UNST-PARTS");
  b.Expect("RISK_UNSTABLE", "UNST-PARTS");

  b.House("UNST-LOW", WithStatus("4", "3000"));
  b.Add("UNST-LOW");
  b.Expect("RISK_UNSTABLE", "UNST-LOW");

  b.House("UNST-AT", WithStatus("2", "4827"));  // not below the line
  b.Add("UNST-AT");

  b.House("UNST-ABOVE", WithStatus("4", "9654.02"));  // 4,827.01 per head
  b.Add("UNST-ABOVE");
  b.Add("UNST-ABOVE");

  b.House("UNST-PARTS-ABOVE", {{"status", "2"},
                               {"income_wage", "4000"},
                               {"income_business", "3000"},
                               {"income_property", "654.02"},
                               {"income_transfer", "2000"}});
  b.Add("UNST-PARTS-ABOVE");
  b.Add("UNST-PARTS-ABOVE");

  b.House("UNST-ACTIVE", WithStatus("1", "3000"));  // not exited
  b.Add("UNST-ACTIVE");
  b.House("UNST-RETURNED", WithStatus("3", "3000"));
  b.Add("UNST-RETURNED");
  b.House("UNST-GONE", WithStatus("9", "3000"));
  b.Add("UNST-GONE");

  // RISK_MEDICAL: exited, out-of-pocket cost of the household's claims above its income.
  b.House("MED-OVER", WithStatus("2", "5000"));
  b.Record("health_claims", b.Add("MED-OVER"),
           {{"total_cost", "20000"},
            {"basic_paid", "10000"},
            {"critical_paid", "4000"},
            {"aid_paid", "999.99"}});  // 5,000.01 out of pocket
  b.Expect("RISK_MEDICAL", "MED-OVER");

  b.House("MED-EQUAL", WithStatus("2", "5000"));
  b.Record("health_claims", b.Add("MED-EQUAL"),
           {{"total_cost", "20000"},
            {"basic_paid", "10000"},
            {"critical_paid", "4000"},
            {"aid_paid", "1000"}});  // exactly the income: not above it

  // Three claims of two members: 6,000 + 1,000 + 3,000.01 > 10,000.
  b.House("MED-SUM", WithStatus("4", "10000"));
  b.Record("health_claims", b.Add("MED-SUM"),
           {{"total_cost", "8000"},
            {"basic_paid", "1000"},
            {"critical_paid", "0"},
            {"aid_paid", "1000"}});
  const std::string med_b = b.Add("MED-SUM");
  b.Record("health_claims", med_b,
           {{"total_cost", "3000"},
            {"basic_paid", "1000"},
            {"critical_paid", "0"},
            {"aid_paid", "1000"}});
  b.Record("health_claims", med_b,
           {{"total_cost", "5000.01"},
            {"basic_paid", "1000"},
            {"critical_paid", "0"},
            {"aid_paid", "1000"}});
  b.Expect("RISK_MEDICAL", "MED-SUM");

  b.House("MED-ACTIVE", WithStatus("1"));  // not exited
  b.Record("health_claims", b.Add("MED-ACTIVE"),
           {{"total_cost", "20000"},
            {"basic_paid", "5000"},
            {"critical_paid", "0"},
            {"aid_paid", "500"}});

  // RISK_DISASTER (exited, unsafe housing, disaster among the causes) and RISK_NOT_SECURED
  // (exited, unsafe housing or water).
  b.House(
      "DIS-PRIMARY",
      {{"status", "2"}, {"income_wage", "6000"}, {"housing_safe", "0"}, {"primary_cause", "4"}});
  b.Add("DIS-PRIMARY");
  b.Expect("RISK_DISASTER", "DIS-PRIMARY");
  b.Expect("RISK_NOT_SECURED", "DIS-PRIMARY");

  b.House("DIS-OTHER", {{"status", "4"},
                        {"income_wage", "6000"},
                        {"housing_safe", "0"},
                        {"primary_cause", "1"},
                        {"other_causes", "7;4"}});
  b.Add("DIS-OTHER");
  b.Expect("RISK_DISASTER", "DIS-OTHER");
  b.Expect("RISK_NOT_SECURED", "DIS-OTHER");

  b.House("DIS-SAFE", {{"status", "2"}, {"income_wage", "6000"}, {"primary_cause", "4"}});
  b.Add("DIS-SAFE");

  b.House("DIS-NOT-DISASTER", {{"status", "2"},
                               {"income_wage", "6000"},
                               {"housing_safe", "0"},
                               {"primary_cause", "1"},
                               {"other_causes", "7;9"}});
  b.Add("DIS-NOT-DISASTER");
  b.Expect("RISK_NOT_SECURED", "DIS-NOT-DISASTER");

  b.House("DIS-WATER", {{"status", "2"},
                        {"income_wage", "6000"},
                        {"water_safe", "0"},
                        {"primary_cause", "4"}});  // the housing is safe
  b.Add("DIS-WATER");
  b.Expect("RISK_NOT_SECURED", "DIS-WATER");

  b.House("DIS-ACTIVE", {{"status", "1"}, {"housing_safe", "0"}, {"primary_cause", "4"}});
  b.Add("DIS-ACTIVE");

  b.House("NSEC-WATER", {{"status", "4"}, {"income_wage", "6000"}, {"water_safe", "0"}});
  b.Add("NSEC-WATER");
  b.Expect("RISK_NOT_SECURED", "NSEC-WATER");

  b.House("NSEC-RETURNED", {{"status", "3"}, {"housing_safe", "0"}, {"water_safe", "0"}});
  b.Add("NSEC-RETURNED");

  b.House("NSEC-GONE", {{"status", "9"}, {"housing_safe", "0"}, {"primary_cause", "4"}});
  b.Add("NSEC-GONE");

  // RISK_JOB_LOSS: exited, working outside the county (3, 4), employment records of at least
  // one month, 3 or more months short of the registered months.
  b.House("JOB-SHORT", WithStatus("2", "6000"));
  const std::string short_worker = b.Add("JOB-SHORT", {{"work_status", "3"}, {"work_months", "9"}});
  b.Record("hr_employment", short_worker, {{"months", "6"}});  // 6 + 3 <= 9
  b.Expect("RISK_JOB_LOSS", "JOB-SHORT", short_worker);

  b.House("JOB-TWO", WithStatus("4", "12000"));
  b.Add("JOB-TWO");
  const std::string away = b.Add("JOB-TWO", {{"work_status", "4"}, {"work_months", "12"}});
  b.Record("hr_employment", away, {{"months", "4"}});
  b.Record("hr_employment", away, {{"months", "4"}, {"start_date", "2019-07-01"}});
  b.Expect("RISK_JOB_LOSS", "JOB-TWO", away);

  b.House("JOB-CLOSE", WithStatus("2", "6000"));
  b.Record("hr_employment", b.Add("JOB-CLOSE", {{"work_status", "3"}, {"work_months", "9"}}),
           {{"months", "7"}});  // 7 + 3 > 9

  b.House("JOB-LOCAL", WithStatus("2", "6000"));  // works in the county
  b.Record("hr_employment", b.Add("JOB-LOCAL", {{"work_status", "2"}, {"work_months", "12"}}),
           {{"months", "1"}});

  b.House("JOB-NOREC", WithStatus("2", "6000"));  // no employment record at all
  b.Add("JOB-NOREC", {{"work_status", "4"}, {"work_months", "12"}});

  b.House("JOB-ACTIVE", WithStatus("1"));  // not exited
  b.Record("hr_employment", b.Add("JOB-ACTIVE", {{"work_status", "3"}, {"work_months", "12"}}),
           {{"months", "2"}});
}

// ---- 政策落实 policy gaps -----------------------------------------------------------------

void GapCases(Batch& b) {
  // GAP_STUDENT_AID: in school (stage > 0) and no education record with a subsidy above 0.
  b.House("STU-NONE");
  b.Add("STU-NONE");
  b.Expect(
      "GAP_STUDENT_AID", "STU-NONE",
      b.Add("STU-NONE", {{"birth_date", "2010-09-01"}, {"relation", "3"}, {"in_school", "2"}}));

  b.House("STU-ZERO");
  b.Add("STU-ZERO");
  const std::string zero =
      b.Add("STU-ZERO", {{"birth_date", "2006-03-01"}, {"relation", "4"}, {"in_school", "3"}});
  b.Record("edu_students", zero, {{"stage", "3"}, {"subsidy_yuan", "0"}});
  b.Expect("GAP_STUDENT_AID", "STU-ZERO", zero);

  b.House("STU-PAID");
  b.Add("STU-PAID");
  b.Record("edu_students",
           b.Add("STU-PAID", {{"birth_date", "2008-04-04"}, {"relation", "3"}, {"in_school", "2"}}),
           {{"stage", "2"}, {"subsidy_yuan", "500"}});

  b.House("STU-MIXED");  // one record without a subsidy, one with
  b.Add("STU-MIXED");
  const std::string mixed =
      b.Add("STU-MIXED", {{"birth_date", "2002-05-05"}, {"relation", "3"}, {"in_school", "4"}});
  b.Record("edu_students", mixed, {{"stage", "4"}, {"subsidy_yuan", "0"}});
  b.Record("edu_students", mixed, {{"stage", "4"}, {"subsidy_yuan", "250"}});

  b.House("STU-COLLEGE");
  b.Add("STU-COLLEGE");
  b.Expect("GAP_STUDENT_AID", "STU-COLLEGE",
           b.Add("STU-COLLEGE", {{"birth_date", "1999-01-01"},
                                 {"relation", "4"},
                                 {"in_school", "7"},
                                 {"education", "5"}}));

  b.House("STU-GONE", WithStatus("9"));
  b.Add("STU-GONE");
  b.Add("STU-GONE", {{"birth_date", "2010-09-02"}, {"relation", "3"}, {"in_school", "2"}});

  // GAP_SCHOOL: aged 7 to 15 on 2019-12-31, registered out of school, no education record.
  b.House("SCH-SEVEN");
  b.Add("SCH-SEVEN");
  b.Expect(
      "GAP_SCHOOL", "SCH-SEVEN",
      b.Add("SCH-SEVEN", {{"birth_date", "2012-12-31"}, {"relation", "3"}, {"education", "6"}}));

  b.House("SCH-FIFTEEN");
  b.Add("SCH-FIFTEEN");
  b.Expect("GAP_SCHOOL", "SCH-FIFTEEN",
           b.Add("SCH-FIFTEEN", {{"birth_date", "2004-12-31"}, {"relation", "4"}}));

  b.House("SCH-SIX");  // turns 7 a day after the reference date
  b.Add("SCH-SIX");
  b.Add("SCH-SIX", {{"birth_date", "2013-01-01"}, {"relation", "3"}, {"education", "6"}});

  b.House("SCH-SIXTEEN");  // turned 16 on the reference date
  b.Add("SCH-SIXTEEN");
  b.Add("SCH-SIXTEEN", {{"birth_date", "2003-12-31"}, {"relation", "4"}});

  b.House("SCH-EDU");  // registered out of school, but education has a record
  b.Add("SCH-EDU");
  b.Record("edu_students", b.Add("SCH-EDU", {{"birth_date", "2009-05-02"}, {"relation", "3"}}),
           {{"stage", "2"}, {"subsidy_yuan", "500"}});

  b.House("SCH-GONE", WithStatus("9"));
  b.Add("SCH-GONE");
  b.Add("SCH-GONE", {{"birth_date", "2009-05-03"}, {"relation", "3"}});

  // GAP_DISABILITY_CERT: health 4 (disabled) and no certificate.
  b.House("CERT-NONE");
  b.Add("CERT-NONE");
  b.Expect("GAP_DISABILITY_CERT", "CERT-NONE", b.Add("CERT-NONE", {{"health", "4"}}));

  b.House("CERT-HAS");
  b.Record("disability", b.Add("CERT-HAS", {{"health", "4"}}),
           {{"disability_type", "4"}, {"grade", "2"}});

  b.House("CERT-ILL");  // seriously ill, not disabled
  b.Add("CERT-ILL", {{"health", "3"}});

  b.House("CERT-GONE", WithStatus("9"));
  b.Add("CERT-GONE", {{"health", "4"}});

  // GAP_DIBAO: category 2 or 3 and no current (no end date) civil affairs record for anyone.
  b.House("DB-NONE", {{"category", "2"}});
  b.Add("DB-NONE");
  b.Add("DB-NONE");
  b.Expect("GAP_DIBAO", "DB-NONE");

  b.House("DB-ENDED", {{"category", "3"}});
  b.Record("civil_dibao", b.Add("DB-ENDED"),
           {{"type", "2"}, {"start_date", "2016-01-01"}, {"end_date", "2018-06-30"}});
  b.Expect("GAP_DIBAO", "DB-ENDED");

  b.House("DB-CURRENT", {{"category", "2"}});  // the spouse's allowance counts
  b.Add("DB-CURRENT");
  b.Record("civil_dibao", b.Add("DB-CURRENT"),
           {{"type", "1"}, {"start_date", "2018-01-01"}, {"end_date", ""}});

  b.House("DB-MIXED", {{"category", "3"}});
  b.Record("civil_dibao", b.Add("DB-MIXED"),
           {{"type", "2"}, {"start_date", "2015-01-01"}, {"end_date", "2017-12-31"}});
  b.Record("civil_dibao", b.Add("DB-MIXED"),
           {{"type", "2"}, {"start_date", "2018-01-01"}, {"end_date", ""}});

  b.House("DB-GENERAL", {{"category", "1"}});  // an ordinary poor household needs no dibao
  b.Add("DB-GENERAL");

  b.House("DB-GONE", {{"status", "9"}, {"category", "2"}});
  b.Add("DB-GONE");

  // GAP_UNINSURED: registered uninsured, or no enrollment record.
  b.House("INS-NO");
  b.Add("INS-NO");
  b.Expect("GAP_UNINSURED", "INS-NO", b.Add("INS-NO", {{"medical_insured", "0"}}));

  b.House("INS-NOREC");
  b.Expect("GAP_UNINSURED", "INS-NOREC", b.Add("INS-NOREC", {}, /*enrolled=*/false));

  b.House("INS-GONE", WithStatus("9"));
  b.Add("INS-GONE", {{"medical_insured", "0"}}, /*enrolled=*/false);

  // GAP_MEDICAL_AID: status 1, 2 or 3 and a claim without medical aid leaving at least 100
  // yuan after basic and critical-illness insurance.
  b.House("AID-NONE");
  const std::string aid_none = b.Add("AID-NONE");
  b.Record(
      "health_claims", aid_none,
      {{"total_cost", "1000"}, {"basic_paid", "600"}, {"critical_paid", "300"}, {"aid_paid", "0"}});
  b.Expect("GAP_MEDICAL_AID", "AID-NONE", aid_none);

  b.House("AID-SMALL");  // 99.99 left
  b.Record("health_claims", b.Add("AID-SMALL"),
           {{"total_cost", "1000"},
            {"basic_paid", "600"},
            {"critical_paid", "300.01"},
            {"aid_paid", "0"}});

  b.House("AID-PAID", WithStatus("3"));  // a little aid was paid
  b.Record("health_claims", b.Add("AID-PAID"),
           {{"total_cost", "5000"},
            {"basic_paid", "2000"},
            {"critical_paid", "0"},
            {"aid_paid", "0.01"}});

  b.House("AID-EXITED", WithStatus("2", "6000"));
  const std::string aid_exited = b.Add("AID-EXITED");
  b.Record(
      "health_claims", aid_exited,
      {{"total_cost", "3000"}, {"basic_paid", "1000"}, {"critical_paid", "0"}, {"aid_paid", "0"}});
  b.Expect("GAP_MEDICAL_AID", "AID-EXITED", aid_exited);

  b.House("AID-DONE", WithStatus("4", "6000"));
  b.Record(
      "health_claims", b.Add("AID-DONE"),
      {{"total_cost", "3000"}, {"basic_paid", "1000"}, {"critical_paid", "0"}, {"aid_paid", "0"}});

  b.House("AID-GONE", WithStatus("9"));
  b.Record(
      "health_claims", b.Add("AID-GONE"),
      {{"total_cost", "3000"}, {"basic_paid", "1000"}, {"critical_paid", "0"}, {"aid_paid", "0"}});

  // The first claim had aid, the second had none: the second is the evidence.
  b.House("AID-TWO");
  const std::string aid_two = b.Add("AID-TWO");
  b.Record("health_claims", aid_two,
           {{"claim_id", "ZY2019-0001"},
            {"total_cost", "3000"},
            {"basic_paid", "1800"},
            {"critical_paid", "0"},
            {"aid_paid", "300"}});
  b.rows["AID-TWO"] = b.Record("health_claims", aid_two,
                               {{"claim_id", "ZY2019-0002"},
                                {"admit_date", "2019-10-11"},
                                {"total_cost", "2000"},
                                {"basic_paid", "1500"},
                                {"critical_paid", "0"},
                                {"aid_paid", "0"}});
  b.Expect("GAP_MEDICAL_AID", "AID-TWO", aid_two);

  // GAP_RELOCATION: a relocation record from another village than the household's.
  b.House("REL-OTHER");
  const std::string moved = b.Add("REL-OTHER");
  b.rows["REL-OTHER"] = b.Record(
      "relocation", moved,
      {{"from_village_code", std::string(test::kVillage2)}, {"site_name", "花果园安置点"}});
  b.Expect("GAP_RELOCATION", "REL-OTHER", moved);

  b.House("REL-SAME");
  b.Record("relocation", b.Add("REL-SAME"), {{"from_village_code", std::string(test::kVillage)}});

  b.House("REL-ZUNYI", {{"village_code", std::string(test::kZunyiVillage)}});
  const std::string zunyi_head = b.Add("REL-ZUNYI");
  b.Record("relocation", zunyi_head, {{"from_village_code", std::string(test::kVillage)}});
  b.Expect("GAP_RELOCATION", "REL-ZUNYI", zunyi_head);
  b.Record("relocation", b.Add("REL-ZUNYI"),
           {{"from_village_code", std::string(test::kZunyiVillage)}});

  b.House("REL-GONE", WithStatus("9"));
  b.Record("relocation", b.Add("REL-GONE"), {{"from_village_code", std::string(test::kVillage2)}});
}

// ---- 数据质量 data quality ------------------------------------------------------------------

// An ID number of `county`, born `yyyymmdd`, whose check character is X.
std::string IdEndingInX(std::string_view yyyymmdd) {
  for (int seq = 600; seq < 1000; ++seq) {
    std::string id = MakeId(test::kCounty, yyyymmdd, seq);
    if (id.back() == 'X') return id;
  }
  ADD_FAILURE() << "no ID ending in X";
  return "";
}

void DataQualityCases(Batch& b) {
  // DQ_MEMBER_COUNT: household size differs from the member rows (whatever the status).
  b.House("CNT-MORE", {{"members", "3"}});
  b.Add("CNT-MORE");
  b.Add("CNT-MORE");
  b.Expect("DQ_MEMBER_COUNT", "CNT-MORE");

  b.House("CNT-LESS", {{"members", "1"}, {"income_wage", "2000"}});
  b.Add("CNT-LESS");
  b.Add("CNT-LESS");
  b.Expect("DQ_MEMBER_COUNT", "CNT-LESS");

  b.House("CNT-EMPTY", {{"members", "2"}});  // no member rows at all
  b.Expect("DQ_MEMBER_COUNT", "CNT-EMPTY");

  b.House("CNT-GONE", {{"status", "9"}, {"members", "3"}});
  b.Add("CNT-GONE");
  b.Expect("DQ_MEMBER_COUNT", "CNT-GONE");

  b.House("CNT-EQUAL", {{"members", "4"}});
  b.Add("CNT-EQUAL");
  b.Add("CNT-EQUAL");
  b.Add("CNT-EQUAL", {{"relation", "10"}, {"birth_date", "1975-02-02"}});
  b.Add("CNT-EQUAL", {{"relation", "10"}, {"birth_date", "1976-03-03"}});

  // DQ_INVALID_ID: the importer recorded an ID problem. (A removed household, so that
  // nothing else depends on linking these people.)
  b.House("ID-BAD", WithStatus("9"));
  b.Add("ID-BAD");
  const std::string bad_check =
      b.Add("ID-BAD",
            {{"id_number", test::WithBadCheckChar(MakeId(test::kCounty, "19750303", 301))},
             {"birth_date", "1975-03-03"},
             {"sex", "1"}},
            /*enrolled=*/false);
  b.Expect("DQ_INVALID_ID", "ID-BAD", bad_check);
  std::string bad_date = "52010219701332005";  // 1970-13-32
  bad_date.push_back(test::CheckChar(bad_date));
  b.Expect("DQ_INVALID_ID", "ID-BAD",
           b.Add("ID-BAD", {{"id_number", bad_date}, {"birth_date", "1970-12-30"}, {"sex", "1"}},
                 /*enrolled=*/false));
  b.Expect(
      "DQ_INVALID_ID", "ID-BAD",
      b.Add("ID-BAD", {{"id_number", "5201021980080"}, {"birth_date", "1980-08-08"}, {"sex", "2"}},
            /*enrolled=*/false));

  // A lower-case x and an old 15-digit number are cleaned on import: valid.
  b.House("ID-CLEAN");
  b.Add("ID-CLEAN");
  const std::string x_upper = IdEndingInX("19800808");
  std::string x_lower = x_upper;
  x_lower.back() = 'x';
  const std::string x_id = b.Add("ID-CLEAN", {{"id_number", x_lower},
                                              {"birth_date", "1980-08-08"},
                                              {"sex", std::to_string(IdSex(x_upper))}});
  if (x_id != x_upper) ADD_FAILURE() << x_lower << " normalised to " << x_id;
  const std::string old_id = b.Add("ID-CLEAN", {{"id_number", "520102750615123"},
                                                {"birth_date", "1975-06-15"},
                                                {"sex", "1"},
                                                {"relation", "10"}});
  if (old_id.size() != 18) ADD_FAILURE() << "15-digit ID normalised to " << old_id;

  // DQ_TWO_HOUSEHOLDS: one ID number in two households; a namesake with another ID is not.
  b.House("TWO-A");
  b.Add("TWO-A");
  const std::string twice =
      b.Add("TWO-A", {{"name", "罗二妹"}, {"birth_date", "1975-07-07"}, {"relation", "10"}});
  b.Expect("DQ_TWO_HOUSEHOLDS", "TWO-A", twice);
  b.House("TWO-B");
  b.Add("TWO-B");
  b.Add("TWO-B", {{"id_number", twice}, {"relation", "10"}}, /*enrolled=*/false);
  b.Expect("DQ_TWO_HOUSEHOLDS", "TWO-B", twice);
  // The same person under the old 15-digit number in one household and the 18-digit one in
  // another: one ID number once the importer has widened it.
  b.House("TWO-OLD-A");
  b.Add("TWO-OLD-A");
  const std::string widened = b.Add("TWO-OLD-A", {{"name", "龙小英"},
                                                  {"birth_date", "1968-02-03"},
                                                  {"relation", "10"},
                                                  {"id_number", "520102680203124"},
                                                  {"sex", "2"}});
  b.Expect("DQ_TWO_HOUSEHOLDS", "TWO-OLD-A", widened);
  b.House("TWO-OLD-B");
  b.Add("TWO-OLD-B");
  b.Add("TWO-OLD-B", {{"id_number", widened}, {"relation", "10"}}, /*enrolled=*/false);
  b.Expect("DQ_TWO_HOUSEHOLDS", "TWO-OLD-B", widened);
  // One malformed ID number (13 digits) in two removed households: the same ID number is in
  // two households (id_households, 同一身份证号所在户数), so both rows must be flagged.
  b.House("TWO-BAD-A", WithStatus("9"));
  b.Add("TWO-BAD-A");
  const std::string malformed = b.Add("TWO-BAD-A",
                                      {{"id_number", "5201021966060"},
                                       {"birth_date", "1966-06-06"},
                                       {"sex", "1"},
                                       {"relation", "10"}},
                                      /*enrolled=*/false);
  b.Expect("DQ_INVALID_ID", "TWO-BAD-A", malformed);
  b.Expect("DQ_TWO_HOUSEHOLDS", "TWO-BAD-A", malformed);
  b.House("TWO-BAD-B", WithStatus("9"));
  b.Add("TWO-BAD-B");
  b.Add("TWO-BAD-B", {{"id_number", malformed}, {"relation", "10"}}, /*enrolled=*/false);
  b.Expect("DQ_INVALID_ID", "TWO-BAD-B", malformed);
  b.Expect("DQ_TWO_HOUSEHOLDS", "TWO-BAD-B", malformed);

  b.House("TWO-NAMESAKE");
  b.Add("TWO-NAMESAKE");
  b.Add("TWO-NAMESAKE", {{"name", "罗二妹"}, {"birth_date", "1975-07-07"}, {"relation", "10"}});

  // DQ_AGE_RELATION: a child or grandchild less than 12 * 365 days younger than the head,
  // or a parent less than that older. The head of each is born 1970-01-01.
  b.House("AGE-SON");
  b.Add("AGE-SON");
  b.Expect("DQ_AGE_RELATION", "AGE-SON",
           b.Add("AGE-SON", {{"relation", "3"}, {"birth_date", "1980-01-01"}}));

  b.House("AGE-EDGE");  // 11 whole years after the head: flagged; exactly 12: not
  b.Add("AGE-EDGE");
  b.Expect("DQ_AGE_RELATION", "AGE-EDGE",
           b.Add("AGE-EDGE", {{"relation", "3"}, {"birth_date", "1981-12-31"}}));
  b.Add("AGE-EDGE", {{"relation", "4"}, {"birth_date", "1982-01-01"}});

  b.House("AGE-PARENT");  // 11 whole years before the head: flagged; exactly 12: not
  b.Add("AGE-PARENT");
  b.Expect("DQ_AGE_RELATION", "AGE-PARENT",
           b.Add("AGE-PARENT", {{"relation", "9"}, {"birth_date", "1958-01-02"}}));
  b.Add("AGE-PARENT", {{"relation", "9"}, {"birth_date", "1958-01-01"}});

  b.House("AGE-GRAND");  // a granddaughter 8 years younger; a young in-law and spouse are fine
  b.Add("AGE-GRAND");
  b.Expect("DQ_AGE_RELATION", "AGE-GRAND",
           b.Add("AGE-GRAND", {{"relation", "8"}, {"birth_date", "1978-05-05"}}));
  b.Add("AGE-GRAND", {{"relation", "5"}, {"birth_date", "1990-02-02"}});
  b.Add("AGE-GRAND", {{"relation", "2"}, {"birth_date", "1995-01-01"}});

  // DQ_IMPOSSIBLE_AGE: no birth date, or an age below 0 or above 110 on 2019-12-31.
  b.House("OLD");
  b.Add("OLD");
  b.Expect("DQ_IMPOSSIBLE_AGE", "OLD", b.Add("OLD", {{"birth_date", ""}}));
  b.Expect("DQ_IMPOSSIBLE_AGE", "OLD",
           b.Add("OLD", {{"relation", "9"}, {"birth_date", "1908-12-31"}}));  // 111
  b.Add("OLD", {{"relation", "9"}, {"birth_date", "1909-01-01"}});            // 110
  b.Expect("DQ_IMPOSSIBLE_AGE", "OLD",
           b.Add("OLD", {{"relation", "7"}, {"birth_date", "2020-03-01"}}));  // -1
  b.Add("OLD", {{"relation", "8"}, {"birth_date", "2019-12-31"}});            // 0
}

// A household with children in school, subsidised, everyone insured: raises nothing.
void CleanCase(Batch& b) {
  b.House("CLEAN");
  b.Add("CLEAN");
  b.Add("CLEAN");
  b.Record("edu_students",
           b.Add("CLEAN", {{"birth_date", "2011-02-03"}, {"relation", "3"}, {"in_school", "2"}}),
           {{"stage", "2"}, {"subsidy_yuan", "800"}});
  b.Record("edu_students",
           b.Add("CLEAN", {{"birth_date", "2005-04-05"}, {"relation", "4"}, {"in_school", "3"}}),
           {{"stage", "3"}, {"subsidy_yuan", "1250"}});
}

struct World {
  test::TempDir tmp;
  Batch batch;
  std::unique_ptr<store::Store> store;
  link::LinkSummary linked;
  rules::RunReport report;
  std::vector<store::FlagRow> flags;
  std::string error;  // why the batch could not be imported, linked or run
};

std::string Build(World& w) {
  ExclusionCases(w.batch);
  ExitCases(w.batch);
  RiskCases(w.batch);
  GapCases(w.batch);
  DataQualityCases(w.batch);
  CleanCase(w.batch);
  const fs::path dir = w.tmp / "batch";
  w.batch.Write(dir);

  auto opened = store::OpenSqliteStore(w.tmp / "f.db");
  if (!opened) return "open: " + opened.error().ToString();
  w.store = std::move(*opened);
  auto imported = exchange::ImportPath(*w.store, dir, {});
  if (!imported) return "import: " + imported.error().ToString();
  if (imported->rows_rejected != 0 || imported->files_failed != 0) {
    std::string why = fmt::format("import: {} rows rejected, {} files failed",
                                  imported->rows_rejected, imported->files_failed);
    for (const store::IssueRow& i : test::Issues(*w.store, imported->batch_id))
      if (i.is_error)
        why += fmt::format("\n  {} row {} {} '{}': {}", i.file_name, i.row_number, i.column,
                           i.value, i.message_en);
    return why;
  }

  link::LinkOptions link_options;
  link_options.actor.user = "test";
  auto linked = link::RunLinker(*w.store, link_options);
  if (!linked) return "link: " + linked.error().ToString();
  w.linked = *linked;

  auto rules = rules::DefaultRuleSet();
  if (!rules) return "rules: " + rules.error().ToString();
  rules::RunOptions run_options;
  run_options.actor.user = "test";
  auto report = rules::RunRules(*w.store, *rules, run_options);
  if (!report) return "run: " + report.error().ToString();
  w.report = *report;

  Status st = w.store->Rules().ForEachFlag(store::FlagFilter{}, [&](const store::FlagRow& r) {
    w.flags.push_back(r);
    return OkStatus();
  });
  if (!st.ok()) return "flags: " + st.ToString();
  return "";
}

std::string Show(const std::set<Key>& keys) {
  std::string out;
  for (const auto& [rule, hid, id] : keys)
    out += fmt::format("\n  {} {} {}", rule, hid, id.empty() ? "(household)" : id);
  return out.empty() ? "\n  (none)" : out;
}

class RulesCasesTest : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    world_ = new World;
    world_->error = Build(*world_);
  }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }

 protected:
  void SetUp() override { ASSERT_TRUE(world_->error.empty()) << world_->error; }

  static const Batch& B() { return world_->batch; }
  static std::string M(const std::string& hid, size_t i) { return B().M(hid, i); }

  static std::set<Key> Actual(const std::string& rule = "") {
    std::set<Key> out;
    for (const store::FlagRow& r : world_->flags)
      if (rule.empty() || r.flag.rule == rule)
        out.insert({r.flag.rule, r.flag.household_id, r.flag.id_number});
    return out;
  }
  static std::set<Key> Expected(const std::string& rule = "") {
    std::set<Key> out;
    for (const Key& k : B().expected())
      if (rule.empty() || std::get<0>(k) == rule) out.insert(k);
    return out;
  }
  static const store::FlagRow* Find(const std::string& rule, const std::string& hid,
                                    const std::string& id = "") {
    for (const store::FlagRow& r : world_->flags)
      if (r.flag.rule == rule && r.flag.household_id == hid && r.flag.id_number == id) return &r;
    return nullptr;
  }

  // The rule's flags are exactly the expected ones (at least one), and the near-miss
  // households named raise it for nobody.
  static void ExpectRule(const std::string& rule, const std::vector<std::string>& near_misses) {
    const std::set<Key> expected = Expected(rule), actual = Actual(rule);
    EXPECT_FALSE(expected.empty()) << rule << " has no positive case";
    std::set<Key> missing, extra;
    std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(),
                        std::inserter(missing, missing.end()));
    std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(),
                        std::inserter(extra, extra.end()));
    EXPECT_TRUE(missing.empty()) << rule << ": must be raised but was not:" << Show(missing);
    EXPECT_TRUE(extra.empty()) << rule << ": raised but must not be:" << Show(extra);
    EXPECT_FALSE(near_misses.empty()) << rule << " has no negative case";
    for (const std::string& hid : near_misses) {
      EXPECT_TRUE(B().HasHouse(hid)) << hid;
      for (const Key& k : actual)
        EXPECT_NE(std::get<1>(k), hid) << rule << " raised for the near miss " << hid;
    }
  }

  static World* world_;
};

World* RulesCasesTest::world_ = nullptr;

// ---- the batch as a whole -----------------------------------------------------------------

TEST_F(RulesCasesTest, BatchImportsLinksAndRunsWithoutSurprises) {
  EXPECT_EQ(world_->report.households, static_cast<int64_t>(B().households()));
  EXPECT_EQ(world_->report.members, static_cast<int64_t>(B().members()));
  EXPECT_EQ(world_->report.data_year, 2019);
  EXPECT_EQ(world_->report.as_of, "2019-12-31");
  EXPECT_TRUE(world_->report.warnings.empty());
  // Every department row names its person exactly, except the outsider's car.
  for (const link::DatasetLinkSummary& d : world_->linked.datasets) {
    EXPECT_EQ(d.exact, d.dataset == "vehicles" ? d.rows - 1 : d.rows) << d.dataset;
    EXPECT_EQ(d.repaired + d.probabilistic + d.review, 0) << d.dataset;
  }
}

TEST_F(RulesCasesTest, DefaultRuleSetHasTheTwentyThreeRules) {
  auto rules = rules::DefaultRuleSet();
  ASSERT_TRUE(rules) << rules.error().ToString();
  std::vector<std::string> ids;
  for (const rules::Rule& r : rules->rules) ids.push_back(r.id);
  EXPECT_EQ(ids, kAllRules);
}

TEST_F(RulesCasesTest, ExactlyTheExpectedFlagsAreRaised) {
  const std::set<Key> expected = Expected(), actual = Actual();
  std::set<Key> missing, extra;
  std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(),
                      std::inserter(missing, missing.end()));
  std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(),
                      std::inserter(extra, extra.end()));
  EXPECT_TRUE(missing.empty()) << "must be raised but were not:" << Show(missing);
  EXPECT_TRUE(extra.empty()) << "raised but must not be:" << Show(extra);
  EXPECT_EQ(world_->flags.size(), actual.size()) << "a flag key twice";
  EXPECT_EQ(world_->report.outcome.opened, static_cast<int64_t>(actual.size()));
  // The run's per-rule counts agree with the stored flags.
  ASSERT_EQ(world_->report.flags_by_rule.size(), kAllRules.size());
  for (size_t r = 0; r < kAllRules.size(); ++r)
    EXPECT_EQ(world_->report.flags_by_rule[r], static_cast<int64_t>(Expected(kAllRules[r]).size()))
        << kAllRules[r];
  // Scope: person rules name a member, household rules nobody.
  for (const store::FlagRow& r : world_->flags) {
    const bool household_scope = r.flag.rule == "EXIT_READY" || r.flag.rule == "RISK_UNSTABLE" ||
                                 r.flag.rule == "RISK_MEDICAL" || r.flag.rule == "RISK_DISASTER" ||
                                 r.flag.rule == "RISK_NOT_SECURED" || r.flag.rule == "GAP_DIBAO" ||
                                 r.flag.rule == "DQ_MEMBER_COUNT";
    EXPECT_EQ(r.flag.id_number.empty(), household_scope) << r.flag.rule;
    EXPECT_EQ(r.state, store::FlagState::kOpen);
  }
}

TEST_F(RulesCasesTest, CleanHouseholdRaisesNothing) {
  for (const Key& k : Actual()) EXPECT_NE(std::get<1>(k), "CLEAN") << std::get<0>(k);
}

// ---- one test per rule: positives exact, near misses silent ----------------------------------

TEST_F(RulesCasesTest, ExcVehicle) {
  ExpectRule("EXC_VEHICLE", {"VEH-MOTO", "VEH-TRIKE", "VEH-GONE", "CLEAN"});
  EXPECT_EQ(Find("EXC_VEHICLE", "VEH-CAR", M("VEH-CAR", 1)), nullptr) << "the spouse has no car";
}

TEST_F(RulesCasesTest, ExcBusiness) {
  ExpectRule("EXC_BUSINESS", {"BIZ-GONE", "CLEAN"});
  EXPECT_EQ(Find("EXC_BUSINESS", "BIZ-SHARE", M("BIZ-SHARE", 0)), nullptr);
}

TEST_F(RulesCasesTest, ExcProperty) {
  ExpectRule("EXC_PROPERTY", {"PROP-GONE", "CLEAN"});
  EXPECT_EQ(Find("EXC_PROPERTY", "PROP-BUY", M("PROP-BUY", 0)), nullptr);
}

TEST_F(RulesCasesTest, ExcPublicServant) { ExpectRule("EXC_PUBLIC_SERVANT", {"PS-GONE", "CLEAN"}); }

TEST_F(RulesCasesTest, ExcDeceased) {
  ExpectRule("EXC_DECEASED", {"DEAD-DONE", "DEAD-GONE", "CLEAN"});
  EXPECT_EQ(Find("EXC_DECEASED", "DEAD-ACTIVE", M("DEAD-ACTIVE", 0)), nullptr) << "the living head";
}

TEST_F(RulesCasesTest, ExitReady) {
  ExpectRule("EXIT_READY",
             {"EXIT-AT-LINE", "EXIT-BELOW", "EXIT-EXITED", "EXIT-HOUSING", "EXIT-WATER",
              "EXIT-NOENROLL", "EXIT-UNINSURED", "EXIT-CHILD", "UNST-ABOVE", "DIS-SAFE", "CLEAN"});
}

TEST_F(RulesCasesTest, RiskUnstable) {
  ExpectRule("RISK_UNSTABLE", {"UNST-AT", "UNST-ABOVE", "UNST-PARTS-ABOVE", "UNST-ACTIVE",
                               "UNST-RETURNED", "UNST-GONE", "EXIT-AT-LINE", "CLEAN"});
}

TEST_F(RulesCasesTest, RiskMedical) {
  ExpectRule("RISK_MEDICAL", {"MED-EQUAL", "MED-ACTIVE", "AID-EXITED", "AID-DONE", "CLEAN"});
}

TEST_F(RulesCasesTest, RiskDisaster) {
  ExpectRule("RISK_DISASTER",
             {"DIS-SAFE", "DIS-NOT-DISASTER", "DIS-WATER", "DIS-ACTIVE", "NSEC-GONE", "CLEAN"});
}

TEST_F(RulesCasesTest, RiskJobLoss) {
  ExpectRule("RISK_JOB_LOSS", {"JOB-CLOSE", "JOB-LOCAL", "JOB-NOREC", "JOB-ACTIVE", "CLEAN"});
  EXPECT_EQ(Find("RISK_JOB_LOSS", "JOB-TWO", M("JOB-TWO", 0)), nullptr) << "works at home";
}

TEST_F(RulesCasesTest, RiskNotSecured) {
  ExpectRule("RISK_NOT_SECURED", {"DIS-SAFE", "DIS-ACTIVE", "NSEC-RETURNED", "NSEC-GONE",
                                  "EXIT-HOUSING", "EXIT-WATER", "CLEAN"});
}

TEST_F(RulesCasesTest, GapStudentAid) {
  ExpectRule("GAP_STUDENT_AID", {"STU-PAID", "STU-MIXED", "STU-GONE", "SCH-EDU", "CLEAN"});
  EXPECT_EQ(Find("GAP_STUDENT_AID", "STU-NONE", M("STU-NONE", 0)), nullptr) << "the parent";
}

TEST_F(RulesCasesTest, GapSchool) {
  ExpectRule("GAP_SCHOOL", {"SCH-SIX", "SCH-SIXTEEN", "SCH-EDU", "SCH-GONE", "EXIT-CHILD",
                            "EXIT-TEEN", "STU-NONE", "CLEAN"});
}

TEST_F(RulesCasesTest, GapDisabilityCert) {
  ExpectRule("GAP_DISABILITY_CERT", {"CERT-HAS", "CERT-ILL", "CERT-GONE", "CLEAN"});
}

TEST_F(RulesCasesTest, GapDibao) {
  ExpectRule("GAP_DIBAO", {"DB-CURRENT", "DB-MIXED", "DB-GENERAL", "DB-GONE", "CLEAN"});
}

TEST_F(RulesCasesTest, GapUninsured) {
  ExpectRule("GAP_UNINSURED", {"INS-GONE", "ID-CLEAN", "TWO-B", "CLEAN"});
  EXPECT_EQ(Find("GAP_UNINSURED", "INS-NO", M("INS-NO", 0)), nullptr);
}

TEST_F(RulesCasesTest, GapMedicalAid) {
  ExpectRule("GAP_MEDICAL_AID",
             {"AID-SMALL", "AID-PAID", "AID-DONE", "AID-GONE", "MED-OVER", "MED-SUM", "CLEAN"});
}

TEST_F(RulesCasesTest, GapRelocation) {
  ExpectRule("GAP_RELOCATION", {"REL-SAME", "REL-GONE", "CLEAN"});
  EXPECT_EQ(Find("GAP_RELOCATION", "REL-ZUNYI", M("REL-ZUNYI", 1)), nullptr)
      << "moved from the household's own village";
}

TEST_F(RulesCasesTest, DqMemberCount) { ExpectRule("DQ_MEMBER_COUNT", {"CNT-EQUAL", "CLEAN"}); }

TEST_F(RulesCasesTest, DqInvalidId) {
  ExpectRule("DQ_INVALID_ID", {"ID-CLEAN", "CLEAN"});
  EXPECT_EQ(Find("DQ_INVALID_ID", "ID-BAD", M("ID-BAD", 0)), nullptr);
}

TEST_F(RulesCasesTest, DqTwoHouseholds) {
  ExpectRule("DQ_TWO_HOUSEHOLDS", {"TWO-NAMESAKE", "CLEAN"});
  EXPECT_EQ(Find("DQ_TWO_HOUSEHOLDS", "TWO-A", M("TWO-A", 0)), nullptr);
  EXPECT_EQ(Find("DQ_TWO_HOUSEHOLDS", "TWO-B", M("TWO-B", 0)), nullptr);
}

TEST_F(RulesCasesTest, DqAgeRelation) {
  ExpectRule("DQ_AGE_RELATION", {"CLEAN", "SCH-SEVEN", "OLD"});
  EXPECT_EQ(Find("DQ_AGE_RELATION", "AGE-EDGE", M("AGE-EDGE", 2)), nullptr) << "exactly 12 years";
  EXPECT_EQ(Find("DQ_AGE_RELATION", "AGE-PARENT", M("AGE-PARENT", 2)), nullptr)
      << "exactly 12 years";
  EXPECT_EQ(Find("DQ_AGE_RELATION", "AGE-GRAND", M("AGE-GRAND", 2)), nullptr) << "in-law";
  EXPECT_EQ(Find("DQ_AGE_RELATION", "AGE-GRAND", M("AGE-GRAND", 3)), nullptr) << "spouse";
  EXPECT_EQ(Find("DQ_AGE_RELATION", "AGE-SON", M("AGE-SON", 0)), nullptr) << "the head";
}

TEST_F(RulesCasesTest, DqImpossibleAge) {
  ExpectRule("DQ_IMPOSSIBLE_AGE", {"CLEAN", "SCH-SIX"});
  EXPECT_EQ(Find("DQ_IMPOSSIBLE_AGE", "OLD", M("OLD", 3)), nullptr) << "aged 110";
  EXPECT_EQ(Find("DQ_IMPOSSIBLE_AGE", "OLD", M("OLD", 5)), nullptr) << "born on the last day";
}

// ---- evidence -----------------------------------------------------------------------------

TEST_F(RulesCasesTest, VehicleEvidenceNamesThePlateAndTheRow) {
  const store::FlagRow* f = Find("EXC_VEHICLE", "VEH-CAR", M("VEH-CAR", 0));
  ASSERT_NE(f, nullptr);
  const int row = B().rows.at("VEH-CAR");
  EXPECT_EQ(f->flag.evidence_dataset, "vehicles");
  EXPECT_EQ(f->flag.evidence_row, row);
  EXPECT_EQ(f->flag.category, "exclusion");
  EXPECT_EQ(f->flag.severity, "high");
  EXPECT_EQ(f->flag.village_code, test::kVillage);
  const std::string& zh = f->flag.evidence_zh;
  EXPECT_NE(zh.find(M("VEH-CAR", 0)), std::string::npos) << zh;
  EXPECT_NE(zh.find("小型轿车"), std::string::npos) << zh;
  EXPECT_NE(zh.find("号牌贵A10001"), std::string::npos) << zh;
  EXPECT_NE(zh.find("2017-05-06"), std::string::npos) << zh;
  EXPECT_NE(zh.find(fmt::format("vehicles.csv 第{}行", row)), std::string::npos) << zh;
  const std::string& en = f->flag.evidence_en;
  EXPECT_NE(en.find("plate 贵A10001"), std::string::npos) << en;
  EXPECT_NE(en.find(fmt::format("vehicles.csv row {}", row)), std::string::npos) << en;

  // With a motorcycle and a car, the car is the evidence.
  const store::FlagRow* both = Find("EXC_VEHICLE", "VEH-BOTH", M("VEH-BOTH", 0));
  ASSERT_NE(both, nullptr);
  EXPECT_EQ(both->flag.evidence_row, B().rows.at("VEH-BOTH.car"));
  EXPECT_NE(both->flag.evidence_zh.find("贵A20002"), std::string::npos) << both->flag.evidence_zh;
  EXPECT_EQ(both->flag.evidence_zh.find("贵A20001"), std::string::npos) << both->flag.evidence_zh;
}

TEST_F(RulesCasesTest, BusinessEvidenceNamesTheCompanyAndTheRow) {
  const store::FlagRow* f = Find("EXC_BUSINESS", "BIZ-LEGAL", M("BIZ-LEGAL", 0));
  ASSERT_NE(f, nullptr);
  const int row = B().rows.at("BIZ-LEGAL");
  EXPECT_EQ(f->flag.evidence_dataset, "business");
  EXPECT_EQ(f->flag.evidence_row, row);
  const std::string& zh = f->flag.evidence_zh;
  EXPECT_NE(zh.find("贵阳黔农商贸有限公司"), std::string::npos) << zh;
  EXPECT_NE(zh.find("注册资本500000元"), std::string::npos) << zh;
  EXPECT_NE(zh.find(fmt::format("business.csv 第{}行", row)), std::string::npos) << zh;
}

TEST_F(RulesCasesTest, DeathEvidenceNamesTheDateAndTheRow) {
  const store::FlagRow* f = Find("EXC_DECEASED", "DEAD-ACTIVE", M("DEAD-ACTIVE", 1));
  ASSERT_NE(f, nullptr);
  const int row = B().rows.at("DEAD-ACTIVE");
  EXPECT_EQ(f->flag.evidence_dataset, "deaths");
  EXPECT_EQ(f->flag.evidence_row, row);
  const std::string& zh = f->flag.evidence_zh;
  EXPECT_NE(zh.find("于2019-03-02登记死亡"), std::string::npos) << zh;
  EXPECT_NE(zh.find("户DEAD-ACTIVE状态仍为1"), std::string::npos) << zh;
  EXPECT_NE(zh.find(fmt::format("deaths.csv 第{}行", row)), std::string::npos) << zh;
}

TEST_F(RulesCasesTest, MedicalAidEvidenceIsTheClaimWithoutAid) {
  const store::FlagRow* f = Find("GAP_MEDICAL_AID", "AID-TWO", M("AID-TWO", 0));
  ASSERT_NE(f, nullptr);
  const int row = B().rows.at("AID-TWO");
  EXPECT_EQ(f->flag.evidence_dataset, "health_claims");
  EXPECT_EQ(f->flag.evidence_row, row);
  const std::string& zh = f->flag.evidence_zh;
  EXPECT_NE(zh.find("结算单ZY2019-0002总费用2000元"), std::string::npos) << zh;
  EXPECT_NE(zh.find("基本医保1500元"), std::string::npos) << zh;
  EXPECT_EQ(zh.find("ZY2019-0001"), std::string::npos) << zh;
  EXPECT_NE(zh.find(fmt::format("health_claims.csv 第{}行", row)), std::string::npos) << zh;
}

TEST_F(RulesCasesTest, RelocationEvidenceNamesBothVillages) {
  const store::FlagRow* f = Find("GAP_RELOCATION", "REL-OTHER", M("REL-OTHER", 0));
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->flag.evidence_dataset, "relocation");
  EXPECT_EQ(f->flag.evidence_row, B().rows.at("REL-OTHER"));
  const std::string& zh = f->flag.evidence_zh;
  EXPECT_NE(zh.find(fmt::format("迁出村为{}", test::kVillage2)), std::string::npos) << zh;
  EXPECT_NE(zh.find(fmt::format("建档立卡村为{}", test::kVillage)), std::string::npos) << zh;
}

TEST_F(RulesCasesTest, HouseholdEvidenceQuotesIncomeAndLines) {
  const store::FlagRow* unstable = Find("RISK_UNSTABLE", "UNST-BELOW");
  ASSERT_NE(unstable, nullptr);
  EXPECT_EQ(unstable->flag.evidence_dataset, "");
  EXPECT_EQ(unstable->flag.evidence_row, 0);
  EXPECT_NE(unstable->flag.evidence_zh.find("2019年人均纯收入4826.99元，低于监测标准4827元"),
            std::string::npos)
      << unstable->flag.evidence_zh;

  const store::FlagRow* exit = Find("EXIT_READY", "EXIT-YES");
  ASSERT_NE(exit, nullptr);
  EXPECT_NE(exit->flag.evidence_zh.find("人均纯收入3748.01元，高于脱贫标准3747元"),
            std::string::npos)
      << exit->flag.evidence_zh;

  const store::FlagRow* medical = Find("RISK_MEDICAL", "MED-OVER");
  ASSERT_NE(medical, nullptr);
  EXPECT_NE(medical->flag.evidence_zh.find("自付5000.01元，超过家庭纯收入5000元"),
            std::string::npos)
      << medical->flag.evidence_zh;
}

}  // namespace
}  // namespace fupin
