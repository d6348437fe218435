// The prepared-statement cache of the SQLite backend (store/sqlite/sqlite_util.h,
// statement_cache.cc), on a real database file: a statement is parsed once per connection
// and text, handed back reset with its bindings cleared, kept apart per connection, and
// finalized before its connection closes (SQLite refuses to close a connection with a
// statement alive).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>

#include "store/sqlite/sqlite_util.h"
#include "test_files.h"

namespace fupin {
namespace {

using store::sqlite_detail::DropCachedStatements;
using store::sqlite_detail::Exec;
using store::sqlite_detail::Stmt;
using test::TempDir;

sqlite3* Open(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
            SQLITE_OK);
  return db;
}

TEST(StatementCacheTest, AStatementIsParsedOncePerConnectionAndComesBackClean) {
  TempDir dir;
  sqlite3* db = Open(dir.path() / "c.db");
  ASSERT_TRUE(Exec(db, "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)").ok());
  const std::string insert = "INSERT INTO t (k, v) VALUES (?, ?)";
  sqlite3_stmt* first = nullptr;
  {
    auto s = Stmt::Cached(db, insert);
    ASSERT_TRUE(s);
    first = s->get();
    s->Bind(1, int64_t{1});
    s->Bind(2, std::string_view("one"));
    ASSERT_TRUE(s->Run(db).ok());
  }
  {
    auto s = Stmt::Cached(db, insert);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->get(), first);  // the same statement, not parsed again
    // Its bindings were cleared: an unbound parameter is NULL, so v is stored as NULL.
    s->Bind(1, int64_t{2});
    ASSERT_TRUE(s->Run(db).ok());
    // Taken while in use: another statement of the same text is prepared.
    auto t = Stmt::Cached(db, insert);
    ASSERT_TRUE(t);
    EXPECT_NE(t->get(), first);
  }
  auto read = Stmt::Prepare(db, "SELECT count(*), count(v) FROM t");
  ASSERT_TRUE(read);
  ASSERT_TRUE(*read->Step(db));
  EXPECT_EQ(read->Int(0), 2);
  EXPECT_EQ(read->Int(1), 1);
  read->Reset();
  *read = Stmt();  // finalized
  // Another connection has a cache of its own.
  sqlite3* other = Open(dir.path() / "c.db");
  {
    auto s = Stmt::Cached(other, insert);
    ASSERT_TRUE(s);
    EXPECT_NE(s->get(), first);
  }
  // With its statements finalized a connection closes at once (sqlite3_close, not _v2,
  // refuses while any statement of the connection is alive).
  EXPECT_EQ(sqlite3_close(db), SQLITE_BUSY);
  DropCachedStatements(db);
  EXPECT_EQ(sqlite3_close(db), SQLITE_OK);
  DropCachedStatements(other);
  EXPECT_EQ(sqlite3_close(other), SQLITE_OK);
}

TEST(StatementCacheTest, BadSqlIsAnErrorAndNothingIsCached) {
  TempDir dir;
  sqlite3* db = Open(dir.path() / "c.db");
  auto s = Stmt::Cached(db, "SELECT * FROM no_such_table");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("no_such_table"), std::string::npos);
  EXPECT_EQ(sqlite3_close(db), SQLITE_OK);
}

}  // namespace
}  // namespace fupin
