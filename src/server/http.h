// What every route needs of HTTP (接口通用): the caller's language, JSON errors, JSON bodies
// checked before use (size, nesting, unknown fields, types), query parameters, and the status
// a Status maps to. Stateless; thread-safe.
#pragma once

#include <httplib.h>

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/lang.h"
#include "core/status.h"
#include "server/messages.h"

namespace fupin::server {

// zh unless Accept-Language (or ?lang=) prefers English.
Lang RequestLang(const httplib::Request& req);

// 400, 401, 403, 404, 409, 413, 422, 500, 503 ... for a failed Status.
int HttpStatusOf(const Status& status);

// {"error": {"code": "...", "message": "..."}} with the status set.
void SendError(httplib::Response& res, int http_status, std::string_view code,
               std::string_view message);
// A failed Status as its HTTP status and JSON error, the message in `lang` (InLanguage).
void SendError(httplib::Response& res, const Status& status, Lang lang);
void SendJson(httplib::Response& res, const nlohmann::json& body, int http_status = 200);
// A body that is already JSON text.
void SendJsonText(httplib::Response& res, std::string body, int http_status = 200);

// The deepest nesting of arrays and objects in `text` (strings skipped).
int JsonDepth(std::string_view text);

struct FieldRule {
  std::string_view name;
  nlohmann::json::value_t type;  // string, number_integer, number_float (any number), boolean,
                                 // object, array
  bool required = false;
};

// The request body as a JSON object whose fields are all in `fields` with their types:
// kInvalidArgument naming the first bad, unknown or missing field; malformed JSON, a body
// nested deeper than 16 or larger than `max_bytes` are refused too.
Result<nlohmann::json> ParseJsonBody(const httplib::Request& req,
                                     std::initializer_list<FieldRule> fields, size_t max_bytes,
                                     Lang lang);

// A query parameter: nullopt when absent.
std::optional<std::string> Param(const httplib::Request& req, const char* name);
// Every value of a repeatable query parameter, split at its FIRST '=' only, so that
// `where=status=1` gives "status=1" (cpp-httplib's own parsing keeps only the last part).
std::vector<std::string> AllParams(const httplib::Request& req, std::string_view name);
// An integer parameter in [lo, hi]; `fallback` when absent; kInvalidArgument naming it when
// it is not a whole number in range.
Result<int64_t> IntParam(const httplib::Request& req, const char* name, int64_t fallback,
                         int64_t lo, int64_t hi, Lang lang);

// The value of one cookie of the request; "" when absent.
std::string Cookie(const httplib::Request& req, std::string_view name);

}  // namespace fupin::server
