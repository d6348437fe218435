#include "store/sqlite/sqlite_edits.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "store/sqlite/sqlite_util.h"

namespace fupin::store::sqlite_detail {

std::string EditsMigration() {
  return R"sql(
ALTER TABLE households ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
CREATE TABLE edits (
  edit_id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  user_name TEXT NOT NULL,
  role TEXT NOT NULL,
  reason TEXT NOT NULL,
  household_id TEXT NOT NULL
);
CREATE INDEX edits_by_household ON edits(household_id);
CREATE TABLE history_v7 (
  history_id INTEGER PRIMARY KEY,
  batch_id INTEGER REFERENCES import_batches(batch_id),
  edit_id INTEGER REFERENCES edits(edit_id),
  entity TEXT NOT NULL,
  entity_key TEXT NOT NULL,
  field TEXT NOT NULL,
  old_value TEXT,
  new_value TEXT,
  CHECK ((batch_id IS NULL) <> (edit_id IS NULL))
);
INSERT INTO history_v7 (history_id, batch_id, entity, entity_key, field, old_value, new_value)
  SELECT history_id, batch_id, entity, entity_key, field, old_value, new_value FROM history;
DROP TABLE history;
ALTER TABLE history_v7 RENAME TO history;
CREATE INDEX history_by_entity ON history(entity, entity_key);
CREATE TABLE household_visits (
  visit_id INTEGER PRIMARY KEY,
  household_id TEXT NOT NULL,
  edit_id INTEGER NOT NULL REFERENCES edits(edit_id),
  at TEXT NOT NULL,
  user_name TEXT NOT NULL,
  note TEXT NOT NULL,
  lat REAL,
  lon REAL
);
CREATE INDEX household_visits_by_household ON household_visits(household_id);
CREATE TABLE household_photos (
  photo_id INTEGER PRIMARY KEY,
  household_id TEXT NOT NULL,
  edit_id INTEGER NOT NULL REFERENCES edits(edit_id),
  at TEXT NOT NULL,
  user_name TEXT NOT NULL,
  content_type TEXT NOT NULL,
  bytes BLOB NOT NULL,
  sha256 TEXT NOT NULL
);
CREATE INDEX household_photos_by_household ON household_photos(household_id);
CREATE TRIGGER households_version AFTER UPDATE ON households
  WHEN NEW.version = OLD.version
  BEGIN UPDATE households SET version = OLD.version + 1 WHERE household_id = NEW.household_id; END;
CREATE TRIGGER members_insert_version AFTER INSERT ON members
  WHEN (SELECT f.batch_id FROM households h JOIN batch_files f ON f.file_id = h.file_id
        WHERE h.household_id = NEW.household_id)
       IS NOT (SELECT batch_id FROM batch_files WHERE file_id = NEW.file_id)
  BEGIN UPDATE households SET version = version + 1 WHERE household_id = NEW.household_id; END;
CREATE TRIGGER members_update_version AFTER UPDATE ON members
  WHEN (SELECT f.batch_id FROM households h JOIN batch_files f ON f.file_id = h.file_id
        WHERE h.household_id = NEW.household_id)
       IS NOT (SELECT batch_id FROM batch_files WHERE file_id = NEW.file_id)
       OR NEW.file_id = OLD.file_id
  BEGIN UPDATE households SET version = version + 1 WHERE household_id = NEW.household_id; END;
CREATE TRIGGER members_delete_version AFTER DELETE ON members
  BEGIN UPDATE households SET version = version + 1 WHERE household_id = OLD.household_id; END;
)sql";
}

namespace {

void BindOptional(Stmt& s, int i, std::optional<double> v) {
  if (v) {
    sqlite3_bind_double(s.get(), i, *v);
  } else {
    sqlite3_bind_null(s.get(), i);
  }
}

void BindNullable(Stmt& s, int i, const Value& v) {
  if (v.kind == Value::Kind::kNull) {
    sqlite3_bind_null(s.get(), i);
  } else {
    s.Bind(i, v.ToText());
  }
}

// The cells of the current row of `s` from column `first` on.
void CellsOf(const Stmt& s, int first, std::vector<Cell>& cells) {
  for (size_t i = 0; i < cells.size(); ++i) {
    const int col = first + static_cast<int>(i);
    Cell& c = cells[i];
    c = Cell{};
    switch (sqlite3_column_type(s.get(), col)) {
      case SQLITE_INTEGER:
        c.kind = Cell::Kind::kInt;
        c.i = sqlite3_column_int64(s.get(), col);
        break;
      case SQLITE_FLOAT:
        c.kind = Cell::Kind::kReal;
        c.r = sqlite3_column_double(s.get(), col);
        break;
      case SQLITE_NULL:
        break;
      default:
        c.kind = Cell::Kind::kText;
        c.text = s.TextView(col);
    }
  }
}

// Column names come from the data set catalogue or the service's table of editable
// fields, never from a request; still, refuse anything that is not a plain identifier.
Status CheckColumn(std::string_view column) {
  if (column.empty()) return InvalidArgument("empty column name");
  for (char c : column)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return InvalidArgument(fmt::format("'{}' is not a column name", column));
  return OkStatus();
}

std::string ColumnList(std::span<const std::string> columns) {
  std::string out;
  for (const std::string& c : columns) out += (out.empty() ? "" : ", ") + c;
  return out.empty() ? "1" : out;
}

// The household's active flags (open or verified) as (rule, count), by rule.
Result<std::vector<std::pair<std::string, int>>> ActiveFlagCountsOn(sqlite3* db,
                                                                    std::string_view household_id) {
  ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db,
                                        "SELECT rule, count(*) FROM flags WHERE household_id "
                                        "= ? AND state IN ('open', 'verified') GROUP BY rule "
                                        "ORDER BY rule"));
  s.Bind(1, household_id);
  std::vector<std::pair<std::string, int>> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, s.Step(db));
    if (!row) return out;
    out.emplace_back(s.Text(0), static_cast<int>(s.Int(1)));
  }
}

// Undoes an edit: its savepoint inside a WriteTxn (`joined`; the transaction goes on), or its
// own transaction.
void RollbackEdit(sqlite3* db, bool joined) {
  if (joined) {
    Exec(db, "ROLLBACK TO edit").ok();
    Exec(db, "RELEASE edit").ok();
  } else {
    Exec(db, "ROLLBACK").ok();
  }
}

class SqliteEditTransaction final : public EditTransaction {
 public:
  // `joined`: the edit is the savepoint `edit` inside an open WriteTxn, not a
  // transaction of its own.
  SqliteEditTransaction(sqlite3* db, bool joined, std::string household_id, std::string village,
                        int64_t version, EditInfo info)
      : db_(db),
        joined_(joined),
        household_id_(std::move(household_id)),
        village_(std::move(village)),
        version_(version),
        info_(std::move(info)),
        now_(NowUtc()) {}
  ~SqliteEditTransaction() override {
    if (open_) RollbackEdit(db_, joined_);
  }

  Status Start() {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_,
                                          "INSERT INTO edits (at, user_name, role, reason, "
                                          "household_id) VALUES (?, ?, ?, ?, ?)"));
    s.Bind(1, now_);
    s.Bind(2, info_.user);
    s.Bind(3, info_.role);
    s.Bind(4, info_.reason);
    s.Bind(5, household_id_);
    RETURN_IF_ERROR(s.Run(db_));
    edit_id_ = sqlite3_last_insert_rowid(db_);
    ASSIGN_OR_RETURN(history_, Stmt::Cached(db_,
                                            "INSERT INTO history (edit_id, entity, entity_key, "
                                            "field, old_value, new_value) VALUES (?,?,?,?,?,?)"));
    return OkStatus();
  }
  void MarkOpen() { open_ = true; }

  int64_t edit_id() const override { return edit_id_; }
  int64_t version() const override { return version_; }
  const std::string& village_code() const override { return village_; }

  Status ReadHousehold(std::span<const std::string> columns,
                       const std::function<void(std::span<const Cell>)>& fn) override {
    for (const std::string& c : columns) RETURN_IF_ERROR(CheckColumn(c));
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_, fmt::format("SELECT {} FROM households WHERE "
                                                           "household_id = ?",
                                                           ColumnList(columns))));
    s.Bind(1, household_id_);
    return Deliver(s, columns.size(), fn);
  }

  Status ReadMembers(std::span<const std::string> columns,
                     const std::function<void(std::span<const Cell>)>& fn) override {
    for (const std::string& c : columns) RETURN_IF_ERROR(CheckColumn(c));
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_, fmt::format("SELECT {} FROM members WHERE "
                                                           "household_id = ? ORDER BY id_number",
                                                           ColumnList(columns))));
    s.Bind(1, household_id_);
    return Deliver(s, columns.size(), fn);
  }

  Result<bool> Set(std::string_view id_number, std::string_view column,
                   const Value& value) override {
    RETURN_IF_ERROR(CheckColumn(column));
    const bool member = !id_number.empty();
    const std::string table = member ? "members" : "households";
    const std::string where = member ? "household_id = ?1 AND id_number = ?2" : "household_id = ?1";
    ASSIGN_OR_RETURN(Stmt read, Stmt::Cached(db_, fmt::format("SELECT {} FROM {} WHERE {}", column,
                                                              table, where)));
    read.Bind(1, household_id_);
    if (member) read.Bind(2, id_number);
    ASSIGN_OR_RETURN(bool found, read.Step(db_));
    if (!found)
      return Err(
          NotFound(fmt::format("household {} has no member with this ID number", household_id_)));
    const Value old = read.ValueAt(0);
    read.Reset();
    if (old == value || (old.kind != Value::Kind::kNull && value.kind != Value::Kind::kNull &&
                         old.ToText() == value.ToText()))
      return false;
    // row_hash 0: the next import of this row compares its values instead of skipping it as
    // unchanged, so a file that differs from the edited row is written and recorded.
    ASSIGN_OR_RETURN(Stmt write,
                     Stmt::Cached(db_, fmt::format("UPDATE {} SET {} = ?3, row_hash = 0 WHERE {}",
                                                   table, column, where)));
    write.Bind(1, household_id_);
    if (member) {
      write.Bind(2, id_number);
    } else {
      sqlite3_bind_null(write.get(), 2);
    }
    write.Bind(3, value);
    RETURN_IF_ERROR(write.Run(db_));
    const std::string key = member ? fmt::format("{}/{}", household_id_, id_number) : household_id_;
    RETURN_IF_ERROR(History(member ? "member" : "household", key, column, old, value));
    return true;
  }

  Status AddVisit(std::string_view note, std::optional<double> lat,
                  std::optional<double> lon) override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_,
                                          "INSERT INTO household_visits (household_id, edit_id, "
                                          "at, user_name, note, lat, lon) VALUES (?, ?, ?, ?, "
                                          "?, ?, ?)"));
    s.Bind(1, household_id_);
    s.Bind(2, edit_id_);
    s.Bind(3, now_);
    s.Bind(4, info_.user);
    s.Bind(5, note);
    BindOptional(s, 6, lat);
    BindOptional(s, 7, lon);
    RETURN_IF_ERROR(s.Run(db_));
    std::string text(note);
    if (lat && lon) text += fmt::format("{}({:.6f}, {:.6f})", text.empty() ? "" : " ", *lat, *lon);
    return History("household", household_id_, "visit", Value::Null(), Value::Text(text));
  }

  Result<HouseholdFlagsOutcome> ReplaceFlags(std::span<const std::string> rules,
                                             std::span<const RaisedFlag> raised) override {
    HouseholdFlagsOutcome out;
    ASSIGN_OR_RETURN(Stmt run, Stmt::Cached(db_, "SELECT max(run_id) FROM rule_runs"));
    ASSIGN_OR_RETURN(bool any, run.Step(db_));
    if (!any || run.IsNull(0)) return out;
    const int64_t run_id = run.Int(0);
    run.Reset();
    const std::set<std::string, std::less<>> evaluated(rules.begin(), rules.end());
    struct Existing {
      int64_t flag_id;
      std::string state;
      bool seen = false;
    };
    std::map<std::pair<std::string, std::string>, Existing> existing;
    {
      ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_,
                                            "SELECT flag_id, rule, id_number, state FROM flags "
                                            "WHERE household_id = ?"));
      s.Bind(1, household_id_);
      for (;;) {
        ASSIGN_OR_RETURN(bool row, s.Step(db_));
        if (!row) break;
        existing[{s.Text(1), s.Text(2)}] = Existing{s.Int(0), s.Text(3)};
      }
    }
    ASSIGN_OR_RETURN(Stmt event, Stmt::Cached(db_,
                                              "INSERT INTO flag_events (flag_id, at, user_name, "
                                              "run_id, from_state, to_state, note, edit_id) "
                                              "VALUES (?, ?, ?, NULL, ?, ?, ?, ?)"));
    const std::string note = fmt::format("edit {}", edit_id_);
    auto log = [&](int64_t flag_id, std::string_view from, std::string_view to) {
      event.Reset();
      event.Bind(1, flag_id);
      event.Bind(2, now_);
      event.Bind(3, info_.user);
      event.Bind(4, from);
      event.Bind(5, to);
      event.Bind(6, note);
      event.Bind(7, edit_id_);
      return event.Run(db_);
    };
    ASSIGN_OR_RETURN(Stmt insert,
                     Stmt::Cached(db_,
                                  "INSERT INTO flags (rule, category, severity, household_id, "
                                  "id_number, village_code, state, evidence_zh, evidence_en, "
                                  "evidence_dataset, evidence_row, first_run, updated_run, "
                                  "content_hash) VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, "
                                  "?, 0)"));
    ASSIGN_OR_RETURN(Stmt update, Stmt::Cached(db_,
                                               "UPDATE flags SET state = ?, evidence_zh = ?, "
                                               "evidence_en = ?, content_hash = 0 WHERE "
                                               "flag_id = ?"));
    for (const RaisedFlag& f : raised) {
      auto it = existing.find({f.rule, f.id_number});
      if (it == existing.end()) {
        insert.Reset();
        insert.Bind(1, f.rule);
        insert.Bind(2, f.category);
        insert.Bind(3, f.severity);
        insert.Bind(4, f.household_id);
        insert.Bind(5, f.id_number);
        insert.Bind(6, f.village_code);
        insert.Bind(7, f.evidence_zh);
        insert.Bind(8, f.evidence_en);
        if (f.evidence_dataset.empty()) {
          sqlite3_bind_null(insert.get(), 9);
          sqlite3_bind_null(insert.get(), 10);
        } else {
          insert.Bind(9, f.evidence_dataset);
          insert.Bind(10, f.evidence_row);
        }
        insert.Bind(11, run_id);
        insert.Bind(12, run_id);
        RETURN_IF_ERROR(insert.Run(db_));
        const int64_t id = sqlite3_last_insert_rowid(db_);
        existing[{f.rule, f.id_number}] = Existing{id, "open", true};
        RETURN_IF_ERROR(log(id, "open", "open"));
        ++out.raised;
        continue;
      }
      Existing& e = it->second;
      if (e.seen) continue;
      e.seen = true;
      if (e.state != "closed") continue;  // holds as before: state and evidence kept
      update.Reset();
      update.Bind(1, std::string_view("open"));
      update.Bind(2, f.evidence_zh);
      update.Bind(3, f.evidence_en);
      update.Bind(4, e.flag_id);
      RETURN_IF_ERROR(update.Run(db_));
      RETURN_IF_ERROR(log(e.flag_id, "closed", "open"));
      ++out.raised;
    }
    ASSIGN_OR_RETURN(Stmt close,
                     Stmt::Cached(db_, "UPDATE flags SET state = 'closed' WHERE flag_id = ?"));
    for (auto& [key, e] : existing) {
      if (e.seen || e.state == "closed" || !evaluated.contains(key.first)) continue;
      close.Reset();
      close.Bind(1, e.flag_id);
      RETURN_IF_ERROR(close.Run(db_));
      RETURN_IF_ERROR(log(e.flag_id, e.state, "closed"));
      ++out.closed;
    }
    return out;
  }

  Result<std::vector<std::pair<std::string, int>>> ActiveFlagCounts() override {
    return ActiveFlagCountsOn(db_, household_id_);
  }

  Result<int64_t> Commit() override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_,
                                          "SELECT version FROM households WHERE "
                                          "household_id = ?"));
    s.Bind(1, household_id_);
    ASSIGN_OR_RETURN(bool row, s.Step(db_));
    if (!row) return Err(Internal("the edited household vanished inside its transaction"));
    int64_t version = s.Int(0);
    s.Reset();
    if (version == version_) {
      ASSIGN_OR_RETURN(Stmt bump, Stmt::Cached(db_,
                                               "UPDATE households SET version = version + "
                                               "1 WHERE household_id = ?"));
      bump.Bind(1, household_id_);
      RETURN_IF_ERROR(bump.Run(db_));
      ++version;
    }
    history_ = Stmt();
    RETURN_IF_ERROR(Exec(db_, joined_ ? "RELEASE edit" : "COMMIT"));
    open_ = false;
    return version;
  }

 private:
  Status Deliver(Stmt& s, size_t n, const std::function<void(std::span<const Cell>)>& fn) {
    std::vector<Cell> cells(n);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(db_));
      if (!row) return OkStatus();
      CellsOf(s, 0, cells);
      fn(cells);
    }
  }
  Status History(std::string_view entity, std::string_view key, std::string_view field,
                 const Value& old, const Value& now) {
    history_.Reset();
    history_.Bind(1, edit_id_);
    history_.Bind(2, entity);
    history_.Bind(3, key);
    history_.Bind(4, field);
    BindNullable(history_, 5, old);
    BindNullable(history_, 6, now);
    return history_.Run(db_);
  }

  sqlite3* db_;
  bool joined_;
  std::string household_id_;
  std::string village_;
  int64_t version_;
  EditInfo info_;
  std::string now_;
  int64_t edit_id_ = 0;
  bool open_ = false;
  Stmt history_;
};

class SqliteEditStore final : public EditStore {
 public:
  explicit SqliteEditStore(Connection& conn) : conn_(conn), db_(conn.db), path_(conn.path) {}

  Result<std::unique_ptr<EditTransaction>> BeginEdit(std::string_view household_id,
                                                     int64_t expected_version,
                                                     const EditInfo& info) override {
    // Inside a WriteTxn (a group of edits, service/edit_batcher.h) the edit is a savepoint
    // of it: its failure undoes it alone, and it commits with the transaction.
    const bool joined = conn_.open == Connection::Open::kWriteTxn;
    if (joined) {
      // SQLite rolls a transaction back on its own after some errors (a full disk, I/O);
      // a SAVEPOINT would then begin a transaction of its own, outside the gate and the group.
      if (sqlite3_get_autocommit(db_))
        return Err(Internal(
            "the write transaction this edit was to join has been rolled back by an earlier "
            "error; nothing of this edit was written"));
      RETURN_IF_ERROR(Exec(db_, "SAVEPOINT edit"));
    } else {
      RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE"));
    }
    auto rollback = [&](Status st) {
      RollbackEdit(db_, joined);
      return Err(std::move(st));
    };
    auto head = HeadOn(db_, household_id);
    if (!head) return rollback(head.error());
    if (!*head) return rollback(NotFound(fmt::format("no household {}", household_id)));
    if ((*head)->version != expected_version)
      return rollback(Aborted(fmt::format(
          "household {} has changed since version {} was read (now version {}): read it again",
          household_id, expected_version, (*head)->version)));
    auto tx = std::make_unique<SqliteEditTransaction>(
        db_, joined, std::string(household_id), (*head)->village_code, (*head)->version, info);
    if (Status st = tx->Start(); !st.ok()) return rollback(st);
    tx->MarkOpen();
    return std::unique_ptr<EditTransaction>(std::move(tx));
  }

  Result<std::optional<HouseholdHead>> Head(std::string_view household_id) override {
    return HeadOn(db_, household_id);
  }

  Result<std::vector<std::string>> HouseholdsEditedAfter(int64_t after) override {
    // A range of the primary key, read from `after` on (DISTINCT or ORDER BY household_id
    // would make SQLite scan the whole household index instead); distinct ones kept here.
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_,
                                          "SELECT household_id FROM edits WHERE edit_id > ? "
                                          "ORDER BY edit_id"));
    s.Bind(1, after);
    std::vector<std::string> out;
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(db_));
      if (!row) break;
      out.push_back(s.Text(0));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  Result<std::vector<std::pair<std::string, int>>> ActiveFlagCounts(
      std::string_view household_id) override {
    return ActiveFlagCountsOn(db_, household_id);
  }

  Result<int64_t> AddPhoto(std::string_view household_id, const EditInfo& info,
                           std::string_view content_type, std::string_view bytes,
                           std::string_view sha256) override {
    ASSIGN_OR_RETURN(std::optional<HouseholdHead> head, Head(household_id));
    if (!head) return Err(NotFound(fmt::format("no household {}", household_id)));
    // Photos need no version: they add, never overwrite. The edit is begun at the version
    // just read; a writer in between makes it kAborted, and the caller may try again.
    ASSIGN_OR_RETURN(std::unique_ptr<EditTransaction> tx,
                     BeginEdit(household_id, head->version, info));
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_,
                                          "INSERT INTO household_photos (household_id, edit_id, "
                                          "at, user_name, content_type, bytes, sha256) VALUES "
                                          "(?, ?, ?, ?, ?, ?, ?)"));
    s.Bind(1, household_id);
    s.Bind(2, tx->edit_id());
    s.Bind(3, NowUtc());
    s.Bind(4, info.user);
    s.Bind(5, content_type);
    sqlite3_bind_blob64(s.get(), 6, bytes.data(), bytes.size(), SQLITE_STATIC);
    s.Bind(7, sha256);
    RETURN_IF_ERROR(s.Run(db_));
    const int64_t photo_id = sqlite3_last_insert_rowid(db_);
    ASSIGN_OR_RETURN(
        Stmt h, Stmt::Cached(db_,
                             "INSERT INTO history (edit_id, entity, entity_key, field, "
                             "old_value, new_value) VALUES (?, 'household', ?, 'photo', NULL, ?)"));
    h.Bind(1, tx->edit_id());
    h.Bind(2, household_id);
    h.Bind(3, fmt::format("photo {} ({}, {} bytes, sha256 {})", photo_id, content_type,
                          bytes.size(), sha256));
    RETURN_IF_ERROR(h.Run(db_));
    h = Stmt();
    s = Stmt();
    ASSIGN_OR_RETURN(const int64_t version, tx->Commit());
    (void)version;
    return photo_id;
  }

  Result<std::optional<Photo>> GetPhoto(std::string_view household_id, int64_t photo_id) override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_,
                                          "SELECT content_type, bytes, sha256, at, user_name "
                                          "FROM household_photos WHERE photo_id = ? AND "
                                          "household_id = ?"));
    s.Bind(1, photo_id);
    s.Bind(2, household_id);
    ASSIGN_OR_RETURN(bool row, s.Step(db_));
    if (!row) return std::optional<Photo>();
    Photo p;
    p.photo_id = photo_id;
    p.content_type = s.Text(0);
    const void* blob = sqlite3_column_blob(s.get(), 1);
    p.bytes.assign(static_cast<const char*>(blob),
                   static_cast<size_t>(sqlite3_column_bytes(s.get(), 1)));
    p.sha256 = s.Text(2);
    p.at = s.Text(3);
    p.user = s.Text(4);
    p.size = static_cast<int64_t>(p.bytes.size());
    s.Reset();
    return std::optional<Photo>(std::move(p));
  }

  Result<std::vector<Photo>> ListPhotos(std::string_view household_id) override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_,
                                          "SELECT photo_id, content_type, length(bytes), sha256, "
                                          "at, user_name FROM household_photos WHERE "
                                          "household_id = ? ORDER BY photo_id"));
    s.Bind(1, household_id);
    std::vector<Photo> photos;
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(db_));
      if (!row) break;
      Photo p;
      p.photo_id = s.Int(0);
      p.content_type = s.Text(1);
      p.size = s.Int(2);
      p.sha256 = s.Text(3);
      p.at = s.Text(4);
      p.user = s.Text(5);
      photos.push_back(std::move(p));
    }
    s.Reset();
    return photos;
  }

  Status ForEachChange(int64_t after, std::string_view region_prefix, std::string_view household_id,
                       int limit, const std::function<void(const ChangeRow&)>& fn) override {
    ASSIGN_OR_RETURN(Reader reader, OpenReader(path_, 8192));
    // The household of a member row is the key's part before '/'.
    constexpr std::string_view kHousehold =
        "(CASE WHEN instr(h.entity_key, '/') > 0 THEN substr(h.entity_key, 1, "
        "instr(h.entity_key, '/') - 1) ELSE h.entity_key END)";
    std::string sql = fmt::format(R"sql(
      SELECT h.history_id, coalesce(e.at, b.started_at), h.edit_id IS NOT NULL,
             coalesce(e.user_name, b.user_name), coalesce(e.role, ''), h.entity,
             {0}, coalesce(hh.village_code, ''),
             CASE WHEN h.entity = 'member' THEN substr(h.entity_key, instr(h.entity_key, '/') + 1)
                  ELSE '' END,
             h.field, coalesce(h.old_value, ''), coalesce(h.new_value, ''),
             coalesce(e.reason, ''), coalesce(h.edit_id, 0)
      FROM history h
      LEFT JOIN edits e ON e.edit_id = h.edit_id
      LEFT JOIN import_batches b ON b.batch_id = h.batch_id
      LEFT JOIN households hh ON hh.household_id = {0}
      WHERE h.history_id > ?1
        AND substr(coalesce(hh.village_code, ''), 1, length(?2)) = ?2)sql",
                                  kHousehold);
    if (!household_id.empty())
      sql +=
          " AND ((h.entity = 'household' AND h.entity_key = ?4) OR (h.entity = 'member' AND "
          "h.entity_key > ?4 || '/' AND h.entity_key < ?4 || '0'))";
    sql += " ORDER BY h.history_id LIMIT ?3";
    ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(reader.get(), sql));
    s.Bind(1, after);
    s.Bind(2, region_prefix);
    s.Bind(3, static_cast<int64_t>(limit));
    if (!household_id.empty()) s.Bind(4, household_id);
    ChangeRow r;
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(reader.get()));
      if (!row) return OkStatus();
      r.cursor = s.Int(0);
      r.at = s.Text(1);
      r.source = s.Int(2) ? "edit" : "import";
      r.user = s.Text(3);
      r.role = s.Text(4);
      r.entity = s.Text(5);
      r.household_id = s.Text(6);
      r.village_code = s.Text(7);
      r.id_number = s.Text(8);
      r.field = s.Text(9);
      r.old_value = s.Text(10);
      r.new_value = s.Text(11);
      r.reason = s.Text(12);
      r.edit_id = s.Int(13);
      fn(r);
    }
  }

 private:
  static Result<std::optional<HouseholdHead>> HeadOn(sqlite3* db, std::string_view household_id) {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db,
                                          "SELECT village_code, version FROM households WHERE "
                                          "household_id = ?"));
    s.Bind(1, household_id);
    ASSIGN_OR_RETURN(bool row, s.Step(db));
    if (!row) return std::optional<HouseholdHead>();
    HouseholdHead h{s.Text(0), s.Int(1)};
    s.Reset();
    return std::optional<HouseholdHead>(std::move(h));
  }

  Connection& conn_;
  sqlite3* db_;
  std::filesystem::path path_;
};

}  // namespace

std::string EditsFlagsMigration() {
  return "ALTER TABLE flag_events ADD COLUMN edit_id INTEGER REFERENCES edits(edit_id);\n"
         "CREATE INDEX flag_events_decisions ON flag_events(flag_id) WHERE run_id IS NULL AND "
         "edit_id IS NULL;\n"
         "CREATE INDEX flags_by_household ON flags(household_id);\n";
}

std::unique_ptr<EditStore> MakeSqliteEditStore(Connection& conn) {
  return std::make_unique<SqliteEditStore>(conn);
}

}  // namespace fupin::store::sqlite_detail
