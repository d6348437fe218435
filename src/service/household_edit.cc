#include "service/household_edit.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <map>
#include <unordered_map>

#include "core/code_lists.h"
#include "core/datasets.h"
#include "core/date.h"
#include "core/id_number.h"
#include "core/money.h"
#include "core/text.h"
#include "rules/engine.h"
#include "rules/schema.h"
#include "service/edit_batcher.h"

namespace fupin::service {

namespace {

std::string Say(Lang lang, std::string zh, std::string en) {
  return lang == Lang::kZh ? std::move(zh) : std::move(en);
}

const DatasetSpec& Registry(DatasetKind kind) {
  for (const DatasetSpec& d : AllDatasets())
    if (d.kind == kind) return d;
  assert(false && "the catalogue has households and members");
  return AllDatasets().front();
}

const FieldSpec* FindField(const DatasetSpec& d, std::string_view name) {
  for (const FieldSpec& f : d.fields)
    if (f.name == name) return &f;
  return nullptr;
}

bool MayWrite(Role role) {
  return role == Role::kCadre || role == Role::kOfficial || role == Role::kAdmin;
}

Status Denied(const Actor& actor, std::string_view household_id, Lang lang) {
  return PermissionDenied(
      Say(lang,
          fmt::format("用户 {} 无权访问户 {}（不在其管辖区域 {} 内）", actor.user, household_id,
                      actor.region),
          fmt::format("user {} may not access household {}: it is outside region {}", actor.user,
                      household_id, actor.region)));
}

std::optional<int> ParseCode(const CodeList& list, std::string_view text) {
  if (auto v = ParseInteger(text); v && list.Find(static_cast<int>(*v)))
    return static_cast<int>(*v);
  for (const CodeEntry& e : list.entries)
    if (e.label_zh == text || e.label_en == text) return e.code;
  return std::nullopt;
}

// What a field accepts, for messages.
std::string Accepted(const FieldSpec& f, Lang lang) {
  switch (f.type) {
    case FieldType::kCode: {
      const CodeList* list = FindCodeList(f.code_list);
      std::string codes;
      if (list)
        for (const CodeEntry& e : list->entries)
          codes += fmt::format("{}{} {}", codes.empty() ? "" : ", ", e.code,
                               lang == Lang::kZh ? e.label_zh : e.label_en);
      return Say(lang, "代码表“" + std::string(f.code_list) + "”中的代码或名称（" + codes + "）",
                 "a code or label of the list '" + std::string(f.code_list) + "' (" + codes + ")");
    }
    case FieldType::kMoney:
      return Say(lang, "以元计的金额，最多两位小数", "an amount in yuan with at most 2 decimals");
    case FieldType::kYear:
      return Say(lang, "1900-2100 之间的年份", "a year 1900-2100");
    case FieldType::kInteger:
      return Say(lang, "整数", "a whole number");
    case FieldType::kDecimal:
      return Say(lang, "数字", "a number");
    case FieldType::kDate:
      return Say(lang, "YYYY-MM-DD 格式的日期", "a date written YYYY-MM-DD");
    default:
      return Say(lang, "文本", "text");
  }
}

// The stored value of `text` for field `f`; "" clears it.
Result<store::Value> ParseValue(const FieldSpec& f, std::string_view raw, Lang lang) {
  const std::string_view text = TrimSpace(raw);
  if (text.empty()) return store::Value::Null();
  std::optional<store::Value> v;
  switch (f.type) {
    case FieldType::kCode:
      if (const CodeList* list = FindCodeList(f.code_list))
        if (auto c = ParseCode(*list, text)) v = store::Value::Int(*c);
      break;
    case FieldType::kMoney:
      if (auto fen = ParseYuanToFen(text); fen && *fen >= 0) v = store::Value::Int(*fen);
      break;
    case FieldType::kYear:
      if (auto y = ParseInteger(text); y && *y >= 1900 && *y <= 2100) v = store::Value::Int(*y);
      break;
    case FieldType::kInteger:
      if (auto n = ParseInteger(text)) v = store::Value::Int(*n);
      break;
    case FieldType::kDecimal:
      if (auto d = ParseDecimal(text)) v = store::Value::Real(*d);
      break;
    case FieldType::kDate:
      if (ParseIsoDate(text)) v = store::Value::Text(std::string(text));
      break;
    default:
      v = store::Value::Text(std::string(text));
  }
  if (!v)
    return Err(InvalidArgument(Say(
        lang, fmt::format("字段 {} 的值“{}”无效：应为{}", f.name, text, Accepted(f, lang)),
        fmt::format("field {}: '{}' is not valid; it takes {}", f.name, text, Accepted(f, lang)))));
  return *v;
}

using edit_steps::Write;

// Checks the whole edit; returns the writes it makes.
Result<std::vector<Write>> CheckEdit(const HouseholdEdit& edit, Lang lang) {
  if (edit.version < 0)
    return Err(InvalidArgument(Say(lang, "缺少 version：请先读取该户并带上其版本号",
                                   "missing version: read the household first and send its "
                                   "version")));
  std::vector<Write> writes;
  auto check = [&](const DatasetSpec& d, const std::vector<std::string>& editable,
                   const FieldChange& c, const std::string& id_number) -> Status {
    const FieldSpec* f = FindField(d, c.field);
    bool ok = f != nullptr;
    if (ok) ok = std::find(editable.begin(), editable.end(), c.field) != editable.end();
    if (!ok)
      return InvalidArgument(
          Say(lang,
              fmt::format("字段 {} 不可修改；可修改的{}字段：{}", c.field,
                          id_number.empty() ? "户" : "成员", fmt::join(editable, ", ")),
              fmt::format("field {} cannot be edited; editable {} fields: {}", c.field,
                          id_number.empty() ? "household" : "member", fmt::join(editable, ", "))));
    for (const Write& w : writes)
      if (w.id_number == id_number && w.field == c.field)
        return InvalidArgument(Say(lang, fmt::format("字段 {} 出现了两次", c.field),
                                   fmt::format("field {} is given twice", c.field)));
    ASSIGN_OR_RETURN(store::Value v, ParseValue(*f, c.value, lang));
    writes.push_back({id_number, StoredColumnName(*f), std::string(f->name), std::move(v)});
    return OkStatus();
  };
  bool status_changes = false;
  for (const FieldChange& c : edit.fields) {
    RETURN_IF_ERROR(check(Registry(DatasetKind::kHousehold), EditableHouseholdFields(), c, ""));
    status_changes |= c.field == "status";
  }
  for (const MemberEdit& m : edit.members) {
    if (m.id_number.empty())
      return Err(
          InvalidArgument(Say(lang, "成员修改缺少身份证号", "a member edit needs its id_number")));
    for (const FieldChange& c : m.fields)
      RETURN_IF_ERROR(
          check(Registry(DatasetKind::kMember), EditableMemberFields(), c, m.id_number));
  }
  if (status_changes && TrimSpace(edit.reason).empty())
    return Err(InvalidArgument(
        Say(lang, "修改脱贫状态必须填写原因（reason）", "a status change needs a reason")));
  if (edit.lat.has_value() != edit.lon.has_value())
    return Err(InvalidArgument(
        Say(lang, "GPS 位置需同时给出纬度和经度", "a GPS position needs both lat and lon")));
  if (edit.lat && (!std::isfinite(*edit.lat) || std::fabs(*edit.lat) > 90 ||
                   !std::isfinite(*edit.lon) || std::fabs(*edit.lon) > 180))
    return Err(InvalidArgument(Say(lang, "GPS 位置超出范围（纬度 ±90，经度 ±180）",
                                   "GPS position out of range (lat ±90, lon ±180)")));
  if (edit.visit_note.size() > 4000)
    return Err(InvalidArgument(
        Say(lang, "走访记录过长（最多 4000 字节）", "visit note too long (at most 4000 bytes)")));
  if (edit.reason.size() > 2000)
    return Err(InvalidArgument(
        Say(lang, "原因过长（最多 2000 字节）", "reason too long (at most 2000 bytes)")));
  return writes;
}

std::string CellText(const store::Cell& c) {
  switch (c.kind) {
    case store::Cell::Kind::kInt:
      return std::to_string(c.i);
    case store::Cell::Kind::kReal:
      return fmt::format("{}", c.r);
    case store::Cell::Kind::kText:
      return std::string(c.text);
    default:
      return "";
  }
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

// Where the household is, after the role check: kNotFound, kPermissionDenied.
Result<store::EditStore::HouseholdHead> Locate(store::Store& store, const Actor& actor,
                                               std::string_view household_id, Lang lang) {
  ASSIGN_OR_RETURN(std::optional<store::EditStore::HouseholdHead> head,
                   store.Edits().Head(household_id));
  if (!head)
    return Err(NotFound(Say(lang, fmt::format("没有户 {}", household_id),
                            fmt::format("no household {}", household_id))));
  if (!actor.Sees(head->village_code)) return Err(Denied(actor, household_id, lang));
  return *head;
}

}  // namespace

const std::vector<std::string>& EditableHouseholdFields() {
  static const std::vector<std::string> fields = {
      "status",          "exit_year",       "income_year",  "income_wage", "income_business",
      "income_property", "income_transfer", "housing_safe", "water_safe",  "electricity"};
  return fields;
}

const std::vector<std::string>& EditableMemberFields() {
  static const std::vector<std::string> fields = {
      "education",   "in_school",       "health",          "labor",       "work_status",
      "work_months", "medical_insured", "pension_insured", "left_reason", "left_date"};
  return fields;
}

Result<EditOutcome> EditHousehold(store::Store& store, analytics::SnapshotHolder& snapshots,
                                  const rules::RuleSet& rules, const Actor& actor,
                                  std::string_view household_id, const HouseholdEdit& edit,
                                  Lang lang) {
  if (EditBatcher* batcher = EditBatcher::For(snapshots))
    return batcher->Edit(store, rules, actor, household_id, edit, lang);
  ASSIGN_OR_RETURN(edit_steps::Prepared prepared,
                   edit_steps::Prepare(store, snapshots, rules, actor, household_id, edit, lang));
  ASSIGN_OR_RETURN(edit_steps::Staged staged,
                   edit_steps::Run(store, snapshots, prepared, /*in_group=*/false));
  std::vector<edit_steps::Staged> one;
  one.push_back(std::move(staged));
  return std::move(edit_steps::Publish(snapshots, std::move(one)).front());
}

namespace edit_steps {

Result<Prepared> Prepare(store::Store& store, analytics::SnapshotHolder& snapshots,
                         const rules::RuleSet& rules, const Actor& actor,
                         std::string_view household_id, const HouseholdEdit& edit, Lang lang) {
  if (!MayWrite(actor.role))
    return Err(PermissionDenied(
        Say(lang, fmt::format("角色 {} 无权修改户信息", RoleName(actor.role)),
            fmt::format("role {} may not edit households", RoleName(actor.role)))));
  Prepared p;
  p.rules = &rules;
  p.actor = &actor;
  p.household_id = std::string(household_id);
  p.edit = &edit;
  p.lang = lang;
  ASSIGN_OR_RETURN(p.writes, CheckEdit(edit, lang));
  ASSIGN_OR_RETURN(const store::EditStore::HouseholdHead head,
                   Locate(store, actor, household_id, lang));
  (void)head;
  // Copied out: no View may be held across Apply.
  {
    analytics::SnapshotHolder::View view = snapshots.Read();
    p.as_of_days = view->as_of_days;
    if (const uint32_t h = view->Find(household_id); h != UINT32_MAX)
      for (uint32_t m = view->member_begin[h]; m < view->member_begin[h + 1]; ++m)
        p.linked_bits.push_back(view->m_linked[m]);
  }
  return p;
}

Result<Staged> Run(store::Store& store, analytics::SnapshotHolder& snapshots,
                   const Prepared& prepared, bool in_group) {
  const Actor& actor = *prepared.actor;
  const HouseholdEdit& edit = *prepared.edit;
  const std::string_view household_id = prepared.household_id;
  const Lang lang = prepared.lang;
  store::EditInfo info{actor.user, std::string(RoleName(actor.role)), edit.reason};
  auto begun = store.Edits().BeginEdit(household_id, edit.version, info);
  if (!begun && begun.error().code() == StatusCode::kAborted)
    return Err(Aborted(Say(lang,
                           fmt::format("户 {} 在版本 {} 之后已被修改，请重新读取后再改（{}）",
                                       household_id, edit.version, begun.error().message()),
                           begun.error().message())));
  if (!begun) return Err(begun.error());
  std::unique_ptr<store::EditTransaction> tx = std::move(*begun);
  if (!actor.Sees(tx->village_code())) return Err(Denied(actor, household_id, lang));
  // The current members before the edit, in the snapshot's order (id_number), for their
  // link bits.
  std::unordered_map<std::string, uint16_t> linked;
  {
    std::vector<std::string> current;
    const std::vector<std::string> cols = {"id_number", "left_reason"};
    RETURN_IF_ERROR(tx->ReadMembers(cols, [&](std::span<const store::Cell> c) {
      if (c[1].kind == store::Cell::Kind::kNull) current.push_back(CellText(c[0]));
    }));
    if (current.size() == prepared.linked_bits.size())
      for (size_t i = 0; i < current.size(); ++i) linked[current[i]] = prepared.linked_bits[i];
  }
  Staged staged;
  EditOutcome& out = staged.out;
  out.edit_id = tx->edit_id();
  for (const Write& w : prepared.writes) {
    auto changed = tx->Set(w.id_number, w.column, w.value);
    if (!changed) {
      if (changed.error().code() == StatusCode::kNotFound)
        return Err(NotFound(Say(
            lang,
            fmt::format("户 {} 没有身份证号为 {} 的成员", household_id, MaskIdNumber(w.id_number)),
            fmt::format("household {} has no member {}", household_id,
                        MaskIdNumber(w.id_number)))));
      return Err(changed.error());
    }
    if (*changed)
      out.changed.push_back(w.id_number.empty()
                                ? w.field
                                : fmt::format("member {} {}", MaskIdNumber(w.id_number), w.field));
  }
  if (edit.lat) {
    for (auto [column, value] : {std::pair{"lat", *edit.lat}, std::pair{"lon", *edit.lon}}) {
      ASSIGN_OR_RETURN(bool changed, tx->Set("", column, store::Value::Real(value)));
      if (changed) out.changed.push_back(column);
    }
  }
  if (!edit.visit_note.empty() || edit.lat) {
    RETURN_IF_ERROR(tx->AddVisit(edit.visit_note, edit.lat, edit.lon));
    out.changed.push_back("visit");
  }
  // The household's flags, as it will be committed.
  rules::HouseholdReader read = [&](int entity, std::span<const std::string> columns,
                                    const std::function<void(std::span<const store::Cell>)>& fn) {
    return entity == rules::kHousehold ? tx->ReadHousehold(columns, fn)
                                       : tx->ReadMembers(columns, fn);
  };
  ASSIGN_OR_RETURN(rules::HouseholdEvaluation evaluation,
                   rules::EvaluateHousehold(*prepared.rules, read, prepared.as_of_days));
  ASSIGN_OR_RETURN(store::HouseholdFlagsOutcome flags,
                   tx->ReplaceFlags(evaluation.rules, evaluation.flags));
  out.flags_raised = flags.raised;
  out.flags_closed = flags.closed;
  analytics::HouseholdDelta& delta = staged.delta;
  RETURN_IF_ERROR(analytics::ReadHouseholdRecord(read, household_id, prepared.as_of_days, linked,
                                                 delta.record));
  ASSIGN_OR_RETURN(auto counts, tx->ActiveFlagCounts());
  delta.flags.emplace();
  for (const auto& [rule, n] : counts)
    delta.flags->emplace_back(rule, static_cast<uint16_t>(std::min(n, 65535)));
  // Its delta follows the commit: a snapshot refresh in between waits for it (Expect). In a
  // group the caller Expects every edit before the group's commit.
  if (!in_group) snapshots.Expect(out.edit_id);
  auto committed = tx->Commit();
  if (!committed) {
    if (!in_group) snapshots.Forget(out.edit_id);
    return Err(committed.error());
  }
  out.version = *committed;
  delta.version = out.version;
  delta.edit_id = out.edit_id;
  return staged;
}

std::vector<Result<EditOutcome>> Publish(analytics::SnapshotHolder& snapshots,
                                         std::vector<Staged> staged) {
  std::vector<analytics::HouseholdDelta> deltas;
  deltas.reserve(staged.size());
  std::vector<std::string> ids;  // for the message of one the snapshot cannot take
  for (Staged& s : staged) {
    ids.push_back(s.delta.record.household_id);
    deltas.push_back(std::move(s.delta));
  }
  std::vector<Status> applied = snapshots.ApplyEach(std::move(deltas));
  std::vector<Result<EditOutcome>> out;
  out.reserve(staged.size());
  for (size_t i = 0; i < staged.size(); ++i) {
    // Committed: a failure to apply leaves the snapshot behind until its next refresh, and
    // is reported as such (the edit stands).
    if (const Status& st = applied[i]; !st.ok()) {
      snapshots.Forget(staged[i].out.edit_id);
      out.push_back(Err(Internal(fmt::format(
          "edit {} of household {} is saved, but the analytics snapshot could not take it ({}); "
          "it shows after the next snapshot refresh",
          staged[i].out.edit_id, ids[i], st.message()))));
      continue;
    }
    out.push_back(std::move(staged[i].out));
  }
  return out;
}

}  // namespace edit_steps

Result<int64_t> AddPhoto(store::Store& store, const Actor& actor, std::string_view household_id,
                         std::string_view content_type, std::string_view bytes, Lang lang) {
  if (!MayWrite(actor.role))
    return Err(
        PermissionDenied(Say(lang, fmt::format("角色 {} 无权上传照片", RoleName(actor.role)),
                             fmt::format("role {} may not add photos", RoleName(actor.role)))));
  if (bytes.empty() || bytes.size() > kMaxPhotoBytes)
    return Err(InvalidArgument(
        Say(lang, fmt::format("照片大小 {} 字节不在 1 字节至 5 MiB 之间", bytes.size()),
            fmt::format("a photo of {} bytes: photos are 1 byte to 5 MiB", bytes.size()))));
  static constexpr std::string_view kJpeg = "\xFF\xD8\xFF";
  static constexpr std::string_view kPng = "\x89PNG\r\n\x1A\n";
  const bool jpeg = content_type == "image/jpeg" && bytes.starts_with(kJpeg);
  const bool png = content_type == "image/png" && bytes.starts_with(kPng);
  if (!jpeg && !png)
    return Err(InvalidArgument(
        Say(lang,
            fmt::format("照片须为 JPEG（image/jpeg）或 PNG（image/png），且声明类型与文件内容一致；"
                        "收到声明类型“{}”",
                        content_type),
            fmt::format("a photo must be JPEG (image/jpeg) or PNG (image/png), its declared type "
                        "matching its content; got declared type '{}'",
                        content_type))));
  ASSIGN_OR_RETURN(const store::EditStore::HouseholdHead head,
                   Locate(store, actor, household_id, lang));
  (void)head;
  store::EditInfo info{actor.user, std::string(RoleName(actor.role)), "photo"};
  return store.Edits().AddPhoto(household_id, info, content_type, bytes, Sha256Hex(bytes));
}

Result<std::pair<std::string, std::string>> GetPhoto(store::Store& store, const Actor& actor,
                                                     std::string_view household_id,
                                                     int64_t photo_id, Lang lang) {
  ASSIGN_OR_RETURN(const store::EditStore::HouseholdHead head,
                   Locate(store, actor, household_id, lang));
  (void)head;
  ASSIGN_OR_RETURN(std::optional<store::Photo> photo,
                   store.Edits().GetPhoto(household_id, photo_id));
  if (!photo)
    return Err(NotFound(fmt::format("household {} has no photo {}", household_id, photo_id)));
  return std::pair{std::move(photo->content_type), std::move(photo->bytes)};
}

Result<std::vector<store::Photo>> ListPhotos(store::Store& store, const Actor& actor,
                                             std::string_view household_id, Lang lang) {
  ASSIGN_OR_RETURN(const store::EditStore::HouseholdHead head,
                   Locate(store, actor, household_id, lang));
  (void)head;
  return store.Edits().ListPhotos(household_id);
}

}  // namespace fupin::service
