// POST /api/login, POST /api/logout, GET /api/me (with the pages the role may use).
#include <fmt/format.h>

#include "server/app.h"

namespace fupin::server {
namespace {

// The web app's pages the role may use, decided here so that the app only hides what the
// server would refuse anyway (every route checks the role again).
std::vector<std::string_view> PagePermissions(Role role) {
  switch (role) {
    case Role::kAdmin:
      return {"overview", "bigscreen", "regions", "villages", "households", "flags",
              "exchange", "reports",   "queries", "jobs",     "users",      "audit"};
    case Role::kOfficial:
      return {"overview",   "bigscreen", "regions", "villages",
              "households", "flags",     "reports", "queries"};
    case Role::kCadre:
      return {"overview", "regions", "villages", "households", "flags"};
    case Role::kDepartment:
      return {"overview", "exchange", "reports"};
    case Role::kAuditor:
      return {"overview", "regions", "villages", "households", "flags",
              "reports",  "queries", "audit",    "jobs"};
  }
  return {};
}

nlohmann::json ActorJson(const App& app, const Actor& actor) {
  return {{"username", actor.user},     {"role", RoleName(actor.role)},
          {"region", actor.region},     {"region_name", app.RegionName(actor.region)},
          {"datasets", actor.datasets}, {"permissions", PagePermissions(actor.role)}};
}

std::string SessionCookie(const App& app, std::string_view token, bool clear) {
  const bool secure = !app.options().tls_cert.empty();
  return fmt::format("fupin_session={}; Path=/; HttpOnly; SameSite=Strict{}{}", clear ? "" : token,
                     secure ? "; Secure" : "", clear ? "; Max-Age=0" : "");
}

}  // namespace

void InstallAuthRoutes(App& app, httplib::Server& server) {
  using V = nlohmann::json::value_t;
  app.Route(server, "POST", "/api/login", "/api/login", {.auth = false},
            [&app](Ctx& ctx, const httplib::Request& req, httplib::Response& res) -> Status {
              ASSIGN_OR_RETURN(
                  nlohmann::json body,
                  ParseJsonBody(req, {{"username", V::string, true}, {"password", V::string, true}},
                                4096, ctx.lang));
              ASSIGN_OR_RETURN(store::Store * db, app.Db());
              auto session =
                  app.sessions().Login(*db, body["username"].get<std::string>(),
                                       body["password"].get<std::string>(), req.remote_addr);
              if (!session && session.error().code() == StatusCode::kUnavailable) {
                // Throttled: too many failures for this name or from this address.
                res.set_header("Retry-After", "900");
                SendError(res, 429, "too_many_attempts", session.error().message());
                return OkStatus();
              }
              if (!session) return session.error();
              res.set_header("Set-Cookie", SessionCookie(app, session->token, false));
              nlohmann::json out = {{"csrf_token", session->csrf},
                                    {"user", ActorJson(app, session->actor)}};
              SendJson(res, out);
              return OkStatus();
            });
  app.Route(server, "POST", "/api/logout", "/api/logout", {},
            [&app](Ctx& ctx, const httplib::Request&, httplib::Response& res) -> Status {
              ASSIGN_OR_RETURN(store::Store * db, app.Db());
              if (!ctx.session_token.empty())
                RETURN_IF_ERROR(app.sessions().Logout(*db, ctx.session_token));
              res.set_header("Set-Cookie", SessionCookie(app, "", true));
              SendJson(res, {{"ok", true}});
              return OkStatus();
            });
  app.Route(server, "GET", "/api/me", "/api/me", {},
            [&app](Ctx& ctx, const httplib::Request&, httplib::Response& res) -> Status {
              SendJson(res, ActorJson(app, ctx.actor));
              return OkStatus();
            });
}

}  // namespace fupin::server
