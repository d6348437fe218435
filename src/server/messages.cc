#include "server/messages.h"

namespace fupin::server {
namespace {

struct Entry {
  Msg msg;
  std::string_view zh, en;
};

constexpr Entry kCatalogue[] = {
    {Msg::kNotFound, "没有这个接口", "no such route"},
    {Msg::kMethodNotAllowed, "该接口不支持此方法", "method not allowed on this route"},
    {Msg::kUnauthenticated, "未登录或登录已过期，请重新登录",
     "not signed in, or the session expired: sign in again"},
    {Msg::kCsrf, "缺少或错误的 X-CSRF-Token（写操作须带登录时返回的 csrf_token）",
     "missing or wrong X-CSRF-Token (every write carries the csrf_token given at login)"},
    {Msg::kForbiddenRole, "当前角色无权执行此操作", "your role may not do this"},
    {Msg::kOutsideRegion, "该对象不在您的管辖区域内", "this lies outside your region"},
    {Msg::kBodyTooLarge, "请求体过大", "request body too large"},
    {Msg::kBadJson, "请求体不是合法的 JSON", "the request body is not valid JSON"},
    {Msg::kJsonTooDeep, "JSON 嵌套过深", "JSON nested too deeply"},
    {Msg::kNotJsonObject, "请求体须为 JSON 对象", "the request body must be a JSON object"},
    {Msg::kUnknownField, "未知字段: ", "unknown field: "},
    {Msg::kWrongType, "字段类型错误: ", "wrong type for field: "},
    {Msg::kMissingField, "缺少字段: ", "missing field: "},
    {Msg::kBadParameter, "参数错误: ", "bad parameter: "},
    {Msg::kUnmaskReason, "查看完整身份信息须填写理由（reason）",
     "unmasking needs a reason (reason=...)"},
    {Msg::kUnmaskRole, "当前角色无权查看完整身份信息", "your role may not unmask personal data"},
    {Msg::kJobRunning,
     "同类任务正在运行，请等待其完成: ", "a job of this kind is running; wait for it: "},
    {Msg::kNoSuchJob, "没有这个任务", "no such job"},
    {Msg::kShuttingDown, "服务正在停止", "the server is shutting down"},
    {Msg::kInternal, "服务器内部错误", "internal server error"},
    {Msg::kTimeout, "请求超时", "request timed out"},
};

}  // namespace

std::string_view Text(Msg msg, Lang lang) {
  for (const Entry& e : kCatalogue)
    if (e.msg == msg) return lang == Lang::kZh ? e.zh : e.en;
  return lang == Lang::kZh ? "错误" : "error";
}

std::string_view InLanguage(std::string_view message, Lang lang) {
  for (size_t at = message.find(" / "); at != std::string_view::npos;
       at = message.find(" / ", at + 1)) {
    if (at + 3 < message.size() && static_cast<unsigned char>(message[at + 3]) >= 0x80)
      return lang == Lang::kZh ? message.substr(at + 3) : message.substr(0, at);
  }
  return message;
}

}  // namespace fupin::server
