#include "server/static_files.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string_view>

namespace fupin::server {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kIndex = "index.html";
constexpr std::string_view kAssets = "/assets/";

std::string_view ContentType(const fs::path& file) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".txt", "text/plain; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".ttf", "font/ttf"},
      {".wasm", "application/wasm"},
  };
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& [suffix, type] : kTypes)
    if (ext == suffix) return type;
  return "application/octet-stream";
}

// A decoded request path that may name a file: no dot-only or empty segment, no backslash,
// no '%' left after decoding (a second encoding), no control character.
bool SafePath(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  for (unsigned char c : path)
    if (c < 0x20 || c == 0x7F || c == '\\' || c == '%') return false;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    // An empty last segment ("/assets/") is a folder, not a traversal.
    if (segment.empty() && end != path.size()) return false;
    if (!segment.empty() && segment.find_first_not_of('.') == std::string_view::npos) return false;
    start = end + 1;
  }
  return true;
}

bool AcceptsGzip(const httplib::Request& req) {
  const std::string header = req.get_header_value("Accept-Encoding");
  std::string_view rest = header;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const size_t semi = item.find(';');
    std::string_view name = item.substr(0, semi);
    name.remove_prefix(std::min(name.find_first_not_of(" \t"), name.size()));
    name = name.substr(0, name.find_last_not_of(" \t") + 1);
    if (name != "gzip") continue;
    if (semi == std::string_view::npos) return true;
    std::string params(item.substr(semi + 1));
    params.erase(std::remove_if(params.begin(), params.end(), ::isspace), params.end());
    // q=0, q=0.0, q=0.000: refused.
    if (params.starts_with("q=0") && params.find_first_not_of("0.", 2) == std::string::npos)
      return false;
    return true;
  }
  return false;
}

bool ReadWhole(const fs::path& file, std::string& out) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  out = std::move(buffer).str();
  return static_cast<bool>(in) || in.eof();
}

// The regular file `relative` names inside `root` (canonical), or "" when there is none or it
// would lie outside `root` (a symbolic link leading out).
fs::path FileInside(const fs::path& root, std::string_view relative) {
  std::error_code ec;
  const fs::path candidate = fs::weakly_canonical(root / fs::path(relative), ec);
  if (ec) return {};
  const std::string root_text = root.string() + "/";
  if (!candidate.string().starts_with(root_text)) return {};
  if (!fs::is_regular_file(candidate, ec)) return {};
  return candidate;
}

void SendFile(const httplib::Request& req, httplib::Response& res, const fs::path& file,
              std::string_view cache_control) {
  const std::string type(ContentType(file));
  res.set_header("Cache-Control", std::string(cache_control));
  res.set_header("Vary", "Accept-Encoding");
  fs::path gz = file;
  gz += ".gz";
  std::error_code ec;
  if (AcceptsGzip(req) && fs::is_regular_file(gz, ec)) {
    auto bytes = std::make_shared<std::string>();
    if (ReadWhole(gz, *bytes)) {
      res.set_header("Content-Encoding", "gzip");
      // Through a provider of known length: cpp-httplib then sends the bytes as they are (a
      // body of a compressible type it would compress a second time).
      const size_t size = bytes->size();
      res.set_content_provider(
          size, type, [bytes](size_t offset, size_t length, httplib::DataSink& sink) {
            return sink.write(bytes->data() + offset, std::min(length, bytes->size() - offset));
          });
      return;
    }
  }
  std::string body;
  if (!ReadWhole(file, body)) {
    res.status = 404;
    return;
  }
  res.set_content(std::move(body), type);
}

}  // namespace

void SetSecurityHeaders(httplib::Response& res) {
  static const std::pair<const char*, const char*> kHeaders[] = {
      {"Content-Security-Policy",
       "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
       "base-uri 'self'; frame-ancestors 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "same-origin"},
      {"X-Frame-Options", "DENY"},
  };
  for (const auto& [name, value] : kHeaders) {
    res.headers.erase(name);
    res.set_header(name, value);
  }
}

void InstallStaticFiles(httplib::Server& server, const std::string& dir) {
  std::error_code ec;
  fs::path root = fs::weakly_canonical(fs::path(dir), ec);
  if (ec) root = fs::absolute(fs::path(dir));
  server.Get(".*", [root](const httplib::Request& req, httplib::Response& res) {
    const std::string_view path = req.path;
    if (path == "/api" || path.starts_with("/api/") || path == "/healthz" || path == "/metrics") {
      res.status = 404;  // the error handler writes the JSON body
      return;
    }
    if (!SafePath(path)) {
      res.status = 400;
      return;
    }
    const bool asset = path.starts_with(kAssets);
    std::string_view relative = path.substr(1);
    if (relative.empty()) relative = kIndex;
    if (const fs::path file = FileInside(root, relative); !file.empty()) {
      SendFile(req, res, file, asset ? "public, max-age=31536000, immutable" : "no-cache");
      return;
    }
    if (asset) {
      res.status = 404;
      return;
    }
    const fs::path index = FileInside(root, kIndex);
    if (index.empty()) {
      res.status = 404;
      return;
    }
    SendFile(req, res, index, "no-cache");
  });
}

}  // namespace fupin::server
