#include "service/review.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <unordered_map>

#include "core/datasets.h"
#include "core/id_number.h"
#include "core/mask.h"

namespace fupin::service {
namespace {

// A message in the request's language, formatted at run time.
template <typename... Args>
std::string Say(bool zh, std::string_view text_zh, std::string_view text_en, Args&&... args) {
  return fmt::format(fmt::runtime(zh ? text_zh : text_en), std::forward<Args>(args)...);
}

const DatasetSpec* DepartmentDataset(std::string_view name) {
  const DatasetSpec* d = FindDataset(name);
  return d && d->kind == DatasetKind::kDepartment ? d : nullptr;
}

Status UnknownDataset(std::string_view name, Lang lang) {
  std::string known;
  for (const DatasetSpec& d : AllDatasets())
    if (d.kind == DatasetKind::kDepartment)
      known += fmt::format("{}{}", known.empty() ? "" : ", ", d.name);
  return InvalidArgument(Say(lang == Lang::kZh, "未知部门数据集 {}（可选: {}）",
                             "unknown department data set {} (one of: {})", name, known));
}

// Fills in the department rows and registry persons of `items` (candidates only so far).
Status Describe(store::Store& store, std::vector<ReviewItem>& items, bool unmask) {
  std::map<std::string, std::vector<size_t>> by_dataset;
  std::unordered_map<std::string, std::vector<size_t>> by_person;
  for (size_t i = 0; i < items.size(); ++i) {
    by_dataset[items[i].dataset].push_back(i);
    by_person[items[i].person_id_number].push_back(i);
  }
  for (auto& [name, at] : by_dataset) {
    const DatasetSpec* d = DepartmentDataset(name);
    if (!d) continue;
    std::sort(at.begin(), at.end(),
              [&](size_t a, size_t b) { return items[a].row_id < items[b].row_id; });
    std::vector<int64_t> rows;
    std::unordered_map<int64_t, std::vector<size_t>> of_row;
    for (size_t i : at) {
      if (rows.empty() || rows.back() != items[i].row_id) rows.push_back(items[i].row_id);
      of_row[items[i].row_id].push_back(i);
    }
    RETURN_IF_ERROR(store.Links().ScanDepartmentRows(*d, rows, [&](const store::DeptIdentity& r) {
      for (size_t i : of_row[r.row_id]) {
        items[i].row_id_number = r.id_number;
        items[i].row_name = r.name;
        items[i].row_birth_date = r.birth_date;
        items[i].row_region_code = r.region_code;
        items[i].row_sex = r.sex;
      }
    }));
  }
  if (!by_person.empty())
    RETURN_IF_ERROR(store.Links().ScanMembers([&](const store::RegistryMember& m) {
      auto it = by_person.find(std::string(m.id_number));
      if (it == by_person.end()) return;
      for (size_t i : it->second) {
        items[i].person_found = true;
        items[i].person_name = m.name;
        items[i].person_birth_date = m.birth_date;
        items[i].person_household_id = m.household_id;
        items[i].person_sex = m.sex;
      }
    }));
  if (!unmask)
    for (ReviewItem& item : items) {
      item.row_id_number = MaskIdNumber(item.row_id_number);
      item.row_name = MaskName(item.row_name);
      item.person_id_number = MaskIdNumber(item.person_id_number);
      item.person_name = MaskName(item.person_name);
    }
  return OkStatus();
}

ReviewItem FromCandidate(const store::ReviewCandidate& c) {
  ReviewItem item;
  item.dataset = c.dataset;
  item.row_id = c.row_id;
  item.source_row = c.source_row;
  item.person_id_number = c.person_id > 0 ? UnpackIdNumber(static_cast<uint64_t>(c.person_id)) : "";
  item.weight = c.weight;
  item.probability = c.probability;
  for (size_t f = 0; f < item.levels.size(); ++f)
    item.levels[f] = static_cast<int>((c.levels >> (4 * f)) & 0xF);
  return item;
}

}  // namespace

Result<std::vector<ReviewItem>> ListReview(store::Store& store, const ReviewListRequest& request) {
  if (!request.dataset.empty() && !DepartmentDataset(request.dataset))
    return Err(UnknownDataset(request.dataset, request.lang));
  std::vector<ReviewItem> items;
  bool full = false;
  Status st = store.Links().ForEachReview(
      request.dataset, request.source_row, [&](const store::ReviewCandidate& c) -> Status {
        if (request.limit > 0 && items.size() >= request.limit) {
          full = true;
          return FailedPrecondition("enough");  // stops the scan
        }
        items.push_back(FromCandidate(c));
        return OkStatus();
      });
  if (!st.ok() && !full) return Err(st);
  RETURN_IF_ERROR(Describe(store, items, request.unmask));
  return items;
}

std::string_view ReviewFieldLabel(size_t field, Lang lang) {
  const bool zh = lang == Lang::kZh;
  switch (field) {
    case 0:
      return zh ? "姓名" : "name";
    case 1:
      return zh ? "出生日期" : "birth date";
    case 2:
      return zh ? "性别" : "sex";
    case 3:
      return zh ? "地区" : "region";
  }
  return "?";
}

std::string_view ReviewLevelLabel(size_t field, int level, Lang lang) {
  const bool zh = lang == Lang::kZh;
  if (level == 15) return zh ? "缺失" : "missing";
  switch (field * 16 + static_cast<size_t>(level)) {
    case 0 * 16 + 0:
    case 1 * 16 + 0:
    case 2 * 16 + 0:
      return zh ? "相同" : "identical";
    case 0 * 16 + 1:
      return zh ? "繁简相同" : "same after traditional→simplified";
    case 0 * 16 + 2:
      return zh ? "同音" : "same pinyin";
    case 0 * 16 + 3:
      return zh ? "一字之差" : "one character different";
    case 0 * 16 + 4:
    case 1 * 16 + 3:
    case 2 * 16 + 1:
    case 3 * 16 + 3:
      return zh ? "不同" : "different";
    case 1 * 16 + 1:
      return zh ? "年月日一项不同" : "one of year, month, day different";
    case 1 * 16 + 2:
      return zh ? "月日颠倒" : "day and month swapped";
    case 3 * 16 + 0:
      return zh ? "同村" : "same village";
    case 3 * 16 + 1:
      return zh ? "同乡镇" : "same township";
    case 3 * 16 + 2:
      return zh ? "同县" : "same county";
  }
  return "?";
}

Result<ReviewItem> DecideReview(store::Store& store, const ReviewDecisionRequest& request) {
  const bool zh = request.lang == Lang::kZh;
  const DatasetSpec* d = DepartmentDataset(request.dataset);
  if (!d) return Err(UnknownDataset(request.dataset, request.lang));
  std::vector<store::ReviewCandidate> found;
  RETURN_IF_ERROR(store.Links().ForEachReview(d->name, request.source_row,
                                              [&](const store::ReviewCandidate& c) {
                                                found.push_back(c);
                                                return OkStatus();
                                              }));
  if (found.empty())
    return Err(NotFound(Say(zh, "{} 第 {} 行没有待核查的候选人（未进入核查队列，或已处理）",
                            "{} row {} has no candidate awaiting review (never "
                            "queued, or already decided)",
                            request.dataset, request.source_row)));
  if (found.size() > 1)
    return Err(InvalidArgument(
        Say(zh, "{} 第 {} 行对应多条记录（来自不同文件），请先重新导入",
            "{} row {} names several rows (from different files): import again first",
            request.dataset, request.source_row)));
  const store::ReviewCandidate& c = found.front();
  RETURN_IF_ERROR(store.Links().DecideReview(*d, c.row_id, c.person_id, request.accept,
                                             request.actor, request.note));
  std::vector<ReviewItem> items = {FromCandidate(c)};
  RETURN_IF_ERROR(Describe(store, items, request.unmask));
  return items.front();
}

}  // namespace fupin::service
