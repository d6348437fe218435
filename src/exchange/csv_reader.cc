#include "exchange/csv_reader.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <iconv.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "core/text.h"

namespace fupin::exchange {

std::string_view EncodingName(Encoding e) { return e == Encoding::kUtf8 ? "UTF-8" : "GB18030"; }

namespace {

constexpr size_t kChunk = 1 << 20;
constexpr size_t kSniff = 64 << 10;

// Counts well-formed multi-byte GB18030 characters (two-byte 81-FE 40-7E|80-FE, four-byte
// 81-FE 30-39 81-FE 30-39) and malformed bytes in `s`.
struct Tally {
  size_t good = 0;
  size_t bad = 0;
};
Tally TallyGb18030(std::string_view s, bool complete) {
  Tally t;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (i + 1 >= n && !complete) break;
    unsigned char c1 = i + 1 < n ? p[i + 1] : 0;
    if (c >= 0x81 && c <= 0xFE && ((c1 >= 0x40 && c1 <= 0x7E) || (c1 >= 0x80 && c1 <= 0xFE))) {
      ++t.good;
      i += 2;
      continue;
    }
    if (c >= 0x81 && c <= 0xFE && c1 >= 0x30 && c1 <= 0x39) {
      if (i + 3 >= n && !complete) break;
      if (i + 3 < n && p[i + 2] >= 0x81 && p[i + 2] <= 0xFE && p[i + 3] >= 0x30 &&
          p[i + 3] <= 0x39) {
        ++t.good;
        i += 4;
        continue;
      }
    }
    ++t.bad;
    ++i;
  }
  return t;
}

// Counts well-formed multi-byte UTF-8 characters and malformed sequences in `s`. A
// character cut by the end of an incomplete sample is not counted as malformed.
Tally TallyUtf8(std::string_view s, bool complete) {
  Tally t;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len && i + len > n && !complete) break;
    if (len && i + len <= n && IsValidUtf8(s.substr(i, len))) {
      ++t.good;
      i += len;
    } else {
      ++t.bad;
      ++i;
    }
  }
  return t;
}

// Supplies UTF-8 bytes from a file descriptor or memory, converting from GB18030 if needed.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Appends up to about kChunk bytes of UTF-8 to `out`. Returns false at the end.
  virtual Result<bool> Fill(std::string& out) = 0;
  virtual uint64_t BytesRead() const = 0;
  virtual uint64_t BytesTotal() const = 0;
};

class FdSource final : public ByteSource {
 public:
  FdSource(int fd, uint64_t size, std::string pending)
      : fd_(fd), size_(size), pending_(std::move(pending)) {}
  ~FdSource() override { close(fd_); }
  Result<bool> Fill(std::string& out) override {
    if (!pending_.empty()) {
      out.append(pending_);
      read_ += pending_.size();
      pending_.clear();
      pending_.shrink_to_fit();
      return true;
    }
    size_t old = out.size();
    out.resize(old + kChunk);
    ssize_t got;
    do {
      got = read(fd_, out.data() + old, kChunk);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
      out.resize(old);
      return Err(InvalidArgument(fmt::format("read failed: {}", std::strerror(errno))));
    }
    out.resize(old + got);
    read_ += got;
    return got > 0;
  }
  uint64_t BytesRead() const override { return read_; }
  uint64_t BytesTotal() const override { return size_; }

 private:
  int fd_;
  uint64_t size_;
  uint64_t read_ = 0;
  std::string pending_;
};

class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::string_view text) : text_(text) {}
  Result<bool> Fill(std::string& out) override {
    if (pos_ >= text_.size()) return false;
    size_t n = std::min(kChunk, text_.size() - pos_);
    out.append(text_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  uint64_t BytesRead() const override { return pos_; }
  uint64_t BytesTotal() const override { return text_.size(); }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

// Hands out UTF-8. The encoding is decided at the first non-ASCII byte (ASCII reads the
// same in UTF-8 and GB18030, so nothing before it can change): from a sample of 64 KiB
// starting there. GB18030 is converted with iconv as it streams, carrying a character cut
// between chunks.
class AutoSource final : public ByteSource {
 public:
  AutoSource(std::unique_ptr<ByteSource> inner, bool utf8_bom) : inner_(std::move(inner)) {
    if (utf8_bom) mode_ = Mode::kUtf8;
  }
  ~AutoSource() override {
    if (cd_ != reinterpret_cast<iconv_t>(-1)) iconv_close(cd_);
  }
  Result<bool> Fill(std::string& out) override {
    if (!pending_error_.ok()) return Err(pending_error_);
    if (mode_ == Mode::kUtf8) return inner_->Fill(out);
    if (mode_ == Mode::kGb18030) return Convert(out);
    ASSIGN_OR_RETURN(bool more, inner_->Fill(raw_));
    size_t first = 0;
    while (first < raw_.size() && static_cast<unsigned char>(raw_[first]) < 0x80) ++first;
    if (first == raw_.size()) {
      out.append(raw_);
      raw_.clear();
      return more;
    }
    out.append(raw_, 0, first);
    raw_.erase(0, first);
    while (more && raw_.size() < kSniff) {
      ASSIGN_OR_RETURN(more, inner_->Fill(raw_));
    }
    ASSIGN_OR_RETURN(Encoding e, DetectEncoding(raw_, !more));
    if (e == Encoding::kUtf8) {
      mode_ = Mode::kUtf8;
      out.append(raw_);
      raw_.clear();
      return more;
    }
    cd_ = iconv_open("UTF-8", "GB18030");
    if (cd_ == reinterpret_cast<iconv_t>(-1))
      return Err(Internal("iconv has no GB18030 converter"));
    mode_ = Mode::kGb18030;
    inner_done_ = !more;
    return ConvertBuffered(out);
  }
  uint64_t BytesRead() const override { return inner_->BytesRead(); }
  uint64_t BytesTotal() const override { return inner_->BytesTotal(); }
  std::string_view EncodingName() const { return mode_ == Mode::kGb18030 ? "GB18030" : "UTF-8"; }

 private:
  enum class Mode { kUndecided, kUtf8, kGb18030 };

  Result<bool> Convert(std::string& out) {
    if (!inner_done_) {
      ASSIGN_OR_RETURN(bool more, inner_->Fill(raw_));
      inner_done_ = !more;
    }
    return ConvertBuffered(out);
  }
  // Converts what raw_ holds; keeps an incomplete trailing character for the next call.
  Result<bool> ConvertBuffered(std::string& out) {
    if (raw_.empty()) return !inner_done_;
    size_t old = out.size();
    out.resize(old + raw_.size() * 2 + 16);
    char* in = raw_.data();
    size_t in_left = raw_.size();
    char* dst = out.data() + old;
    size_t dst_left = out.size() - old;
    size_t r = iconv(cd_, &in, &in_left, &dst, &dst_left);
    out.resize(out.size() - dst_left);
    Status error;
    if (r == static_cast<size_t>(-1) && errno == EILSEQ) {
      error = InvalidArgument(
          fmt::format("byte 0x{:02X} is not valid GB18030", static_cast<unsigned char>(*in)));
    } else if (r == static_cast<size_t>(-1) && errno == EINVAL && inner_done_) {
      error = InvalidArgument("the file ends in the middle of a GB18030 character");
    }
    if (!error.ok()) {
      // Hand out what converted cleanly first; the error comes with the next call.
      if (in == raw_.data()) return Err(error);
      pending_error_ = error;
      raw_.erase(0, in - raw_.data());
      return true;
    }
    raw_.erase(0, in - raw_.data());
    return !inner_done_ || !raw_.empty();
  }

  std::unique_ptr<ByteSource> inner_;
  Mode mode_ = Mode::kUndecided;
  iconv_t cd_ = reinterpret_cast<iconv_t>(-1);
  std::string raw_;
  bool inner_done_ = false;
  Status pending_error_;
};

class CsvRowSource final : public RowSource {
 public:
  explicit CsvRowSource(std::unique_ptr<AutoSource> bytes) : bytes_(std::move(bytes)) {}

  Result<bool> Next(RawRow& row) override {
    if (failed_) return Err(InvalidArgument("reader already failed"));
    // Cells are filled in place, so their buffers are reused from row to row.
    row.invalid_utf8_cell = -1;
    ncells_ = 0;
    std::string* field = &CellAt(row, 0);
    bool in_quotes = false;
    bool quoted_field = false;  // the current field started with a quote
    bool any = false;           // the row has at least one character
    int64_t start_line = line_;
    row.source_line = start_line;
    for (;;) {
      if (pos_ >= buf_.size()) {
        buf_.clear();
        pos_ = 0;
        if (!eof_) {
          auto more = bytes_->Fill(buf_);
          if (!more) {
            failed_ = true;
            return Err(InvalidArgument(fmt::format("line {}: {}", line_, more.error().message())));
          }
          if (!*more) eof_ = true;
        }
        if (buf_.empty() && !pending_error_.ok()) {
          failed_ = true;
          return Err(InvalidArgument(fmt::format("line {}: {}", line_, pending_error_.message())));
        }
        if (buf_.empty()) {
          if (in_quotes) {
            failed_ = true;
            return Err(InvalidArgument(fmt::format(
                "line {}: the file ends inside a quoted field that starts on line {}; the file "
                "is cut off or a quote is not closed",
                line_, start_line)));
          }
          if (!any) return false;
          return Finish(row);
        }
        if (first_ && buf_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
        first_ = false;
      }
      const char* p = buf_.data() + pos_;
      const char* end = buf_.data() + buf_.size();
      if (in_quotes) {
        const char* q = static_cast<const char*>(memchr(p, '"', end - p));
        const char* stop = q ? q : end;
        for (const char* c = p; c < stop; ++c)
          if (*c == '\n') ++line_;
        Append(*field, p, stop);
        pos_ = stop - buf_.data();
        if (!q) continue;
        // At a quote: "" is a literal quote, otherwise the quoted part ends.
        if (q + 1 == end) {
          if (!PeekMore()) {
            ++pos_;
            in_quotes = false;
            continue;
          }
          continue;  // buffer now holds the next byte; re-examine the quote
        }
        if (q[1] == '"') {
          Append(*field, q, q + 1);
          pos_ += 2;
        } else {
          ++pos_;
          in_quotes = false;
        }
        continue;
      }
      // Outside quotes: scan to the next special character.
      const char* c = p;
      while (c < end && *c != ',' && *c != '\n' && *c != '\r' && *c != '"') ++c;
      if (c > p) {
        any = true;
        Append(*field, p, c);
      }
      pos_ = c - buf_.data();
      if (c == end) continue;
      any = true;
      switch (*c) {
        case ',':
          field = &CellAt(row, ++ncells_);
          quoted_field = false;
          ++pos_;
          break;
        case '"':
          if (field->empty() && !quoted_field) {
            in_quotes = true;
            quoted_field = true;
          } else {
            Append(*field, c, c + 1);  // a stray quote inside an unquoted field is kept
          }
          ++pos_;
          break;
        case '\r':
          ++pos_;
          if (pos_ >= buf_.size()) PeekMore();
          if (pos_ < buf_.size() && buf_[pos_] == '\n') ++pos_;
          ++line_;
          return Finish(row);
        case '\n':
          ++pos_;
          ++line_;
          return Finish(row);
      }
    }
  }

  uint64_t BytesRead() const override { return bytes_->BytesRead(); }
  uint64_t BytesTotal() const override { return bytes_->BytesTotal(); }
  std::string_view Encoding() const override { return bytes_->EncodingName(); }

 private:
  // Makes sure bytes after pos_ are loaded when the buffer ran out; returns false at the end.
  bool PeekMore() {
    if (eof_) return false;
    buf_.erase(0, pos_);
    pos_ = 0;
    auto more = bytes_->Fill(buf_);
    if (!more) pending_error_ = more.error();
    if (!more || !*more) eof_ = true;
    return pos_ < buf_.size();
  }
  // Appends [begin, end) to a cell, keeping at most kMaxCellBytes + 1 bytes: a longer value
  // is rejected by the importer anyway, and memory stays bounded whatever the file holds.
  static void Append(std::string& field, const char* begin, const char* end) {
    const size_t room = kMaxCellBytes + 1 - std::min(field.size(), kMaxCellBytes + 1);
    field.append(begin, std::min(static_cast<size_t>(end - begin), room));
  }
  // The cell at index i, emptied, keeping its buffer when the row had one there before.
  std::string& CellAt(RawRow& row, size_t i) {
    if (row.cells.size() <= i) row.cells.resize(i + 1);
    row.cells[i].clear();
    return row.cells[i];
  }
  Result<bool> Finish(RawRow& row) {
    row.cells.resize(ncells_ + 1);
    row.numeric.assign(ncells_ + 1, false);
    for (size_t i = 0; i < row.cells.size(); ++i) {
      if (row.cells[i].size() > kMaxCellBytes)
        continue;  // too long: rejected, maybe cut mid-character
      if (!IsValidUtf8(row.cells[i])) {
        // Never pass mojibake on; the importer rejects the row and reading goes on.
        if (row.invalid_utf8_cell < 0) row.invalid_utf8_cell = static_cast<int>(i);
        row.cells[i].clear();
      }
    }
    return true;
  }

  std::unique_ptr<AutoSource> bytes_;
  size_t ncells_ = 0;  // index of the cell being filled
  std::string buf_;
  Status pending_error_;  // a read failure met while looking ahead, reported after the row
  size_t pos_ = 0;
  bool eof_ = false;
  bool first_ = true;
  bool failed_ = false;
  int64_t line_ = 1;
};

// Refuses UTF-16 text (a byte-order mark, or a NUL beside most ASCII characters), naming it
// and how to convert it, and binary data (NUL bytes among many control characters). A few NUL bytes
// in text are left to the rows that hold them: the importer rejects those rows, naming the line.
Status CheckNotBinary(std::string_view sample) {
  const bool utf16_bom = sample.starts_with("\xFF\xFE") || sample.starts_with("\xFE\xFF");
  size_t nul_even = 0, nul_odd = 0;
  for (size_t i = 0; i < sample.size(); ++i)
    if (sample[i] == '\0') ++(i % 2 ? nul_odd : nul_even);
  const size_t half = sample.size() / 2;
  if (utf16_bom || (half >= 2 && std::max(nul_even, nul_odd) * 10 >= half * 6)) {
    return InvalidArgument(
        "the file is UTF-16 text; fupin reads UTF-8 or GB18030: in Excel save it as \"CSV UTF-8 "
        "(Comma delimited)\", or convert it with `iconv -f UTF-16 -t UTF-8` / 文件是 UTF-16 "
        "编码；请在 Excel 中另存为“CSV UTF-8（逗号分隔）”，或用 iconv -f UTF-16 -t UTF-8 转换");
  }
  // NUL bytes among many other control characters (over 1% of the bytes, tab and line ends
  // aside): no text file. Text with a stray NUL has next to none.
  size_t controls = 0;
  for (char c : sample)
    controls += static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r';
  if (nul_even + nul_odd > 0 && controls * 100 > sample.size())
    return InvalidArgument("the file holds NUL bytes: it is binary, not CSV text");
  return OkStatus();
}

Result<CsvFile> MakeCsv(std::unique_ptr<ByteSource> source, const std::string& sample,
                        bool complete) {
  bool has_bom = std::string_view(sample).starts_with("\xEF\xBB\xBF");
  // Refuse binary and undecodable files up front; the real decision is AutoSource's.
  Encoding encoding = Encoding::kUtf8;
  if (!has_bom) {
    ASSIGN_OR_RETURN(encoding, DetectEncoding(sample, complete));
  } else {
    RETURN_IF_ERROR(CheckNotBinary(sample));
  }
  auto bytes = std::make_unique<AutoSource>(std::move(source), has_bom);
  return CsvFile{std::make_unique<CsvRowSource>(std::move(bytes)), encoding};
}

}  // namespace

Result<Encoding> DetectEncoding(std::string_view sample, bool complete) {
  RETURN_IF_ERROR(CheckNotBinary(sample));
  // Mostly well-formed UTF-8 is UTF-8, even with a stray bad row (that row is rejected
  // later): GB18030 text almost never forms valid multi-byte UTF-8 by chance.
  // Likewise mostly well-formed GB18030 is GB18030; reading stops at a bad byte.
  Tally utf8 = TallyUtf8(sample, complete);
  if (utf8.bad == 0 || utf8.good >= 4 * utf8.bad) return Encoding::kUtf8;
  Tally gb = TallyGb18030(sample, complete);
  if (gb.bad == 0 || gb.good >= 4 * gb.bad) return Encoding::kGb18030;
  if (sample.find('\0') != std::string_view::npos)  // a NUL and no text around it
    return Err(InvalidArgument("the file holds NUL bytes: it is binary, not CSV text"));
  return Err(InvalidArgument("the file is neither UTF-8 nor GB18030 text"));
}

Result<CsvFile> OpenCsv(const std::filesystem::path& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Err(NotFound(fmt::format("cannot open {}: {}", path.string(), std::strerror(errno))));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Err(InvalidArgument(fmt::format("{} is not a regular file", path.string())));
  }
  std::string sample(kSniff, '\0');
  size_t have = 0;
  while (have < kSniff) {
    ssize_t got = read(fd, sample.data() + have, kSniff - have);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    have += got;
  }
  sample.resize(have);
  bool complete = static_cast<uint64_t>(have) >= static_cast<uint64_t>(st.st_size);
  std::string pending = sample;
  auto source = std::make_unique<FdSource>(fd, st.st_size, std::move(pending));
  return MakeCsv(std::move(source), sample, complete);
}

Result<CsvFile> OpenCsvText(std::string_view text) {
  std::string sample(text.substr(0, kSniff));
  return MakeCsv(std::make_unique<MemorySource>(text), sample, text.size() <= kSniff);
}

}  // namespace fupin::exchange
