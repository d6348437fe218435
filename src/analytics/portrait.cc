#include "analytics/portrait.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <set>

#include "core/datasets.h"
#include "core/id_number.h"
#include "core/mask.h"
#include "core/parallel.h"
#include "core/text.h"

namespace fupin::analytics {

namespace {

std::string CellText(const store::Cell& c, const FieldSpec& f, const MaskPolicy& mask) {
  switch (c.kind) {
    case store::Cell::Kind::kNull:
      return "";
    case store::Cell::Kind::kInt:
      if (f.type == FieldType::kMoney) return fmt::format("{:.2f}", static_cast<double>(c.i) / 100);
      return std::to_string(c.i);
    case store::Cell::Kind::kReal:
      return fmt::format("{}", c.r);
    case store::Cell::Kind::kText:
      break;
  }
  std::string v(c.text);
  if (f.type == FieldType::kIdNumber) return ShowIdNumber(v, mask);
  if (f.name == "name") return ShowName(v, mask);
  return v;
}

// The spec's fields as stored columns.
std::vector<std::string> FieldColumns(const DatasetSpec& d) {
  std::vector<std::string> out;
  for (const FieldSpec& f : d.fields) out.push_back(StoredColumnName(f));
  return out;
}

std::vector<PortraitField> Fields(const DatasetSpec& d, std::span<const store::Cell> cells,
                                  const MaskPolicy& mask) {
  std::vector<PortraitField> out;
  for (size_t i = 0; i < d.fields.size(); ++i)
    out.push_back({std::string(d.fields[i].name), std::string(d.fields[i].label_zh),
                   CellText(cells[i], d.fields[i], mask)});
  return out;
}

}  // namespace

Result<LinkedRowsIndex> LinkedRowsIndex::Build(store::Store& store, int threads) {
  ASSIGN_OR_RETURN(const store::Store::DataVersion version, store.GetDataVersion());
  std::vector<const DatasetSpec*> depts;
  for (const DatasetSpec& d : AllDatasets())
    if (d.kind == DatasetKind::kDepartment) depts.push_back(&d);
  LinkedRowsIndex index;
  index.links_version = version.links;
  index.by_dataset_.resize(depts.size());
  store::RulesStore& rs = store.Rules();
  RETURN_IF_ERROR(RunTasks(depts.size(), threads, [&](size_t t) -> Status {
    std::vector<Entry>& entries = index.by_dataset_[t];
    RETURN_IF_ERROR(
        rs.ScanLinkedRows(*depts[t], [&](std::span<const int64_t> r, std::span<const uint64_t> ps) {
          for (size_t i = 0; i < r.size(); ++i)
            entries.push_back({ps[i], static_cast<uint32_t>(r[i])});
        }));
    std::sort(entries.begin(), entries.end());
    entries.shrink_to_fit();
    return OkStatus();
  }));
  return index;
}

void LinkedRowsIndex::Find(size_t dataset, uint64_t person, std::vector<int64_t>& rows) const {
  if (dataset >= by_dataset_.size()) return;
  const std::vector<Entry>& entries = by_dataset_[dataset];
  auto it = std::lower_bound(entries.begin(), entries.end(), Entry{person, 0});
  for (; it != entries.end() && it->person == person; ++it) rows.push_back(it->row);
}

size_t LinkedRowsIndex::MemoryBytes() const {
  size_t n = 0;
  for (const auto& v : by_dataset_) n += v.capacity() * sizeof(Entry);
  return n;
}

Result<HouseholdPortrait> ReadHouseholdPortrait(store::Store& store, std::string_view household_id,
                                                int threads, const MaskPolicy& mask,
                                                const LinkedRowsIndex* index) {
  store::RulesStore& rs = store.Rules();
  HouseholdPortrait p;
  const DatasetSpec* households = FindDataset("households");
  const DatasetSpec* members = FindDataset("members");
  std::string village;
  RETURN_IF_ERROR(rs.ReadHousehold(*households, FieldColumns(*households), household_id,
                                   [&](int64_t, std::span<const store::Cell> cells) {
                                     p.household = Fields(*households, cells, mask);
                                   }));
  if (p.household.empty())
    return Err(NotFound(fmt::format("no household {} in the registry", household_id)));
  double income = 0;
  bool any = false;
  int64_t size = 0;
  for (const PortraitField& f : p.household) {
    if (f.name == "village_code") village = f.value;
    if (f.name.starts_with("income_") && f.name != "income_year" && !f.value.empty()) {
      income += std::stod(f.value);
      any = true;
    }
  }
  std::set<uint64_t> persons;
  std::vector<std::string> member_ids;
  const size_t id_slot = StoredSlot(*members, "id_number");
  (void)id_slot;
  std::vector<std::string> mcols = FieldColumns(*members);
  mcols.push_back("id_number");  // unmasked, to find the linked records
  mcols.push_back("name");       // unmasked, to mask the names quoted in flags' evidence
  std::vector<std::string> names;
  RETURN_IF_ERROR(rs.ReadHousehold(
      *members, mcols, household_id, [&](int64_t, std::span<const store::Cell> cells) {
        p.members.push_back(Fields(*members, cells.first(members->fields.size()), mask));
        const std::string id(cells[cells.size() - 2].text);
        if (const uint64_t packed = PackIdNumber(id)) persons.insert(packed);
        ++size;
      }));
  p.per_capita_income = any && size > 0 ? income / static_cast<double>(size) : std::nan("");
  // Every name the household ever had, those who left included, to mask them in evidence.
  RETURN_IF_ERROR(rs.ForEachMemberName(
      household_id, [&](std::string_view, std::string_view name) { names.emplace_back(name); }));
  std::sort(names.begin(), names.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });

  // Linked records: each department's links, then its rows for this household's persons.
  std::vector<const DatasetSpec*> depts;
  for (const DatasetSpec& d : AllDatasets())
    if (d.kind == DatasetKind::kDepartment) depts.push_back(&d);
  std::vector<std::vector<LinkedRecord>> found(depts.size());
  RETURN_IF_ERROR(RunTasks(depts.size(), threads, [&](size_t t) -> Status {
    const DatasetSpec& d = *depts[t];
    std::vector<int64_t> rows;
    std::vector<uint64_t> of;
    if (index) {
      std::vector<int64_t> found_rows;
      for (const uint64_t person : persons) {
        found_rows.clear();
        index->Find(t, person, found_rows);
        for (int64_t r : found_rows) {
          rows.push_back(r);
          of.push_back(person);
        }
      }
    } else {
      RETURN_IF_ERROR(
          rs.ScanLinkedRows(d, [&](std::span<const int64_t> r, std::span<const uint64_t> ps) {
            for (size_t i = 0; i < r.size(); ++i)
              if (persons.count(ps[i])) {
                rows.push_back(r[i]);
                of.push_back(ps[i]);
              }
          }));
    }
    if (rows.empty()) return OkStatus();
    std::vector<size_t> order(rows.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rows[a] < rows[b]; });
    std::vector<int64_t> sorted;
    for (size_t i : order) sorted.push_back(rows[i]);
    std::vector<std::string> cols = FieldColumns(d);
    cols.push_back("source_row");
    size_t next = 0;
    return rs.ReadRows(d, cols, sorted, [&](int64_t row_id, std::span<const store::Cell> cells) {
      while (next < sorted.size() && sorted[next] < row_id) ++next;
      LinkedRecord r;
      r.dataset = std::string(d.name);
      r.title_zh = std::string(d.title_zh);
      r.source_row = cells.back().kind == store::Cell::Kind::kInt ? cells.back().i : 0;
      r.member_id = next < sorted.size() ? ShowIdNumber(UnpackIdNumber(of[order[next]]), mask) : "";
      r.fields = Fields(d, cells.first(d.fields.size()), mask);
      found[t].push_back(std::move(r));
    });
  }));
  for (auto& f : found)
    for (LinkedRecord& r : f) p.records.push_back(std::move(r));

  store::FlagFilter filter;
  filter.region = village;
  filter.household_id = std::string(household_id);  // through its index, not the village's flags
  RETURN_IF_ERROR(rs.ForEachFlag(filter, [&](const store::FlagRow& f) -> Status {
    if (f.flag.household_id == household_id) {
      p.flags.push_back(f);
      store::FlagRow& shown = p.flags.back();
      if (!mask.unmask) {
        shown.flag.evidence_zh = MaskPersonalData(f.flag.evidence_zh, names);
        shown.flag.evidence_en = MaskPersonalData(f.flag.evidence_en, names);
        if (!shown.flag.id_number.empty())
          shown.flag.id_number = MaskIdNumber(shown.flag.id_number);
        shown.note = MaskPersonalData(f.note, names);  // a cadre's note may quote anyone
      }
    }
    return OkStatus();
  }));
  RETURN_IF_ERROR(rs.ForEachHistory(household_id, [&](const store::RulesStore::HistoryRow& h) {
    p.history.push_back(h);
    if (mask.unmask) return;
    store::RulesStore::HistoryRow& shown = p.history.back();
    // Member keys carry the ID number.
    const size_t slash = shown.entity_key.find('/');
    if (slash != std::string::npos)
      shown.entity_key =
          shown.entity_key.substr(0, slash + 1) + MaskIdNumber(shown.entity_key.substr(slash + 1));
    if (shown.field.starts_with("id_number") || shown.field.starts_with("head_id_number")) {
      shown.old_value = MaskIdAndPhoneNumbersIn(shown.old_value);
      shown.new_value = MaskIdAndPhoneNumbersIn(shown.new_value);
      if (shown.field.ends_with("_problem")) return;
      if (!shown.old_value.empty()) shown.old_value = MaskIdNumber(h.old_value);
      if (!shown.new_value.empty()) shown.new_value = MaskIdNumber(h.new_value);
    } else if (shown.field.starts_with("name") || shown.field.starts_with("head_name")) {
      shown.old_value = MaskName(h.old_value);
      shown.new_value = MaskName(h.new_value);
    }
  }));
  return p;
}

Result<VillagePortrait> BuildVillagePortrait(const Snapshot& snap, const std::string& village) {
  const auto& codes = snap.region_codes[kRegionLevels - 1];
  auto it = std::lower_bound(codes.begin(), codes.end(), village);
  if (it == codes.end() || *it != village)
    return Err(NotFound(fmt::format("no village {} in the regions", village)));
  VillagePortrait p;
  const size_t v = static_cast<size_t>(it - codes.begin());
  p.code = village;
  p.name = snap.region_names[4][v];
  p.township = snap.region_names[3][snap.village_region[3][v]];
  p.county = snap.region_names[2][snap.village_region[2][v]];
  p.prefecture = snap.region_names[1][snap.village_region[1][v]];
  p.province = snap.region_names[0][snap.village_region[0][v]];
  if (v < snap.villages.size()) p.attributes = snap.villages[v];
  const std::pair<std::string, std::vector<std::string>> here{"village", {village}};
  struct Section {
    std::string title;
    QuerySpec spec;
  };
  const std::vector<Section> sections = {
      {"status", {{"households", "persons"}, {"status"}, {here}}},
      {"primary_cause", {{"households", "persons"}, {"primary_cause"}, {here}}},
      {"income",
       {{"households", "mean_income", "median_income", "income_wage", "income_business",
         "income_property", "income_transfer"},
        {},
        {here}}},
      {"housing_safe", {{"households"}, {"housing_safe"}, {here}}},
      {"water_safe", {{"households"}, {"water_safe"}, {here}}},
      {"electricity", {{"households"}, {"electricity"}, {here}}},
      {"labor", {{"persons"}, {"labor"}, {here}}},
      {"linked", {{"persons"}, {"linked"}, {here}}},
      {"flags", {{"flagged_households", "flags"}, {"flag"}, {here}}},
  };
  for (const Section& s : sections) {
    ASSIGN_OR_RETURN(QueryResult r, RunQuery(snap, s.spec));
    p.sections.emplace_back(s.title, std::move(r));
  }
  ASSIGN_OR_RETURN(p.households, ListHouseholds(snap, {here}, 0, 100000));
  return p;
}

}  // namespace fupin::analytics
