#include "core/datasets.h"

#include <cassert>

namespace fupin {
namespace {

using T = FieldType;

constexpr FieldSpec kRegionFields[] = {
    {"code", "区划代码", T::kText, {}, true},
    {"name", "名称", T::kText, {}, true},
    {"level", "级别", T::kInteger, {}, true},
    {"parent_code", "上级代码", T::kText},
};
constexpr std::string_view kRegionKey[] = {"code"};

constexpr FieldSpec kHouseholdFields[] = {
    {"household_id", "户编号", T::kText, {}, true},
    {"village_code", "村代码", T::kVillage, {}, true},
    {"head_id_number", "户主身份证号", T::kIdNumber, {}, false, true},
    {"category", "贫困户属性", T::kCode, "category"},
    {"primary_cause", "主要致贫原因", T::kCode, "cause"},
    {"other_causes", "其他致贫原因", T::kCodeSet, "cause"},
    {"registered_year", "识别年度", T::kYear},
    {"status", "脱贫状态", T::kCode, "status"},
    {"exit_year", "脱贫年度", T::kYear},
    {"members", "家庭人口数", T::kInteger},
    {"housing_area_m2", "住房面积", T::kDecimal},
    {"housing_safe", "住房安全", T::kCode, "yes_no"},
    {"water_safe", "饮水安全", T::kCode, "yes_no"},
    {"electricity", "通生活用电", T::kCode, "yes_no"},
    {"road_km", "距主干路距离(公里)", T::kDecimal},
    {"arable_land_mu", "耕地面积(亩)", T::kDecimal},
    {"forest_land_mu", "林地面积(亩)", T::kDecimal},
    {"income_year", "收入年度", T::kYear},
    {"income_wage", "工资性收入", T::kMoney},
    {"income_business", "生产经营性收入", T::kMoney},
    {"income_property", "财产性收入", T::kMoney},
    {"income_transfer", "转移性收入", T::kMoney},
    {"lat", "纬度", T::kDecimal},
    {"lon", "经度", T::kDecimal},
    {"cadre_id", "帮扶责任人编号", T::kText},
};
constexpr std::string_view kHouseholdKey[] = {"household_id"};

constexpr FieldSpec kMemberFields[] = {
    {"id_number", "身份证号", T::kIdNumber, {}, true, true},
    {"household_id", "户编号", T::kText, {}, true},
    {"name", "姓名", T::kText, {}, false, true},
    {"sex", "性别", T::kCode, "sex", false, true},
    {"birth_date", "出生日期", T::kDate, {}, false, true},
    {"relation", "与户主关系", T::kCode, "relation"},
    {"ethnicity", "民族", T::kCode, "ethnicity"},
    {"education", "文化程度", T::kCode, "education"},
    {"in_school", "在校生状况", T::kCode, "school"},
    {"health", "健康状况", T::kCode, "health"},
    {"labor", "劳动技能", T::kCode, "labor"},
    {"work_status", "务工状况", T::kCode, "work"},
    {"work_months", "务工时间(月)", T::kInteger},
    {"medical_insured", "参加城乡居民基本医疗保险", T::kCode, "yes_no"},
    {"pension_insured", "参加城乡居民基本养老保险", T::kCode, "yes_no"},
};
constexpr std::string_view kMemberKey[] = {"household_id", "id_number"};

// The identity block every department file starts with.
#define FUPIN_IDENTITY_BLOCK                                                                      \
  {"id_number", "身份证号", T::kIdNumber, {}, false, true},                                       \
      {"name", "姓名", T::kText, {}, false, true}, {"sex", "性别", T::kCode, "sex", false, true}, \
      {"birth_date", "出生日期", T::kDate, {}, false, true}, {                                    \
    "region_code", "区划代码", T::kRegion, {}, false, true                                        \
  }

constexpr FieldSpec kEduFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"school_name", "学校", T::kText},
    {"stage", "学段", T::kCode, "school"},
    {"year", "学年", T::kYear},
    {"subsidy_yuan", "资助金额", T::kMoney},
};
constexpr FieldSpec kEnrollmentFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"year", "参保年度", T::kYear},
};
constexpr FieldSpec kClaimFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"claim_id", "结算单号", T::kText, {}, true},
    {"admit_date", "入院日期", T::kDate},
    {"total_cost", "总费用", T::kMoney},
    {"basic_paid", "基本医保支付", T::kMoney},
    {"critical_paid", "大病保险支付", T::kMoney},
    {"aid_paid", "医疗救助支付", T::kMoney},
};
constexpr std::string_view kClaimKey[] = {"claim_id"};
constexpr FieldSpec kDibaoFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"type", "类别", T::kCode, "dibao_type"},
    {"monthly_yuan", "月保障金", T::kMoney},
    {"start_date", "起始日期", T::kDate},
    {"end_date", "终止日期", T::kDate},
};
constexpr FieldSpec kDisabilityFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"disability_type", "残疾类别", T::kCode, "disability_type"},
    {"grade", "残疾等级", T::kCode, "disability_grade"},
};
constexpr FieldSpec kEmploymentFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"employer", "就业单位", T::kText},
    {"place", "就业地", T::kCode, "work_place"},
    {"start_date", "开始日期", T::kDate},
    {"months", "月数", T::kInteger},
    {"monthly_wage", "月工资", T::kMoney},
};
constexpr FieldSpec kRelocationFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"from_village_code", "迁出村", T::kVillage},
    {"site_name", "安置点", T::kText},
    {"year", "搬迁年度", T::kYear},
};
constexpr FieldSpec kVehicleFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"plate", "号牌", T::kText, {}, true},
    {"vehicle_type", "车辆类型", T::kText},
    {"register_date", "登记日期", T::kDate},
};
constexpr std::string_view kVehicleKey[] = {"plate"};
constexpr FieldSpec kBusinessFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"company_name", "企业名称", T::kText},
    {"role", "身份", T::kCode, "business_role"},
    {"registered_capital_yuan", "注册资本", T::kMoney},
};
constexpr FieldSpec kPropertyFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"city", "城市", T::kText},
    {"area_m2", "面积", T::kDecimal},
    {"purchase_date", "购买日期", T::kDate},
};
constexpr FieldSpec kServantFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"employer", "单位", T::kText},
    {"start_date", "入职日期", T::kDate},
};
constexpr FieldSpec kDeathFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"death_date", "死亡日期", T::kDate},
};
#undef FUPIN_IDENTITY_BLOCK

using K = DatasetKind;
constexpr DatasetSpec kDatasets[] = {
    {"regions", "行政区划", "regions", K::kRegions, kRegionFields, kRegionKey, "regions"},
    {"households", "贫困户", "poor households", K::kHousehold, kHouseholdFields, kHouseholdKey,
     "households"},
    {"members", "家庭成员", "household members", K::kMember, kMemberFields, kMemberKey, "members"},
    {"edu_students",
     "教育 学生资助",
     "education: students",
     K::kDepartment,
     kEduFields,
     {},
     "dept_edu_students"},
    {"health_enrollment",
     "医保 参保",
     "health insurance: enrollment",
     K::kDepartment,
     kEnrollmentFields,
     {},
     "dept_health_enrollment"},
    {"health_claims", "医保 结算", "health insurance: claims", K::kDepartment, kClaimFields,
     kClaimKey, "dept_health_claims"},
    {"civil_dibao",
     "民政 低保特困",
     "civil affairs: dibao and tekun",
     K::kDepartment,
     kDibaoFields,
     {},
     "dept_civil_dibao"},
    {"disability",
     "残联 残疾证",
     "disability certificates",
     K::kDepartment,
     kDisabilityFields,
     {},
     "dept_disability"},
    {"hr_employment",
     "人社 就业",
     "human resources: employment",
     K::kDepartment,
     kEmploymentFields,
     {},
     "dept_hr_employment"},
    {"relocation",
     "生态移民 搬迁",
     "relocation",
     K::kDepartment,
     kRelocationFields,
     {},
     "dept_relocation"},
    {"vehicles", "公安 车辆", "police: vehicles", K::kDepartment, kVehicleFields, kVehicleKey,
     "dept_vehicles"},
    {"business",
     "市场监管 企业",
     "market regulation: businesses",
     K::kDepartment,
     kBusinessFields,
     {},
     "dept_business"},
    {"property",
     "住建 商品房",
     "housing: commercial property",
     K::kDepartment,
     kPropertyFields,
     {},
     "dept_property"},
    {"public_servants",
     "财政 供养人员",
     "finance: publicly funded staff",
     K::kDepartment,
     kServantFields,
     {},
     "dept_public_servants"},
    {"deaths",
     "公安 死亡登记",
     "police: death registrations",
     K::kDepartment,
     kDeathFields,
     {},
     "dept_deaths"},
};

std::string_view SqlType(FieldType type) {
  switch (type) {
    case T::kInteger:
    case T::kYear:
    case T::kMoney:
    case T::kCode:
      return "INTEGER";
    case T::kDecimal:
      return "REAL";
    default:
      return "TEXT";
  }
}

}  // namespace

std::span<const DatasetSpec> AllDatasets() { return kDatasets; }

const DatasetSpec* FindDataset(std::string_view name) {
  for (const DatasetSpec& d : kDatasets)
    if (d.name == name) return &d;
  return nullptr;
}

std::string StoredColumnName(const FieldSpec& field) {
  if (field.type != T::kMoney) return std::string(field.name);
  std::string_view base = field.name;
  if (base.ends_with("_yuan")) base.remove_suffix(5);
  return std::string(base) + "_fen";
}

// Stored columns per field: main; + raw and problem for an ID; + raw for identity fields.
static size_t ColumnsOf(const FieldSpec& f) {
  return f.type == T::kIdNumber ? 3 : f.identity ? 2 : 1;
}

size_t StoredSlot(const DatasetSpec& dataset, std::string_view field) {
  size_t slot = 0;
  for (const FieldSpec& f : dataset.fields) {
    if (f.name == field) return slot;
    slot += ColumnsOf(f);
  }
  assert(false && "StoredSlot: no such field");
  return 0;
}

std::vector<StoredColumn> StoredColumns(const DatasetSpec& dataset) {
  std::vector<StoredColumn> out;
  for (const FieldSpec& f : dataset.fields) {
    out.push_back({StoredColumnName(f), SqlType(f.type)});
    if (f.type == T::kIdNumber) {
      out.push_back({std::string(f.name) + "_raw", "TEXT"});
      out.push_back({std::string(f.name) + "_problem", "INTEGER"});
    } else if (f.identity) {
      out.push_back({std::string(f.name) + "_raw", "TEXT"});
    }
  }
  return out;
}

}  // namespace fupin
