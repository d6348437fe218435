// Status and Result: expected failures as values.
//
// A Status carries one code from a small closed set and a message a person can act on.
// Result<T> is std::expected<T, Status>. Exceptions from libraries are caught where we
// call them and turned into a Status; programmer errors are assertions, never a Status.
// Thread-safe: plain values.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace fupin {

enum class StatusCode {
  kOk,
  kInvalidArgument,     // bad input from a user or a file
  kNotFound,            // a named thing does not exist
  kAlreadyExists,       // a key is taken
  kFailedPrecondition,  // the system is not in a state for this
  kDataLoss,            // stored data is unreadable or inconsistent
  kUnavailable,         // resource busy or locked; retrying may help
  kInternal,            // an invariant broke inside a library we called
  kUnauthenticated,     // no valid session or token (HTTP 401)
  kPermissionDenied,    // the actor may not do this, e.g. outside its region (HTTP 403)
  kAborted,             // a concurrent change won: a stale version (HTTP 409)
  kUnimplemented,       // not available in this build or backend
};

// Returns the stable lower-case name of a code ("invalid_argument", ...), used in JSON.
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  // Lets `return Err(s);` serve functions returning Status as well as Result<T>.
  Status(std::unexpected<Status> failure) : Status(std::move(failure).error()) {}  // NOLINT

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid_argument: message"
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return {}; }
inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status FailedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status Unauthenticated(std::string m) {
  return {StatusCode::kUnauthenticated, std::move(m)};
}
inline Status PermissionDenied(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status Aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }

template <typename T>
using Result = std::expected<T, Status>;

// Wraps a failed Status for returning from a function that returns Result<T>.
inline std::unexpected<Status> Err(Status s) { return std::unexpected<Status>(std::move(s)); }

}  // namespace fupin

#define FUPIN_CONCAT_INNER(a, b) a##b
#define FUPIN_CONCAT(a, b) FUPIN_CONCAT_INNER(a, b)

// RETURN_IF_ERROR(expr): expr yields a Status; returns it from the enclosing function if not ok.
#define RETURN_IF_ERROR(expr)                                               \
  do {                                                                      \
    ::fupin::Status fupin_status_ = (expr);                                 \
    if (!fupin_status_.ok()) return ::fupin::Err(std::move(fupin_status_)); \
  } while (0)

// ASSIGN_OR_RETURN(decl, expr): expr yields a Result<T>; on error returns the Status.
#define ASSIGN_OR_RETURN(decl, expr) \
  ASSIGN_OR_RETURN_IMPL(FUPIN_CONCAT(fupin_result_, __LINE__), decl, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, decl, expr)                       \
  auto tmp = (expr);                                                 \
  if (!tmp.has_value()) return ::fupin::Err(std::move(tmp).error()); \
  decl = std::move(tmp).value()
