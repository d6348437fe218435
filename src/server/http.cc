#include "server/http.h"

#include <fmt/format.h>

#include <charconv>

#include "server/messages.h"

namespace fupin::server {

Lang RequestLang(const httplib::Request& req) {
  if (req.has_param("lang")) return req.get_param_value("lang") == "en" ? Lang::kEn : Lang::kZh;
  const std::string accept = req.get_header_value("Accept-Language");
  // The first language named wins; zh-CN is the default.
  const size_t start = accept.find_first_not_of(" \t");
  if (start != std::string::npos && accept.compare(start, 2, "en") == 0) return Lang::kEn;
  return Lang::kZh;
}

int HttpStatusOf(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kAborted:
      return 409;
    case StatusCode::kFailedPrecondition:
      return 422;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kUnimplemented:
      return 501;
    case StatusCode::kDataLoss:
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

void SendError(httplib::Response& res, int http_status, std::string_view code,
               std::string_view message) {
  nlohmann::json body = {{"error", {{"code", code}, {"message", message}}}};
  SendJson(res, body, http_status);
}

void SendError(httplib::Response& res, const Status& status, Lang lang) {
  SendError(res, HttpStatusOf(status), StatusCodeName(status.code()),
            InLanguage(status.message(), lang));
}

void SendJson(httplib::Response& res, const nlohmann::json& body, int http_status) {
  // Invalid UTF-8 in stored text is replaced rather than failing the response.
  SendJsonText(res, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
               http_status);
}

void SendJsonText(httplib::Response& res, std::string body, int http_status) {
  res.status = http_status;
  res.set_content(std::move(body), "application/json; charset=utf-8");
}

int JsonDepth(std::string_view text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

namespace {

bool TypeMatches(const nlohmann::json& v, nlohmann::json::value_t want) {
  using V = nlohmann::json::value_t;
  switch (want) {
    case V::number_integer:
      return v.is_number_integer();
    case V::number_float:
      return v.is_number();
    case V::string:
      return v.is_string();
    case V::boolean:
      return v.is_boolean();
    case V::object:
      return v.is_object();
    case V::array:
      return v.is_array();
    default:
      return v.type() == want;
  }
}

}  // namespace

Result<nlohmann::json> ParseJsonBody(const httplib::Request& req,
                                     std::initializer_list<FieldRule> fields, size_t max_bytes,
                                     Lang lang) {
  if (req.body.size() > max_bytes)
    return Err(InvalidArgument(std::string(Text(Msg::kBodyTooLarge, lang))));
  if (JsonDepth(req.body) > 16)
    return Err(InvalidArgument(std::string(Text(Msg::kJsonTooDeep, lang))));
  nlohmann::json body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return Err(InvalidArgument(std::string(Text(Msg::kBadJson, lang))));
  if (!body.is_object()) return Err(InvalidArgument(std::string(Text(Msg::kNotJsonObject, lang))));
  for (const auto& [key, value] : body.items()) {
    const FieldRule* rule = nullptr;
    for (const FieldRule& f : fields)
      if (f.name == key) rule = &f;
    if (!rule)
      return Err(InvalidArgument(fmt::format("{}{}", Text(Msg::kUnknownField, lang), key)));
    if (!TypeMatches(value, rule->type))
      return Err(InvalidArgument(fmt::format("{}{}", Text(Msg::kWrongType, lang), key)));
  }
  for (const FieldRule& f : fields)
    if (f.required && !body.contains(f.name))
      return Err(InvalidArgument(fmt::format("{}{}", Text(Msg::kMissingField, lang), f.name)));
  return body;
}

std::optional<std::string> Param(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return std::nullopt;
  return req.get_param_value(name);
}

std::vector<std::string> AllParams(const httplib::Request& req, std::string_view name) {
  std::vector<std::string> out;
  const size_t q = req.target.find('?');
  if (q == std::string::npos) return out;
  std::string_view query = std::string_view(req.target).substr(q + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = piece.find('=');
    const std::string key = httplib::detail::decode_url(std::string(piece.substr(0, eq)), true);
    if (key != name) continue;
    out.push_back(eq == std::string_view::npos
                      ? std::string()
                      : httplib::detail::decode_url(std::string(piece.substr(eq + 1)), true));
  }
  return out;
}

Result<int64_t> IntParam(const httplib::Request& req, const char* name, int64_t fallback,
                         int64_t lo, int64_t hi, Lang lang) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n < lo || n > hi)
    return Err(
        InvalidArgument(fmt::format("{}{} ({}–{})", Text(Msg::kBadParameter, lang), name, lo, hi)));
  return n;
}

std::string Cookie(const httplib::Request& req, std::string_view name) {
  const std::string header = req.get_header_value("Cookie");
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string_view part(header.data() + pos, end - pos);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.substr(0, name.size()) == name &&
        part[name.size()] == '=')
      return std::string(part.substr(name.size() + 1));
    pos = end + 1;
  }
  return "";
}

}  // namespace fupin::server
