#include "service/flags.h"

#include <fmt/format.h>
#include <xlsxwriter.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <memory>
#include <unordered_map>

#include "core/datasets.h"
#include "core/id_number.h"
#include "core/mask.h"
#include "core/text.h"
#include "exchange/csv_reader.h"
#include "exchange/xlsx_reader.h"
#include "rules/rule_set.h"

namespace fupin::service {
namespace {

// A message in the request's language, formatted at run time.
template <typename... Args>
std::string Say(bool zh, std::string_view text_zh, std::string_view text_en, Args&&... args) {
  return fmt::format(fmt::runtime(zh ? text_zh : text_en), std::forward<Args>(args)...);
}

using store::FlagState;

std::string JoinNames(std::span<const std::string_view> names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

// A region's villages share its code without the trailing zeros of its level.
std::string VillagePrefix(std::string_view region) {
  std::string code(region);
  code.resize(12, '0');
  size_t keep = 12;
  for (size_t level : {9u, 6u, 4u, 2u})
    if (code.substr(level) == std::string(12 - level, '0')) keep = level;
  return code.substr(0, keep);
}

constexpr size_t kColumns = 12;
constexpr std::array<const char*, kColumns> kHeadersZh = {
    "疑点编号", "规则",   "类别",     "户编号",   "身份证号", "状态",
    "证据",     "村代码", "证据来源", "证据行号", "核查结果", "核查备注"};
constexpr std::array<const char*, kColumns> kHeadersEn = {
    "flag_id",  "rule",         "category",         "household_id", "id_number", "state",
    "evidence", "village_code", "evidence_dataset", "evidence_row", "verdict",   "note"};
constexpr size_t kIdColumn = 0, kRuleColumn = 1, kHouseholdColumn = 3, kVerdictColumn = 10,
                 kNoteColumn = 11;

// The cells of one worklist line, masked unless asked otherwise. Member names of each
// household are read once (flags come in rule, household order) to mask them in evidence.
class WorklistRows {
 public:
  WorklistRows(store::Store& store, const FlagExportRequest& request)
      : store_(store), request_(request) {}

  Result<std::array<std::string, kColumns>> Cells(const store::FlagRow& f) {
    const bool zh = request_.lang == Lang::kZh;
    std::string evidence = zh ? f.flag.evidence_zh : f.flag.evidence_en;
    std::string id = f.flag.id_number;
    if (!request_.unmask) {
      ASSIGN_OR_RETURN(const std::vector<std::string>* names, NamesOf(f.flag.household_id));
      evidence = MaskPersonalData(evidence, *names);
      id = MaskIdNumber(id);
    }
    const bool decided = f.state == FlagState::kVerified || f.state == FlagState::kDismissed;
    return std::array<std::string, kColumns>{
        std::to_string(f.flag_id),
        f.flag.rule,
        f.flag.category,
        f.flag.household_id,
        id,
        std::string(store::FlagStateName(f.state)),
        evidence,
        f.flag.village_code,
        f.flag.evidence_dataset,
        f.flag.evidence_row ? std::to_string(f.flag.evidence_row) : "",
        decided ? std::string(VerdictLabel(f.state, request_.lang)) : "",
        f.note};
  }

 private:
  Result<const std::vector<std::string>*> NamesOf(const std::string& household_id) {
    auto it = names_.find(household_id);
    if (it != names_.end()) return &it->second;
    if (names_.size() > 4096) names_.clear();
    std::vector<std::string>& names = names_[household_id];
    RETURN_IF_ERROR(store_.Rules().ForEachMemberName(
        household_id, [&](std::string_view, std::string_view name) { names.emplace_back(name); }));
    // Longer names first, so that 欧阳娜娜 is masked before a 欧阳 inside it.
    std::sort(names.begin(), names.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    return &names;
  }

  store::Store& store_;
  const FlagExportRequest& request_;
  std::unordered_map<std::string, std::vector<std::string>> names_;
};

Status WriteXlsx(store::Store& store, const store::FlagFilter& filter,
                 const FlagExportRequest& request, const std::string& path, int64_t& rows) {
  const bool zh = request.lang == Lang::kZh;
  lxw_workbook_options options{};
  options.constant_memory = LXW_TRUE;
  lxw_workbook* wb = workbook_new_opt(path.c_str(), &options);
  if (!wb) return Unavailable(fmt::format("cannot write {}", path));
  lxw_worksheet* ws = workbook_add_worksheet(wb, zh ? "疑点核查清单" : "flags");
  lxw_format* bold = workbook_add_format(wb);
  format_set_bold(bold);
  for (lxw_col_t c = 0; c < kColumns; ++c)
    worksheet_write_string(ws, 0, c, zh ? kHeadersZh[c] : kHeadersEn[c], bold);
  worksheet_freeze_panes(ws, 1, 0);
  worksheet_set_column(ws, 1, 1, 20, nullptr);
  worksheet_set_column(ws, 3, 4, 20, nullptr);
  worksheet_set_column(ws, 6, 6, 80, nullptr);
  worksheet_set_column(ws, 10, 11, 16, nullptr);
  WorklistRows lines(store, request);
  lxw_row_t row = 1;
  Status st = store.Rules().ForEachFlag(filter, [&](const store::FlagRow& f) -> Status {
    if (row >= 1048576) return InvalidArgument("more flags than an XLSX sheet holds: use CSV");
    ASSIGN_OR_RETURN(auto cells, lines.Cells(f));
    for (lxw_col_t c = 0; c < kColumns; ++c)
      if (!cells[c].empty()) worksheet_write_string(ws, row, c, cells[c].c_str(), nullptr);
    ++row;
    ++rows;
    return OkStatus();
  });
  if (row > 1) worksheet_autofilter(ws, 0, 0, row - 1, kColumns - 1);
  const lxw_error closed = workbook_close(wb);
  if (st.ok() && closed != LXW_NO_ERROR)
    st = Unavailable(fmt::format("cannot write {}: {}", path, lxw_strerror(closed)));
  return st;
}

Status WriteCsv(store::Store& store, const store::FlagFilter& filter,
                const FlagExportRequest& request, const std::string& path, int64_t& rows) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return Unavailable(fmt::format("cannot write {}", path));
  const auto& headers = request.lang == Lang::kZh ? kHeadersZh : kHeadersEn;
  std::string line = "\xEF\xBB\xBF";  // UTF-8 with BOM, so Excel reads it as UTF-8
  for (size_t c = 0; c < kColumns; ++c) line += fmt::format("{}{}", c ? "," : "", headers[c]);
  line += '\n';
  std::fputs(line.c_str(), f);
  WorklistRows lines(store, request);
  Status st = store.Rules().ForEachFlag(filter, [&](const store::FlagRow& r) -> Status {
    ASSIGN_OR_RETURN(auto cells, lines.Cells(r));
    line.clear();
    for (size_t c = 0; c < kColumns; ++c) {
      if (c) line += ',';
      line += CsvQuote(cells[c]);
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), f);
    ++rows;
    return OkStatus();
  });
  if (std::fclose(f) != 0 && st.ok()) st = Unavailable(fmt::format("cannot write {}", path));
  return st;
}

}  // namespace

Result<store::FlagFilter> MakeFlagFilter(store::Store& store, const FlagExportRequest& request) {
  const bool zh = request.lang == Lang::kZh;
  store::FlagFilter filter;
  if (!request.region.empty()) {
    ASSIGN_OR_RETURN(std::vector<store::Region> regions, store.LoadRegions());
    std::string code = request.region;
    if (code.find_first_not_of("0123456789") == std::string::npos && code.size() <= 12)
      code.resize(12, '0');
    const bool known = std::any_of(regions.begin(), regions.end(),
                                   [&](const store::Region& r) { return r.code == code; });
    if (!known)
      return Err(InvalidArgument(Say(zh, "未知区划代码 --region {}（不在区划表中）",
                                     "unknown region --region {} (not in "
                                     "the region table)",
                                     request.region)));
    filter.region = VillagePrefix(code);
  }
  if (!request.rule.empty()) {
    ASSIGN_OR_RETURN(std::vector<std::string> known, store.Rules().FlagRules());
    if (auto set = rules::DefaultRuleSet())
      for (const rules::Rule& r : set->rules) known.push_back(r.id);
    if (std::find(known.begin(), known.end(), request.rule) == known.end())
      return Err(InvalidArgument(
          Say(zh, "未知规则 --rule {}（既非内置规则，也无此规则的疑点）",
              "unknown rule --rule {} (not a built-in rule and no flags of it)", request.rule)));
    filter.rule = request.rule;
  }
  if (!request.category.empty()) {
    std::vector<std::string_view> names;
    for (int c = 0; c < rules::kCategoryCount; ++c)
      names.push_back(rules::CategoryName(static_cast<rules::Category>(c)));
    if (std::find(names.begin(), names.end(), request.category) == names.end())
      return Err(InvalidArgument(Say(zh, "未知类别 --category {}（可选: {}）",
                                     "unknown category --category {} (one of: {})",
                                     request.category, JoinNames(names))));
    filter.category = request.category;
  }
  if (!request.state.empty()) {
    filter.state = store::ParseFlagState(request.state);
    if (!filter.state)
      return Err(InvalidArgument(Say(
          zh, "未知状态 --state {}（可选: open、verified、dismissed、closed）",
          "unknown state --state {} (one of: open, verified, dismissed, closed)", request.state)));
  }
  return filter;
}

Result<int64_t> ExportFlags(store::Store& store, const FlagExportRequest& request,
                            const std::filesystem::path& out) {
  const bool zh = request.lang == Lang::kZh;
  const std::string path = out.string();
  const bool xlsx = path.ends_with(".xlsx");
  if (!xlsx && !path.ends_with(".csv"))
    return Err(InvalidArgument(zh ? "输出文件须以 .csv 或 .xlsx 结尾"
                                  : "the output file must end in .csv or .xlsx"));
  ASSIGN_OR_RETURN(store::FlagFilter filter, MakeFlagFilter(store, request));
  const std::string part = path + ".part";
  int64_t rows = 0;
  Status st = xlsx ? WriteXlsx(store, filter, request, part, rows)
                   : WriteCsv(store, filter, request, part, rows);
  if (st.ok() && std::rename(part.c_str(), path.c_str()) != 0)
    st = Unavailable(fmt::format("cannot rename {} to {}", part, path));
  if (!st.ok()) {
    std::remove(part.c_str());
    return Err(st);
  }
  return rows;
}

std::optional<FlagState> ParseVerdict(std::string_view text) {
  std::string t(TrimSpace(text));
  std::transform(t.begin(), t.end(), t.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  static const std::map<std::string_view, FlagState> kWords = {
      {"verified", FlagState::kVerified},   {"已核实", FlagState::kVerified},
      {"核实属实", FlagState::kVerified},   {"属实", FlagState::kVerified},
      {"dismissed", FlagState::kDismissed}, {"误报", FlagState::kDismissed},
      {"排除", FlagState::kDismissed},      {"已排除", FlagState::kDismissed},
      {"不属实", FlagState::kDismissed},    {"open", FlagState::kOpen},
      {"待核查", FlagState::kOpen},         {"未核查", FlagState::kOpen},
  };
  auto it = kWords.find(t);
  if (it == kWords.end()) return std::nullopt;
  return it->second;
}

std::string_view VerdictLabel(FlagState state, Lang lang) {
  const bool zh = lang == Lang::kZh;
  switch (state) {
    case FlagState::kVerified:
      return zh ? "已核实" : "verified";
    case FlagState::kDismissed:
      return zh ? "误报" : "dismissed";
    case FlagState::kOpen:
      return zh ? "待核查" : "open";
    case FlagState::kClosed:
      break;
  }
  return zh ? "已关闭" : "closed";
}

namespace {

// The column of each worklist field in the file's header (-1 when absent).
struct WorklistColumns {
  int id = -1, rule = -1, household = -1, verdict = -1, note = -1;
};

WorklistColumns FindColumns(const std::vector<std::string>& header) {
  WorklistColumns c;
  for (size_t i = 0; i < header.size(); ++i) {
    std::string_view h = TrimSpace(header[i]);
    if (i == 0 && h.starts_with("\xEF\xBB\xBF")) h.remove_prefix(3);
    auto is = [&](size_t column) { return h == kHeadersZh[column] || h == kHeadersEn[column]; };
    const int at = static_cast<int>(i);
    if (is(kIdColumn)) c.id = at;
    if (is(kRuleColumn)) c.rule = at;
    if (is(kHouseholdColumn)) c.household = at;
    if (is(kVerdictColumn)) c.verdict = at;
    if (is(kNoteColumn)) c.note = at;
  }
  return c;
}

std::string_view CellAt(const exchange::RawRow& row, int column) {
  if (column < 0 || static_cast<size_t>(column) >= row.cells.size()) return {};
  return TrimSpace(row.cells[column]);
}

}  // namespace

Result<FlagImportReport> ImportFlagVerdicts(store::Store& store, const FlagImportRequest& request) {
  const bool zh = request.lang == Lang::kZh;
  const std::string name = request.file.filename().string();
  std::unique_ptr<exchange::RowSource> source;
  if (request.file.extension() == ".xlsx") {
    ASSIGN_OR_RETURN(source, exchange::OpenXlsx(request.file));
  } else if (request.file.extension() == ".csv") {
    ASSIGN_OR_RETURN(exchange::CsvFile csv, exchange::OpenCsv(request.file));
    source = std::move(csv.rows);
  } else {
    return Err(InvalidArgument(
        Say(zh, "{}: 须为 .xlsx 或 .csv 文件", "{}: must be an .xlsx or .csv file", name)));
  }
  exchange::RawRow row;
  ASSIGN_OR_RETURN(bool has_header, source->Next(row));
  if (!has_header) return Err(InvalidArgument(Say(zh, "{}: 文件为空", "{}: empty", name)));
  const WorklistColumns columns = FindColumns(row.cells);
  for (auto [at, column] : {std::pair{columns.id, kIdColumn}, {columns.verdict, kVerdictColumn}})
    if (at < 0)
      return Err(InvalidArgument(Say(zh, "{}: 没有“{}”列（{}），不是疑点核查清单",
                                     "{}: no '{}' column ({}): not a flags "
                                     "worklist",
                                     name, zh ? kHeadersZh[column] : kHeadersEn[column],
                                     zh ? kHeadersEn[column] : kHeadersZh[column])));

  FlagImportReport report;
  std::vector<store::FlagDecision> decisions;
  std::unordered_map<int64_t, int64_t> line_of;  // flag_id -> the line that first named it
  for (;;) {
    ASSIGN_OR_RETURN(bool more, source->Next(row));
    if (!more) break;
    if (std::all_of(row.cells.begin(), row.cells.end(),
                    [](const std::string& c) { return TrimSpace(c).empty(); }))
      continue;
    FlagImportRow r;
    r.line = row.source_line;
    auto error = [&](std::string message) {
      r.outcome = FlagImportRow::Outcome::kError;
      r.message = std::move(message);
    };
    const std::string_view id_text = CellAt(row, columns.id);
    const std::string_view verdict_text = CellAt(row, columns.verdict);
    const std::string note(CellAt(row, columns.note));
    int64_t id = 0;
    const bool id_ok = !id_text.empty() && id_text.size() <= 18 &&
                       id_text.find_first_not_of("0123456789") == std::string_view::npos &&
                       (id = std::stoll(std::string(id_text))) > 0;
    std::optional<FlagState> verdict = ParseVerdict(verdict_text);
    std::optional<store::FlagRow> flag;
    if (id_ok) {
      r.flag_id = id;
      ASSIGN_OR_RETURN(flag, store.Rules().GetFlag(id));
    }
    if (!id_ok) {
      error(Say(zh, "疑点编号“{}”不是编号", "flag id '{}' is not an id", id_text));
    } else if (auto [it, first] = line_of.emplace(id, r.line); !first) {
      error(Say(zh, "疑点 {} 在第 {} 行已出现，同一疑点只能填一次",
                "flag {} already appears on line {}: one row per flag", id, it->second));
    } else if (!flag) {
      error(Say(zh, "没有编号为 {} 的疑点", "no flag with id {}", id));
    } else if (std::string_view rule = CellAt(row, columns.rule);
               !rule.empty() && rule != flag->flag.rule) {
      error(Say(zh, "疑点 {} 属于规则 {}，本行写的是 {}", "flag {} is of rule {}, the row says {}",
                id, flag->flag.rule, rule));
    } else if (std::string_view household = CellAt(row, columns.household);
               !household.empty() && household != flag->flag.household_id) {
      error(Say(zh, "疑点 {} 属于户 {}，本行写的是 {}",
                "flag {} is of household {}, the row says {}", id, flag->flag.household_id,
                household));
    } else if (verdict_text.empty()) {
      r.outcome = FlagImportRow::Outcome::kSkipped;
      r.from = r.to = flag->state;
      r.message = zh ? "未填核查结果，保持不变" : "no verdict: left as it is";
    } else if (!verdict) {
      error(Say(zh,
                "核查结果“{}”无法识别（可填: 已核实、误报、待核查，或 verified、"
                "dismissed、open）",
                "verdict '{}' not understood (use verified, dismissed or open, or "
                "已核实, 误报, 待核查)",
                verdict_text));
    } else if (flag->state == FlagState::kClosed) {
      error(Say(zh, "疑点 {} 已不成立（已关闭），无需核查",
                "flag {} no longer holds (closed): nothing to decide", id));
    } else {
      r.from = flag->state;
      r.to = *verdict;
      if (*verdict == flag->state && note == flag->note) {
        r.outcome = FlagImportRow::Outcome::kUnchanged;
      } else {
        r.outcome = FlagImportRow::Outcome::kChanged;
        decisions.push_back({id, *verdict, note});
      }
    }
    switch (r.outcome) {
      case FlagImportRow::Outcome::kChanged:
        ++report.changed;
        break;
      case FlagImportRow::Outcome::kUnchanged:
        ++report.unchanged;
        break;
      case FlagImportRow::Outcome::kSkipped:
        ++report.skipped;
        break;
      case FlagImportRow::Outcome::kError:
        ++report.errors;
        break;
    }
    report.rows.push_back(std::move(r));
  }
  if (report.errors == 0 && !request.dry_run && !decisions.empty()) {
    RETURN_IF_ERROR(store.Rules().DecideFlags(decisions, request.actor));
    report.applied = true;
  }
  return report;
}

Result<std::vector<int64_t>> DecideFlagsInScope(store::Store& store, const Actor& actor,
                                                std::span<const int64_t> ids,
                                                store::FlagState state, std::string_view note,
                                                Lang lang) {
  const bool zh = lang == Lang::kZh;
  if (ids.empty()) return Err(InvalidArgument(zh ? "没有指定疑点" : "no flag ids given"));
  if (note.size() > 4000)
    return Err(InvalidArgument(zh ? "备注过长（不超过 4000 字节）"
                                  : "the note is too long (at most 4,000 bytes)"));
  std::vector<int64_t> unique;
  unique.reserve(ids.size());
  for (int64_t id : ids)
    if (std::find(unique.begin(), unique.end(), id) == unique.end()) unique.push_back(id);
  for (int64_t id : unique) {
    ASSIGN_OR_RETURN(std::optional<store::FlagRow> row, store.Rules().GetFlag(id));
    if (!row) return Err(NotFound(Say(zh, "没有这个疑点 {}", "no such flag {}", id)));
    if (!actor.Sees(row->flag.village_code))
      return Err(PermissionDenied(
          Say(zh, "疑点 {} 不在您的辖区内", "flag {} is outside your region", id)));
  }
  std::vector<store::FlagDecision> decisions;
  decisions.reserve(unique.size());
  for (int64_t id : unique) decisions.push_back({id, state, std::string(note)});
  RETURN_IF_ERROR(store.Rules().DecideFlags(decisions, actor));
  return unique;
}

}  // namespace fupin::service
