#include "exchange/xlsx_reader.h"

#include <expat.h>
#include <fmt/core.h>
#include <zip.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/date.h"
#include "core/text.h"

namespace fupin::exchange {
namespace {

// Zip-bomb guards. The shared-string table is held in memory, so its uncompressed size is
// capped; the workbook, its relationships and the styles are small in any real file. The
// sheet itself is streamed and needs no cap on its size, only on one row.
constexpr uint64_t kMaxSharedStringsBytes = uint64_t{2} << 30;  // 2 GiB
constexpr uint64_t kMaxSmallPartBytes = uint64_t{64} << 20;     // 64 MiB
// A cell longer than kMaxCellBytes (row_source.h; Excel holds at most 32767 characters) is
// cut to kMaxCellBytes + 1 bytes, which the importer rejects as too long.
constexpr size_t kMaxRowBytes = size_t{64} << 20;
constexpr int kMaxColumns = 16384;  // A..XFD
constexpr size_t kChunkBytes = size_t{64} << 10;
// Expat reports namespaced names as "uri<sep>local"; we match on the local part so that
// transitional, strict and prefixed (x:row) SpreadsheetML all read the same.
constexpr XML_Char kNamespaceSeparator = ' ';

struct ZipDiscard {
  void operator()(zip_t* zip) const { zip_discard(zip); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipDiscard>;

struct ZipFileClose {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};
using ZipFilePtr = std::unique_ptr<zip_file_t, ZipFileClose>;

std::string_view LocalName(const XML_Char* name) {
  std::string_view full(name);
  size_t sep = full.rfind(kNamespaceSeparator);
  return sep == std::string_view::npos ? full : full.substr(sep + 1);
}

// Returns the value of the un-namespaced attribute `name`, or nullptr.
const XML_Char* Attr(const XML_Char** attrs, std::string_view name) {
  for (size_t i = 0; attrs[i] != nullptr; i += 2) {
    if (name == attrs[i]) return attrs[i + 1];
  }
  return nullptr;
}

// Returns the value of a namespaced attribute with local name `local` (r:id), or nullptr.
const XML_Char* NamespacedAttr(const XML_Char** attrs, std::string_view local) {
  for (size_t i = 0; attrs[i] != nullptr; i += 2) {
    std::string_view full(attrs[i]);
    size_t sep = full.rfind(kNamespaceSeparator);
    if (sep != std::string_view::npos && full.substr(sep + 1) == local) return attrs[i + 1];
  }
  return nullptr;
}

template <typename Int>
std::optional<Int> ParseInt(std::string_view text) {
  Int value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Reads "_xHHHH_" at the start of `text`.
std::optional<uint32_t> ParseXEscape(std::string_view text) {
  if (text.size() < 7 || text[0] != '_' || text[1] != 'x' || text[6] != '_') return std::nullopt;
  uint32_t value = 0;
  for (size_t i = 2; i < 6; ++i) {
    if (!IsHexDigit(text[i])) return std::nullopt;
    int c = text[i];
    int digit = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    value = value * 16 + static_cast<uint32_t>(digit);
  }
  return value;
}

// Appends `text` to `out`, decoding the _xHHHH_ escapes OOXML uses for characters XML cannot
// carry (_x000D_ is a carriage return, _x005F_ an underscore). Anything that is not a
// well-formed escape of a real character is kept literally.
void AppendXString(std::string_view text, std::string& out) {
  size_t i = 0;
  while (i < text.size()) {
    size_t pos = text.find("_x", i);
    if (pos == std::string_view::npos) {
      out.append(text.substr(i));
      return;
    }
    out.append(text.substr(i, pos - i));
    std::optional<uint32_t> cp = ParseXEscape(text.substr(pos));
    size_t used = 7;
    if (cp && *cp >= 0xD800 && *cp <= 0xDBFF) {
      std::optional<uint32_t> low = ParseXEscape(text.substr(pos + 7));
      if (low && *low >= 0xDC00 && *low <= 0xDFFF) {
        cp = 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
        used = 14;
      } else {
        cp.reset();
      }
    }
    if (!cp || *cp == 0 || (*cp >= 0xD800 && *cp <= 0xDFFF)) {
      out.append("_x");
      i = pos + 2;
      continue;
    }
    AppendUtf8(*cp, out);
    i = pos + used;
  }
}

// Returns the 0-based column of a cell reference ("C5" is 2), or nullopt when `ref` is not
// letters followed by digits or names a column past XFD.
std::optional<int> ColumnFromRef(std::string_view ref) {
  int column = 0;
  size_t i = 0;
  for (; i < ref.size(); ++i) {
    char c = ref[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c < 'A' || c > 'Z') break;
    column = column * 26 + (c - 'A' + 1);
    if (column > kMaxColumns) return std::nullopt;
  }
  if (i == 0) return std::nullopt;
  for (; i < ref.size(); ++i) {
    if (ref[i] < '0' || ref[i] > '9') return std::nullopt;
  }
  return column - 1;
}

bool IsBuiltinDateFormat(int id) {
  return (id >= 14 && id <= 22) || (id >= 27 && id <= 36) || (id >= 45 && id <= 47) ||
         (id >= 50 && id <= 58);
}

// True when a number format code shows a date or time: a y, m, d, h or s outside quoted
// text, [brackets] (colours, locales, conditions), and escaped or padding characters.
bool IsDateFormatCode(std::string_view code) {
  for (size_t i = 0; i < code.size(); ++i) {
    char c = code[i];
    switch (c) {
      case '"': {
        size_t close = code.find('"', i + 1);
        if (close == std::string_view::npos) return false;
        i = close;
        break;
      }
      case '[': {
        size_t close = code.find(']', i + 1);
        if (close == std::string_view::npos) return false;
        i = close;
        break;
      }
      case '\\':
      case '_':
      case '*':
        ++i;  // the next character is literal, or the padding / fill character
        break;
      default:
        switch (c | 0x20) {
          case 'y':
          case 'm':
          case 'd':
          case 'h':
          case 's':
            return true;
          default:
            break;
        }
    }
  }
  return false;
}

// Names the part owning relationships in `source_part`: "xl/workbook.xml" has them in
// "xl/_rels/workbook.xml.rels", the package itself ("") in "_rels/.rels".
std::string RelsPartFor(std::string_view source_part) {
  size_t slash = source_part.rfind('/');
  std::string_view dir = slash == std::string_view::npos ? "" : source_part.substr(0, slash + 1);
  std::string_view base =
      slash == std::string_view::npos ? source_part : source_part.substr(slash + 1);
  return fmt::format("{}_rels/{}.rels", dir, base);
}

// Resolves a relationship target against the folder of its source part, giving a zip
// entry name ("worksheets/sheet1.xml" from "xl/workbook.xml" is "xl/worksheets/sheet1.xml").
std::string ResolveTarget(std::string_view source_part, std::string_view target) {
  std::string joined;
  if (!target.empty() && target.front() == '/') {
    joined = target.substr(1);
  } else {
    size_t slash = source_part.rfind('/');
    if (slash != std::string_view::npos) joined = source_part.substr(0, slash + 1);
    joined += target;
  }
  std::vector<std::string_view> segments;
  std::string_view rest(joined);
  while (true) {
    size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  std::string resolved;
  for (std::string_view segment : segments) {
    if (!resolved.empty()) resolved += '/';
    resolved += segment;
  }
  return resolved;
}

std::string ZipErrorText(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string text = zip_error_strerror(&error);
  zip_error_fini(&error);
  return text;
}

// True when the file starts like an OLE compound document: an encrypted workbook or .xls.
bool LooksLikeOleFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::array<char, 8> head{};
  if (!in.read(head.data(), head.size())) return false;
  return std::string_view(head.data(), head.size()) == "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
}

// An open archive and the name of its file, for messages.
struct Archive {
  std::string file;
  ZipPtr zip;

  std::optional<zip_uint64_t> Locate(std::string_view part) const {
    std::string name(part);
    zip_int64_t index = zip_name_locate(zip.get(), name.c_str(), ZIP_FL_NOCASE);
    if (index < 0) return std::nullopt;
    return static_cast<zip_uint64_t>(index);
  }
};

struct Entry {
  ZipFilePtr file;
  uint64_t size = 0;  // uncompressed, as the zip directory states it
};

Result<Entry> OpenEntry(const Archive& archive, zip_uint64_t index, std::string_view part) {
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_stat_index(archive.zip.get(), index, 0, &stat) != 0) {
    return Err(InvalidArgument(fmt::format("{}: cannot read {} in the zip archive ({})",
                                           archive.file, part, zip_strerror(archive.zip.get()))));
  }
  zip_file_t* file = zip_fopen_index(archive.zip.get(), index, 0);
  if (file == nullptr) {
    return Err(InvalidArgument(fmt::format("{}: cannot open {} in the zip archive ({})",
                                           archive.file, part, zip_strerror(archive.zip.get()))));
  }
  Entry entry;
  entry.file.reset(file);
  entry.size = (stat.valid & ZIP_STAT_SIZE) ? stat.size : 0;
  return entry;
}

// Base for the XML parts we read: owns a namespace-aware expat parser and turns its
// callbacks into virtual calls with local names. Handlers stop the parse with Fail() or,
// to hand out what they have so far, Suspend(). Not movable: expat holds `this`.
class XmlReader {
 public:
  enum class Progress { kConsumed, kSuspended };

  XmlReader(const XmlReader&) = delete;
  XmlReader& operator=(const XmlReader&) = delete;
  virtual ~XmlReader() {
    if (parser_ != nullptr) XML_ParserFree(parser_);
  }

  // Parses the next chunk of the document; `is_final` marks the last (possibly empty) one.
  // Returns kSuspended when a handler suspended the parse (call Resume() before the next
  // Feed(); `data` must stay unchanged until then), kConsumed when all of `data` was parsed.
  // Fails when more than token_bytes were fed since the parser last reported anything: expat
  // holds an unfinished token (a tag, an attribute value, a comment) whole and scans it again
  // with each chunk, so an endless token would cost time growing with its square. Text is
  // reported as it streams, so only a hostile or broken file holds such a token.
  Result<Progress> Feed(const char* data, size_t size, bool is_final) {
    if (parser_ == nullptr) return Err(Internal(context_ + ": out of memory for the XML parser"));
    if (fed_ - last_event_ > limits_.token_bytes) {
      Fail(InvalidArgument(fmt::format(
          "{} line {}: one XML tag, attribute or comment is longer than {} bytes; the file is "
          "damaged or was not made by a spreadsheet program / "
          "XML 标记过长，文件已损坏或并非由电子表格软件生成",
          context_, XML_GetCurrentLineNumber(parser_), limits_.token_bytes)));
      return Err(error_);
    }
    fed_ += size;
    return Check(XML_Parse(parser_, data, static_cast<int>(size), is_final ? XML_TRUE : XML_FALSE));
  }
  Result<Progress> Resume() { return Check(XML_ResumeParser(parser_)); }

 protected:
  // `context` names the file and the part in messages: "a.xlsx: xl/sharedStrings.xml".
  XmlReader(std::string context, const XlsxLimits& limits)
      : context_(std::move(context)),
        limits_(limits),
        parser_(XML_ParserCreateNS(nullptr, kNamespaceSeparator)) {
    if (parser_ == nullptr) return;
    XML_SetUserData(parser_, this);
    XML_SetElementHandler(parser_, &XmlReader::StartThunk, &XmlReader::EndThunk);
    XML_SetCharacterDataHandler(parser_, &XmlReader::TextThunk);
    XML_SetStartDoctypeDeclHandler(parser_, &XmlReader::DoctypeThunk);
    // Comments and processing instructions count as reported too: many short ones in a row
    // are no long token.
    XML_SetCommentHandler(
        parser_, [](void* self, const XML_Char*) { static_cast<XmlReader*>(self)->Reported(); });
    XML_SetProcessingInstructionHandler(parser_, [](void* self, const XML_Char*, const XML_Char*) {
      static_cast<XmlReader*>(self)->Reported();
    });
  }

  virtual void OnStart(std::string_view name, const XML_Char** attrs) = 0;
  virtual void OnEnd(std::string_view name) = 0;
  virtual void OnText(std::string_view /*text*/) {}

  // Ends the parse with `status`; Feed() and Resume() return it from now on.
  void Fail(Status status) {
    if (!error_.ok()) return;
    error_ = std::move(status);
    XML_StopParser(parser_, XML_FALSE);
  }
  // Pauses the parse after the current callback.
  void Suspend() { XML_StopParser(parser_, XML_TRUE); }
  bool failed() const { return !error_.ok(); }
  const std::string& context() const { return context_; }
  uint64_t line() const { return XML_GetCurrentLineNumber(parser_); }
  const XlsxLimits& limits() const { return limits_; }

 private:
  Result<Progress> Check(XML_Status status) {
    if (!error_.ok()) return Err(error_);
    if (status == XML_STATUS_SUSPENDED) return Progress::kSuspended;
    if (status == XML_STATUS_ERROR) {
      error_ = InvalidArgument(fmt::format("{} line {}: broken XML ({})", context_,
                                           XML_GetCurrentLineNumber(parser_),
                                           XML_ErrorString(XML_GetErrorCode(parser_))));
      return Err(error_);
    }
    return Progress::kConsumed;
  }

  void Reported() { last_event_ = static_cast<uint64_t>(XML_GetCurrentByteIndex(parser_)); }

  static void StartThunk(void* self, const XML_Char* name, const XML_Char** attrs) {
    auto* reader = static_cast<XmlReader*>(self);
    reader->Reported();
    if (!reader->failed()) reader->OnStart(LocalName(name), attrs);
  }
  static void EndThunk(void* self, const XML_Char* name) {
    auto* reader = static_cast<XmlReader*>(self);
    reader->Reported();
    if (!reader->failed()) reader->OnEnd(LocalName(name));
  }
  static void TextThunk(void* self, const XML_Char* text, int length) {
    auto* reader = static_cast<XmlReader*>(self);
    reader->Reported();
    if (!reader->failed()) reader->OnText(std::string_view(text, static_cast<size_t>(length)));
  }
  // OOXML parts never carry a DTD; refusing one also rules out entity-expansion bombs.
  static void DoctypeThunk(void* self, const XML_Char* /*name*/, const XML_Char* /*sysid*/,
                           const XML_Char* /*pubid*/, int /*has_internal_subset*/) {
    auto* reader = static_cast<XmlReader*>(self);
    reader->Fail(InvalidArgument(reader->context_ + ": a DOCTYPE is not allowed in XLSX"));
  }

  std::string context_;
  XlsxLimits limits_;
  XML_Parser parser_;
  Status error_;
  uint64_t fed_ = 0;         // bytes handed to expat
  uint64_t last_event_ = 0;  // where the last reported start tag, end tag or text began
};

// Parses a whole part that is read into memory in full (all but the sheet).
Status ParsePart(const Archive& archive, zip_uint64_t index, std::string_view part,
                 uint64_t max_bytes, XmlReader& reader) {
  ASSIGN_OR_RETURN(Entry entry, OpenEntry(archive, index, part));
  auto too_large = [&] {
    return InvalidArgument(
        fmt::format("{}: {} is too large ({} bytes uncompressed; at most {} are accepted)",
                    archive.file, part, entry.size, max_bytes));
  };
  if (entry.size > max_bytes) return too_large();
  std::vector<char> buffer(kChunkBytes);
  uint64_t total = 0;
  while (true) {
    zip_int64_t n = zip_fread(entry.file.get(), buffer.data(), buffer.size());
    if (n < 0) {
      return InvalidArgument(fmt::format("{}: cannot decompress {} ({})", archive.file, part,
                                         zip_file_strerror(entry.file.get())));
    }
    total += static_cast<uint64_t>(n);
    if (total > max_bytes) return too_large();
    ASSIGN_OR_RETURN(XmlReader::Progress progress,
                     reader.Feed(buffer.data(), static_cast<size_t>(n), n == 0));
    (void)progress;  // these readers never suspend
    if (n == 0) return OkStatus();
  }
}

struct Relationship {
  std::string id;
  std::string type;
  std::string target;
  bool external = false;
};

// True when the relationship's type URI ends in "/<type>": transitional and strict OOXML
// use different prefixes for the same types.
bool HasRelType(const Relationship& rel, std::string_view type) {
  std::string_view uri(rel.type);
  return uri.size() > type.size() && uri.ends_with(type) &&
         uri[uri.size() - type.size() - 1] == '/';
}

class RelsReader final : public XmlReader {
 public:
  RelsReader(std::string context, const XlsxLimits& limits)
      : XmlReader(std::move(context), limits) {}

  const Relationship* FindById(std::string_view id) const {
    for (const Relationship& rel : rels_) {
      if (rel.id == id && !rel.external) return &rel;
    }
    return nullptr;
  }
  // The first internal relationship of `type` (see HasRelType).
  const Relationship* FindByType(std::string_view type) const {
    for (const Relationship& rel : rels_) {
      if (!rel.external && HasRelType(rel, type)) return &rel;
    }
    return nullptr;
  }

 protected:
  void OnStart(std::string_view name, const XML_Char** attrs) override {
    if (name != "Relationship") return;
    const XML_Char* id = Attr(attrs, "Id");
    const XML_Char* type = Attr(attrs, "Type");
    const XML_Char* target = Attr(attrs, "Target");
    const XML_Char* mode = Attr(attrs, "TargetMode");
    if (id == nullptr || type == nullptr || target == nullptr) return;
    rels_.push_back({id, type, target, mode != nullptr && std::string_view(mode) == "External"});
  }
  void OnEnd(std::string_view /*name*/) override {}

 private:
  std::vector<Relationship> rels_;
};

class WorkbookReader final : public XmlReader {
 public:
  WorkbookReader(std::string context, const XlsxLimits& limits)
      : XmlReader(std::move(context), limits) {}

  bool saw_workbook = false;
  bool date1904 = false;
  std::vector<std::string> sheet_ids;  // relationship ids of the sheets, in workbook order

 protected:
  void OnStart(std::string_view name, const XML_Char** attrs) override {
    if (name == "workbook") {
      saw_workbook = true;
    } else if (name == "workbookPr") {
      const XML_Char* value = Attr(attrs, "date1904");
      date1904 =
          value != nullptr && (std::string_view(value) == "1" || std::string_view(value) == "true");
    } else if (name == "sheet") {
      const XML_Char* id = NamespacedAttr(attrs, "id");
      if (id != nullptr) sheet_ids.emplace_back(id);
    }
  }
  void OnEnd(std::string_view /*name*/) override {}
};

// Keeps at most kMaxCellBytes + 1 bytes of a cell: longer is too long for any column, and
// the importer rejects its row whatever the rest holds.
void CutToCellLimit(std::string& cell) {
  if (cell.size() > kMaxCellBytes) cell.resize(kMaxCellBytes + 1);
}
void AppendCapped(std::string& cell, std::string_view text) {
  const size_t room = kMaxCellBytes + 1 - std::min(cell.size(), kMaxCellBytes + 1);
  cell.append(text.substr(0, room));
}

// The shared-string table, stored as one text blob and end offsets to keep the per-string
// overhead at 8 bytes.
class SharedStrings {
 public:
  void Add(std::string_view text) {
    blob_.append(text);
    ends_.push_back(blob_.size());
  }
  // The bytes the strings and their offsets take (the vectors' spare room aside).
  uint64_t MemoryBytes() const { return blob_.size() + ends_.size() * sizeof(uint64_t); }
  size_t size() const { return ends_.size(); }
  // REQUIRES: index < size().
  std::string_view Get(size_t index) const {
    size_t begin = index == 0 ? 0 : ends_[index - 1];
    return std::string_view(blob_).substr(begin, ends_[index] - begin);
  }

 private:
  std::string blob_;
  std::vector<uint64_t> ends_;
};

class SharedStringsReader final : public XmlReader {
 public:
  SharedStringsReader(std::string context, const XlsxLimits& limits)
      : XmlReader(std::move(context), limits) {}

  SharedStrings strings;

 protected:
  void OnStart(std::string_view name, const XML_Char** /*attrs*/) override {
    if (name == "si") {
      in_item_ = true;
      item_.clear();
    } else if (name == "rPh") {
      in_phonetic_ = true;
    } else if (name == "t" && in_item_ && !in_phonetic_) {
      in_text_ = true;
      text_.clear();
    }
  }
  void OnEnd(std::string_view name) override {
    if (name == "t" && in_text_) {
      in_text_ = false;
      AppendXString(text_, item_);
      CutToCellLimit(item_);
    } else if (name == "rPh") {
      in_phonetic_ = false;
    } else if (name == "si" && in_item_) {
      in_item_ = false;
      strings.Add(item_);
      if (strings.MemoryBytes() > limits().shared_strings_memory) {
        Fail(InvalidArgument(fmt::format(
            "{} line {}: the shared-string table needs more than {} MiB of memory ({} strings so "
            "far); save the sheet as CSV or split it / 共享字符串表超过内存上限，请另存为 CSV "
            "或拆分",
            context(), line(), limits().shared_strings_memory >> 20, strings.size())));
      }
    }
  }
  void OnText(std::string_view text) override {
    if (in_text_) AppendCapped(text_, text);
  }

 private:
  bool in_item_ = false;
  bool in_phonetic_ = false;
  bool in_text_ = false;
  std::string text_;  // the current <t>, still escaped
  std::string item_;  // the current <si>, decoded
};

// Reads which cell formats (cellXfs, the s="N" of a cell) show numbers as dates.
class StylesReader final : public XmlReader {
 public:
  StylesReader(std::string context, const XlsxLimits& limits)
      : XmlReader(std::move(context), limits) {}

  std::vector<bool> DateStyles() const {
    std::vector<bool> is_date(xf_formats_.size());
    for (size_t i = 0; i < xf_formats_.size(); ++i) {
      auto custom = custom_is_date_.find(xf_formats_[i]);
      is_date[i] =
          custom != custom_is_date_.end() ? custom->second : IsBuiltinDateFormat(xf_formats_[i]);
    }
    return is_date;
  }

 protected:
  void OnStart(std::string_view name, const XML_Char** attrs) override {
    if (name == "numFmts") {
      in_num_fmts_ = true;
    } else if (name == "cellXfs") {
      in_cell_xfs_ = true;
    } else if (name == "numFmt" && in_num_fmts_) {
      const XML_Char* id = Attr(attrs, "numFmtId");
      const XML_Char* code = Attr(attrs, "formatCode");
      std::optional<int> parsed = id != nullptr ? ParseInt<int>(id) : std::nullopt;
      if (parsed && code != nullptr) custom_is_date_[*parsed] = IsDateFormatCode(code);
    } else if (name == "xf" && in_cell_xfs_) {
      const XML_Char* id = Attr(attrs, "numFmtId");
      std::optional<int> parsed = id != nullptr ? ParseInt<int>(id) : std::nullopt;
      xf_formats_.push_back(parsed.value_or(0));
    }
  }
  void OnEnd(std::string_view name) override {
    if (name == "numFmts") in_num_fmts_ = false;
    if (name == "cellXfs") in_cell_xfs_ = false;
  }

 private:
  bool in_num_fmts_ = false;
  bool in_cell_xfs_ = false;
  std::unordered_map<int, bool> custom_is_date_;
  std::vector<int> xf_formats_;
};

// What the sheet parser needs from the rest of the workbook.
struct WorkbookData {
  SharedStrings shared_strings;
  std::vector<bool> date_styles;
  bool date1904 = false;
};

// Parses <sheetData>, filling one RawRow and suspending the parse when it is complete.
class SheetReader final : public XmlReader {
 public:
  SheetReader(std::string context, std::string file, WorkbookData workbook,
              const XlsxLimits& limits)
      : XmlReader(std::move(context), limits),
        file_(std::move(file)),
        workbook_(std::move(workbook)) {}

  // Where the next complete row goes. REQUIRES: set before each Feed()/Resume().
  void set_row(RawRow* row) {
    row_ = row;
    row_ready_ = false;
  }
  bool row_ready() const { return row_ready_; }

 protected:
  void OnStart(std::string_view name, const XML_Char** attrs) override {
    if (depth_++ == 0 && name != "worksheet") {
      Fail(InvalidArgument(
          fmt::format("{}: not a worksheet (the root element is <{}>)", context(), name)));
      return;
    }
    if (name == "sheetData") {
      in_sheet_data_ = true;
    } else if (name == "row" && in_sheet_data_) {
      StartRow(attrs);
    } else if (name == "c" && in_row_) {
      StartCell(attrs);
    } else if (!in_cell_) {
      return;
    } else if (name == "v") {
      in_value_ = true;
      text_.clear();
    } else if (name == "is") {
      in_inline_ = true;
      has_inline_ = true;
    } else if (name == "rPh" && in_inline_) {
      in_phonetic_ = true;
    } else if (name == "t" && in_inline_ && !in_phonetic_) {
      in_text_ = true;
      text_.clear();
    }
  }

  void OnEnd(std::string_view name) override {
    --depth_;
    if (name == "sheetData") {
      in_sheet_data_ = false;
    } else if (name == "row" && in_row_) {
      EndRow();
    } else if (name == "c" && in_cell_) {
      EndCell();
    } else if (name == "v" && in_value_) {
      in_value_ = false;
      value_.swap(text_);
    } else if (name == "t" && in_text_) {
      in_text_ = false;
      AppendXString(text_, inline_);
      CutToCellLimit(inline_);
    } else if (name == "rPh") {
      in_phonetic_ = false;
    } else if (name == "is") {
      in_inline_ = false;
    }
  }

  void OnText(std::string_view text) override {
    if (!in_value_ && !in_text_) return;
    if (text_.size() + text.size() > kMaxCellBytes) cut_ = true;
    AppendCapped(text_, text);
  }

 private:
  Status CellError(std::string_view what) const {
    return InvalidArgument(
        fmt::format("{}: sheet row {}, column {}: {}", file_, row_number_, column_ + 1, what));
  }

  void StartRow(const XML_Char** attrs) {
    const XML_Char* ref = Attr(attrs, "r");
    if (ref == nullptr) {
      row_number_ = last_row_number_ + 1;
    } else {
      std::optional<int64_t> number = ParseInt<int64_t>(ref);
      if (!number || *number < 1) {
        Fail(InvalidArgument(
            fmt::format("{} line {}: row number '{}' is not valid", context(), line(), ref)));
        return;
      }
      row_number_ = *number;
    }
    last_row_number_ = row_number_;
    in_row_ = true;
    cell_count_ = 0;
    next_column_ = 0;
    row_bytes_ = 0;
  }

  void StartCell(const XML_Char** attrs) {
    const XML_Char* ref = Attr(attrs, "r");
    if (ref == nullptr) {
      column_ = next_column_;
    } else {
      std::optional<int> column = ColumnFromRef(ref);
      if (!column) {
        Fail(InvalidArgument(fmt::format("{}: sheet row {}: cell reference '{}' is not valid",
                                         file_, row_number_, ref)));
        return;
      }
      column_ = *column;
    }
    if (column_ >= kMaxColumns) {
      Fail(CellError("the row has more than 16384 columns"));
      return;
    }
    const XML_Char* type = Attr(attrs, "t");
    type_ = type != nullptr ? type : "";
    const XML_Char* style = Attr(attrs, "s");
    std::optional<size_t> style_index = style != nullptr ? ParseInt<size_t>(style) : std::nullopt;
    date_style_ = style_index && *style_index < workbook_.date_styles.size() &&
                  workbook_.date_styles[*style_index];
    in_cell_ = true;
    cut_ = false;
    has_inline_ = false;
    value_.clear();
    inline_.clear();
  }

  // Returns the slot for cell `column`, filling skipped columns with empty text.
  std::string& CellSlot(int column) {
    std::vector<std::string>& cells = row_->cells;
    std::vector<bool>& numeric = row_->numeric;
    size_t index = static_cast<size_t>(column);
    if (cells.size() <= index) {
      cells.resize(index + 1);
      numeric.resize(index + 1);
    }
    for (size_t i = cell_count_; i < index; ++i) {
      cells[i].clear();
      numeric[i] = false;
    }
    cell_count_ = std::max(cell_count_, index + 1);
    return cells[index];
  }

  void EndCell() {
    in_cell_ = false;
    next_column_ = column_ + 1;
    std::string& out = CellSlot(column_);
    out.clear();
    bool numeric = false;
    if (value_.empty() && !has_inline_) {
      // Only a style, or a formula never calculated: empty, whatever its type.
      row_->numeric[static_cast<size_t>(column_)] = false;
      return;
    }
    if (type_ == "s") {
      std::optional<size_t> index = ParseInt<size_t>(value_);
      if (!index || *index >= workbook_.shared_strings.size()) {
        Fail(CellError(fmt::format("shared string index '{}' is out of range (the file has {})",
                                   value_, workbook_.shared_strings.size())));
        return;
      }
      out.assign(workbook_.shared_strings.Get(*index));
    } else if (type_ == "inlineStr") {
      if (has_inline_) {
        out.swap(inline_);
      } else {
        AppendXString(value_, out);
      }
    } else if (type_ == "str" || type_ == "e") {
      AppendXString(value_, out);
    } else if (type_ == "b") {
      out = value_ == "1" ? "TRUE" : value_ == "0" ? "FALSE" : value_;
    } else if (type_ == "d") {
      std::string_view text(value_);
      bool starts_with_date = text.size() >= 10 && ParseIsoDate(text.substr(0, 10)) &&
                              (text.size() == 10 || text[10] == 'T');
      out.assign(starts_with_date ? text.substr(0, 10) : text);
    } else if (type_.empty() || type_ == "n") {
      numeric = !value_.empty();
      out.swap(value_);
      if (numeric && date_style_) ConvertDate(out, numeric);
    } else {
      Fail(CellError(fmt::format("unknown cell type t=\"{}\"", type_)));
      return;
    }
    // A cut cell stays too long even when its escapes decoded to fewer bytes.
    if (cut_ && out.size() <= kMaxCellBytes) out.resize(kMaxCellBytes + 1, ' ');
    CutToCellLimit(out);
    row_->numeric[static_cast<size_t>(column_)] = numeric;
    row_bytes_ += out.size();
    if (row_bytes_ > kMaxRowBytes) {
      Fail(CellError(fmt::format("the row holds more than {} bytes of text", kMaxRowBytes)));
    }
  }

  // Turns a date-styled serial number into "YYYY-MM-DD"; leaves anything that names no day.
  void ConvertDate(std::string& text, bool& numeric) const {
    double serial = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), serial);
    if (ec != std::errc() || end != text.data() + text.size()) return;
    // The 1904 date system counts from 1904-01-01, which is serial 1462 in the 1900 system.
    if (workbook_.date1904) serial += 1462;
    std::optional<Date> date = DateFromExcelSerial(serial);
    if (!date) return;
    text = FormatDate(*date);
    numeric = false;
  }

  void EndRow() {
    in_row_ = false;
    while (cell_count_ > 0 && row_->cells[cell_count_ - 1].empty()) --cell_count_;
    if (cell_count_ == 0) return;  // nothing in it: not handed out
    row_->cells.resize(cell_count_);
    row_->numeric.resize(cell_count_);
    row_->source_line = row_number_;
    row_ready_ = true;
    Suspend();
  }

  const std::string file_;
  const WorkbookData workbook_;
  RawRow* row_ = nullptr;
  bool row_ready_ = false;

  int depth_ = 0;
  bool in_sheet_data_ = false;
  bool in_row_ = false;
  bool in_cell_ = false;
  bool in_value_ = false;
  bool in_inline_ = false;
  bool in_phonetic_ = false;
  bool in_text_ = false;

  int64_t row_number_ = 0;
  int64_t last_row_number_ = 0;
  size_t cell_count_ = 0;  // cells of row_ filled so far, including skipped columns
  size_t row_bytes_ = 0;
  int next_column_ = 0;

  int column_ = 0;
  std::string type_;
  bool date_style_ = false;
  bool has_inline_ = false;
  bool cut_ = false;    // the cell's text was longer than kMaxCellBytes
  std::string text_;    // text of the current <v> or <t>, as written
  std::string value_;   // the cell's <v>
  std::string inline_;  // the cell's <is>, decoded
};

class XlsxRowSource final : public RowSource {
 public:
  XlsxRowSource(Archive archive, Entry sheet, std::string part, WorkbookData workbook,
                const XlsxLimits& limits)
      : archive_(std::move(archive)),
        sheet_(std::move(sheet)),
        part_(std::move(part)),
        reader_(fmt::format("{}: {}", archive_.file, part_), archive_.file, std::move(workbook),
                limits),
        buffer_(kChunkBytes) {}

  Result<bool> Next(RawRow& row) override {
    if (!status_.ok()) return Err(status_);
    if (done_) return false;
    row.Clear();
    reader_.set_row(&row);
    while (true) {
      Result<XmlReader::Progress> progress = Step();
      if (!progress) {
        status_ = progress.error();
        return Err(status_);
      }
      suspended_ = *progress == XmlReader::Progress::kSuspended;
      if (reader_.row_ready()) return true;
      if (!suspended_ && at_end_) {
        done_ = true;
        row.Clear();
        return false;
      }
    }
  }

  uint64_t BytesRead() const override { return bytes_read_; }
  uint64_t BytesTotal() const override { return sheet_.size; }
  std::string_view Encoding() const override { return "XLSX"; }

 private:
  // Resumes a suspended parse, or reads and parses the next chunk of the sheet.
  Result<XmlReader::Progress> Step() {
    if (suspended_) return reader_.Resume();
    zip_int64_t n = zip_fread(sheet_.file.get(), buffer_.data(), buffer_.size());
    if (n < 0) {
      return Err(InvalidArgument(fmt::format("{}: cannot decompress {} ({})", archive_.file, part_,
                                             zip_file_strerror(sheet_.file.get()))));
    }
    bytes_read_ += static_cast<uint64_t>(n);
    at_end_ = n == 0;
    return reader_.Feed(buffer_.data(), static_cast<size_t>(n), at_end_);
  }

  // Declaration order matters: the entry closes before its archive.
  Archive archive_;
  Entry sheet_;
  std::string part_;
  SheetReader reader_;
  std::vector<char> buffer_;
  uint64_t bytes_read_ = 0;
  bool suspended_ = false;
  bool at_end_ = false;
  bool done_ = false;
  Status status_;
};

Result<Archive> OpenArchive(const std::filesystem::path& path) {
  Archive archive;
  archive.file = path.string();
  int error_code = 0;
  zip_t* zip = zip_open(archive.file.c_str(), ZIP_RDONLY, &error_code);
  if (zip == nullptr) {
    if (error_code == ZIP_ER_NOENT) {
      return Err(NotFound(fmt::format("{}: no such file", archive.file)));
    }
    std::string why = ZipErrorText(error_code);
    if (error_code == ZIP_ER_NOZIP && LooksLikeOleFile(path)) {
      why =
          "it is an encrypted workbook or an old .xls file; save it as an .xlsx without a "
          "password";
    }
    return Err(
        InvalidArgument(fmt::format("{}: not a readable XLSX file ({})", archive.file, why)));
  }
  archive.zip.reset(zip);
  return archive;
}

// Parses the relationships of `source_part`; an absent rels part has none.
Result<std::unique_ptr<RelsReader>> ReadRels(const Archive& archive, std::string_view source_part,
                                             const XlsxLimits& limits) {
  std::string part = RelsPartFor(source_part);
  auto rels = std::make_unique<RelsReader>(fmt::format("{}: {}", archive.file, part), limits);
  if (std::optional<zip_uint64_t> index = archive.Locate(part)) {
    RETURN_IF_ERROR(ParsePart(archive, *index, part, kMaxSmallPartBytes, *rels));
  }
  return rels;
}

// Returns the part a relationship of `type` names, else `fallback` (where Excel puts it).
std::string PartOrDefault(const RelsReader& rels, std::string_view source_part,
                          std::string_view type, std::string_view fallback) {
  if (const Relationship* rel = rels.FindByType(type)) {
    return ResolveTarget(source_part, rel->target);
  }
  return std::string(fallback);
}

}  // namespace

Result<std::unique_ptr<RowSource>> OpenXlsx(const std::filesystem::path& path) {
  return OpenXlsx(path, XlsxLimits{});
}

Result<std::unique_ptr<RowSource>> OpenXlsx(const std::filesystem::path& path,
                                            const XlsxLimits& limits) {
  ASSIGN_OR_RETURN(Archive archive, OpenArchive(path));
  auto not_xlsx = [&](std::string_view why) {
    return Err(
        InvalidArgument(fmt::format("{}: not a readable XLSX file ({})", archive.file, why)));
  };

  // The package relationships name the workbook; xl/workbook.xml is where Excel puts it.
  ASSIGN_OR_RETURN(std::unique_ptr<RelsReader> package_rels, ReadRels(archive, "", limits));
  std::string workbook_part = "xl/workbook.xml";
  if (const Relationship* rel = package_rels->FindByType("officeDocument")) {
    workbook_part = ResolveTarget("", rel->target);
  }
  std::optional<zip_uint64_t> workbook_index = archive.Locate(workbook_part);
  if (!workbook_index) return not_xlsx(fmt::format("no workbook part {}", workbook_part));
  auto workbook =
      std::make_unique<WorkbookReader>(fmt::format("{}: {}", archive.file, workbook_part), limits);
  RETURN_IF_ERROR(
      ParsePart(archive, *workbook_index, workbook_part, kMaxSmallPartBytes, *workbook));
  if (!workbook->saw_workbook) return not_xlsx(fmt::format("{} has no <workbook>", workbook_part));

  ASSIGN_OR_RETURN(std::unique_ptr<RelsReader> rels, ReadRels(archive, workbook_part, limits));
  std::string sheet_part;
  for (const std::string& id : workbook->sheet_ids) {
    const Relationship* rel = rels->FindById(id);
    if (rel != nullptr && HasRelType(*rel, "worksheet")) {
      sheet_part = ResolveTarget(workbook_part, rel->target);
      break;
    }
  }
  if (sheet_part.empty()) return not_xlsx("the workbook has no worksheet");
  std::optional<zip_uint64_t> sheet_index = archive.Locate(sheet_part);
  if (!sheet_index) return not_xlsx(fmt::format("the worksheet part {} is missing", sheet_part));

  WorkbookData data;
  data.date1904 = workbook->date1904;
  // Both parts are optional: a workbook of numbers alone needs neither.
  std::string strings_part =
      PartOrDefault(*rels, workbook_part, "sharedStrings", "xl/sharedStrings.xml");
  if (std::optional<zip_uint64_t> index = archive.Locate(strings_part)) {
    auto reader = std::make_unique<SharedStringsReader>(
        fmt::format("{}: {}", archive.file, strings_part), limits);
    RETURN_IF_ERROR(ParsePart(archive, *index, strings_part, kMaxSharedStringsBytes, *reader));
    data.shared_strings = std::move(reader->strings);
  }
  std::string styles_part = PartOrDefault(*rels, workbook_part, "styles", "xl/styles.xml");
  if (std::optional<zip_uint64_t> index = archive.Locate(styles_part)) {
    auto reader =
        std::make_unique<StylesReader>(fmt::format("{}: {}", archive.file, styles_part), limits);
    RETURN_IF_ERROR(ParsePart(archive, *index, styles_part, kMaxSmallPartBytes, *reader));
    data.date_styles = reader->DateStyles();
  }

  ASSIGN_OR_RETURN(Entry sheet, OpenEntry(archive, *sheet_index, sheet_part));
  return std::make_unique<XlsxRowSource>(std::move(archive), std::move(sheet),
                                         std::move(sheet_part), std::move(data), limits);
}

}  // namespace fupin::exchange
