// The platform's HTTP server (`fupin serve`): the JSON API under /api that the web app, the
// field app and departments' systems use, described by /api/openapi.json; /healthz and
// /metrics; the web app's static files. Every request is authenticated (session cookie or API
// token), region-scoped, masked by default and audited on the server; see docs/api.md and
// docs/security.md.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "core/lang.h"
#include "core/status.h"

namespace fupin::server {

struct ServeOptions {
  std::string db;                         // store URI (a path or sqlite:PATH)
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; port 0 picks a free one
  std::string web_dir;                    // static files of the web app; empty: none
  std::string rules;                      // rule set file; empty: the built-in rules
  std::string tls_cert, tls_key;          // both or neither: HTTPS
  int threads = 96;                       // worker threads (a keep-alive connection holds one)
  int active_reads = 0;  // light reads computed at once, the rest queued (0: 4 per core)
  // Added to the nice value of every thread but the edit writer's (0: none): see
  // service/edit_batcher.h.
  int reader_nice = 0;
  size_t max_body_bytes = size_t{64} << 20;  // larger bodies get 413
  size_t max_json_bytes = size_t{1} << 20;   // JSON bodies (not uploads)
  int read_timeout_s = 15;                   // a client slower than this is dropped
  int idle_session_s = 1800, absolute_session_s = 12 * 3600;
  std::string scratch_dir;  // uploads and rendered reports; empty: beside the database
  // Called once the socket listens, with the URL ("http://127.0.0.1:8080").
  std::function<void(const std::string& url)> on_listening;
};

// Serves until SIGTERM or SIGINT, then stops accepting, lets in-flight requests and running
// jobs' writes finish, flushes the audit log and returns. Fails when the store cannot be
// opened or the address cannot be bound.
Status Serve(const ServeOptions& options, Lang lang);

}  // namespace fupin::server
