#include "store/sqlite/sqlite_rules.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/hash.h"
#include "store/sqlite/sqlite_util.h"

namespace fupin::store {

std::string_view FlagStateName(FlagState s) {
  switch (s) {
    case FlagState::kOpen:
      return "open";
    case FlagState::kVerified:
      return "verified";
    case FlagState::kDismissed:
      return "dismissed";
    case FlagState::kClosed:
      return "closed";
  }
  return "?";
}

std::optional<FlagState> ParseFlagState(std::string_view name) {
  for (FlagState s :
       {FlagState::kOpen, FlagState::kVerified, FlagState::kDismissed, FlagState::kClosed})
    if (FlagStateName(s) == name) return s;
  return std::nullopt;
}

namespace sqlite_detail {
namespace {

std::string_view View(sqlite3_stmt* s, int col) {
  const auto* p = sqlite3_column_text(s, col);
  return p ? std::string_view(reinterpret_cast<const char*>(p),
                              static_cast<size_t>(sqlite3_column_bytes(s, col)))
           : std::string_view();
}

std::string FlagKey(std::string_view rule, std::string_view household, std::string_view id) {
  std::string k;
  k.reserve(rule.size() + household.size() + id.size() + 2);
  k.append(rule).push_back('\x1f');
  k.append(household).push_back('\x1f');
  k.append(id);
  return k;
}

// What a flag says: a run rewrites a holding flag only when this changes.
int64_t ContentHash(const RaisedFlag& f) {
  Hasher h;
  for (std::string_view v : {std::string_view(f.category), std::string_view(f.severity),
                             std::string_view(f.village_code), std::string_view(f.evidence_zh),
                             std::string_view(f.evidence_en), std::string_view(f.evidence_dataset)})
    h.Add(v);
  h.Add(f.evidence_row);
  return static_cast<int64_t>(h.Finish());
}

class SqliteRulesStore final : public RulesStore {
 public:
  SqliteRulesStore(Connection& conn, LinkStore& links) : conn_(conn), db_(conn.db), links_(links) {}

  Status ScanColumns(const DatasetSpec& d, std::span<const std::string> columns,
                     const std::function<void(int64_t, std::span<const Cell>)>& fn) override {
    return Read(d, columns, nullptr, fn);
  }

  Status ReadHousehold(const DatasetSpec& d, std::span<const std::string> columns,
                       std::string_view household_id,
                       const std::function<void(int64_t, std::span<const Cell>)>& fn) override {
    if (d.kind != DatasetKind::kHousehold && d.kind != DatasetKind::kMember)
      return InvalidArgument(fmt::format("{} is not registry data", d.name));
    return Read(d, columns, nullptr, fn, household_id);
  }

  Status ForEachMemberName(
      std::string_view household_id,
      const std::function<void(std::string_view, std::string_view)>& fn) override {
    ASSIGN_OR_RETURN(auto guard, OpenReader());
    sqlite3* reader = guard.get();
    // Members who left are included on purpose (rules_store.h): no left_reason filter here.
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(reader, household_id.empty()
                                                      ? "SELECT household_id, name FROM members "
                                                        "WHERE name <> ''"
                                                      : "SELECT household_id, name FROM members "
                                                        "WHERE household_id = ? AND name <> ''"));
    if (!household_id.empty()) s.Bind(1, household_id);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(reader));
      if (!row) return OkStatus();
      fn(s.TextView(0), s.TextView(1));
    }
  }

  Status ForEachHistory(std::string_view household_id,
                        const std::function<void(const HistoryRow&)>& fn) override {
    ASSIGN_OR_RETURN(auto reader, OpenReader());
    ASSIGN_OR_RETURN(
        Stmt s, Stmt::Cached(reader.get(),
                             "SELECT coalesce(h.batch_id, 0), coalesce(b.started_at, e.at), "
                             "h.entity, h.entity_key, h.field, coalesce(h.old_value, ''), "
                             "coalesce(h.new_value, '') FROM history h LEFT JOIN import_batches "
                             "b ON b.batch_id = h.batch_id LEFT JOIN edits e ON e.edit_id = "
                             "h.edit_id WHERE (h.entity = "
                             "'household' AND h.entity_key = ?1) OR (h.entity = 'member' AND "
                             "h.entity_key > ?1 || '/' AND h.entity_key < ?1 || '0') ORDER BY "
                             "h.history_id"));
    s.Bind(1, household_id);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(reader.get()));
      if (!row) break;
      fn(HistoryRow{s.Int(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4), s.Text(5), s.Text(6)});
    }
    return OkStatus();
  }

  Status ReadRows(const DatasetSpec& d, std::span<const std::string> columns,
                  std::span<const int64_t> row_ids,
                  const std::function<void(int64_t, std::span<const Cell>)>& fn) override {
    if (d.kind != DatasetKind::kDepartment)
      return InvalidArgument(fmt::format("{} has no row ids", d.name));
    return Read(d, columns, &row_ids, fn);
  }

  Result<int64_t> CountRows(const DatasetSpec& d) override {
    const std::string sql =
        d.kind == DatasetKind::kDepartment
            ? fmt::format("SELECT coalesce(max(row_id), 0) FROM {}", d.table)
        : d.kind == DatasetKind::kMember
            ? fmt::format("SELECT count(*) FROM {} WHERE left_reason IS NULL", d.table)
            : fmt::format("SELECT count(*) FROM {}", d.table);
    // A connection of its own: loaders call this from several threads.
    ASSIGN_OR_RETURN(auto reader, OpenReader());
    ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(reader.get(), sql));
    ASSIGN_OR_RETURN(bool row, s.Step(reader.get()));
    const int64_t n = row ? s.Int(0) : 0;
    s.Reset();
    return n;
  }

  Status ScanLinkedRows(
      const DatasetSpec& d,
      const std::function<void(std::span<const int64_t>, std::span<const uint64_t>)>& fn) override {
    std::vector<int64_t> exact_rows;
    std::vector<uint64_t> exact_persons;
    RETURN_IF_ERROR(links_.ScanExactLinks(
        d, [&](std::span<const int64_t> rows, std::span<const uint64_t> persons) {
          exact_rows.insert(exact_rows.end(), rows.begin(), rows.end());
          exact_persons.insert(exact_persons.end(), persons.begin(), persons.end());
        }));
    // Rows of the links table override the exact blocks (a later run's answer for a row).
    ASSIGN_OR_RETURN(auto reader, OpenReader());
    ASSIGN_OR_RETURN(Stmt s,
                     Stmt::Prepare(reader.get(), fmt::format("SELECT row_id, person_id, stage "
                                                             "FROM links_{} ORDER BY row_id",
                                                             d.name)));
    std::vector<int64_t> rows;
    std::vector<uint64_t> persons;
    constexpr size_t kPiece = 65536;
    auto flush = [&](bool last) {
      if (rows.size() >= kPiece || (last && !rows.empty())) {
        fn(rows, persons);
        rows.clear();
        persons.clear();
      }
    };
    size_t e = 0;
    auto emit_exact_before = [&](int64_t row_id) {
      for (; e < exact_rows.size() && exact_rows[e] < row_id; ++e) {
        if (exact_persons[e] == 0) continue;
        rows.push_back(exact_rows[e]);
        persons.push_back(exact_persons[e]);
        flush(false);
      }
    };
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(reader.get()));
      if (!row) break;
      const int64_t row_id = s.Int(0);
      emit_exact_before(row_id);
      if (e < exact_rows.size() && exact_rows[e] == row_id) ++e;  // overridden
      const int64_t stage = s.Int(2);
      const int64_t person = s.Int(1);
      if (stage >= 1 && stage <= 3 && person != 0) {
        rows.push_back(row_id);
        persons.push_back(static_cast<uint64_t>(person));
        flush(false);
      }
    }
    emit_exact_before(INT64_MAX);
    flush(true);
    return OkStatus();
  }

  Result<RuleRunOutcome> ApplyRun(const RuleRunInfo& info, std::span<const RaisedFlag> flags,
                                  std::string_view summary_json) override {
    RETURN_IF_ERROR(conn_.BeginOwn("rule run"));
    Result<RuleRunOutcome> out = ApplyInTransaction(info, flags, summary_json);
    if (!out) {
      conn_.RollbackOwn();
      return out;
    }
    Status st = conn_.CommitOwn();
    if (!st.ok()) {
      conn_.RollbackOwn();
      return Err(st);
    }
    return out;
  }

  Status SetFlagState(std::string_view rule, std::string_view household_id,
                      std::string_view id_number, FlagState state, std::string_view note,
                      const Actor& actor) override {
    if (state == FlagState::kClosed)
      return InvalidArgument("a flag is closed by a rule run, not by hand");
    RETURN_IF_ERROR(conn_.BeginOwn("flag decision"));
    Status st = SetStateInTransaction(rule, household_id, id_number, state, note, actor);
    if (st.ok()) st = conn_.CommitOwn();
    if (!st.ok()) conn_.RollbackOwn();
    return st;
  }

  Status DecideFlags(std::span<const FlagDecision> decisions, const Actor& actor) override {
    RETURN_IF_ERROR(conn_.BeginOwn("flag decisions"));
    Status st = DecideInTransaction(decisions, actor);
    if (st.ok()) st = conn_.CommitOwn();
    if (!st.ok()) conn_.RollbackOwn();
    return st;
  }

  Result<std::optional<FlagRow>> GetFlag(int64_t flag_id) override {
    std::optional<FlagRow> found;
    RETURN_IF_ERROR(Flags(FlagFilter{}, flag_id, [&](const FlagRow& r) {
      found = r;
      return OkStatus();
    }));
    return found;
  }

  Result<std::vector<std::string>> FlagRules() override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db_, "SELECT DISTINCT rule FROM flags ORDER BY rule"));
    std::vector<std::string> rules;
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(db_));
      if (!row) break;
      rules.push_back(s.Text(0));
    }
    return rules;
  }

  Status ForEachFlag(const FlagFilter& filter,
                     const std::function<Status(const FlagRow&)>& fn) override {
    return Flags(filter, 0, fn);
  }

  // The flags `filter` selects, or only flag `flag_id` when it is not 0.
  Status Flags(const FlagFilter& filter, int64_t flag_id,
               const std::function<Status(const FlagRow&)>& fn) {
    std::string sql =
        "SELECT flag_id, rule, category, severity, household_id, id_number, village_code, "
        "evidence_zh, evidence_en, coalesce(evidence_dataset, ''), coalesce(evidence_row, 0), "
        "state, coalesce(note, ''), coalesce(decided_by, ''), coalesce(decided_at, ''), "
        "first_run, updated_run FROM flags WHERE 1 = 1";
    // A range of the village index (flags_by_village): every code starting with the prefix.
    // The upper bound is the prefix with its last digit raised (':' follows '9').
    if (!filter.region.empty()) sql += " AND village_code >= ?1 AND village_code < ?2";
    if (!filter.rule.empty()) sql += " AND rule = ?3";
    if (filter.state) sql += " AND state = ?4";
    if (!filter.category.empty()) sql += " AND category = ?5";
    if (flag_id != 0) sql += " AND flag_id = ?6";
    if (!filter.household_id.empty()) sql += " AND household_id = ?7";
    sql += " ORDER BY rule, household_id, id_number";
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(db_, sql));  // a few dozen texts at most
    if (!filter.region.empty()) {
      std::string upper = filter.region;
      ++upper.back();
      s.Bind(1, filter.region);
      s.Bind(2, upper);
    }
    if (!filter.rule.empty()) s.Bind(3, filter.rule);
    if (filter.state) s.Bind(4, FlagStateName(*filter.state));
    if (!filter.category.empty()) s.Bind(5, filter.category);
    if (flag_id != 0) s.Bind(6, flag_id);
    if (!filter.household_id.empty()) s.Bind(7, filter.household_id);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(db_));
      if (!row) break;
      FlagRow r;
      r.flag_id = s.Int(0);
      r.flag.rule = s.Text(1);
      r.flag.category = s.Text(2);
      r.flag.severity = s.Text(3);
      r.flag.household_id = s.Text(4);
      r.flag.id_number = s.Text(5);
      r.flag.village_code = s.Text(6);
      r.flag.evidence_zh = s.Text(7);
      r.flag.evidence_en = s.Text(8);
      r.flag.evidence_dataset = s.Text(9);
      r.flag.evidence_row = s.Int(10);
      r.state = ParseFlagState(View(s.get(), 11)).value_or(FlagState::kOpen);
      r.note = s.Text(12);
      r.decided_by = s.Text(13);
      r.decided_at = s.Text(14);
      r.first_run = s.Int(15);
      r.updated_run = s.Int(16);
      Status st = fn(r);
      if (!st.ok()) {
        s.Reset();
        return st;
      }
    }
    return OkStatus();
  }

 private:
  Result<ReadConn> OpenReader() { return conn_.ReadFrom(65536); }

  // Reads columns of every row (row_ids null) or of the given rows, on a connection of its own.
  Status Read(const DatasetSpec& d, std::span<const std::string> columns,
              const std::span<const int64_t>* row_ids,
              const std::function<void(int64_t, std::span<const Cell>)>& fn,
              std::optional<std::string_view> household_id = std::nullopt) {
    ASSIGN_OR_RETURN(auto guard, OpenReader());
    sqlite3* reader = guard.get();
    const bool department = d.kind == DatasetKind::kDepartment;
    std::string sql = department ? "SELECT row_id" : "SELECT 0";
    for (const std::string& c : columns) sql += ", " + c;
    sql += fmt::format(" FROM {}", d.table);
    // Members who left their household (left_reason set) stay in the table and its history
    // but are no longer part of it: no reader sees them.
    const bool members = d.kind == DatasetKind::kMember;
    if (household_id) {
      sql +=
          members ? " WHERE household_id = ? AND left_reason IS NULL" : " WHERE household_id = ?";
    } else if (members) {
      sql += " WHERE left_reason IS NULL ORDER BY household_id, id_number";  // the key's order
    } else if (row_ids) {
      sql += " WHERE row_id = ?";
    } else if (department) {
      sql += " ORDER BY row_id";
    }
    // Cached: a portrait reads a household this way from every data set, on its connection.
    ASSIGN_OR_RETURN(Stmt s, Stmt::Cached(reader, sql));
    std::vector<Cell> cells(columns.size());
    auto deliver = [&] {
      for (size_t i = 0; i < cells.size(); ++i) {
        const int col = static_cast<int>(i) + 1;
        Cell& c = cells[i];
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
            c.kind = Cell::Kind::kNull;
            break;
          default:
            c.kind = Cell::Kind::kText;
            c.text = View(s.get(), col);
            break;
        }
      }
      fn(s.Int(0), cells);
    };
    if (household_id) s.Bind(1, *household_id);
    if (!row_ids) {
      for (;;) {
        ASSIGN_OR_RETURN(bool row, s.Step(reader));
        if (!row) break;
        deliver();
      }
      return OkStatus();
    }
    for (int64_t id : *row_ids) {
      s.Reset();
      s.Bind(1, id);
      ASSIGN_OR_RETURN(bool row, s.Step(reader));
      if (!row) continue;
      deliver();
      s.Reset();
    }
    return OkStatus();
  }

  Result<RuleRunOutcome> ApplyInTransaction(const RuleRunInfo& info,
                                            std::span<const RaisedFlag> flags,
                                            std::string_view summary_json) {
    RuleRunOutcome out;
    const std::string now = NowUtc();
    const std::string& user = info.actor.user;
    const std::string_view role = RoleName(info.actor.role);
    {
      ASSIGN_OR_RETURN(Stmt ins, Stmt::Prepare(db_,
                                               "INSERT INTO rule_runs (started_at, finished_at, "
                                               "user_name, rules_source, rules_sha256, summary, "
                                               "role) VALUES (?, ?, ?, ?, ?, ?, ?)"));
      ins.Bind(7, role);
      ins.Bind(1, now);
      ins.Bind(2, now);
      ins.Bind(3, user);
      ins.Bind(4, info.rules_source);
      ins.Bind(5, info.rules_sha256);
      ins.Bind(6, summary_json);
      RETURN_IF_ERROR(ins.Run(db_));
      out.run_id = sqlite3_last_insert_rowid(db_);
    }
    // The flags there are: key -> (flag_id, state, seen).
    struct Existing {
      int64_t flag_id;
      FlagState state;
      bool seen;
      int64_t hash;
    };
    std::unordered_map<std::string, Existing> existing;
    {
      ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db_,
                                             "SELECT flag_id, rule, household_id, id_number, "
                                             "state, content_hash FROM flags"));
      for (;;) {
        ASSIGN_OR_RETURN(bool row, s.Step(db_));
        if (!row) break;
        existing.emplace(
            FlagKey(View(s.get(), 1), View(s.get(), 2), View(s.get(), 3)),
            Existing{s.Int(0), ParseFlagState(View(s.get(), 4)).value_or(FlagState::kOpen), false,
                     s.Int(5)});
      }
    }
    ASSIGN_OR_RETURN(Stmt insert,
                     Stmt::Prepare(db_,
                                   "INSERT INTO flags (rule, category, severity, household_id, "
                                   "id_number, village_code, state, evidence_zh, evidence_en, "
                                   "evidence_dataset, evidence_row, first_run, updated_run, "
                                   "content_hash) VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, "
                                   "?, ?)"));
    ASSIGN_OR_RETURN(Stmt update,
                     Stmt::Prepare(db_,
                                   "UPDATE flags SET category = ?, severity = ?, "
                                   "village_code = ?, evidence_zh = ?, evidence_en "
                                   "= ?, evidence_dataset = ?, evidence_row = ?, "
                                   "updated_run = ?, state = ?, content_hash = ? WHERE "
                                   "flag_id = ?"));
    ASSIGN_OR_RETURN(Stmt event, Stmt::Prepare(db_,
                                               "INSERT INTO flag_events (flag_id, at, user_name, "
                                               "run_id, from_state, to_state, note, role) VALUES "
                                               "(?, ?, ?, ?, ?, ?, ?, ?)"));
    auto log = [&](int64_t flag_id, FlagState from, FlagState to, std::string_view note) {
      event.Reset();
      event.Bind(8, role);
      event.Bind(1, flag_id);
      event.Bind(2, now);
      event.Bind(3, user);
      event.Bind(4, out.run_id);
      event.Bind(5, FlagStateName(from));
      event.Bind(6, FlagStateName(to));
      event.Bind(7, note);
      return event.Run(db_);
    };
    auto bind_dataset = [](Stmt& s, int i, const RaisedFlag& f) {
      if (f.evidence_dataset.empty()) {
        sqlite3_bind_null(s.get(), i);
        sqlite3_bind_null(s.get(), i + 1);
      } else {
        s.Bind(i, f.evidence_dataset);
        s.Bind(i + 1, f.evidence_row);
      }
    };
    for (const RaisedFlag& f : flags) {
      auto it = existing.find(FlagKey(f.rule, f.household_id, f.id_number));
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
        bind_dataset(insert, 9, f);
        insert.Bind(11, out.run_id);
        insert.Bind(12, out.run_id);
        insert.Bind(13, ContentHash(f));
        RETURN_IF_ERROR(insert.Run(db_));
        ++out.opened;
        existing.emplace(FlagKey(f.rule, f.household_id, f.id_number),
                         Existing{sqlite3_last_insert_rowid(db_), FlagState::kOpen, true, 0});
        continue;
      }
      Existing& e = it->second;
      if (e.seen) continue;  // raised twice in one run: the first evidence stands
      e.seen = true;
      const int64_t hash = ContentHash(f);
      if (hash == e.hash && e.state != FlagState::kClosed) {
        ++out.kept;  // holds as before: nothing to write
        continue;
      }
      const FlagState state = e.state == FlagState::kClosed ? FlagState::kOpen : e.state;
      update.Reset();
      update.Bind(1, f.category);
      update.Bind(2, f.severity);
      update.Bind(3, f.village_code);
      update.Bind(4, f.evidence_zh);
      update.Bind(5, f.evidence_en);
      bind_dataset(update, 6, f);
      update.Bind(8, out.run_id);
      update.Bind(9, FlagStateName(state));
      update.Bind(10, hash);
      update.Bind(11, e.flag_id);
      RETURN_IF_ERROR(update.Run(db_));
      if (e.state == FlagState::kClosed) {
        ++out.reopened;
        RETURN_IF_ERROR(log(e.flag_id, FlagState::kClosed, FlagState::kOpen, "holds again"));
      } else {
        ++out.kept;
      }
    }
    ASSIGN_OR_RETURN(Stmt close,
                     Stmt::Prepare(db_, "UPDATE flags SET state = 'closed' WHERE flag_id = ?"));
    std::unordered_set<std::string_view> evaluated(info.rules.begin(), info.rules.end());
    for (auto& [key, e] : existing) {
      if (e.seen || e.state == FlagState::kClosed) continue;
      if (!evaluated.empty() && !evaluated.count(std::string_view(key).substr(0, key.find('\x1f'))))
        continue;  // a rule this run did not evaluate
      close.Reset();
      close.Bind(1, e.flag_id);
      RETURN_IF_ERROR(close.Run(db_));
      RETURN_IF_ERROR(log(e.flag_id, e.state, FlagState::kClosed, "no longer holds"));
      ++out.closed;
    }
    return out;
  }

  Status SetStateInTransaction(std::string_view rule, std::string_view household_id,
                               std::string_view id_number, FlagState state, std::string_view note,
                               const Actor& actor) {
    ASSIGN_OR_RETURN(Stmt find, Stmt::Prepare(db_,
                                              "SELECT flag_id FROM flags WHERE rule = ? "
                                              "AND household_id = ? AND id_number = ?"));
    find.Bind(1, rule);
    find.Bind(2, household_id);
    find.Bind(3, id_number);
    ASSIGN_OR_RETURN(bool row, find.Step(db_));
    if (!row)
      return NotFound(fmt::format("no flag {} for household {}{}{}", rule, household_id,
                                  id_number.empty() ? "" : " and ID ", id_number));
    const FlagDecision d{find.Int(0), state, std::string(note)};
    find.Reset();
    return DecideInTransaction(std::span(&d, 1), actor);
  }

  // Each decision by flag_id; the caller holds the transaction.
  Status DecideInTransaction(std::span<const FlagDecision> decisions, const Actor& actor) {
    const std::string& user = actor.user;
    const std::string_view role = RoleName(actor.role);
    const std::string now = NowUtc();
    ASSIGN_OR_RETURN(Stmt find, Stmt::Prepare(db_,
                                              "SELECT rule, household_id, state FROM flags WHERE "
                                              "flag_id = ?"));
    ASSIGN_OR_RETURN(Stmt update, Stmt::Prepare(db_,
                                                "UPDATE flags SET state = ?, note = ?, "
                                                "decided_by = ?, decided_at = ?, decided_role = ? "
                                                "WHERE flag_id = ?"));
    ASSIGN_OR_RETURN(Stmt event, Stmt::Prepare(db_,
                                               "INSERT INTO flag_events (flag_id, at, user_name, "
                                               "run_id, from_state, to_state, note, role) VALUES "
                                               "(?, ?, ?, NULL, ?, ?, ?, ?)"));
    for (const FlagDecision& d : decisions) {
      if (d.state == FlagState::kClosed)
        return InvalidArgument("a flag is closed by a rule run, not by hand");
      find.Reset();
      find.Bind(1, d.flag_id);
      ASSIGN_OR_RETURN(bool row, find.Step(db_));
      if (!row) return NotFound(fmt::format("no flag with id {}", d.flag_id));
      const std::string rule = find.Text(0), household = find.Text(1);
      const FlagState from = ParseFlagState(View(find.get(), 2)).value_or(FlagState::kOpen);
      find.Reset();
      if (from == FlagState::kClosed)
        return FailedPrecondition(
            fmt::format("flag {} ({} of household {}) is closed: it no longer holds", d.flag_id,
                        rule, household));
      update.Reset();
      update.Bind(1, FlagStateName(d.state));
      update.Bind(2, d.note);
      update.Bind(3, user);
      update.Bind(4, now);
      update.Bind(5, role);
      update.Bind(6, d.flag_id);
      RETURN_IF_ERROR(update.Run(db_));
      event.Reset();
      event.Bind(1, d.flag_id);
      event.Bind(2, now);
      event.Bind(3, user);
      event.Bind(4, FlagStateName(from));
      event.Bind(5, FlagStateName(d.state));
      event.Bind(6, d.note);
      event.Bind(7, role);
      RETURN_IF_ERROR(event.Run(db_));
    }
    return OkStatus();
  }

  Connection& conn_;
  sqlite3* db_;
  LinkStore& links_;
};

}  // namespace

std::string RulesMigration() {
  return R"sql(
CREATE TABLE rule_runs (
  run_id INTEGER PRIMARY KEY,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  user_name TEXT NOT NULL,
  rules_source TEXT NOT NULL,
  rules_sha256 TEXT NOT NULL,
  summary TEXT
);
CREATE TABLE flags (
  flag_id INTEGER PRIMARY KEY,
  rule TEXT NOT NULL,
  category TEXT NOT NULL,
  severity TEXT NOT NULL,
  household_id TEXT NOT NULL,
  id_number TEXT NOT NULL,
  village_code TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('open', 'verified', 'dismissed', 'closed')),
  evidence_zh TEXT NOT NULL,
  evidence_en TEXT NOT NULL,
  evidence_dataset TEXT,
  evidence_row INTEGER,
  first_run INTEGER NOT NULL REFERENCES rule_runs(run_id),
  updated_run INTEGER NOT NULL REFERENCES rule_runs(run_id),
  content_hash INTEGER NOT NULL,
  note TEXT,
  decided_by TEXT,
  decided_at TEXT,
  UNIQUE (rule, household_id, id_number)
);
CREATE INDEX flags_by_village ON flags(village_code);
CREATE TABLE flag_events (
  flag_id INTEGER NOT NULL REFERENCES flags(flag_id),
  at TEXT NOT NULL,
  user_name TEXT NOT NULL,
  run_id INTEGER REFERENCES rule_runs(run_id),
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  note TEXT
);
CREATE INDEX flag_events_by_flag ON flag_events(flag_id);
)sql";
}

std::string RulesRoleMigration() {
  return "ALTER TABLE rule_runs ADD COLUMN role TEXT;\n"
         "ALTER TABLE flag_events ADD COLUMN role TEXT;\n"
         "ALTER TABLE flags ADD COLUMN decided_role TEXT;\n";
}

std::unique_ptr<RulesStore> MakeSqliteRulesStore(Connection& conn, LinkStore& links) {
  return std::make_unique<SqliteRulesStore>(conn, links);
}

}  // namespace sqlite_detail
}  // namespace fupin::store
