// Standard report templates (报表模板): each fills a Document (document.h) for one region and
// year from the analytics snapshot (and, for the list of flags to verify, the store), so the
// XLSX and PDF writers print the same figures the query model answers.
//
//   registry  建档立卡贫困人口统计表  households and persons by sub-region and status
//   causes    致贫原因分析表          households and persons by primary cause, and by sub-region
//   progress  脱贫进度表              registered, exited and remaining by year up to the year
//   policy    政策落实情况表          persons reached by each department's policy, by sub-region
//   flags     疑点核查清单            the open flags of the region, ID numbers masked
//
// "Year" is the income year of the registry (the data year) for registry, causes and policy;
// progress counts years up to it; flags lists what is open now.
#pragma once

#include <string>
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

// kInvalidArgument for an unknown template or region, or a year without data (naming the
// years there are).
Result<Document> BuildReport(const analytics::Snapshot& snap, store::Store& store,
                             const ReportRequest& request);

}  // namespace fupin::reports
