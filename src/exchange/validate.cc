#include "exchange/validate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/code_lists.h"
#include "core/date.h"
#include "core/hash.h"
#include "core/id_number.h"
#include "core/money.h"
#include "core/region_code.h"
#include "core/text.h"

namespace fupin::exchange {

using store::Value;

namespace {

// Folds a header cell for matching: full-width forms to ASCII, no spaces, ASCII lower case.
std::string FoldHeader(std::string_view text) {
  std::string s = RemoveAllSpace(FullWidthToAscii(text));
  if (s.starts_with("\xEF\xBB\xBF")) s.erase(0, 3);
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string FieldTitle(const FieldSpec& f) { return fmt::format("{} ({})", f.name, f.label_zh); }

bool LooksLikeNumberMangledId(std::string_view s) {
  // 5.20102E+17, 5.20102199001011E+17, 520102199001011000 written from a float.
  bool has_exp = s.find_first_of("eE") != std::string_view::npos;
  bool has_dot = s.find('.') != std::string_view::npos;
  if (!has_exp && !has_dot) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
      return false;
  return true;
}

// Characters a person's name may hold: CJK ideographs and a middle dot (·).
bool NameLooksOdd(std::string_view name) {
  for (size_t i = 0; i < name.size();) {
    unsigned char c = name[i];
    if (c < 0x80) return true;  // ASCII: digits, latin letters, '.', spaces
    size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
    if (i + n > name.size()) return true;
    uint32_t cp = n == 2   ? ((c & 0x1F) << 6) | (name[i + 1] & 0x3F)
                  : n == 3 ? ((c & 0x0F) << 12) | ((name[i + 1] & 0x3F) << 6) | (name[i + 2] & 0x3F)
                           : ((c & 0x07) << 18) | ((name[i + 1] & 0x3F) << 12) |
                                 ((name[i + 2] & 0x3F) << 6) | (name[i + 3] & 0x3F);
    bool cjk = (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
               (cp >= 0x20000 && cp <= 0x2EBEF) || (cp >= 0xF900 && cp <= 0xFAFF);
    if (!cjk && cp != 0x00B7) return true;
    i += n;
  }
  return false;
}

// Parses a code given as its number or its Chinese label (brackets and spaces folded, so
// "已脱贫 (享受政策)" matches "已脱贫（享受政策）").
std::optional<int> ParseCode(const CodeList& list, std::string_view text) {
  if (auto v = ParseInteger(text)) {
    if (*v >= -1000000 && *v <= 1000000 && list.Find(static_cast<int>(*v)))
      return static_cast<int>(*v);
    return std::nullopt;
  }
  std::string folded = RemoveAllSpace(FullWidthToAscii(text));
  for (const CodeEntry& e : list.entries)
    if (e.label_zh == text || RemoveAllSpace(FullWidthToAscii(e.label_zh)) == folded) return e.code;
  return std::nullopt;
}

// An XLSX number such as 1200.3000000000002 (what Excel stores for a formula's 1200.30) is a
// whole number of fen within rounding error; anything else is not money.
std::optional<int64_t> ExcelNumberToFen(std::string_view text) {
  auto v = ParseDecimal(text);
  if (!v || std::fabs(*v) > 1e13) return std::nullopt;
  double fen = *v * 100.0;
  double rounded = std::round(fen);
  if (std::fabs(fen - rounded) > 1e-6 * std::max(1.0, std::fabs(fen))) return std::nullopt;
  return static_cast<int64_t>(rounded);
}

// Setters that keep a value's text buffer for reuse by the next row.
void SetText(Value& v, std::string_view text) {
  v.kind = Value::Kind::kText;
  v.text.assign(text);
}
void SetInt(Value& v, int64_t i) {
  v.kind = Value::Kind::kInt;
  v.i = i;
}
void SetReal(Value& v, double r) {
  v.kind = Value::Kind::kReal;
  v.r = r;
}

// Feeds one stored value to a hasher; the row hashes and KeyHashes use the same.
void HashValue(Hasher& h, const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull:
      h.AddNull();
      break;
    case Value::Kind::kInt:
      h.Add(v.i);
      break;
    case Value::Kind::kReal: {
      int64_t bits;
      std::memcpy(&bits, &v.r, 8);
      h.Add(bits);
      break;
    }
    case Value::Kind::kText:
      h.Add(v.text);
      break;
  }
}

}  // namespace

std::pair<uint64_t, uint64_t> KeyHashes(std::span<const Value> key_values) {
  Hasher key(3), check(4);
  for (const Value& v : key_values) {
    HashValue(key, v);
    HashValue(check, v);
  }
  return {key.Finish(), check.Finish()};
}

Result<HeaderMap> MapHeader(const DatasetSpec& dataset, const std::vector<std::string>& header) {
  HeaderMap map;
  map.width = header.size();
  map.cell_of_field.assign(dataset.fields.size(), -1);
  for (size_t c = 0; c < header.size(); ++c) {
    std::string folded = FoldHeader(header[c]);
    if (folded.empty()) continue;
    bool matched = false;
    for (size_t f = 0; f < dataset.fields.size(); ++f) {
      const FieldSpec& field = dataset.fields[f];
      if (folded != FoldHeader(field.name) && folded != FoldHeader(field.label_zh)) continue;
      if (map.cell_of_field[f] >= 0)
        return Err(InvalidArgument(
            fmt::format("column {} appears twice (columns {} and {}) / 列“{}”重复出现",
                        FieldTitle(field), map.cell_of_field[f] + 1, c + 1, field.label_zh)));
      map.cell_of_field[f] = static_cast<int>(c);
      matched = true;
      break;
    }
    if (!matched) map.unknown_columns.push_back(header[c]);
  }
  for (size_t f = 0; f < dataset.fields.size(); ++f) {
    if (map.cell_of_field[f] >= 0) continue;
    const FieldSpec& field = dataset.fields[f];
    bool key = false;
    for (std::string_view k : dataset.key_fields) key |= k == field.name;
    if (field.required || key)
      return Err(InvalidArgument(fmt::format("missing required column {} / 缺少必需列“{}”",
                                             FieldTitle(field), field.label_zh)));
    if (!field.absent_means_empty) map.missing_optional.emplace_back(field.name);
  }
  return map;
}

RowValidator::RowValidator(const DatasetSpec& dataset, HeaderMap header, const RegionIndex& regions)
    : dataset_(dataset), header_(std::move(header)), regions_(regions) {
  for (const StoredColumn& c : StoredColumns(dataset)) column_names_.push_back(c.name);
  for (const FieldSpec& f : dataset.fields)
    slot_of_field_.push_back(static_cast<int>(StoredSlot(dataset, f.name)));
  for (std::string_view k : dataset.key_fields)
    for (size_t f = 0; f < dataset.fields.size(); ++f)
      if (dataset.fields[f].name == k) key_fields_.push_back(static_cast<int>(f));
  for (const FieldSpec& f : dataset.fields)
    code_lists_.push_back(f.code_list.empty() ? nullptr : FindCodeList(f.code_list));
}

void RowValidator::Validate(const RawRow& row, ValidatedRow& out) {
  out.values.resize(column_names_.size());
  for (Value& v : out.values) {  // reuse the text buffers of the previous row
    v.kind = Value::Kind::kNull;
    v.text.clear();
  }
  out.issues.clear();
  out.rejected = false;

  auto issue = [&](const FieldSpec& f, std::string_view value, bool error, std::string_view code,
                   std::string en, std::string zh) {
    out.issues.push_back(
        {std::string(f.name), std::string(value), error, code, std::move(en), std::move(zh)});
    if (error) out.rejected = true;
  };

  if (row.invalid_utf8_cell >= 0) {
    std::string column = fmt::format("column {}", row.invalid_utf8_cell + 1);
    for (size_t f = 0; f < dataset_.fields.size(); ++f)
      if (header_.cell_of_field[f] == row.invalid_utf8_cell)
        column = std::string(dataset_.fields[f].name);
    out.issues.push_back({column, "", true, "bad_encoding",
                          "the value holds bytes that are not valid text in the file's encoding",
                          "该值含有不符合文件编码的字节（乱码）"});
    out.rejected = true;
  }

  const int row_cells = static_cast<int>(row.cells.size());
  int used_cells = 0;
  for (int c : header_.cell_of_field) used_cells = std::max(used_cells, c + 1);
  if (row_cells < used_cells) {
    // A short row: the file was cut or a separator is missing. Missing cells are not
    // "unknown": they were never written, so the row cannot be trusted.
    out.issues.push_back(
        {"", "", true, "short_row",
         fmt::format("the row has {} fields but the header has {}; the row is cut "
                     "off or a separator is missing",
                     row_cells, used_cells),
         fmt::format("该行只有{}个字段，表头有{}个；行不完整或缺少分隔符", row_cells, used_cells)});
    out.rejected = true;
    return;
  }
  for (size_t c = header_.width; c < row.cells.size(); ++c) {
    if (TrimSpace(row.cells[c]).empty()) continue;
    // More values than columns: a separator too many, so values may sit in the wrong columns.
    out.issues.push_back(
        {fmt::format("column {}", c + 1), row.cells[c], true, "long_row",
         fmt::format("the row has a value in column {} but the header has only {} "
                     "columns; a separator is too many or a comma is unquoted",
                     c + 1, header_.width),
         fmt::format("该行第{}列有值，但表头只有{}列；可能多了分隔符或逗号未加引号", c + 1,
                     header_.width)});
    out.rejected = true;
    return;
  }

  for (size_t fi = 0; fi < dataset_.fields.size(); ++fi) {
    const FieldSpec& f = dataset_.fields[fi];
    const int cell = header_.cell_of_field[fi];
    const int slot = slot_of_field_[fi];
    std::string_view raw = cell >= 0 ? std::string_view(row.cells[cell]) : std::string_view();
    const bool numeric = cell >= 0 && row.numeric[cell];
    std::string_view text = TrimSpace(raw);
    Value& main = out.values[slot];

    if (cell < 0) continue;  // the column is absent: reported once for the file, not per row
    if (f.type == FieldType::kIdNumber) {
      // Excel keeps 15 digits exactly, so an old 15-digit ID stored as a number is intact.
      bool intact_number = numeric && text.size() <= 15 && !text.empty() &&
                           text.find_first_not_of("0123456789") == std::string_view::npos;
      if ((numeric && !intact_number) || LooksLikeNumberMangledId(text)) {
        issue(
            f, text, true, "id_stored_as_number",
            fmt::format("the ID number was stored as a number ({}) and its digits are lost; "
                        "format the column as text in Excel and export again",
                        text),
            fmt::format(
                "身份证号被存成了数字（{}），后几位已丢失；请在Excel中把该列设为文本格式后重新导出",
                text));
        continue;
      }
      // Most numbers arrive clean: checked in place, without NormalizeIdNumber's copies.
      IdNumber id;
      std::string_view normalized = text;
      if (auto problem = NormalFormIdProblem(text)) {
        id.problem = *problem;
      } else {
        id = NormalizeIdNumber(text);
        normalized = id.normalized;
      }
      if (id.problem == IdProblem::kEmpty) {
        if (f.required)
          issue(f, text, true, "missing_key", "the ID number is empty: the row has no key",
                "身份证号为空，该行没有主键");
        else
          issue(f, text, false, "id_empty", std::string(IdProblemText(id.problem)),
                std::string(IdProblemTextZh(id.problem)));
        continue;
      }
      SetText(main, normalized);
      if (normalized != text) SetText(out.values[slot + 1], text);
      SetInt(out.values[slot + 2], static_cast<int>(id.problem));
      if (id.problem != IdProblem::kNone) {
        issue(f, text, false,
              id.problem == IdProblem::kMalformed        ? "id_malformed"
              : id.problem == IdProblem::kImpossibleDate ? "id_bad_date"
                                                         : "id_bad_check_char",
              std::string(IdProblemText(id.problem)), std::string(IdProblemTextZh(id.problem)));
      } else if (id.converted_from_15) {
        issue(f, text, false, "id_15_converted",
              fmt::format("15-digit ID number converted to {}", id.normalized),
              fmt::format("15位身份证号已转换为18位：{}", id.normalized));
      } else if (id.cleaned) {
        issue(f, text, false, "id_cleaned",
              fmt::format("ID number cleaned to {} (spaces, full-width digits or lower-case x)",
                          id.normalized),
              fmt::format("身份证号已规范为{}（去空格、全角转半角或小写x转大写）", id.normalized));
      }
      continue;
    }

    if (text.empty()) {
      if (f.required)
        issue(f, text, true, "missing_value", fmt::format("{} is required but empty", f.name),
              fmt::format("必填项“{}”为空", f.label_zh));
      continue;
    }

    // A bad value in an identity field is a warning (linkage decides); elsewhere an error.
    auto bad = [&](std::string_view code, std::string en, std::string zh) {
      issue(f, text, !f.identity, code, std::move(en), std::move(zh));
      if (f.identity) SetText(out.values[slot + 1], text);
    };

    switch (f.type) {
      case FieldType::kText:
        SetText(main, text);
        if (f.identity) {
          if (text != raw) SetText(out.values[slot + 1], raw);
          if (f.name == "name" && NameLooksOdd(text))
            issue(f, text, false, "name_odd_chars",
                  "the name holds characters other than Chinese characters and a middle dot (·)",
                  "姓名含有汉字和间隔号（·）以外的字符");
        }
        break;
      case FieldType::kInteger:
        if (auto v = ParseInteger(text)) {
          SetInt(main, *v);
        } else {
          bad("bad_integer", fmt::format("'{}' is not a whole number", text),
              fmt::format("“{}”不是整数", text));
        }
        break;
      case FieldType::kYear:
        if (auto v = ParseInteger(text); v && *v >= 1900 && *v <= 2100) {
          SetInt(main, *v);
        } else {
          bad("bad_year", fmt::format("'{}' is not a year (1900-2100)", text),
              fmt::format("“{}”不是有效年份（1900-2100）", text));
        }
        break;
      case FieldType::kDecimal:
        if (auto v = ParseDecimal(text)) {
          SetReal(main, *v);
        } else {
          bad("bad_number", fmt::format("'{}' is not a number", text),
              fmt::format("“{}”不是数字", text));
        }
        break;
      case FieldType::kMoney:
        if (auto v = ParseYuanToFen(text)) {
          SetInt(main, *v);
        } else if (auto fen = numeric ? ExcelNumberToFen(text) : std::nullopt) {
          SetInt(main, *fen);
        } else {
          bad("bad_money",
              fmt::format("'{}' is not an amount in yuan with at most 2 decimals", text),
              fmt::format("“{}”不是有效金额（元，最多两位小数）", text));
        }
        break;
      case FieldType::kDate:
        if (auto d = ParseIsoDate(text)) {
          SetText(main, text);
        } else {
          bad("bad_date", fmt::format("'{}' is not a real date written YYYY-MM-DD", text),
              fmt::format("“{}”不是有效日期（格式YYYY-MM-DD）", text));
        }
        break;
      case FieldType::kCode: {
        const CodeList* list = code_lists_[fi];
        if (auto v = list ? ParseCode(*list, text) : std::nullopt) {
          SetInt(main, *v);
        } else {
          bad("unknown_code", fmt::format("'{}' is not a code of the list '{}'", text, f.code_list),
              fmt::format("“{}”不在代码表“{}”中", text, list ? list->title_zh : f.code_list));
        }
        break;
      }
      case FieldType::kCodeSet: {
        const CodeList* list = code_lists_[fi];
        std::string normalized;
        std::string folded = FullWidthToAscii(text);
        for (char& ch : folded)
          if (ch == ',' || ch == '|') ch = ';';
        bool ok = list != nullptr;
        size_t pos = 0;
        while (ok && pos <= folded.size()) {
          size_t end = folded.find(';', pos);
          if (end == std::string::npos) end = folded.size();
          std::string_view part = TrimSpace(std::string_view(folded).substr(pos, end - pos));
          if (!part.empty()) {
            auto v = ParseCode(*list, part);
            if (!v)
              ok = false;
            else
              normalized += fmt::format("{}{}", normalized.empty() ? "" : ";", *v);
          }
          pos = end + 1;
        }
        if (ok) {
          if (!normalized.empty()) SetText(main, std::move(normalized));
        } else {
          bad("unknown_code",
              fmt::format("'{}' holds a code not in the list '{}'", text, f.code_list),
              fmt::format("“{}”含有不在代码表“{}”中的代码", text,
                          list ? list->title_zh : f.code_list));
        }
        break;
      }
      case FieldType::kVillage:
      case FieldType::kRegion: {
        std::string_view digits = FoldToCompactAscii(text, scratch_);
        std::optional<std::string> code;
        if (f.type == FieldType::kVillage) {
          if (digits.size() == 12) code = PadRegionCode(digits);
        } else if (digits.size() >= 6) {
          code = PadRegionCode(digits);
        }
        const int level = code ? regions_.LevelOf(*code) : 0;
        bool ok = level != 0 && (f.type == FieldType::kRegion || level == 5);
        if (ok) {
          SetText(main, *code);
          if (f.identity && *code != text) SetText(out.values[slot + 1], text);
        } else {
          // An unknown region makes the row unusable, identity or not.
          issue(f, text, true, "unknown_region",
                f.type == FieldType::kVillage
                    ? fmt::format("'{}' is not the 12-digit code of a known village", text)
                    : fmt::format("'{}' is not the code (6 to 12 digits) of a known region", text),
                f.type == FieldType::kVillage
                    ? fmt::format("“{}”不是已知村的12位区划代码", text)
                    : fmt::format("“{}”不是已知区划代码（6至12位）", text));
        }
        break;
      }
      case FieldType::kIdNumber:
        break;  // handled above
    }
  }
  if (out.rejected) return;

  // Hashes: content over every stored value; key over the key fields (or the content).
  // Each loop feeds two hashers, whose independent chains the CPU overlaps.
  Hasher content(1);
  if (key_fields_.empty()) {
    Hasher check(2);
    for (const Value& v : out.values) {
      HashValue(content, v);
      HashValue(check, v);
    }
    out.content_hash = content.Finish();
    out.key_hash = out.content_hash;
    out.key_check = check.Finish();
  } else {
    for (const Value& v : out.values) HashValue(content, v);
    out.content_hash = content.Finish();
    Hasher key(3), check(4);
    for (int f : key_fields_) {
      HashValue(key, out.values[slot_of_field_[f]]);
      HashValue(check, out.values[slot_of_field_[f]]);
    }
    out.key_hash = key.Finish();
    out.key_check = check.Finish();
  }
}

}  // namespace fupin::exchange
