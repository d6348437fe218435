#include "service/template.h"

#include <fmt/format.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include <string>

#include "core/code_lists.h"

namespace fupin::service {
namespace {

namespace fs = std::filesystem;

// Columns whose digits must stay text: ID numbers, region codes and free text (household
// numbers such as 0012 keep their zeros).
bool IsTextColumn(FieldType type) {
  return type == FieldType::kIdNumber || type == FieldType::kText || type == FieldType::kVillage ||
         type == FieldType::kRegion;
}

std::string ColumnLetters(size_t col) {
  std::string out;
  for (size_t n = col + 1; n > 0; n = (n - 1) / 26)
    out.insert(out.begin(), static_cast<char>('A' + (n - 1) % 26));
  return out;
}

class TemplateWriter {
 public:
  explicit TemplateWriter(lxw_workbook* wb) : wb_(wb) {}

  Status Write(const DatasetSpec& d) {
    lxw_worksheet* data = workbook_add_worksheet(wb_, std::string(d.name).c_str());
    lxw_worksheet* notes = workbook_add_worksheet(wb_, "说明");
    lxw_worksheet* codes = workbook_add_worksheet(wb_, "代码表");
    if (!data || !notes || !codes) return Unavailable("cannot add a worksheet");
    lxw_format* header = workbook_add_format(wb_);
    format_set_bold(header);
    format_set_bg_color(header, 0xDDEBF7);
    format_set_num_format_index(header, 49);  // built-in "@": text
    lxw_format* text = workbook_add_format(wb_);
    format_set_num_format_index(text, 49);

    // The code lists the data set uses, one column each on 代码表.
    std::vector<std::string_view> lists;
    for (const FieldSpec& f : d.fields) {
      if (f.type != FieldType::kCode || f.code_list.empty()) continue;
      bool seen = false;
      for (std::string_view l : lists) seen |= l == f.code_list;
      if (!seen) lists.push_back(f.code_list);
    }
    for (size_t c = 0; c < lists.size(); ++c) {
      const CodeList* list = FindCodeList(lists[c]);
      const auto col = static_cast<lxw_col_t>(c);
      Check(worksheet_write_string(codes, 0, col, std::string(list->title_zh).c_str(), header));
      for (size_t i = 0; i < list->entries.size(); ++i)
        Check(worksheet_write_string(codes, static_cast<lxw_row_t>(i + 1), col,
                                     std::string(list->entries[i].label_zh).c_str(), nullptr));
      worksheet_set_column(codes, col, col, 16, nullptr);
    }

    Check(worksheet_write_string(notes, 0, 0, "列名 column", header));
    Check(worksheet_write_string(notes, 0, 1, "中文表头", header));
    Check(worksheet_write_string(notes, 0, 2, "必填 required", header));
    Check(worksheet_write_string(notes, 0, 3, "说明", header));
    Check(worksheet_write_string(notes, 0, 4, "meaning", header));
    worksheet_set_column(notes, 0, 1, 22, nullptr);
    worksheet_set_column(notes, 2, 2, 12, nullptr);
    worksheet_set_column(notes, 3, 4, 60, nullptr);

    for (size_t i = 0; i < d.fields.size(); ++i) {
      const FieldSpec& f = d.fields[i];
      const auto col = static_cast<lxw_col_t>(i);
      Check(worksheet_write_string(data, 0, col, std::string(f.label_zh).c_str(), header));
      worksheet_set_column(data, col, col, f.type == FieldType::kIdNumber ? 22 : 14,
                           IsTextColumn(f.type) ? text : nullptr);
      bool key = f.required;
      for (std::string_view k : d.key_fields) key |= k == f.name;
      const auto row = static_cast<lxw_row_t>(i + 1);
      Check(worksheet_write_string(notes, row, 0, std::string(f.name).c_str(), nullptr));
      Check(worksheet_write_string(notes, row, 1, std::string(f.label_zh).c_str(), nullptr));
      Check(worksheet_write_string(notes, row, 2, key ? "是" : "否", nullptr));
      std::string note_zh(f.note_zh);
      if (f.type == FieldType::kCodeSet)
        note_zh +=
            fmt::format("（填写{}代码或名称，以;分隔）", FindCodeList(f.code_list)->title_zh);
      else if (f.type == FieldType::kDate)
        note_zh += "（格式 YYYY-MM-DD）";
      Check(worksheet_write_string(notes, row, 3, note_zh.c_str(), nullptr));
      Check(worksheet_write_string(notes, row, 4, std::string(f.note_en).c_str(), nullptr));
      if (f.type == FieldType::kCode) AddDropDown(data, col, f, lists);
    }
    worksheet_freeze_panes(data, 1, 0);
    worksheet_freeze_panes(notes, 1, 0);
    worksheet_activate(data);
    return status_;
  }

 private:
  // A drop-down of the list's Chinese labels, read from its column on 代码表 (a literal list
  // is limited to 255 characters, too few for 民族).
  void AddDropDown(lxw_worksheet* data, lxw_col_t col, const FieldSpec& f,
                   const std::vector<std::string_view>& lists) {
    size_t at = 0;
    while (lists[at] != f.code_list) ++at;
    const CodeList* list = FindCodeList(f.code_list);
    const std::string letters = ColumnLetters(at);
    std::string formula = fmt::format("=代码表!${0}$2:${0}${1}", letters, list->entries.size() + 1);
    std::string title = std::string(f.label_zh);
    std::string message = fmt::format("请从{}中选择", list->title_zh);
    lxw_data_validation dv{};
    dv.validate = LXW_VALIDATION_TYPE_LIST_FORMULA;
    dv.value_formula = formula.data();
    dv.error_title = title.data();
    dv.error_message = message.data();
    Check(worksheet_data_validation_range(data, 1, col, LXW_ROW_MAX - 1, col, &dv));
  }

  void Check(lxw_error error) {
    if (error != LXW_NO_ERROR && status_.ok())
      status_ = Unavailable(fmt::format("writing the template: {}", lxw_strerror(error)));
  }

  lxw_workbook* wb_;
  Status status_;
};

}  // namespace

Status WriteTemplate(const DatasetSpec& dataset, const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return Unavailable(
        fmt::format("cannot create {}: {} / 无法创建目录", dir.string(), ec.message()));
  const fs::path target = dir / fmt::format("{}.xlsx", dataset.name);
  const fs::path partial = dir / fmt::format(".{}.xlsx.{}.partial", dataset.name, getpid());
  lxw_workbook* wb = workbook_new(partial.c_str());
  if (!wb) return Unavailable(fmt::format("cannot write {} / 无法写入文件", partial.string()));
  Status st = TemplateWriter(wb).Write(dataset);
  const lxw_error closed = workbook_close(wb);
  if (st.ok() && closed != LXW_NO_ERROR)
    st = Unavailable(
        fmt::format("cannot write {}: {} / 无法写入文件", target.string(), lxw_strerror(closed)));
  if (st.ok()) {
    fs::rename(partial, target, ec);
    if (ec)
      st = Unavailable(
          fmt::format("cannot write {}: {} / 无法写入文件", target.string(), ec.message()));
  }
  if (!st.ok()) fs::remove(partial, ec);
  return st;
}

Result<std::vector<const DatasetSpec*>> TemplateDatasets(std::string_view name) {
  std::vector<const DatasetSpec*> out;
  if (name == "all") {
    for (const DatasetSpec& d : AllDatasets()) out.push_back(&d);
    return out;
  }
  if (const DatasetSpec* d = FindDataset(name)) return std::vector<const DatasetSpec*>{d};
  std::string known;
  for (const DatasetSpec& d : AllDatasets())
    known += fmt::format("{}{}", known.empty() ? "" : ", ", d.name);
  return Err(InvalidArgument(
      fmt::format("unknown data set '{}'; known: {}, or all / 未知数据集“{}”", name, known, name)));
}

}  // namespace fupin::service
