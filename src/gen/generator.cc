#include "gen/generator.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <iconv.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "core/executor.h"
#include "core/regions_data.h"
#include "gen/block.h"
#include "gen/layout.h"
#include "gen/text_buf.h"
#include "gen/world.h"

namespace fupin::gen {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kXlsxMaxDataRows = 1'048'575;
// Generous members-per-household bound used to refuse --xlsx before any work.
constexpr double kMembersPerHouseholdBound = 3.35;

// A file written under `<final>.part` and renamed on Commit.
class OutFile {
 public:
  OutFile() = default;
  OutFile(const OutFile&) = delete;
  OutFile& operator=(const OutFile&) = delete;
  ~OutFile() { Discard(); }

  Status Open(const fs::path& final_path) {
    final_ = final_path;
    part_ = final_path;
    part_ += ".part";
    file_ = std::fopen(part_.c_str(), "wb");
    if (file_ == nullptr) {
      return Unavailable(fmt::format("cannot create {}: {}", part_.string(), std::strerror(errno)));
    }
    buffer_ = std::make_unique<char[]>(kBufferBytes);
    std::setvbuf(file_, buffer_.get(), _IOFBF, kBufferBytes);
    return OkStatus();
  }

  Status Write(std::string_view data) {
    if (data.empty()) return OkStatus();
    if (std::fwrite(data.data(), 1, data.size(), file_) != data.size()) {
      return Unavailable(fmt::format("cannot write {}: {}", part_.string(), std::strerror(errno)));
    }
    bytes_ += static_cast<int64_t>(data.size());
    return OkStatus();
  }

  // Closes the part file; the rename happens in Rename so that a batch commits together.
  Status Close() {
    if (file_ == nullptr) return OkStatus();
    const int rc = std::fclose(file_);
    file_ = nullptr;
    if (rc != 0) {
      return Unavailable(fmt::format("cannot write {}: {}", part_.string(), std::strerror(errno)));
    }
    return OkStatus();
  }

  Status Rename() {
    std::error_code ec;
    fs::rename(part_, final_, ec);
    if (ec) return Unavailable(fmt::format("cannot rename {}: {}", part_.string(), ec.message()));
    part_.clear();
    return OkStatus();
  }

  // Closes and deletes the part file (no-op after Rename).
  void Discard() {
    bytes_ = 0;
    if (file_ != nullptr) {
      std::fclose(file_);
      file_ = nullptr;
    }
    if (!part_.empty()) {
      std::error_code ec;
      fs::remove(part_, ec);
      part_.clear();
    }
  }

  // Appends a whole closed file's bytes (in the kernel with copy_file_range when it can).
  Status Append(const fs::path& source) {
    if (std::fflush(file_) != 0) {
      return Unavailable(fmt::format("cannot write {}: {}", part_.string(), std::strerror(errno)));
    }
    const int in_fd = ::open(source.c_str(), O_RDONLY);
    if (in_fd < 0) {
      return Unavailable(fmt::format("cannot read {}: {}", source.string(), std::strerror(errno)));
    }
    bool copied = true;
    int64_t done = 0;
    for (;;) {
      const ssize_t n = ::copy_file_range(in_fd, nullptr, fileno(file_), nullptr, 1 << 30, 0);
      if (n == 0) break;
      if (n < 0) {
        copied = false;  // e.g. EXDEV or ENOSYS: fall back to reading
        break;
      }
      done += n;
    }
    const int saved_errno = errno;
    ::close(in_fd);
    bytes_ += done;
    if (copied) return OkStatus();
    if (done > 0) {
      return Unavailable(
          fmt::format("cannot copy {}: {}", source.string(), std::strerror(saved_errno)));
    }
    std::FILE* in = std::fopen(source.c_str(), "rb");
    if (in == nullptr) {
      return Unavailable(fmt::format("cannot read {}: {}", source.string(), std::strerror(errno)));
    }
    std::string chunk(kBufferBytes * 4, '\0');
    Status s;
    for (;;) {
      const size_t n = std::fread(chunk.data(), 1, chunk.size(), in);
      if (n > 0) s = Write(std::string_view(chunk.data(), n));
      if (!s.ok() || n < chunk.size()) break;
    }
    const bool read_error = std::ferror(in) != 0;
    std::fclose(in);
    if (read_error) return Unavailable(fmt::format("cannot read {}", source.string()));
    return s;
  }

  const fs::path& part_path() const { return part_; }
  int64_t bytes() const { return bytes_; }

 private:
  static constexpr size_t kBufferBytes = 1 << 20;
  fs::path final_;
  fs::path part_;
  std::FILE* file_ = nullptr;
  std::unique_ptr<char[]> buffer_;
  int64_t bytes_ = 0;
};

// UTF-8 -> GB18030 with glibc iconv. One per thread.
class Gb18030Encoder {
 public:
  Gb18030Encoder() : cd_(iconv_open("GB18030", "UTF-8")) {}
  ~Gb18030Encoder() {
    if (ok()) iconv_close(cd_);
  }
  Gb18030Encoder(const Gb18030Encoder&) = delete;
  Gb18030Encoder& operator=(const Gb18030Encoder&) = delete;
  bool ok() const { return cd_ != reinterpret_cast<iconv_t>(-1); }

  // Converts `text` in place (via `scratch`). Returns false on a conversion error.
  bool Convert(std::string& text, std::string& scratch) {
    if (text.empty()) return true;
    scratch.resize(text.size() * 2 + 16);
    char* in = text.data();
    size_t in_left = text.size();
    char* out = scratch.data();
    size_t out_left = scratch.size();
    iconv(cd_, nullptr, nullptr, nullptr, nullptr);
    if (iconv(cd_, &in, &in_left, &out, &out_left) == static_cast<size_t>(-1)) return false;
    scratch.resize(scratch.size() - out_left);
    text.swap(scratch);
    return true;
  }

 private:
  iconv_t cd_;
};

// One XLSX sheet written row by row (libxlsxwriter constant_memory mode).
class XlsxSheet {
 public:
  XlsxSheet() = default;
  XlsxSheet(const XlsxSheet&) = delete;
  XlsxSheet& operator=(const XlsxSheet&) = delete;
  ~XlsxSheet() {
    if (workbook_ != nullptr) {
      workbook_close(workbook_);
      std::error_code ec;
      fs::remove(part_, ec);
    }
  }

  // `text_columns`: 0-based columns written as strings (IDs, codes with leading digits, names,
  // dates); the rest are numbers.
  Status Open(const fs::path& final_path, std::string_view header, std::vector<int> text_columns) {
    final_ = final_path;
    part_ = final_path;
    part_ += ".part";
    lxw_workbook_options options = {};
    options.constant_memory = LXW_TRUE;
    workbook_ = workbook_new_opt(part_.c_str(), &options);
    if (workbook_ == nullptr) return Unavailable(fmt::format("cannot create {}", part_.string()));
    sheet_ = workbook_add_worksheet(workbook_, nullptr);
    if (sheet_ == nullptr)
      return Unavailable(fmt::format("cannot add a sheet to {}", part_.string()));
    text_columns_ = std::move(text_columns);
    std::string line(header);
    line.push_back('\n');
    for_header_ = true;
    Status s = WriteLines(line);
    for_header_ = false;
    return s;
  }

  // Writes CSV lines (our own output: fields quoted only when needed).
  Status WriteLines(std::string_view text) {
    size_t pos = 0;
    while (pos < text.size()) {
      if (row_ > kXlsxMaxDataRows) {
        return InvalidArgument(
            fmt::format("{}: more than {} rows do not fit one XLSX sheet; use a smaller --scale",
                        final_.filename().string(), kXlsxMaxDataRows));
      }
      lxw_col_t col = 0;
      while (pos < text.size() && text[pos] != '\n') {
        field_.clear();
        if (text[pos] == '"') {
          ++pos;
          while (pos < text.size()) {
            if (text[pos] == '"') {
              if (pos + 1 < text.size() && text[pos + 1] == '"') {
                field_.push_back('"');
                pos += 2;
                continue;
              }
              ++pos;
              break;
            }
            field_.push_back(text[pos++]);
          }
        } else {
          while (pos < text.size() && text[pos] != ',' && text[pos] != '\n')
            field_.push_back(text[pos++]);
        }
        if (!field_.empty()) {
          const bool as_text = for_header_ || std::find(text_columns_.begin(), text_columns_.end(),
                                                        col) != text_columns_.end();
          double number = 0;
          const auto [end, ec] =
              std::from_chars(field_.data(), field_.data() + field_.size(), number);
          lxw_error err;
          // Whole numbers become numeric cells. Decimals stay text: libxlsxwriter prints
          // doubles with 16 significant digits ("8899.780000000001"), which a strict money
          // parser rejects, while Excel itself keeps 15.
          const bool whole = field_.find('.') == std::string::npos;
          if (as_text || !whole || ec != std::errc() || end != field_.data() + field_.size()) {
            err = worksheet_write_string(sheet_, row_, col, field_.c_str(), nullptr);
          } else {
            err = worksheet_write_number(sheet_, row_, col, number, nullptr);
          }
          if (err != LXW_NO_ERROR) {
            return Unavailable(
                fmt::format("{}: {}", final_.filename().string(), lxw_strerror(err)));
          }
        }
        ++col;
        if (pos < text.size() && text[pos] == ',') ++pos;
      }
      ++pos;  // newline
      ++row_;
    }
    return OkStatus();
  }

  Status Close() {
    if (workbook_ == nullptr) return OkStatus();
    const lxw_error err = workbook_close(workbook_);
    workbook_ = nullptr;
    if (err != LXW_NO_ERROR) {
      return Unavailable(fmt::format("cannot write {}: {}", part_.string(), lxw_strerror(err)));
    }
    return OkStatus();
  }

  Status Rename() {
    std::error_code ec;
    fs::rename(part_, final_, ec);
    if (ec) return Unavailable(fmt::format("cannot rename {}: {}", part_.string(), ec.message()));
    return OkStatus();
  }

  void Discard() {
    if (workbook_ != nullptr) {
      workbook_close(workbook_);
      workbook_ = nullptr;
    }
    std::error_code ec;
    fs::remove(part_, ec);
  }

 private:
  fs::path final_;
  fs::path part_;
  lxw_workbook* workbook_ = nullptr;
  lxw_worksheet* sheet_ = nullptr;
  std::vector<int> text_columns_;
  lxw_row_t row_ = 0;
  bool for_header_ = false;
  std::string field_;
};

// State shared between the worker threads and the writer.
struct Pipeline {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::unique_ptr<BlockOutput>> ready;
  std::vector<std::unique_ptr<BlockOutput>> free_list;
  int next_block = 0;
  int written = 0;
  int window = 4;
  bool abort = false;
  std::string worker_error;
};

void RunWorker(const Plan& plan, bool gb18030, bool keep_utf8, Pipeline& p) {
  BlockScratch scratch;
  std::unique_ptr<Gb18030Encoder> encoder;
  std::string convert_scratch;
  if (gb18030) encoder = std::make_unique<Gb18030Encoder>();
  const int blocks = static_cast<int>(plan.townships.size());
  for (;;) {
    std::unique_ptr<BlockOutput> out;
    int b;
    {
      std::unique_lock lock(p.mu);
      p.cv.wait(lock, [&] {
        return p.abort || p.next_block >= blocks || p.next_block < p.written + p.window;
      });
      if (p.abort || p.next_block >= blocks) return;
      b = p.next_block++;
      if (!p.free_list.empty()) {
        out = std::move(p.free_list.back());
        p.free_list.pop_back();
      }
    }
    if (!out) out = std::make_unique<BlockOutput>();
    GenerateBlock(plan, b, *out, scratch);
    bool ok = true;
    if (encoder) {
      if (keep_utf8) {
        out->registry_utf8[0] = out->text[kHouseholds];
        out->registry_utf8[1] = out->text[kMembers];
      }
      ok = encoder->ok();
      for (int f = 0; ok && f < kFileCount; ++f)
        ok = encoder->Convert(out->text[f], convert_scratch);
    }
    std::lock_guard lock(p.mu);
    if (!ok) {
      p.abort = true;
      p.worker_error = "GB18030 conversion failed";
    } else {
      p.ready[static_cast<size_t>(b)] = std::move(out);
    }
    p.cv.notify_all();
  }
}

struct Writer {
  std::array<OutFile, kFileCount> data;
  OutFile regions, villages;
  // Department-row truth, one part per department file, concatenated in file order at the end.
  std::array<OutFile, kFileCount> truth_parts;
  OutFile truth_rows, truth_planted, truth_dirty, truth_counts, truth_summary;
  std::array<int64_t, kFileCount> rows{};
  std::array<int64_t, static_cast<int>(PlantedKind::kCount)> planted_by_kind{};
  int64_t dirty = 0;
  int64_t planted = 0;
  int64_t households = 0;
  int64_t members = 0;
  std::string buf;
  std::unique_ptr<XlsxSheet> xlsx[2];

  int64_t Bytes() const {
    int64_t total = regions.bytes() + truth_rows.bytes() + truth_planted.bytes() +
                    truth_dirty.bytes() + truth_counts.bytes() + truth_summary.bytes();
    for (const OutFile& f : data) total += f.bytes();
    for (const OutFile& f : truth_parts) total += f.bytes();
    return total;
  }

  Status Flush(OutFile& file, bool force) {
    if (!force && buf.size() < (1u << 20)) return OkStatus();
    Status s = file.Write(buf);
    buf.clear();
    return s;
  }

  Status WriteBlock(const BlockOutput& out) {
    for (int f = 0; f < kFileCount; ++f) RETURN_IF_ERROR(data[f].Write(out.text[f]));
    for (int k = 0; k < 2 && xlsx[0]; ++k) {
      // With --encoding gb18030 the worker kept a UTF-8 copy; XLSX is always UTF-8.
      const std::string& text = out.registry_utf8[k].empty() ? out.text[k] : out.registry_utf8[k];
      RETURN_IF_ERROR(xlsx[k]->WriteLines(text));
    }
    // Truth: file,row,true_id,outsider_id.
    for (int f = kFirstDepartmentFile; f < kFileCount; ++f) {
      const std::string& t = out.truth[f];
      const std::string_view name = kFiles[f].name;
      for (int64_t r = 0; r < out.rows[f]; ++r) {
        const char* e = t.data() + r * 19;
        buf.append(name);
        buf.push_back(',');
        PutInt(buf, rows[f] + r + 1);
        buf.push_back(',');
        if (e[0] == 'R') {
          buf.append(e + 1, 18);
          buf.push_back(',');
        } else {
          buf.push_back(',');
          buf.append(e + 1, 18);
        }
        buf.push_back('\n');
        RETURN_IF_ERROR(Flush(truth_parts[f], false));
      }
      RETURN_IF_ERROR(Flush(truth_parts[f], true));
    }
    for (const DirtyRef& d : out.dirty) {
      buf.append(kFiles[d.file].name);
      buf.push_back(',');
      PutInt(buf, rows[d.file] + d.row + 1);
      buf.push_back(',');
      buf.append(std::string_view(out.dirty_text).substr(d.offset, d.length));
    }
    dirty += static_cast<int64_t>(out.dirty.size());
    RETURN_IF_ERROR(Flush(truth_dirty, true));
    for (const PlantedRecord& p : out.planted) {
      buf.append(kPlantedKindNames[static_cast<int>(p.kind)]);
      buf.push_back(',');
      buf.append(p.household_id);
      buf.push_back(',');
      buf.append(p.id_number);
      buf.push_back(',');
      if (p.file >= 0) buf.append(kFiles[p.file].name);
      buf.push_back(',');
      if (p.file >= 0) PutInt(buf, rows[p.file] + p.row + 1);
      buf.push_back(',');
      PutField(buf, p.detail);
      buf.push_back('\n');
      planted_by_kind[static_cast<int>(p.kind)]++;
    }
    planted += static_cast<int64_t>(out.planted.size());
    RETURN_IF_ERROR(Flush(truth_planted, true));
    for (int f = 0; f < kFileCount; ++f) rows[f] += out.rows[f];
    households += out.households;
    members += out.members;
    return OkStatus();
  }

  void DiscardAll() {
    for (OutFile& f : data) f.Discard();
    for (OutFile& f : truth_parts) f.Discard();
    regions.Discard();
    villages.Discard();
    truth_rows.Discard();
    truth_planted.Discard();
    truth_dirty.Discard();
    truth_counts.Discard();
    truth_summary.Discard();
    for (auto& x : xlsx)
      if (x) x->Discard();
  }
};

std::string Header(std::string_view header) {
  std::string s(header);
  s.push_back('\n');
  return s;
}

// villages.csv: one row per village with households. Guizhou is 92% mountains and hills:
// terrain 3 山区 is the commonest, 4 高原 more frequent in the west (毕节, 六盘水), 2 丘陵 and 1
// 平原 more frequent around 贵阳; a mountain village is farther from its township seat and less
// often has a school or piped water. Each village's row is a function of (seed, village).
std::string VillagesCsv(const Plan& plan) {
  static constexpr std::string_view kIndustries[] = {
      "茶叶", "辣椒",   "食用菌",   "中药材", "精品水果", "生态畜牧", "蔬菜",
      "刺梨", "猕猴桃", "乡村旅游", "竹编",   "蜂蜜",     "马铃薯",   "核桃"};
  std::string out = Header(kVillagesHeader);
  for (size_t v = 0; v < plan.villages.size(); ++v) {
    const Village& village = plan.villages[v];
    if (village.households == 0) continue;
    Rng rng(Hash(plan.seed, 0x76696c6c616765ULL, v));  // "village"
    const std::string_view pref =
        plan.prefectures[static_cast<size_t>(
                             plan.counties[static_cast<size_t>(village.county)].prefecture)]
            .info->code4;
    // Weights of 1 plain, 2 hills, 3 mountains, 4 plateau.
    std::array<double, 4> w = {0.05, 0.25, 0.62, 0.08};
    if (pref == "5205" || pref == "5202") w = {0.03, 0.15, 0.52, 0.30};
    if (pref == "5201") w = {0.12, 0.45, 0.35, 0.08};
    double u = rng.Uniform();
    int terrain = 1;
    for (; terrain < 4 && u >= w[static_cast<size_t>(terrain - 1)]; ++terrain)
      u -= w[static_cast<size_t>(terrain - 1)];
    const bool mountain = terrain == 3 || terrain == 4;
    // One to three distinct industries.
    const int n = 1 + static_cast<int>(rng.Below(3));
    std::vector<size_t> picked;
    while (static_cast<int>(picked.size()) < n) {
      const size_t i = rng.Below(std::size(kIndustries));
      if (std::find(picked.begin(), picked.end(), i) == picked.end()) picked.push_back(i);
    }
    std::string industries;
    for (size_t i : picked) {
      if (!industries.empty()) industries += "、";
      industries += kIndustries[i];
    }
    auto yes = [&](double p) { return rng.Uniform() < p ? 1 : 0; };
    const int road = yes(0.97), water = yes(mountain ? 0.88 : 0.96), power = yes(0.95);
    const int broadband = yes(mountain ? 0.85 : 0.95), clinic = yes(0.93);
    const int school = yes(mountain ? 0.45 : 0.65);
    const double km = mountain ? rng.Uniform(3, 28) : rng.Uniform(0.5, 12);
    // Collective income: 30,000 to about 800,000 yuan, skewed low.
    const double income = 30000 * std::exp(rng.Uniform() * rng.Uniform() * 3.3);
    out += fmt::format("{},{},{},{},{},{},{},{},{},{:.1f},{:.0f}\n",
                       std::string_view(village.code, 12), terrain, industries, road, water, power,
                       broadband, clinic, school, km, income);
  }
  return out;
}

int64_t CountLines(std::string_view text) {
  return static_cast<int64_t>(std::count(text.begin(), text.end(), '\n'));
}

Status WriteAll(const Plan& plan, const GenOptions& options, const ProgressFn& progress, Writer& w,
                GenSummary& summary) {
  const fs::path dir = options.out;
  const fs::path truth_dir = dir / kTruthDir;
  std::error_code ec;
  fs::create_directories(truth_dir, ec);
  if (ec) return Unavailable(fmt::format("cannot create {}: {}", truth_dir.string(), ec.message()));

  RETURN_IF_ERROR(w.regions.Open(dir / kRegionsFile));
  for (int f = 0; f < kFileCount; ++f) {
    RETURN_IF_ERROR(w.data[f].Open(dir / kFiles[f].name));
    RETURN_IF_ERROR(w.data[f].Write(Header(kFiles[f].header)));
  }
  RETURN_IF_ERROR(w.truth_rows.Open(truth_dir / kTruthDepartmentRows));
  RETURN_IF_ERROR(w.truth_rows.Write(Header(kTruthDepartmentRowsHeader)));
  for (int f = kFirstDepartmentFile; f < kFileCount; ++f) {
    RETURN_IF_ERROR(w.truth_parts[f].Open(truth_dir / fmt::format("{}.rows", kFiles[f].name)));
  }
  RETURN_IF_ERROR(w.truth_planted.Open(truth_dir / kTruthPlanted));
  RETURN_IF_ERROR(w.truth_planted.Write(Header(kTruthPlantedHeader)));
  RETURN_IF_ERROR(w.truth_dirty.Open(truth_dir / kTruthDirty));
  RETURN_IF_ERROR(w.truth_dirty.Write(Header(kTruthDirtyHeader)));
  if (options.xlsx) {
    w.xlsx[0] = std::make_unique<XlsxSheet>();
    w.xlsx[1] = std::make_unique<XlsxSheet>();
    // households: household_id, village_code, head_id_number, other_causes, cadre_id.
    RETURN_IF_ERROR(
        w.xlsx[0]->Open(dir / "households.xlsx", kFiles[kHouseholds].header, {0, 1, 2, 5, 24}));
    // members: id_number, household_id, name, birth_date, ethnicity (two digits).
    RETURN_IF_ERROR(
        w.xlsx[1]->Open(dir / "members.xlsx", kFiles[kMembers].header, {0, 1, 2, 4, 6}));
  }

  // regions.csv: the built-in list as is.
  std::string regions(BuiltinRegionsCsv());
  const int64_t region_rows = CountLines(regions) - 1;
  if (options.gb18030) {
    Gb18030Encoder encoder;
    std::string scratch;
    if (!encoder.ok() || !encoder.Convert(regions, scratch)) {
      return Internal("GB18030 conversion is unavailable (iconv)");
    }
  }
  RETURN_IF_ERROR(w.regions.Write(regions));
  std::string villages = VillagesCsv(plan);
  const int64_t village_rows = CountLines(villages) - 1;
  if (options.gb18030) {
    Gb18030Encoder encoder;
    std::string scratch;
    if (!encoder.ok() || !encoder.Convert(villages, scratch))
      return Internal("GB18030 conversion is unavailable (iconv)");
  }
  RETURN_IF_ERROR(w.villages.Open(dir / kVillagesFile));
  RETURN_IF_ERROR(w.villages.Write(villages));

  const int blocks = static_cast<int>(plan.townships.size());
  int threads = options.threads > 0
                    ? options.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = std::clamp(threads, 1, 64);
  Pipeline p;
  p.ready.resize(static_cast<size_t>(blocks));
  p.window = 2 * threads + 2;
  // Pipeline stages (core/executor.h): this thread writes the blocks they make, in order.
  std::vector<std::unique_ptr<Concurrent>> workers;
  workers.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    workers.push_back(
        std::make_unique<Concurrent>([&] { RunWorker(plan, options.gb18030, options.xlsx, p); }));
  }
  Status status;
  GenProgress prog;
  prog.townships_total = blocks;
  for (int b = 0; b < blocks && status.ok(); ++b) {
    std::unique_ptr<BlockOutput> out;
    {
      std::unique_lock lock(p.mu);
      p.cv.wait(lock, [&] { return p.abort || p.ready[static_cast<size_t>(b)] != nullptr; });
      if (p.abort) {
        status = Internal(p.worker_error);
        break;
      }
      out = std::move(p.ready[static_cast<size_t>(b)]);
    }
    status = w.WriteBlock(*out);
    {
      std::lock_guard lock(p.mu);
      p.written = b + 1;
      p.free_list.push_back(std::move(out));
      if (!status.ok()) p.abort = true;
    }
    p.cv.notify_all();
    if (progress && status.ok()) {
      prog.townships_done = b + 1;
      prog.rows_written = 0;
      for (int64_t r : w.rows) prog.rows_written += r;
      prog.bytes_written = w.Bytes();
      progress(prog);
    }
  }
  {
    std::lock_guard lock(p.mu);
    p.abort = true;
  }
  p.cv.notify_all();
  for (auto& w : workers) w->Join();
  RETURN_IF_ERROR(status);

  // Counts and summary.
  summary.households = w.households;
  summary.members = w.members;
  summary.files.push_back({std::string(kRegionsFile), region_rows});
  summary.files.push_back({std::string(kVillagesFile), village_rows});
  for (int f = 0; f < kFileCount; ++f) {
    summary.files.push_back({std::string(kFiles[f].name), w.rows[f]});
    if (f >= kFirstDepartmentFile) summary.department_rows += w.rows[f];
  }
  summary.dirty_fields = w.dirty;
  summary.planted_cases = w.planted;

  RETURN_IF_ERROR(w.truth_counts.Open(truth_dir / kTruthCounts));
  std::string text = "file,rows\n";
  for (const FileRows& f : summary.files) text += fmt::format("{},{}\n", f.file, f.rows);
  RETURN_IF_ERROR(w.truth_counts.Write(text));

  RETURN_IF_ERROR(w.truth_summary.Open(truth_dir / kTruthSummary));
  text = "key,value\n";
  text += "generator,fupin gen\n";
  text += "format,exchange-format v1\n";
  text += fmt::format("seed,{}\n", options.seed);
  text += fmt::format("scale,{}\n", options.scale);
  text += fmt::format("encoding,{}\n", options.gb18030 ? "gb18030" : "utf8");
  text += fmt::format("data_year,{}\n", kDataYear);
  text += fmt::format("nbs_line_{},{}\n", kDataYear, kNbsLine2019Fen / 100);
  text += fmt::format("guizhou_line_{},{}\n", kDataYear, kGuizhouLine2019Fen / 100);
  text += fmt::format("households,{}\n", summary.households);
  text += fmt::format("members,{}\n", summary.members);
  text += fmt::format("department_rows,{}\n", summary.department_rows);
  text += fmt::format("dirty_fields,{}\n", summary.dirty_fields);
  text += fmt::format("planted_cases,{}\n", summary.planted_cases);
  for (int k = 0; k < static_cast<int>(PlantedKind::kCount); ++k) {
    text += fmt::format("planted_{},{}\n", kPlantedKindNames[k], w.planted_by_kind[k]);
  }
  RETURN_IF_ERROR(w.truth_summary.Write(text));

  // department_rows.csv: the per-file parts in file order.
  for (int f = kFirstDepartmentFile; f < kFileCount; ++f) {
    RETURN_IF_ERROR(w.truth_parts[f].Close());
    RETURN_IF_ERROR(w.truth_rows.Append(w.truth_parts[f].part_path()));
    w.truth_parts[f].Discard();
  }

  // Commit: close everything, then rename.
  RETURN_IF_ERROR(w.regions.Close());
  RETURN_IF_ERROR(w.villages.Close());
  for (OutFile& f : w.data) RETURN_IF_ERROR(f.Close());
  RETURN_IF_ERROR(w.truth_rows.Close());
  RETURN_IF_ERROR(w.truth_planted.Close());
  RETURN_IF_ERROR(w.truth_dirty.Close());
  RETURN_IF_ERROR(w.truth_counts.Close());
  RETURN_IF_ERROR(w.truth_summary.Close());
  for (auto& x : w.xlsx)
    if (x) RETURN_IF_ERROR(x->Close());
  summary.bytes_written = w.Bytes();

  RETURN_IF_ERROR(w.regions.Rename());
  RETURN_IF_ERROR(w.villages.Rename());
  for (OutFile& f : w.data) RETURN_IF_ERROR(f.Rename());
  for (auto& x : w.xlsx)
    if (x) RETURN_IF_ERROR(x->Rename());
  RETURN_IF_ERROR(w.truth_rows.Rename());
  RETURN_IF_ERROR(w.truth_planted.Rename());
  RETURN_IF_ERROR(w.truth_dirty.Rename());
  RETURN_IF_ERROR(w.truth_counts.Rename());
  RETURN_IF_ERROR(w.truth_summary.Rename());
  return OkStatus();
}

}  // namespace

Result<GenSummary> Generate(const GenOptions& options, const ProgressFn& progress) {
  if (options.out.empty()) return Err(InvalidArgument("gen: an output folder is required"));
  ASSIGN_OR_RETURN(Plan plan, MakePlan(options.seed, options.scale));
  if (options.xlsx &&
      static_cast<double>(plan.households) * kMembersPerHouseholdBound > kXlsxMaxDataRows) {
    return Err(InvalidArgument(fmt::format(
        "--xlsx: members.csv would have about {} rows at scale {}, but an XLSX sheet holds at most "
        "{}; use --scale {:.2f} or less",
        static_cast<int64_t>(static_cast<double>(plan.households) * 3.24), options.scale,
        kXlsxMaxDataRows,
        std::floor(kXlsxMaxDataRows / kMembersPerHouseholdBound / 2'300'000 * 100) / 100)));
  }
  Writer writer;
  GenSummary summary;
  Status s = WriteAll(plan, options, progress, writer, summary);
  if (!s.ok()) {
    writer.DiscardAll();
    return Err(std::move(s));
  }
  return summary;
}

}  // namespace fupin::gen
