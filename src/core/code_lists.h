// The exchange format's code lists (代码表) with Chinese and English labels.
//
// Codes are small integers as the departments write them (ethnicity keeps its two digits
// when shown). The tables are constant data; lookups are thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace fupin {

struct CodeEntry {
  int code;
  std::string_view label_zh;
  std::string_view label_en;
};

struct CodeList {
  std::string_view name;      // "category", "cause", ... as named in exchange-format.md
  std::string_view title_zh;  // 贫困户属性
  std::span<const CodeEntry> entries;

  // Returns the entry for `code`, or nullptr when the list has no such code.
  const CodeEntry* Find(int code) const;
};

// Returns the list named `name`, or nullptr. Names: category, cause, status, relation,
// education, school, health, labor, work, ethnicity, sex, yes_no, left_reason, dibao_type,
// work_place, business_role, disability_type, disability_grade, terrain.
const CodeList* FindCodeList(std::string_view name);

// Every list, for documentation and the UI.
std::span<const CodeList> AllCodeLists();

// 未脱贫 (poor now), defined once for every report and the query model's poor_* measures: a
// household whose status (the status list) is 1 未脱贫 or 3 返贫, a household that exited and
// fell back being poor again; its persons are its member rows. 已脱贫 (exited) is status 2
// or 4 (再享受政策); 9 注销 has left the registry and is neither.
bool IsPoorStatus(int status);
bool IsExitedStatus(int status);

}  // namespace fupin
