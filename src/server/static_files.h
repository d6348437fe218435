// The web app's files (前端静态文件): the built single-page app (web/dist) served at /, and
// the security headers every answer carries. Stateless after installation; thread-safe.
//
// Contract of the files served from a folder DIR:
// - GET or HEAD of a path naming a regular file under DIR answers it, with its content type by
//   extension. A path with a segment of dots only (., .., ....), an empty segment, a
//   backslash, '%' (a second encoding), or a control character is refused with 400, and no
//   file outside DIR is ever answered (symbolic links leading out included).
// - History-mode fallback: any other GET whose path is not under /api/, not /healthz or
//   /metrics and not under /assets/ answers DIR/index.html (200, text/html; charset=utf-8),
//   so that the app's own routes (/villages/5201...) load the app. A missing file under
//   /assets/ stays 404, as do /api/... paths no route took.
// - Cache-Control: files under /assets/ (content-hashed names) "public, max-age=31536000,
//   immutable"; index.html and every other file "no-cache".
// - When the request accepts gzip and FILE.gz exists beside FILE, FILE.gz is sent with
//   Content-Encoding: gzip and FILE's content type; every file answer has Vary:
//   Accept-Encoding.
#pragma once

#include <httplib.h>

#include <string>

namespace fupin::server {

// Registers the GET handler of DIR's files on `server`. Register it after every route: it
// takes any GET that no route before it took.
void InstallStaticFiles(httplib::Server& server, const std::string& dir);

// Sets Content-Security-Policy, X-Content-Type-Options, Referrer-Policy and X-Frame-Options
// on `res` (replacing any already set).
void SetSecurityHeaders(httplib::Response& res);

}  // namespace fupin::server
