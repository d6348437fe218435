// Standard report templates (报表模板): each fills a Document (document.h) for one region and
// year from the analytics snapshot (and, for the list of flags to verify, the store), so the
// XLSX and PDF writers print the same figures the query model answers.
//
//   registry  建档立卡贫困人口统计表  households and persons by sub-region and status
//   causes    致贫原因分析表          households and persons by primary cause, and by sub-region
//   progress  脱贫进度表              registered, exited and remaining by year up to the year
//   policy    政策落实情况表          persons reached by each department's policy, by sub-region
//   flags     疑点核查清单            the open flags of the region, ID numbers and names masked
//
// "Year" is the income year of the registry (the data year) for registry, causes and policy;
// progress counts years up to it; flags lists what is open now. 未脱贫 is IsPoorStatus
// (core/code_lists.h) in every template. Rules and categories are shown by their names.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "analytics/snapshot.h"
#include "core/status.h"
#include "reports/document.h"
#include "store/store.h"

namespace fupin::reports {

struct TemplateInfo {
  std::string name;
  std::string title_zh;
  std::string title_en;
};
const std::vector<TemplateInfo>& Templates();

struct ReportRequest {
  std::string template_name;
  std::string region;  // 12-digit code (or its significant prefix); empty: the province
  int year = 0;        // 0: the snapshot's data year
  bool english = false;
  std::string date;  // YYYY-MM-DD shown as the date made; empty: today
};

// The template, region and year a request resolves to: the region as 12 digits (the
// province when empty; a 2, 4, 6 or 9 digit prefix padded) and its level (0 province ..
// 4 village), the year (the data year when 0). kInvalidArgument, in the request's language,
// for an unknown template (listing the templates) or region, or a year the template cannot
// show (naming the years it can: the income years of the data; for progress, the years
// from the first registration up to the latest of them).
struct ReportScope {
  const TemplateInfo* info = nullptr;
  std::string region;
  int level = 0;
  int year = 0;
};
Result<ReportScope> ResolveScope(const analytics::Snapshot& snap, const ReportRequest& request);

// A region and a count.
struct RegionCount {
  std::string code;  // 12 digits
  std::string name;
  int64_t count = 0;
};
// At most how many flags the flags report of `request` lists, per county of its region (the
// counties with any, in code order): the snapshot's open and verified flags, found at once,
// before any list is read. Fails as ResolveScope does.
Result<std::vector<RegionCount>> FlagBoundsByCounty(const analytics::Snapshot& snap,
                                                    const ReportRequest& request);

// Fails as ResolveScope does.
Result<Document> BuildReport(const analytics::Snapshot& snap, store::Store& store,
                             const ReportRequest& request);

// household_id -> the names of its members, longest first (to mask them in evidence).
using MemberNameMap = std::unordered_map<std::string, std::vector<std::string>>;

// What a flag list written county by county needs first, from one read of the region's open
// flags: how many each county has (the counties with any, in code order) and the names of
// the members of the flagged households. Fails as ResolveScope does, or with the store's
// error.
struct FlagListIndex {
  std::vector<RegionCount> counties;
  std::map<std::string, int64_t> by_rule;  // open flags per rule id
  MemberNameMap names;
};
Result<FlagListIndex> IndexFlagList(const analytics::Snapshot& snap, store::Store& store,
                                    const ReportRequest& request);
// BuildReport for the flags template of a region inside the index's (a county of it), using
// the index's names instead of reading them again.
Result<Document> BuildFlagList(const analytics::Snapshot& snap, store::Store& store,
                               const ReportRequest& request, const FlagListIndex& index);
// The flags report of the index's region without its list: heading and the summary by rule,
// from the index's counts (no flag is read again).
Result<Document> BuildFlagSummary(const analytics::Snapshot& snap, store::Store& store,
                                  const ReportRequest& request, const FlagListIndex& index);

}  // namespace fupin::reports
