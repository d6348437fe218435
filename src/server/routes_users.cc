// Accounts over HTTP (用户管理), through service/accounts.h as `fupin user` does: GET and
// POST /api/users, POST /api/users/{username}/disable, /enable and /password (admins, within
// their region), POST /api/me/password (a user's own, with the current password). Every call
// is audited; no answer holds a password hash.
#include <fmt/format.h>

#include "server/app.h"

namespace fupin::server {
namespace {

nlohmann::json UserJson(const App& app, const service::UserRecord& user) {
  return {{"username", user.name},        {"role", RoleName(user.role)},
          {"region", user.region},        {"region_name", app.RegionName(user.region)},
          {"datasets", user.datasets},    {"disabled", user.disabled},
          {"created_at", user.created_at}};
}

Status ListUsersRoute(App& app, Ctx& ctx, const httplib::Request&, httplib::Response& res) {
  ASSIGN_OR_RETURN(store::Store * db, app.Db());
  ASSIGN_OR_RETURN(std::vector<service::UserRecord> users, service::ListUsersIn(*db, ctx.actor));
  nlohmann::json items = nlohmann::json::array();
  for (const service::UserRecord& user : users) items.push_back(UserJson(app, user));
  app.audit().Append(ctx.actor, {"read", "users " + ctx.actor.region,
                                 fmt::format("{} users", users.size()), "ok"});
  SendJson(res, {{"users", std::move(items)}});
  return OkStatus();
}

Status AddUserRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  using V = nlohmann::json::value_t;
  ASSIGN_OR_RETURN(nlohmann::json body, ParseJsonBody(req,
                                                      {{"username", V::string, true},
                                                       {"role", V::string, true},
                                                       {"region", V::string, true},
                                                       {"datasets", V::array},
                                                       {"password", V::string, true}},
                                                      16384, ctx.lang));
  const bool zh = ctx.lang == Lang::kZh;
  Role role = Role::kCadre;
  const std::string role_name = body["role"];
  if (!ParseRole(role_name, &role))
    return InvalidArgument(
        zh ? fmt::format("未知角色 '{}'：可选 admin、official、cadre、department、auditor",
                         role_name)
           : fmt::format("unknown role '{}': admin, official, cadre, department or auditor",
                         role_name));
  std::vector<std::string> datasets;
  for (const nlohmann::json& d : body.value("datasets", nlohmann::json::array())) {
    if (!d.is_string())
      return InvalidArgument(fmt::format("{}datasets", Text(Msg::kWrongType, ctx.lang)));
    datasets.push_back(d.get<std::string>());
  }
  const std::string name = body["username"];
  ASSIGN_OR_RETURN(store::Store * db, app.Db());
  RETURN_IF_ERROR(service::AddUser(*db, ctx.actor, name, role, body["region"].get<std::string>(),
                                   std::move(datasets), body["password"].get<std::string>()));
  ASSIGN_OR_RETURN(service::UserRecord user, service::FindUserRecord(*db, name));
  SendJson(res, UserJson(app, user), 201);
  return OkStatus();
}

// POST /api/users/{username}/disable and /enable.
Status SetDisabledRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string name = req.matches[1];
  const bool disable = req.matches[2] == "disable";
  ASSIGN_OR_RETURN(store::Store * db, app.Db());
  RETURN_IF_ERROR(disable ? service::DisableUser(*db, ctx.actor, name)
                          : service::EnableUser(*db, ctx.actor, name));
  ASSIGN_OR_RETURN(service::UserRecord user, service::FindUserRecord(*db, name));
  SendJson(res, UserJson(app, user));
  return OkStatus();
}

Status ResetPasswordRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  using V = nlohmann::json::value_t;
  const std::string name = req.matches[1];
  ASSIGN_OR_RETURN(nlohmann::json body,
                   ParseJsonBody(req, {{"password", V::string, true}}, 4096, ctx.lang));
  ASSIGN_OR_RETURN(store::Store * db, app.Db());
  RETURN_IF_ERROR(service::SetPassword(*db, ctx.actor, name, body["password"].get<std::string>()));
  SendJson(res, {{"ok", true}});
  return OkStatus();
}

Status OwnPasswordRoute(App& app, Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
  using V = nlohmann::json::value_t;
  if (ctx.via_token) return app.Deny(ctx, "password " + ctx.actor.user, Msg::kForbiddenRole);
  ASSIGN_OR_RETURN(
      nlohmann::json body,
      ParseJsonBody(req, {{"old_password", V::string, true}, {"password", V::string, true}}, 4096,
                    ctx.lang));
  ASSIGN_OR_RETURN(store::Store * db, app.Db());
  RETURN_IF_ERROR(service::ChangeOwnPassword(*db, ctx.actor,
                                             body["old_password"].get<std::string>(),
                                             body["password"].get<std::string>()));
  // Every session of the user ended, this one too: the browser signs in again.
  const bool secure = !app.options().tls_cert.empty();
  res.set_header("Set-Cookie", fmt::format("fupin_session=; Path=/; HttpOnly; SameSite=Strict{}; "
                                           "Max-Age=0",
                                           secure ? "; Secure" : ""));
  SendJson(res, {{"ok", true}});
  return OkStatus();
}

}  // namespace

void InstallUserRoutes(App& app, httplib::Server& server) {
  const RouteOptions admins{.roles = {Role::kAdmin}};
  auto bind = [&app](Status (*fn)(App&, Ctx&, const httplib::Request&, httplib::Response&)) {
    return [&app, fn](Ctx& ctx, const httplib::Request& req, httplib::Response& res) {
      return fn(app, ctx, req, res);
    };
  };
  app.Route(server, "GET", "/api/users", "/api/users", admins, bind(ListUsersRoute));
  app.Route(server, "POST", "/api/users", "/api/users", admins, bind(AddUserRoute));
  app.Route(server, "POST", R"(/api/users/([^/]+)/(disable))", "/api/users/{username}/disable",
            admins, bind(SetDisabledRoute));
  app.Route(server, "POST", R"(/api/users/([^/]+)/(enable))", "/api/users/{username}/enable",
            admins, bind(SetDisabledRoute));
  app.Route(server, "POST", R"(/api/users/([^/]+)/password)", "/api/users/{username}/password",
            admins, bind(ResetPasswordRoute));
  app.Route(server, "POST", "/api/me/password", "/api/me/password", {}, bind(OwnPasswordRoute));
}

}  // namespace fupin::server
