#include "rules/schema.h"

namespace fupin::rules {

std::string_view VTypeName(VType t) {
  switch (t) {
    case VType::kBool:
      return "bool";
    case VType::kNumber:
      return "number";
    case VType::kText:
      return "text";
    case VType::kDate:
      return "date";
    case VType::kCodes:
      return "code set";
    case VType::kEntity:
      return "record";
    case VType::kCollection:
      return "collection";
    case VType::kList:
      return "list";
    case VType::kNull:
      return "null";
  }
  return "?";
}

namespace {

VType TypeOf(FieldType t) {
  switch (t) {
    case FieldType::kInteger:
    case FieldType::kYear:
    case FieldType::kDecimal:
    case FieldType::kMoney:
    case FieldType::kCode:
      return VType::kNumber;
    case FieldType::kDate:
      return VType::kDate;
    case FieldType::kCodeSet:
      return VType::kCodes;
    default:
      return VType::kText;
  }
}

void AddSpecFields(const DatasetSpec& d, Entity& e) {
  for (const FieldSpec& f : d.fields) {
    Field out;
    out.name = std::string(f.name);
    out.type = TypeOf(f.type);
    out.column = StoredColumnName(f);
    out.money = f.type == FieldType::kMoney;
    out.label_zh = std::string(f.label_zh);
    // A money field is seen in yuan under its exchange-format name without "_yuan".
    if (out.money && out.name.ends_with("_yuan")) out.name.resize(out.name.size() - 5);
    e.fields.push_back(std::move(out));
    if (f.type == FieldType::kIdNumber) {
      Field problem;
      problem.name =
          std::string(f.name) == "id_number" ? "id_problem" : std::string(f.name) + "_problem";
      problem.column = std::string(f.name) + "_problem";
      problem.label_zh = "身份证号问题";
      e.fields.push_back(std::move(problem));
    }
  }
}

Field Derived(std::string name, VType type, FieldSource source, std::string label, int aux = 0) {
  Field f;
  f.name = std::move(name);
  f.type = type;
  f.source = source;
  f.label_zh = std::move(label);
  f.aux = aux;
  return f;
}

}  // namespace

Schema::Schema() {
  for (const DatasetSpec& d : AllDatasets()) {
    if (d.kind == DatasetKind::kRegions || d.kind == DatasetKind::kVillage) continue;
    Entity e;
    e.dataset = &d;
    AddSpecFields(d, e);
    switch (d.kind) {
      case DatasetKind::kHousehold:
        e.name = "household";
        e.fields.push_back(
            Derived("per_capita_income", VType::kNumber, FieldSource::kPerCapita, "人均纯收入"));
        e.fields.push_back(
            Derived("income_total", VType::kNumber, FieldSource::kIncomeTotal, "家庭纯收入"));
        e.fields.push_back(
            Derived("member_rows", VType::kNumber, FieldSource::kMemberRows, "成员记录数"));
        e.fields.push_back(Derived("province", VType::kText, FieldSource::kRegionPrefix, "省", 2));
        e.fields.push_back(
            Derived("prefecture", VType::kText, FieldSource::kRegionPrefix, "市州", 4));
        e.fields.push_back(Derived("county", VType::kText, FieldSource::kRegionPrefix, "县", 6));
        e.fields.push_back(
            Derived("township", VType::kText, FieldSource::kRegionPrefix, "乡镇", 9));
        break;
      case DatasetKind::kMember:
        e.name = "member";
        e.fields.push_back(Derived("age", VType::kNumber, FieldSource::kAge, "年龄"));
        e.fields.push_back(Derived("id_households", VType::kNumber, FieldSource::kIdHouseholds,
                                   "同一身份证号所在户数"));
        break;
      default:
        e.name = std::string(d.name);
        e.fields.push_back(
            Derived("source_row", VType::kNumber, FieldSource::kSourceRow, "文件行号"));
        break;
    }
    entities_.push_back(std::move(e));
  }
  // Households first, then members, then departments (AllDatasets' order guarantees it).
}

const Schema& Schema::Get() {
  static const Schema schema;
  return schema;
}

int Schema::DatasetEntity(std::string_view dataset) const {
  for (int e = 2; e < EntityCount(); ++e)
    if (entities_[static_cast<size_t>(e)].name == dataset) return e;
  return -1;
}

int Schema::FindField(int entity, std::string_view name) const {
  const Entity& e = entities_[static_cast<size_t>(entity)];
  for (size_t i = 0; i < e.fields.size(); ++i)
    if (e.fields[i].name == name) return static_cast<int>(i);
  return -1;
}

Usage::Usage() {
  const Schema& s = Schema::Get();
  fields.resize(static_cast<size_t>(s.EntityCount()));
  for (int e = 0; e < s.EntityCount(); ++e)
    fields[static_cast<size_t>(e)].assign(s.entity(e).fields.size(), false);
  records.assign(static_cast<size_t>(s.EntityCount()), false);
}

}  // namespace fupin::rules
