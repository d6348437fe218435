// The files a generated batch holds, with their exchange-format headers (spec order), and
// the ground-truth files beside them. Thread-safe: constant data.
#pragma once

#include <array>
#include <string_view>

namespace fupin::gen {

enum FileId : int {
  kHouseholds,
  kMembers,
  kEduStudents,
  kHealthEnrollment,
  kHealthClaims,
  kCivilDibao,
  kDisability,
  kHrEmployment,
  kRelocation,
  kVehicles,
  kBusiness,
  kProperty,
  kPublicServants,
  kDeaths,
  kFileCount
};
constexpr int kFirstDepartmentFile = kEduStudents;

struct FileLayout {
  std::string_view name;    // "households.csv"
  std::string_view header;  // "household_id,village_code,..."
};

// The identity block every department file starts with.
#define FUPIN_GEN_IDENTITY "id_number,name,sex,birth_date,region_code,"

inline constexpr std::array<FileLayout, kFileCount> kFiles = {{
    {"households.csv",
     "household_id,village_code,head_id_number,category,primary_cause,other_causes,"
     "registered_year,status,exit_year,members,housing_area_m2,housing_safe,water_safe,"
     "electricity,road_km,arable_land_mu,forest_land_mu,income_year,income_wage,income_business,"
     "income_property,income_transfer,lat,lon,cadre_id"},
    {"members.csv",
     "id_number,household_id,name,sex,birth_date,relation,ethnicity,education,in_school,health,"
     "labor,work_status,work_months,medical_insured,pension_insured"},
    {"edu_students.csv", FUPIN_GEN_IDENTITY "school_name,stage,year,subsidy_yuan"},
    {"health_enrollment.csv", FUPIN_GEN_IDENTITY "year"},
    {"health_claims.csv",
     FUPIN_GEN_IDENTITY "claim_id,admit_date,total_cost,basic_paid,critical_paid,aid_paid"},
    {"civil_dibao.csv", FUPIN_GEN_IDENTITY "type,monthly_yuan,start_date,end_date"},
    {"disability.csv", FUPIN_GEN_IDENTITY "disability_type,grade"},
    {"hr_employment.csv", FUPIN_GEN_IDENTITY "employer,place,start_date,months,monthly_wage"},
    {"relocation.csv", FUPIN_GEN_IDENTITY "from_village_code,site_name,year"},
    {"vehicles.csv", FUPIN_GEN_IDENTITY "plate,vehicle_type,register_date"},
    {"business.csv", FUPIN_GEN_IDENTITY "company_name,role,registered_capital_yuan"},
    {"property.csv", FUPIN_GEN_IDENTITY "city,area_m2,purchase_date"},
    {"public_servants.csv", FUPIN_GEN_IDENTITY "employer,start_date"},
    {"deaths.csv", FUPIN_GEN_IDENTITY "death_date"},
}};

#undef FUPIN_GEN_IDENTITY

inline constexpr std::string_view kRegionsFile = "regions.csv";
// Village attributes (村情), one row per village with households.
inline constexpr std::string_view kVillagesFile = "villages.csv";
inline constexpr std::string_view kVillagesHeader =
    "village_code,terrain,industries,road,water,power,broadband,clinic,school,distance_km,"
    "collective_income";
inline constexpr std::string_view kTruthDir = "_truth";
inline constexpr std::string_view kTruthDepartmentRows = "department_rows.csv";
inline constexpr std::string_view kTruthPlanted = "planted.csv";
inline constexpr std::string_view kTruthDirty = "dirty.csv";
inline constexpr std::string_view kTruthCounts = "counts.csv";
inline constexpr std::string_view kTruthSummary = "summary.csv";

inline constexpr std::string_view kTruthDepartmentRowsHeader = "file,row,true_id,outsider_id";
inline constexpr std::string_view kTruthPlantedHeader =
    "kind,household_id,id_number,file,row,detail";
inline constexpr std::string_view kTruthDirtyHeader = "file,row,field,kind,clean,dirty";

// Kinds of planted case (_truth/planted.csv `kind`).
enum class PlantedKind : int {
  kVehicleOwner,
  kBusinessOwner,
  kPropertyOwner,
  kPublicServant,
  kDiedActive,
  kExitReady,
  kAtRisk,
  kExitedNotSecured,
  kStudentNoSubsidy,
  kDibaoMissing,
  kUninsured,
  kChildOutOfSchool,
  kMemberCountMismatch,
  kTwoHouseholds,
  kCount
};

inline constexpr std::array<std::string_view, static_cast<int>(PlantedKind::kCount)>
    kPlantedKindNames = {
        "vehicle_owner",         "business_owner", "property_owner", "public_servant",
        "died_active",           "exit_ready",     "at_risk",        "exited_not_secured",
        "student_no_subsidy",    "dibao_missing",  "uninsured",      "child_out_of_school",
        "member_count_mismatch", "two_households",
};

}  // namespace fupin::gen
