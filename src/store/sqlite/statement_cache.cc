// The prepared-statement cache of the SQLite backend's connections (sqlite_util.h).
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/sqlite/sqlite_util.h"

namespace fupin::store::sqlite_detail {
namespace {

// Statements kept per connection at most: the hot paths use a few dozen texts; a text built
// from user input would otherwise grow the cache without bound.
constexpr size_t kMaxPerConnection = 256;

struct Cache {
  std::mutex mu;
  // By connection, then by SQL text: the statements not in use.
  std::unordered_map<sqlite3*, std::unordered_map<std::string, std::vector<sqlite3_stmt*>>> idle;
};

Cache& TheCache() {
  static Cache* cache = new Cache;  // never destroyed: connections may close at exit
  return *cache;
}

}  // namespace

sqlite3_stmt* TakeCachedStatement(sqlite3* db, std::string_view sql) {
  Cache& c = TheCache();
  std::lock_guard lock(c.mu);
  auto conn = c.idle.find(db);
  if (conn == c.idle.end()) return nullptr;
  auto it = conn->second.find(std::string(sql));
  if (it == conn->second.end() || it->second.empty()) return nullptr;
  sqlite3_stmt* stmt = it->second.back();
  it->second.pop_back();
  return stmt;
}

void ReturnCachedStatement(sqlite3* db, sqlite3_stmt* stmt) {
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  Cache& c = TheCache();
  {
    std::lock_guard lock(c.mu);
    auto& texts = c.idle[db];
    const char* sql = sqlite3_sql(stmt);
    if (sql && (texts.size() < kMaxPerConnection || texts.contains(sql))) {
      texts[sql].push_back(stmt);
      return;
    }
  }
  sqlite3_finalize(stmt);
}

void DropCachedStatements(sqlite3* db) {
  std::unordered_map<std::string, std::vector<sqlite3_stmt*>> texts;
  {
    Cache& c = TheCache();
    std::lock_guard lock(c.mu);
    auto it = c.idle.find(db);
    if (it == c.idle.end()) return;
    texts = std::move(it->second);
    c.idle.erase(it);
  }
  for (auto& [sql, stmts] : texts)
    for (sqlite3_stmt* stmt : stmts) sqlite3_finalize(stmt);
}

}  // namespace fupin::store::sqlite_detail
