#include "core/datasets.h"

#include <cassert>

namespace fupin {
namespace {

using T = FieldType;

// Each field: name, Chinese header, type, code list, required, identity, meaning (zh, en).
constexpr FieldSpec kRegionFields[] = {
    {"code",
     "区划代码",
     T::kText,
     {},
     true,
     false,
     "12位统计用区划代码（省 520000000000，村 520102001001）",
     "12-digit statistical region code (province 520000000000, village 520102001001)"},
    {"name", "名称", T::kText, {}, true, false, "区划名称", "the region's name"},
    {"level",
     "级别",
     T::kInteger,
     {},
     true,
     false,
     "1 省，2 市（州），3 县，4 乡镇，5 村",
     "1 province, 2 prefecture, 3 county, 4 township, 5 village"},
    {"parent_code",
     "上级代码",
     T::kText,
     {},
     false,
     false,
     "上级区划代码；省级为空",
     "code of the region above; empty for the province"},
};
constexpr std::string_view kRegionKey[] = {"code"};

constexpr FieldSpec kHouseholdFields[] = {
    {"household_id",
     "户编号",
     T::kText,
     {},
     true,
     false,
     "贫困户编号，全省唯一",
     "the household's number, unique in the province"},
    {"village_code",
     "村代码",
     T::kVillage,
     {},
     true,
     false,
     "所在村的12位区划代码（5级）",
     "12-digit code of the household's village (level 5)"},
    {"head_id_number",
     "户主身份证号",
     T::kIdNumber,
     {},
     false,
     true,
     "户主的18位公民身份号码",
     "the head of household's 18-character ID number"},
    {"category", "贫困户属性", T::kCode, "category", false, false, "一般、低保或特困供养贫困户",
     "ordinary, dibao or tekun poor household"},
    {"primary_cause", "主要致贫原因", T::kCode, "cause", false, false, "一个主要致贫原因",
     "the one main cause of poverty"},
    {"other_causes", "其他致贫原因", T::kCodeSet, "cause", false, false,
     "至多两个其他致贫原因，以;分隔", "at most two other causes, separated by ;"},
    {"registered_year",
     "识别年度",
     T::kYear,
     {},
     false,
     false,
     "识别为贫困户的年度",
     "year the household was registered as poor"},
    {"status", "脱贫状态", T::kCode, "status", false, false, "当前脱贫状态",
     "current poverty exit status"},
    {"exit_year",
     "脱贫年度",
     T::kYear,
     {},
     false,
     false,
     "脱贫年度；未脱贫为空",
     "year of exit; empty unless exited"},
    {"members",
     "家庭人口数",
     T::kInteger,
     {},
     false,
     false,
     "登记的家庭人口数",
     "number of household members as registered"},
    {"housing_area_m2",
     "住房面积",
     T::kDecimal,
     {},
     false,
     false,
     "住房面积（平方米）",
     "floor area of the dwelling (m²)"},
    {"housing_safe", "住房安全", T::kCode, "yes_no", false, false, "1 安全，0 危房",
     "1 safe, 0 dangerous (危房)"},
    {"water_safe", "饮水安全", T::kCode, "yes_no", false, false, "饮水是否安全",
     "whether drinking water is safe"},
    {"electricity", "通生活用电", T::kCode, "yes_no", false, false, "是否通生活用电",
     "whether the home has household electricity"},
    {"road_km",
     "距主干路距离(公里)",
     T::kDecimal,
     {},
     false,
     false,
     "到主干路的距离（公里）",
     "distance to the main road (km)"},
    {"arable_land_mu",
     "耕地面积(亩)",
     T::kDecimal,
     {},
     false,
     false,
     "耕地面积（亩）",
     "arable land (mu)"},
    {"forest_land_mu",
     "林地面积(亩)",
     T::kDecimal,
     {},
     false,
     false,
     "林地面积（亩）",
     "forest land (mu)"},
    {"income_year",
     "收入年度",
     T::kYear,
     {},
     false,
     false,
     "下列收入所属年度",
     "year the incomes below refer to"},
    {"income_wage",
     "工资性收入",
     T::kMoney,
     {},
     false,
     false,
     "全户全年工资性收入（元）",
     "wage income of the whole household for the year (yuan)"},
    {"income_business",
     "生产经营性收入",
     T::kMoney,
     {},
     false,
     false,
     "全年生产经营性净收入（元）",
     "net business and farming income for the year (yuan)"},
    {"income_property",
     "财产性收入",
     T::kMoney,
     {},
     false,
     false,
     "全年财产性收入（元）",
     "property income for the year (yuan)"},
    {"income_transfer",
     "转移性收入",
     T::kMoney,
     {},
     false,
     false,
     "全年转移性收入：补贴、低保、养老金、生态补偿（元）",
     "transfers for the year: subsidies, dibao, pensions, eco-compensation (yuan)"},
    {"lat", "纬度", T::kDecimal, {}, false, false, "住址纬度（WGS-84）", "latitude (WGS-84)"},
    {"lon", "经度", T::kDecimal, {}, false, false, "住址经度（WGS-84）", "longitude (WGS-84)"},
    {"cadre_id",
     "帮扶责任人编号",
     T::kText,
     {},
     false,
     false,
     "结对帮扶责任人的编号",
     "number of the cadre responsible for helping the household"},
};
constexpr std::string_view kHouseholdKey[] = {"household_id"};

constexpr FieldSpec kMemberFields[] = {
    {"id_number",
     "身份证号",
     T::kIdNumber,
     {},
     true,
     true,
     "成员的18位公民身份号码（GB 11643）",
     "the member's 18-character ID number (GB 11643)"},
    {"household_id",
     "户编号",
     T::kText,
     {},
     true,
     false,
     "所属贫困户的户编号",
     "number of the member's household"},
    {"name", "姓名", T::kText, {}, false, true, "姓名", "full name"},
    {"sex", "性别", T::kCode, "sex", false, true, "性别", "sex"},
    {"birth_date", "出生日期", T::kDate, {}, false, true, "出生日期", "date of birth"},
    {"relation", "与户主关系", T::kCode, "relation", false, false, "与户主的关系",
     "relation to the head of household"},
    {"ethnicity", "民族", T::kCode, "ethnicity", false, false, "GB 3304 两位民族代码",
     "GB 3304 two-digit ethnic group code"},
    {"education", "文化程度", T::kCode, "education", false, false, "文化程度",
     "level of education"},
    {"in_school", "在校生状况", T::kCode, "school", false, false, "在校生所在学段；非在校生为0",
     "school stage of a student; 0 when not in school"},
    {"health", "健康状况", T::kCode, "health", false, false, "健康状况", "state of health"},
    {"labor", "劳动技能", T::kCode, "labor", false, false, "劳动能力与技能",
     "ability to work and skills"},
    {"work_status", "务工状况", T::kCode, "work", false, false, "外出务工情况",
     "where the member works for wages"},
    {"work_months",
     "务工时间(月)",
     T::kInteger,
     {},
     false,
     false,
     "全年务工月数",
     "months worked for wages in the year"},
    {"medical_insured", "参加城乡居民基本医疗保险", T::kCode, "yes_no", false, false,
     "是否参加城乡居民基本医疗保险", "enrolled in basic medical insurance for residents"},
    {"pension_insured", "参加城乡居民基本养老保险", T::kCode, "yes_no", false, false,
     "是否参加城乡居民基本养老保险", "enrolled in basic pension insurance for residents"},
    {"left_reason", "减员原因", T::kCode, "left_reason", false, false,
     "成员已离开本户时填写：死亡、婚出、迁出或其他；在户成员为空",
     "filled when the member has left the household: died, married out, moved out or other; "
     "empty for a current member",
     true},
    {"left_date",
     "减员日期",
     T::kDate,
     {},
     false,
     false,
     "离开本户的日期（与减员原因同填）",
     "date the member left the household (given with left_reason)",
     true},
};
constexpr std::string_view kMemberKey[] = {"household_id", "id_number"};

// The identity block every department file starts with.
#define FUPIN_IDENTITY_BLOCK                                                                   \
  {"id_number",                                                                                \
   "身份证号",                                                                                 \
   T::kIdNumber,                                                                               \
   {},                                                                                         \
   false,                                                                                      \
   true,                                                                                       \
   "本人身份证号；可能不规范或为空",                                                           \
   "the person's ID number; may be dirty or empty"},                                           \
      {"name", "姓名", T::kText, {}, false, true, "姓名", "full name"},                        \
      {"sex", "性别", T::kCode, "sex", false, true, "性别", "sex"},                            \
      {"birth_date", "出生日期", T::kDate, {}, false, true, "出生日期", "date of birth"}, {    \
    "region_code", "区划代码", T::kRegion, {}, false, true, "户籍或居住地区划代码（6至12位）", \
        "code of the region of residence (6 to 12 digits)"                                     \
  }

constexpr FieldSpec kEduFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"school_name", "学校", T::kText, {}, false, false, "就读学校", "school attended"},
    {"stage", "学段", T::kCode, "school", false, false, "就读学段", "school stage"},
    {"year", "学年", T::kYear, {}, false, false, "资助学年", "school year of the aid"},
    {"subsidy_yuan",
     "资助金额",
     T::kMoney,
     {},
     false,
     false,
     "资助金额（元）",
     "amount of aid (yuan)"},
};
constexpr FieldSpec kEnrollmentFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"year",
     "参保年度",
     T::kYear,
     {},
     false,
     false,
     "参加基本医疗保险的年度",
     "year of enrolment in basic medical insurance"},
};
constexpr FieldSpec kClaimFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"claim_id",
     "结算单号",
     T::kText,
     {},
     true,
     false,
     "医保结算单号，唯一",
     "number of the settlement, unique"},
    {"admit_date", "入院日期", T::kDate, {}, false, false, "入院日期", "date of admission"},
    {"total_cost",
     "总费用",
     T::kMoney,
     {},
     false,
     false,
     "医疗总费用（元）",
     "total medical cost (yuan)"},
    {"basic_paid",
     "基本医保支付",
     T::kMoney,
     {},
     false,
     false,
     "基本医保支付（元）",
     "paid by basic medical insurance (yuan)"},
    {"critical_paid",
     "大病保险支付",
     T::kMoney,
     {},
     false,
     false,
     "大病保险支付（元）",
     "paid by critical illness insurance (yuan)"},
    {"aid_paid",
     "医疗救助支付",
     T::kMoney,
     {},
     false,
     false,
     "医疗救助支付（元）",
     "paid by medical aid (yuan)"},
};
constexpr std::string_view kClaimKey[] = {"claim_id"};
constexpr FieldSpec kDibaoFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"type", "类别", T::kCode, "dibao_type", false, false, "低保或特困供养",
     "dibao or tekun support"},
    {"monthly_yuan",
     "月保障金",
     T::kMoney,
     {},
     false,
     false,
     "每月保障金额（元）",
     "monthly allowance (yuan)"},
    {"start_date", "起始日期", T::kDate, {}, false, false, "开始享受日期", "date support began"},
    {"end_date",
     "终止日期",
     T::kDate,
     {},
     false,
     false,
     "终止日期；仍在享受为空",
     "date support ended; empty while it goes on"},
};
constexpr FieldSpec kDisabilityFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"disability_type", "残疾类别", T::kCode, "disability_type", false, false,
     "残疾类别（GB/T 26341）", "type of disability (GB/T 26341)"},
    {"grade", "残疾等级", T::kCode, "disability_grade", false, false, "残疾等级，一级最重",
     "grade of disability, grade 1 the most severe"},
};
constexpr FieldSpec kEmploymentFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"employer", "就业单位", T::kText, {}, false, false, "就业单位名称", "employer's name"},
    {"place", "就业地", T::kCode, "work_place", false, false, "就业地点", "place of work"},
    {"start_date", "开始日期", T::kDate, {}, false, false, "开始就业日期", "date work began"},
    {"months", "月数", T::kInteger, {}, false, false, "就业月数", "months employed"},
    {"monthly_wage", "月工资", T::kMoney, {}, false, false, "月工资（元）", "monthly wage (yuan)"},
};
constexpr FieldSpec kRelocationFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"from_village_code",
     "迁出村",
     T::kVillage,
     {},
     false,
     false,
     "迁出村的12位区划代码",
     "12-digit code of the village moved from"},
    {"site_name",
     "安置点",
     T::kText,
     {},
     false,
     false,
     "安置点名称",
     "name of the resettlement site"},
    {"year", "搬迁年度", T::kYear, {}, false, false, "搬迁年度", "year of the move"},
};
constexpr FieldSpec kVehicleFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"plate", "号牌", T::kText, {}, true, false, "机动车号牌，唯一", "number plate, unique"},
    {"vehicle_type", "车辆类型", T::kText, {}, false, false, "车辆类型", "type of vehicle"},
    {"register_date", "登记日期", T::kDate, {}, false, false, "登记日期", "date of registration"},
};
constexpr std::string_view kVehicleKey[] = {"plate"};
constexpr FieldSpec kBusinessFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"company_name", "企业名称", T::kText, {}, false, false, "企业名称", "company name"},
    {"role", "身份", T::kCode, "business_role", false, false, "在企业中的身份",
     "the person's role in the company"},
    {"registered_capital_yuan",
     "注册资本",
     T::kMoney,
     {},
     false,
     false,
     "注册资本（元）",
     "registered capital (yuan)"},
};
constexpr FieldSpec kPropertyFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"city", "城市", T::kText, {}, false, false, "房屋所在城市", "city of the property"},
    {"area_m2", "面积", T::kDecimal, {}, false, false, "建筑面积（平方米）", "floor area (m²)"},
    {"purchase_date", "购买日期", T::kDate, {}, false, false, "购买日期", "date of purchase"},
};
constexpr FieldSpec kServantFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"employer", "单位", T::kText, {}, false, false, "供养单位", "employing body"},
    {"start_date", "入职日期", T::kDate, {}, false, false, "入职日期", "date employment began"},
};
constexpr FieldSpec kDeathFields[] = {
    FUPIN_IDENTITY_BLOCK,
    {"death_date", "死亡日期", T::kDate, {}, false, false, "死亡日期", "date of death"},
};
#undef FUPIN_IDENTITY_BLOCK

constexpr FieldSpec kVillageFields[] = {
    {"village_code",
     "村代码",
     T::kVillage,
     {},
     true,
     false,
     "行政村的12位区划代码",
     "12-digit code of the administrative village"},
    {"terrain", "地形", T::kCode, "terrain", false, false, "地形地貌：1 平原 2 丘陵 3 山区 4 高原",
     "terrain: 1 plain, 2 hills, 3 mountains, 4 plateau"},
    {"industries",
     "主导产业",
     T::kText,
     {},
     false,
     false,
     "主导产业，多个用“、”分隔",
     "main industries, several separated by 、"},
    {"road", "通硬化路", T::kCode, "yes_no", false, false, "是否通硬化路",
     "whether a hard-surfaced road reaches the village"},
    {"water", "通自来水", T::kCode, "yes_no", false, false, "是否通自来水或集中供水（安全饮水）",
     "whether tap or piped safe drinking water reaches the village"},
    {"power", "通动力电", T::kCode, "yes_no", false, false, "是否通动力电（三相电）",
     "whether three-phase (industrial) power reaches the village"},
    {"broadband", "通宽带", T::kCode, "yes_no", false, false, "是否通宽带互联网",
     "whether broadband internet reaches the village"},
    {"clinic", "有卫生室", T::kCode, "yes_no", false, false, "是否有村卫生室",
     "whether the village has a clinic"},
    {"school", "有小学或教学点", T::kCode, "yes_no", false, false, "是否有小学或教学点",
     "whether the village has a primary school or teaching point"},
    {"distance_km",
     "距乡镇政府距离(公里)",
     T::kDecimal,
     {},
     false,
     false,
     "到乡镇政府所在地的距离（公里）",
     "distance to the township seat (km)"},
    {"collective_income",
     "村集体经济收入",
     T::kMoney,
     {},
     false,
     false,
     "村集体经济年收入（元）",
     "yearly income of the village collective (yuan)"},
};
constexpr std::string_view kVillageKey[] = {"village_code"};

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
    {"villages", "村情", "village attributes", K::kVillage, kVillageFields, kVillageKey,
     "villages"},
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
