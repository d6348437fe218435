#include "link_eval.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace fupin::link_eval {

double LinkCounts::Precision() const {
  if (linked == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(correct) / static_cast<double>(linked);
}

double LinkCounts::Recall() const {
  if (registry_rows == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(correct) / static_cast<double>(registry_rows);
}

namespace {

namespace fs = std::filesystem;

// Streams the records of a CSV file (RFC 4180: quoted fields, doubled quotes, line breaks
// inside quotes, CRLF, a UTF-8 BOM) in large chunks. Fields are views valid until the next
// call. Lines without a quote, which is every line the generator and the linker write, take
// a memchr fast path.
class CsvStream {
 public:
  static Result<CsvStream> Open(const fs::path& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
      return Err(NotFound(fmt::format("cannot open {}: {}", path.string(), std::strerror(errno))));
    }
    return CsvStream(path, f);
  }

  // Reads the next record into `fields`. Returns false at the end of the file.
  Result<bool> Next(std::vector<std::string_view>& fields) {
    for (;;) {
      if (pos_ == buf_.size() && eof_) return false;
      ++record_;
      const char* begin = buf_.data() + pos_;
      const size_t avail = buf_.size() - pos_;
      const void* nl = std::memchr(begin, '\n', avail);
      if (nl == nullptr && !eof_) {
        --record_;
        RETURN_IF_ERROR(Refill());
        continue;
      }
      const size_t line_len = nl ? static_cast<const char*>(nl) - begin : avail;
      if (std::memchr(begin, '"', line_len) == nullptr) {
        std::string_view line(begin, line_len);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        SplitPlain(line, fields);
        pos_ += nl ? line_len + 1 : line_len;
        return true;
      }
      ASSIGN_OR_RETURN(bool complete, SplitQuoted(fields));
      if (complete) return true;
      --record_;
      RETURN_IF_ERROR(Refill());
    }
  }

  // 1-based number of the record last returned (the header is record 1).
  int64_t record() const { return record_; }
  const fs::path& path() const { return path_; }

 private:
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  static constexpr size_t kChunk = size_t{4} << 20;

  CsvStream(fs::path path, std::FILE* f) : path_(std::move(path)), file_(f) {}

  // Moves the unread bytes to the front and appends the next chunk.
  Status Refill() {
    buf_.erase(0, pos_);
    pos_ = 0;
    const size_t old = buf_.size();
    buf_.resize(old + kChunk);
    const size_t got = std::fread(buf_.data() + old, 1, kChunk, file_.get());
    buf_.resize(old + got);
    if (got < kChunk) {
      if (std::ferror(file_.get())) {
        return DataLoss(fmt::format("error reading {}", path_.string()));
      }
      eof_ = true;
    }
    if (!bom_checked_ && (buf_.size() >= 3 || eof_)) {
      bom_checked_ = true;
      if (buf_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
    }
    return OkStatus();
  }

  static void SplitPlain(std::string_view line, std::vector<std::string_view>& fields) {
    fields.clear();
    for (;;) {
      const size_t comma = line.find(',');
      fields.push_back(line.substr(0, comma));
      if (comma == std::string_view::npos) return;
      line.remove_prefix(comma + 1);
    }
  }

  // Parses one record that holds a quote, from pos_. Returns false, consuming nothing, when
  // the buffer ends inside it before the end of the file.
  Result<bool> SplitQuoted(std::vector<std::string_view>& fields) {
    fields.clear();
    unescaped_.clear();
    const std::string_view s(buf_.data() + pos_, buf_.size() - pos_);
    size_t i = 0;
    for (;;) {
      if (i < s.size() && s[i] == '"') {
        std::string& cell = unescaped_.emplace_back();
        ++i;
        for (;;) {
          if (i == s.size()) {
            if (!eof_) return false;
            return Err(InvalidArgument(
                fmt::format("{} record {}: unterminated quoted field", path_.string(), record_)));
          }
          if (s[i] == '"') {
            if (i + 1 == s.size() && !eof_) return false;
            if (i + 1 < s.size() && s[i + 1] == '"') {
              cell.push_back('"');
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          cell.push_back(s[i++]);
        }
        fields.push_back(cell);
        // Text after a closing quote up to the separator is kept, as lenient readers do.
        const size_t stop = s.find_first_of(",\n", i);
        if (stop == std::string_view::npos && !eof_) return false;
        std::string_view rest = s.substr(i, stop == std::string_view::npos ? s.npos : stop - i);
        if (!rest.empty() && rest.back() == '\r') rest.remove_suffix(1);
        if (!rest.empty()) {
          cell.append(rest);
          fields.back() = cell;
        }
        i = stop == std::string_view::npos ? s.size() : stop;
      } else {
        const size_t stop = s.find_first_of(",\n", i);
        if (stop == std::string_view::npos && !eof_) return false;
        std::string_view cell = s.substr(i, stop == std::string_view::npos ? s.npos : stop - i);
        if (!cell.empty() && cell.back() == '\r' && (stop == s.npos || s[stop] == '\n')) {
          cell.remove_suffix(1);
        }
        fields.push_back(cell);
        i = stop == std::string_view::npos ? s.size() : stop;
      }
      if (i == s.size()) {
        pos_ = buf_.size();
        return true;
      }
      if (s[i] == '\n') {
        pos_ += i + 1;
        return true;
      }
      ++i;  // the comma
    }
  }

  fs::path path_;
  std::unique_ptr<std::FILE, Closer> file_;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
  bool bom_checked_ = false;
  int64_t record_ = 0;
  std::deque<std::string> unescaped_;  // deque: views into earlier cells stay valid
};

// Reads the header and returns the index of each named column.
template <size_t N>
Result<std::array<size_t, N>> ReadHeader(CsvStream& csv, std::vector<std::string_view>& fields,
                                         const std::array<std::string_view, N>& names) {
  ASSIGN_OR_RETURN(bool got, csv.Next(fields));
  if (!got) return Err(InvalidArgument(fmt::format("{} is empty", csv.path().string())));
  std::array<size_t, N> index;
  for (size_t n = 0; n < N; ++n) {
    size_t i = 0;
    while (i < fields.size() && fields[i] != names[n]) ++i;
    if (i == fields.size()) {
      return Err(
          InvalidArgument(fmt::format("{} has no column '{}'", csv.path().string(), names[n])));
    }
    index[n] = i;
  }
  return index;
}

Status BadLine(const CsvStream& csv, std::string_view what) {
  return InvalidArgument(fmt::format("{} record {}: {}", csv.path().string(), csv.record(), what));
}

// A canonical ID (17 ASCII digits and a check character 0-9 or X) as d*11 + check + 1,
// below 1.1e18; 0 when `id` is not canonical.
uint64_t PackId(std::string_view id) {
  if (id.size() != 18) return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < 17; ++i) {
    const char c = id[i];
    if (c < '0' || c > '9') return 0;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  uint64_t check;
  if (id[17] >= '0' && id[17] <= '9') {
    check = static_cast<uint64_t>(id[17] - '0');
  } else if (id[17] == 'X') {
    check = 10;
  } else {
    return 0;
  }
  return v * 11 + check + 1;
}

// A linked id_number that is not canonical: never equal to a packed true_id.
constexpr uint64_t kUnreadableId = std::numeric_limits<uint64_t>::max();

// Bits of the per-row mark word.
constexpr uint16_t kPresent = 1u << 15;  // the truth has this row
constexpr uint16_t kSeen = 1u << 14;     // links.csv had a line for it
constexpr uint16_t kDirtMask = kSeen - 1;
constexpr size_t kMaxDirtKinds = 14;

constexpr std::array<std::string_view, 12> kKnownDirt = {
    "id_number/empty",
    "id_number/old15",
    "id_number/mistyped_digit",
    "id_number/transposed_digits",
    "id_number/fullwidth_digits",
    "id_number/spaces",
    "id_number/lowercase_x",
    "name/traditional",
    "name/homophone",
    "name/similar_char",
    "name/spaces",
    "name/dot_variant",
};

constexpr std::array<std::string_view, 5> kStages = {"exact", "repaired", "probabilistic", "review",
                                                     "unlinked"};
constexpr size_t kMissingStage = kStages.size();
constexpr size_t kLinkingStages = 3;  // exact, repaired, probabilistic carry an id_number

struct FileTruth {
  std::string dataset;
  std::vector<uint64_t> ids;    // by row - 1: packed true_id, 0 for an outsider
  std::vector<uint16_t> marks;  // by row - 1: kPresent, kSeen and dirt bits
};

std::string_view DatasetOf(std::string_view file) {
  if (file.ends_with(".csv")) file.remove_suffix(4);
  return file;
}

Result<int64_t> ParseRow(const CsvStream& csv, std::string_view text) {
  int64_t row = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), row);
  if (ec != std::errc() || end != text.data() + text.size() || row < 1) {
    return Err(BadLine(csv, fmt::format("row '{}' is not a positive integer", text)));
  }
  return row;
}

struct Truth {
  std::vector<FileTruth> files;
  std::unordered_map<std::string, size_t> by_dataset;
  std::vector<std::string> dirt_kinds;

  size_t FileIndex(std::string_view dataset) {
    auto it = by_dataset.find(std::string(dataset));
    if (it != by_dataset.end()) return it->second;
    by_dataset.emplace(std::string(dataset), files.size());
    files.push_back(FileTruth{std::string(dataset), {}, {}});
    return files.size() - 1;
  }
  const FileTruth* Find(std::string_view dataset) const {
    auto it = by_dataset.find(std::string(dataset));
    return it == by_dataset.end() ? nullptr : &files[it->second];
  }
};

Status ReadDepartmentRows(const fs::path& path, Truth& truth) {
  ASSIGN_OR_RETURN(CsvStream csv, CsvStream::Open(path));
  std::vector<std::string_view> f;
  ASSIGN_OR_RETURN(auto col, ReadHeader<3>(csv, f, {"file", "row", "true_id"}));
  std::string last_file;
  FileTruth* file = nullptr;
  for (;;) {
    ASSIGN_OR_RETURN(bool got, csv.Next(f));
    if (!got) break;
    if (f.size() == 1 && f[0].empty()) continue;  // blank line
    if (f.size() <= std::max({col[0], col[1], col[2]})) return BadLine(csv, "too few fields");
    if (file == nullptr || f[col[0]] != last_file) {
      last_file = f[col[0]];
      file = &truth.files[truth.FileIndex(DatasetOf(last_file))];
    }
    ASSIGN_OR_RETURN(int64_t row, ParseRow(csv, f[col[1]]));
    uint64_t id = 0;
    if (!f[col[2]].empty()) {
      id = PackId(f[col[2]]);
      if (id == 0) return BadLine(csv, fmt::format("true_id '{}' is not an ID", f[col[2]]));
    }
    const size_t i = static_cast<size_t>(row - 1);
    if (i >= file->ids.size()) {
      file->ids.resize(i + 1, 0);
      file->marks.resize(i + 1, 0);
    }
    if (file->marks[i] & kPresent) {
      return BadLine(csv, fmt::format("{} row {} listed twice", last_file, row));
    }
    file->ids[i] = id;
    file->marks[i] = kPresent;
  }
  for (FileTruth& ft : truth.files) {
    ft.ids.shrink_to_fit();
    ft.marks.shrink_to_fit();
  }
  return OkStatus();
}

Status ReadDirty(const fs::path& path, Truth& truth) {
  ASSIGN_OR_RETURN(CsvStream csv, CsvStream::Open(path));
  std::vector<std::string_view> f;
  ASSIGN_OR_RETURN(auto col, ReadHeader<4>(csv, f, {"file", "row", "field", "kind"}));
  std::string name;
  for (;;) {
    ASSIGN_OR_RETURN(bool got, csv.Next(f));
    if (!got) break;
    if (f.size() == 1 && f[0].empty()) continue;
    if (f.size() <= std::max({col[0], col[1], col[2], col[3]})) {
      return BadLine(csv, "too few fields");
    }
    name.assign(f[col[2]]);
    name.push_back('/');
    name.append(f[col[3]]);
    size_t bit = 0;
    while (bit < truth.dirt_kinds.size() && truth.dirt_kinds[bit] != name) ++bit;
    if (bit == truth.dirt_kinds.size()) {
      if (bit == kMaxDirtKinds) return BadLine(csv, "more dirt kinds than link_eval can count");
      truth.dirt_kinds.push_back(name);
    }
    auto it = truth.by_dataset.find(std::string(DatasetOf(f[col[0]])));
    ASSIGN_OR_RETURN(int64_t row, ParseRow(csv, f[col[1]]));
    const size_t i = static_cast<size_t>(row - 1);
    if (it == truth.by_dataset.end() || i >= truth.files[it->second].marks.size() ||
        !(truth.files[it->second].marks[i] & kPresent)) {
      return BadLine(csv, fmt::format("{} row {} is not in department_rows.csv", f[col[0]], row));
    }
    truth.files[it->second].marks[i] |= static_cast<uint16_t>(1u << bit);
  }
  return OkStatus();
}

// Counts of every group, indexed as the truth and the stage list are.
struct Tally {
  LinkCounts overall;
  std::array<LinkCounts, kMaxDirtKinds> dirt;
  LinkCounts no_dirt;
  std::array<LinkCounts, kStages.size() + 1> stage;
  std::vector<LinkCounts> dataset;

  void Add(size_t file, size_t stage_index, uint16_t mark, bool registry, bool linked,
           bool correct) {
    auto add = [&](LinkCounts& c) {
      ++c.rows;
      c.registry_rows += registry;
      c.linked += linked;
      c.correct += correct;
      c.outsider_linked += linked && !registry;
    };
    add(overall);
    add(stage[stage_index]);
    add(dataset[file]);
    unsigned dirt_bits = mark & kDirtMask;
    if (dirt_bits == 0) add(no_dirt);
    while (dirt_bits != 0) {
      add(dirt[static_cast<size_t>(std::countr_zero(dirt_bits))]);
      dirt_bits &= dirt_bits - 1;
    }
  }
};

Status ScoreLinks(const fs::path& path, Truth& truth, Tally& tally, LinkAccuracy& out) {
  ASSIGN_OR_RETURN(CsvStream csv, CsvStream::Open(path));
  std::vector<std::string_view> f;
  ASSIGN_OR_RETURN(auto col, ReadHeader<4>(csv, f, {"dataset", "row", "id_number", "stage"}));
  const size_t needed = std::max({col[0], col[1], col[2], col[3]});
  std::string last_dataset;
  bool have_dataset = false;
  FileTruth* file = nullptr;
  size_t file_index = 0;
  for (;;) {
    ASSIGN_OR_RETURN(bool got, csv.Next(f));
    if (!got) break;
    if (f.size() == 1 && f[0].empty()) continue;
    if (f.size() <= needed) return BadLine(csv, "too few fields");
    ++out.links_lines;
    size_t stage = 0;
    while (stage < kStages.size() && kStages[stage] != f[col[3]]) ++stage;
    if (stage == kStages.size()) {
      return BadLine(csv, fmt::format("unknown stage '{}' (want exact, repaired, probabilistic, "
                                      "review or unlinked)",
                                      f[col[3]]));
    }
    ASSIGN_OR_RETURN(int64_t row, ParseRow(csv, f[col[1]]));
    const std::string_view id_text = f[col[2]];
    const bool linked = !id_text.empty();
    if (linked != (stage < kLinkingStages)) ++out.inconsistent_lines;
    if (!have_dataset || f[col[0]] != last_dataset) {
      have_dataset = true;
      last_dataset = f[col[0]];
      auto it = truth.by_dataset.find(std::string(DatasetOf(last_dataset)));
      file = it == truth.by_dataset.end() ? nullptr : &truth.files[it->second];
      file_index = file ? it->second : 0;
    }
    const size_t i = static_cast<size_t>(row - 1);
    if (file == nullptr || i >= file->marks.size() || !(file->marks[i] & kPresent)) {
      ++out.extra_lines;
      continue;
    }
    uint16_t& mark = file->marks[i];
    if (mark & kSeen) {
      ++out.duplicate_lines;
      continue;
    }
    mark |= kSeen;
    const uint64_t true_id = file->ids[i];
    uint64_t id = 0;
    if (linked) {
      id = PackId(id_text);
      if (id == 0) id = kUnreadableId;
    }
    tally.Add(file_index, stage, mark, true_id != 0, linked, linked && id == true_id);
  }
  return OkStatus();
}

}  // namespace

Result<LinkAccuracy> EvaluateLinks(const fs::path& truth_dir, const fs::path& links_csv) {
  Truth truth;
  truth.dirt_kinds.assign(kKnownDirt.begin(), kKnownDirt.end());
  RETURN_IF_ERROR(ReadDepartmentRows(truth_dir / "department_rows.csv", truth));
  RETURN_IF_ERROR(ReadDirty(truth_dir / "dirty.csv", truth));

  LinkAccuracy out;
  Tally tally;
  tally.dataset.resize(truth.files.size());
  RETURN_IF_ERROR(ScoreLinks(links_csv, truth, tally, out));

  for (size_t file = 0; file < truth.files.size(); ++file) {
    const FileTruth& ft = truth.files[file];
    for (size_t i = 0; i < ft.marks.size(); ++i) {
      const uint16_t mark = ft.marks[i];
      if (!(mark & kPresent) || (mark & kSeen)) continue;
      ++out.missing_rows;
      tally.Add(file, kMissingStage, mark, ft.ids[i] != 0, false, false);
    }
  }

  out.overall = tally.overall;
  out.id_empty = tally.dirt[0];  // kKnownDirt[0] is id_number/empty
  for (size_t bit = 0; bit < truth.dirt_kinds.size(); ++bit) {
    if (tally.dirt[bit].rows > 0) out.by_dirt.push_back({truth.dirt_kinds[bit], tally.dirt[bit]});
  }
  out.by_dirt.push_back({"none", tally.no_dirt});
  for (size_t s = 0; s < kStages.size(); ++s) {
    if (tally.stage[s].rows > 0) out.by_stage.push_back({std::string(kStages[s]), tally.stage[s]});
  }
  if (tally.stage[kMissingStage].rows > 0) {
    out.by_stage.push_back({"missing", tally.stage[kMissingStage]});
  }
  for (size_t file = 0; file < truth.files.size(); ++file) {
    out.by_dataset.push_back({truth.files[file].dataset, tally.dataset[file]});
  }
  return out;
}

std::string WithThousands(int64_t n) {
  std::string digits = fmt::format("{}", n < 0 ? -static_cast<uint64_t>(n) : uint64_t(n));
  std::string out;
  if (n < 0) out.push_back('-');
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

namespace {

std::string Figure(double x) { return std::isnan(x) ? "n/a" : fmt::format("{:.4f}", x); }

void AppendTable(std::string& out, std::string_view first_column,
                 const std::vector<NamedCounts>& groups) {
  out += fmt::format(
      "| {} | rows | registry rows | linked | correct | wrong | outsiders linked | precision | "
      "recall |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
      first_column);
  for (const NamedCounts& g : groups) {
    const LinkCounts& c = g.counts;
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", g.name,
                       WithThousands(c.rows), WithThousands(c.registry_rows),
                       WithThousands(c.linked), WithThousands(c.correct), WithThousands(c.wrong()),
                       WithThousands(c.outsider_linked), Figure(c.Precision()), Figure(c.Recall()));
  }
}

}  // namespace

std::string FormatMarkdown(const LinkAccuracy& a) {
  std::string out =
      "## Link accuracy\n\n"
      "precision = correct / linked (outsider rows included); recall = correct / registry "
      "rows. Linked: id_number non-empty; registry rows: true_id non-empty.\n\n";
  AppendTable(out, "group",
              {{"all department rows", a.overall}, {"ID empty in the file", a.id_empty}});
  out += "\n### By stage\n\n";
  AppendTable(out, "stage", a.by_stage);
  out += "\n### By dirt kind (a row with an ID and a name dirt counts in both)\n\n";
  AppendTable(out, "dirt", a.by_dirt);
  out += "\n### By dataset\n\n";
  AppendTable(out, "dataset", a.by_dataset);
  out += "\n### links.csv\n\n| | lines |\n|---|---:|\n";
  out += fmt::format("| data lines | {} |\n", WithThousands(a.links_lines));
  out += fmt::format("| truth rows with no line (counted as not linked) | {} |\n",
                     WithThousands(a.missing_rows));
  out += fmt::format("| lines naming no truth row (errors) | {} |\n", WithThousands(a.extra_lines));
  out += fmt::format("| duplicate lines for a row (ignored) | {} |\n",
                     WithThousands(a.duplicate_lines));
  out +=
      fmt::format("| stage and id_number disagree | {} |\n", WithThousands(a.inconsistent_lines));
  return out;
}

}  // namespace fupin::link_eval
