#include "service/contract.h"

#include <fmt/format.h>

#include "core/code_lists.h"
#include "core/datasets.h"

namespace fupin::service {
namespace {

std::string_view TypeText(const FieldSpec& f) {
  switch (f.type) {
    case FieldType::kText:
      return "text 文本";
    case FieldType::kInteger:
      return "integer 整数";
    case FieldType::kYear:
      return "year 年份 (1900–2100)";
    case FieldType::kDecimal:
      return "number 数值";
    case FieldType::kMoney:
      return "yuan 元 (≤ 2 decimals)";
    case FieldType::kDate:
      return "date 日期 YYYY-MM-DD";
    case FieldType::kCode:
      return "code 代码";
    case FieldType::kCodeSet:
      return "codes 代码集 (`;`)";
    case FieldType::kVillage:
      return "village 村代码 (12 digits, level 5)";
    case FieldType::kRegion:
      return "region 区划代码 (6–12 digits)";
    case FieldType::kIdNumber:
      return "ID number 身份证号 (18 characters)";
  }
  return "";
}

bool IsKey(const DatasetSpec& d, std::string_view field) {
  for (std::string_view k : d.key_fields)
    if (k == field) return true;
  return false;
}

std::string RequiredText(const DatasetSpec& d, const FieldSpec& f) {
  if (f.required || IsKey(d, f.name)) return "yes 必填";
  if (f.identity) return "identity 身份项";
  return "no";
}

std::string KeyText(const DatasetSpec& d) {
  if (d.key_fields.empty()) return "none 无 (the whole row 整行)";
  std::string out;
  for (std::string_view k : d.key_fields) out += fmt::format("{}`{}`", out.empty() ? "" : " + ", k);
  return out;
}

// What a repeated key does, within one file and across imports.
std::string_view RepeatText(DatasetKind kind) {
  switch (kind) {
    case DatasetKind::kRegions:
      return "A repeated key in one file: the later row is rejected (`duplicate_key`). A "
             "later import updates the region. "
             "同一文件内主键重复：后一行被拒绝；再次导入时更新该区划。";
    case DatasetKind::kHousehold:
      return "A repeated key in one file: the later row is rejected (`duplicate_key`). A "
             "later import updates the stored row by key and keeps every changed value in the "
             "history; rows are never deleted. 同一文件内主键重复：后一行被拒绝；再次导入按主键"
             "更新，变更记入历史，不删除。";
    case DatasetKind::kMember:
      return "A repeated key in one file: the later row is rejected (`duplicate_key`). A "
             "later import updates the stored row by key and keeps every changed value in the "
             "history; rows are never deleted. A member leaves the household by a row with "
             "`left_reason` and `left_date`; a current member of a household in the file "
             "without a row in it is reported (`member_missing`) and kept. 同一文件内主键重复："
             "后一行被拒绝；再次导入按主键更新，变更记入历史，不删除。成员减员须填写减员原因和"
             "减员日期；文件所含户的在户成员如不在文件中，报告警告并保留。";
    case DatasetKind::kDepartment:
      return "A repeated key in one file (without key: the same row twice): the later row is "
             "rejected (`duplicate_key`). Each file is the department's full snapshot and "
             "replaces the previous one. 同一文件内主键重复（无主键时为整行重复）：后一行被拒绝；"
             "每个文件是该部门的完整数据，替换上一次的数据。";
    case DatasetKind::kVillage:
      return "A repeated key in one file: the later row is rejected (`duplicate_key`). Each "
             "file lists the villages' current attributes and replaces the previous one by "
             "village code; villages it leaves out are removed unless a row of the file was "
             "rejected. The file is optional: a batch without it imports as before. "
             "同一文件内主键重复：后一行被拒绝；每个文件是各村的现状，按村代码替换上一次的数据，"
             "文件中没有的村被删除（文件中有被拒绝的行时保留）。该文件可选，批次中没有它也照常导入"
             "。";
  }
  return "";
}

std::string CodeListLink(const FieldSpec& f) {
  if (f.code_list.empty()) return "";
  return fmt::format(" — codes 代码表: [`{0}`](#code-list-{0})", f.code_list);
}

// Table cells may not hold '|'.
std::string Cell(std::string_view s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

void AppendDataset(std::string& out, const DatasetSpec& d) {
  out += fmt::format("### `{}` {} ({})\n\n", d.name, d.title_zh, d.title_en);
  out += fmt::format("File 文件: `{0}.csv` or `{0}.xlsx`. Key 主键: {1}.\n{2}\n\n", d.name,
                     KeyText(d), RepeatText(d.kind));
  out += "| column 列名 | 中文表头 | type 类型 | required 必填 | meaning 含义 |\n";
  out += "|---|---|---|---|---|\n";
  for (const FieldSpec& f : d.fields) {
    out += fmt::format("| `{}` | {} | {} | {} | {} / {}{} |\n", f.name, f.label_zh, TypeText(f),
                       RequiredText(d, f), Cell(f.note_zh), Cell(f.note_en), CodeListLink(f));
  }
  out += "\n";
}

void AppendCodeList(std::string& out, const CodeList& list) {
  out += fmt::format("<a id=\"code-list-{0}\"></a>\n### `{0}` {1}\n\n", list.name, list.title_zh);
  out += "| code 代码 | 中文 | English |\n|---|---|---|\n";
  for (const CodeEntry& e : list.entries)
    out += fmt::format(
        "| {} | {} | {} |\n",
        list.name == "ethnicity" ? fmt::format("{:02}", e.code) : fmt::format("{}", e.code),
        e.label_zh, Cell(e.label_en));
  out += "\n";
}

}  // namespace

std::string ExchangeFormatMarkdown() {
  std::string out;
  out +=
      "## The contract 数据契约\n\n"
      "Generated from the catalogue the importer uses (`src/core/datasets.cc`, "
      "`src/core/code_lists.cc`); a test fails when this part and the catalogue differ. "
      "本节由导入程序使用的数据目录生成。\n\n"
      "- A file's header row holds the English column names or the Chinese headers "
      "(表头可用英文列名或中文表头), in any order; unknown extra columns are ignored.\n"
      "- Encoding UTF-8 (with or without BOM) or GB18030/GBK; `.xlsx` files: the first sheet.\n"
      "- Dates `YYYY-MM-DD`; money in yuan with up to 2 decimals; an empty cell is unknown.\n"
      "- A code is written as its number or its Chinese label (`1` or `男`); a code set as "
      "codes separated by `;`.\n"
      "- Required 必填: the column must exist and every row needs a valid value, else the row is "
      "rejected. Identity 身份项: a bad value is a warning; the row is kept with the raw text.\n"
      "- Blank templates with these headers: `fupin template DATASET|all --out DIR`.\n\n";
  out += "## Data sets 数据集\n\n";
  for (const DatasetSpec& d : AllDatasets()) AppendDataset(out, d);
  out += "## Code lists 代码表\n\n";
  for (const CodeList& list : AllCodeLists()) AppendCodeList(out, list);
  return out;
}

Result<std::string> SpliceContract(std::string_view doc) {
  const size_t begin = doc.find(kContractBegin);
  const size_t end = doc.find(kContractEnd);
  if (begin == std::string_view::npos || end == std::string_view::npos || end < begin)
    return Err(InvalidArgument(fmt::format(
        "the document has no generated contract part: it needs a line '{}' and, after it, a "
        "line '{}' / 文档缺少生成部分的起止标记",
        kContractBegin, kContractEnd)));
  const size_t after_begin = begin + kContractBegin.size();
  return fmt::format("{}\n\n{}{}", doc.substr(0, after_begin), ExchangeFormatMarkdown(),
                     doc.substr(end));
}

}  // namespace fupin::service
