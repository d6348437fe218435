#include "service/changes.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "core/datasets.h"
#include "core/id_number.h"
#include "core/mask.h"
#include "core/money.h"
#include "core/region_code.h"

namespace fupin::service {

namespace {

std::string MaskValue(std::string_view field, std::string_view value) {
  if (value.empty()) return "";
  if (field == "name" || field.ends_with("_name")) return MaskName(value);
  if (field.find("id_number") != std::string_view::npos) return MaskIdNumber(value);
  if (field.find("phone") != std::string_view::npos) return MaskPhoneNumber(value);
  return MaskIdAndPhoneNumbersIn(value);
}

// The exchange-format name of a stored registry column, and whether it holds money in fen
// (shown in yuan, as files and edits write it).
std::pair<std::string, bool> FieldOf(std::string_view column) {
  for (const DatasetSpec& d : AllDatasets()) {
    if (d.kind != DatasetKind::kHousehold && d.kind != DatasetKind::kMember) continue;
    for (const FieldSpec& f : d.fields)
      if (StoredColumnName(f) == column) return {std::string(f.name), f.type == FieldType::kMoney};
  }
  return {std::string(column), false};
}

std::string Yuan(const std::string& fen) {
  if (fen.empty()) return fen;
  const std::optional<int64_t> v = ParseInteger(fen);
  return v ? FormatFenAsYuan(*v) : fen;
}

Change FromRow(const store::ChangeRow& r) {
  Change c;
  c.cursor = r.cursor;
  c.at = r.at;
  c.source = r.source;
  c.user = r.user;
  c.entity = r.entity;
  c.household_id = r.household_id;
  c.village_code = r.village_code;
  c.member = r.id_number.empty() ? "" : MaskIdNumber(r.id_number);
  const auto [field, money] = FieldOf(r.field);
  c.field = field;
  c.old_value = MaskValue(field, money ? Yuan(r.old_value) : r.old_value);
  c.new_value = MaskValue(field, money ? Yuan(r.new_value) : r.new_value);
  c.reason = MaskIdAndPhoneNumbersIn(r.reason);
  c.edit_id = r.edit_id;
  return c;
}

// The region prefix of the actor's subtree for the store's filter; Sees() decides each row.
std::string ScopePrefix(const Actor& actor) {
  if (actor.region.size() != 12) return "-";  // matches nothing: Sees() refuses it too
  return std::string(SignificantPrefix(actor.region));
}

// True when household `household_id` has a member linked to one of `datasets` in `snap`.
bool Linked(const analytics::Snapshot& snap, std::string_view household_id, uint16_t mask) {
  const uint32_t h = snap.Find(household_id);
  if (h == UINT32_MAX) return false;
  for (uint32_t m = snap.member_begin[h]; m < snap.member_begin[h + 1]; ++m)
    if (snap.m_linked[m] & mask) return true;
  return false;
}

}  // namespace

Result<ChangePage> ChangesSince(store::Store& store, const Actor& actor, int64_t cursor, int limit,
                                const analytics::SnapshotHolder* links) {
  if (cursor < 0)
    return Err(InvalidArgument(fmt::format("since={} is not a cursor (>= 0)", cursor)));
  if (limit < 1 || limit > kMaxChangesPage)
    return Err(
        InvalidArgument(fmt::format("limit={} is out of range 1..{}", limit, kMaxChangesPage)));
  const bool department = actor.role == Role::kDepartment;
  if (department && !links)
    return Err(FailedPrecondition(
        "a department's change feed needs the analytics snapshot to know its linked records"));
  ChangePage page;
  page.next_cursor = cursor;
  const std::string prefix = ScopePrefix(actor);
  // Rows outside a department's links are skipped but still move the cursor: they were
  // read and judged. Read in rounds until the page is full or the history ends.
  for (;;) {
    std::vector<store::ChangeRow> rows;
    RETURN_IF_ERROR(store.Edits().ForEachChange(
        page.next_cursor, prefix, "", limit - static_cast<int>(page.changes.size()),
        [&](const store::ChangeRow& r) { rows.push_back(r); }));
    if (rows.empty()) return page;
    std::optional<analytics::SnapshotHolder::View> view;
    uint16_t mask = 0;
    if (department) {
      view.emplace(links->Read());
      for (size_t i = 0; i < (*view)->datasets.size() && i < 16; ++i)
        if (std::find(actor.datasets.begin(), actor.datasets.end(), (*view)->datasets[i]) !=
            actor.datasets.end())
          mask |= static_cast<uint16_t>(1u << i);
    }
    for (const store::ChangeRow& r : rows) {
      page.next_cursor = r.cursor;
      if (!actor.Sees(r.village_code)) continue;
      if (department && !Linked(**view, r.household_id, mask)) continue;
      page.changes.push_back(FromRow(r));
    }
    if (static_cast<int>(page.changes.size()) >= limit) return page;
  }
}

Result<std::vector<Change>> HouseholdHistory(store::Store& store, const Actor& actor,
                                             std::string_view household_id) {
  ASSIGN_OR_RETURN(std::optional<store::EditStore::HouseholdHead> head,
                   store.Edits().Head(household_id));
  if (!head) return Err(NotFound(fmt::format("no household {}", household_id)));
  if (!actor.Sees(head->village_code))
    return Err(
        PermissionDenied(fmt::format("user {} may not read household {}: it is outside region {}",
                                     actor.user, household_id, actor.region)));
  std::vector<Change> out;
  RETURN_IF_ERROR(store.Edits().ForEachChange(
      0, "", household_id, 1 << 30, [&](const store::ChangeRow& r) { out.push_back(FromRow(r)); }));
  return out;
}

nlohmann::json ChangeJson(const Change& c) {
  return {{"cursor", c.cursor},
          {"at", c.at},
          {"source", c.source},
          {"user", c.user},
          {"entity", c.entity},
          {"household_id", c.household_id},
          {"village_code", c.village_code},
          {"member", c.member},
          {"field", c.field},
          {"old_value", c.old_value},
          {"new_value", c.new_value},
          {"reason", c.reason},
          {"edit_id", c.edit_id}};
}

}  // namespace fupin::service
