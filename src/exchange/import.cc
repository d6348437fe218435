#include "exchange/import.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>

#include "core/datasets.h"
#include "core/executor.h"
#include "core/hash.h"
#include "core/id_number.h"
#include "core/interrupt.h"
#include "core/parallel.h"
#include "core/region_code.h"
#include "core/text.h"
#include "exchange/csv_reader.h"
#include "exchange/validate.h"
#include "exchange/xlsx_reader.h"

namespace fupin::exchange {

namespace fs = std::filesystem;
using store::Value;

namespace {

struct BatchFile {
  const DatasetSpec* dataset;
  fs::path path;
  bool xlsx;
};

std::string Lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// Recognises "households.csv", "Members.XLSX"; nullptr for other names.
const DatasetSpec* DatasetOfFile(const fs::path& p, bool& xlsx) {
  std::string ext = Lower(p.extension().string());
  if (ext != ".csv" && ext != ".xlsx") return nullptr;
  xlsx = ext == ".xlsx";
  return FindDataset(Lower(p.stem().string()));
}

// Why `status` (of a path, links followed) is no file to read, or "" for a regular file.
// Reading a named pipe would block for ever and a device never ends.
std::string NotRegularReason(const fs::file_status& status) {
  switch (status.type()) {
    case fs::file_type::regular:
      return "";
    case fs::file_type::directory:
      return "a folder / 是文件夹";
    case fs::file_type::fifo:
      return "a named pipe (FIFO), not a regular file: not read / 是命名管道，不是普通文件，未读取";
    case fs::file_type::character:
    case fs::file_type::block:
      return "a device, not a regular file: not read / 是设备文件，不是普通文件，未读取";
    case fs::file_type::socket:
      return "a socket, not a regular file: not read / 是套接字，不是普通文件，未读取";
    case fs::file_type::not_found:
      return "a link to nothing: not read / 是指向不存在文件的链接，未读取";
    default:
      return "not a regular file: not read / 不是普通文件，未读取";
  }
}

// Why the folder entry `p` is refused, or "" when it may be read: a symbolic link must stay
// inside `folder` (a batch folder can come from anyone; a link to /etc/shadow is not theirs to
// hand in), and what it names must be a regular file.
std::string RefusalOf(const fs::path& folder, const fs::path& p) {
  std::error_code ec;
  if (fs::is_symlink(fs::symlink_status(p, ec))) {
    const fs::path target = fs::weakly_canonical(p, ec);
    const fs::path base = fs::weakly_canonical(folder, ec);
    const auto rel = target.lexically_relative(base);
    if (ec || rel.empty() || *rel.begin() == "..")
      return fmt::format(
          "a link to {} outside the folder: not read; copy the file into the folder / "
          "是指向文件夹之外（{}）的链接，未读取；请把文件复制到文件夹中",
          target.string(), target.string());
  }
  return NotRegularReason(fs::status(p, ec));
}

Result<std::vector<BatchFile>> ListBatch(const fs::path& path, std::vector<std::string>& ignored) {
  std::error_code ec;
  std::vector<BatchFile> files;
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> entries;
    for (const auto& e : fs::directory_iterator(path, ec)) entries.push_back(e.path());
    if (ec)
      return Err(InvalidArgument(fmt::format("cannot list {}: {}", path.string(), ec.message())));
    std::sort(entries.begin(), entries.end());
    for (const fs::path& p : entries) {
      const std::string name = p.filename().string();
      if (name.front() == '_' || name.front() == '.') continue;
      const std::string refusal = RefusalOf(path, p);
      bool xlsx = false;
      const DatasetSpec* d = refusal.empty() ? DatasetOfFile(p, xlsx) : nullptr;
      if (!d) {
        const bool folder = fs::is_directory(fs::symlink_status(p, ec));
        ignored.push_back(refusal.empty() || folder ? name : fmt::format("{} ({})", name, refusal));
        continue;
      }
      auto same = std::find_if(files.begin(), files.end(),
                               [&](const BatchFile& f) { return f.dataset == d; });
      if (same != files.end()) {
        // Both households.csv and households.xlsx: the CSV wins, the other is reported.
        if (same->xlsx && !xlsx) {
          ignored.push_back(same->path.filename().string() + " (same data set as " +
                            p.filename().string() + ")");
          *same = {d, p, xlsx};
        } else {
          ignored.push_back(p.filename().string() + " (same data set as " +
                            same->path.filename().string() + ")");
        }
        continue;
      }
      files.push_back({d, p, xlsx});
    }
  } else if (fs::exists(path, ec) && !fs::is_regular_file(path, ec)) {
    return Err(InvalidArgument(
        fmt::format("{} is {}", path.string(), NotRegularReason(fs::status(path, ec)))));
  } else if (fs::is_regular_file(path, ec)) {
    bool xlsx = false;
    const DatasetSpec* d = DatasetOfFile(path, xlsx);
    if (!d)
      return Err(InvalidArgument(fmt::format(
          "{} is not an exchange file: the name must be a data set such as households.csv or "
          "members.xlsx / 文件名不是交换格式的数据集名",
          path.filename().string())));
    files.push_back({d, path, xlsx});
  } else {
    return Err(NotFound(fmt::format("{} does not exist / 路径不存在", path.string())));
  }
  if (files.empty())
    return Err(InvalidArgument(fmt::format(
        "{} holds no exchange file (households.csv, members.csv, edu_students.csv, ...) / "
        "文件夹中没有交换格式文件",
        path.string())));
  // Import order: regions, registry, then departments, as in the catalogue.
  auto rank = [](const DatasetSpec* d) { return d - AllDatasets().data(); };
  std::sort(files.begin(), files.end(), [&](const BatchFile& a, const BatchFile& b) {
    return rank(a.dataset) < rank(b.dataset);
  });
  return files;
}

Status InterruptedStatus() { return FailedPrecondition(std::string(kInterruptedMessage)); }

Result<std::string> Sha256File(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Err(NotFound(fmt::format("cannot open {}", path.string())));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    return Err(Internal("SHA-256 unavailable"));
  std::vector<char> buf(1 << 20);
  while (in) {
    if (Interrupted()) return Err(InterruptedStatus());
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return Err(InvalidArgument(fmt::format("read error in {}", path.string())));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

// Open-addressing set of row keys seen in one file: key hash -> (check hash, row number).
// 16 bytes a slot and at most 0.7 keys a slot, so a 10-million-row file needs 256 MiB. A table that
// large misses the cache on every row: callers prefetch a few rows ahead, and it sits on huge pages
// where the kernel offers them (fewer TLB misses, a fault per 2 MiB instead of per 4 KiB).
class KeySet {
 public:
  // Returns the row number that already holds the key, or 0 after inserting it.
  int64_t FindOrInsert(uint64_t key, uint32_t check, int64_t row) {
    if ((size_ + 1) * 10 > capacity_ * 7) Grow();
    size_t mask = capacity_ - 1;
    for (size_t i = key & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.row == 0) {
        s = {key, check, static_cast<uint32_t>(row)};
        ++size_;
        return 0;
      }
      if (s.key == key && s.check == check) return s.row;
    }
  }
  bool Contains(uint64_t key, uint32_t check) const {
    if (capacity_ == 0) return false;
    size_t mask = capacity_ - 1;
    for (size_t i = key & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.row == 0) return false;
      if (s.key == key && s.check == check) return true;
    }
  }
  void Prefetch(uint64_t key) const {
    if (capacity_) __builtin_prefetch(&slots_[key & (capacity_ - 1)]);
  }
  // Sizes the table for about `rows` keys at once, instead of growing step by step.
  void Reserve(size_t rows) {
    const size_t slots = SlotsFor(rows);
    if (slots <= capacity_) return;
    Table old = std::move(slots_);
    size_t old_capacity = capacity_;
    Allocate(slots);
    for (size_t i = 0; i < old_capacity; ++i)
      if (old[i].row) FindOrInsert(old[i].key, old[i].check, old[i].row);
  }
  // Empties the set for another file of about `rows` keys, keeping the table when its size
  // fits (no new pages to fault in) and otherwise starting afresh.
  void Reset(size_t rows) {
    const size_t slots = SlotsFor(rows);
    if (capacity_ >= slots && capacity_ <= slots * 4) {
      std::memset(static_cast<void*>(slots_.get()), 0, capacity_ * sizeof(Slot));
      size_ = 0;
    } else {
      Allocate(slots);
    }
  }

 private:
  struct Slot {
    uint64_t key;
    uint32_t check;
    uint32_t row;  // 0 = empty
  };
  struct Free {
    void operator()(Slot* p) const { std::free(p); }
  };
  using Table = std::unique_ptr<Slot[], Free>;
  // A power of two, with `rows` keys filling at most 70% of it.
  static size_t SlotsFor(size_t rows) {
    size_t slots = 1024;
    while (slots * 7 < rows * 10) slots *= 2;
    return slots;
  }
  void Allocate(size_t slots) {
    constexpr size_t kHugePage = size_t{1} << 21;
    size_t bytes = slots * sizeof(Slot);
    size_t align = bytes >= kHugePage ? kHugePage : alignof(Slot);
    bytes = (bytes + align - 1) / align * align;
    slots_.reset();
    slots_.reset(static_cast<Slot*>(std::aligned_alloc(align, bytes)));
    if (!slots_) throw std::bad_alloc();
    if (align == kHugePage) madvise(slots_.get(), bytes, MADV_HUGEPAGE);
    std::memset(static_cast<void*>(slots_.get()), 0, bytes);
    capacity_ = slots;
    size_ = 0;
  }
  void Grow() { Reserve(size_ * 2 + 1); }
  Table slots_;
  size_t capacity_ = 0;
  size_t size_ = 0;
};

// The longest value a column may hold, by its type, in bytes of UTF-8: the same for CSV and
// XLSX. A longer value rejects its row (`too_long`) and reading goes on. Columns that are not
// part of the data set are ignored, so they only meet the readers' own cap, kMaxCellBytes.
size_t MaxValueBytes(FieldType type) {
  switch (type) {
    case FieldType::kText:
      return 4096;  // about 1,300 Chinese characters: names, addresses, notes
    case FieldType::kCodeSet:
      return 1024;
    case FieldType::kCode:
      return 256;  // a code, or its Chinese label
    default:
      return 64;  // numbers, dates, region codes, ID numbers (with stray spaces)
  }
}

// The first characters of a long value, for the report: whole UTF-8 characters only.
std::string Preview(std::string_view text) {
  constexpr size_t kChars = 32;
  size_t i = 0;
  for (size_t n = 0; n < kChars && i < text.size(); ++n) NextCodePoint(text, i);
  std::string preview = std::string(text.substr(0, i));
  if (!IsValidUtf8(preview)) return "";  // no mojibake in the report
  return i < text.size() ? preview + "…" : preview;
}

// A row's cells checked before validation, by the column each cell is in: `limits` and
// `names` per cell of the header; cells past the header are limited to kMaxCellBytes.
struct CellLimits {
  std::vector<size_t> limits;
  std::vector<std::string> names;
  size_t LimitOf(size_t cell) const { return cell < limits.size() ? limits[cell] : kMaxCellBytes; }
  std::string NameOf(size_t cell) const {
    return cell < names.size() && !names[cell].empty() ? names[cell]
                                                       : fmt::format("column {}", cell + 1);
  }
};

CellLimits LimitsOf(const DatasetSpec& dataset, const HeaderMap& header) {
  CellLimits out;
  out.limits.assign(header.width, kMaxCellBytes);
  out.names.resize(header.width);
  for (size_t f = 0; f < dataset.fields.size(); ++f) {
    const int c = header.cell_of_field[f];
    if (c < 0) continue;
    out.limits[static_cast<size_t>(c)] = MaxValueBytes(dataset.fields[f].type);
    out.names[static_cast<size_t>(c)] = std::string(dataset.fields[f].name);
  }
  return out;
}

// Finds cells no column may hold: longer than the column's limit, or with a NUL byte (binary
// data inside a text file). Each such cell is emptied in `raw` and its issue returned, so the
// row is rejected with the reason and the validator never sees the value.
std::vector<CellIssue> TakeHostileCells(RawRow& raw, const CellLimits& limits) {
  std::vector<CellIssue> issues;
  for (size_t c = 0; c < raw.cells.size(); ++c) {
    std::string& cell = raw.cells[c];
    const size_t limit = limits.LimitOf(c);
    if (cell.size() > limit) {
      const std::string size = cell.size() > kMaxCellBytes
                                   ? fmt::format("more than {}", kMaxCellBytes)
                                   : std::to_string(cell.size());
      issues.push_back(
          {limits.NameOf(c), Preview(cell), true, "too_long",
           fmt::format("the value is {} bytes long; this column holds at most {} "
                       "bytes (line {})",
                       size, limit, raw.source_line),
           fmt::format("该值长{}字节，此列最多{}字节（第{}行）",
                       cell.size() > kMaxCellBytes ? "超过" + std::to_string(kMaxCellBytes)
                                                   : std::to_string(cell.size()),
                       limit, raw.source_line)});
      cell.clear();
    } else if (cell.find('\0') != std::string::npos) {
      issues.push_back(
          {limits.NameOf(c), "", true, "nul_byte",
           fmt::format("the value holds a NUL byte (binary data in a text file, "
                       "line {})",
                       raw.source_line),
           fmt::format("该值含有NUL字节（文本文件中混入二进制数据，第{}行）", raw.source_line)});
      cell.clear();
    }
  }
  return issues;
}

// A household id as a KeySet key: 96 bits of two independent hashes.
std::pair<uint64_t, uint32_t> HouseholdKey(std::string_view id) {
  Hasher key(5), check(6);
  key.Add(id);
  check.Add(id);
  return {key.Finish(), static_cast<uint32_t>(check.Finish())};
}

CellIssue HouseholdMissing(std::string household) {
  return {"household_id",
          household,
          true,
          "household_missing",
          fmt::format("household {} does not exist", household),
          fmt::format("户编号{}不存在", household)};
}

// Fault injection for the crash test: FUPIN_FAULT_KILL_AFTER_ROWS=N kills the process with
// SIGKILL after N data rows, in the middle of the batch's transaction.
int64_t KillAfterRows() {
  const char* v = std::getenv("FUPIN_FAULT_KILL_AFTER_ROWS");
  return v ? std::atoll(v) : 0;
}

// Fault injection for the lost-report test: FUPIN_FAULT_KILL_BEFORE_REPORT=1 kills the process
// with SIGKILL after the batch was committed and before its report got its final name.
bool KillBeforeReport() { return std::getenv("FUPIN_FAULT_KILL_BEFORE_REPORT") != nullptr; }

// A queue of at most `capacity` items between two threads. Close() wakes both sides.
template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) {}
  // Returns false when the queue was closed.
  bool Push(T item) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
    if (closed_) return false;
    items_.push_back(std::move(item));
    cv_.notify_all();
    return true;
  }
  // Returns an empty T when the queue was closed and drained.
  T Pop() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return T();
    T item = std::move(items_.front());
    items_.pop_front();
    cv_.notify_all();
    return item;
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> items_;
  size_t capacity_;
  bool closed_ = false;
};

// The issue report, written on its own thread so that the store's writer waits for it only
// when 16 batches of issues are queued. Batches arrive after they were stored; a failure
// stops the report, not the import. Destroyed unfinished, the report's files are removed.
class ReportThread {
 public:
  explicit ReportThread(std::unique_ptr<IssueReportWriter> writer)
      : writer_(std::move(writer)), stage_(std::make_unique<Concurrent>([this] { Run(); })) {}
  ~ReportThread() { Stop(); }
  void Add(const std::string& file, std::vector<store::Issue> issues) {
    queue_.Push(std::make_unique<Batch>(Batch{file, std::move(issues)}));
  }
  // Lets the thread close the files once every batch is written (the XLSX's compression
  // then overlaps the store's commit). No Add() may follow.
  void CloseAsync() {
    close_ = true;
    queue_.Close();
  }
  // After CloseAsync(): waits for the files, then gives them their names, or says why the
  // report failed.
  Result<ReportFiles> Publish() {
    Stop();
    if (!error_.ok()) return Err(error_);
    return writer_->Publish();
  }

 private:
  struct Batch {
    std::string file;
    std::vector<store::Issue> issues;
  };
  void Stop() {
    queue_.Close();
    if (stage_) stage_->Join();
  }
  void Run() {
    while (std::unique_ptr<Batch> b = queue_.Pop()) {
      for (size_t k = 0; k < b->issues.size() && error_.ok(); ++k) {
        const store::Issue& i = b->issues[k];
        error_ = writer_->Add({b->file, i.row_number, i.column, i.value, i.is_error, i.code,
                               i.message_en, i.message_zh});
      }
    }
    if (close_ && error_.ok()) error_ = writer_->Close();
  }
  std::unique_ptr<IssueReportWriter> writer_;
  std::atomic<bool> close_{false};
  Status error_;  // written by the thread, read after it stopped
  BoundedQueue<std::unique_ptr<Batch>> queue_{16};
  std::unique_ptr<Concurrent> stage_;  // last: starts after the queue exists
};

struct Item {
  int64_t row_number = 0;
  ValidatedRow row;
  std::pair<uint64_t, uint32_t> household_key;  // a member row's HouseholdKey
};

struct Chunk {
  static constexpr size_t kRows = 2048;
  std::vector<Item> items;
  bool last = false;     // no chunk follows
  std::string error_en;  // set when reading failed after these rows
  int64_t error_row = 0;
};

struct Pipeline {
  static constexpr size_t kChunks = 4;
  Pipeline() : full(kChunks), empty(kChunks) {
    for (size_t i = 0; i < kChunks; ++i) empty.Push(std::make_unique<Chunk>());
  }
  BoundedQueue<std::unique_ptr<Chunk>> full;   // reader -> writer
  BoundedQueue<std::unique_ptr<Chunk>> empty;  // writer -> reader, for reuse
  std::atomic<uint64_t> bytes_read{0};
};

class Importer {
 public:
  Importer(store::Store& store, const ImportOptions& options)
      : store_(store), options_(options), kill_after_rows_(KillAfterRows()) {}

  Result<ImportSummary> Run(const fs::path& path) {
    ImportSummary summary;
    ASSIGN_OR_RETURN(std::vector<BatchFile> files, ListBatch(path, summary.ignored_files));
    if (!options_.report_dir.empty()) {
      // The previous import may have been killed between its commit and its report.
      auto restored = RestoreMissingReport(store_, options_.report_dir);
      if (restored)
        summary.restored_report = *restored;
      else
        summary.report_error = restored.error().message();
    }

    // Hash first: files identical to the current data are skipped without parsing. A file
    // whose rows were rejected last time is read again when a file it depends on changed in
    // this batch (regions for every data set, households for members): its rejected rows may
    // pass now. Files are in catalogue order, so a dependency is decided before its users.
    // Both cores hash: this pass reads every byte before the import can start.
    std::vector<std::string> shas(files.size());
    RETURN_IF_ERROR(RunTasks(files.size(), 2, [&](size_t i) -> Status {
      ASSIGN_OR_RETURN(shas[i], Sha256File(files[i].path));
      return OkStatus();
    }));
    std::vector<bool> unchanged;
    bool regions_changed = false, households_changed = false, any_new = false;
    for (size_t i = 0; i < files.size(); ++i) {
      const BatchFile& f = files[i];
      const std::string& sha = shas[i];
      ASSIGN_OR_RETURN(std::optional<store::CurrentFile> current,
                       store_.CurrentFileOf(f.dataset->name));
      bool same = current && current->sha256 == sha;
      bool upstream_changed =
          regions_changed || (f.dataset->kind == DatasetKind::kMember && households_changed);
      if (same && current->rows_rejected > 0 && upstream_changed) same = false;
      if (!same && f.dataset->kind == DatasetKind::kRegions) regions_changed = true;
      if (!same && f.dataset->kind == DatasetKind::kHousehold) households_changed = true;
      any_new |= !same;
      unchanged.push_back(same);
    }
    if (!any_new) {
      summary.nothing_changed = true;
      for (const BatchFile& f : files) {
        FileSummary fsum{f.path.filename().string(), std::string(f.dataset->name), "", {}, 0};
        fsum.outcome.outcome = "unchanged";
        summary.files.push_back(std::move(fsum));
      }
      return summary;
    }

    ASSIGN_OR_RETURN(std::vector<store::Region> regions, store_.LoadRegions());
    for (const store::Region& r : regions) region_index_.Add(r.code, r.level);

    ASSIGN_OR_RETURN(summary.batch_id, store_.BeginBatch({path.string(), options_.actor}));
    if (!options_.report_dir.empty()) {
      auto report = IssueReportWriter::Create(options_.report_dir, summary.batch_id);
      if (report) {
        report_ = std::make_unique<ReportThread>(std::move(*report));
      } else {
        summary.report_error = report.error().message();
      }
    }
    for (size_t i = 0; i < files.size(); ++i) {
      if (Interrupted()) {
        store_.AbortBatch();
        return Err(InterruptedStatus());
      }
      auto file = ImportFile(files[i], shas[i], unchanged[i]);
      if (!file) {
        store_.AbortBatch();
        return Err(file.error());
      }
      summary.rows_read += file->outcome.rows_read;
      summary.rows_imported += file->outcome.rows_imported;
      summary.rows_rejected += file->outcome.rows_rejected;
      summary.warnings += file->outcome.warnings;
      if (file->outcome.outcome == "failed") ++summary.files_failed;
      summary.files.push_back(std::move(*file));
    }
    if (Interrupted()) {  // the last moment to stop: after the commit the batch stands
      store_.AbortBatch();
      return Err(InterruptedStatus());
    }
    const bool report = report_ && reported_issues_ > 0;
    if (report) report_->CloseAsync();
    RETURN_IF_ERROR(store_.CommitBatch());
    if (report && KillBeforeReport()) raise(SIGKILL);
    if (report) {
      auto files = report_->Publish();
      if (files) {
        summary.report = *files;
      } else {
        summary.report_error = files.error().message();
      }
    }
    report_.reset();  // an unfinished report removes its files
    return summary;
  }

 private:
  Result<FileSummary> ImportFile(const BatchFile& f, const std::string& sha, bool unchanged) {
    FileSummary sum;
    sum.file_name = f.path.filename().string();
    sum.dataset = std::string(f.dataset->name);
    std::error_code ec;
    uint64_t size = fs::file_size(f.path, ec);
    // Said at once: reading the stored rows to compare against can take a while before the
    // first row's progress.
    if (options_.on_progress) options_.on_progress({sum.file_name, 0, size, 0});

    std::unique_ptr<RowSource> rows;
    Status open_error;
    if (f.xlsx) {
      sum.encoding = "XLSX";
      auto opened = OpenXlsx(f.path);
      if (opened)
        rows = std::move(*opened);
      else
        open_error = opened.error();
    } else {
      auto opened = OpenCsv(f.path);
      if (opened) {
        sum.encoding = std::string(EncodingName(opened->encoding));
        rows = std::move(opened->rows);
      } else {
        sum.encoding = "unknown";
        open_error = opened.error();
      }
    }
    ASSIGN_OR_RETURN(sum.file_id,
                     store_.BeginFile({sum.file_name, sum.dataset, sha, size, sum.encoding}));
    current_file_ = sum.file_name;
    file_id_ = sum.file_id;
    if (unchanged) {
      sum.outcome.outcome = "unchanged";
      RETURN_IF_ERROR(store_.FinishFile(sum.file_id, sum.outcome));
      return sum;
    }
    if (!open_error.ok()) return FailFile(sum, open_error.message(), "文件无法读取");

    RawRow raw;
    auto header_read = rows->Next(raw);
    if (!header_read) return FailFile(sum, header_read.error().message(), "文件无法读取");
    if (!*header_read)
      return FailFile(sum, "the file is empty: no header row", "文件为空，没有表头");
    auto header = MapHeader(*f.dataset, raw.cells);
    if (!header) return FailFile(sum, header.error().message(), "");
    for (const std::string& col : header->unknown_columns) {
      ++sum.outcome.warnings;
      AddIssue(0, col, "", false, "unknown_column",
               fmt::format("column '{}' is not part of {} and is ignored", col, f.dataset->name),
               fmt::format("列“{}”不属于该数据集，已忽略", col));
    }
    for (const std::string& col : header->missing_optional) {
      ++sum.outcome.warnings;
      AddIssue(0, col, "", false, "missing_column",
               fmt::format("optional column '{}' is absent; its values are unknown", col),
               fmt::format("缺少可选列“{}”，其值视为未知", col));
    }

    if (f.dataset->kind == DatasetKind::kRegions)
      return ImportRegions(*rows, *header, LimitsOf(*f.dataset, *header), sum);

    ASSIGN_OR_RETURN(std::unique_ptr<store::DatasetWriter> writer,
                     store_.OpenWriter(*f.dataset, sum.file_id));
    // A member's household must exist: the reader checks it against the stored ids.
    KeySet households;
    if (f.dataset->kind == DatasetKind::kMember) {
      uint32_t n = 0;
      RETURN_IF_ERROR(store_.ForEachHouseholdId([&](std::string_view id) {
        auto [key, check] = HouseholdKey(id);
        households.FindOrInsert(key, check, ++n);
      }));
    }
    // Two stages on two cores: a reader thread parses and validates rows into chunks; this
    // thread writes them to the store. Chunks are recycled, so memory stays flat.
    Pipeline pipe;
    const KeySet* household_ids = f.dataset->kind == DatasetKind::kMember ? &households : nullptr;
    Concurrent reader([&] {
      ReadAndValidate(*f.dataset, std::move(*header), *rows, raw, pipe, region_index_, keys_,
                      household_ids);
    });
    KeySet file_households;  // households that have members in this file
    const bool members_file = f.dataset->kind == DatasetKind::kMember;
    Status failure;
    auto last_progress = std::chrono::steady_clock::now();
    int64_t last_row = 0;
    for (bool done = false; !done;) {
      std::unique_ptr<Chunk> chunk = pipe.full.Pop();
      for (Item& item : chunk->items) {
        const int64_t row_number = item.row_number;
        ValidatedRow& row = item.row;
        last_row = row_number;
        ++sum.outcome.rows_read;
        if (kill_after_rows_ && ++rows_seen_ >= kill_after_rows_) raise(SIGKILL);
        if (!row.rejected) {
          Status put = writer->Put({row_number, row.key_hash, row.content_hash}, row.values);
          if (put.code() == StatusCode::kNotFound) {
            row.issues.push_back(HouseholdMissing(HouseholdIdOf(*f.dataset, row)));
            row.rejected = true;
          } else if (!put.ok()) {
            failure = put;
            break;
          }
        }
        for (CellIssue& is : row.issues) {
          AddIssue(row_number, is.column, is.value, is.is_error, is.code, std::move(is.message_en),
                   std::move(is.message_zh));
          if (!is.is_error) ++sum.outcome.warnings;
        }
        if (row.rejected) {
          ++sum.outcome.rows_rejected;
        } else {
          ++sum.outcome.rows_imported;
          if (members_file)
            file_households.FindOrInsert(item.household_key.first, item.household_key.second, 1);
        }
      }
      if (failure.ok() && !chunk->error_en.empty()) {
        // The rest of the file cannot be read (cut off inside a quote, bad bytes): rows
        // before it are kept, the failure is reported against the row where it happened.
        ++sum.outcome.rows_read;
        ++sum.outcome.rows_rejected;
        AddIssue(chunk->error_row, "", "", true, "unreadable_rest",
                 fmt::format("reading stopped here: {}", chunk->error_en),
                 fmt::format("文件从此行起无法读取：{}", chunk->error_en));
      }
      if (failure.ok() && Interrupted()) failure = InterruptedStatus();
      done = chunk->last || !failure.ok();
      pipe.empty.Push(std::move(chunk));
      if (failure.ok()) failure = FlushIssues();
      if (!failure.ok()) break;
      auto now = std::chrono::steady_clock::now();
      if (options_.on_progress && now - last_progress > std::chrono::milliseconds(500)) {
        last_progress = now;
        options_.on_progress({sum.file_name, pipe.bytes_read.load(), rows->BytesTotal(), last_row});
      }
    }
    pipe.empty.Close();
    pipe.full.Close();
    reader.Join();
    if (!failure.ok()) return Err(failure);
    // Only a snapshot read whole and without rejects may remove rows: a rejected or
    // unreadable row could be the new version of a stored one.
    const bool complete = sum.outcome.rows_rejected == 0;
    ASSIGN_OR_RETURN(store::WriteCounts counts, writer->Finish(complete));
    if (counts.kept_missing > 0) {
      ++sum.outcome.warnings;
      AddIssue(0, "", "", false, "missing_rows_kept",
               fmt::format("{} rows of the previous snapshot are not in this file but were kept, "
                           "because {} rows of it were rejected; fix them and import again",
                           counts.kept_missing, sum.outcome.rows_rejected),
               fmt::format("上次数据中有{}行不在本文件中，因本文件有{}行被拒绝而予以保留；"
                           "请修正后重新导入",
                           counts.kept_missing, sum.outcome.rows_rejected));
    }
    if (members_file) RETURN_IF_ERROR(ReportMissingMembers(file_households, sum));
    sum.outcome.inserted = counts.inserted;
    sum.outcome.updated = counts.updated;
    sum.outcome.unchanged = counts.unchanged;
    sum.outcome.removed = counts.removed;
    if (sum.outcome.rows_read == 0 && sum.outcome.rows_rejected == 0) {
      ++sum.outcome.warnings;
      AddIssue(0, "", "", false, "no_rows", "the file has a header but no data rows",
               "文件只有表头，没有数据行");
    }
    if (options_.on_progress)
      options_.on_progress({sum.file_name, rows->BytesTotal(), rows->BytesTotal(), last_row});
    sum.outcome.outcome = "imported";
    sum.encoding = std::string(rows->Encoding());
    sum.outcome.encoding = sum.encoding;
    RETURN_IF_ERROR(FlushIssues());
    RETURN_IF_ERROR(store_.FinishFile(sum.file_id, sum.outcome));
    return sum;
  }

  // A members file is the full list of each household it names: a current member of such a
  // household without a row in it is reported (member_missing), never removed, since a
  // partial file must not lose people. A member leaves by a row with left_reason.
  Status ReportMissingMembers(const KeySet& file_households, FileSummary& sum) {
    const bool some_rejected = sum.outcome.rows_rejected > 0;
    return store_.ForEachCurrentMember([&](const store::Value& household, const store::Value& id) {
      auto [hkey, hcheck] = HouseholdKey(household.text);
      if (!file_households.Contains(hkey, hcheck)) return;
      const store::Value key[] = {household, id};
      auto [key_hash, key_check] = exchange::KeyHashes(key);
      if (keys_.Contains(key_hash, static_cast<uint32_t>(key_check))) return;
      const std::string masked = MaskIdNumber(id.ToText());
      ++sum.outcome.warnings;
      AddIssue(
          0, "id_number", masked, false, "member_missing",
          fmt::format("member {} of household {} is not in this file{}; kept as a current "
                      "member. If the person left the household, send the row with "
                      "left_reason and left_date",
                      masked, household.text, some_rejected ? " (or its row was rejected)" : ""),
          fmt::format("户{}的成员{}不在本文件中{}，仍作为在户成员保留；如该成员已减员，"
                      "请在其行填写减员原因和减员日期",
                      household.text, masked, some_rejected ? "（或其行被拒绝）" : ""));
    });
  }

  // The key fields' values joined by '+', for reports.
  static std::string KeyText(const DatasetSpec& d, const ValidatedRow& row) {
    std::string out;
    for (std::string_view k : d.key_fields)
      out += (out.empty() ? "" : "+") + row.values[StoredSlot(d, k)].ToText();
    return out;
  }

  // Reader stage: parses, validates and checks keys, handing chunks of rows to the writer.
  static void ReadAndValidate(const DatasetSpec& dataset, HeaderMap header, RowSource& rows,
                              RawRow& raw, Pipeline& pipe, const RegionIndex& regions, KeySet& keys,
                              const KeySet* household_ids) {
    const size_t width = header.width;
    const bool pad_rows = rows.Encoding() == "XLSX";
    const CellLimits limits = LimitsOf(dataset, header);
    RowValidator validator(dataset, std::move(header), regions);
    bool sized_keys = false;
    uint64_t first_chunk_bytes = 0;
    const size_t household_slot = household_ids ? StoredSlot(dataset, "household_id") : 0;
    int64_t row_number = 0;
    std::string key_names;
    for (std::string_view k : dataset.key_fields)
      key_names += (key_names.empty() ? "" : "+") + std::string(k);
    // Duplicate keys, then the member's household. Rows are checked in file order, so the
    // first of two equal rows is the one kept.
    auto check_keys = [&](Item& item) {
      ValidatedRow& row = item.row;
      if (row.rejected) return;
      int64_t first =
          keys.FindOrInsert(row.key_hash, static_cast<uint32_t>(row.key_check), item.row_number);
      if (first) {
        row.issues.push_back(
            {key_names, KeyText(dataset, row), true, "duplicate_key",
             key_names.empty()
                 ? fmt::format("the row repeats row {} exactly", first)
                 : fmt::format("duplicate key {}: row {} has the same", key_names, first),
             key_names.empty() ? fmt::format("该行与第{}行完全重复", first)
                               : fmt::format("主键重复，与第{}行相同", first)});
        row.rejected = true;
      } else if (household_ids &&
                 !household_ids->Contains(item.household_key.first, item.household_key.second)) {
        row.issues.push_back(HouseholdMissing(std::string(row.values[household_slot].text)));
        row.rejected = true;
      }
    };
    for (bool last = false; !last;) {
      std::unique_ptr<Chunk> chunk = pipe.empty.Pop();
      if (!chunk) return;  // the writer stopped
      size_t n = 0;
      while (n < Chunk::kRows && !last) {
        auto got = rows.Next(raw);
        if (!got) {
          chunk->error_en = got.error().message();
          chunk->error_row = row_number + 1;
          last = true;
          break;
        }
        if (!*got) {
          last = true;
          break;
        }
        ++row_number;
        if (std::all_of(raw.cells.begin(), raw.cells.end(),
                        [](const std::string& c) { return TrimSpace(c).empty(); }))
          continue;  // a blank line is no data
        if (pad_rows && raw.cells.size() < width) {
          // XLSX leaves out trailing empty cells; they are empty values, not a cut row.
          raw.cells.resize(width);
          raw.numeric.resize(width, false);
        }
        if (chunk->items.size() <= n) chunk->items.emplace_back();
        Item& item = chunk->items[n++];
        item.row_number = row_number;
        if (!sized_keys) {                        // the first chunk's length in the file, about
          first_chunk_bytes += raw.cells.size();  // separators and the line end
          for (const std::string& c : raw.cells) first_chunk_bytes += c.size();
        }
        std::vector<CellIssue> hostile = TakeHostileCells(raw, limits);
        validator.Validate(raw, item.row);
        if (!hostile.empty()) {
          // An emptied cell's own complaints (a missing value) would only hide the reason.
          std::erase_if(item.row.issues, [&](const CellIssue& is) {
            return std::any_of(hostile.begin(), hostile.end(),
                               [&](const CellIssue& h) { return h.column == is.column; });
          });
          for (CellIssue& h : hostile) item.row.issues.push_back(std::move(h));
          item.row.rejected = true;
        }
        if (household_ids && !item.row.rejected)
          item.household_key = HouseholdKey(item.row.values[household_slot].text);
      }
      chunk->items.resize(n);
      chunk->last = last;
      if (!sized_keys) {
        // The first chunk's rows tell the file's row length, hence its row count.
        sized_keys = true;
        // An XLSX sheet's size counts its XML, several times its text: no estimate there.
        const bool estimate = n > 0 && !last && !pad_rows;
        keys.Reset(estimate ? rows.BytesTotal() / std::max<uint64_t>(1, first_chunk_bytes / n) : n);
      }
      // The key tables of a big file do not fit in the cache: the slots of the row a few
      // places ahead are fetched while this row is checked.
      constexpr size_t kAhead = 8;
      for (size_t i = 0; i < n; ++i) {
        if (i + kAhead < n) {
          const Item& ahead = chunk->items[i + kAhead];
          keys.Prefetch(ahead.row.key_hash);
          if (household_ids) household_ids->Prefetch(ahead.household_key.first);
        }
        check_keys(chunk->items[i]);
      }
      pipe.bytes_read = rows.BytesRead();
      if (!pipe.full.Push(std::move(chunk))) return;
    }
  }

  static std::string HouseholdIdOf(const DatasetSpec& d, const ValidatedRow& row) {
    return row.values[StoredSlot(d, "household_id")].ToText();
  }

  Result<FileSummary> ImportRegions(RowSource& rows, const HeaderMap& header,
                                    const CellLimits& limits, FileSummary& sum) {
    RawRow raw;
    std::vector<store::Region> good;
    int64_t row_number = 0;
    auto cell = [&](int field) -> std::string {
      int c = header.cell_of_field[field];
      return c >= 0 && c < static_cast<int>(raw.cells.size()) ? std::string(TrimSpace(raw.cells[c]))
                                                              : "";
    };
    for (;;) {
      auto got = rows.Next(raw);
      if (!got) {
        ++sum.outcome.rows_read;
        ++sum.outcome.rows_rejected;
        AddIssue(++row_number, "", "", true, "unreadable_rest", got.error().message(),
                 got.error().message());
        break;
      }
      if (!*got) break;
      ++row_number;
      if (std::all_of(raw.cells.begin(), raw.cells.end(),
                      [](const std::string& c) { return TrimSpace(c).empty(); }))
        continue;  // a blank line is no data
      ++sum.outcome.rows_read;
      if (std::vector<CellIssue> hostile = TakeHostileCells(raw, limits); !hostile.empty()) {
        ++sum.outcome.rows_rejected;
        for (CellIssue& h : hostile)
          AddIssue(row_number, std::move(h.column), std::move(h.value), true, h.code,
                   std::move(h.message_en), std::move(h.message_zh));
        continue;
      }
      store::Region r{cell(0), cell(1), 0, cell(3)};
      std::string level = cell(2);
      std::string reason_en, reason_zh;
      if (!IsRegionCode(r.code)) {
        reason_en = "code is not a 12-digit region code";
        reason_zh = "区划代码不是12位";
      } else if (r.name.empty()) {
        reason_en = "name is empty";
        reason_zh = "名称为空";
      } else if (level != std::to_string(static_cast<int>(LevelOf(r.code)))) {
        reason_en = fmt::format("level '{}' does not match the code's shape (level {})", level,
                                static_cast<int>(LevelOf(r.code)));
        reason_zh = "级别与区划代码不符";
      } else if (ParentOf(r.code).value_or("") != r.parent_code ||
                 (!r.parent_code.empty() && !region_index_.Contains(r.parent_code))) {
        reason_en =
            fmt::format("parent_code '{}' is not the existing parent of {}", r.parent_code, r.code);
        reason_zh = "上级代码不存在或与区划代码不符";
      }
      if (!reason_en.empty()) {
        ++sum.outcome.rows_rejected;
        AddIssue(row_number, "code", r.code, true, "bad_region", reason_en, reason_zh);
        continue;
      }
      r.level = static_cast<int>(LevelOf(r.code));
      region_index_.Add(r.code, r.level);
      good.push_back(std::move(r));
      ++sum.outcome.rows_imported;
    }
    RETURN_IF_ERROR(store_.PutRegions(good));
    sum.outcome.inserted = static_cast<int64_t>(good.size());
    sum.outcome.outcome = "imported";
    RETURN_IF_ERROR(FlushIssues());
    RETURN_IF_ERROR(store_.FinishFile(sum.file_id, sum.outcome));
    return sum;
  }

  Result<FileSummary> FailFile(FileSummary& sum, const std::string& message,
                               std::string_view zh_prefix) {
    sum.outcome.outcome = "failed";
    sum.outcome.message = message;
    AddIssue(0, "", "", true, "file_failed", message,
             zh_prefix.empty() ? message : fmt::format("{}：{}", zh_prefix, message));
    RETURN_IF_ERROR(FlushIssues());
    RETURN_IF_ERROR(store_.FinishFile(sum.file_id, sum.outcome));
    return sum;
  }

  void AddIssue(int64_t row, std::string column, std::string value, bool error,
                std::string_view code, std::string en, std::string zh) {
    issues_.push_back({file_id_, row, std::move(column), std::move(value), error, std::string(code),
                       std::move(en), std::move(zh)});
  }

  Status FlushIssues() {
    if (issues_.empty()) return OkStatus();
    Status s = store_.AddIssues(issues_);
    if (report_) {
      reported_issues_ += static_cast<int64_t>(issues_.size());
      report_->Add(current_file_, std::move(issues_));
    }
    issues_.clear();
    return s;
  }

  store::Store& store_;
  const ImportOptions& options_;
  RegionIndex region_index_;
  KeySet keys_;  // the file's row keys; kept from file to file, so its pages are reused
  std::vector<store::Issue> issues_;
  int64_t file_id_ = 0;
  int64_t kill_after_rows_ = 0;
  std::unique_ptr<ReportThread> report_;
  int64_t reported_issues_ = 0;
  std::string current_file_;
  int64_t rows_seen_ = 0;
};

}  // namespace

Status CheckImportPath(const fs::path& path) {
  std::vector<std::string> ignored;
  auto files = ListBatch(path, ignored);
  return files ? OkStatus() : files.error();
}

Result<ImportSummary> ImportPath(store::Store& store, const fs::path& path,
                                 const ImportOptions& options) {
  Importer importer(store, options);
  return importer.Run(path);
}

}  // namespace fupin::exchange
