#include "store/sqlite/sqlite_links.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <utility>

#include "core/region_code.h"
#include "store/sqlite/sqlite_blocks.h"
#include "store/sqlite/sqlite_util.h"

namespace fupin::store {

std::string_view LinkStageName(LinkStage stage) {
  switch (stage) {
    case LinkStage::kExact:
      return "exact";
    case LinkStage::kRepaired:
      return "repaired";
    case LinkStage::kProbabilistic:
      return "probabilistic";
    case LinkStage::kReview:
      return "review";
    case LinkStage::kAccepted:
      return "accepted";
    case LinkStage::kUnlinked:
      break;
  }
  return "unlinked";
}

namespace sqlite_detail {
namespace {

std::string LinksTable(const DatasetSpec& d) { return fmt::format("links_{}", d.name); }

// Review decisions, one per (row, person) pair decided. Created on the first decision (a
// store without one has no decisions), so that stores made before it need no migration.
// A decision holds for the department row as it was decided (`row_hash`): once a re-import
// changes that row, or removes it and SQLite gives its row_id to a new row, the decision no
// longer applies and the row is linked afresh.
constexpr std::string_view kReviewTableSql = R"sql(
CREATE TABLE IF NOT EXISTS link_review_decisions (
  dataset TEXT NOT NULL,
  row_id INTEGER NOT NULL,
  row_hash INTEGER NOT NULL,
  person_id INTEGER NOT NULL,
  decision TEXT NOT NULL CHECK (decision IN ('accepted', 'rejected')),
  weight REAL NOT NULL,
  probability REAL NOT NULL,
  levels INTEGER NOT NULL,
  user_name TEXT NOT NULL,
  decided_at TEXT NOT NULL,
  note TEXT,
  PRIMARY KEY (dataset, row_id, person_id)
) WITHOUT ROWID)sql";

std::string_view ColumnView(sqlite3_stmt* s, int col) {
  const auto* p = sqlite3_column_text(s, col);
  return p ? std::string_view(reinterpret_cast<const char*>(p),
                              static_cast<size_t>(sqlite3_column_bytes(s, col)))
           : std::string_view();
}

// A department row's identity columns from a statement selecting row_id, source_row,
// id_number, id_number_problem, name, birth_date, region_code, sex.
DeptIdentity RowIdentity(const Stmt& s) {
  DeptIdentity r;
  r.row_id = s.Int(0);
  r.source_row = s.Int(1);
  r.id_number = ColumnView(s.get(), 2);
  r.id_problem = s.IsNull(3) ? -1 : static_cast<int>(s.Int(3));
  if (r.id_number.empty()) r.id_problem = -1;
  r.name = ColumnView(s.get(), 4);
  r.birth_date = ColumnView(s.get(), 5);
  r.region_code = ColumnView(s.get(), 6);
  r.sex = static_cast<int>(s.Int(7));
  return r;
}

class SqliteLinkStore final : public LinkStore {
 public:
  explicit SqliteLinkStore(Connection& conn) : conn_(conn), db_(conn.db) {}
  ~SqliteLinkStore() override {
    if (run_id_) AbortRun();
  }

  Result<ReadConn> OpenReader() { return conn_.ReadFrom(16384); }

  Status ScanHouseholds(
      const std::function<void(std::string_view, std::string_view)>& fn) override {
    ASSIGN_OR_RETURN(auto reader, OpenReader());
    ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(reader.get(),
                                           "SELECT household_id, village_code FROM households "
                                           "ORDER BY household_id"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(reader.get()));
      if (!row) break;
      fn(ColumnView(s.get(), 0), ColumnView(s.get(), 1));
    }
    return OkStatus();
  }

  Status ScanMembers(const std::function<void(const RegistryMember&)>& fn) override {
    ASSIGN_OR_RETURN(auto reader, OpenReader());
    ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(reader.get(),
                                           "SELECT id_number, name, birth_date, household_id, "
                                           "sex FROM members WHERE left_reason IS NULL ORDER BY "
                                           "household_id"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(reader.get()));
      if (!row) break;
      RegistryMember m;
      m.id_number = ColumnView(s.get(), 0);
      m.name = ColumnView(s.get(), 1);
      m.birth_date = ColumnView(s.get(), 2);
      m.household_id = ColumnView(s.get(), 3);
      m.sex = static_cast<int>(s.Int(4));
      fn(m);
    }
    return OkStatus();
  }

  Result<int64_t> RegistrySizeHint() override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db_,
                                           "SELECT coalesce(max(rows_imported), 0) FROM "
                                           "batch_files WHERE dataset = 'members'"));
    ASSIGN_OR_RETURN(bool row, s.Step(db_));
    int64_t n = row ? s.Int(0) : 0;
    s.Reset();
    return n;
  }

  Status ScanDepartment(const DatasetSpec& d, const DeptScope& scope,
                        const std::function<void(const DeptIdentity&)>& fn) override {
    ASSIGN_OR_RETURN(auto connection, OpenReader());
    sqlite3* reader = connection.get();
    std::string sql = fmt::format(
        "SELECT row_id, source_row, id_number, id_number_problem, name, birth_date, "
        "region_code, sex FROM {}",
        d.table);
    if (scope.after_file_id > 0)
      sql += fmt::format(
          " WHERE added_file_id > {0} OR row_id IN (SELECT c.row_id FROM dept_changes c JOIN "
          "batch_files f ON f.file_id = c.file_id WHERE c.file_id > {0} AND c.change = "
          "'changed' AND f.dataset = '{1}')",
          scope.after_file_id, d.name);
    ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(reader, sql));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(reader));
      if (!row) break;
      fn(RowIdentity(s));
    }
    return OkStatus();
  }

  Result<bool> ScanIdentity(const DatasetSpec& d, int64_t file_id,
                            const std::function<void(const IdentityBlock&)>& fn) override {
    ASSIGN_OR_RETURN(auto reader, OpenReader());
    ASSIGN_OR_RETURN(Stmt check, Stmt::Prepare(reader.get(),
                                               "SELECT count(*), min(file_id), max(file_id) FROM "
                                               "dept_identity WHERE dataset = ?"));
    check.Bind(1, d.name);
    ASSIGN_OR_RETURN(bool row, check.Step(reader.get()));
    if (!row || check.Int(0) == 0 || check.Int(1) != file_id || check.Int(2) != file_id)
      return false;
    check.Reset();
    ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(reader.get(),
                                           "SELECT data FROM dept_identity WHERE dataset = ? "
                                           "ORDER BY block"));
    s.Bind(1, d.name);
    for (;;) {
      ASSIGN_OR_RETURN(bool more, s.Step(reader.get()));
      if (!more) break;
      // Read in place: the BLOB stays valid until the next step. SQLite hands BLOBs out
      // 8-byte aligned, as the arrays need.
      const void* data = sqlite3_column_blob(s.get(), 0);
      auto size = static_cast<size_t>(sqlite3_column_bytes(s.get(), 0));
      uint32_t n = 0;
      if (size >= kBlockHeader) std::memcpy(&n, data, 4);
      if (size < kBlockHeader || size != kBlockHeader + n * 17ull)
        return Err(DataLoss(fmt::format("dept_identity of {}: a block is damaged", d.name)));
      const char* p = static_cast<const char*>(data) + kBlockHeader;
      if (reinterpret_cast<uintptr_t>(p) % alignof(int64_t) != 0) {
        DecodedBlock block;  // not aligned after all: copy
        DecodeBlock(data, size, true, block);
        fn({block.rows, block.values, block.problems});
        continue;
      }
      fn({{reinterpret_cast<const int64_t*>(p), n},
          {reinterpret_cast<const uint64_t*>(p + n * 8ull), n},
          {reinterpret_cast<const int8_t*>(p + n * 16ull), n}});
    }
    return true;
  }

  Status ScanDepartmentRows(const DatasetSpec& d, std::span<const int64_t> row_ids,
                            const std::function<void(const DeptIdentity&)>& fn) override {
    ASSIGN_OR_RETURN(auto reader, OpenReader());
    ASSIGN_OR_RETURN(
        Stmt s, Stmt::Prepare(reader.get(), fmt::format("SELECT row_id, source_row, id_number, "
                                                        "id_number_problem, name, birth_date, "
                                                        "region_code, sex FROM {} WHERE row_id = ?",
                                                        d.table)));
    for (int64_t id : row_ids) {
      s.Reset();
      s.Bind(1, id);
      ASSIGN_OR_RETURN(bool row, s.Step(reader.get()));
      if (!row) continue;
      fn(RowIdentity(s));
    }
    return OkStatus();
  }

  Status ScanExactLinks(
      const DatasetSpec& d,
      const std::function<void(std::span<const int64_t>, std::span<const uint64_t>)>& fn) override {
    // Its own connection, like every scan: the linker calls this from worker threads while
    // the run's connection writes. It sees the last committed run's links.
    ASSIGN_OR_RETURN(auto reader, OpenReader());
    ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(reader.get(),
                                           "SELECT data FROM link_exact WHERE dataset = ? ORDER "
                                           "BY block"));
    s.Bind(1, d.name);
    DecodedBlock block;
    for (;;) {
      ASSIGN_OR_RETURN(bool more, s.Step(reader.get()));
      if (!more) break;
      if (!DecodeBlock(sqlite3_column_blob(s.get(), 0),
                       static_cast<size_t>(sqlite3_column_bytes(s.get(), 0)), false, block))
        return Err(DataLoss(fmt::format("link_exact of {}: a block is damaged", d.name)));
      fn(block.rows, block.values);
    }
    return OkStatus();
  }

  Status ReplaceExactLinks(const DatasetSpec& d, std::span<const int64_t> rows,
                           std::span<const uint64_t> persons) override {
    RETURN_IF_ERROR(RequireRun());
    // Encoded now (the blocks are far smaller than the arrays), written at CommitRun.
    Staged op{.kind = Staged::Kind::kExact, .dataset = FindDataset(d)};
    for (size_t start = 0; start < rows.size(); start += kBlockRows) {
      size_t n = std::min(kBlockRows, rows.size() - start);
      op.blocks.push_back(EncodeBlock(rows.subspan(start, n), persons.subspan(start, n)));
    }
    staged_.push_back(std::move(op));
    return OkStatus();
  }

  Status WriteExactLinks(const DatasetSpec& d, std::span<const std::string> blocks) {
    ASSIGN_OR_RETURN(Stmt del, Stmt::Prepare(db_, "DELETE FROM link_exact WHERE dataset = ?"));
    del.Bind(1, d.name);
    RETURN_IF_ERROR(del.Run(db_));
    ASSIGN_OR_RETURN(Stmt ins, Stmt::Prepare(db_,
                                             "INSERT INTO link_exact (dataset, block, run_id, "
                                             "data) VALUES (?, ?, ?, ?)"));
    for (size_t block = 0; block < blocks.size(); ++block) {
      const std::string& blob = blocks[block];
      ins.Reset();
      ins.Bind(1, d.name);
      ins.Bind(2, static_cast<int64_t>(block));
      ins.Bind(3, run_id_);
      sqlite3_bind_blob64(ins.get(), 4, blob.data(), blob.size(), SQLITE_STATIC);
      RETURN_IF_ERROR(ins.Run(db_));
    }
    return OkStatus();
  }

  Result<std::vector<int64_t>> GoneRows(const DatasetSpec& d, int64_t after_file_id) override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db_,
                                           "SELECT c.row_id FROM dept_changes c JOIN batch_files f "
                                           "ON f.file_id = c.file_id WHERE f.dataset = ? AND "
                                           "c.file_id > ? AND c.change = 'gone'"));
    s.Bind(1, d.name);
    s.Bind(2, after_file_id);
    std::vector<int64_t> out;
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(db_));
      if (!row) break;
      out.push_back(s.Int(0));
    }
    return out;
  }

  Result<int64_t> CurrentFileId(std::string_view dataset) override {
    ASSIGN_OR_RETURN(Stmt s,
                     Stmt::Prepare(db_, "SELECT file_id FROM dataset_state WHERE dataset = ?"));
    s.Bind(1, dataset);
    ASSIGN_OR_RETURN(bool row, s.Step(db_));
    int64_t id = row ? s.Int(0) : 0;
    s.Reset();
    return id;
  }

  Result<std::optional<LastLinkRun>> LastRun() override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db_,
                                           "SELECT run_id, registry_file_id, coalesce(params, '') "
                                           "FROM link_runs WHERE finished_at IS NOT NULL "
                                           "ORDER BY run_id DESC LIMIT 1"));
    ASSIGN_OR_RETURN(bool row, s.Step(db_));
    if (!row) return std::optional<LastLinkRun>();
    LastLinkRun last;
    last.run_id = s.Int(0);
    last.registry_file_id = s.Int(1);
    last.params_json = s.Text(2);
    s.Reset();
    ASSIGN_OR_RETURN(
        Stmt f, Stmt::Prepare(db_, "SELECT dataset, file_id FROM link_run_files WHERE run_id = ?"));
    f.Bind(1, last.run_id);
    for (;;) {
      ASSIGN_OR_RETURN(bool r, f.Step(db_));
      if (!r) break;
      last.dataset_files.emplace_back(f.Text(0), f.Int(1));
    }
    return std::optional<LastLinkRun>(std::move(last));
  }

  Result<int64_t> BeginRun(const LinkRunInfo& info) override {
    if (run_id_) return Err(FailedPrecondition("a link run is already open"));
    RETURN_IF_ERROR(conn_.RequireNothingOpen("link run"));
    // No transaction yet: the run's writes are staged in memory and published by CommitRun
    // in one short transaction, so that the run never holds the write lock while it computes.
    ASSIGN_OR_RETURN(base_run_, LatestRunId());
    run_id_ = base_run_ + 1;
    run_info_ = info;
    started_at_ = NowUtc();
    conn_.open = Connection::Open::kLinkRun;
    return run_id_;
  }

  Result<int64_t> LatestRunId() {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db_, "SELECT coalesce(max(run_id), 0) FROM link_runs"));
    ASSIGN_OR_RETURN(bool row, s.Step(db_));
    return row ? s.Int(0) : 0;
  }

  Status ClearLinks(const DatasetSpec& d) override {
    RETURN_IF_ERROR(RequireRun());
    staged_.push_back({.kind = Staged::Kind::kClear, .dataset = FindDataset(d)});
    return OkStatus();
  }

  Status WriteClear(const DatasetSpec& d) {
    RETURN_IF_ERROR(Exec(db_, fmt::format("DELETE FROM {}", LinksTable(d))));
    ASSIGN_OR_RETURN(Stmt del, Stmt::Prepare(db_, "DELETE FROM link_exact WHERE dataset = ?"));
    del.Bind(1, d.name);
    return del.Run(db_);
  }

  Status PutLinks(const DatasetSpec& d, std::span<const LinkRecord> links) override {
    RETURN_IF_ERROR(RequireRun());
    if (links.empty()) return OkStatus();
    const DatasetSpec* dataset = FindDataset(d);
    if (staged_.empty() || staged_.back().kind != Staged::Kind::kPut ||
        staged_.back().dataset != dataset)
      staged_.push_back({.kind = Staged::Kind::kPut, .dataset = dataset});
    staged_.back().links.insert(staged_.back().links.end(), links.begin(), links.end());
    return OkStatus();
  }

  Status WriteLinks(const DatasetSpec& d, std::span<const LinkRecord> links) {
    Prepared& p = PreparedFor(d);
    if (!p.put.get()) {
      ASSIGN_OR_RETURN(p.put, Stmt::Prepare(db_, fmt::format("INSERT OR REPLACE INTO {} (row_id, "
                                                             "person_id, stage, weight, "
                                                             "probability, levels, run_id) "
                                                             "VALUES (?,?,?,?,?,?,?)",
                                                             LinksTable(d))));
      ASSIGN_OR_RETURN(p.remove, Stmt::Prepare(db_, fmt::format("DELETE FROM {} WHERE row_id = ?",
                                                                LinksTable(d))));
    }
    for (const LinkRecord& l : links) {
      if (l.stage == LinkStage::kUnlinked) {
        p.remove.Reset();
        p.remove.Bind(1, l.row_id);
        RETURN_IF_ERROR(p.remove.Run(db_));
        continue;
      }
      Stmt& s = p.put;
      s.Reset();
      s.Bind(1, l.row_id);
      s.Bind(2, l.person_id);
      s.Bind(3, static_cast<int64_t>(l.stage));
      if (l.stage == LinkStage::kExact) {
        sqlite3_bind_null(s.get(), 4);
        sqlite3_bind_null(s.get(), 5);
        sqlite3_bind_null(s.get(), 6);
      } else {
        sqlite3_bind_double(s.get(), 4, l.weight);
        sqlite3_bind_double(s.get(), 5, l.probability);
        s.Bind(6, static_cast<int64_t>(l.levels));
      }
      s.Bind(7, run_id_);
      RETURN_IF_ERROR(s.Run(db_));
    }
    return OkStatus();
  }

  Status RemoveLinks(const DatasetSpec& d, std::span<const int64_t> row_ids) override {
    std::vector<LinkRecord> gone;
    gone.reserve(row_ids.size());
    for (int64_t id : row_ids) gone.push_back({.row_id = id});
    return PutLinks(d, gone);
  }

  Status ReplaceFindings(std::span<const LinkFinding> findings) override {
    RETURN_IF_ERROR(RequireRun());
    staged_.push_back({.kind = Staged::Kind::kFindings,
                       .findings = std::vector<LinkFinding>(findings.begin(), findings.end())});
    return OkStatus();
  }

  Status WriteFindings(std::span<const LinkFinding> findings) {
    RETURN_IF_ERROR(Exec(db_, "DELETE FROM link_findings"));
    ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db_,
                                           "INSERT INTO link_findings (run_id, kind, id_number, "
                                           "household_id, other_id_number, other_household_id, "
                                           "detail) VALUES (?,?,?,?,?,?,?)"));
    for (const LinkFinding& f : findings) {
      s.Reset();
      s.Bind(1, run_id_);
      s.Bind(2, f.kind);
      s.Bind(3, f.id_number);
      s.Bind(4, f.household_id);
      s.Bind(5, f.other_id_number);
      s.Bind(6, f.other_household_id);
      s.Bind(7, f.detail);
      RETURN_IF_ERROR(s.Run(db_));
    }
    return OkStatus();
  }

  // Publishes the staged run in one transaction: the run's record, then every staged write in
  // the order the linker made it.
  Status CommitRun(const LastLinkRun& seen, std::string_view summary_json) override {
    RETURN_IF_ERROR(RequireRun());
    if (Status st = Exec(db_, "BEGIN IMMEDIATE"); !st.ok()) {
      AbortRun();
      return st;
    }
    Status st = [&]() -> Status {
      ASSIGN_OR_RETURN(int64_t latest, LatestRunId());
      if (latest != base_run_)
        return Aborted(
            "another link run was published while this one ran; run fupin link again / "
            "本次关联运行期间已有另一次关联结果发布，请重新运行 fupin link");
      ASSIGN_OR_RETURN(Stmt run, Stmt::Prepare(db_,
                                               "INSERT INTO link_runs (run_id, started_at, "
                                               "user_name, role, full) VALUES (?, ?, ?, ?, ?)"));
      run.Bind(1, run_id_);
      run.Bind(2, started_at_);
      run.Bind(3, run_info_.actor.user);
      run.Bind(4, RoleName(run_info_.actor.role));
      run.Bind(5, run_info_.full ? 1 : 0);
      RETURN_IF_ERROR(run.Run(db_));
      for (const Staged& op : staged_) {
        if (op.kind != Staged::Kind::kFindings && !op.dataset)
          return InvalidArgument("a link run wrote links of a data set not in the catalogue");
        switch (op.kind) {
          case Staged::Kind::kClear:
            RETURN_IF_ERROR(WriteClear(*op.dataset));
            break;
          case Staged::Kind::kPut:
            RETURN_IF_ERROR(WriteLinks(*op.dataset, op.links));
            break;
          case Staged::Kind::kExact:
            RETURN_IF_ERROR(WriteExactLinks(*op.dataset, op.blocks));
            break;
          case Staged::Kind::kFindings:
            RETURN_IF_ERROR(WriteFindings(op.findings));
            break;
        }
      }
      ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db_,
                                             "UPDATE link_runs SET finished_at = ?, "
                                             "registry_file_id = ?, params = ?, summary = ? "
                                             "WHERE run_id = ?"));
      s.Bind(1, NowUtc());
      s.Bind(2, seen.registry_file_id);
      s.Bind(3, seen.params_json);
      s.Bind(4, summary_json);
      s.Bind(5, run_id_);
      RETURN_IF_ERROR(s.Run(db_));
      ASSIGN_OR_RETURN(Stmt f, Stmt::Prepare(db_,
                                             "INSERT INTO link_run_files (run_id, dataset, "
                                             "file_id) VALUES (?, ?, ?)"));
      for (const auto& [dataset, file_id] : seen.dataset_files) {
        f.Reset();
        f.Bind(1, run_id_);
        f.Bind(2, dataset);
        f.Bind(3, file_id);
        RETURN_IF_ERROR(f.Run(db_));
      }
      return Exec(db_, "COMMIT");
    }();
    if (!st.ok()) {
      AbortRun();
      return st;
    }
    run_id_ = 0;
    conn_.open = Connection::Open::kNothing;
    prepared_.clear();
    staged_.clear();
    return OkStatus();
  }

  void AbortRun() override {
    prepared_.clear();
    staged_.clear();
    if (!sqlite3_get_autocommit(db_)) Exec(db_, "ROLLBACK").ok();
    if (run_id_) conn_.open = Connection::Open::kNothing;
    run_id_ = 0;
  }

  Status ForEachReview(std::string_view dataset, int64_t source_row,
                       const std::function<Status(const ReviewCandidate&)>& fn) override {
    for (const DatasetSpec& d : AllDatasets()) {
      if (d.kind != DatasetKind::kDepartment || (!dataset.empty() && d.name != dataset)) continue;
      ASSIGN_OR_RETURN(
          Stmt s,
          Stmt::Prepare(db_, fmt::format("SELECT l.row_id, d.source_row, l.person_id, l.weight, "
                                         "l.probability, l.levels FROM {} l JOIN {} d ON "
                                         "d.row_id = l.row_id WHERE l.stage = 4{} ORDER BY "
                                         "d.source_row, l.row_id",
                                         LinksTable(d), d.table,
                                         source_row > 0 ? " AND d.source_row = ?" : "")));
      if (source_row > 0) s.Bind(1, source_row);
      for (;;) {
        ASSIGN_OR_RETURN(bool row, s.Step(db_));
        if (!row) break;
        ReviewCandidate c{std::string(d.name),
                          s.Int(0),
                          s.Int(1),
                          s.Int(2),
                          sqlite3_column_double(s.get(), 3),
                          sqlite3_column_double(s.get(), 4),
                          static_cast<uint32_t>(s.Int(5))};
        if (Status st = fn(c); !st.ok()) {
          s.Reset();
          return st;
        }
      }
    }
    return OkStatus();
  }

  Status DecideReview(const DatasetSpec& d, int64_t row_id, int64_t person_id, bool accept,
                      const Actor& actor, std::string_view note) override {
    if (run_id_) return FailedPrecondition("a link run is open");
    RETURN_IF_ERROR(conn_.BeginOwn("review decision"));
    Status st = [&]() -> Status {
      ASSIGN_OR_RETURN(Stmt find,
                       Stmt::Prepare(db_, fmt::format("SELECT weight, probability, levels FROM {} "
                                                      "WHERE row_id = ? AND person_id = ? AND "
                                                      "stage = 4",
                                                      LinksTable(d))));
      find.Bind(1, row_id);
      find.Bind(2, person_id);
      ASSIGN_OR_RETURN(bool row, find.Step(db_));
      if (!row)
        return NotFound(
            fmt::format("{} row {} has no review candidate for that person", d.name, row_id));
      const double weight = sqlite3_column_double(find.get(), 0);
      const double probability = sqlite3_column_double(find.get(), 1);
      const int64_t levels = find.Int(2);
      find.Reset();
      ASSIGN_OR_RETURN(Stmt hash, Stmt::Prepare(db_, fmt::format("SELECT row_hash FROM {} WHERE "
                                                                 "row_id = ?",
                                                                 d.table)));
      hash.Bind(1, row_id);
      ASSIGN_OR_RETURN(bool has_row, hash.Step(db_));
      if (!has_row) return NotFound(fmt::format("{} has no row {}", d.name, row_id));
      const int64_t row_hash = hash.Int(0);
      hash.Reset();
      RETURN_IF_ERROR(Exec(db_, std::string(kReviewTableSql)));
      ASSIGN_OR_RETURN(Stmt ins, Stmt::Prepare(db_,
                                               "INSERT OR REPLACE INTO link_review_decisions "
                                               "(dataset, row_id, person_id, decision, weight, "
                                               "probability, levels, user_name, decided_at, note, "
                                               "row_hash, role) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"));
      ins.Bind(1, d.name);
      ins.Bind(2, row_id);
      ins.Bind(3, person_id);
      ins.Bind(4, std::string_view(accept ? "accepted" : "rejected"));
      sqlite3_bind_double(ins.get(), 5, weight);
      sqlite3_bind_double(ins.get(), 6, probability);
      ins.Bind(7, levels);
      ins.Bind(8, actor.user);
      ins.Bind(12, RoleName(actor.role));
      ins.Bind(9, NowUtc());
      ins.Bind(11, row_hash);
      ins.Bind(10, note);
      RETURN_IF_ERROR(ins.Run(db_));
      // Accepted: the candidate becomes a link every reader of links counts (stage 3);
      // rejected: it leaves the queue and the row stays unlinked until a run finds another.
      return Exec(
          db_, accept
                   ? fmt::format("UPDATE {} SET stage = 3 WHERE row_id = {}", LinksTable(d), row_id)
                   : fmt::format("DELETE FROM {} WHERE row_id = {}", LinksTable(d), row_id));
    }();
    if (st.ok()) st = conn_.CommitOwn();
    if (!st.ok()) conn_.RollbackOwn();
    return st;
  }

  Result<std::vector<ReviewDecision>> ReviewDecisions(const DatasetSpec& d) override {
    std::vector<ReviewDecision> out;
    ASSIGN_OR_RETURN(Stmt has, Stmt::Prepare(db_,
                                             "SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                             "AND name = 'link_review_decisions'"));
    ASSIGN_OR_RETURN(bool exists, has.Step(db_));
    has.Reset();
    if (!exists) return out;
    // Only decisions about rows still as they were decided (kReviewTableSql).
    ASSIGN_OR_RETURN(Stmt s,
                     Stmt::Prepare(db_, fmt::format("SELECT r.row_id, r.person_id, r.decision = "
                                                    "'accepted', r.weight, r.probability, "
                                                    "r.levels FROM link_review_decisions r JOIN "
                                                    "{} t ON t.row_id = r.row_id AND t.row_hash "
                                                    "= r.row_hash WHERE r.dataset = ? ORDER BY "
                                                    "r.row_id, r.person_id",
                                                    d.table)));
    s.Bind(1, d.name);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(db_));
      if (!row) break;
      out.push_back({s.Int(0), s.Int(1), s.Int(2) != 0, sqlite3_column_double(s.get(), 3),
                     sqlite3_column_double(s.get(), 4), static_cast<uint32_t>(s.Int(5))});
    }
    return out;
  }

  Status ForEachLinkRow(const std::function<Status(const LinkExportRow&)>& fn) override {
    for (const DatasetSpec& d : AllDatasets()) {
      if (d.kind != DatasetKind::kDepartment) continue;
      std::unordered_map<int64_t, int64_t> accepted;  // row_id -> person
      ASSIGN_OR_RETURN(std::vector<ReviewDecision> decisions, ReviewDecisions(d));
      for (const ReviewDecision& x : decisions)
        if (x.accepted) accepted[x.row_id] = x.person_id;
      ASSIGN_OR_RETURN(
          Stmt s, Stmt::Prepare(
                      db_, fmt::format("SELECT d.source_row, l.person_id, coalesce(l.stage, 0), "
                                       "l.weight, d.row_id FROM {} d LEFT JOIN {} l ON l.row_id = "
                                       "d.row_id ORDER BY d.source_row",
                                       d.table, LinksTable(d))));
      std::vector<int64_t> exact_rows;
      std::vector<uint64_t> exact_persons;
      RETURN_IF_ERROR(
          ScanExactLinks(d, [&](std::span<const int64_t> rows, std::span<const uint64_t> persons) {
            exact_rows.insert(exact_rows.end(), rows.begin(), rows.end());
            exact_persons.insert(exact_persons.end(), persons.begin(), persons.end());
          }));
      for (;;) {
        ASSIGN_OR_RETURN(bool row, s.Step(db_));
        if (!row) break;
        LinkExportRow r;
        r.dataset = d.name;
        r.source_row = s.Int(0);
        r.stage = static_cast<LinkStage>(s.Int(2));
        if (r.stage != LinkStage::kReview) r.person_id = s.Int(1);
        if (!s.IsNull(3)) r.weight = sqlite3_column_double(s.get(), 3);
        if (r.stage == LinkStage::kProbabilistic) {
          auto it = accepted.find(s.Int(4));
          if (it != accepted.end() && it->second == r.person_id) r.stage = LinkStage::kAccepted;
        }
        if (r.stage == LinkStage::kUnlinked) {
          int64_t row_id = s.Int(4);
          auto it = std::lower_bound(exact_rows.begin(), exact_rows.end(), row_id);
          if (it != exact_rows.end() && *it == row_id) {
            r.stage = LinkStage::kExact;
            r.person_id = static_cast<int64_t>(exact_persons[it - exact_rows.begin()]);
          }
        }
        RETURN_IF_ERROR(fn(r));
      }
    }
    return OkStatus();
  }

  Status ForEachFinding(const std::function<Status(const LinkFinding&)>& fn) override {
    ASSIGN_OR_RETURN(Stmt s, Stmt::Prepare(db_,
                                           "SELECT kind, id_number, household_id, "
                                           "other_id_number, other_household_id, detail FROM "
                                           "link_findings ORDER BY kind, id_number, household_id"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step(db_));
      if (!row) break;
      LinkFinding f{s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4), s.Text(5)};
      RETURN_IF_ERROR(fn(f));
    }
    return OkStatus();
  }

 private:
  struct Prepared {
    Stmt put, remove;
  };
  Prepared& PreparedFor(const DatasetSpec& d) { return prepared_[std::string(d.name)]; }
  Status RequireRun() const {
    return run_id_ ? OkStatus() : FailedPrecondition("no link run is open");
  }
  // The catalogue's spec of `d` (staged writes outlive the caller's reference), or null.
  static const DatasetSpec* FindDataset(const DatasetSpec& d) { return fupin::FindDataset(d.name); }

  // A write of the open run, kept until CommitRun publishes it.
  struct Staged {
    enum class Kind : uint8_t { kClear, kPut, kExact, kFindings };
    Kind kind = Kind::kClear;
    const DatasetSpec* dataset = nullptr;  // the catalogue's, which lives for the process
    std::vector<LinkRecord> links;         // kPut
    std::vector<std::string> blocks;       // kExact: encoded blocks (sqlite_blocks.h)
    std::vector<LinkFinding> findings;     // kFindings
  };

  Connection& conn_;
  sqlite3* db_;
  int64_t run_id_ = 0;    // the open run's id: base_run_ + 1
  int64_t base_run_ = 0;  // the newest run when it began; another published since: kAborted
  LinkRunInfo run_info_;
  std::string started_at_;
  std::vector<Staged> staged_;
  std::unordered_map<std::string, Prepared> prepared_;
};

}  // namespace

std::string LinkMigration() {
  std::string sql = R"sql(
CREATE TABLE link_runs (
  run_id INTEGER PRIMARY KEY,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  user_name TEXT NOT NULL,
  full INTEGER NOT NULL,
  registry_file_id INTEGER NOT NULL DEFAULT 0,
  params TEXT,
  summary TEXT
);
CREATE TABLE link_run_files (
  run_id INTEGER NOT NULL REFERENCES link_runs(run_id),
  dataset TEXT NOT NULL,
  file_id INTEGER NOT NULL,
  PRIMARY KEY (run_id, dataset)
) WITHOUT ROWID;
CREATE TABLE link_findings (
  run_id INTEGER NOT NULL REFERENCES link_runs(run_id),
  kind TEXT NOT NULL,
  id_number TEXT NOT NULL,
  household_id TEXT NOT NULL,
  other_id_number TEXT NOT NULL,
  other_household_id TEXT NOT NULL,
  detail TEXT NOT NULL
);
)sql";
  for (const DatasetSpec& d : AllDatasets()) {
    if (d.kind != DatasetKind::kDepartment) continue;
    // row_id is the department row's row_id; stage: 1 exact, 2 repaired, 3 probabilistic,
    // 4 review (a candidate, not a link). Rows without a link or candidate have no line.
    sql += fmt::format(
        "CREATE TABLE {} (\n  row_id INTEGER PRIMARY KEY,\n  person_id INTEGER NOT NULL,\n"
        "  stage INTEGER NOT NULL CHECK (stage BETWEEN 1 AND 4),\n  weight REAL,\n"
        "  probability REAL,\n  levels INTEGER,\n  run_id INTEGER NOT NULL\n);\n",
        LinksTable(d));
  }
  return sql;
}

std::string BlocksMigration() {
  return R"sql(
CREATE TABLE dept_identity (
  dataset TEXT NOT NULL,
  block INTEGER NOT NULL,
  file_id INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (dataset, block)
);
CREATE TABLE link_exact (
  dataset TEXT NOT NULL,
  block INTEGER NOT NULL,
  run_id INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (dataset, block)
);
)sql";
}

std::string LinkRoleMigration() {
  return std::string(kReviewTableSql) +
         ";\nALTER TABLE link_review_decisions ADD COLUMN role TEXT;\n"
         "ALTER TABLE link_runs ADD COLUMN role TEXT;\n";
}

std::unique_ptr<LinkStore> MakeSqliteLinkStore(Connection& conn) {
  return std::make_unique<SqliteLinkStore>(conn);
}

}  // namespace sqlite_detail
}  // namespace fupin::store
