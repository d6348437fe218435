#include "store/sqlite/sqlite_store.h"

#include <fmt/format.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/id_number.h"
#include "core/regions_data.h"
#include "store/sqlite/sqlite_blocks.h"
#include "store/sqlite/sqlite_edits.h"
#include "store/sqlite/sqlite_links.h"
#include "store/sqlite/sqlite_platform.h"
#include "store/sqlite/sqlite_rules.h"
#include "store/sqlite/sqlite_stage.h"
#include "store/sqlite/sqlite_util.h"

namespace fupin::store {
namespace {

using namespace sqlite_detail;  // NOLINT: the backend's own helpers

constexpr int kSchemaVersion = 10;

// ---- schema ----------------------------------------------------------------------------

// Catalogue columns added after migration 1, by the migration that adds them: a new
// database gets them from that migration too, so every database has one history.
struct AddedColumn {
  std::string_view table;
  std::string_view column;
  int version;
};
constexpr AddedColumn kAddedColumns[] = {
    {"members", "left_reason", 5},  // a member's removal (减员), issue 13
    {"members", "left_date", 5},
};

int VersionAdding(const DatasetSpec& d, std::string_view column) {
  for (const AddedColumn& a : kAddedColumns)
    if (a.table == d.table && a.column == column) return a.version;
  return 1;
}

// The column definitions of a data set's table that exist at schema version `version`.
std::string ColumnDefs(const DatasetSpec& d, int version = 1) {
  std::string out;
  for (const StoredColumn& c : StoredColumns(d))
    if (VersionAdding(d, c.name) <= version) out += fmt::format(",\n  {} {}", c.name, c.sql_type);
  return out;
}

// Migration 1: the tables of exchange format v1. Data tables are derived from the data set
// catalogue (core/datasets.h), so the schema and the format cannot drift apart.
std::string Migration1() {
  std::string sql = R"sql(
CREATE TABLE regions (
  code TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  level INTEGER NOT NULL,
  parent_code TEXT REFERENCES regions(code)
);
CREATE TABLE import_batches (
  batch_id INTEGER PRIMARY KEY,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  user_name TEXT NOT NULL,
  source TEXT NOT NULL
);
CREATE TABLE batch_files (
  file_id INTEGER PRIMARY KEY,
  batch_id INTEGER NOT NULL REFERENCES import_batches(batch_id),
  file_name TEXT NOT NULL,
  dataset TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  encoding TEXT NOT NULL,
  rows_read INTEGER NOT NULL DEFAULT 0,
  rows_imported INTEGER NOT NULL DEFAULT 0,
  rows_rejected INTEGER NOT NULL DEFAULT 0,
  warnings INTEGER NOT NULL DEFAULT 0,
  inserted INTEGER NOT NULL DEFAULT 0,
  updated INTEGER NOT NULL DEFAULT 0,
  unchanged INTEGER NOT NULL DEFAULT 0,
  removed INTEGER NOT NULL DEFAULT 0,
  outcome TEXT NOT NULL DEFAULT 'running',
  message TEXT
);
CREATE TABLE import_issues (
  file_id INTEGER NOT NULL REFERENCES batch_files(file_id),
  row_number INTEGER NOT NULL,
  column_name TEXT NOT NULL,
  value TEXT NOT NULL,
  severity TEXT NOT NULL CHECK (severity IN ('error', 'warning')),
  code TEXT NOT NULL,
  message_en TEXT NOT NULL,
  message_zh TEXT NOT NULL
);
CREATE INDEX import_issues_by_file ON import_issues(file_id, row_number);
CREATE TABLE dataset_state (
  dataset TEXT PRIMARY KEY,
  file_id INTEGER NOT NULL REFERENCES batch_files(file_id),
  sha256 TEXT NOT NULL
);
CREATE TABLE history (
  history_id INTEGER PRIMARY KEY,
  batch_id INTEGER NOT NULL REFERENCES import_batches(batch_id),
  entity TEXT NOT NULL,
  entity_key TEXT NOT NULL,
  field TEXT NOT NULL,
  old_value TEXT,
  new_value TEXT
);
CREATE INDEX history_by_entity ON history(entity, entity_key);
CREATE TABLE dept_changes (
  file_id INTEGER NOT NULL REFERENCES batch_files(file_id),
  row_id INTEGER NOT NULL,
  change TEXT NOT NULL CHECK (change IN ('changed', 'gone')),
  row_key INTEGER NOT NULL
);
CREATE INDEX dept_changes_by_file ON dept_changes(file_id);
)sql";
  for (const DatasetSpec& d : AllDatasets()) {
    switch (d.kind) {
      case DatasetKind::kRegions:
      case DatasetKind::kVillage:  // migration 10
        break;
      case DatasetKind::kHousehold:
        sql += fmt::format(
            "CREATE TABLE {} (\n  file_id INTEGER NOT NULL,\n  source_row INTEGER NOT NULL,\n"
            "  row_hash INTEGER NOT NULL{},\n  PRIMARY KEY (household_id),\n"
            "  FOREIGN KEY (village_code) REFERENCES regions(code)\n) WITHOUT ROWID;\n",
            d.table, ColumnDefs(d));
        break;
      case DatasetKind::kMember:
        sql += fmt::format(
            "CREATE TABLE {} (\n  file_id INTEGER NOT NULL,\n  source_row INTEGER NOT NULL,\n"
            "  row_hash INTEGER NOT NULL{},\n  PRIMARY KEY (household_id, id_number),\n"
            "  FOREIGN KEY (household_id) REFERENCES households(household_id)\n) WITHOUT ROWID;\n",
            d.table, ColumnDefs(d));
        break;
      case DatasetKind::kDepartment:
        sql += fmt::format(
            "CREATE TABLE {} (\n  row_id INTEGER PRIMARY KEY,\n  file_id INTEGER NOT NULL,\n"
            "  source_row INTEGER NOT NULL,\n  added_file_id INTEGER NOT NULL,\n"
            "  row_key INTEGER NOT NULL,\n"
            "  row_hash INTEGER NOT NULL{}\n);\n",
            d.table, ColumnDefs(d));
        break;
    }
  }
  return sql;
}

// Migration 5: members who left their household (left_reason, left_date).
std::string Migration5() {
  std::string sql;
  for (const DatasetSpec& d : AllDatasets())
    for (const StoredColumn& c : StoredColumns(d))
      if (VersionAdding(d, c.name) == 5)
        sql += fmt::format("ALTER TABLE {} ADD COLUMN {} {};\n", d.table, c.name, c.sql_type);
  return sql;
}

// Migration 8: the role of the actor beside every user name (import batches, link runs,
// review decisions, rule runs, flag decisions and events).
std::string Migration8() {
  return "ALTER TABLE import_batches ADD COLUMN role TEXT;\n" + LinkRoleMigration() +
         RulesRoleMigration();
}

struct Migration {
  int version;
  std::string (*sql)();
};
// Migration 10: the villages data set (村情), keyed by village code.
std::string Migration10() {
  std::string sql;
  for (const DatasetSpec& d : AllDatasets())
    if (d.kind == DatasetKind::kVillage)
      sql += fmt::format(
          "CREATE TABLE {} (\n  file_id INTEGER NOT NULL,\n  source_row INTEGER NOT NULL,\n"
          "  row_hash INTEGER NOT NULL{},\n  PRIMARY KEY (village_code)\n) WITHOUT ROWID;\n",
          d.table, ColumnDefs(d));
  return sql;
}

constexpr Migration kMigrations[] = {
    {1, &Migration1},          {2, &LinkMigration},     {3, &BlocksMigration}, {4, &RulesMigration},
    {5, &Migration5},          {6, &PlatformMigration}, {7, &EditsMigration},  {8, &Migration8},
    {9, &EditsFlagsMigration}, {10, &Migration10}};

// ---- writers ---------------------------------------------------------------------------

class SqliteStore;

std::string Placeholders(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += i ? ",?" : "?";
  return out;
}

std::string JoinNames(const std::vector<StoredColumn>& cols, std::string_view prefix = "") {
  std::string out;
  for (size_t i = 0; i < cols.size(); ++i)
    out += fmt::format("{}{}{}", i ? "," : "", prefix, cols[i].name);
  return out;
}

// Registry data (households, members): insert, or update with every changed field kept
// in history. Staged (`stage` given), new and changed rows go to stage__<table>, published as
// an upsert, with the version of each changed household as read here.
class RegistryWriter final : public DatasetWriter {
 public:
  static Result<std::unique_ptr<DatasetWriter>> Make(sqlite3* db, const DatasetSpec& d,
                                                     int64_t batch_id, int64_t file_id,
                                                     BatchStage* stage) {
    auto w = std::unique_ptr<RegistryWriter>(new RegistryWriter(db, d, batch_id, file_id));
    w->stage_ = stage;
    auto cols = w->columns_;
    std::string names = JoinNames(cols);
    const std::string insert =
        fmt::format("INSERT INTO {}{} (file_id, source_row, row_hash, {}) VALUES (?,?,?,{})",
                    stage ? kStagePrefix : "", d.table, names, Placeholders(cols.size()));
    const std::string history = fmt::format(
        "INSERT INTO {}history (batch_id, entity, entity_key, field, old_value, new_value) "
        "VALUES (?,?,?,?,?,?)",
        stage ? kStagePrefix : "");
    std::string where = d.kind == DatasetKind::kHousehold ? "household_id = ?"
                                                          : "household_id = ? AND id_number = ?";
    // Staged, the household's version is read too: the publish refuses a batch whose
    // households were edited after they were read here.
    std::string version;
    if (stage)
      version = d.kind == DatasetKind::kHousehold
                    ? ", version"
                    : ", (SELECT h.version FROM households h WHERE h.household_id = "
                      "members.household_id)";
    ASSIGN_OR_RETURN(w->select_,
                     Stmt::Prepare(db, fmt::format("SELECT row_hash, {}{} FROM {} WHERE {}", names,
                                                   version, d.table, where)));
    if (stage) {
      ASSIGN_OR_RETURN(w->stage_insert_, stage->Prepare(insert));
      ASSIGN_OR_RETURN(w->stage_history_, stage->Prepare(history));
      ASSIGN_OR_RETURN(w->stage_seen_, stage->Prepare("INSERT OR IGNORE INTO stage__seen "
                                                      "(household_id, version) VALUES (?, ?)"));
    } else {
      ASSIGN_OR_RETURN(w->insert_, Stmt::Prepare(db, insert));
      ASSIGN_OR_RETURN(w->history_, Stmt::Prepare(db, history));
      std::string sets;
      for (size_t i = 0; i < cols.size(); ++i)
        sets += fmt::format(", {} = ?{}", cols[i].name, i + 4);
      ASSIGN_OR_RETURN(
          w->update_,
          Stmt::Prepare(
              db,
              fmt::format("UPDATE {} SET file_id = ?1, source_row = ?2, row_hash = ?3{} WHERE {}",
                          d.table, sets,
                          d.kind == DatasetKind::kHousehold
                              ? fmt::format("household_id = ?{}", cols.size() + 4)
                              : fmt::format("household_id = ?{} AND id_number = ?{}",
                                            cols.size() + 4, cols.size() + 5))));
    }
    ASSIGN_OR_RETURN(Stmt any, Stmt::Prepare(db, fmt::format("SELECT 1 FROM {} LIMIT 1", d.table)));
    ASSIGN_OR_RETURN(bool has_rows, any.Step(db));
    w->empty_at_start_ = !has_rows;
    w->household_col_ = w->IndexOf("household_id");
    w->id_col_ = w->IndexOf("id_number");
    return std::unique_ptr<DatasetWriter>(std::move(w));
  }

  Status Put(const RowMeta& meta, std::span<const Value> values) override {
    if (!empty_at_start_) {
      select_.Reset();
      BindKey(select_, 1, values);
      ASSIGN_OR_RETURN(bool found, select_.Step(db_));
      if (found) {
        if (static_cast<uint64_t>(select_.Int(0)) == meta.content_hash) {
          select_.Reset();
          ++counts_.unchanged;
          return OkStatus();
        }
        RETURN_IF_ERROR(WriteHistory(values));
        if (stage_) {
          const int64_t version = select_.Int(static_cast<int>(values.size() + 1));
          select_.Reset();
          RETURN_IF_ERROR(stage_->Add(stage_seen_, {values[household_col_], Value::Int(version)}));
          RETURN_IF_ERROR(Insert(meta, values));  // published as an upsert
          ++counts_.updated;
          return OkStatus();
        }
        select_.Reset();
        update_.Reset();
        update_.Bind(1, file_id_);
        update_.Bind(2, meta.source_row);
        update_.Bind(3, static_cast<int64_t>(meta.content_hash));
        for (size_t i = 0; i < values.size(); ++i) update_.Bind(static_cast<int>(i + 4), values[i]);
        BindKey(update_, static_cast<int>(values.size() + 4), values);
        RETURN_IF_ERROR(update_.Run(db_));
        ++counts_.updated;
        return OkStatus();
      }
      select_.Reset();
    }
    RETURN_IF_ERROR(Insert(meta, values));
    ++counts_.inserted;
    return OkStatus();
  }

  Result<WriteCounts> Finish(bool /*remove_missing*/) override { return counts_; }

 private:
  RegistryWriter(sqlite3* db, const DatasetSpec& d, int64_t batch_id, int64_t file_id)
      : db_(db), dataset_(d), batch_id_(batch_id), file_id_(file_id), columns_(StoredColumns(d)) {}

  Status Insert(const RowMeta& meta, std::span<const Value> values) {
    if (stage_) {
      std::vector<Value> args;
      args.reserve(values.size() + 3);
      args.push_back(Value::Int(file_id_));
      args.push_back(Value::Int(meta.source_row));
      args.push_back(Value::Int(static_cast<int64_t>(meta.content_hash)));
      args.insert(args.end(), values.begin(), values.end());
      return stage_->Add(stage_insert_, std::move(args));
    }
    insert_.Reset();
    insert_.Bind(1, file_id_);
    insert_.Bind(2, meta.source_row);
    insert_.Bind(3, static_cast<int64_t>(meta.content_hash));
    for (size_t i = 0; i < values.size(); ++i) insert_.Bind(static_cast<int>(i + 4), values[i]);
    if (Status st = insert_.Run(db_); !st.ok()) {
      // Inside a batch the importer checks the household first and foreign keys are off;
      // should they be on (a writer used outside the importer's batch), a failed check
      // still only drops the row.
      if (insert_.last_error() == SQLITE_CONSTRAINT_FOREIGNKEY)
        return NotFound("household not found");
      return st;
    }
    return OkStatus();
  }
  size_t IndexOf(std::string_view name) const {
    for (size_t i = 0; i < columns_.size(); ++i)
      if (columns_[i].name == name) return i;
    return 0;
  }
  void BindKey(Stmt& s, int first, std::span<const Value> values) {
    s.Bind(first, values[household_col_]);
    if (dataset_.kind == DatasetKind::kMember) s.Bind(first + 1, values[id_col_]);
  }
  std::string EntityKey(std::span<const Value> values) const {
    if (dataset_.kind == DatasetKind::kHousehold) return values[household_col_].ToText();
    return values[household_col_].ToText() + "/" + values[id_col_].ToText();
  }
  // Compares the selected old row with the new values and records each difference.
  Status WriteHistory(std::span<const Value> values) {
    std::string key = EntityKey(values);
    std::string_view entity = dataset_.kind == DatasetKind::kHousehold ? "household" : "member";
    for (size_t i = 0; i < values.size(); ++i) {
      Value old = select_.ValueAt(static_cast<int>(i + 1));
      if (old == values[i]) continue;
      auto text = [](const Value& v) {
        return v.kind == Value::Kind::kNull ? Value::Null() : Value::Text(v.ToText());
      };
      std::vector<Value> args = {Value::Int(batch_id_),
                                 Value::Text(std::string(entity)),
                                 Value::Text(key),
                                 Value::Text(columns_[i].name),
                                 text(old),
                                 text(values[i])};
      if (stage_) {
        RETURN_IF_ERROR(stage_->Add(stage_history_, std::move(args)));
        continue;
      }
      history_.Reset();
      for (size_t a = 0; a < args.size(); ++a) history_.Bind(static_cast<int>(a + 1), args[a]);
      RETURN_IF_ERROR(history_.Run(db_));
    }
    return OkStatus();
  }

  sqlite3* db_;
  const DatasetSpec& dataset_;
  int64_t batch_id_;
  int64_t file_id_;
  std::vector<StoredColumn> columns_;
  Stmt insert_, select_, update_, history_;
  BatchStage* stage_ = nullptr;
  int stage_insert_ = 0, stage_history_ = 0, stage_seen_ = 0;
  bool empty_at_start_ = true;
  size_t household_col_ = 0, id_col_ = 0;
  WriteCounts counts_;
};

// Department data: the file is a full snapshot. Rows are matched to the previous snapshot
// by row_key; unchanged rows keep their row_id (so links to them stay valid). Direct, the
// table is updated in place; staged (`stage` given), the whole new snapshot is written to
// stage__<table> (with the same row ids) and swapped in for the table by the publish.
// Village attributes: rows are replaced by village code; villages the file does not list are
// removed at the end unless some row of the file was rejected (Finish), as for a department.
// A staged batch writes a copy of the table that the publish swaps in.
class VillageWriter final : public DatasetWriter {
 public:
  static Result<std::unique_ptr<DatasetWriter>> Make(sqlite3* db, const DatasetSpec& d,
                                                     int64_t file_id, BatchStage* stage) {
    auto w = std::unique_ptr<VillageWriter>(new VillageWriter());
    w->db_ = db;
    w->stage_ = stage;
    w->file_id_ = file_id;
    const auto cols = StoredColumns(d);
    const std::string_view prefix = stage ? kStagePrefix : "";
    const std::string insert = fmt::format(
        "INSERT OR REPLACE INTO {}{} (file_id, source_row, row_hash, {}) VALUES (?,?,?,{})", prefix,
        d.table, JoinNames(cols), Placeholders(cols.size()));
    const std::string remove = fmt::format("DELETE FROM {}{} WHERE file_id <> ?", prefix, d.table);
    if (stage) {
      RETURN_IF_ERROR(stage->CreateCopyOf(d.table));
      ASSIGN_OR_RETURN(int copy, stage->Prepare(fmt::format("INSERT INTO {}{} SELECT * FROM {}",
                                                            prefix, d.table, d.table)));
      RETURN_IF_ERROR(stage->Add(copy, {}));
      ASSIGN_OR_RETURN(w->stage_insert_, stage->Prepare(insert));
      ASSIGN_OR_RETURN(w->stage_remove_, stage->Prepare(remove));
    } else {
      ASSIGN_OR_RETURN(w->insert_, Stmt::Prepare(db, insert));
      ASSIGN_OR_RETURN(w->remove_, Stmt::Prepare(db, remove));
    }
    return std::unique_ptr<DatasetWriter>(std::move(w));
  }

  Status Put(const RowMeta& meta, std::span<const Value> values) override {
    ++counts_.inserted;
    if (stage_) {
      std::vector<Value> args = {Value::Int(file_id_), Value::Int(meta.source_row),
                                 Value::Int(static_cast<int64_t>(meta.content_hash))};
      args.insert(args.end(), values.begin(), values.end());
      return stage_->Add(stage_insert_, std::move(args));
    }
    insert_.Bind(1, file_id_);
    insert_.Bind(2, meta.source_row);
    insert_.Bind(3, static_cast<int64_t>(meta.content_hash));
    for (size_t i = 0; i < values.size(); ++i) insert_.Bind(static_cast<int>(i + 4), values[i]);
    return insert_.Run(db_);
  }

  Result<WriteCounts> Finish(bool remove_missing) override {
    if (!remove_missing) return counts_;
    if (stage_) {
      RETURN_IF_ERROR(stage_->Add(stage_remove_, {Value::Int(file_id_)}));
      return counts_;
    }
    remove_.Bind(1, file_id_);
    RETURN_IF_ERROR(remove_.Run(db_));
    counts_.removed = sqlite3_changes(db_);
    return counts_;
  }

 private:
  VillageWriter() = default;
  sqlite3* db_ = nullptr;
  BatchStage* stage_ = nullptr;
  int64_t file_id_ = 0;
  int stage_insert_ = -1, stage_remove_ = -1;
  Stmt insert_, remove_;
  WriteCounts counts_;
};

class DepartmentWriter final : public DatasetWriter {
 public:
  static Result<std::unique_ptr<DatasetWriter>> Make(sqlite3* db, const DatasetSpec& d,
                                                     int64_t file_id, BatchStage* stage) {
    auto w = std::unique_ptr<DepartmentWriter>(new DepartmentWriter(db, d, file_id));
    w->stage_ = stage;
    auto cols = StoredColumns(d);
    std::string names = JoinNames(cols);
    const std::string_view prefix = stage ? kStagePrefix : "";
    const std::string change = fmt::format(
        "INSERT INTO {}dept_changes (file_id, row_id, change, row_key) VALUES (?,?,?,?)", prefix);
    if (stage) {
      RETURN_IF_ERROR(stage->CreateCopyOf(d.table));
      ASSIGN_OR_RETURN(
          w->stage_row_,
          stage->Prepare(fmt::format("INSERT INTO {}{} (row_id, file_id, added_file_id, "
                                     "source_row, row_key, row_hash, {}) VALUES (?,?,?,?,?,?,{})",
                                     prefix, d.table, names, Placeholders(cols.size()))));
      ASSIGN_OR_RETURN(w->stage_keep_,
                       stage->Prepare(fmt::format("INSERT INTO {}{} SELECT * FROM {} WHERE "
                                                  "row_id = ?",
                                                  prefix, d.table, d.table)));
      ASSIGN_OR_RETURN(w->stage_change_, stage->Prepare(change));
      ASSIGN_OR_RETURN(w->stage_block_,
                       stage->Prepare("INSERT INTO stage__dept_identity (dataset, block, file_id, "
                                      "data) VALUES (?, ?, ?, ?)"));
      ASSIGN_OR_RETURN(w->stage_replaced_,
                       stage->Prepare("INSERT OR IGNORE INTO stage__identity_replaced (dataset) "
                                      "VALUES (?)"));
    } else {
      ASSIGN_OR_RETURN(
          w->insert_,
          Stmt::Prepare(
              db, fmt::format(
                      "INSERT INTO {} (file_id, added_file_id, source_row, row_key, row_hash, {}) "
                      "VALUES (?1,?1,?2,?3,?4,{})",
                      d.table, names, Placeholders(cols.size()))));
      std::string sets;
      for (size_t i = 0; i < cols.size(); ++i)
        sets += fmt::format(", {} = ?{}", cols[i].name, i + 5);
      ASSIGN_OR_RETURN(
          w->update_,
          Stmt::Prepare(
              db, fmt::format(
                      "UPDATE {} SET file_id = ?1, source_row = ?2, row_key = ?3, row_hash = ?4{} "
                      "WHERE row_id = ?{}",
                      d.table, sets, cols.size() + 5)));
      ASSIGN_OR_RETURN(
          w->touch_,
          Stmt::Prepare(
              db,
              fmt::format("UPDATE {} SET file_id = ?, source_row = ? WHERE row_id = ?", d.table)));
      ASSIGN_OR_RETURN(w->remove_,
                       Stmt::Prepare(db, fmt::format("DELETE FROM {} WHERE row_id = ?", d.table)));
      ASSIGN_OR_RETURN(w->change_, Stmt::Prepare(db, change));
    }
    w->id_slot_ = StoredSlot(d, "id_number");
    if (w->id_slot_ + 2 >= cols.size() || cols[w->id_slot_ + 2].name != "id_number_problem")
      return Err(Internal(fmt::format("{}: no id_number_problem column", d.table)));
    ASSIGN_OR_RETURN(Stmt scan, Stmt::Prepare(db, fmt::format("SELECT row_key, row_id, row_hash, "
                                                              "added_file_id FROM {}",
                                                              d.table)));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, scan.Step(db));
      if (!row) break;
      w->previous_.emplace(
          static_cast<uint64_t>(scan.Int(0)),
          Previous{scan.Int(1), static_cast<uint64_t>(scan.Int(2)), scan.Int(3), false});
      w->next_row_id_ = std::max(w->next_row_id_, scan.Int(1) + 1);
    }
    return std::unique_ptr<DatasetWriter>(std::move(w));
  }

  Status Put(const RowMeta& meta, std::span<const Value> values) override {
    if (!previous_.empty()) {
      auto it = previous_.find(meta.key_hash);
      if (it != previous_.end() && !it->second.seen) {
        it->second.seen = true;
        const bool same = it->second.row_hash == meta.content_hash;
        if (stage_) {
          RETURN_IF_ERROR(StageRow(it->second.row_id, it->second.added_file_id, meta, values));
        } else if (same) {
          touch_.Reset();
          touch_.Bind(1, file_id_);
          touch_.Bind(2, meta.source_row);
          touch_.Bind(3, it->second.row_id);
          RETURN_IF_ERROR(touch_.Run(db_));
        } else {
          update_.Reset();
          update_.Bind(1, file_id_);
          update_.Bind(2, meta.source_row);
          update_.Bind(3, static_cast<int64_t>(meta.key_hash));
          update_.Bind(4, static_cast<int64_t>(meta.content_hash));
          for (size_t i = 0; i < values.size(); ++i)
            update_.Bind(static_cast<int>(i + 5), values[i]);
          update_.Bind(static_cast<int>(values.size() + 5), it->second.row_id);
          RETURN_IF_ERROR(update_.Run(db_));
        }
        Remember(it->second.row_id, values);
        if (same) {
          ++counts_.unchanged;
          return OkStatus();
        }
        ++counts_.updated;
        return RecordChange(it->second.row_id, "changed", meta.key_hash);
      }
    }
    int64_t row_id = 0;
    if (stage_) {
      row_id = next_row_id_++;
      RETURN_IF_ERROR(StageRow(row_id, file_id_, meta, values));
    } else {
      insert_.Reset();
      insert_.Bind(1, file_id_);
      insert_.Bind(2, meta.source_row);
      insert_.Bind(3, static_cast<int64_t>(meta.key_hash));
      insert_.Bind(4, static_cast<int64_t>(meta.content_hash));
      for (size_t i = 0; i < values.size(); ++i) insert_.Bind(static_cast<int>(i + 5), values[i]);
      RETURN_IF_ERROR(insert_.Run(db_));
      row_id = sqlite3_last_insert_rowid(db_);
    }
    ++counts_.inserted;
    Remember(row_id, values);
    return OkStatus();  // new rows are found by added_file_id, not listed in dept_changes
  }

  Result<WriteCounts> Finish(bool remove_missing) override {
    for (const auto& [key, prev] : previous_) {
      if (prev.seen) continue;
      if (!remove_missing) {
        ++counts_.kept_missing;
        if (stage_) RETURN_IF_ERROR(stage_->Add(stage_keep_, {Value::Int(prev.row_id)}));
        continue;
      }
      if (!stage_) {
        remove_.Reset();
        remove_.Bind(1, prev.row_id);
        RETURN_IF_ERROR(remove_.Run(db_));
      }
      RETURN_IF_ERROR(RecordChange(prev.row_id, "gone", key));
      ++counts_.removed;
    }
    previous_.clear();
    RETURN_IF_ERROR(WriteIdentity());
    return counts_;
  }

 private:
  DepartmentWriter(sqlite3* db, const DatasetSpec& d, int64_t file_id)
      : db_(db), dataset_(d.name), file_id_(file_id) {}

  Status StageRow(int64_t row_id, int64_t added_file_id, const RowMeta& meta,
                  std::span<const Value> values) {
    std::vector<Value> args;
    args.reserve(values.size() + 6);
    args.push_back(Value::Int(row_id));
    args.push_back(Value::Int(file_id_));
    args.push_back(Value::Int(added_file_id));
    args.push_back(Value::Int(meta.source_row));
    args.push_back(Value::Int(static_cast<int64_t>(meta.key_hash)));
    args.push_back(Value::Int(static_cast<int64_t>(meta.content_hash)));
    args.insert(args.end(), values.begin(), values.end());
    return stage_->Add(stage_row_, std::move(args));
  }

  // The identity of a row of the new snapshot, for dept_identity (sqlite_blocks.h).
  void Remember(int64_t row_id, std::span<const Value> values) {
    const Value& id = values[id_slot_];
    const Value& problem = values[id_slot_ + 2];
    int8_t p = id.kind != Value::Kind::kText || id.text.empty()
                   ? int8_t{-1}
                   : static_cast<int8_t>(problem.kind == Value::Kind::kInt ? problem.i : 0);
    sorted_ = sorted_ && (identity_rows_.empty() || identity_rows_.back() < row_id);
    identity_rows_.push_back(row_id);
    identity_ids_.push_back(p == 0 ? PackIdNumber(id.text) : 0);
    identity_problems_.push_back(p);
  }

  // Replaces the data set's identity blocks. When rows of the previous snapshot were kept
  // (a file with rejected rows), the blocks would miss them: they are dropped instead, and
  // readers fall back to the table.
  Status WriteIdentity() {
    if (stage_) {
      RETURN_IF_ERROR(stage_->Add(stage_replaced_, {Value::Text(dataset_)}));
    } else {
      ASSIGN_OR_RETURN(Stmt del, Stmt::Prepare(db_, "DELETE FROM dept_identity WHERE dataset = ?"));
      del.Bind(1, dataset_);
      RETURN_IF_ERROR(del.Run(db_));
    }
    if (counts_.kept_missing > 0) return OkStatus();
    if (!sorted_) {  // rows of a changed snapshot come in file order, not row_id order
      std::vector<size_t> order(identity_rows_.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::sort(order.begin(), order.end(),
                [&](size_t a, size_t b) { return identity_rows_[a] < identity_rows_[b]; });
      auto permute = [&](auto& v) {
        std::remove_reference_t<decltype(v)> out(v.size());
        for (size_t i = 0; i < order.size(); ++i) out[i] = v[order[i]];
        v = std::move(out);
      };
      permute(identity_rows_);
      permute(identity_ids_);
      permute(identity_problems_);
    }
    Stmt ins;
    if (!stage_) {
      ASSIGN_OR_RETURN(ins, Stmt::Prepare(db_,
                                          "INSERT INTO dept_identity (dataset, block, file_id, "
                                          "data) VALUES (?, ?, ?, ?)"));
    }
    const size_t total = identity_rows_.size();
    for (size_t start = 0, block = 0; start < total; start += kBlockRows, ++block) {
      size_t n = std::min(kBlockRows, total - start);
      std::string blob = EncodeBlock(std::span(identity_rows_).subspan(start, n),
                                     std::span(identity_ids_).subspan(start, n),
                                     std::span(identity_problems_).subspan(start, n));
      if (stage_) {
        RETURN_IF_ERROR(stage_->Add(
            stage_block_,
            {Value::Text(dataset_), Value::Int(static_cast<int64_t>(block)), Value::Int(file_id_)},
            std::move(blob), 4));
        continue;
      }
      ins.Reset();
      ins.Bind(1, dataset_);
      ins.Bind(2, static_cast<int64_t>(block));
      ins.Bind(3, file_id_);
      sqlite3_bind_blob64(ins.get(), 4, blob.data(), blob.size(), SQLITE_STATIC);
      RETURN_IF_ERROR(ins.Run(db_));
    }
    identity_rows_ = {};
    identity_ids_ = {};
    identity_problems_ = {};
    return OkStatus();
  }
  Status RecordChange(int64_t row_id, std::string_view change, uint64_t key) {
    if (stage_)
      return stage_->Add(stage_change_,
                         {Value::Int(file_id_), Value::Int(row_id),
                          Value::Text(std::string(change)), Value::Int(static_cast<int64_t>(key))});
    change_.Reset();
    change_.Bind(1, file_id_);
    change_.Bind(2, row_id);
    change_.Bind(3, change);
    change_.Bind(4, static_cast<int64_t>(key));
    return change_.Run(db_);
  }
  struct Previous {
    int64_t row_id;
    uint64_t row_hash;
    int64_t added_file_id;
    bool seen;
  };
  sqlite3* db_;
  std::string dataset_;
  int64_t file_id_;
  size_t id_slot_ = 0;
  // The identity of every row of the new snapshot (dept_identity), in arrival order.
  std::vector<int64_t> identity_rows_;
  std::vector<uint64_t> identity_ids_;
  std::vector<int8_t> identity_problems_;
  bool sorted_ = true;
  Stmt insert_, update_, touch_, remove_, change_;
  BatchStage* stage_ = nullptr;
  int stage_row_ = 0, stage_keep_ = 0, stage_change_ = 0, stage_block_ = 0, stage_replaced_ = 0;
  int64_t next_row_id_ = 1;  // staged: the id of the next new row
  std::unordered_map<uint64_t, Previous> previous_;
  WriteCounts counts_;
};

// ---- the store ---------------------------------------------------------------------------

// The backend's side of a ReadView or WriteTxn on one connection.
class SqliteTxn final : public TxnHandle {
 public:
  explicit SqliteTxn(Connection& conn) : conn_(conn) {}
  Status Commit() override {
    Status st = Exec(conn_.db, "COMMIT");
    if (!st.ok()) Exec(conn_.db, "ROLLBACK").ok();
    conn_.open = Connection::Open::kNothing;
    return st;
  }
  void End() override {
    if (!sqlite3_get_autocommit(conn_.db)) Exec(conn_.db, "ROLLBACK").ok();
    conn_.open = Connection::Open::kNothing;
  }

 private:
  Connection& conn_;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(sqlite3* db, const std::filesystem::path& path)
      : conn_{.db = db, .path = path},
        db_(db),
        links_(MakeSqliteLinkStore(conn_)),
        rules_(MakeSqliteRulesStore(conn_, *links_)),
        platform_(MakeSqlitePlatformStore(db)),
        edits_(MakeSqliteEditStore(conn_)) {}
  ~SqliteStore() override {
    if (batch_id_) AbortBatch();
    edits_.reset();
    platform_.reset();
    rules_.reset();
    links_.reset();
    DetachWriteGate(db_);
    CloseConnection(db_);
  }

  Result<ReadView> BeginRead() override {
    RETURN_IF_ERROR(conn_.RequireNothingOpen("read view"));
    RETURN_IF_ERROR(Exec(db_, "BEGIN DEFERRED"));
    // A deferred transaction takes its snapshot at its first read: read now, so that the
    // view is of the state when BeginRead returned.
    if (Status st = Exec(db_, "SELECT count(*) FROM schema_migrations"); !st.ok()) {
      Exec(db_, "ROLLBACK").ok();
      return Err(st);
    }
    conn_.open = Connection::Open::kReadView;
    return ReadView(std::make_unique<SqliteTxn>(conn_));
  }

  Result<WriteTxn> BeginWrite() override {
    RETURN_IF_ERROR(conn_.RequireNothingOpen("write transaction"));
    RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE"));
    conn_.open = Connection::Open::kWriteTxn;
    return WriteTxn(std::make_unique<SqliteTxn>(conn_));
  }

  LinkStore& Links() override { return *links_; }
  RulesStore& Rules() override { return *rules_; }
  PlatformStore& Platform() override { return *platform_; }
  EditStore& Edits() override { return *edits_; }

  Status Init(const SqliteOptions& options) {
    bulk_journal_ = options.bulk_journal;
    stage_batches_ = options.stage_batches;
    busy_timeout_ms_ = options.busy_timeout_ms;
    cache_mib_ = options.cache_mib;
    sqlite3_busy_timeout(db_, options.busy_timeout_ms);
    AttachWriteGate(db_, conn_.path, options.busy_timeout_ms);  // write_gate.h
    sqlite3_extended_result_codes(db_, 1);
    // Larger pages mean fewer page splits and less per-row overhead for wide bulk loads; it
    // only takes effect when the file is created.
    RETURN_IF_ERROR(Exec(db_, "PRAGMA page_size = 16384"));
    RETURN_IF_ERROR(Exec(db_, "PRAGMA journal_mode = WAL"));
    RETURN_IF_ERROR(Exec(db_, "PRAGMA synchronous = NORMAL"));
    RETURN_IF_ERROR(Exec(db_, "PRAGMA foreign_keys = ON"));
    // Statement journals (one per INSERT checked by a foreign key inside a batch) stay in
    // memory: as temp files they cost a write system call per touched page.
    RETURN_IF_ERROR(Exec(db_, "PRAGMA temp_store = MEMORY"));
    RETURN_IF_ERROR(Exec(db_, fmt::format("PRAGMA cache_size = -{}", options.cache_mib * 1024)));
    RETURN_IF_ERROR(Exec(db_, "PRAGMA journal_size_limit = 67108864"));
    return Migrate();
  }

  Result<std::vector<Region>> LoadRegions() override {
    ASSIGN_OR_RETURN(
        Stmt s,
        Stmt::Prepare(
            db_, "SELECT code, name, level, coalesce(parent_code, '') FROM regions ORDER BY code"));
    std::vector<Region> out;
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(db_));
      if (!row) break;
      out.push_back({s.Text(0), s.Text(1), static_cast<int>(s.Int(2)), s.Text(3)});
    }
    return out;
  }

  Result<int64_t> BeginBatch(const BatchInfo& info) override {
    if (batch_id_) return Err(FailedPrecondition("an import batch is already open"));
    RETURN_IF_ERROR(conn_.RequireNothingOpen("import batch"));
    ASSIGN_OR_RETURN(ImportLock lock, ImportLock::Take(conn_.path, busy_timeout_ms_));
    // A batch is mostly appends. In WAL mode every page would be written twice (to the WAL,
    // then by the checkpoint); a rollback journal records only pages that existed before.
    // So while no other connection has the file open, a batch runs with a rollback journal
    // (synchronous FULL, equally atomic and durable) and the file returns to WAL afterwards.
    // With another connection open the switch is refused, and the batch is staged instead
    // (sqlite_stage.h): then someone else uses the store, and must not wait for the batch.
    if (bulk_journal_ && !stage_batches_) {
      rollback_journal_ =
          Exec(db_, "PRAGMA journal_mode = DELETE").ok() && JournalMode() == "delete";
      if (rollback_journal_) Exec(db_, "PRAGMA synchronous = FULL").ok();
    }
    // References are the importer's to check within a batch (a member's household against
    // ForEachHouseholdId, a household's village by validation). SQLite's own check, row by
    // row, took about a fifth of the member file's writing time.
    Exec(db_, "PRAGMA foreign_keys = OFF").ok();
    Status st = rollback_journal_ ? BeginDirect(info) : BeginStaged(info);
    if (!st.ok()) {
      stage_.reset();
      RestoreSettings();
      return Err(st);
    }
    import_lock_.emplace(std::move(lock));
    conn_.open = Connection::Open::kBatch;
    return batch_id_;
  }

  // A batch written into the store's own tables inside one transaction (nobody else has the
  // file open).
  Status BeginDirect(const BatchInfo& info) {
    RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE"));
    auto record = [&]() -> Status {
      RETURN_IF_ERROR(DropStageTables(db_, false));  // what a killed staged batch left
      ASSIGN_OR_RETURN(Stmt s,
                       Stmt::Prepare(db_,
                                     "INSERT INTO import_batches (started_at, user_name, source, "
                                     "role) VALUES (?,?,?,?)"));
      s.Bind(1, NowUtc());
      s.Bind(2, info.actor.user);
      s.Bind(3, info.source);
      s.Bind(4, RoleName(info.actor.role));
      return s.Run(db_);
    };
    if (Status st = record(); !st.ok()) {
      Exec(db_, "ROLLBACK").ok();
      return st;
    }
    batch_id_ = sqlite3_last_insert_rowid(db_);
    return OkStatus();
  }

  // A staged batch: reads the store through one read view on this connection and writes
  // stage tables through the stage's connection, in short transactions.
  Status BeginStaged(const BatchInfo& info) {
    ASSIGN_OR_RETURN(stage_, BatchStage::Begin(conn_.path, busy_timeout_ms_, cache_mib_));
    RETURN_IF_ERROR(Exec(db_, "BEGIN DEFERRED"));
    auto ids = [&]() -> Status {
      ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db_,
                                             "SELECT (SELECT coalesce(max(batch_id), 0) FROM "
                                             "import_batches), (SELECT coalesce(max(file_id), 0) "
                                             "FROM batch_files)"));
      ASSIGN_OR_RETURN(bool row, s.Step(db_));
      base_batch_ = row ? s.Int(0) : 0;
      next_file_id_ = (row ? s.Int(1) : 0) + 1;
      s.Reset();
      ASSIGN_OR_RETURN(int batch, stage_->Prepare("INSERT INTO stage__import_batches (batch_id, "
                                                  "started_at, user_name, source, role) VALUES "
                                                  "(?,?,?,?,?)"));
      return stage_->Add(
          batch, {Value::Int(base_batch_ + 1), Value::Text(NowUtc()), Value::Text(info.actor.user),
                  Value::Text(info.source), Value::Text(std::string(RoleName(info.actor.role)))});
    };
    if (Status st = ids(); !st.ok()) {
      Exec(db_, "ROLLBACK").ok();
      return st;
    }
    batch_id_ = base_batch_ + 1;
    return OkStatus();
  }

  // The staged statement `sql`, prepared once per batch.
  Result<int> StageStmt(std::string_view sql) {
    auto it = stage_stmts_.find(std::string(sql));
    if (it != stage_stmts_.end()) return it->second;
    ASSIGN_OR_RETURN(int id, stage_->Prepare(sql));
    stage_stmts_.emplace(std::string(sql), id);
    return id;
  }

  Result<std::optional<CurrentFile>> CurrentFileOf(std::string_view dataset) override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db_,
                                           "SELECT d.sha256, f.rows_rejected FROM dataset_state d "
                                           "JOIN batch_files f ON f.file_id = d.file_id "
                                           "WHERE d.dataset = ?"));
    s.Bind(1, dataset);
    ASSIGN_OR_RETURN(bool row, s.Step(db_));
    if (!row) return std::optional<CurrentFile>();
    return std::optional<CurrentFile>(CurrentFile{s.Text(0), s.Int(1)});
  }

  Result<int64_t> BeginFile(const FileInfo& info) override {
    if (stage_) {
      const int64_t file_id = next_file_id_++;
      ASSIGN_OR_RETURN(int stmt, StageStmt("INSERT INTO stage__batch_files (file_id, batch_id, "
                                           "file_name, dataset, sha256, size_bytes, encoding) "
                                           "VALUES (?,?,?,?,?,?,?)"));
      RETURN_IF_ERROR(stage_->Add(
          stmt, {Value::Int(file_id), Value::Int(batch_id_), Value::Text(info.file_name),
                 Value::Text(info.dataset), Value::Text(info.sha256),
                 Value::Int(static_cast<int64_t>(info.size_bytes)), Value::Text(info.encoding)}));
      file_datasets_[file_id] = {info.dataset, info.sha256};
      return file_id;
    }
    ASSIGN_OR_RETURN(
        Stmt s,
        Stmt::Prepare(
            db_,
            "INSERT INTO batch_files (batch_id, file_name, dataset, sha256, size_bytes, encoding) "
            "VALUES (?,?,?,?,?,?)"));
    s.Bind(1, batch_id_);
    s.Bind(2, info.file_name);
    s.Bind(3, info.dataset);
    s.Bind(4, info.sha256);
    s.Bind(5, static_cast<int64_t>(info.size_bytes));
    s.Bind(6, info.encoding);
    RETURN_IF_ERROR(s.Run(db_));
    int64_t file_id = sqlite3_last_insert_rowid(db_);
    file_datasets_[file_id] = {info.dataset, info.sha256};
    return file_id;
  }

  Result<std::unique_ptr<DatasetWriter>> OpenWriter(const DatasetSpec& d,
                                                    int64_t file_id) override {
    if (d.kind == DatasetKind::kDepartment)
      return DepartmentWriter::Make(db_, d, file_id, stage_.get());
    if (d.kind == DatasetKind::kVillage) return VillageWriter::Make(db_, d, file_id, stage_.get());
    return RegistryWriter::Make(db_, d, batch_id_, file_id, stage_.get());
  }

  Status AddIssues(std::span<const Issue> issues) override {
    if (stage_) {
      ASSIGN_OR_RETURN(int stmt, StageStmt("INSERT INTO stage__import_issues (file_id, "
                                           "row_number, column_name, value, severity, code, "
                                           "message_en, message_zh) VALUES (?,?,?,?,?,?,?,?)"));
      for (const Issue& i : issues)
        RETURN_IF_ERROR(stage_->Add(
            stmt,
            {Value::Int(i.file_id), Value::Int(i.row_number), Value::Text(std::string(i.column)),
             Value::Text(std::string(i.value)), Value::Text(i.is_error ? "error" : "warning"),
             Value::Text(std::string(i.code)), Value::Text(std::string(i.message_en)),
             Value::Text(std::string(i.message_zh))}));
      return OkStatus();
    }
    if (!issue_stmt_.get()) {
      ASSIGN_OR_RETURN(
          issue_stmt_,
          Stmt::Prepare(
              db_,
              "INSERT INTO import_issues (file_id, row_number, column_name, value, severity, code, "
              "message_en, message_zh) VALUES (?,?,?,?,?,?,?,?)"));
    }
    for (const Issue& i : issues) {
      issue_stmt_.Reset();
      issue_stmt_.Bind(1, i.file_id);
      issue_stmt_.Bind(2, i.row_number);
      issue_stmt_.BindStatic(3, i.column);
      issue_stmt_.BindStatic(4, i.value);
      issue_stmt_.BindStatic(5, i.is_error ? "error" : "warning");
      issue_stmt_.BindStatic(6, i.code);
      issue_stmt_.BindStatic(7, i.message_en);
      issue_stmt_.BindStatic(8, i.message_zh);
      RETURN_IF_ERROR(issue_stmt_.Run(db_));
    }
    return OkStatus();
  }

  Status FinishFile(int64_t file_id, const FileOutcome& o) override {
    const std::string_view prefix = stage_ ? kStagePrefix : "";
    std::vector<Value> args = {
        Value::Int(o.rows_read), Value::Int(o.rows_imported), Value::Int(o.rows_rejected),
        Value::Int(o.warnings),  Value::Int(o.inserted),      Value::Int(o.updated),
        Value::Int(o.unchanged), Value::Int(o.removed),       Value::Text(o.outcome),
        Value::Text(o.message),  Value::Text(o.encoding),     Value::Int(file_id)};
    const std::string update = fmt::format(
        "UPDATE {}batch_files SET rows_read=?, rows_imported=?, rows_rejected=?, warnings=?, "
        "inserted=?, updated=?, unchanged=?, removed=?, outcome=?, message=?, "
        "encoding=coalesce(nullif(?, ''), encoding) WHERE file_id=?",
        prefix);
    const std::string state = fmt::format(
        "INSERT INTO {}dataset_state (dataset, file_id, sha256) VALUES (?,?,?) ON CONFLICT "
        "(dataset) DO UPDATE SET file_id = excluded.file_id, sha256 = excluded.sha256",
        prefix);
    const bool imported = o.outcome == "imported";
    const auto& [dataset, sha] = file_datasets_[file_id];
    std::vector<Value> state_args = {Value::Text(dataset), Value::Int(file_id), Value::Text(sha)};
    if (stage_) {
      ASSIGN_OR_RETURN(int u, StageStmt(update));
      RETURN_IF_ERROR(stage_->Add(u, std::move(args)));
      if (!imported) return OkStatus();
      ASSIGN_OR_RETURN(int st, StageStmt(state));
      return stage_->Add(st, std::move(state_args));
    }
    ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db_, update));
    for (size_t i = 0; i < args.size(); ++i) s.Bind(static_cast<int>(i + 1), args[i]);
    RETURN_IF_ERROR(s.Run(db_));
    if (!imported) return OkStatus();
    ASSIGN_OR_RETURN(Stmt u, Stmt::Prepare(db_, state));
    for (size_t i = 0; i < state_args.size(); ++i) u.Bind(static_cast<int>(i + 1), state_args[i]);
    return u.Run(db_);
  }

  Status PutRegions(std::span<const Region> regions) override {
    if (!stage_) return UpsertRegions(regions);
    ASSIGN_OR_RETURN(int stmt, StageStmt("INSERT OR REPLACE INTO stage__regions (code, name, "
                                         "level, parent_code) VALUES (?,?,?,?)"));
    for (const Region& r : regions)
      RETURN_IF_ERROR(
          stage_->Add(stmt, {Value::Text(r.code), Value::Text(r.name), Value::Int(r.level),
                             r.parent_code.empty() ? Value::Null() : Value::Text(r.parent_code)}));
    return OkStatus();
  }

  Status CommitBatch() override {
    if (stage_) return PublishStaged();
    ASSIGN_OR_RETURN(
        Stmt s, Stmt::Prepare(db_, "UPDATE import_batches SET finished_at = ? WHERE batch_id = ?"));
    s.Bind(1, NowUtc());
    s.Bind(2, batch_id_);
    if (Status st = s.Run(db_); !st.ok()) {
      AbortBatch();
      return st;
    }
    issue_stmt_ = Stmt();
    if (Status st = Exec(db_, "COMMIT"); !st.ok()) {
      AbortBatch();
      return st;
    }
    EndBatch();
    return OkStatus();
  }

  void AbortBatch() override {
    issue_stmt_ = Stmt();
    if (!sqlite3_get_autocommit(db_)) Exec(db_, "ROLLBACK").ok();
    EndBatch();
  }

  Status ForEachCurrentMember(const std::function<void(const Value&, const Value&)>& fn) override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db_,
                                           "SELECT household_id, id_number FROM members "
                                           "WHERE left_reason IS NULL"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(db_));
      if (!row) return OkStatus();
      fn(s.ValueAt(0), s.ValueAt(1));
    }
  }

  Status ForEachHouseholdId(const std::function<void(std::string_view)>& fn) override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db_, "SELECT household_id FROM households"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(db_));
      if (!row) break;
      fn(s.TextView(0));
    }
    // Staged, the households this batch adds are not in its read view yet.
    return stage_ ? stage_->ForEachStagedHousehold(fn) : OkStatus();
  }

  Result<Stats> GetStats() override {
    Stats stats;
    std::vector<std::string> tables = {"regions", "import_batches", "batch_files", "import_issues",
                                       "history"};
    for (const DatasetSpec& d : AllDatasets())
      if (d.kind != DatasetKind::kRegions) tables.emplace_back(d.table);
    for (const std::string& t : tables) {
      ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db_, fmt::format("SELECT count(*) FROM {}", t)));
      ASSIGN_OR_RETURN(bool row, s.Step(db_));
      stats.tables.push_back({t, row ? s.Int(0) : 0});
    }
    ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db_, R"sql(
      SELECT substr(h.village_code, 1, 4) || '00000000' AS prefecture,
             coalesce(r.name, ''), coalesce(h.status, 0), count(*), sum(m.n)
      FROM households h
      LEFT JOIN (SELECT household_id, count(*) AS n FROM members WHERE left_reason IS NULL
                 GROUP BY household_id) m
        ON m.household_id = h.household_id
      LEFT JOIN regions r ON r.code = substr(h.village_code, 1, 4) || '00000000'
      GROUP BY 1, 2, 3 ORDER BY 1, 3)sql"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(db_));
      if (!row) break;
      stats.by_prefecture.push_back(
          {s.Text(0), s.Text(1), static_cast<int>(s.Int(2)), s.Int(3), s.Int(4)});
    }
    ASSIGN_OR_RETURN(Stmt b, Stmt::Prepare(db_, "SELECT count(*) FROM import_batches"));
    ASSIGN_OR_RETURN(bool row, b.Step(db_));
    stats.batches = row ? b.Int(0) : 0;
    return stats;
  }

  Status ForEachIssue(int64_t batch_id, const std::function<Status(const IssueRow&)>& fn) override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db_, R"sql(
      SELECT f.file_name, i.row_number, i.column_name, i.value, i.severity, i.code,
             i.message_en, i.message_zh
      FROM import_issues i JOIN batch_files f ON f.file_id = i.file_id
      WHERE f.batch_id = ? ORDER BY i.file_id, i.row_number, i.rowid)sql"));
    s.Bind(1, batch_id);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(db_));
      if (!row) break;
      IssueRow r{s.Text(0), s.Int(1),  s.Text(2), s.Text(3), s.Text(4) == "error",
                 s.Text(5), s.Text(6), s.Text(7)};
      if (Status st = fn(r); !st.ok()) {
        s.Reset();
        return st;
      }
    }
    return OkStatus();
  }

  Result<DataVersion> GetDataVersion() override {
    ASSIGN_OR_RETURN(
        Stmt s,
        Stmt::Prepare(
            db_,
            "SELECT (SELECT coalesce(max(file_id), 0) FROM dataset_state WHERE dataset IN "
            "('regions', 'households', 'members', 'villages')), (SELECT coalesce(max(run_id), 0) "
            "FROM "
            "link_runs WHERE finished_at IS NOT NULL), (SELECT coalesce(max(run_id), 0) FROM "
            "rule_runs) + (SELECT count(*) FROM flag_events WHERE run_id IS NULL AND edit_id IS "
            "NULL), (SELECT coalesce(max(edit_id), 0) "
            "FROM edits)"));
    ASSIGN_OR_RETURN(bool row, s.Step(db_));
    if (!row) return DataVersion{};
    return DataVersion{s.Int(0), s.Int(1), s.Int(2), s.Int(3)};
  }

  Result<std::vector<BatchRow>> ListBatches(int64_t before, int limit) override {
    ASSIGN_OR_RETURN(Stmt b,
                     Stmt::Prepare(db_,
                                   "SELECT batch_id, started_at, coalesce(finished_at, ''), "
                                   "user_name, coalesce(role, ''), source FROM "
                                   "import_batches WHERE (? = 0 OR batch_id < ?) ORDER BY "
                                   "batch_id DESC LIMIT ?"));
    b.Bind(1, before);
    b.Bind(2, before);
    b.Bind(3, static_cast<int64_t>(limit));
    std::vector<BatchRow> out;
    for (;;) {
      ASSIGN_OR_RETURN(bool row, b.Step(db_));
      if (!row) break;
      out.push_back({b.Int(0), b.Text(1), b.Text(2), b.Text(3), b.Text(4), b.Text(5), {}});
    }
    ASSIGN_OR_RETURN(Stmt f,
                     Stmt::Prepare(db_,
                                   "SELECT file_id, file_name, dataset, outcome, rows_read, "
                                   "rows_imported, rows_rejected, warnings FROM batch_files "
                                   "WHERE batch_id = ? ORDER BY file_id"));
    for (BatchRow& batch : out) {
      f.Reset();
      f.Bind(1, batch.batch_id);
      for (;;) {
        ASSIGN_OR_RETURN(bool row, f.Step(db_));
        if (!row) break;
        batch.files.push_back(
            {f.Int(0), f.Text(1), f.Text(2), f.Text(3), f.Int(4), f.Int(5), f.Int(6), f.Int(7)});
      }
    }
    return out;
  }

  Result<int64_t> LatestBatchId() override {
    ASSIGN_OR_RETURN(Stmt s,
                     Stmt::Prepare(db_, "SELECT coalesce(max(batch_id), 0) FROM import_batches"));
    ASSIGN_OR_RETURN(bool row, s.Step(db_));
    return row ? s.Int(0) : 0;
  }

 private:
  std::string JournalMode() {
    auto s = Stmt::Prepare(db_, "PRAGMA journal_mode");
    if (!s) return "";
    auto row = s->Step(db_);
    return row && *row ? s->Text(0) : "";
  }
  // Back to the settings outside a batch: foreign keys checked, and WAL.
  void RestoreSettings() {
    Exec(db_, "PRAGMA foreign_keys = ON").ok();
    if (!rollback_journal_) return;
    rollback_journal_ = false;
    Exec(db_, "PRAGMA journal_mode = WAL").ok();
    Exec(db_, "PRAGMA synchronous = NORMAL").ok();
  }

  // Ends the staging (the batch's read view, then one transaction that publishes it).
  Status PublishStaged() {
    ASSIGN_OR_RETURN(int finish, StageStmt("UPDATE stage__import_batches SET finished_at = ? "
                                           "WHERE batch_id = ?"));
    Status st = stage_->Add(finish, {Value::Text(NowUtc()), Value::Int(batch_id_)});
    if (st.ok()) st = stage_->Flush();
    Exec(db_, "ROLLBACK").ok();  // the batch's read view: nothing was written through it
    if (st.ok()) st = stage_->Publish(db_, base_batch_);
    AbortBatch();  // the stage's tables dropped, lock released
    return st;
  }

  // After a batch, published or not: the stage dropped, the lock released, the settings
  // restored and the WAL folded back as far as open read views allow.
  void EndBatch() {
    stage_.reset();
    stage_stmts_.clear();
    import_lock_.reset();
    if (batch_id_) conn_.open = Connection::Open::kNothing;
    batch_id_ = 0;
    file_datasets_.clear();
    RestoreSettings();
    // A passive checkpoint never waits. (A TRUNCATE checkpoint waited up to busy_timeout_ms
    // for every reader, and blocked every other writer meanwhile.)
    sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }

  Status Migrate() {
    RETURN_IF_ERROR(Exec(db_,
                         "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY "
                         "KEY, applied_at TEXT NOT NULL)"));
    ASSIGN_OR_RETURN(Stmt s,
                     Stmt::Prepare(db_, "SELECT coalesce(max(version), 0) FROM schema_migrations"));
    ASSIGN_OR_RETURN(bool row, s.Step(db_));
    const int current = row ? static_cast<int>(s.Int(0)) : 0;
    s.Reset();
    if (current > kSchemaVersion)
      return DataLoss(
          fmt::format("the database has schema version {}, newer than this fupin ({}); "
                      "use a newer fupin",
                      current, kSchemaVersion));
    // Every migration not recorded yet is applied, in order: also one numbered below the
    // newest recorded (branches developed side by side number theirs independently).
    ASSIGN_OR_RETURN(
        Stmt recorded,
        Stmt::Prepare(db_, "SELECT count(*) FROM schema_migrations WHERE version = ?"));
    auto is_recorded = [&](int version) -> Result<bool> {
      recorded.Reset();
      recorded.Bind(1, static_cast<int64_t>(version));
      ASSIGN_OR_RETURN(bool found, recorded.Step(db_));
      const bool yes = found && recorded.Int(0) > 0;
      recorded.Reset();
      return yes;
    };
    for (const Migration& m : kMigrations) {
      ASSIGN_OR_RETURN(bool done, is_recorded(m.version));
      if (done) continue;
      RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE"));
      // Read again under the write lock: another process creating the same new database may
      // have applied this migration since it was read above.
      auto applied = is_recorded(m.version);
      if (!applied) {
        Exec(db_, "ROLLBACK").ok();
        return Err(applied.error());
      }
      if (*applied) {
        RETURN_IF_ERROR(Exec(db_, "COMMIT"));
        continue;
      }
      Status st = Exec(db_, m.sql());
      if (st.ok()) {
        ASSIGN_OR_RETURN(Stmt ins,
                         Stmt::Prepare(db_, "INSERT INTO schema_migrations VALUES (?, ?)"));
        ins.Bind(1, m.version);
        ins.Bind(2, NowUtc());
        st = ins.Run(db_);
      }
      if (st.ok() && m.version == 1) st = LoadBuiltinRegions();
      if (st.ok()) st = Exec(db_, "COMMIT");
      if (!st.ok()) {
        Exec(db_, "ROLLBACK").ok();
        return st;
      }
    }
    return OkStatus();
  }

  Status LoadBuiltinRegions() {
    std::vector<Region> regions;
    std::string_view csv = BuiltinRegionsCsv();
    size_t pos = csv.find('\n') + 1;  // skip header
    while (pos < csv.size()) {
      size_t eol = csv.find('\n', pos);
      if (eol == std::string_view::npos) eol = csv.size();
      std::string_view line = csv.substr(pos, eol - pos);
      pos = eol + 1;
      if (line.empty()) continue;
      size_t a = line.find(','), b = line.find(',', a + 1), c = line.find(',', b + 1);
      regions.push_back({std::string(line.substr(0, a)), std::string(line.substr(a + 1, b - a - 1)),
                         std::stoi(std::string(line.substr(b + 1, c - b - 1))),
                         std::string(line.substr(c + 1))});
    }
    return UpsertRegions(regions);
  }

  Status UpsertRegions(std::span<const Region> regions) {
    ASSIGN_OR_RETURN(
        Stmt s,
        Stmt::Prepare(
            db_,
            "INSERT INTO regions (code, name, level, parent_code) VALUES (?,?,?,?) "
            "ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level, "
            "parent_code = excluded.parent_code WHERE name <> excluded.name OR level <> "
            "excluded.level"));
    for (const Region& r : regions) {
      s.Reset();
      s.Bind(1, r.code);
      s.Bind(2, r.name);
      s.Bind(3, r.level);
      if (r.parent_code.empty()) {
        sqlite3_bind_null(s.get(), 4);
      } else {
        s.Bind(4, r.parent_code);
      }
      RETURN_IF_ERROR(s.Run(db_));
    }
    return OkStatus();
  }

  Connection conn_;  // what is open on db_, shared with links_ and rules_
  sqlite3* db_;
  std::unique_ptr<LinkStore> links_;
  std::unique_ptr<RulesStore> rules_;
  std::unique_ptr<PlatformStore> platform_;
  std::unique_ptr<EditStore> edits_;
  int64_t batch_id_ = 0;
  bool bulk_journal_ = true;
  bool rollback_journal_ = false;  // the open batch runs with a rollback journal
  bool stage_batches_ = false;
  int busy_timeout_ms_ = 5000;
  int cache_mib_ = 128;
  // The open batch's: the import lock, and when staged the stage, the read view's latest
  // batch and the next file id.
  std::optional<ImportLock> import_lock_;
  std::unique_ptr<BatchStage> stage_;
  std::unordered_map<std::string, int> stage_stmts_;
  int64_t base_batch_ = 0;
  int64_t next_file_id_ = 0;
  Stmt issue_stmt_;
  std::unordered_map<int64_t, std::pair<std::string, std::string>> file_datasets_;
};

}  // namespace

int SqliteSchemaVersion() { return kSchemaVersion; }

bool StageBatchesByDefault() {
  const char* v = std::getenv("FUPIN_STAGE_BATCHES");
  return v && std::string_view(v) == "1";
}

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::filesystem::path& path,
                                               const SqliteOptions& options) {
  // Memory statistics take a global mutex on every allocation; we never read them.
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return true;
  }();
  (void)configured;
  // Opening takes locks that SQLite's busy handler does not wait for (switching a database
  // to WAL, creating its tables while another process creates them too): a busy open is
  // tried again until the busy timeout has passed.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options.busy_timeout_ms);
  for (int attempt = 0;; ++attempt) {
    sqlite3* db = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
      sqlite3_close_v2(db);
      return Err(NotFound(fmt::format("cannot open database {}: {}", path.string(), msg)));
    }
    auto store = std::make_unique<SqliteStore>(db, path);
    Status st = store->Init(options);
    if (st.ok()) return std::unique_ptr<Store>(std::move(store));
    store.reset();
    if (!IsInUse(st) || std::chrono::steady_clock::now() >= deadline)
      return Err(Status(st.code(), fmt::format("database {}: {}", path.string(), st.message())));
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(20 + 20 * attempt, 200)));
  }
}

}  // namespace fupin::store
