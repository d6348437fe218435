// What a rule can see (规则可见的数据): the household, its members and the department records
// linked to each member, as entities with typed fields. One table built from the exchange
// format's data sets (core/datasets.h) plus a few derived fields; the expression compiler
// resolves names against it, the loader loads only the fields the rules use.
// Thread-safe: constant data after first use.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/datasets.h"

namespace fupin::rules {

// Static types of expression values.
enum class VType : uint8_t {
  kBool,
  kNumber,      // integers, codes, money in yuan, areas: all as double
  kText,        // text; an empty text is missing (null)
  kDate,        // days since 1970-01-01
  kCodes,       // a code set ("4;7"): use has(field, code)
  kEntity,      // a household, member or department record (a variable)
  kCollection,  // members of a household, or department records
  kList,        // a literal list, only right of `in`
  kNull,        // the literal null
};
std::string_view VTypeName(VType t);

// How a field's value is produced.
enum class FieldSource : uint8_t {
  kColumn,        // a stored column
  kPerCapita,     // household: (wage + business + property + transfer) / members, yuan
  kIncomeTotal,   // household: wage + business + property + transfer, yuan
  kMemberRows,    // household: number of member rows in the registry
  kRegionPrefix,  // household: village_code cut to a level (aux = digits)
  kAge,           // member: whole years at the run's reference date
  kIdHouseholds,  // member: number of households that list the same ID number
  kSourceRow,     // record: data row number in the department's file
};

struct Field {
  std::string name;
  VType type = VType::kNumber;
  FieldSource source = FieldSource::kColumn;
  std::string column;  // stored column for kColumn
  bool money = false;  // stored in fen, seen in yuan
  int aux = 0;
  std::string label_zh;
};

// Entity ids: kHousehold, kMember, then one per department data set.
inline constexpr int kHousehold = 0;
inline constexpr int kMember = 1;

struct Entity {
  std::string name;                      // household, member, vehicles, ...
  const DatasetSpec* dataset = nullptr;  // its data set
  std::vector<Field> fields;
};

class Schema {
 public:
  static const Schema& Get();

  int EntityCount() const { return static_cast<int>(entities_.size()); }
  const Entity& entity(int e) const { return entities_[static_cast<size_t>(e)]; }
  // The entity of a department data set by name ("vehicles"), or -1.
  int DatasetEntity(std::string_view dataset) const;
  // A field of an entity by name, or -1.
  int FindField(int entity, std::string_view name) const;

 private:
  Schema();
  std::vector<Entity> entities_;
};

// Which fields and record collections a set of compiled expressions uses; the loader reads
// only these.
struct Usage {
  std::vector<std::vector<bool>> fields;  // [entity][field]
  std::vector<bool> records;              // [entity]: department records are reached
  Usage();
  void Use(int entity, int field) {
    fields[static_cast<size_t>(entity)][static_cast<size_t>(field)] = true;
  }
  bool Uses(int entity, int field) const {
    return fields[static_cast<size_t>(entity)][static_cast<size_t>(field)];
  }
};

}  // namespace fupin::rules
