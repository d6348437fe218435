// Writes: PATCH /api/households/{household_id} (with version; 409 when stale),
// POST /api/households/{household_id}/photos, GET .../photos (the list), GET .../photos/{id},
// POST /api/flags/{id}/state (verify or dismiss with a note), POST /api/flags/state (many).
#include <fmt/format.h>

#include "server/app.h"
#include "service/flags.h"
#include "service/household_edit.h"

namespace fupin::server {
namespace {

std::vector<service::FieldChange> FieldsOf(const nlohmann::json& object, Lang lang, Status* error) {
  std::vector<service::FieldChange> out;
  for (const auto& [key, value] : object.items()) {
    if (value.is_string()) {
      out.push_back({key, value.get<std::string>()});
    } else if (value.is_number()) {
      out.push_back({key, value.dump()});
    } else if (value.is_null()) {
      out.push_back({key, ""});
    } else {
      *error = InvalidArgument(fmt::format("{}{}", Text(Msg::kWrongType, lang), key));
    }
  }
  return out;
}

Status PatchHousehold(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  using V = nlohmann::json::value_t;
  const std::string id = req.matches[1];
  ASSIGN_OR_RETURN(nlohmann::json body, ParseJsonBody(req,
                                                      {{"version", V::number_integer, true},
                                                       {"reason", V::string},
                                                       {"fields", V::object},
                                                       {"members", V::array},
                                                       {"lat", V::number_float},
                                                       {"lon", V::number_float},
                                                       {"visit_note", V::string}},
                                                      app.options().max_json_bytes, ctx.lang));
  service::HouseholdEdit edit;
  edit.version = body["version"].get<int64_t>();
  edit.reason = body.value("reason", "");
  Status bad;
  if (body.contains("fields")) edit.fields = FieldsOf(body["fields"], ctx.lang, &bad);
  if (body.contains("members")) {
    for (const nlohmann::json& m : body["members"]) {
      if (!m.is_object() || !m.contains("id_number") || !m["id_number"].is_string() ||
          (m.contains("fields") && !m["fields"].is_object()))
        return InvalidArgument(fmt::format("{}members", Text(Msg::kWrongType, ctx.lang)));
      for (const auto& [key, value] : m.items())
        if (key != "id_number" && key != "fields")
          return InvalidArgument(
              fmt::format("{}members.{}", Text(Msg::kUnknownField, ctx.lang), key));
      service::MemberEdit member;
      member.id_number = m["id_number"];
      if (m.contains("fields")) member.fields = FieldsOf(m["fields"], ctx.lang, &bad);
      edit.members.push_back(std::move(member));
    }
  }
  RETURN_IF_ERROR(bad);
  if (body.contains("lat")) edit.lat = body["lat"].get<double>();
  if (body.contains("lon")) edit.lon = body["lon"].get<double>();
  edit.visit_note = body.value("visit_note", "");
  ASSIGN_OR_RETURN(store::Store * db, app.Db());
  auto outcome =
      service::EditHousehold(*db, app.snapshots(), app.rule_set(), ctx.actor, id, edit, ctx.lang);
  if (!outcome) {
    if (outcome.error().code() == StatusCode::kPermissionDenied)
      app.audit().Append(ctx.actor, {"denied", "household " + id, "write", "denied"});
    return outcome.error();
  }
  app.audit().Append(ctx.actor,
                     {"write", "household " + id,
                      fmt::format("edit {} version {}", outcome->edit_id, outcome->version), "ok"});
  SendJson(res, {{"version", outcome->version},
                 {"edit_id", outcome->edit_id},
                 {"changed", outcome->changed},
                 {"flags_raised", outcome->flags_raised},
                 {"flags_closed", outcome->flags_closed}});
  return OkStatus();
}

Status AddPhotoRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1];
  std::string type = req.get_header_value("Content-Type");
  std::string_view bytes = req.body;
  if (req.is_multipart_form_data()) {
    if (req.files.size() != 1)
      return InvalidArgument(ctx.lang == Lang::kZh ? "每次上传一张照片"
                                                   : "upload one photo at a time");
    const auto& file = req.files.begin()->second;
    type = file.content_type;
    bytes = file.content;
  }
  ASSIGN_OR_RETURN(store::Store * db, app.Db());
  auto photo = service::AddPhoto(*db, ctx.actor, id, type, bytes, ctx.lang);
  if (!photo) {
    if (photo.error().code() == StatusCode::kPermissionDenied)
      app.audit().Append(ctx.actor, {"denied", "household " + id, "photo", "denied"});
    return photo.error();
  }
  app.audit().Append(ctx.actor,
                     {"write", "household " + id, fmt::format("photo {}", *photo), "ok"});
  SendJson(res, {{"photo_id", *photo}}, 201);
  return OkStatus();
}

Status ListPhotosRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1];
  ASSIGN_OR_RETURN(store::Store * db, app.Db());
  auto photos = service::ListPhotos(*db, ctx.actor, id, ctx.lang);
  if (!photos) {
    if (photos.error().code() == StatusCode::kPermissionDenied)
      app.audit().Append(ctx.actor, {"denied", "household " + id, "photos", "denied"});
    return photos.error();
  }
  nlohmann::json list = nlohmann::json::array();
  for (const store::Photo& p : *photos)
    list.push_back({{"photo_id", p.photo_id},
                    {"content_type", p.content_type},
                    {"size", p.size},
                    {"at", p.at}});
  SendJson(res, {{"photos", list}});
  return OkStatus();
}

Status GetPhotoRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1];
  int64_t photo_id = 0;
  try {
    photo_id = std::stoll(req.matches[2]);
  } catch (...) {
    return InvalidArgument(fmt::format("{}photo_id", Text(Msg::kBadParameter, ctx.lang)));
  }
  ASSIGN_OR_RETURN(store::Store * db, app.Db());
  auto photo = service::GetPhoto(*db, ctx.actor, id, photo_id, ctx.lang);
  if (!photo) {
    if (photo.error().code() == StatusCode::kPermissionDenied)
      app.audit().Append(ctx.actor, {"denied", "household " + id, "photo", "denied"});
    return photo.error();
  }
  app.audit().Append(ctx.actor, {"read_household", "household " + id, "photo", "ok"});
  res.set_content(std::move(photo->second), photo->first);
  return OkStatus();
}

// The verdict of a body {"state", "note"} (and "ids" for the batch): kInvalidArgument naming
// what is wrong.
Result<store::FlagState> VerdictOf(const nlohmann::json& body, Lang lang) {
  const auto state = service::ParseVerdict(body["state"].get<std::string>());
  if (!state)
    return Err(InvalidArgument(
        fmt::format("{}state (verified, dismissed, open)", Text(Msg::kBadParameter, lang))));
  if (body.value("note", "").size() > 4000)
    return Err(
        InvalidArgument(fmt::format("{}note (≤ 4000 bytes)", Text(Msg::kBadParameter, lang))));
  return *state;
}

// Decides `ids` through service::DecideFlagsInScope; a refusal for scope is audited, each
// decision too.
Result<std::vector<int64_t>> DecideFlags(App& app, Ctx& ctx, std::span<const int64_t> ids,
                                         store::FlagState state, const std::string& note) {
  ASSIGN_OR_RETURN(store::Store * db, app.Db());
  auto decided = service::DecideFlagsInScope(*db, ctx.actor, ids, state, note, ctx.lang);
  if (!decided) {
    if (decided.error().code() == StatusCode::kPermissionDenied)
      return Err(app.Deny(ctx, decided.error().message(), Msg::kOutsideRegion));
    return decided;
  }
  for (int64_t id : *decided)
    app.audit().Append(ctx.actor, {"write", fmt::format("flag {}", id),
                                   std::string(store::FlagStateName(state)), "ok"});
  return decided;
}

Status FlagStateRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  using V = nlohmann::json::value_t;
  int64_t id = 0;
  try {
    id = std::stoll(req.matches[1]);
  } catch (...) {
    return InvalidArgument(fmt::format("{}id", Text(Msg::kBadParameter, ctx.lang)));
  }
  ASSIGN_OR_RETURN(nlohmann::json body,
                   ParseJsonBody(req, {{"state", V::string, true}, {"note", V::string}},
                                 app.options().max_json_bytes, ctx.lang));
  ASSIGN_OR_RETURN(store::FlagState state, VerdictOf(body, ctx.lang));
  if (auto decided = DecideFlags(app, ctx, std::span(&id, 1), state, body.value("note", ""));
      !decided)
    return decided.error();
  SendJson(res, {{"id", id}, {"state", store::FlagStateName(state)}});
  return OkStatus();
}

// POST /api/flags/state {"ids": [...] (1 to 1,000), "state", "note"}: all or nothing.
Status FlagsStateRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  using V = nlohmann::json::value_t;
  ASSIGN_OR_RETURN(
      nlohmann::json body,
      ParseJsonBody(req, {{"ids", V::array, true}, {"state", V::string, true}, {"note", V::string}},
                    app.options().max_json_bytes, ctx.lang));
  const nlohmann::json& list = body["ids"];
  if (list.empty() || list.size() > 1000)
    return InvalidArgument(
        fmt::format("{}ids (1 to 1000 flag ids)", Text(Msg::kBadParameter, ctx.lang)));
  std::vector<int64_t> ids;
  ids.reserve(list.size());
  for (const nlohmann::json& id : list) {
    if (!id.is_number_integer() || id.get<int64_t>() <= 0)
      return InvalidArgument(
          fmt::format("{}ids (positive whole numbers)", Text(Msg::kBadParameter, ctx.lang)));
    ids.push_back(id.get<int64_t>());
  }
  ASSIGN_OR_RETURN(store::FlagState state, VerdictOf(body, ctx.lang));
  ASSIGN_OR_RETURN(auto decided, DecideFlags(app, ctx, ids, state, body.value("note", "")));
  SendJson(res, {{"updated", decided.size()}});
  return OkStatus();
}

}  // namespace

void InstallWriteRoutes(App& app, httplib::Server& server) {
  const RouteOptions writers{.roles = {Role::kAdmin, Role::kOfficial, Role::kCadre}};
  RouteOptions uploads = writers;
  uploads.upload = true;
  auto bind = [&app](Status (*fn)(App&, Ctx&, const httplib::Request&, httplib::Response&)) {
    return [&app, fn](Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
      return fn(app, ctx, req, res);
    };
  };
  app.Route(server, "PATCH", R"(/api/households/([^/]+))", "/api/households/{household_id}",
            writers, bind(PatchHousehold));
  app.Route(server, "POST", R"(/api/households/([^/]+)/photos)",
            "/api/households/{household_id}/photos", uploads, bind(AddPhotoRoute));
  app.Route(server, "GET", R"(/api/households/([^/]+)/photos)",
            "/api/households/{household_id}/photos", {}, bind(ListPhotosRoute));
  app.Route(server, "GET", R"(/api/households/([^/]+)/photos/([0-9]+))",
            "/api/households/{household_id}/photos/{photo_id}", {}, bind(GetPhotoRoute));
  app.Route(server, "POST", R"(/api/flags/([0-9]+)/state)", "/api/flags/{id}/state", writers,
            bind(FlagStateRoute));
  app.Route(server, "POST", "/api/flags/state", "/api/flags/state", writers, bind(FlagsStateRoute));
}

}  // namespace fupin::server
