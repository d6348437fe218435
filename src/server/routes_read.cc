// Reads, all region-scoped: GET /api/query, /api/households (drill-down list),
// /api/regions/{code}, /api/villages/{code}/portrait, /api/households/{household_id},
// /api/flags, /api/flags/{id}, /api/reports/{template}.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/id_number.h"
#include "core/mask.h"
#include "server/app.h"
#include "service/flags.h"
#include "service/portrait.h"
#include "service/query.h"
#include "service/report.h"

namespace fupin::server {
namespace {

// The query dimension of a region code's level and the code ("" for the province).
std::pair<std::string, std::string> RegionDimension(std::string_view code) {
  size_t n = code.size();
  while (n > 0 && code[n - 1] == '0') --n;
  if (n <= 2) return {"", ""};
  if (n <= 4) return {"prefecture", std::string(code)};
  if (n <= 6) return {"county", std::string(code)};
  if (n <= 9) return {"township", std::string(code)};
  return {"village", std::string(code)};
}

bool IsRegionCode(std::string_view code) {
  return code.size() == 12 &&
         std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Roles that may ask for names and ID numbers in full (with a reason, audited).
bool MayUnmask(Role role) {
  return role == Role::kAdmin || role == Role::kOfficial || role == Role::kCadre;
}

// ?unmask=1&reason=...: the policy, or the refusal (audited).
Result<MaskPolicy> UnmaskPolicy(App& app, const Ctx& ctx, const httplib::Request& req,
                                std::string_view object) {
  MaskPolicy policy;
  const auto unmask = Param(req, "unmask");
  if (!unmask || *unmask == "0" || *unmask == "false") return policy;
  if (!MayUnmask(ctx.actor.role)) return Err(app.Deny(ctx, object, Msg::kUnmaskRole));
  const auto reason = Param(req, "reason");
  if (!reason || reason->find_first_not_of(" \t") == std::string::npos)
    return Err(InvalidArgument(std::string(Text(Msg::kUnmaskReason, ctx.lang))));
  app.audit().Append(ctx.actor, {"unmask", std::string(object), *reason, "ok"});
  policy.unmask = true;
  return policy;
}

// The answer cache's key of a query: every input of the answer but the snapshot (whose
// generation goes beside the key). Fields are length-prefixed, so no value can pose as two.
std::string QueryCacheKey(const Ctx& ctx, const service::QueryParams& params) {
  std::string key;
  auto add = [&key](std::string_view field) {
    key += std::to_string(field.size());
    key += ':';
    key += field;
  };
  add(ctx.actor.region);
  add(RoleName(ctx.actor.role));
  add(ctx.lang == Lang::kZh ? "zh" : "en");
  add(params.measures);
  add(params.by);
  add(params.line);
  add(params.mpi_indicators);
  add(fmt::format("{}", params.mpi_k));
  for (const std::string& w : params.where) add(w);
  return key;
}

Status QueryRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  ASSIGN_OR_RETURN(service::QueryParams params, QueryParamsOf(ctx, req));
  // A repeated question of the same snapshot is answered from the cache (response_cache.h).
  const std::string key = QueryCacheKey(ctx, params);
  auto snap = app.snapshots().Read();
  const uint64_t generation = snap.generation();
  if (auto cached = app.query_cache().Find(key, generation)) {
    SendJsonText(res, *cached);
    return OkStatus();
  }
  ASSIGN_OR_RETURN(analytics::QuerySpec spec, service::BuildQuerySpec(params, ctx.lang));
  RETURN_IF_ERROR(service::ResolveWhere(*snap, &app.rule_set(), spec.where, ctx.lang));
  ASSIGN_OR_RETURN(std::string note,
                   service::ApplyLines(*snap, app.rule_set(), params, spec, ctx.lang));
  ASSIGN_OR_RETURN(service::QueryAnswer answer,
                   service::AnswerQuery(*snap, &app.rule_set(), spec, ctx.lang));
  std::string body = "{\"dimensions\":";
  body += nlohmann::json(answer.dimensions).dump();
  body += ",\"measures\":";
  body += nlohmann::json(answer.measures).dump();
  body += ",\"note\":";
  body += nlohmann::json(note).dump();
  body += ",\"rows\":";
  body += service::AnswerJson(answer);
  body += "}";
  app.query_cache().Put(key, generation, std::make_shared<const std::string>(body));
  SendJsonText(res, std::move(body));
  return OkStatus();
}

Status HouseholdListRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  ASSIGN_OR_RETURN(int64_t offset, IntParam(req, "offset", 0, 0, INT32_MAX, ctx.lang));
  ASSIGN_OR_RETURN(int64_t limit, IntParam(req, "limit", 50, 1, 1000, ctx.lang));
  ASSIGN_OR_RETURN(service::QueryParams params, QueryParamsOf(ctx, req));
  params.measures = "households";
  params.by.clear();
  ASSIGN_OR_RETURN(analytics::QuerySpec spec, service::BuildQuerySpec(params, ctx.lang));
  auto snap = app.snapshots().Read();
  RETURN_IF_ERROR(service::ResolveWhere(*snap, &app.rule_set(), spec.where, ctx.lang));
  ASSIGN_OR_RETURN(analytics::HouseholdList list,
                   analytics::ListHouseholds(*snap, spec.where, offset, limit));
  SendJsonText(res, service::HouseholdListJson(*snap, list, ctx.lang));
  return OkStatus();
}

// The level of a region code: 0 province .. 4 village.
int RegionLevel(std::string_view code) {
  const std::string dim = RegionDimension(code).first;
  return dim.empty()           ? 0
         : dim == "prefecture" ? 1
         : dim == "county"     ? 2
         : dim == "township"   ? 3
                               : 4;
}

// The key figures of one region (docs/query.md): three questions of the query model, the
// counts from the cube, monitored persons from the households with flags, flags from the
// cube's flag counts (by rule, summed).
Result<nlohmann::json> RegionSummary(const analytics::Snapshot& snap, const std::string& code) {
  std::vector<std::pair<std::string, std::vector<std::string>>> where;
  const auto [dim, c] = RegionDimension(code);
  if (!dim.empty()) where.push_back({dim, {c}});
  analytics::QuerySpec counts{
      {"households", "persons", "poor_persons", "exited_persons", "returned_persons", "incidence"},
      {},
      where};
  counts.threads = 1;
  ASSIGN_OR_RETURN(analytics::QueryResult a, analytics::RunQuery(snap, counts));
  // Only households with a flag can be monitored: asked of them alone, the scan reads the
  // snapshot's list of flagged households instead of the region's rows.
  analytics::QuerySpec monitored{{"monitored_persons"}, {}, where};
  if (!snap.rules.empty()) monitored.where.push_back({"flag", snap.rules});
  monitored.threads = 1;
  ASSIGN_OR_RETURN(analytics::QueryResult b, analytics::RunQuery(snap, monitored));
  analytics::QuerySpec flags{{"flags"}, {"flag"}, where};
  flags.threads = 1;
  ASSIGN_OR_RETURN(analytics::QueryResult f, analytics::RunQuery(snap, flags));
  nlohmann::json out;
  auto value = [](const analytics::QueryResult& r, size_t i) -> double {
    return r.values.empty() ? 0 : r.values[0][i];
  };
  const char* names[] = {"households", "persons", "poor_persons", "exited_persons",
                         "returned_persons"};
  for (size_t i = 0; i < std::size(names); ++i) out[names[i]] = static_cast<int64_t>(value(a, i));
  out["monitored_persons"] = static_cast<int64_t>(value(b, 0));
  const double incidence = value(a, 5);
  out["incidence"] = a.values.empty() || std::isnan(incidence) ? nlohmann::json(nullptr)
                                                               : nlohmann::json(incidence);
  int64_t open_flags = 0;
  for (size_t r = 0; r < f.rows.size(); ++r)
    if (!f.rows[r][0].empty()) open_flags += static_cast<int64_t>(f.values[r][0]);
  out["open_flags"] = open_flags;
  return out;
}

Status RegionRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string code = req.matches[1];
  if (!IsRegionCode(code) || !app.RegionExists(code))
    return NotFound(
        fmt::format("{}: {}", ctx.lang == Lang::kZh ? "没有这个区划" : "no such region", code));
  if (!ctx.actor.Sees(code)) return app.Deny(ctx, "region " + code, Msg::kOutsideRegion);
  auto snap = app.snapshots().Read();
  // Figures of the region and of each child, from the snapshot's cube.
  auto figures = [&](const std::string& region) -> Result<nlohmann::json> {
    service::QueryParams params;
    params.measures = "households,persons";
    params.by = "status";
    const auto [dim, c] = RegionDimension(region);
    if (!dim.empty()) params.where.push_back(dim + "=" + c);
    ASSIGN_OR_RETURN(analytics::QuerySpec spec, service::BuildQuerySpec(params, ctx.lang));
    RETURN_IF_ERROR(service::ResolveWhere(*snap, &app.rule_set(), spec.where, ctx.lang));
    ASSIGN_OR_RETURN(service::QueryAnswer answer,
                     service::AnswerQuery(*snap, &app.rule_set(), spec, ctx.lang));
    return nlohmann::json::parse(service::AnswerJson(answer));
  };
  ASSIGN_OR_RETURN(nlohmann::json own, figures(code));
  ASSIGN_OR_RETURN(nlohmann::json summary, RegionSummary(*snap, code));
  // The children's points: the mean GPS of their households (null when none has one).
  const int level = RegionLevel(code);
  std::vector<analytics::GeoPoint> points;
  if (level + 1 < analytics::kRegionLevels) {
    Result<std::vector<analytics::GeoPoint>> p = analytics::RegionPoints(*snap, level + 1, code);
    if (p) points = std::move(*p);  // a region without villages in the snapshot: no points
  }
  auto point = [&](const std::string& child) -> std::pair<nlohmann::json, nlohmann::json> {
    if (points.empty()) return {nullptr, nullptr};
    const auto& codes = snap->region_codes[static_cast<size_t>(level + 1)];
    auto it = std::lower_bound(codes.begin(), codes.end(), child);
    if (it == codes.end() || *it != child) return {nullptr, nullptr};
    const analytics::GeoPoint& g = points[static_cast<size_t>(it - codes.begin())];
    if (g.households == 0) return {nullptr, nullptr};
    return {g.lat, g.lon};
  };
  nlohmann::json children = nlohmann::json::array();
  for (const std::string& child : app.RegionChildren(code)) {
    ASSIGN_OR_RETURN(nlohmann::json f, figures(child));
    auto [lat, lon] = point(child);
    children.push_back({{"code", child},
                        {"name", app.RegionName(child)},
                        {"by_status", f},
                        {"lat", lat},
                        {"lon", lon}});
  }
  // The regions above it, from the province down to its parent, for breadcrumbs on a page
  // opened by its address (region names are public; the figures stay scoped).
  nlohmann::json ancestors = nlohmann::json::array();
  for (const size_t digits : {2, 4, 6, 9}) {
    std::string above = code.substr(0, digits);
    above.resize(12, '0');
    if (above == code || !app.RegionExists(above)) continue;
    if (!ancestors.empty() && ancestors.back()["code"] == above) continue;
    ancestors.push_back({{"code", above}, {"name", app.RegionName(above)}});
  }
  nlohmann::json out = {{"code", code},           {"name", app.RegionName(code)},
                        {"ancestors", ancestors}, {"summary", summary},
                        {"by_status", own},       {"children", children}};
  SendJson(res, out);
  return OkStatus();
}

Status VillageRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string code = req.matches[1];
  if (!IsRegionCode(code))
    return NotFound(
        fmt::format("{}: {}", ctx.lang == Lang::kZh ? "没有这个村" : "no such village", code));
  if (!ctx.actor.Sees(code)) return app.Deny(ctx, "village " + code, Msg::kOutsideRegion);
  auto snap = app.snapshots().Read();
  ASSIGN_OR_RETURN(analytics::VillagePortrait portrait,
                   service::ShowVillage(*snap, code, ctx.lang));
  SendJsonText(res, service::VillageJson(*snap, portrait, ctx.lang));
  return OkStatus();
}

// The village of a household by the snapshot, "" when the snapshot does not hold it.
std::string VillageOf(App& app, std::string_view household_id) {
  auto snap = app.snapshots().Read();
  const uint32_t h = snap->Find(household_id);
  if (h == UINT32_MAX) return "";
  return snap->region_codes[analytics::kRegionLevels - 1][snap->h_village[h]];
}

Status HouseholdRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1];
  const std::string object = "household " + id;
  if (ctx.actor.role == Role::kDepartment) return app.Deny(ctx, object, Msg::kForbiddenRole);
  const std::string village = VillageOf(app, id);
  if (village.empty())
    return NotFound(
        fmt::format("{}: {}", ctx.lang == Lang::kZh ? "没有这个户" : "no such household", id));
  if (!ctx.actor.Sees(village)) return app.Deny(ctx, object, Msg::kOutsideRegion);
  ASSIGN_OR_RETURN(MaskPolicy mask, UnmaskPolicy(app, ctx, req, object));
  ASSIGN_OR_RETURN(store::Store * db, app.Db());
  service::PortraitOptions options;
  options.lang = ctx.lang;
  options.mask = mask;
  options.threads = 1;
  const std::shared_ptr<const analytics::LinkedRowsIndex> index = app.links_index();
  options.index = index.get();
  options.region_names = &app.region_names();
  // One commit's registry, links, flags and history, never a mix (store.h ReadView).
  ASSIGN_OR_RETURN(store::ReadView read_view, db->BeginRead());
  ASSIGN_OR_RETURN(std::optional<store::EditStore::HouseholdHead> head, db->Edits().Head(id));
  ASSIGN_OR_RETURN(service::HouseholdView view, service::ShowHousehold(*db, id, options));
  read_view.End();
  app.audit().Append(ctx.actor, {"read_household", object, mask.unmask ? "unmasked" : "", "ok"});
  // The version a PATCH must carry, first in the object.
  std::string body = service::HouseholdJson(view, ctx.lang);
  body.insert(1, fmt::format("\"version\":{},", head ? head->version : 0));
  SendJsonText(res, std::move(body));
  return OkStatus();
}

nlohmann::json FlagJson(App& app, const store::FlagRow& row, Lang lang) {
  const store::RaisedFlag& f = row.flag;
  const rules::Rule* rule = nullptr;
  for (const rules::Rule& r : app.rule_set().rules)
    if (r.id == f.rule) rule = &r;
  return {{"id", row.flag_id},
          {"rule", f.rule},
          {"rule_name", rule ? (lang == Lang::kZh ? rule->name_zh : rule->name_en) : f.rule},
          {"category", f.category},
          {"severity", f.severity},
          {"household_id", f.household_id},
          {"id_number", f.id_number.empty() ? "" : MaskIdNumber(f.id_number)},
          {"village_code", f.village_code},
          {"village_name", app.RegionName(f.village_code)},
          {"evidence", MaskIdAndPhoneNumbersIn(lang == Lang::kZh ? f.evidence_zh : f.evidence_en)},
          {"state", store::FlagStateName(row.state)},
          {"state_label", service::VerdictLabel(row.state, lang)},
          {"note", MaskIdAndPhoneNumbersIn(row.note)},
          {"decided_by", row.decided_by},
          {"decided_at", row.decided_at}};
}

Status FlagsRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  ASSIGN_OR_RETURN(int64_t offset, IntParam(req, "offset", 0, 0, INT32_MAX, ctx.lang));
  ASSIGN_OR_RETURN(int64_t limit, IntParam(req, "limit", 50, 1, 1000, ctx.lang));
  ASSIGN_OR_RETURN(service::FlagExportRequest request, FlagRequestOf(app, ctx, req));
  ASSIGN_OR_RETURN(store::Store * db, app.Db());
  ASSIGN_OR_RETURN(store::FlagFilter filter, service::MakeFlagFilter(*db, request));
  int64_t total = 0;
  nlohmann::json items = nlohmann::json::array();
  RETURN_IF_ERROR(db->Rules().ForEachFlag(filter, [&](const store::FlagRow& row) {
    if (total >= offset && total < offset + limit) items.push_back(FlagJson(app, row, ctx.lang));
    ++total;
    return OkStatus();
  }));
  SendJson(res, {{"total", total}, {"offset", offset}, {"flags", items}});
  return OkStatus();
}

Status FlagRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  int64_t id = 0;
  try {
    id = std::stoll(req.matches[1]);
  } catch (...) {
    return InvalidArgument(fmt::format("{}id", Text(Msg::kBadParameter, ctx.lang)));
  }
  ASSIGN_OR_RETURN(store::Store * db, app.Db());
  ASSIGN_OR_RETURN(std::optional<store::FlagRow> row, db->Rules().GetFlag(id));
  if (!row)
    return NotFound(
        fmt::format("{} {}", ctx.lang == Lang::kZh ? "没有这个疑点" : "no such flag", id));
  if (!ctx.actor.Sees(row->flag.village_code))
    return app.Deny(ctx, fmt::format("flag {}", id), Msg::kOutsideRegion);
  SendJson(res, FlagJson(app, *row, ctx.lang));
  return OkStatus();
}

Status ReportRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  service::ReportOptions options;
  options.template_name = req.matches[1];
  options.region = Param(req, "region").value_or(ctx.actor.region);
  if (!IsRegionCode(options.region))
    return InvalidArgument(fmt::format("{}region", Text(Msg::kBadParameter, ctx.lang)));
  if (!ctx.actor.Sees(options.region))
    return app.Deny(ctx, "report " + options.region, Msg::kOutsideRegion);
  ASSIGN_OR_RETURN(int64_t year, IntParam(req, "year", 0, 0, 2100, ctx.lang));
  options.year = static_cast<int>(year);
  options.lang = ctx.lang;
  const std::string format = Param(req, "format").value_or("xlsx");
  std::string type;
  if (format == "xlsx") {
    options.format = service::ReportFormat::kXlsx;
    type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
  } else if (format == "pdf") {
    options.format = service::ReportFormat::kPdf;
    type = "application/pdf";
  } else if (format == "csv") {
    options.format = service::ReportFormat::kCsv;
    type = "text/csv; charset=utf-8";
  } else {
    return InvalidArgument(
        fmt::format("{}format (xlsx, pdf, csv)", Text(Msg::kBadParameter, ctx.lang)));
  }
  ASSIGN_OR_RETURN(store::Store * db, app.Db());
  // A View per step of the report, none while its file is written: an edit's delta waits
  // for one step at most (service::SnapshotUse).
  const service::SnapshotUse use =
      [&app](const std::function<Status(const analytics::Snapshot&)>& fn) {
        auto view = app.snapshots().Read();
        return fn(*view);
      };
  ASSIGN_OR_RETURN(std::string bytes, service::RenderReport(use, *db, options, app.scratch_dir()));
  app.audit().Append(ctx.actor, {"export", "report " + options.template_name,
                                 options.region + " " + format, "ok"});
  res.set_header("Content-Disposition", fmt::format("attachment; filename=\"{}-{}.{}\"",
                                                    options.template_name, options.region, format));
  res.set_content(std::move(bytes), type);
  return OkStatus();
}

}  // namespace

void InstallReadRoutes(App& app, httplib::Server& server) {
  auto bind = [&app](Status (*fn)(App&, Ctx&, const httplib::Request&, httplib::Response&)) {
    return [&app, fn](Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
      return fn(app, ctx, req, res);
    };
  };
  app.Route(server, "GET", "/api/query", "/api/query", {.light_read = true}, bind(QueryRoute));
  app.Route(server, "GET", "/api/households", "/api/households", {.light_read = true},
            bind(HouseholdListRoute));
  app.Route(server, "GET", R"(/api/regions/([^/]+))", "/api/regions/{code}", {.light_read = true},
            bind(RegionRoute));
  app.Route(server, "GET", R"(/api/villages/([^/]+)/portrait)", "/api/villages/{code}/portrait",
            {.light_read = true}, bind(VillageRoute));
  app.Route(server, "GET", R"(/api/households/([^/]+))", "/api/households/{household_id}",
            {.light_read = true}, bind(HouseholdRoute));
  app.Route(server, "GET", "/api/flags", "/api/flags", {.light_read = true}, bind(FlagsRoute));
  app.Route(server, "GET", R"(/api/flags/([0-9]+))", "/api/flags/{id}", {.light_read = true},
            bind(FlagRoute));
  app.Route(server, "GET", R"(/api/reports/([a-z_]+))", "/api/reports/{template}",
            {.roles = {Role::kAdmin, Role::kOfficial, Role::kAuditor, Role::kCadre}},
            bind(ReportRoute));
}

Result<service::QueryParams> QueryParamsOf(const Ctx& ctx, const httplib::Request& req) {
  service::QueryParams params;
  params.measures = Param(req, "measures").value_or("households");
  params.by = Param(req, "by").value_or("");
  params.where = AllParams(req, "where");
  if (auto line = Param(req, "line")) params.line = *line;
  if (auto mpi = Param(req, "mpi_indicators")) params.mpi_indicators = *mpi;
  params.threads = 1;
  const auto [dim, code] = RegionDimension(ctx.actor.region);
  if (!dim.empty()) params.where.push_back(dim + "=" + code);
  return params;
}

Result<service::FlagExportRequest> FlagRequestOf(App& app, const Ctx& ctx,
                                                 const httplib::Request& req) {
  service::FlagExportRequest request;
  request.rule = Param(req, "rule").value_or("");
  request.category = Param(req, "category").value_or("");
  request.state = Param(req, "state").value_or("");
  request.region = Param(req, "region").value_or(ctx.actor.region);
  request.lang = ctx.lang;
  if (!IsRegionCode(request.region))
    return Err(InvalidArgument(fmt::format("{}region", Text(Msg::kBadParameter, ctx.lang))));
  if (!ctx.actor.Sees(request.region))
    return Err(app.Deny(ctx, "flags " + request.region, Msg::kOutsideRegion));
  return request;
}

}  // namespace fupin::server
