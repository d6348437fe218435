#include "store/open.h"

#include <fmt/format.h>

#include <string>

#include "store/sqlite/sqlite_store.h"

namespace fupin::store {
namespace {

// The scheme of `uri` ("sqlite" for "sqlite:x.db"), or "" when it names a plain path: a
// scheme is letters, digits, '+', '-' and '.' from a letter up to the first ':' (a path with
// a '/' before its first ':' is a path).
std::string_view SchemeOf(std::string_view uri) {
  const size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon < 2) return {};
  std::string_view scheme = uri.substr(0, colon);
  auto is_alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!is_alpha(scheme[0])) return {};
  for (char c : scheme)
    if (!is_alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') return {};
  return scheme;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

Result<StoreLocation> ParseStoreUri(std::string_view uri) {
  if (uri.empty()) return Err(InvalidArgument("empty store URI (give a file path or sqlite:PATH)"));
  const std::string scheme = Lower(SchemeOf(uri));
  if (scheme.empty()) return StoreLocation{StoreBackend::kSqlite, std::filesystem::path(uri)};
  std::string_view rest = uri.substr(scheme.size() + 1);
  if (scheme == "sqlite") {
    if (rest.starts_with("//")) {
      // sqlite:///abs/path: an empty authority, then the absolute path.
      rest.remove_prefix(2);
      if (!rest.starts_with('/'))
        return Err(InvalidArgument(
            fmt::format("store URI '{}': sqlite:// takes no host; write sqlite:///absolute/path or "
                        "sqlite:PATH",
                        uri)));
    }
    if (rest.empty())
      return Err(InvalidArgument(fmt::format("store URI '{}' names no database file", uri)));
    return StoreLocation{StoreBackend::kSqlite, std::filesystem::path(rest)};
  }
  if (scheme == "postgresql" || scheme == "postgres")
    return StoreLocation{StoreBackend::kPostgresql, {}};
  return Err(InvalidArgument(
      fmt::format("store URI '{}': unknown scheme '{}' (use a file path, sqlite:PATH or "
                  "postgresql://...)",
                  uri, scheme)));
}

Result<std::unique_ptr<Store>> OpenStore(std::string_view uri, const OpenOptions& options) {
  ASSIGN_OR_RETURN(StoreLocation location, ParseStoreUri(uri));
  if (location.backend == StoreBackend::kPostgresql)
    return Err(Unimplemented("PostgreSQL arrives with the PostgreSQL issue"));
  if (!options.create && !std::filesystem::exists(location.path))
    return Err(NotFound(fmt::format("database {} does not exist", location.path.string())));
  SqliteOptions sqlite;
  sqlite.cache_mib = options.cache_mib;
  sqlite.busy_timeout_ms = options.busy_timeout_ms;
  sqlite.bulk_journal = options.bulk_journal;
  return OpenSqliteStore(location.path, sqlite);
}

}  // namespace fupin::store
